"""The culture profile: mean position, spread and lean per team and item."""

import random

import pytest

from surveyapp.demo import sample_answers
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.scoring import ALL_RESPONDENTS, culture_profile, leaning_items, load_answers
from tests.factories import make_programme
from tests.scoring.builders import cohort, long_answers, questionnaire_from, submit_all, wave_of

QUESTIONNAIRE = questionnaire_from()


def _answers(by_team: dict[str, list[tuple[int, int]]]):
    responses, groups = {}, {}
    for team, pairs in by_team.items():
        for number, (b1, b2) in enumerate(pairs):
            responses[f"{team}-{number}"] = {"b1": b1, "b2": b2}
            groups[f"{team}-{number}"] = {"team": team}
    return long_answers(responses, groups)


def test_lean_is_towards_the_positive_statement_whichever_side_it_is_on():
    # b1: 5 points, positive on the left. b2: 7 points, positive on the right.
    north = [(1, 2), (2, 1), (1, 2), (2, 3), (1, 2)]
    south = [(5, 7), (4, 7), (5, 7), (4, 6), (5, 7)]
    profile = culture_profile(_answers({"North": north, "South": south}), QUESTIONNAIRE)
    rows = profile.set_index(["group", "item"])

    # North b1: mean 1.4, middle 3, so (3 - 1.4) / 2 = 0.8 towards the positive left.
    assert rows.at[("North", "b1"), "mean"] == pytest.approx(1.4)
    assert rows.at[("North", "b1"), "lean"] == pytest.approx(0.8)
    assert rows.at[("North", "b1"), "sd"] == pytest.approx(0.5477225575)
    # North b2: mean 2 of 7, middle 4: two thirds of the way to the negative left.
    assert rows.at[("North", "b2"), "lean"] == pytest.approx(-2 / 3)
    # South b2: mean 6.8, leaning to the positive right.
    assert rows.at[("South", "b2"), "lean"] == pytest.approx((6.8 - 4) / 3)
    everyone = rows.at[(ALL_RESPONDENTS, "b1"), "lean"]
    assert rows.at[("North", "b1"), "lean_vs_all"] == pytest.approx(0.8 - everyone)
    assert rows.at[(ALL_RESPONDENTS, "b1"), "n"] == 10
    assert rows.at[("North", "b1"), "left"] == "Good on the left"


def test_leaning_items_lists_each_side_strongest_first():
    north = [(1, 2), (2, 1), (1, 2), (2, 3), (1, 2)]
    profile = culture_profile(_answers({"North": north}), QUESTIONNAIRE)

    sides = leaning_items(profile, "North")

    assert sides["positive"]["item"].tolist() == ["b1"]
    assert sides["negative"]["item"].tolist() == ["b2"]


def test_small_team_is_hidden_with_the_next_smallest():
    pairs = [(1, 7), (2, 6)] * 4
    answers = _answers({"North": pairs, "South": [(3, 4)] * 6, "East": [(5, 1)] * 4})

    profile = culture_profile(answers, QUESTIONNAIRE, threshold=5)

    assert profile.loc[profile["group"] == "East", "hidden"].all()
    assert profile.loc[profile["group"] == "South", "hidden"].all()
    assert profile.loc[profile["group"] == "East", "mean"].isna().all()
    assert not profile.loc[profile["group"] == "North", "hidden"].any()
    assert leaning_items(profile, "East")["positive"].empty


def test_shipped_culture_survey_profiles_all_32_items_by_team(session):
    programme = make_programme(session)
    # Twenty in all: an anonymous wave is released in steps of the threshold (5).
    cohort(session, {"North": 11, "South": 6, "East": 3}, programme)
    wave = wave_of(session, programme, key="leadership_culture", privacy="anonymous")
    questionnaire = questionnaire_of(wave.questionnaire_version)
    rng = random.Random(5)
    leans = {"North": 0.8, "South": -0.8, "East": 0.0}
    submit_all(session, wave, lambda person: sample_answers(questionnaire, rng, leans[person.team]))

    profile = culture_profile(load_answers(session, wave), questionnaire)

    north = profile[profile["group"] == "North"]
    assert len(north) == 32 and north["number"].tolist() == list(range(1, 33))
    assert north["lean"].astype(float).mean() > 0
    assert profile.loc[profile["group"] == "East", "hidden"].all()
    # South is the next smallest: hidden so East cannot be worked out from the total.
    assert profile.loc[profile["group"] == "South", "hidden"].all()
    assert profile.loc[profile["group"] == ALL_RESPONDENTS, "n"].tolist() == [20] * 32
