"""The definition format: what a good file becomes, and how conditions and answers behave."""

import textwrap

import pytest

from surveyapp.questionnaires import KINDS, check_source
from surveyapp.questionnaires.answers import read_page, summary
from surveyapp.questionnaires.model import is_answered

GOOD = textwrap.dedent(
    """\
    format_version: 1
    key: example
    title: Example
    estimated_minutes: 5
    source: Written for the tests
    option_sets:
      agree:
        - {code: 1, label: Disagree}
        - {code: 2, label: Neutral}
        - {code: 3, label: Agree}
    pages:
      - id: profile
        title: About you
        items:
          - id: role
            type: single_choice
            text: Your role
            options: [{code: 1, label: Peer}, {code: 2, label: Peer supporter}]
            other: Something else
          - id: answer_no
            type: single_choice
            text: Is this the norway problem?
            options: [{code: no, label: No}, {code: yes, label: Yes}]
          - id: months
            type: number
            text: Months in post
            min: 0
            max: 600
            unit: months
          - id: why
            type: long_text
            text: Why did you join?
            required: false
            max_length: 20
      - id: supporters
        title: Peer supporters
        show_if: {item: role, equals: 2}
        items:
          - id: hours
            type: number
            text: Hours a week
            integer: false
      - id: skills_page
        title: Skills
        items:
          - id: skills
            type: matrix
            text: How confident are you?
            options: agree
            not_applicable: {code: 9, label: Not applicable}
            rows:
              - {id: skill_a, text: Listening}
              - {id: skill_b, text: Challenging}
          - id: topics
            type: multiple_choice
            text: Topics
            options: [{code: 1, label: A}, {code: 2, label: B}, {code: 3, label: C}]
            max_choices: 2
          - id: lean
            type: bipolar
            left: We listen.
            right: We do not listen.
            points: 5
          - id: nickname
            type: short_text
            text: Nickname
            show_if: {not: {item: topics, one_of: [3]}}
    scales:
      - {id: confidence, label: Confidence, items: [skills], reverse: [skill_b], min_answered: 1}
    """
)


@pytest.fixture
def questionnaire():
    result = check_source(GOOD.encode(), "example.yaml")
    assert result.problems == []
    return result.questionnaire


def test_yaml_12_keeps_no_and_yes_as_text(questionnaire):
    codes = [option.code for option in questionnaire.item("answer_no").options]

    assert codes == ["no", "yes"]


def test_matrix_in_a_scale_stands_for_its_rows(questionnaire):
    assert questionnaire.scales[0].items == ("skill_a", "skill_b")


def test_page_shown_only_for_peer_supporters(questionnaire):
    assert [p.id for p in questionnaire.shown_pages({"role": 1})] == ["profile", "skills_page"]
    assert [p.id for p in questionnaire.shown_pages({"role": 2})] == [
        "profile",
        "supporters",
        "skills_page",
    ]


def test_answers_on_a_page_that_stopped_applying_are_dropped(questionnaire):
    answers = {"role": 1, "hours": 3.5, "months": 4}

    assert questionnaire.relevant_answers(answers) == {"role": 1, "months": 4}


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        (
            {},
            {
                "role": "Select an answer",
                "answer_no": "Select an answer",
                "months": "Enter a number",
            },
        ),
        (
            {"role": ["1"], "answer_no": ["no"], "months": ["ten"]},
            {"months": "Enter a whole number, like 12"},
        ),
        (
            {"role": ["1"], "answer_no": ["no"], "months": ["601"]},
            {"months": "Enter a number between 0 and 600"},
        ),
        (
            {"role": ["7"], "answer_no": ["no"], "months": ["1"]},
            {"role": "Select one of the answers shown"},
        ),
        (
            {"role": ["other"], "answer_no": ["no"], "months": ["1"]},
            {"role_other": "Say what “Something else” is"},
        ),
        (
            {"role": ["1"], "answer_no": ["no"], "months": ["1"], "why": ["x" * 21]},
            {"why": "Answer must be 20 characters or fewer; it has 21"},
        ),
    ],
)
def test_invalid_answers_get_a_message_beside_the_item(questionnaire, form, errors):
    result = read_page(questionnaire.page("profile"), form, {})

    assert result.errors == errors


def test_valid_page_gives_typed_answers(questionnaire):
    form = {
        "role": ["other"],
        "role_other": [" Team lead "],
        "answer_no": ["no"],
        "months": ["1,200"[:1]],
        "why": ["Because\r\nI care"],
        "forged": ["x"],
    }

    result = read_page(questionnaire.page("profile"), form, {})

    assert result.errors == {}
    assert result.values == {
        "role": "other",
        "role_other": "Team lead",
        "answer_no": "no",
        "months": 1,
        "why": "Because\nI care",
    }


def test_multiple_choice_limits_and_conditions_on_the_same_page(questionnaire):
    page = questionnaire.page("skills_page")
    form = {"skill_a": ["9"], "skill_b": ["3"], "topics": ["1", "3", "2"], "lean": ["2"]}

    result = read_page(page, form, {})

    assert result.errors == {"topics": "Select no more than 2"}
    assert "nickname" not in result.values  # hidden: topic 3 was chosen earlier on the page


def test_summary_writes_answers_in_words(questionnaire):
    rows = summary(
        questionnaire, {"role": 2, "hours": 2.5, "skill_a": 9, "lean": 1, "topics": [1, 2]}
    )

    answers = {row.answer_id: row.answer for row in rows}
    assert answers["role"] == "Peer supporter"
    assert answers["skill_a"] == "Not applicable"
    assert answers["topics"] == "A, B"
    assert answers["lean"].startswith("1 of 5")
    assert answers["months"] == "Not answered"


def test_check_your_answers_names_a_grid_row_after_its_question(questionnaire):
    rows = summary(questionnaire, {"role": 1, "skill_a": 3, "skill_b": 1})

    questions = {row.answer_id: row.question for row in rows}
    assert questions["skill_a"] == "How confident are you? – Listening"
    assert questions["skill_b"] == "How confident are you? – Challenging"
    assert not any("?:" in question for question in questions.values())


def test_every_kind_is_read_by_the_answer_reader():
    from surveyapp.questionnaires.answers import _READERS

    assert set(_READERS) == set(KINDS)


@pytest.mark.parametrize("value", [None, "", [], ()])
def test_blank_values_are_not_answers(value):
    assert not is_answered(value)
