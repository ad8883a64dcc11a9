"""What the dashboard and the programme page show of small groups to each role.

Invited and completed counts per group are for those who chase responses
(programme managers and administrators); evaluators and viewers see rates, only
of groups with enough completions. Completions per day never give a small day.
"""

import itertools
import random
from datetime import date, timedelta

import pytest

from surveyapp.waves import small_counts
from surveyapp.waves.dashboard import Day
from tests.admin.test_dashboard import _counts, _rows
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave

#: team: (invited, completed)
TEAMS = {"Alder": (12, 10), "Birch": (8, 6), "Cedar": (3, 3)}


def _teams_wave(session, teams=TEAMS, **programme_fields):
    programme = make_programme(session, **programme_fields)
    for team, (invited, _) in teams.items():
        for _ in range(invited):
            make_participant(session, programme, team=team)
    wave = make_wave(session, programme, label="Baseline")
    done = {team: completed for team, (_, completed) in teams.items()}
    for invitation in sorted(wave.invitations, key=lambda i: i.participant.id_number):
        team = invitation.participant.team
        if done[team]:
            invitation.completed_at = NOW - timedelta(hours=1)
            done[team] -= 1
    session.commit()
    return wave


@pytest.mark.parametrize("role", ["viewer", "evaluator"])
def test_a_reader_who_does_not_chase_responses_sees_no_counts_of_a_team_of_3(
    client, auth, session, role
):
    wave = _teams_wave(session)
    auth.login(email=f"{role}@example.org", role=role)
    url = f"/admin/waves/{wave.id}/dashboard"

    page = client.get(url)
    by_completed = client.get(url + "?sort=completed")
    by_rate = client.get(url + "?sort=rate&dir=desc")

    assert page.status_code == 200
    # Cedar has 3 responses; Birch's rate would give Cedar's count from the total of 19.
    assert _rows(page.text, "by-team") == [
        ["Alder", "83%"],
        ["Birch", "Hidden so that a smaller group cannot be worked out from the total"],
        ["Cedar", "Fewer than 5 responses"],
    ]
    assert "Invited" not in page.text.split('id="by-team"')[1].split("</table>")[0]
    assert "Gap to target" not in page.text
    # The whole wave is over the threshold: its counts stay.
    assert _counts(page.text)["Completed"] == 19
    # An order by a hidden count is not offered, and is not followed when asked for.
    assert "sort=completed" not in page.text
    assert [row[0] for row in _rows(by_completed.text, "by-team")] == ["Alder", "Birch", "Cedar"]
    assert [row[0] for row in _rows(by_rate.text, "by-team")] == ["Alder", "Birch", "Cedar"]


def test_a_programme_manager_sees_every_groups_counts(client, auth, session):
    wave = _teams_wave(session)
    auth.login(email="manager@example.org", role="programme_manager")

    page = client.get(f"/admin/waves/{wave.id}/dashboard")

    assert _rows(page.text, "by-team") == [
        ["Alder", "12", "10", "83%", "0, on target"],
        ["Birch", "8", "6", "75%", "0, on target"],
        ["Cedar", "3", "3", "100%", "0, on target"],
    ]


def test_a_wave_under_the_threshold_shows_a_viewer_no_count_and_no_rate(client, auth, session):
    wave = _teams_wave(session, {"Alder": (10, 3)}, reporting_threshold=4)
    auth.login(email="viewer@example.org", role="viewer")
    url = f"/admin/waves/{wave.id}/dashboard"

    page = client.get(url)
    panel = client.get(url, headers={"HX-Request": "true"})

    assert "response rate, against a target" not in page.text
    assert "The response rate is shown once 4 people have completed." in page.text
    assert 'Fewer than 4</span><span class="app-count__label">Completed' in panel.text
    assert "Opened the link" not in panel.text and "more completion" not in panel.text
    assert 'id="completions-table"' not in page.text and "<polyline" not in page.text
    assert "Completions per day are not shown yet" in page.text
    assert _rows(page.text, "by-team") == [["Alder", "Fewer than 4 responses"]]


