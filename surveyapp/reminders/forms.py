"""Forms of the reminder plan: a step and an email."""

from wtforms import (
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from surveyapp.web.dates import DateInputField, TimeInputField
from surveyapp.web.forms import Required, StaffForm

AUDIENCE_CHOICES = [
    SelectChoice("not_completed", "Everyone who has not finished"),
    SelectChoice("not_opened", "People who have not opened their link"),
    SelectChoice("started", "People who started but have not finished"),
]


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
    send_on = DateInputField("Sending date")
    send_time = TimeInputField("Sending time")
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
                (self.send_on, "Enter the sending date"),
                (self.send_time, "Enter the sending time"),
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
