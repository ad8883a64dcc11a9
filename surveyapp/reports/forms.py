"""The form of the team reports page: one button, with its CSRF token."""

from surveyapp.web.forms import ActionForm


class ZipForm(ActionForm):
    """Make the ZIP of every team's report: nothing to fill in but the button."""
