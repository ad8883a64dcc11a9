"""Forms and fields shared by every area: the CSRF-only action form, the staff form that
refuses hidden characters, a required check that counts spaces as empty, the email address
check, and checkboxes."""

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from surveyapp.text import hidden_character, is_email


class ActionForm(FlaskForm):
    """A form with only the CSRF token, for buttons that act and for questionnaire pages."""


class CheckboxesField(SelectMultipleField):
    """A list of choices where several may be chosen, shown as GOV.UK checkboxes.

    Iterating the field yields one ``<input type="checkbox">`` per choice (a plain
    SelectMultipleField would yield ``<option>`` tags, which cannot be ticked outside a
    ``<select>``). Render it with the ``checkboxes`` macro of ``macros/fields.html``.
    """

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class Required(InputRequired):
    """Like InputRequired, but a field of only spaces is empty too."""

    def __call__(self, form, field):
        super().__call__(form, field)
        if isinstance(field.raw_data[0], str) and not field.raw_data[0].strip():
            field.errors[:] = []
            raise StopValidation(self.message or "This field is required")


class EmailAddress:
    """An email address in the correct format, by the one check every form and file uses
    (``text.is_email``: the email-validator library, syntax only). Spaces around it are
    ignored, as the views trim them."""

    def __init__(
        self, message: str = "Enter an email address in the correct format, like name@example.org"
    ):
        self.message = message

    def __call__(self, form, field):
        if not is_email((field.data or "").strip()):
            raise ValidationError(self.message)


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
