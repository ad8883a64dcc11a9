"""The audit log's search form."""

from wtforms import (
    SelectField,
    StringField,
)
from wtforms.validators import (
    Length,
    Optional,
)

from surveyapp.web.dates import DateInputField
from surveyapp.web.forms import StaffForm


class AuditSearchForm(StaffForm):
    class Meta:
        csrf = False  # a search (GET) changes nothing

    q = StringField("Who or what", validators=[Optional(), Length(max=200)])
    action = SelectField("Action", validators=[Optional()])
    since = DateInputField("From date")
    until = DateInputField("To date")
