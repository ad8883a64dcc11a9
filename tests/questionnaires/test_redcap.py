"""A REDCap data dictionary converted to a questionnaire file, with what was not carried over.

The dictionaries in tests/questionnaires/redcap/ were written for these tests in the layout
REDCap downloads (its 18 columns, HTML in labels, a descriptive field, a calculated field,
piping, branching, matrix groups), not taken from a REDCap project.
"""

from pathlib import Path

import pytest

from surveyapp.questionnaires.loader import check_source
from surveyapp.questionnaires.redcap import DictionaryProblem, convert_dictionary

DICTIONARY = Path(__file__).parent / "redcap" / "TeamWellbeing_DataDictionary_2026-12-07.csv"


def converted():
    return convert_dictionary(DICTIONARY.read_bytes(), DICTIONARY.name)


def test_a_dictionary_becomes_a_file_the_checker_accepts():
    result = converted()

    checked = check_source(result.text.encode(), f"{result.key}.yaml")

    assert result.key == "team_wellbeing"
    assert checked.problems == []
    questionnaire = checked.questionnaire
    assert [page.title for page in questionnaire.pages] == [
        "About you",
        "How you feel",
    ]
    assert questionnaire.pages[0].intro == ""
    role = questionnaire.item("role")
    assert [(o.code, o.label) for o in role.options] == [
        (1, "Social worker"),
        (2, "Team manager"),
        (3, "Other"),
    ]
    assert questionnaire.item("role_other").show_if is not None
    assert questionnaire.item("team").identifying and questionnaire.item("team").required
    years = questionnaire.item("years")
    assert (years.type, years.min, years.max, years.required) == ("number", 0, 50, False)
    assert questionnaire.item("comments").type == "long_text"


def test_what_cannot_be_carried_over_is_listed_by_row_and_column():
    notes = [str(note) for note in converted().notes]

    assert notes == [
        "Row 2, column Variable / Field Name: “record_id” is REDCap's record ID; it was left out.",
        "Row 9, column Field Label: Piping (a [field] inside the text) cannot be carried over; "
        "the brackets stay in the text.",
        "Row 9, column Text Validation Type OR Show Slider Number: The validation “email” "
        "cannot be carried over; the answer is free text.",
        "Row 9, column Branching Logic (Show field only if...): The branching “[years] > 2” "
        "cannot be carried over; the question is always shown.",
        "Row 10, column Field Type: A “calc” field cannot be carried over; it was left out.",
    ]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "it looks like a workbook"),
        ("Variable / Field Name,Form Name\nx,Caf\xe9\n".encode("latin-1"), "not saved as UTF-8"),
        (
            b"name,email\nA,a@example.org\n",
            "must name the columns of a REDCap data dictionary; it has no “Variable",
        ),
        (b"x" * 1_000_001, "over the limit of 1 MB"),
        (b"", "The file is empty."),
    ],
    ids=["workbook", "not-utf8", "not-a-dictionary", "too-large", "empty"],
)
def test_a_file_that_is_not_a_dictionary_gets_a_clear_message(content, says):
    with pytest.raises(DictionaryProblem) as raised:
        convert_dictionary(content, "dictionary.csv")

    assert says in str(raised.value)


MATRIX_DICTIONARY = DICTIONARY.with_name("SetEvaluation_DataDictionary_2026-12-07.csv")


def test_a_matrix_group_becomes_a_matrix_with_its_rows():
    result = convert_dictionary(MATRIX_DICTIONARY.read_bytes(), MATRIX_DICTIONARY.name)

    checked = check_source(result.text.encode(), f"{result.key}.yaml")

    assert checked.problems == []
    questionnaire = checked.questionnaire
    usefulness = questionnaire.item("usefulness")
    assert usefulness.type == "matrix"
    assert usefulness.text == "How useful was the set?"
    assert [(row.id, row.text) for row in usefulness.rows] == [
        ("useful", "The set was useful to me"),
        ("real_issues", "We worked on real issues"),
        ("will_use", "I will use what I learnt"),
    ]
    assert [o.label for o in usefulness.options] == [
        "Strongly disagree",
        "Disagree",
        "Agree",
        "Strongly agree",
    ]
    assert usefulness.required
    assert questionnaire.item("gained").type == "multiple_choice"
    climate = questionnaire.item("climate")
    assert [row.id for row in climate.rows] == ["safe", "facilitated"]
    assert not climate.required
    assert [row.id for row in questionnaire.item("climate_grid").rows] == ["overall"]
    assert [str(note) for note in result.notes][1:] == [
        "Row 5, column Branching Logic (Show field only if...): A row of a matrix cannot be "
        "shown on a condition; the row is always shown.",
        "Row 5, column Field Note: A row of a matrix has no hint of its own; the note was "
        "left out.",
        "Row 6, column Matrix Group Name: A “checkbox” field of the matrix “usefulness” "
        "becomes a question of its own: a matrix here takes one choice per row.",
        "Row 9, column Choices, Calculations, OR Slider Labels: The choices differ from the "
        "rest of the matrix “climate”; a new matrix starts here.",
    ]
