"""Each data-quality rule on its own: time taken, speeding, straightlining, gaps, partial."""

from datetime import timedelta

import pandas as pd
import pytest

from surveyapp.quality import rules
from surveyapp.quality.bands import band_label, band_of
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.respond import flow
from surveyapp.scoring import load_answers
from tests.conftest import NOW
from tests.factories import make_invitation, stored_version
from tests.scoring.builders import long_answers, questionnaire_from


def _times(seconds=None, bands=None):
    index = [f"r{i}" for i in range(len(seconds or bands))]
    return pd.DataFrame(
        {
            "seconds": pd.array(seconds or [None] * len(index), dtype="Int64"),
            "time_band": pd.array(bands or [band_of(s) for s in seconds], dtype="Int64"),
        },
        index=index,
    )


def test_speeding_is_under_a_third_of_the_median_time():
    # Median 600 s: a third is 200 s. 199 s is speeding, 200 s is not.
    times = _times(seconds=[199, 200, 600, 600, 600, 900, 1200])
    assert list(rules.speeding(times, anonymous=False)) == [1, 0, 0, 0, 0, 0, 0]


def test_speeding_is_not_judged_on_fewer_than_five_timed_responses():
    times = _times(seconds=[10, 600, 600, 600])
    assert rules.speeding(times, anonymous=False).isna().all()


def test_in_bands_only_a_response_surely_under_a_third_is_speeding():
    # Bands 7 (7 to 10 minutes) hold the median: about 510 s, a third 170 s.
    times = _times(bands=[1, 3, 7, 7, 7, 7, 8])
    median = rules.median_time(times, anonymous=True)
    assert 420 < median < 600
    # Under 1 minute is surely under 170 s; 2 to 3 minutes (up to 180 s) might not be.
    assert list(rules.speeding(times, anonymous=True)) == [1, 0, 0, 0, 0, 0, 0]
    assert band_label(1) == "Under 1 minute" and band_label(7) == "7 to 10 minutes"
    assert band_label(13) == "60 minutes or more"


def test_the_culture_surveys_32_bipolar_items_are_a_battery(session):
    culture = questionnaire_of(stored_version(session, "leadership_culture"))
    found = dict(rules.batteries(culture))
    assert len(found["all bipolar items"]) == 32
    assert all(len(ids) >= rules.STRAIGHTLINE_MIN_ITEMS for ids in found.values())
    bipolar = [item.id for item in culture.items() if item.type == "bipolar"]
    same = {answer_id: 3 for answer_id in bipolar}
    varied = same | {bipolar[0]: 2}
    answers = long_answers({"straight": same, "varied": varied})
    flags = rules.answer_flags(answers, culture)
    assert flags.loc["straight", "straightlining"] == 1
    assert flags.loc["varied", "straightlining"] == 1  # pages 2 to 4 are still one line
    one_per_page = same | {ids[0]: 1 for name, ids in found.items() if name.startswith("culture")}
    flags = rules.answer_flags(long_answers({"r": one_per_page}), culture)
    assert flags.loc["r", "straightlining"] == 0


GRID = """
format_version: 1
key: grid_check
title: Grid check
estimated_minutes: 5
source: Written for the tests
option_sets:
  agree5:
    - {code: 1, label: Strongly disagree}
    - {code: 2, label: Disagree}
    - {code: 3, label: Neither}
    - {code: 4, label: Agree}
    - {code: 5, label: Strongly agree}
pages:
  - id: one
    title: One
    items:
      - id: grid
        type: matrix
        text: How far do you agree
        options: agree5
        not_applicable: {code: 9, label: Not my job}
        required: false
        rows:
          - {id: g1, text: One}
          - {id: g2, text: Two}
          - {id: g3, text: Three}
          - {id: g4, text: Four}
          - {id: g5, text: Five}
          - {id: g6, text: Six}
      - {id: short, type: likert, text: Alone, options: agree5, required: false}
      - {id: months, type: number, text: Months, min: 0, max: 99, required: false}
      - {id: note, type: long_text, text: Anything else, required: false}
scales:
  - {id: grid_mean, label: Agreement across the grid, items: [grid], min_answered: 1}
"""


@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        ([4] * 6, 1),
        ([4] * 5 + [5], 0),
        ([4] * 5 + [9], 0),  # "not applicable" breaks the line
        ([4] * 5 + [None], 0),  # so does a blank
    ],
)
def test_straightlining_is_the_same_point_on_every_row_of_a_grid(grid, expected):
    questionnaire = questionnaire_from(GRID, "grid_check")
    given = {f"g{i}": value for i, value in enumerate(grid, start=1)}
    flags = rules.answer_flags(long_answers({"r": given | {"short": 1}}), questionnaire)
    assert flags.loc["r", "straightlining"] == expected


