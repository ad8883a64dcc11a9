"""Forms shared by every audience."""

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget


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
