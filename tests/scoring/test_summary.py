"""Summaries per group, the reporting threshold and complementary suppression."""

import numpy as np
import pandas as pd
import pytest

from surveyapp.scoring import (
    ALL_RESPONDENTS,
    free_text,
    hidden_groups,
    item_distribution,
    scores_table,
    summarise_scales,
)
from tests.scoring.builders import long_answers, questionnaire_from

QUESTIONNAIRE = questionnaire_from()


def _team_answers(values_by_team: dict[str, list], answer_id: str = "q2", extra=None):
    responses, groups = {}, {}
    for team, values in values_by_team.items():
        for number, value in enumerate(values):
            response_id = f"{team}-{number}"
            responses[response_id] = {answer_id: value, **(extra or {})}
            groups[response_id] = {"team": team}
    return long_answers(responses, groups)


def test_small_group_is_hidden_and_the_next_smallest_too():
    counts = pd.Series({"North": 10, "East": 4, "South": 6, "West": 12})

    reasons = hidden_groups(counts, 5)

    assert reasons.to_dict() == {
        "North": "",
        "East": "too_few",
        "South": "complementary",
        "West": "",
    }


def test_complementary_suppression_stops_once_the_hidden_groups_are_large_enough():
    # Two small groups hold 4 between them: still small, so the smallest visible one goes.
    counts = pd.Series({"A": 2, "B": 2, "C": 8, "D": 9})

    reasons = hidden_groups(counts, 5)

    assert list(reasons[reasons != ""].index) == ["A", "B", "C"]


def test_no_complementary_suppression_when_the_hidden_groups_reach_the_threshold():
    counts = pd.Series({"A": 3, "B": 4, "C": 8})

    reasons = hidden_groups(counts, 5)

    assert reasons.to_dict() == {"A": "too_few", "B": "too_few", "C": ""}


def test_without_a_total_there_is_nothing_to_subtract_from():
    counts = pd.Series({"A": 4, "B": 6})

    assert hidden_groups(counts, 5, total_shown=False).to_dict() == {"A": "too_few", "B": ""}


@pytest.mark.parametrize("threshold", [0, 2, 2.5])
def test_threshold_below_three_is_refused(threshold):
    with pytest.raises(ValueError, match="threshold"):
        hidden_groups(pd.Series({"A": 4}), threshold)


def test_scale_summary_matches_numpy_and_hides_small_teams():
    north = [5, 4, 4, 3, 5, 2, 4, 4]
    south = [1, 2, 2, 3, 1, 2]
    east = [5, 5, 5, 5]
    answers = _team_answers({"North": north, "South": south, "East": east}, "r1")
    scores = scores_table(answers, QUESTIONNAIRE)

    table = summarise_scales(scores, QUESTIONNAIRE, by="team", threshold=5)
    grid = table[table["scale"] == "grid_score"].set_index("group")

    everyone = np.array(north + south + east, dtype=float)
    assert grid.at[ALL_RESPONDENTS, "n"] == 18
    assert grid.at[ALL_RESPONDENTS, "mean"] == pytest.approx(everyone.mean())
    assert grid.at[ALL_RESPONDENTS, "sd"] == pytest.approx(everyone.std(ddof=1))
    assert grid.at[ALL_RESPONDENTS, "median"] == np.median(everyone)
    assert grid.at[ALL_RESPONDENTS, "distribution"] == {1: 2, 2: 4, 3: 2, 4: 4, 5: 6}
    assert grid.at["North", "mean"] == pytest.approx(np.mean(north))
    # East has 4: hidden. South (6) is the next smallest: hidden too, or East = total - North - South.
    assert grid.at["East", "hidden"] and grid.at["South", "hidden"]
    assert grid.at["East", "note"] == "hidden: fewer than 5 responses"
    assert "worked out" in grid.at["South", "note"]
    for column in ("n", "mean", "sd", "median", "distribution"):
        assert grid.at["East", column] is None and grid.at["South", column] is None
    assert list(grid.index) == [ALL_RESPONDENTS, "East", "North", "South"]


def test_scale_summary_for_the_programme_team_shows_every_group():
    answers = _team_answers({"North": [5] * 6, "East": [1] * 2}, "r1")
    scores = scores_table(answers, QUESTIONNAIRE)

    table = summarise_scales(scores, QUESTIONNAIRE, by="team", for_evaluator=False)
    grid = table[table["scale"] == "grid_score"].set_index("group")

    assert grid.at["East", "n"] == 2 and not grid.at["East", "hidden"]


def test_total_under_the_threshold_hides_everything():
    answers = _team_answers({"North": [5, 4], "South": [3]}, "r1")
    scores = scores_table(answers, QUESTIONNAIRE)

    table = summarise_scales(scores, QUESTIONNAIRE, by="team")

    assert table["hidden"].all()