def test_the_programme_page_gives_a_viewer_no_small_count_of_who_came_back(client, auth, session):
    programme = make_programme(session, reporting_threshold=5)
    people = [make_participant(session, programme) for _ in range(14)]
    waves = [
        make_wave(session, programme, label=label, opens_at=NOW - timedelta(days=days))
        for label, days in (("Baseline", 3), ("Midterm", 2), ("Endline", 1))
    ]
    # Baseline: 12 completed. Midterm: 10 of them again (2 did not). Endline: 3 of them.
    completers = {
        waves[0].id: people[:12],
        waves[1].id: people[:10],
        waves[2].id: people[:3],
    }
    for wave in waves:
        ids = {person.id for person in completers[wave.id]}
        for invitation in wave.invitations:
            if invitation.participant_id in ids:
                invitation.started_at = invitation.completed_at = NOW
    session.commit()
    auth.login(email="viewer@example.org", role="viewer")

    page = client.get(f"/admin/programmes/{programme.id}")
    auth.login(email="manager@example.org", role="programme_manager")
    managed = client.get(f"/admin/programmes/{programme.id}")

    rows = _rows(page.text, "waves")
    assert [row[2:] for row in rows] == [
        ["14", "12", "12", "86% (60%)", "First wave"],
        ["14", "10", "10", "71% (60%)", "more than 7 of 12"],
        ["14", "–", "Fewer than 5", "– (60%)", "fewer than 5 of 12"],
    ]
    assert "10 completed Midterm" not in page.text
    assert (
        "of the 12 people who completed Baseline, more than 7 completed Midterm; fewer than 5 "
        "completed Endline." in page.text
    )
    assert [row[4:] for row in _rows(managed.text, "waves")] == [
        ["12", "86% (60%)", "First wave"],
        ["10", "71% (60%)", "10 of 12 (83%)"],
        ["3", "21% (60%)", "3 of 12 (25%)"],
    ]


# -- completions per day -----------------------------------------------------------------


def _days(*counts):
    total, days = 0, []
    for number, count in enumerate(counts):
        total += count
        days.append(Day(date(2030, 4, 1) + timedelta(days=number), count, total))
    return days


def _shown(*counts, threshold=5):
    shown = small_counts.shown_days(_days(*counts), threshold)
    return None if shown is None else [(day.that_day, day.so_far) for day in shown]


def test_a_day_with_2_completions_says_fewer_than_5():
    assert _shown(7, 2, 4, 0, 6) == [
        ("7", 7),
        ("Fewer than 5", None),
        ("Fewer than 5", 13),
        ("0", 13),
        ("6", 19),
    ]


def test_the_last_days_join_the_run_before_them_when_the_total_would_give_them_away():
    # 10 then 2: the total of 12 minus a day of 10 would give the day of 2.
    assert _shown(10, 2) == [("5 or more", None), ("Fewer than 5", 12)]
    assert _shown(6, 0, 1) == [("5 or more", None), ("0", None), ("Fewer than 5", 7)]


def test_days_of_one_completion_each_are_never_shown_one_by_one():
    # Five days of "fewer than 5" adding up to 5 could only be 1 each.
    assert _shown(1, 1, 1, 1, 1) is None
    assert _shown(4, 4) is None  # and two days adding up to 8 could only be 4 each
    assert _shown(1, 1, 1, 1, 1, 2) == [("Fewer than 5", None)] * 5 + [("Fewer than 5", 7)]


def _possible(shown, threshold, limit):
    """Every run of day counts (each at most ``limit``) that shows exactly as ``shown``."""
    choices = []
    for that_day, _ in shown:
        if that_day == small_counts.fewer_than(threshold):
            choices.append(range(1, threshold))
        elif that_day == f"{threshold} or more":
            choices.append(range(threshold, limit + 1))
        else:
            choices.append([int(that_day)])
    for counts in itertools.product(*choices):
        totals = list(itertools.accumulate(counts))
        if all(so_far in (None, total) for (_, so_far), total in zip(shown, totals, strict=True)):
            yield counts


@pytest.mark.parametrize("seed", range(60))
def test_no_day_under_the_threshold_can_be_worked_out_from_what_is_shown(seed):
    rng = random.Random(seed)
    threshold = rng.choice([3, 4, 5])
    counts = [rng.choice([0, 0, 1, 1, 2, 3, 4, 5, 7]) for _ in range(rng.randint(2, 6))]
    total = sum(counts)
    shown = small_counts.shown_days(_days(*counts), threshold)
    if shown is None:
        return
    rows = [(day.that_day, day.so_far) for day in shown]
    assert rows[-1][1] == total  # the running total is always complete at the end
    # The reader also knows the wave's total: only runs with that total are possible.
    worlds = [world for world in _possible(rows, threshold, total) if sum(world) == total]
    assert tuple(counts) in worlds
    for index, count in enumerate(counts):
        if 0 < count < threshold:
            values = {world[index] for world in worlds}
            assert len(values) > 1, (counts, threshold, rows, index)
