"""Forms of programmes and their people."""

from flask import current_app
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from surveyapp.timezones import to_local
from surveyapp.web.context import now as context_now
from surveyapp.web.forms import EmailAddress, Required, StaffForm


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
            EmailAddress(),
            Length(max=320),
        ],
    )
    team = StringField("Team", validators=[Length(max=200)])
    organisation = StringField("Organisation", validators=[Length(max=200)])
    region = StringField("Region", validators=[Length(max=200)])
    role = StringField("Role", validators=[Length(max=200)])
