"""Forms of sessions: planning one, loading files of sessions and attendance, the register."""

import re
from datetime import date, time

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from surveyapp.models import SESSION_KINDS
from surveyapp.sessions.importing import parse_time
from surveyapp.web.forms import CheckboxesField, Required, StaffForm

#: The choice of the kind radios that means "a kind the programme names".
OTHER_KIND = "other"


class SessionForm(StaffForm):
    kind = RadioField(
        "Kind of session",
        choices=[
            *(SelectChoice(key, name) for key, name in SESSION_KINDS.items()),
            SelectChoice(OTHER_KIND, "Another kind"),
        ],
        validators=[Required("Choose the kind of session")],
    )
    other_kind = StringField("Name of the kind", validators=[Length(max=100)])
    group = StringField(
        "Group (optional)",
        description="For example “Set A”, “West” or a mentor's pairs.",
        validators=[Length(max=200)],
    )
    title = StringField("Title (optional)", validators=[Length(max=200)])
    day = StringField("Day")
    month = StringField("Month")
    year = StringField("Year")
    starts = StringField("Starts at")
    ends = StringField("Ends at")
    confirm_past = BooleanField("Yes, this session has already taken place")
    expect_group = BooleanField("Only people in this group")
    role = CheckboxesField("Roles", validators=[Optional()])
    team = CheckboxesField("Teams", validators=[Optional()])
    id_numbers = TextAreaField(
        "Named participants (optional)",
        description="ID numbers, separated by commas or spaces. They are expected whatever "
        "their group, role or team.",
        validators=[Length(max=20000)],
    )
    notes = TextAreaField("Notes (optional)", validators=[Length(max=5000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: Set when the time has passed and the person has not yet said it was meant.
        self.asks_to_confirm_past = False

    def set_choices(self, values: dict[str, list[str]]) -> None:
        for name in ("role", "team"):
            getattr(self, name).choices = [SelectChoice(value) for value in values[name]]

    def validate_other_kind(self, field) -> None:
        if self.kind.data == OTHER_KIND and not (field.data or "").strip():
            field.errors.append("Enter the name of the kind of session")

    def the_day(self) -> date | None:
        """The date from the Day, Month and Year boxes, with an error on the day if unreal."""
        parts = [(getattr(self, name).data or "").strip() for name in ("day", "month", "year")]
        if not any(parts):
            self.day.errors.append("Enter the date of the session")
            return None
        missing = [
            name for name, part in zip(("day", "month", "year"), parts, strict=True) if not part
        ]
        if missing:
            self.day.errors.append(f"The date must include a {missing[0]}")
            return None
        if not all(part.isdigit() for part in parts) or len(parts[2]) != 4:
            self.day.errors.append("The date must be a real date, like 27 3 2031")
            return None
        try:
            return date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            self.day.errors.append("The date must be a real date, like 27 3 2031")
            return None

    def the_times(self) -> tuple[time, time] | None:
        """The start and end times, with an error on the field that is wrong."""
        starts, ends = parse_time(self.starts.data), parse_time(self.ends.data)
        if starts is None:
            self.starts.errors.append("Enter the start time as a 24-hour time, like 09:30 or 14:00")
        if ends is None:
            self.ends.errors.append("Enter the end time as a 24-hour time, like 11:30 or 16:00")
        if starts and ends and ends <= starts:
            self.ends.errors.append("The end time must be after the start time")
            return None
        return (starts, ends) if starts and ends else None

    def expected(self) -> dict:
        """Who is expected, keeping only the roles and teams the form offers."""
        chosen: dict = {}
        if self.expect_group.data:
            chosen["group"] = True
        for name in ("role", "team"):
            field = getattr(self, name)
            offered = {choice.value for choice in field.choices}
            values = [value for value in field.data or [] if value in offered]
            if values:
                chosen[name] = values
        return chosen

    def id_number_list(self) -> list[str]:
        return [part for part in re.split(r"[\s,;]+", self.id_numbers.data or "") if part]


class UploadForm(StaffForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to upload")])


class ConfirmForm(StaffForm):
    """Carries the checked file back, so what is loaded is exactly what was previewed."""

    content = StringField(validators=[Required()])


class RegisterForm(StaffForm):
    """The plain register: ticked boxes are those who came; one more person by ID number."""

    came = CheckboxesField("Who came", validators=[Optional()], coerce=int, validate_choice=False)
    someone_else = StringField(
        "Someone else who came (optional)",
        description="Their ID number, if they came without being expected.",
        validators=[Length(max=64)],
    )
