"""Forms of the evaluation after each session, and of the attendance bands."""

from wtforms import BooleanField, IntegerField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from surveyapp.models import RULE_AUDIENCES, SESSION_KINDS
from surveyapp.web.forms import Required, StaffForm


class RuleForm(StaffForm):
    questionnaire_key = SelectField(
        "Questionnaire", validators=[Required("Choose a questionnaire")]
    )
    session_kind = SelectField("Which sessions", validators=[Optional()])
    audience = RadioField(
        "Who is asked",
        choices=[SelectChoice(key, name) for key, name in RULE_AUDIENCES.items()],
        default="attended",
        validators=[Required("Choose who is asked")],
    )
    opens_after_hours = IntegerField(
        "Opens this many hours after the session ends",
        default=2,
        description="For example 2. Enter 0 to open it as the session ends.",
        validators=[
            Required("Enter how many hours after the session the evaluation opens"),
            NumberRange(0, 720, "Enter a number of hours from 0 to 720"),
        ],
    )
    open_days = IntegerField(
        "Stays open for this many days",
        default=14,
        validators=[
            Required("Enter how many days the evaluation stays open"),
            NumberRange(1, 365, "Enter a number of days from 1 to 365"),
        ],
    )
    privacy = RadioField(
        "How answers are kept",
        choices=[
            SelectChoice(
                "identified",
                "Identified: answers are linked to the person's ID number across waves",
            ),
            SelectChoice(
                "anonymous",
                "Anonymous but tracked: answers keep only the session, team, organisation, "
                "region and role",
            ),
        ],
        default="identified",
        validators=[Required("Choose how answers are kept")],
    )
    target_rate = IntegerField(
        "Target response rate (%)",
        default=60,
        validators=[
            Required("Enter the target response rate"),
            NumberRange(1, 100, "The target must be between 1 and 100"),
        ],
    )
    with_reminders = BooleanField(
        "Send the invitation and reminders: after 7 and 14 days, and a personal final "
        "reminder after 21 days giving three working days",
        default=True,
    )

    def set_choices(self, versions, kinds: list[str]) -> None:
        self.questionnaire_key.choices = [SelectChoice("", "Choose a questionnaire")] + [
            SelectChoice(v.questionnaire_key, v.title) for v in versions
        ]
        offered = dict(SESSION_KINDS)
        offered.update({kind: kind for kind in kinds if kind not in offered})
        self.session_kind.choices = [SelectChoice("", "Every session")] + [
            SelectChoice(key, name) for key, name in offered.items()
        ]


class BandsForm(StaffForm):
    attendance = TextAreaField(
        "Attendance bands",
        description="One band a line: the sessions attended, then a colon and the band's "
        "name. For example “0-4: fewer than 5 of 7” and “5 or more: 5 or more of 7”.",
        validators=[Required("Enter at least one attendance band"), Length(max=2000)],
    )
    mentoring = TextAreaField(
        "Mentoring bands",
        description="The same, for mentoring sessions had. For example “0-2: fewer than 3” "
        "and “3 or more: 3 or more mentoring sessions”. Leave empty if there is no mentoring.",
        validators=[Optional(), Length(max=2000)],
    )
    mentoring_kind = SelectField("Sessions counted as mentoring", validators=[Optional()])

    def set_choices(self, kinds: list[str]) -> None:
        offered = dict(SESSION_KINDS)
        offered.update({kind: kind for kind in kinds if kind not in offered})
        self.mentoring_kind.choices = [SelectChoice(key, name) for key, name in offered.items()]
