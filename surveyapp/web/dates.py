"""Date and time fields that read the same in every browser, whatever its locale.

A ``type=date`` box shows mm/dd/yyyy in an American browser and a ``type=time`` box shows
17:00 as "05:00 PM" (or cuts it off), beside words that say UK time. These fields follow
the GOV.UK date input pattern instead: three text boxes, Day, Month and Year, and a plain
text box for a time on the 24-hour clock (17:00). Render them with the ``date_input`` and
``time_input`` macros of ``macros/dates.html``.

Every error names the field by its label: "Closing date must be a real date".
"""

from __future__ import annotations

import re
from datetime import date, time

from wtforms import Field
from wtforms.utils import unset_value
from wtforms.validators import StopValidation
from wtforms.widgets import TextInput

PARTS = ("day", "month", "year")

#: What a person may type for a time: 17:00, 9:30, 09.30, 0930, 5pm, 5:30 pm.
_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*([ap]\.?m\.?)?$|^(\d{2})(\d{2})$", re.I)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _parse_date(parts: dict[str, str], name: str) -> tuple[date | None, list[str], str]:
    """Read the three boxes: (the date or None, the boxes in error, the error or "")."""
    missing = [part for part in PARTS if not parts[part]]
    if len(missing) == len(PARTS):
        return None, [], ""
    if missing:
        return None, missing, f"{name} must include a {' and '.join(missing)}"
    not_numbers = [part for part in PARTS if not parts[part].isdigit()]
    if not_numbers:
        return None, not_numbers, f"{name} must be a real date"
    if len(parts["year"]) != 4:
        return None, ["year"], f"The year of the {_lower_first(name)} must have 4 numbers"
    try:
        day = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        return None, list(PARTS), f"{name} must be a real date"
    return day, [], ""


def parse_time(text: str) -> time | None:
    """Read a time of day typed as 17:00 (or 9:30, 0930, 5pm); None when it is not one."""
    found = _TIME.match(text.strip())
    if found is None:
        return None
    hour_text, minute_text, half, hour4, minute4 = found.groups()
    hour = int(hour_text or hour4)
    minute = int(minute_text or minute4 or 0)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half.lower().startswith("p") else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


class DateInputField(Field):
    """A date typed in three boxes named ``<name>-day``, ``<name>-month`` and ``<name>-year``.

    ``required`` is the message when all three are empty ("Enter the closing date"); without
    it an empty date is None. A form posted by a script may send one ISO date under the
    field's own name instead (2030-05-23).
    """

    def __init__(self, label=None, validators=None, required: str = "", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.required = required
        self.raw_parts: dict[str, str] | None = None
        #: The boxes to mark in error (a problem of the whole date marks none).
        self.bad_parts: list[str] = []

    @property
    def parts(self) -> dict[str, str]:
        """What each box shows: as typed after a post, else the field's date."""
        if self.raw_parts is not None:
            return self.raw_parts
        if isinstance(self.data, date):
            return {
                "day": str(self.data.day),
                "month": str(self.data.month),
                "year": str(self.data.year),
            }
        return dict.fromkeys(PARTS, "")

    @property
    def error_target(self) -> str:
        """The id of the box an error summary link goes to: the first box in error."""
        return f"{self.id}-{(self.bad_parts or ['day'])[0]}"

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.process_errors = []
        if data is unset_value:
            try:
                data = self.default()
            except TypeError:
                data = self.default
        self.object_data = data
        self.data = data
        self.raw_data = []
        if formdata is None:
            return
        keys = [f"{self.name}-{part}" for part in PARTS]
        if any(key in formdata for key in keys):
            self.raw_parts = {
                part: str(formdata.get(key, "")).strip()
                for part, key in zip(PARTS, keys, strict=True)
            }
            self.raw_data = list(self.raw_parts.values())
        elif self.name in formdata:
            text = str(formdata.get(self.name, "")).strip()
            year, _, rest = text.partition("-")
            month, _, day = rest.partition("-")
            self.raw_parts = {"day": day, "month": month, "year": year}
            self.raw_data = [text]
        else:
            self.data = None
            return
        self.data, self.bad_parts, problem = _parse_date(self.raw_parts, self.label.text)
        if problem:
            self.process_errors.append(problem)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()
        if self.data is None and self.required:
            self.bad_parts = list(PARTS)
            raise StopValidation(self.required)


class TimeInputField(Field):
    """A time of day in one text box, on the 24-hour clock: 17:00 stays 17:00 everywhere."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, required: str = "", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.required = required

    @property
    def error_target(self) -> str:
        return self.id

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return self.data.strftime("%H:%M") if isinstance(self.data, time) else ""

    def process_formdata(self, valuelist):
        text = valuelist[0].strip() if valuelist else ""
        if not text:
            self.data = None
            return
        self.data = parse_time(text)
        if self.data is None:
            raise ValueError(
                f"{self.label.text} must be a real time on the 24-hour clock, like 17:00"
            )

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()
        if self.data is None and self.required:
            raise StopValidation(self.required)
