"""Forms shared by every audience."""

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """A form with only the CSRF token, for buttons that act and for questionnaire pages."""
