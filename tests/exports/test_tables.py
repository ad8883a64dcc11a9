"""Export layouts: wide, long and programme-wide tables, names, and small groups."""

import random

import pandas as pd
import pytest

from surveyapp import PROJECT_ROOT
from surveyapp.demo import sample_answers
from surveyapp.exports import (
    POOLED,
    TEXT_HIDDEN,
    is_valid_name,
    long_table,
    programme_tables,
    wave_tables,
    wave_variables,
    wide_table,
)
from surveyapp.exports.codebook import Names
from surveyapp.questionnaires.catalogue import questionnaire_of
from tests.conftest import NOW
from tests.factories import make_programme, stored_version
from tests.scoring.builders import (
    SCORING_YAML,
    cohort,
    questionnaire_from,
    store_questionnaire,
    submit_all,
    wave_of,
)

QUESTIONNAIRE = questionnaire_from()


def _shipped(key: str):
    path = PROJECT_ROOT / "questionnaires" / f"{key}.yaml"
    return questionnaire_from(path.read_text(encoding="utf-8"), key)


def _names(questionnaire, anonymous=False) -> list[str]:
    return [v.name for v in wave_variables(questionnaire, anonymous=anonymous)]


# -- names -------------------------------------------------------------------------------


def test_wide_columns_follow_the_questionnaire_with_choices_split():
    names = _names(QUESTIONNAIRE)

    assert names == [
        "id_number",
        "team",
        "organisation",
        "region",
        "role",
        "q1",
        "q2",
        "q3",
        "q4",
        "b1",
        "b2",
        "r1",
        "r2",
        "months",
        "gains_1",
        "gains_2",
        "gains_3",
        "gains_other_chosen",
        "gains_other",
        "kind",
        "kind_other",
        "comment",
        "agree_mean",
        "agree_sum",
        "agree_sum_all",
        "pairs",
        "grid_score",
    ]


@pytest.mark.parametrize(
    "key",
    [
        "peer_support_baseline",
        "peer_support_midterm",
        "peer_support_endpoint",
        "leadership_culture",
        "als_member_evaluation",
        "mentor_evaluation",
        "session_evaluation",
    ],
)
def test_names_of_every_shipped_questionnaire_are_valid_unique_and_stable(key):
    names = _names(_shipped(key))

    assert all(is_valid_name(name) for name in names), [n for n in names if not is_valid_name(n)]
    assert len({name.lower() for name in names}) == len(names)
    assert _names(_shipped(key)) == names


def test_the_same_item_has_the_same_name_in_every_wave():
    baseline = set(_names(_shipped("peer_support_baseline")))
    midterm = set(_names(_shipped("peer_support_midterm")))

    assert {"d_lead_change", "d_share_learning", "part_d_confidence"} <= baseline & midterm


def test_an_item_named_like_a_cohort_field_keeps_its_id_with_a_suffix():
    names = _names(_shipped("leadership_culture"), anonymous=True)

    assert names[:5] == ["respondent", "team", "organisation", "region", "role"]
    assert "team_answer" in names and "role_answer" in names and "role_answer_other" not in names
    assert "role_other" in names


def test_reserved_long_and_clashing_names_are_made_valid_and_unique():
    names = Names()
    long = "a" * 80

    claimed = [
        names.claim("to"),
        names.claim("With", "answer"),
        names.claim(long),
        names.claim(long),
    ]
    claimed += [names.claim("TEAM"), names.claim("team", "answer"), names.claim("9lives")]

    assert claimed[0] == "to_2"
    assert claimed[1] == "With_answer"
    assert claimed[2] == "a" * 64 and claimed[3] == "a" * 62 + "_2"
    assert claimed[4:] == ["TEAM", "team_answer", "v9lives"]
    assert all(is_valid_name(name) for name in claimed)


# -- one wave ----------------------------------------------------------------------------


def _scoring_wave(session, teams, privacy="identified", **fields):
    programme = make_programme(session, name="Pilot")
    people = cohort(session, teams, programme, **fields)
    wave = wave_of(session, programme, store_questionnaire(session), privacy=privacy)
    return programme, people, wave


