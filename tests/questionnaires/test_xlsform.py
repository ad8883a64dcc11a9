"""An XLSForm workbook converted to a questionnaire file, with what was not carried over.

The workbook is made here with openpyxl in XLSForm's layout (survey, choices and settings
sheets; groups, a note, a repeat, a calculation, a constraint, a formula), not taken from
a real form.
"""

import io
import zipfile

import pytest
from openpyxl import Workbook

from surveyapp.questionnaires.loader import check_source
from surveyapp.questionnaires.xlsform import WorkbookProblem, convert_workbook

SURVEY = [
    ("type", "name", "label", "hint", "required", "relevant", "constraint", "calculation"),
    ("start", "start", "", "", "", "", "", ""),
    ("begin_group", "about", "About you", "", "", "", "", ""),
    ("text", "team", "Which team do you work in?", "", "yes", "", "", ""),
    ("select_one role", "role", "What is your role?", "", "yes", "", "", ""),
    ("text", "role_other", "Which role?", "", "", "${role} = 'other'", "", ""),
    ("integer", "years", "How many years have you worked here?", "", "", "", ". <= 50", ""),
    ("end_group", "", "", "", "", "", "", ""),
    ("begin_group", "feel", "How you feel", "", "", "", "", ""),
    ("note", "intro", "Thinking about the last month.", "", "", "", "", ""),
    ("select_one agree", "supported", "I feel supported by my manager", "", "yes", "", "", ""),
    ("select_multiple help", "help", "What would help?", "Tick all that apply", "", "", "", ""),
    ("calculate", "score", "", "", "", "", "", "${supported} * 2"),
    ("date", "started", "When did you start?", "", "", "${years} > 2", "", ""),
    ("end_group", "", "", "", "", "", "", ""),
]
CHOICES = [
    ("list_name", "name", "label"),
    ("role", "sw", "Social worker"),
    ("role", "tm", "Team manager"),
    ("role", "other", "Other"),
    *(("agree", str(n), label) for n, label in enumerate(
        ["Strongly disagree", "Disagree", "Agree", "Strongly agree"], start=1)),
    ("help", "time", "More time"),
    ("help", "training", "Training"),
]  # fmt: skip


def workbook(formula: bool = False) -> bytes:
    """An XLSForm workbook as a spreadsheet program saves it."""
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    for row in SURVEY:
        survey.append(row)
    if formula:
        survey["C4"] = '="Which team"'
    choices = book.create_sheet("choices")
    for row in CHOICES:
        choices.append(row)
    settings = book.create_sheet("settings")
    settings.append(("form_title", "form_id", "version"))
    settings.append(("Team wellbeing check", "team_wellbeing_check", "2026120701"))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_workbook_becomes_a_file_the_checker_accepts():
    result = convert_workbook(workbook(), "wellbeing.xlsx")

    checked = check_source(result.text.encode(), f"{result.key}.yaml")

    assert result.key == "team_wellbeing_check"
    assert checked.problems == []
    questionnaire = checked.questionnaire
    assert questionnaire.title == "Team wellbeing check"
    assert [page.title for page in questionnaire.pages] == ["About you", "How you feel"]
    assert questionnaire.pages[1].intro == "Thinking about the last month."
    assert [o.code for o in questionnaire.item("role").options] == ["sw", "tm", "other"]
    assert questionnaire.item("role_other").show_if is not None
    assert questionnaire.item("help").type == "multiple_choice"
    assert questionnaire.item("team").required and not questionnaire.item("years").required


def test_what_cannot_be_carried_over_is_listed_by_sheet_row_and_column():
    notes = [str(note) for note in convert_workbook(workbook(formula=True), "w.xlsx").notes]

    assert notes == [
        "Row 4, column label (survey sheet): A formula cannot be carried over; the cell was "
        "read as empty.",
        "Row 7, column constraint (survey sheet): “. <= 50” cannot be carried over.",
        "Row 13, column type (survey sheet): The type “calculate” cannot be carried over; the "
        "row was left out.",
        "Row 14, column type (survey sheet): The type “date” cannot be carried over; the row "
        "was left out.",
    ]


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 30_000_000)
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "password-protected"),
        (b"PK\x03\x04 broken", "cannot be read as an Excel workbook"),
        (_bomb(), "unpacks to more than 20 MB"),
        (b"x" * 1_000_001, "over the limit of 1 MB"),
    ],
    ids=["password-protected", "malformed", "zip-bomb", "too-large"],
)
def test_a_workbook_that_cannot_be_read_gets_a_clear_message(content, says):
    with pytest.raises(WorkbookProblem) as raised:
        convert_workbook(content, "form.xlsx")

    assert says in str(raised.value)


def test_a_workbook_without_a_survey_sheet_is_refused():
    book = Workbook()
    book.active.title = "Sheet1"
    out = io.BytesIO()
    book.save(out)

    with pytest.raises(WorkbookProblem, match="no “survey” sheet"):
        convert_workbook(out.getvalue(), "form.xlsx")
