"""Forms of staff accounts. Choices are SelectChoice objects (tuples are deprecated)."""

from wtforms import (
    BooleanField,
    RadioField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    Length,
    Optional,
)

from surveyapp.web.forms import EmailAddress, Required, StaffForm

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
            EmailAddress(),
            Length(max=320),
        ],
    )
    password = StringField(
        "First password",
        description="At least 10 characters. Give it to them in person or by phone, not by email; "
        "they can be given a new one here later.",
        validators=[Required("Enter a first password"), Length(max=200)],
    )