def test_wide_table_of_an_identified_wave(session):
    _programme, people, wave = _scoring_wave(session, {"North": 2})
    answers = {
        people[0].id: {
            "q1": 5,
            "q2": 4,
            "q3": 2,
            "q4": 4,
            "gains": [1, "other"],
            "gains_other": "Peers",
            "kind": "other",
            "kind_other": "Trust",
            "comment": "Fine",
            "months": 14,
            "r1": 9,
            "r2": 4,
        },
        people[1].id: {"q1": 1, "gains": [], "kind": 2},
    }
    submit_all(session, wave, lambda person: answers[person.id])

    data = wide_table(session, wave, for_evaluator=False).set_index("id_number")
    first = data.loc[people[0].id_number]
    second = data.loc[people[1].id_number]

    assert list(data.index) == sorted(p.id_number for p in people)
    assert (first["gains_1"], first["gains_2"], first["gains_other_chosen"]) == (1, 0, 1)
    assert first["gains_other"] == "Peers"
    # The word code "other" of a numeric item is exported as 96.
    assert first["kind"] == 96 and first["kind_other"] == "Trust"
    assert first["r1"] == 9 and first["months"] == 14
    assert first["agree_mean"] == pytest.approx(4.25)
    assert (second["gains_1"], second["gains_3"]) == (0, 0)
    assert pd.isna(second["q2"]) and pd.isna(second["agree_mean"])
    assert str(data["q1"].dtype) == "Int64"


def test_items_not_asked_are_empty_not_zero(session):
    programme = make_programme(session)
    people = cohort(session, {"North": 2}, programme)
    wave = wave_of(session, programme, key="peer_support_baseline")
    questionnaire = questionnaire_of(wave.questionnaire_version)
    rng = random.Random(3)
    roles = {people[0].id: 1, people[1].id: 2}

    def answers_of(person):
        # Sample answers for the chosen role, so the pages shown follow from it.
        while True:
            answers = sample_answers(questionnaire, rng)
            if answers["role"] == roles[person.id]:
                return answers

    submit_all(session, wave, answers_of)

    data = wide_table(session, wave, for_evaluator=False).set_index("role_answer")

    # Peer supporters' page is shown only to role 2.
    assert pd.isna(data.at[1, "ps_confident_facilitating"])
    assert not pd.isna(data.at[2, "ps_confident_facilitating"])


def test_anonymous_wave_has_no_id_and_rows_in_random_order(session):
    # Fifteen: an anonymous wave is released in steps of the threshold (5).
    _programme, people, wave = _scoring_wave(session, {"North": 15}, privacy="anonymous")
    order = {person.id: number for number, person in enumerate(people, start=1)}
    # Submitted in this order; months records the order of submission.
    submit_all(session, wave, lambda person: {"months": order[person.id]})

    first = wide_table(session, wave, for_evaluator=False)
    second = wide_table(session, wave, for_evaluator=False)

    assert "id_number" not in first.columns
    assert first["respondent"].tolist() == list(range(1, 16))
    months = first["months"].tolist()
    assert sorted(months) == list(range(1, 16))
    assert months != sorted(months) and months != sorted(months, reverse=True)
    # The order is random but the same in every export of the wave.
    assert second["months"].tolist() == months


def test_long_table_has_one_row_per_answer_with_labels(session):
    _programme, people, wave = _scoring_wave(session, {"North": 1})
    submit_all(session, wave, lambda person: {"q1": 9, "gains": [2], "comment": "Hello"})

    long = long_table(session, wave, for_evaluator=False)
    rows = long.set_index("variable")

    assert rows.at["q1", "value_number"] == 9
    assert rows.at["q1", "value_label"] == "Does not apply"
    assert rows.at["gains_2", "value_label"] == "Chosen"
    assert rows.at["gains_1", "value_number"] == 0
    assert rows.at["comment", "value_text"] == "Hello"
    assert rows.at["comment", "answer_id"] == "comment"
    # Only answers that hold a value: q2 was left blank.
    assert "q2" not in rows.index
    assert set(long["id_number"]) == {people[0].id_number}


def test_programme_table_puts_identified_waves_side_by_side(session):
    programme = make_programme(session)
    people = cohort(session, {"North": 3}, programme)
    version = store_questionnaire(session)
    baseline = wave_of(session, programme, version, label="Baseline", opens_at=NOW.replace(day=1))
    midterm = wave_of(session, programme, version, label="Midterm", opens_at=NOW.replace(day=2))
    anonymous = wave_of(session, programme, version, label="Culture", privacy="anonymous")
    submit_all(session, baseline, lambda person: {"q1": 2})
    submit_all(session, midterm, lambda person: {"q1": 4} if person is not people[2] else None)
    submit_all(session, anonymous, lambda person: {"q1": 5})

    tables = programme_tables(session, programme, for_evaluator=False)
    data = tables.data.set_index("id_number")

    assert tables.data.columns[0] == "id_number"
    assert {"w1_q1", "w2_q1", "w1_team", "w2_agree_mean"} <= set(data.columns)
    assert not any(column.startswith("w3_") for column in data.columns)
    assert data["w1_q1"].tolist() == [2, 2, 2]
    assert pd.isna(data.at[people[2].id_number, "w2_q1"])
    labels = tables.codebook.set_index("variable")["label"]
    assert labels["w2_q1"] == "Midterm: Item one"
    assert tables.codebook.set_index("variable").at["w1_q1", "wave"] == "Baseline"