def test_group_counts_respondents_with_a_score_not_everyone_in_the_team():
    # Six people in North but only four have a score: too few to show their mean.
    answers = _team_answers({"North": [5, 4, 4, 3, None, None], "South": [1] * 6}, "r1")
    scores = scores_table(answers, QUESTIONNAIRE)

    grid = summarise_scales(scores, QUESTIONNAIRE, by="team")
    grid = grid[grid["scale"] == "grid_score"].set_index("group")

    assert grid.at["North", "hidden"]


def test_item_distribution_counts_every_option_and_not_applicable():
    answers = _team_answers({"North": [1, 2, 2, 9, None, 5], "South": [3, 3, 3, 3, 1]}, "q1")

    table = item_distribution(answers, QUESTIONNAIRE, "q1", by="team")
    total = table[table["group"] == ALL_RESPONDENTS].set_index("label")

    assert total.at["Disagree", "count"] == 2
    assert total.at["Agree", "count"] == 0
    assert total.at["Does not apply", "count"] == 1
    assert total.at["Not answered", "count"] == 1
    assert total.at["Neither agree nor disagree", "percent"] == pytest.approx(400 / 11)
    assert set(table.loc[table["group"] == "North", "n"]) == {6}


def test_item_distribution_hides_a_small_group_in_one_row():
    answers = _team_answers({"North": [1] * 8, "South": [2] * 6, "East": [3] * 3}, "q2")

    table = item_distribution(answers, QUESTIONNAIRE, "q2", by="team")

    east = table[table["group"] == "East"]
    assert len(east) == 1 and east["hidden"].all() and east["count"].isna().all()
    assert table[table["group"] == "South"]["hidden"].all()


def test_multiple_choice_distribution_counts_each_choice():
    answers = _team_answers({"North": [[1, 2], [2], ["other"], [], [2, 3]]}, "gains")

    table = item_distribution(answers, QUESTIONNAIRE, "gains").set_index("label")

    assert table.at["Ideas", "count"] == 3
    assert table.at["Something else", "count"] == 1
    assert table.at["Not answered", "count"] == 1
    assert table.at["Ideas", "percent"] == 60


def test_free_text_needs_ten_respondents_in_the_group():
    north = [f"Text {n}" for n in range(9, -1, -1)]
    west = ["w"] * 12
    south = ["=1+1", "b", "c", "d", None, None, None, None, None]
    answers = _team_answers({"North": north, "West": west, "South": south}, "comment")

    table = free_text(answers, QUESTIONNAIRE, "comment", by="team").set_index("group")

    # West (12) is shown, texts sorted; South (9) is hidden, and North (10) with it.
    assert table.at["West", "texts"] == west
    assert table.at["South", "hidden"] and table.at["South", "texts"] is None
    assert table.at["North", "hidden"]
    assert table.at["South", "note"] == "hidden: fewer than 10 responses"
    assert table.at[ALL_RESPONDENTS, "respondents"] == 31
    # South's comments are not among everyone's either: its team is under 10.
    assert table.at[ALL_RESPONDENTS, "texts"][0] == "Text 0"
    assert len(table.at[ALL_RESPONDENTS, "texts"]) == 22
    assert "=1+1" not in table.at[ALL_RESPONDENTS, "texts"]


def test_free_text_of_one_big_enough_team_is_sorted():
    north = [f"Text {n}" for n in range(9, -1, -1)]
    answers = _team_answers({"North": north}, "comment")

    table = free_text(answers, QUESTIONNAIRE, "comment", by="team").set_index("group")

    assert table.at["North", "texts"] == sorted(north)


def test_free_text_of_a_small_group_cannot_be_found_by_subtraction():
    answers = _team_answers(
        {"North": ["n"] * 12, "South": ["s"] * 11, "East": ["secret"] * 3}, "comment"
    )

    table = free_text(answers, QUESTIONNAIRE, "comment", by="team").set_index("group")

    # East (3) is hidden; the next smallest (South, 11) goes too.
    assert table.at["East", "hidden"] and table.at["South", "hidden"]
    assert not table.at["North", "hidden"]


def test_unknown_breakdown_is_refused():
    scores = scores_table(_team_answers({"North": [1] * 5}, "r1"), QUESTIONNAIRE)

    with pytest.raises(ValueError, match="broken down"):
        summarise_scales(scores, QUESTIONNAIRE, by="email")


def test_wave_without_responses_has_an_empty_hidden_total():
    answers = long_answers({})
    scores = scores_table(answers, QUESTIONNAIRE)

    table = summarise_scales(scores, QUESTIONNAIRE, by="team", for_evaluator=False)

    assert table["group"].unique().tolist() == [ALL_RESPONDENTS]
    assert table["n"].tolist() == [0] * 5
    assert table.at[0, "distribution"] == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
