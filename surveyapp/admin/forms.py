"""The study team's forms. Choices are SelectChoice objects (tuples are deprecated in WTForms)."""

from flask import current_app
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)

from surveyapp.participants.roster import hidden_character
from surveyapp.timezones import to_local
from surveyapp.web.context import now as context_now
from surveyapp.web.forms import CheckboxesField


class Required(InputRequired):
    """Like InputRequired, but a field of only spaces is empty too."""

    def __call__(self, form, field):
        super().__call__(form, field)
        if isinstance(field.raw_data[0], str) and not field.raw_data[0].strip():
            field.errors[:] = []
            raise StopValidation(self.message or "This field is required")


class StaffForm(FlaskForm):
    """Every form of the study team: text with hidden or control characters is refused,
    naming the character, so that nothing typed can reverse or hide text on a page."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field, (StringField, TextAreaField)) and isinstance(field.data, str):
                hidden = hidden_character(field.data)
                if hidden:
                    field.errors = [
                        *field.errors,
                        f"{field.label.text} has a hidden character ({hidden}); delete it",
                    ]
                    valid = False
        return valid


class DayField(DateField):
    """A date from a date picker (2031-03-31) or typed in an older browser (31/03/2031)."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter a real date, like 31/03/2031") from None


class ProgrammeForm(StaffForm):
    name = StringField(
        "Programme name",
        validators=[Required("Enter the programme name"), Length(max=200)],
    )
    run_by = StringField(
        "Who runs the evaluation",
        description="Shown to participants, for example “The University of Kent evaluation team”.",
        validators=[Required("Enter who runs the evaluation"), Length(max=300)],
    )
    description = TextAreaField("Description (optional)", validators=[Length(max=5000)])
    reporting_threshold = IntegerField(
        "Reporting threshold",
        default=5,
        description="Evaluators never see results of a group with fewer respondents than this. "
        "At least 3; 5 is usual.",
        validators=[
            Optional(),
            NumberRange(3, 1000, "The reporting threshold must be 3 or more"),
        ],
    )
    contact_retention_until = DayField(
        "Remove contact details after (optional)",
        format=["%Y-%m-%d", "%d/%m/%Y", "%d %m %Y"],
        description="The day after this date, the names, email addresses and further columns "
        "of everyone in the cohort are removed for good, by the retention command the server "
        "runs each night. ID numbers, teams and answers are kept. Leave it empty to keep "
        "contact details until you set a date.",
        validators=[Optional()],
    )
    confirm_past_retention = BooleanField(
        "Yes, remove everyone's contact details the next time the retention command runs"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = kwargs.get("obj")
        #: A date already saved needs no new confirmation when other details are changed.
        self.stored_retention = getattr(stored, "contact_retention_until", None)
        self.asks_to_confirm_past_date = False

    def validate_contact_retention_until(self, field) -> None:
        """A date that has passed removes contact details at the next run: make that a choice."""
        chosen = field.data
        if chosen is None or chosen == self.stored_retention or self.confirm_past_retention.data:
            return
        today = to_local(context_now(), current_app.config["STUDY_TIMEZONE"]).date()
        if chosen < today:
            self.asks_to_confirm_past_date = True
            raise ValidationError(
                f"{chosen.day} {chosen:%B %Y} has passed: everyone's contact details would be "
                "removed the next time the retention command runs. Tick the box to confirm, or "
                "choose a later date"
            )


class CohortUploadForm(StaffForm):
    file = FileField("Cohort file (CSV)", validators=[FileRequired("Choose a CSV file to upload")])


class CohortConfirmForm(StaffForm):
    """Carries the checked file back, so what is imported is exactly what was previewed."""

    content = StringField(validators=[Required()])


class ParticipantForm(StaffForm):
    name = StringField("Full name", validators=[Required("Enter the full name"), Length(max=200)])
    email = StringField(
        "Email address",
        validators=[
            Required("Enter the email address"),
            Email("Enter an email address in the correct format, like name@example.org"),
            Length(max=320),
        ],
    )
    team = StringField("Team", validators=[Length(max=200)])
    organisation = StringField("Organisation", validators=[Length(max=200)])
    region = StringField("Region", validators=[Length(max=200)])
    role = StringField("Role", validators=[Length(max=200)])


class WaveForm(StaffForm):
    label = StringField(
        "Name of the wave",
        description="For example Baseline, Midterm or Endpoint.",
        validators=[Required("Enter a name for the wave"), Length(max=200)],
    )
    version = SelectField(
        "Questionnaire", validators=[Required("Choose a questionnaire")], coerce=str
    )
    opens_on = DateField("Opens on", validators=[Required("Enter the opening date")])
    opens_time = TimeField("at", validators=[Required("Enter the opening time")])
    closes_on = DateField("Closes on", validators=[Required("Enter the closing date")])
    closes_time = TimeField("at", validators=[Required("Enter the closing time")])
    target_rate = IntegerField(
        "Target response rate (%)",
        default=60,
        validators=[
            Required("Enter the target response rate"),
            NumberRange(1, 100, "The target must be between 1 and 100"),
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
                "Anonymous but tracked: we know who has finished, answers keep only team, "
                "organisation, region and role",
            ),
        ],
        validators=[Required("Choose how answers are kept")],
    )
    role = CheckboxesField("Roles", validators=[Optional()])
    team = CheckboxesField("Teams", validators=[Optional()])
    region = CheckboxesField("Regions", validators=[Optional()])

    def set_choices(self, versions, values: dict[str, list[str]]) -> None:
        self.version.choices = [
            SelectChoice(str(v.id), f"{v.title} (version {v.number})") for v in versions
        ]
        for field in ("role", "team", "region"):
            getattr(self, field).choices = [SelectChoice(value) for value in values[field]]

    def audience(self) -> dict[str, list[str]]:
        """The ticked roles, teams and regions, keeping only values the form offers."""
        chosen = {}
        for name in ("role", "team", "region"):
            field = getattr(self, name)
            offered = {choice.value for choice in field.choices}
            chosen[name] = [value for value in field.data or [] if value in offered]
        return chosen


