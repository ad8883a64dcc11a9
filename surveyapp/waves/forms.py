"""Forms of waves: creating one, changing it, and drawing a sample of non-respondents."""

from flask import current_app
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from surveyapp.timezones import missing_time, repeated_time
from surveyapp.web.dates import DateInputField, TimeInputField
from surveyapp.web.forms import CheckboxesField, Required, StaffForm


class _WaveTimes:
    """Opening and closing times checked against the clocks' change (surveyapp/timezones.py)."""

    def validate_opens_time(self, field) -> None:
        _real_time(self.opens_on, field)

    def validate_closes_time(self, field) -> None:
        _real_time(self.closes_on, field)

    def time_notes(self) -> list[str]:
        """Which instant was taken for a time that happens twice, one sentence per field."""
        notes = []
        for day, clock in (("opens_on", "opens_time"), ("closes_on", "closes_time")):
            if day in self and self[day].data and self[clock].data:
                note = repeated_time(self[day].data, self[clock].data, _zone())
                if note:
                    notes.append(f"{self[clock].label.text}: {note}.")
        return notes


def _zone() -> str:
    return current_app.config["STUDY_TIMEZONE"]


def _real_time(day_field, time_field) -> None:
    if day_field.data and time_field.data:
        problem = missing_time(day_field.data, time_field.data, _zone())
        if problem:
            raise ValidationError(f"{time_field.label.text}: {problem}. Enter another time")


class WaveForm(_WaveTimes, StaffForm):
    label = StringField(
        "Name of the wave",
        description="For example Baseline, Midterm or Endpoint.",
        validators=[Required("Enter a name for the wave"), Length(max=200)],
    )
    version = SelectField(
        "Questionnaire", validators=[Required("Choose a questionnaire")], coerce=str
    )
    opens_on = DateInputField("Opening date", required="Enter the opening date")
    opens_time = TimeInputField("Opening time", required="Enter the opening time")
    closes_on = DateInputField("Closing date", required="Enter the closing date")
    closes_time = TimeInputField("Closing time", required="Enter the closing time")
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
        _offer_audience(self, values)

    def audience(self) -> dict[str, list[str]]:
        return _ticked_audience(self)


def _offer_audience(form, values: dict[str, list[str]]) -> None:
    for field in ("role", "team", "region"):
        getattr(form, field).choices = [SelectChoice(value) for value in values[field]]


def _ticked_audience(form) -> dict[str, list[str]]:
    """The ticked roles, teams and regions, keeping only values the form offers."""
    chosen = {}
    for name in ("role", "team", "region"):
        field = getattr(form, name)
        offered = {choice.value for choice in field.choices}
        chosen[name] = [value for value in field.data or [] if value in offered]
    return chosen


class ChangeWaveForm(_WaveTimes, StaffForm):
    """Change a wave: the fields of Create a wave that can still change (not the
    questionnaire, nor how answers are kept)."""

    label = WaveForm.label
    opens_on = WaveForm.opens_on
    opens_time = WaveForm.opens_time
    closes_on = WaveForm.closes_on
    closes_time = WaveForm.closes_time
    target_rate = WaveForm.target_rate
    role = WaveForm.role
    team = WaveForm.team
    region = WaveForm.region

    def set_choices(self, values: dict[str, list[str]]) -> None:
        _offer_audience(self, values)

    def audience(self) -> dict[str, list[str]]:
        return _ticked_audience(self)


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
