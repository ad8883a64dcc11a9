"""Change over time for the same people, checked against scipy."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from surveyapp.scoring import ALL_RESPONDENTS, CannotPair, compare_scores, paired_change
from tests.factories import make_programme
from tests.scoring.builders import (
    SCORING_YAML,
    cohort,
    questionnaire_from,
    store_questionnaire,
    submit_all,
    wave_of,
)

QUESTIONNAIRE = questionnaire_from()


def _table(scores: dict, roles: dict | None = None) -> pd.DataFrame:
    roles = roles or {}
    return pd.DataFrame(
        {
            "id_number": list(scores),
            "team": "North",
            "organisation": "Kent",
            "region": "South East",
            "role": [roles.get(person, "Peer") for person in scores],
            "grid_score": list(scores.values()),
        }
    )


def _grid(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["scale"] == "grid_score"].set_index("group")


BEFORE = {"P1": 2.0, "P2": 3.0, "P3": 2.5, "P4": 1.0, "P5": 4.0, "P6": 3.5, "P7": 2.0}
AFTER = {"P1": 3.0, "P2": 3.5, "P3": 4.0, "P4": 2.0, "P5": 4.0, "P6": 4.5}


def test_mean_change_interval_and_paired_test_match_scipy():
    table = compare_scores(_table(BEFORE), _table(AFTER), QUESTIONNAIRE, QUESTIONNAIRE)
    row = _grid(table).loc[ALL_RESPONDENTS]

    first = np.array([BEFORE[p] for p in AFTER])
    second = np.array(list(AFTER.values()))
    test = stats.ttest_rel(second, first)
    difference = second - first
    interval = stats.t.interval(
        0.95, len(difference) - 1, loc=difference.mean(), scale=stats.sem(difference)
    )
    assert row["n_paired"] == 6
    assert row["mean_change"] == pytest.approx(difference.mean())
    assert row["sd_change"] == pytest.approx(difference.std(ddof=1))
    assert row["t"] == pytest.approx(test.statistic)
    assert row["df"] == 5
    assert row["p"] == pytest.approx(test.pvalue)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(interval)
    assert row["mean_first"] == pytest.approx(first.mean())


def test_people_without_a_second_score_count_as_dropped_out():
    after = AFTER | {"P2": math.nan, "P9": 3.0}

    row = _grid(compare_scores(_table(BEFORE), _table(after), QUESTIONNAIRE, QUESTIONNAIRE))
    row = row.loc[ALL_RESPONDENTS]

    assert (row["n_first"], row["n_second"], row["n_paired"], row["n_dropped"]) == (7, 6, 5, 2)


def test_everyone_changing_by_the_same_amount_has_no_test_but_an_exact_interval():
    before = {f"P{n}": 2.0 for n in range(6)}
    after = {f"P{n}": 3.0 for n in range(6)}

    row = _grid(compare_scores(_table(before), _table(after), QUESTIONNAIRE, QUESTIONNAIRE))
    row = row.loc[ALL_RESPONDENTS]

    assert row["mean_change"] == 1 and row["ci_low"] == 1 and row["ci_high"] == 1
    assert math.isnan(row["t"]) and math.isnan(row["p"])


def test_breakdown_by_role_hides_groups_with_too_few_pairs():
    before = {f"P{n}": float(n % 3 + 1) for n in range(12)}
    after = {f"P{n}": float(n % 3 + 2) for n in range(12)}
    roles = {f"P{n}": "Peer supporter" for n in range(3)}

    table = compare_scores(
        _table(before, roles), _table(after), QUESTIONNAIRE, QUESTIONNAIRE, by="role"
    )
    grid = _grid(table)

    assert grid.at["Peer supporter", "hidden"]
    assert grid.at["Peer supporter", "n_paired"] is None
    # Only one other group: it would give the small one away by subtraction.
    assert grid.at["Peer", "hidden"]
    assert grid.at[ALL_RESPONDENTS, "n_paired"] == 12


def test_waves_of_the_same_people_are_paired_by_id_number(session):
    programme = make_programme(session)
    people = cohort(session, {"North": 6}, programme)
    version = store_questionnaire(session)
    baseline = wave_of(session, programme, version, label="Baseline")
    midterm = wave_of(session, programme, version, label="Midterm")
    before = dict(zip([p.id for p in people], [1, 2, 2, 3, 4, 2], strict=True))
    after = dict(zip([p.id for p in people], [3, 2, 4, 4, 5, None], strict=True))
    submit_all(session, baseline, lambda person: {"r1": before[person.id]})
    submit_all(session, midterm, lambda person: {"r1": after[person.id]})

    table = paired_change(session, baseline, midterm, for_evaluator=False)
    row = _grid(table).loc[ALL_RESPONDENTS]

    assert (row["n_paired"], row["n_dropped"]) == (5, 1)
    assert row["mean_change"] == pytest.approx((2 + 0 + 2 + 1 + 1) / 5)
    assert row["p"] == pytest.approx(stats.ttest_rel([3, 2, 4, 4, 5], [1, 2, 2, 3, 4]).pvalue)


def test_anonymous_wave_cannot_be_paired(session):
    programme = make_programme(session)
    cohort(session, {"North": 2}, programme)
    version = store_questionnaire(session)
    baseline = wave_of(session, programme, version)
    culture = wave_of(session, programme, version, privacy="anonymous")

    with pytest.raises(CannotPair, match="anonymous"):
        paired_change(session, baseline, culture)


def test_by_team_a_team_pooled_in_the_second_wave_is_hidden_though_whole_in_the_first():
    from surveyapp.scoring.disclosure import FIELDS, IDENTIFYING, Release

    people = [f"P{n}" for n in range(18)]
    teams = {person: ("North", "South", "East")[n // 6] for n, person in enumerate(people)}
    before = {person: float(n % 4 + 1) for n, person in enumerate(people)}
    after = {person: float(n % 4 + 2) for n, person in enumerate(people)}
    first, second = _table(before), _table(after)
    first["team"] = second["team"] = [teams[person] for person in people]

    def release(table, pooled_team=None):
        real = table.set_index("id_number")[list(FIELDS)]
        pooled = pd.DataFrame(False, index=real.index, columns=[*FIELDS, IDENTIFYING])
        pooled["team"] = (real["team"] == pooled_team).to_numpy()
        return Release(5, real, pooled)

    whole = compare_scores(
        first,
        second,
        QUESTIONNAIRE,
        QUESTIONNAIRE,
        by="team",
        release=release(first),
        second_release=release(second),
    )
    south_pooled_later = compare_scores(
        first,
        second,
        QUESTIONNAIRE,
        QUESTIONNAIRE,
        by="team",
        release=release(first),
        second_release=release(second, pooled_team="South"),
    )

    assert not _grid(whole)["hidden"].any()
    assert _grid(whole).at["South", "n_paired"] == 6
    hidden = _grid(south_pooled_later)
    assert hidden.at["South", "hidden"] and hidden.at["South", "n_paired"] is None
    assert not hidden.at["North", "hidden"] and not hidden.at[ALL_RESPONDENTS, "hidden"]


def test_a_scale_the_new_version_scores_otherwise_is_not_paired(session):
    programme = make_programme(session)
    people = cohort(session, {"North": 6}, programme)
    first = store_questionnaire(session)
    changed = SCORING_YAML.replace(
        "items: [q1, q2, q3, q4], reverse: [q3],\n     method: mean",
        "items: [q1, q2, q3, q4],\n     method: mean",
    )
    second = store_questionnaire(session, changed, number=2)
    baseline = wave_of(session, programme, first, label="Baseline")
    midterm = wave_of(session, programme, second, label="Midterm")
    answers = {"q1": 2, "q2": 2, "q3": 4, "q4": 2, "r1": 3}
    submit_all(session, baseline, lambda person: answers)
    submit_all(session, midterm, lambda person: answers | {"r1": 4})

    table = paired_change(session, baseline, midterm, for_evaluator=False).set_index("scale")

    moved = table.loc["agree_mean"]
    assert moved["hidden"] and moved["mean_change"] is None
    assert moved["note"].startswith("Not comparable between these waves")
    assert "reverse coding" in moved["note"]
    assert not table.loc["grid_score", "hidden"]
    assert table.loc["grid_score", "mean_change"] == pytest.approx(1.0)
    assert table.loc["agree_sum", "mean_change"] == pytest.approx(0.0)
    assert len(people) == table.loc["grid_score", "n_paired"]