# -- dashboard and reminders -------------------------------------------------------------

AUDIENCE_CHOICES = [
    SelectChoice("not_completed", "Everyone who has not finished"),
    SelectChoice("not_opened", "People who have not opened their link"),
    SelectChoice("started", "People who started but have not finished"),
]


class SampleForm(StaffForm):
    """Read from the query string: drawing a sample changes nothing, so it is a GET form."""

    class Meta:
        csrf = False

    size = IntegerField(
        "How many people",
        validators=[
            Required("Enter how many people to choose"),
            NumberRange(1, 10000, "Choose between 1 and 10,000 people"),
        ],
    )
    seed = IntegerField(
        "Seed",
        description="The same seed always chooses the same people. Note it down to draw the "
        "sample again.",
        validators=[
            Required("Enter a seed, a whole number"),
            NumberRange(0, 2**31 - 1, "The seed must be a whole number from 0 to 2147483647"),
        ],
    )
    by_region = BooleanField("Choose from each region in proportion to its non-respondents")


class StepForm(StaffForm):
    label = StringField(
        "Name of the step",
        description="For example Third reminder.",
        validators=[Required("Enter a name for the step"), Length(max=200)],
    )
    when = RadioField(
        "When to send",
        choices=[
            SelectChoice("days", "A number of days after the wave opens"),
            SelectChoice("date", "On a date and time"),
        ],
        validators=[Required("Choose when to send")],
    )
    days_after_opening = IntegerField(
        "Days after the wave opens",
        description="0 sends it when the wave opens.",
        validators=[Optional(), NumberRange(0, 365, "Enter a number of days from 0 to 365")],
    )
    send_on = DateField("Date", validators=[Optional()])
    send_time = TimeField("Time", validators=[Optional()])
    audience = RadioField(
        "Who it goes to",
        description="Nobody who has completed, withdrawn or asked for no more reminders "
        "receives anything.",
        choices=AUDIENCE_CHOICES,
        validators=[Required("Choose who the step goes to")],
    )
    template = SelectField("Email", validators=[Required("Choose an email")])
    deadline_working_days = IntegerField(
        "Deadline in working days (for a final reminder)",
        description="Leave empty to give the closing date. Weekends and bank holidays in "
        "England and Wales are skipped.",
        validators=[Optional(), NumberRange(1, 30, "Enter a number of working days from 1 to 30")],
    )

    def set_choices(self, templates) -> None:
        self.template.choices = [SelectChoice(str(t.id), t.name) for t in templates]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.when.data == "days" and self.days_after_opening.data is None:
            if not self.days_after_opening.errors:
                self.days_after_opening.errors.append("Enter a number of days")
            valid = False
        if self.when.data == "date":
            for field, message in (
                (self.send_on, "Enter a date"),
                (self.send_time, "Enter a time"),
            ):
                if field.data is None and not field.errors:
                    field.errors.append(message)
                    valid = False
        return valid


