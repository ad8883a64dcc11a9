"""The data-quality page, and leaving flagged responses out of the results pages safely."""

import itertools
import re

from surveyapp.scoring import ALL_RESPONDENTS
from tests.conftest import NOW
from tests.quality.test_exports import timed_wave


def _rows(html: str, table_id: str) -> dict[str, str]:
    """First number cell of each row of a table, by the row's header."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S).group(0)
    return {
        group.strip(): number
        for group, number in re.findall(
            r'<th scope="row"[^>]*>([^<]*)</th>\s*<td[^>]*>([^<]*)</td>', table
        )
    }


def test_the_page_counts_flags_per_team_hiding_small_teams(client, auth, session):
    # East and West are too small: pooled together, they hold the threshold between them.
    wave, _people = timed_wave(session, teams={"North": 5, "South": 5, "East": 2, "West": 3})
    auth.login(email="evaluator@example.org", role="evaluator")

    page = client.get(f"/admin/waves/{wave.id}/quality")

    assert page.status_code == 200
    html = page.text
    flags = _rows(html, "quality-flags")
    assert flags == {
        "Speeding": "1",
        "Straightlining": "1",
        "Partial response": "1",
        "Any of these": "2",
    }
    teams = _rows(html, "quality-teams")
    assert teams == {"North": "5", "South": "5"}  # responses per team
    assert "East" not in html and "West" not in html
    assert "2 teams are not shown: fewer than 5 responses" in html
    times = _rows(html, "quality-times")
    assert times["1 to 2 minutes"] == "1" and times["10 to 15 minutes"] == "14"
    skipped = re.search(r'<table[^>]*id="quality-skipped".*?</table>', html, re.S).group(0)
    first = re.search(r'<th scope="row"[^>]*>([^<]*)<span[^>]*>\(([a-z0-9_]+)\)', skipped)
    assert first.group(2) in ("short", "months")  # skipped by one of 15; nothing else was
    assert f'href="/admin/waves/{wave.id}/results"' in html  # the way back
    results = client.get(f"/admin/waves/{wave.id}/results").text
    assert f'href="/admin/waves/{wave.id}/quality"' in results


def test_an_administrator_asking_for_full_data_sees_the_small_team(client, auth, session):
    wave, _people = timed_wave(session, teams={"North": 5, "South": 5, "East": 2})
    auth.login()
    html = client.get(f"/admin/waves/{wave.id}/quality?full=1").text
    assert _rows(html, "quality-teams")["East"] == "2"
    assert "Full data: small teams are shown" in html
    detail = client.get(f"/admin/waves/{wave.id}").text  # the wave page links to it
    assert f'href="/admin/waves/{wave.id}/quality"' in detail


def _everyone(html: str) -> int:
    return int(_rows(html, "scale-grid_mean")[ALL_RESPONDENTS])


def test_results_leave_out_flagged_responses_and_say_how_many(client, auth, session):
    wave, _people = timed_wave(session, speeders=5, teams={"North": 10, "South": 5})
    auth.login(email="evaluator@example.org", role="evaluator")
    url = f"/admin/waves/{wave.id}/results"

    every = client.get(url).text
    without = client.get(f"{url}?exclude=speeding").text

    assert _everyone(every) == 15 and _everyone(without) == 10
    assert "5 responses flagged for speeding are left out" in without
    assert "Nothing is deleted" in without
    assert 'name="exclude" value="speeding"' in without  # the download leaves them out too
    items = client.get(f"/admin/waves/{wave.id}/results/items?exclude=speeding").text
    assert "5 responses flagged for speeding are left out" in items


def test_exclusion_is_refused_where_it_would_single_out_a_few(client, auth, session):
    wave, _people = timed_wave(session, speeders=1)
    auth.login(email="evaluator@example.org", role="evaluator")
    html = client.get(f"/admin/waves/{wave.id}/results?exclude=speeding").text
    assert "Leaving out responses flagged for speeding is not offered for this wave" in html
    assert _everyone(html) == 10


def test_a_rule_that_would_single_out_a_few_is_refused_while_another_is_offered(
    client, auth, session
):
    # Five speeders of North's ten: speeding is safe. P002 alone straightlines: not safe.
    wave, _people = timed_wave(session, speeders=5, teams={"North": 10, "South": 5})
    auth.login(email="evaluator@example.org", role="evaluator")
    url = f"/admin/waves/{wave.id}/results"

    both = client.get(f"{url}?exclude=speeding&exclude=straightlining").text

    assert "Leaving out responses flagged for straightlining is not offered" in both
    assert "speeding is not offered" not in both
    assert _everyone(both) == 15


def _cells(client, wave, query: str) -> dict[tuple, tuple[int, float]]:
    """Every (page, breakdown, group) cell an evaluator can read: (n, mean) of the scale."""
    cells = {}
    for by in ("team", "organisation", "region", "role"):
        html = client.get(f"/admin/waves/{wave.id}/results?by={by}&{query}").text
        table = re.search(r'<table[^>]*id="scale-grid_mean".*?</table>', html, re.S).group(0)
        for group, n, mean in re.findall(
            r'<th scope="row"[^>]*>([^<]*)</th>\s*<td[^>]*>(\d+)</td>\s*<td[^>]*>([-\d.]+)</td>',
            table,
        ):
            cells[(by, group.strip())] = (int(n), float(mean))
    return cells


def test_subtracting_the_results_with_and_without_exclusion_finds_no_small_group(
    client, auth, session
):
    # North: one speeder, one straightliner (who also skipped enough to be partial).
    wave, _people = timed_wave(session, teams={"North": 6, "South": 5})
    # Another wave, where five of North sped: a group big enough to leave out.
    safe, _ = timed_wave(
        session, speeders=5, teams={"North": 10, "South": 5}, version=wave.questionnaire_version
    )
    auth.login(email="evaluator@example.org", role="evaluator")
    threshold = wave.programme.reporting_threshold
    every = _cells(client, wave, "")
    assert every  # the attacker has numbers to work with
    rules = ("speeding", "straightlining", "partial")
    pages = {(): every}
    for size in (1, 2, 3):
        for chosen in itertools.combinations(rules, size):
            query = "&".join(f"exclude={rule}" for rule in chosen)
            pages[chosen] = _cells(client, wave, query)
    # Any two pages, not only a page beside the one with every response: two sets of
    # rules differ by the people of some flag patterns.
    for (one, first), (other, second) in itertools.combinations(pages.items(), 2):
        for cell, (n, _mean) in first.items():
            if cell not in second:
                continue
            gone = abs(n - second[cell][0])
            # The attacker's sum of the people between: n·mean − n'·mean'. It is only
            # ever over no one, or over at least the threshold of people.
            assert gone == 0 or gone >= threshold, (one, other, cell, gone)
    # And where the left-out set is big enough, the numbers do change, safely.
    before, after = _cells(client, safe, ""), _cells(client, safe, "exclude=speeding")
    gaps = {cell: n - after[cell][0] for cell, (n, _mean) in before.items() if cell in after}
    assert set(gaps.values()) <= {0, 5} and 5 in gaps.values()


def test_a_person_answering_through_their_link_is_timed_page_by_page(app, session):
    from datetime import timedelta

    from surveyapp.models import Response
    from surveyapp.questionnaires.catalogue import questionnaire_of
    from tests.factories import make_invitation
    from tests.participant import complete

    invitation = make_invitation(session)
    questionnaire = questionnaire_of(invitation.wave.questionnaire_version)
    session.commit()
    ticks = iter(range(1000))
    # Every reading of the clock is a minute after the one before.
    app.config["CLOCK"] = lambda: NOW + timedelta(minutes=next(ticks))

    complete(app.test_client(), invitation.token, questionnaire)

    response = session.query(Response).one()
    session.refresh(invitation)
    assert response.seconds_taken is not None and response.seconds_taken >= 60
    assert response.seconds_taken % 60 == 0
    assert invitation.last_active_at is None  # nothing of the visit's moments stays


def test_the_culture_profile_can_leave_out_the_straightliners(client, auth, session):
    from surveyapp.questionnaires.catalogue import questionnaire_of
    from tests.factories import make_programme
    from tests.scoring.builders import cohort, submit_all, wave_of

    programme = make_programme(session)
    people = cohort(session, {"North": 10, "South": 5}, programme)
    wave = wave_of(session, programme, key="leadership_culture")
    culture = questionnaire_of(wave.questionnaire_version)
    bipolar = [item.id for item in culture.items() if item.type == "bipolar"]
    straight = {person.id for person in people[:5]}
    submit_all(
        session,
        wave,
        lambda person: {
            answer_id: 3 if person.id in straight else 1 + (place + person.id) % 5
            for place, answer_id in enumerate(bipolar)
        },
    )
    session.commit()
    auth.login(email="evaluator@example.org", role="evaluator")

    html = client.get(f"/admin/waves/{wave.id}/results/culture?exclude=straightlining").text

    assert "5 responses flagged for straightlining are left out" in html
    assert (
        'id="exclude-straightlining" name="exclude" type="checkbox" value="straightlining" checked'
        in html
    )


def test_a_wave_with_no_answers_yet_has_a_page_that_says_so(client, auth, session):
    from tests.factories import make_programme
    from tests.quality.test_rules import GRID
    from tests.scoring.builders import cohort, store_questionnaire, wave_of

    programme = make_programme(session)
    cohort(session, {"North": 3}, programme)
    wave = wave_of(session, programme, store_questionnaire(session, GRID, "grid_check"))
    session.commit()
    auth.login(email="evaluator@example.org", role="evaluator")

    page = client.get(f"/admin/waves/{wave.id}/quality")
    results = client.get(f"/admin/waves/{wave.id}/results?exclude=speeding&exclude=nonsense")

    assert page.status_code == 200
    assert "0 responses: fewer than 5, so no data-quality figure of this wave is shown" in page.text
    assert "Median time taken" not in page.text
    assert results.status_code == 200


def test_an_anonymous_waves_page_has_bands_and_its_invitations_no_time(client, auth, session):
    from surveyapp.models import Invitation

    wave, _people = timed_wave(session, privacy="anonymous")
    auth.login(email="evaluator@example.org", role="evaluator")

    html = client.get(f"/admin/waves/{wave.id}/quality").text

    assert "an anonymous wave keeps times only in these bands" in html
    assert _rows(html, "quality-flags")["Speeding"] == "1"
    kept = session.query(Invitation.active_seconds, Invitation.last_active_at).filter_by(
        wave_id=wave.id
    )
    assert set(kept) == {(None, None)}  # no seconds, no moment: only the band, in the flags
