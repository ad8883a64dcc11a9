"""Forms of the questionnaires area: uploading files, storing what was checked, the editor."""

from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional, Regexp

from surveyapp.questionnaires.loader import MAX_FILE_BYTES
from surveyapp.web.forms import Required, StaffForm


class UploadForm(StaffForm):
    files = MultipleFileField("Questionnaire files (.yaml)")

    def chosen(self) -> list:
        """The files the person chose (a browser sends one empty part when none is)."""
        return [item for item in self.files.data or [] if item and item.filename]


class StoreForm(StaffForm):
    """Carries the checked files back, so what is stored is exactly what was shown."""

    content = HiddenField(validators=[Required()])


class EditorForm(StaffForm):
    name = StringField(
        "File name",
        validators=[
            Required("Enter the file name, like parent_survey.yaml"),
            Length(max=104),
            Regexp(
                r"^[a-z][a-z0-9_]*\.ya?ml$",
                message="The file name must be lower-case letters, digits and _ and end in "
                ".yaml, like parent_survey.yaml",
            ),
        ],
    )
    text = TextAreaField(
        "Questionnaire file",
        validators=[
            Required("Type the questionnaire"),
            Length(max=MAX_FILE_BYTES, message="The text is over the limit of 1 MB"),
        ],
    )
    #: The line the cursor is on, set by static/js/app.js; absent without JavaScript.
    cursor_line = HiddenField(validators=[Optional()])

    def line(self) -> int | None:
        value = (self.cursor_line.data or "").strip()
        return int(value) if value.isdigit() else None


class DictionaryForm(StaffForm):
    file = FileField(
        "REDCap data dictionary (.csv) or XLSForm workbook (.xlsx)",
        validators=[FileRequired("Choose a data dictionary (.csv) or a workbook (.xlsx)")],
    )