#: Made before TemplateForm's fields, so that the name (first on the page) comes first in the
#: error summary too: WTForms orders fields by when they were made.
_TEMPLATE_NAME = StringField(
    "Name of the email",
    description="Lower case letters, numbers and underscores, for example second_final.",
    validators=[
        Required("Enter a name for the email"),
        Length(max=100),
        Regexp(r"^[a-z0-9_]+$", message="Use only lower case letters, numbers and underscores"),
    ],
)


class TemplateForm(StaffForm):
    subject = StringField(
        "Subject", validators=[Length(max=300, message="Keep the subject under 300 characters")]
    )
    body = TextAreaField(
        "Message",
        validators=[Length(max=20000)],
        filters=[lambda text: text.replace("\r\n", "\n") if isinstance(text, str) else text],
    )
    #: Whose details the preview shows; never saved.
    participant = SelectField("Preview for", validate_choice=False, validators=[Optional()])
    #: The no-JavaScript way to refresh the preview: set when that button was pressed.
    preview = SubmitField("Preview")

    def set_choices(self, invitations) -> None:
        self.participant.choices = [
            SelectChoice(str(i.id), f"{i.participant.name} ({i.participant.id_number})")
            for i in invitations
        ]


class NewTemplateForm(TemplateForm):
    name = _TEMPLATE_NAME


ROLE_CHOICES = [
    SelectChoice("programme_manager", "Programme manager"),
    SelectChoice("evaluator", "Evaluator"),
    SelectChoice("viewer", "Viewer"),
    SelectChoice("admin", "Administrator"),
]


class UserForm(StaffForm):
    """A staff account: its role, its programmes and whether it may sign in."""

    role = RadioField("Role", choices=ROLE_CHOICES, validators=[Required("Choose a role")])
    programmes = SelectMultipleField(
        "Programmes they may see",
        description="Administrators see every programme.",
        coerce=int,
        validate_choice=False,  # checked against the database, with a message naming the number
    )
    is_active = BooleanField("Can sign in")
    new_password = StringField(
        "New password (optional)",
        description="Leave empty to keep their password. At least 10 characters.",
        validators=[Optional(), Length(max=200)],
    )


class NewUserForm(UserForm):
    email = StringField(
        "Email address",
        validators=[
            Required("Enter the email address"),
            Email("Enter an email address in the correct format, like name@example.org"),
            Length(max=320),
        ],
    )
    password = StringField(
        "First password",
        description="At least 10 characters. Give it to them in person or by phone, not by email; "
        "they can be given a new one here later.",
        validators=[Required("Enter a first password"), Length(max=200)],
    )


class AuditSearchForm(StaffForm):
    class Meta:
        csrf = False  # a search (GET) changes nothing

    q = StringField("Who or what", validators=[Optional(), Length(max=200)])
    action = SelectField("Action", validators=[Optional()])
    since = DateField("From (day)", validators=[Optional()])
    until = DateField("To (day)", validators=[Optional()])
