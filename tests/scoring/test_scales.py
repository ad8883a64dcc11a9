"""Scale scores against values worked out by hand."""

import math

import pytest

from surveyapp.scoring import load_answers, scale_info, scale_scores, scores_table
from tests.factories import make_programme
from tests.scoring.builders import (
    cohort,
    long_answers,
    questionnaire_from,
    store_questionnaire,
    submit_all,
    wave_of,
)

QUESTIONNAIRE = questionnaire_from()


def _scores(responses):
    return scale_scores(long_answers(responses), QUESTIONNAIRE, with_counts=True)


def test_reverse_coded_item_scores_lowest_plus_highest_minus_code():
    scores = _scores({"r": {"q1": 5, "q2": 4, "q3": 2, "q4": 4}})

    # q3 is reverse-coded over 1..5: 2 scores 4.
    assert scores.at["r", "agree_mean"] == pytest.approx((5 + 4 + 4 + 4) / 4)
    assert scores.at["r", "agree_sum"] == 17
    # The same items without reverse-coding.
    assert scores.at["r", "agree_sum_all"] == 5 + 4 + 2 + 4


def test_not_applicable_and_blank_count_as_not_answered_below_the_minimum():
    # q1 "does not apply" (9), q4 blank: two answered, the scale needs three.
    scores = _scores({"r": {"q1": 9, "q2": 1, "q3": 5, "q4": None}})

    assert scores.at["r", "agree_mean_answered"] == 2
    assert math.isnan(scores.at["r", "agree_mean"])
    assert math.isnan(scores.at["r", "agree_sum"])


def test_missing_item_above_the_minimum_still_scores():
    # q4 was not stored at all; three items are enough.
    scores = _scores({"r": {"q1": 2, "q2": 3, "q3": 1}})

    assert scores.at["r", "agree_mean_answered"] == 3
    assert scores.at["r", "agree_mean"] == pytest.approx((2 + 3 + 5) / 3)


def test_sum_with_a_gap_is_prorated_and_a_sum_needing_every_item_has_none():
    scores = _scores({"r": {"q1": 2, "q2": 3, "q3": 1}})

    # Mean of the answered items (2, 3, 5) times the four items.
    assert scores.at["r", "agree_sum"] == pytest.approx(10 / 3 * 4)
    # agree_sum_all keeps the default min_answered: all four items.
    assert math.isnan(scores.at["r", "agree_sum_all"])


def test_sum_with_every_item_answered_is_the_plain_sum():
    scores = _scores({"r": {"q1": 1, "q2": 1, "q3": 1, "q4": 1}})

    assert scores.at["r", "agree_sum"] == 1 + 1 + 5 + 1
    assert scores.at["r", "agree_mean"] == 2
    assert scores.at["r", "agree_sum_all"] == 4


def test_bipolar_reverse_is_points_plus_one_minus_position():
    # b2 has 7 points: 7 reversed is 1, 1 reversed is 7.
    scores = _scores({"a": {"b1": 1, "b2": 7}, "b": {"b1": 5, "b2": 1}})

    assert scores.at["a", "pairs"] == 1
    assert scores.at["b", "pairs"] == (5 + 7) / 2


def test_bipolar_scale_says_which_end_is_positive():
    info = {scale.id: scale for scale in scale_info(QUESTIONNAIRE)}

    # b1 has its positive statement on the left; b2 on the right but reverse-coded.
    assert info["pairs"].positive_end == "low"
    assert "lower is more positive" in info["pairs"].describe()
    assert info["agree_mean"].positive_end is None
    assert (info["agree_sum"].low, info["agree_sum"].high) == (4, 20)


def test_matrix_rows_score_and_not_applicable_is_skipped():
    scores = _scores({"a": {"r1": 9, "r2": 4}, "b": {"r1": 9, "r2": None}})

    assert scores.at["a", "grid_score"] == 4
    assert math.isnan(scores.at["b", "grid_score"])


def test_answers_that_are_not_points_do_not_score():
    scores = _scores({"r": {"q1": 7, "q2": "x", "q3": [1], "q4": 3}})

    assert scores.at["r", "agree_mean_answered"] == 1


TEXT_CODES = """
format_version: 1
key: text_codes
title: Text codes
estimated_minutes: 1
source: Written for the tests
pages:
  - id: only
    title: Only
    items:
      - id: level
        type: likert
        text: Level
        options:
          - {code: low, label: Low}
          - {code: mid, label: Middle}
          - {code: high, label: High}
      - id: other_level
        type: likert
        text: Other level
        options:
          - {code: low, label: Low}
          - {code: mid, label: Middle}
          - {code: high, label: High}
      - {id: hours, type: number, text: Hours, integer: false}
      - {id: days, type: number, text: Days}
scales:
  - {id: levels, label: Levels, items: [level, other_level], reverse: [other_level]}
  - {id: time, label: Time, items: [hours, days], method: sum, min_answered: 1}
"""


def test_text_codes_score_their_position_and_reverse_over_it():
    questionnaire = questionnaire_from(TEXT_CODES, "text_codes")
    answers = long_answers({"r": {"level": "high", "other_level": "high"}})

    scores = scale_scores(answers, questionnaire)

    # high is point 3 of 3; reversed it is 1.
    assert scores.at["r", "levels"] == (3 + 1) / 2


def test_number_items_score_the_number():
    questionnaire = questionnaire_from(TEXT_CODES, "text_codes")
    answers = long_answers({"a": {"hours": 2.5, "days": 3}, "b": {"hours": None, "days": 4}})

    scores = scale_scores(answers, questionnaire)

    assert scores.at["a", "time"] == 5.5
    # One of two answered: prorated to the two items.
    assert scores.at["b", "time"] == 8


def test_scores_are_computed_for_stored_answers(session):
    programme = make_programme(session)
    people = cohort(session, {"North": 2, "South": 1}, programme)
    version = store_questionnaire(session)
    wave = wave_of(session, programme, version)
    given = {
        people[0].id: {"q1": 5, "q2": 4, "q3": 2, "q4": 4, "gains": [1, 3], "comment": "Fine"},
        people[1].id: {"q1": 9, "q2": 1, "q3": 5, "q4": None},
        people[2].id: {"q1": 2, "q2": 3, "q3": 1, "months": 14},
    }
    submit_all(session, wave, lambda person: given[person.id])

    answers = load_answers(session, wave)
    table = scores_table(answers, questionnaire_from()).set_index("id_number")

    assert list(answers.columns) == [
        "response_id",
        "id_number",
        "team",
        "organisation",
        "region",
        "role",
        "answer_id",
        "value",
    ]
    assert sorted(answers.loc[answers["answer_id"] == "gains", "value"].tolist()) == [
        [],
        [],
        [1, 3],
    ]
    assert table.at[people[0].id_number, "agree_mean"] == pytest.approx(4.25)
    assert math.isnan(table.at[people[1].id_number, "agree_mean"])
    assert table.at[people[2].id_number, "agree_mean"] == pytest.approx(10 / 3)
    assert table.at[people[2].id_number, "team"] == "South"


def test_anonymous_wave_answers_carry_no_id_number(session):
    programme = make_programme(session)
    # Five: an anonymous wave's answers are read in steps of the threshold (5).
    cohort(session, {"North": 5}, programme)
    wave = wave_of(session, programme, store_questionnaire(session), privacy="anonymous")
    submit_all(session, wave, lambda person: {"q1": 3})

    answers = load_answers(session, wave)

    assert answers["id_number"].isna().all()
    assert answers["response_id"].nunique() == 5
    assert set(answers["team"]) == {"North"}
