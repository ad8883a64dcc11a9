"""The study team's forms. Choices are SelectChoice objects (tuples are deprecated in WTForms)."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional


class ProgrammeForm(FlaskForm):
    name = StringField(
        "Programme name",
        validators=[InputRequired("Enter the programme name"), Length(max=200)],
    )
    run_by = StringField(
        "Who runs the evaluation",
        description="Shown to participants, for example “The University of Kent evaluation team”.",
        validators=[InputRequired("Enter who runs the evaluation"), Length(max=300)],
    )
    description = TextAreaField("Description (optional)", validators=[Length(max=5000)])


class CohortUploadForm(FlaskForm):
    file = FileField("Cohort file (CSV)", validators=[FileRequired("Choose a CSV file to upload")])


class CohortConfirmForm(FlaskForm):
    """Carries the checked file back, so what is imported is exactly what was previewed."""

    content = StringField(validators=[InputRequired()])


class ParticipantForm(FlaskForm):
    name = StringField(
        "Full name", validators=[InputRequired("Enter the full name"), Length(max=200)]
    )
    email = StringField(
        "Email address",
        validators=[
            InputRequired("Enter the email address"),
            Email("Enter an email address in the correct format, like name@example.org"),
            Length(max=320),
        ],
    )
    team = StringField("Team", validators=[Length(max=200)])
    organisation = StringField("Organisation", validators=[Length(max=200)])
    region = StringField("Region", validators=[Length(max=200)])
    role = StringField("Role", validators=[Length(max=200)])


class WaveForm(FlaskForm):
    label = StringField(
        "Name of the wave",
        description="For example Baseline, Midterm or Endpoint.",
        validators=[InputRequired("Enter a name for the wave"), Length(max=200)],
    )
    version = SelectField(
        "Questionnaire", validators=[InputRequired("Choose a questionnaire")], coerce=str
    )
    opens_on = DateField("Opens on", validators=[InputRequired("Enter the opening date")])
    opens_time = TimeField("at", validators=[InputRequired("Enter the opening time")])
    closes_on = DateField("Closes on", validators=[InputRequired("Enter the closing date")])
    closes_time = TimeField("at", validators=[InputRequired("Enter the closing time")])
    target_rate = IntegerField(
        "Target response rate (%)",
        default=60,
        validators=[
            InputRequired("Enter the target response rate"),
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
        validators=[InputRequired("Choose how answers are kept")],
    )
    role = SelectMultipleField("Roles", validators=[Optional()])
    team = SelectMultipleField("Teams", validators=[Optional()])
    region = SelectMultipleField("Regions", validators=[Optional()])

    def set_choices(self, versions, values: dict[str, list[str]]) -> None:
        self.version.choices = [
            SelectChoice(str(v.id), f"{v.title} (version {v.number})") for v in versions
        ]
        for field in ("role", "team", "region"):
            getattr(self, field).choices = [SelectChoice(value) for value in values[field]]
