"""No small group can be worked out from all the tables an evaluator sees of a wave together.

The property test generates cohorts (regions, organisations, teams of 1 to 21,
roles, thresholds), builds every results table the pages show (the total and
the four breakdowns) and the released combinations of the suppressed export,
and then asks a solver (HiGHS, through scipy) whether any combination of the
published cells' sums, with any coefficients, equals the sum over a set of 1 to
threshold - 1 people. Knowing every group's size is assumed.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from surveyapp.scoring import ALL_RESPONDENTS, summarise_scales
from surveyapp.scoring.disclosure import (
    FIELDS,
    POOLED,
    decide,
    decide_one,
    people_frame,
    released_values,
)
from tests.scoring.builders import questionnaire_from

QUESTIONNAIRE = questionnaire_from()
SCALES = [scale.id for scale in QUESTIONNAIRE.scales]


def _cohort(structure, roles_of, threshold_seed=0) -> pd.DataFrame:
    """One row per respondent: team, organisation, region, role, and a score that varies."""
    rows = []
    rng = np.random.default_rng(threshold_seed)
    for region, organisations in structure.items():
        for organisation, teams in organisations.items():
            for team, size in teams.items():
                for number in range(size):
                    role = roles_of(team, number)
                    rows.append((f"{team}-{number}", team, organisation, region, role))
    people = pd.DataFrame(rows, columns=["response_id", *FIELDS]).set_index("response_id")
    people.insert(0, "id_number", None)
    for scale in SCALES:
        people[scale] = rng.uniform(1, 5, len(people))
    return people


def published_cells(scores: pd.DataFrame, threshold: int, release) -> list[set]:
    """Every set of people whose sum an evaluator can read: shown cells and export combinations."""
    cells = []
    for by in (None, *FIELDS):
        table = summarise_scales(scores, QUESTIONNAIRE, by=by, threshold=threshold, release=release)
        shown = table[(table["scale"] == SCALES[0]) & ~table["hidden"]]
        for group in shown["group"]:
            if group == ALL_RESPONDENTS:
                cells.append(set(scores.index))
            else:
                names = scores[by].replace("", "Not recorded")
                cells.append(set(scores.index[names == group]))
    if len(scores) < threshold:
        return [cell for cell in cells if cell]  # such a wave is not exported for the evaluator
    released = released_values(people_frame(scores), release.pooled)
    released["identifying"] = released["identifying"].map(repr)
    for _combination, rows in released.groupby(list(released.columns)).groups.items():
        cells.append(set(rows))
    return [cell for cell in cells if cell]


def smallest_recoverable(cells: list[set], people: pd.Index, threshold: int) -> set | None:
    """A set of 1 to threshold - 1 people whose sum some combination of the cells gives, or None."""
    if not cells:
        return None
    # People in exactly the same cells can never be told apart: work with these atoms.
    signature = {person: tuple(person in cell for cell in cells) for person in people}
    atoms: dict[tuple, list] = {}
    for person, key in signature.items():
        atoms.setdefault(key, []).append(person)
    keys = list(atoms)
    sizes = np.array([len(atoms[key]) for key in keys], dtype=float)
    membership = np.array([[1.0 if key[c] else 0.0 for key in keys] for c in range(len(cells))])
    n_atoms, n_cells = len(keys), len(cells)
    # Variables: u (one 0/1 per atom: in the recovered set), then lambda (one per cell, free).
    # Constraint: sum over cells of lambda * membership = u, atom by atom.
    equal = LinearConstraint(
        np.hstack([-np.eye(n_atoms), membership.T]), np.zeros(n_atoms), np.zeros(n_atoms)
    )
    small = LinearConstraint(np.hstack([sizes, np.zeros(n_cells)])[None, :], 1, threshold - 1)
    integrality = np.concatenate([np.ones(n_atoms), np.zeros(n_cells)])
    lower = np.concatenate([np.zeros(n_atoms), np.full(n_cells, -np.inf)])
    upper = np.concatenate([np.ones(n_atoms), np.full(n_cells, np.inf)])
    result = milp(
        np.zeros(n_atoms + n_cells),
        constraints=[equal, small],
        integrality=integrality,
        bounds=Bounds(lower, upper),
    )
    if result.status != 0:
        assert result.status == 2, result.message  # 2: infeasible, nothing recovered
        return None
    chosen = [keys[j] for j in range(n_atoms) if result.x[j] > 0.5]
    return {person for key in chosen for person in atoms[key]}


@st.composite
def cohorts(draw):
    regions = draw(st.integers(1, 3))
    structure = {}
    team_number = 0
    for r in range(regions):
        organisations = {}
        for o in range(draw(st.integers(1, 2))):
            teams = {}
            for _t in range(draw(st.integers(1, 3))):
                team_number += 1
                teams[f"T{team_number}"] = draw(st.integers(1, 21))
            organisations[f"O{r}{o}"] = teams
        structure[f"R{r}"] = organisations
    role_count = draw(st.integers(1, 3))
    minority = draw(st.lists(st.integers(0, 4), min_size=team_number, max_size=team_number))

    def roles_of(team, number):
        # Each team has a few of a second (and third) role, as mentors among mentees.
        extra = minority[int(team[1:]) - 1]
        if role_count == 1 or number >= extra:
            return "Practitioner"
        return "Mentor" if role_count == 2 or number % 2 else "Manager"

    threshold = draw(st.integers(3, 6))
    return _cohort(structure, roles_of, draw(st.integers(0, 1000))), threshold


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cohorts())
def test_no_set_of_fewer_than_the_threshold_is_recoverable_from_every_table(case):
    scores, threshold = case
    release = decide_one(people_frame(scores), threshold)

    cells = published_cells(scores, threshold, release)

    assert smallest_recoverable(cells, scores.index, threshold) is None


def test_the_region_page_minus_the_team_page_no_longer_gives_a_small_team():
    # Region North: A (6) and C (2); region South: D (5) and E (10). Decided table by
    # table, the team page hid C and D, the region page showed North, and
    # North - A gave C's two people.
    structure = {
        "North": {"North org": {"A": 6, "C": 2}},
        "South": {"South org": {"D": 5, "E": 10}},
    }
    scores = _cohort(structure, lambda team, number: "Practitioner")
    release = decide_one(people_frame(scores), 5)

    by_region = summarise_scales(scores, QUESTIONNAIRE, by="region", release=release)
    by_team = summarise_scales(scores, QUESTIONNAIRE, by="team", release=release)

    region = by_region[by_region["scale"] == SCALES[0]].set_index("group")
    team = by_team[by_team["scale"] == SCALES[0]].set_index("group")
    assert not team.at["A", "hidden"] and team.at["C", "hidden"]
    assert region.at["North", "hidden"], "North - A would give C"
    cells = published_cells(scores, 5, release)
    assert smallest_recoverable(cells, scores.index, 5) is None


def test_the_checker_finds_the_subtraction_that_tables_decided_alone_allowed():
    # The same cohort, with the cells each table would have shown on its own.
    structure = {
        "North": {"North org": {"A": 6, "C": 2}},
        "South": {"South org": {"D": 5, "E": 10}},
    }
    scores = _cohort(structure, lambda team, number: "Practitioner")
    everyone = set(scores.index)
    north = {p for p in everyone if scores.at[p, "region"] == "North"}
    team_a = {p for p in everyone if scores.at[p, "team"] == "A"}

    recovered = smallest_recoverable([everyone, north, team_a], scores.index, 5)

    assert recovered == north - team_a


def test_a_team_with_a_lone_mentor_is_still_shown_by_team():
    structure = {"R": {"O": {"A": 12, "B": 9}}}
    scores = _cohort(structure, lambda team, number: "Mentor" if number == 0 else "Practitioner")
    release = decide_one(people_frame(scores), 5)

    table = summarise_scales(scores, QUESTIONNAIRE, by="team", release=release)

    assert not table[table["group"] == "A"]["hidden"].any()
    assert "Mentor" not in set(release.labels["role"])


def test_pooling_is_the_same_in_every_wave_for_a_person():
    # Team C has 4 people in the first wave (pooled) and 6 in the second: the people
    # of C stay pooled in the second wave too, so joining on ID number restores nothing.
    def wave(sizes):
        rows = []
        for team, size in sizes.items():
            for number in range(size):
                rows.append((f"{team}{number}", team, "O", "R", "P", f"{team}{number}"))
        frame = pd.DataFrame(rows, columns=["response_id", *FIELDS, "person"])
        return people_frame(
            frame.set_index("response_id"), person=frame.set_index("response_id")["person"]
        )

    first, second = wave({"A": 8, "B": 9, "C": 4}), wave({"A": 8, "B": 9, "C": 6})
    releases = decide({1: first, 2: second}, 5)

    assert set(releases[1].labels.loc[first["team"] == "C", "team"]) == {POOLED}
    pooled_people = set(first.loc[first["team"] == "C", "person"])
    second_pooled = releases[2].labels.loc[second["person"].isin(pooled_people), "team"]
    assert set(second_pooled) == {POOLED}
    for release in releases.values():
        combos = release.labels.value_counts()
        assert combos.min() >= 5


@pytest.mark.parametrize("threshold", [5, 8])
def test_every_released_combination_holds_the_threshold(threshold):
    structure = {"R1": {"O1": {"A": 7, "B": 3}}, "R2": {"O2": {"C": 11, "D": 1, "E": 4}}}
    scores = _cohort(structure, lambda team, number: "Mentor" if number < 2 else "Practitioner")
    release = decide_one(people_frame(scores), threshold)

    assert release.labels.value_counts().min() >= threshold


@st.composite
def cohorts_with_bands(draw):
    """A cohort as above, each person also in an attendance band (most in the larger)."""
    scores, threshold = draw(cohorts())
    band_count = draw(st.integers(2, 3))
    weights = draw(st.lists(st.integers(1, 6), min_size=band_count, max_size=band_count))
    seed = draw(st.integers(0, 1000))
    rng = np.random.default_rng(seed)
    labels = [f"band {n}" for n in range(band_count)]
    chosen = rng.choice(labels, size=len(scores), p=np.array(weights) / sum(weights))
    bands = pd.DataFrame({"attendance_band": chosen}, index=scores.index)
    return scores, bands, threshold


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cohorts_with_bands())
def test_no_small_set_is_recoverable_with_attendance_bands_beside_the_team_pages(case):
    """Every band the decision releases whole (all the outcomes page can show) beside every
    team, organisation, region and role table and the export's combinations with the band."""
    scores, bands, threshold = case

    cells = cells_with_bands(scores, bands, threshold)

    assert smallest_recoverable(cells, scores.index, threshold) is None


