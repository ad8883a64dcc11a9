"""Who may do what, and which programmes they see (Flask-free).

A staff account has one role. Administrators see every programme; everyone
else sees only the programmes they are a member of, and an object of another
programme is treated as if it did not exist. The table below is the whole
policy: the views ask it, the README prints it and a test walks every route
with every role against it.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from surveyapp.errors import SurveyError
from surveyapp.models import Programme, ProgrammeMember, User

ROLE_NAMES = {
    "admin": "Administrator",
    "programme_manager": "Programme manager",
    "evaluator": "Evaluator",
    "viewer": "Viewer",
    "facilitator": "Facilitator",
}

#: capability: (what it lets a person do, the roles that have it)
PERMISSIONS: dict[str, tuple[str, frozenset[str]]] = {
    "see_programmes": (
        "See their programmes and the waves in them",
        frozenset({"admin", "programme_manager", "evaluator", "viewer", "facilitator"}),
    ),
    "see_dashboards": (
        "See response-rate dashboards: no names, and a group's rate only from the reporting "
        "threshold",
        frozenset({"admin", "programme_manager", "evaluator", "viewer", "facilitator"}),
    ),
    "see_results": (
        "See scores and charts, and download exports (ID numbers, never names or emails)",
        frozenset({"admin", "programme_manager", "evaluator"}),
    ),
    "see_small_groups": (
        "See results and exports with small groups shown, for checking the data",
        frozenset({"admin", "programme_manager"}),
    ),
    "see_questionnaires": (
        "Read and preview questionnaires",
        frozenset({"admin", "programme_manager", "evaluator"}),
    ),
    "manage_programmes": (
        "Create programmes and change their details and retention date",
        frozenset({"admin", "programme_manager"}),
    ),
    "manage_cohort": (
        "Import the cohort, see and change names and emails, withdraw people",
        frozenset({"admin", "programme_manager"}),
    ),
    "manage_waves": (
        "Create and close waves, reopen responses, plan and send reminders, read the outbox, "
        "see every group's invited and completed counts",
        frozenset({"admin", "programme_manager"}),
    ),
    "download_links": (
        "Download a wave's personal links with names and emails, to send them from the "
        "organisation's own email",
        frozenset({"admin", "programme_manager"}),
    ),
    "manage_sessions": (
        "Plan a programme's sessions, import them, and set the evaluation after each session "
        "and the attendance bands",
        frozenset({"admin", "programme_manager"}),
    ),
    "keep_registers": (
        "Keep the register of who came to each session, and import attendance; never answers",
        frozenset({"admin", "programme_manager", "facilitator"}),
    ),
    "protect_data": (
        "Give a participant their data (subject access) and erase it",
        frozenset({"admin", "programme_manager"}),
    ),
    "load_questionnaires": (
        "Load new questionnaire versions from the files",
        frozenset({"admin", "programme_manager"}),
    ),
    "manage_users": (
        "Create staff accounts, change roles and programme membership",
        frozenset({"admin"}),
    ),
    "read_audit_log": ("Search and download the audit log", frozenset({"admin"})),
}


class AccessProblem(SurveyError):
    """A change to someone's access cannot be made as asked; the message says why."""


def can(user: User | None, capability: str) -> bool:
    """Whether ``user``'s role grants ``capability`` (unknown capabilities are a bug)."""
    if user is None or not user.is_active:
        return False
    return user.role in PERMISSIONS[capability][1]


def sees_every_programme(user: User) -> bool:
    return user.role == "admin"


def visible_programmes(user: User) -> Select:
    """A select of the programmes ``user`` may see, for further filtering and ordering."""
    query = select(Programme)
    if not sees_every_programme(user):
        query = query.join(
            ProgrammeMember,
            (ProgrammeMember.programme_id == Programme.id) & (ProgrammeMember.user_id == user.id),
        )
    return query


def may_see_programme(session: Session, user: User, programme_id: int) -> bool:
    if sees_every_programme(user):
        return True
    return session.get(ProgrammeMember, (programme_id, user.id)) is not None


def member_programme_ids(session: Session, user: User) -> set[int]:
    return set(
        session.scalars(
            select(ProgrammeMember.programme_id).where(ProgrammeMember.user_id == user.id)
        )
    )


def set_membership(session: Session, user: User, programme_ids: set[int]) -> tuple[set, set]:
    """Make ``user`` a member of exactly ``programme_ids``; return (added, removed).

    :raises AccessProblem: when an id is not a programme.
    """
    known = set(session.scalars(select(Programme.id).where(Programme.id.in_(programme_ids))))
    unknown = programme_ids - known
    if unknown:
        raise AccessProblem(f"There is no programme numbered {min(unknown)}.")
    current = member_programme_ids(session, user)
    added, removed = programme_ids - current, current - programme_ids
    for programme_id in added:
        session.add(ProgrammeMember(programme_id=programme_id, user_id=user.id))
    for programme_id in removed:
        session.delete(session.get(ProgrammeMember, (programme_id, user.id)))
    session.flush()
    return added, removed


def add_member(session: Session, user: User, programme: Programme) -> None:
    """Let the creator of a programme see it (administrators see it anyway)."""
    if not sees_every_programme(user) and not may_see_programme(session, user, programme.id):
        session.add(ProgrammeMember(programme_id=programme.id, user_id=user.id))
        session.flush()


def permission_rows() -> list[tuple[str, list[bool]]]:
    """The table as the README shows it: one row per capability, one column per role."""
    roles = list(ROLE_NAMES)
    return [
        (text, [role in roles_with for role in roles]) for text, roles_with in PERMISSIONS.values()
    ]
