"""Every area's tables, imported in one place: for Alembic's metadata, and so that every
relationship between areas is known before the first query.

Each area owns its tables in ``surveyapp/<area>/models.py``; this module only gathers them.
"""

from surveyapp.audit.models import (  # noqa: F401
    APPEND_ONLY_TRIGGERS,
    DROP_APPEND_ONLY,
    AuditEvent,
)
from surveyapp.people.models import (  # noqa: F401
    Participant,
    Programme,
)
from surveyapp.questionnaires.models import (  # noqa: F401
    QuestionnaireVersion,
)
from surveyapp.reminders.models import (  # noqa: F401
    MESSAGE_STATES,
    STEP_AUDIENCES,
    EmailTemplate,
    MailPause,
    Message,
    ReminderStep,
)
from surveyapp.respond.models import (  # noqa: F401
    Answer,
    DraftAnswer,
    Response,
)
from surveyapp.sessions.models import (  # noqa: F401
    RULE_AUDIENCES,
    SESSION_KINDS,
    Attendance,
    DoseBands,
    EvaluationRule,
    ProgrammeSession,
)
from surveyapp.staff.models import (  # noqa: F401
    ROLES,
    STAFF_ROLES,
    PasswordReset,
    ProgrammeMember,
    RecoveryCode,
    SignInLink,
    StaffSession,
    User,
)
from surveyapp.waves.models import (  # noqa: F401
    PRIVACY_MODES,
    Invitation,
    Wave,
)