def cells_with_bands(scores: pd.DataFrame, bands: pd.DataFrame, threshold: int) -> list[set]:
    """The published cells, the bands in the decision: the tables, the export's combinations
    with the band, and every band released whole."""
    frame = people_frame(scores, bands=bands)
    release = decide_one(frame, threshold)
    cells = published_cells(scores, threshold, release)
    if len(scores) >= threshold:
        released = released_values(frame, release.pooled)
        released["identifying"] = released["identifying"].map(repr)
        for _combination, rows in released.groupby(list(released.columns)).groups.items():
            cells.append(set(rows))
        pooled = release.pooled_groups("attendance_band")
        for band, rows in bands.groupby("attendance_band").groups.items():
            if band not in pooled and len(rows) >= threshold:
                cells.append(set(rows))
    return cells


def test_the_checker_finds_a_band_that_the_team_pages_narrow_when_bands_are_left_out():
    """The same cells with the bands decided apart from the teams give a person away: seven
    of T1's eight came often, so T1 minus "5 or more" is one person."""
    scores = _cohort({"R": {"O": {"T1": 8, "T2": 6}}}, lambda team, number: "Practitioner")
    often = [f"T1-{n}" for n in range(7)]
    bands = pd.DataFrame(
        {"attendance_band": ["5 or more" if i in often else "0-4" for i in scores.index]},
        index=scores.index,
    )
    release = decide_one(people_frame(scores), 5)  # bands not in the decision
    cells = published_cells(scores, 5, release)
    for _band, rows in bands.groupby("attendance_band").groups.items():
        cells.append(set(rows))
    cells.append(set(scores.index[scores["team"] == "T1"]))

    assert smallest_recoverable(cells, scores.index, 5) == {"T1-7"}

    assert smallest_recoverable(cells_with_bands(scores, bands, 5), scores.index, 5) is None