def test_programme_table_marks_what_a_later_version_measures_otherwise(session):
    programme = make_programme(session)
    cohort(session, {"North": 3}, programme)
    first = store_questionnaire(session)
    changed = SCORING_YAML.replace(
        "      - {id: q2, type: likert, text: Item two, options: agree5, required: false}\n",
        "      - {id: q2, type: short_text, text: Item two, required: false}\n",
    ).replace("items: [q1, q2, q3, q4]", "items: [q1, q3, q4]")
    second = store_questionnaire(session, changed, number=2)
    baseline = wave_of(session, programme, first, label="Baseline", opens_at=NOW.replace(day=1))
    midterm = wave_of(session, programme, second, label="Midterm", opens_at=NOW.replace(day=2))
    submit_all(session, baseline, lambda person: {"q1": 2, "q2": 3})
    submit_all(session, midterm, lambda person: {"q1": 4, "q2": "more"})

    codebook = programme_tables(session, programme, for_evaluator=False).codebook
    book = codebook.set_index("variable")

    assert book.at["w2_q2", "label"] == "Midterm: Item two (not comparable with earlier waves)"
    assert book.at["w2_q2", "notes"].startswith(
        'Not comparable with Baseline (version 1): "q2" changes type from likert to short_text.'
    )
    assert "not comparable" in book.at["w2_agree_mean", "label"]
    assert book.at["w1_q2", "notes"] == "" and book.at["w2_q1", "notes"] == ""
    assert "not comparable" not in book.at["w2_grid_score", "label"]


# -- small groups ------------------------------------------------------------------------


def test_evaluator_export_pools_a_team_of_four_with_the_next_smallest(session):
    _programme, people, wave = _scoring_wave(session, {"North": 8, "South": 6, "East": 4})
    teams = {person.id: person.team for person in people}
    submit_all(
        session, wave, lambda person: {"q1": {"North": 1, "South": 3, "East": 5}[teams[person.id]]}
    )

    admin = wide_table(session, wave, for_evaluator=False)
    evaluator = wide_table(session, wave, for_evaluator=True)

    assert admin["team"].value_counts().to_dict() == {"North": 8, "South": 6, "East": 4}
    assert evaluator["team"].value_counts().to_dict() == {"North": 8, POOLED: 10}
    # Answers are unchanged; only the label of the small groups is.
    assert evaluator["q1"].tolist() == admin["q1"].tolist()
    assert (evaluator.loc[evaluator["team"] == POOLED, "q1"] != 5).any()


def test_evaluator_export_pools_rare_combinations_of_team_and_role(session):
    programme = make_programme(session)
    people = cohort(session, {"North": 9}, programme) + cohort(
        session, {"North": 1}, programme, role="Peer supporter"
    )
    wave = wave_of(session, programme, store_questionnaire(session))
    submit_all(session, wave, lambda person: {"q1": 3})

    data = wide_table(session, wave, for_evaluator=True)

    assert "Peer supporter" not in set(data["role"])
    counts = data.groupby(["team", "organisation", "region", "role"]).size()
    assert counts.min() >= 5
    assert len(people) == len(data)


def test_evaluator_export_hides_free_text_of_teams_under_ten(session):
    _programme, people, wave = _scoring_wave(session, {"North": 10, "South": 7})
    submit_all(session, wave, lambda person: {"comment": f"I am in {person.team}"})

    data = wide_table(session, wave, for_evaluator=True)

    north = data.loc[data["team"] == "North", "comment"]
    south = data.loc[data["team"] == "South", "comment"]
    assert north.str.startswith("I am in").all()
    assert (south == TEXT_HIDDEN).all()


def test_evaluator_codebook_says_small_groups_are_pooled(session):
    _programme, _people, wave = _scoring_wave(session, {"North": 5})
    submit_all(session, wave, lambda person: {"q1": 3})

    book = wave_tables(session, wave, for_evaluator=True).codebook.set_index("variable")

    assert POOLED in book.at["team", "label"]


def test_threshold_below_three_is_refused(session):
    _programme, _people, wave = _scoring_wave(session, {"North": 5})

    with pytest.raises(ValueError, match="below 3"):
        wide_table(session, wave, for_evaluator=True, threshold=2)


def test_shipped_questionnaire_exports_through_the_real_path(session):
    programme = make_programme(session)
    cohort(session, {"North": 5}, programme)
    stored_version(session, "peer_support_midterm")
    wave = wave_of(session, programme, key="peer_support_midterm")
    questionnaire = questionnaire_of(wave.questionnaire_version)
    rng = random.Random(7)
    submit_all(session, wave, lambda person: sample_answers(questionnaire, rng))

    tables = wave_tables(session, wave, for_evaluator=True)

    assert len(tables.data) == 5
    assert list(tables.codebook["variable"]) == list(tables.data.columns)
    assert tables.data["part_d_confidence"].notna().all()