def test_unanswered_share_leaves_out_typed_text_and_partial_is_under_80_percent():
    questionnaire = questionnaire_from(GRID, "grid_check")
    full = {f"g{i}": 2 + i % 2 for i in range(1, 7)} | {"short": 1, "months": 3, "note": None}
    one_gap = full | {"months": None}
    two_gaps = one_gap | {"short": None}
    flags = rules.answer_flags(
        long_answers({"full": full, "one": one_gap, "two": two_gaps}), questionnaire
    )
    # 8 counted items: six rows, the Likert item and the number (not the long text).
    assert flags.loc["full", "unanswered_share"] == 0
    assert flags.loc["one", "unanswered_share"] == pytest.approx(1 / 8)
    assert flags.loc["two", "unanswered_share"] == pytest.approx(2 / 8)
    assert list(flags["partial"]) == [0, 0, 1]  # 75% answered is partial


def test_no_battery_leaves_straightlining_missing_not_zero():
    questionnaire = questionnaire_from(
        GRID.replace("          - {id: g6, text: Six}\n", ""), "grid_check"
    )
    flags = rules.answer_flags(long_answers({"r": {"g1": 1}}), questionnaire)
    assert pd.isna(flags.loc["r", "straightlining"])


def test_time_taken_sums_visits_and_leaves_out_breaks(session):
    invitation = make_invitation(session)
    questionnaire = questionnaire_of(invitation.wave.questionnaire_version)
    start = NOW - timedelta(hours=3)
    flow.note_activity(invitation, start)  # the first page is shown
    flow.note_activity(invitation, start + timedelta(minutes=4))  # sent; the next shown
    # A break of two hours: the person left and came back on the link.
    flow.note_activity(invitation, start + timedelta(hours=2, minutes=4))
    flow.note_activity(invitation, start + timedelta(hours=2, minutes=10))
    assert invitation.active_seconds == 10 * 60
    answers = {answer_id: None for item in questionnaire.items() for answer_id in item.answer_ids()}
    flow.record_answers(
        session, invitation, questionnaire, answers, now=NOW - timedelta(minutes=49)
    )
    flow.submit(session, invitation, questionnaire, now=NOW - timedelta(minutes=48))
    response = session.query(flow.Response).one()
    # Ten minutes before the break, then a minute to send the last page, a minute to send.
    assert response.seconds_taken == 12 * 60
    assert response.time_band == 8  # 10 to 15 minutes
    assert invitation.last_active_at is None


def test_an_anonymous_wave_keeps_only_a_band_and_its_invitation_forgets_the_seconds(session):
    invitation = make_invitation(session, privacy="anonymous")
    anonymous = invitation.wave
    questionnaire = questionnaire_of(anonymous.questionnaire_version)
    flow.note_activity(invitation, NOW - timedelta(minutes=8, seconds=20))
    answers = {answer_id: None for item in questionnaire.items() for answer_id in item.answer_ids()}
    flow.record_answers(session, invitation, questionnaire, answers, now=NOW)
    flow.submit(session, invitation, questionnaire, now=NOW)
    session.flush()
    response = session.query(flow.Response).one()
    assert response.seconds_taken is None
    assert response.time_band == 7  # 7 to 10 minutes
    assert invitation.active_seconds is None and invitation.last_active_at is None
    assert load_answers(session, anonymous).empty  # held back until enough have answered


def test_a_page_shown_at_once_after_a_step_changes_no_time_taken(session):
    invitation = make_invitation(session)
    start = NOW - timedelta(hours=1)
    flow.note_activity(invitation, start)  # the first page is shown
    flow.note_activity(invitation, start + timedelta(minutes=2))  # sent
    # The next page, shown by the redirect a moment later, writes nothing...
    assert not flow.note_shown(invitation, start + timedelta(minutes=2, seconds=1))
    assert invitation.last_active_at == start + timedelta(minutes=2)
    flow.note_activity(invitation, start + timedelta(minutes=5))  # ...and its send counts
    assert invitation.active_seconds == 5 * 60
    # Shown after a break, it starts the clock again.
    assert flow.note_shown(invitation, start + timedelta(minutes=50))
    assert invitation.last_active_at == start + timedelta(minutes=50)
