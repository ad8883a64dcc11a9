"""The response dashboard of a wave and of a programme, non-respondents and their sample."""

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from surveyapp.models import Message
from surveyapp.reminders import sending
from surveyapp.waves import dashboard
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave

#: (team, region, role, state) of a small made-up wave of ten people.
PEOPLE = [
    ("North", "South East", "Peer", "completed"),
    ("North", "South East", "Peer", "completed"),
    ("North", "South East", "Peer supporter", "completed"),
    ("North", "London", "Peer", "completed"),
    ("North", "London", "Peer", "started"),
    ("North", "London", "Peer supporter", "opened"),
    ("South", "London", "Peer", "completed"),
    ("South", "South East", "Peer", "opted_out"),
    ("South", "South East", "Peer supporter", "withdrawn"),
    ("South", "London", "Peer", "invited"),
]


def _small_wave(session, **overrides):
    """Ten people: 5 completed (4 North, 1 South), 1 started, 1 opened, 1 opted out, 1 withdrawn."""
    programme = make_programme(session)
    for number, (team, region, role, _state) in enumerate(PEOPLE):
        make_participant(
            session,
            programme,
            id_number=f"S{number:02d}",
            name=f"Person{number} Surname",
            team=team,
            region=region,
            role=role,
        )
    wave = make_wave(session, programme, label="Baseline", **overrides)
    by_number = {i.participant.id_number: i for i in wave.invitations}
    for number, (*_, state) in enumerate(PEOPLE):
        invitation = by_number[f"S{number:02d}"]
        if state in ("opened", "started", "completed"):
            invitation.opened_at = NOW - timedelta(hours=20)
        if state in ("started", "completed"):
            invitation.started_at = NOW - timedelta(hours=20)
            invitation.pages_done, invitation.pages_total = 2, 5
        if state == "completed":
            # Two on the opening day, three today.
            invitation.completed_at = NOW - timedelta(hours=20 if number < 2 else 1)
        if state == "opted_out":
            invitation.opted_out_at = NOW - timedelta(hours=3)
        if state == "withdrawn":
            invitation.participant.withdrawn_at = NOW - timedelta(hours=2)
    session.commit()
    return wave


def _counts(text):
    return dict(
        (label, int(value))
        for value, label in re.findall(
            r'app-count__value">(\d+)</span><span class="app-count__label">([^<]+)<', text
        )
    )


def _rows(text, table_id):
    table = text.split(f'id="{table_id}"')[1].split("</table>")[0]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody")[1], re.S)
    ]


def test_dashboard_counts_people_and_the_rate_against_the_target(client, auth, session):
    auth.login()
    wave = _small_wave(session)

    page = client.get(f"/admin/waves/{wave.id}/dashboard")

    assert page.status_code == 200
    assert _counts(page.text) == {
        "Invited": 10,
        "Opened the link": 7,
        "Started": 6,
        "Completed": 5,
        "Withdrawn": 1,
        "Opted out of reminders": 1,
    }
    assert "<strong>50%</strong> response rate, against a target of 60%" in page.text
    assert "<strong>1 more completion</strong> would reach the target of 6" in page.text
    assert 'class="govuk-back-link"' in page.text


def test_breakdowns_give_invited_completed_rate_and_gap_per_group(client, auth, session):
    auth.login()
    wave = _small_wave(session)

    page = client.get(f"/admin/waves/{wave.id}/dashboard")

    # North: 4 of 6, target ceil(3.6) = 4 reached; South: 1 of 4, target ceil(2.4) = 3.
    assert _rows(page.text, "by-team") == [
        ["North", "6", "4", "67%", "0, on target"],
        ["South", "4", "1", "25%", "2"],
    ]
    assert _rows(page.text, "by-region") == [
        ["London", "5", "2", "40%", "1"],
        ["South East", "5", "3", "60%", "0, on target"],
    ]
    assert _rows(page.text, "by-role") == [
        ["Peer", "7", "4", "57%", "1"],
        ["Peer supporter", "3", "1", "33%", "1"],
    ]
    assert _rows(page.text, "by-organisation") == [["Kent County Council", "10", "5", "50%", "1"]]


def test_breakdowns_sort_by_the_column_asked_for(client, auth, session):
    auth.login()
    wave = _small_wave(session)
    url = f"/admin/waves/{wave.id}/dashboard"

    by_rate_down = client.get(url + "?sort=rate&dir=desc")
    by_rate_up = client.get(url + "?sort=rate&dir=asc")
    by_gap_down = client.get(url + "?sort=gap&dir=desc")
    nonsense = client.get(url + "?sort=drop+table&dir=sideways")

    assert [row[0] for row in _rows(by_rate_down.text, "by-role")] == ["Peer", "Peer supporter"]
    assert [row[0] for row in _rows(by_rate_up.text, "by-team")] == ["South", "North"]
    assert [row[0] for row in _rows(by_gap_down.text, "by-team")] == ["South", "North"]
    assert nonsense.status_code == 200
    assert [row[0] for row in _rows(nonsense.text, "by-team")] == ["North", "South"]
    # The current column links to the other direction; the others start with the largest.
    assert f'href="{url}?sort=rate&amp;dir=asc#by-team"' in by_rate_down.text
    assert f'href="{url}?sort=gap&amp;dir=desc#by-team"' in by_rate_down.text
    assert 'aria-sort="descending"' in by_rate_down.text


def test_chart_is_an_svg_with_the_target_line_reminder_days_and_a_table(client, auth, session):
    auth.login()
    wave = _small_wave(session)
    first, reminder = sending.steps_of(session, wave)[:2]
    invitation = wave.invitations[9]
    for step, sent_at in ((first, NOW - timedelta(hours=22)), (reminder, NOW - timedelta(hours=2))):
        session.add(
            Message(
                wave_id=wave.id,
                step_id=step.id,
                invitation_id=invitation.id,
                to_address="x@example.org",
                subject="s",
                body="b",
                state="sent",
                queued_at=sent_at,
                sent_at=sent_at,
                transport="outbox",
            )
        )
    session.commit()

    page = client.get(f"/admin/waves/{wave.id}/dashboard")

    svg = page.text.split('<svg id="completions-chart"')[1].split("</svg>")[0]
    assert 'role="img"' in svg
    assert "5 of 10 invited have completed; the target is 6 (60%)" in svg
    assert 'id="chart-target-line"' in svg and "Target 6" in svg
    assert "Invitation" in svg and "First reminder" in svg
    assert "<polyline" in svg
    # 2 on the first day and 3 on the second: neither day is counted on its own, and the
    # total so far appears once they add up to the threshold.
    assert _rows(page.text, "completions-table") == [
        ["30 Apr", "Fewer than 5", "–", "Invitation"],
        ["1 May", "Fewer than 5", "5", "First reminder"],
    ]
    assert "A day with fewer than 5 completions is not counted on its own" in page.text
    assert "(2 that day)" not in svg and "2 completed" not in svg


def test_counts_panel_comes_alone_to_htmx_and_has_a_plain_refresh_link(client, auth, session):
    auth.login()
    wave = _small_wave(session)
    url = f"/admin/waves/{wave.id}/dashboard"

    fragment = client.get(url, headers={"HX-Request": "true"})
    boosted = client.get(url, headers={"HX-Request": "true", "HX-Boosted": "true"})

    assert fragment.text.lstrip().startswith('<section id="wave-counts"')
    assert 'hx-trigger="every 30s"' in fragment.text
    assert f'href="{url}" hx-get="{url}" hx-target="#wave-counts"' in fragment.text
    assert "HX-Request" in fragment.headers["Vary"]
    assert "<html" in boosted.text and "<svg" in boosted.text


def test_anonymous_waves_show_the_same_counts(client, auth, session):
    auth.login()
    wave = _small_wave(session, privacy="anonymous")

    page = client.get(f"/admin/waves/{wave.id}/dashboard")

    assert _counts(page.text)["Completed"] == 5
    assert "Answers in this wave are anonymous" in page.text
    assert _rows(page.text, "by-team")[1] == ["South", "4", "1", "25%", "2"]


def test_wave_and_programme_pages_link_to_the_dashboard(client, auth, session):
    auth.login()
    wave = _small_wave(session)
    link = f'href="/admin/waves/{wave.id}/dashboard"'

    assert link in client.get(f"/admin/waves/{wave.id}").text
    assert link in client.get(f"/admin/programmes/{wave.programme_id}").text


def test_programme_page_shows_the_waves_side_by_side_with_retention(client, auth, session):
    auth.login()
    programme = make_programme(session)
    people = [make_participant(session, programme) for _ in range(4)]
    baseline = make_wave(session, programme, label="Baseline")
    midterm = make_wave(
        session,
        programme,
        label="Midterm",
        opens_at=NOW - timedelta(hours=12),
        closes_at=NOW + timedelta(days=30),
    )
    done = {
        baseline.id: {people[0].id, people[1].id, people[2].id},
        midterm.id: {people[1].id, people[2].id, people[3].id},
    }
    for wave in (baseline, midterm):
        for invitation in wave.invitations:
            if invitation.participant_id in done[wave.id]:
                invitation.completed_at = NOW
    session.commit()

    page = client.get(f"/admin/programmes/{programme.id}")

    rows = _rows(page.text, "waves")
    assert [row[4:] for row in rows] == [
        ["3", "75% (60%)", "First wave"],
        ["3", "75% (60%)", "2 of 3 (67%)"],
    ]
    assert "of the 3 people who completed Baseline, 2 completed Midterm." in page.text


def test_non_respondents_are_listed_with_status_and_paged(client, auth, session):
    auth.login()
    programme = make_programme(session)
    for number in range(62):
        make_participant(session, programme, id_number=f"N{number:03d}")
    wave = make_wave(session, programme)
    invitations = sorted(wave.invitations, key=lambda i: i.participant.id_number)
    invitations[0].started_at = invitations[0].opened_at = NOW
    invitations[0].pages_done, invitations[0].pages_total = 3, 7
    invitations[1].opted_out_at = NOW
    invitations[2].completed_at = NOW
    invitations[3].participant.withdrawn_at = NOW
    session.commit()
    url = f"/admin/waves/{wave.id}/non-respondents"

    first = client.get(url)
    second = client.get(url + "?page=2")

    assert "60 people have not completed" in first.text
    assert first.text.count('<tr class="govuk-table__row">') == 1 + 50
    assert second.text.count('<tr class="govuk-table__row">') == 1 + 10
    assert "N002" not in first.text and "N003" not in first.text  # completed, withdrawn
    row = first.text.split(">N000<")[1].split("</tr>")[0]
    assert "Started" in row and "3 of 7 pages" in row
    assert "Opted out" in first.text.split(">N001<")[1].split("</tr>")[0]
    assert "Not opened" in first.text.split(">N004<")[1].split("</tr>")[0]


def test_non_respondent_csv_carries_labels_and_neutralises_formulas(client, auth, session):
    auth.login()
    programme = make_programme(session)
    make_participant(session, programme, id_number="A1", name="=cmd|' /C calc'!A0", team="+SUM(1)")
    make_participant(session, programme, id_number="A2", name="Siân Ó Dónaill", team="@team")
    make_participant(session, programme, id_number="A3", name="Done Already")
    wave = make_wave(session, programme)
    for invitation in wave.invitations:
        if invitation.participant.id_number == "A3":
            invitation.completed_at = NOW
    session.commit()

    response = client.get(f"/admin/waves/{wave.id}/non-respondents.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == list(dashboard.CSV_HEADINGS)
    assert rows[0][:3] == ["ID number", "Name", "Email"]
    assert rows[1][:4] == ["A1", "'=cmd|' /C calc'!A0", rows[1][2], "'+SUM(1)"]
    assert rows[2][1] == "Siân Ó Dónaill" and rows[2][3] == "'@team"
    assert rows[1][7] == "Not opened" and len(rows) == 3


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20", "'+44 20"),
        ("-2", "'-2"),
        ("@SUM", "'@SUM"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Anna", "Anna"),
        ("", ""),
        (3, 3),
    ],
)
def test_safe_cell_prefixes_what_a_spreadsheet_would_run(value, safe):
    assert dashboard.safe_cell(value) == safe


@pytest.mark.parametrize(
    ("sizes", "total", "shares"),
    [
        ({"London": 20, "North West": 10}, 6, {"London": 4, "North West": 2}),
        ({"A": 1, "B": 1, "C": 1}, 2, {"A": 1, "B": 1, "C": 0}),
        ({"A": 5, "B": 3, "C": 2}, 5, {"A": 3, "B": 1, "C": 1}),
        ({"A": 2, "B": 1}, 10, {"A": 2, "B": 1}),
        ({"A": 0, "B": 4}, 2, {"A": 0, "B": 2}),
    ],
)
def test_allocation_is_proportional_and_adds_up(sizes, total, shares):
    assert dashboard.allocate(sizes, total) == shares


def _sample_ids(client, url):
    page = client.get(url)
    assert page.status_code == 200, page.text
    table = page.text.split('id="sample-people"')[1].split("</table>")[0]
    return re.findall(r'<td class="govuk-table__cell">(R\d+)</td>', table)


def test_sample_is_reproducible_with_its_seed_and_stratifies_by_region(client, auth, session):
    auth.login()
    programme = make_programme(session)
    for number in range(30):
        region = "London" if number % 3 else "North West"
        make_participant(session, programme, id_number=f"R{number:03d}", region=region)
    wave = make_wave(session, programme)
    session.commit()
    url = f"/admin/waves/{wave.id}/non-respondents/sample"

    first = _sample_ids(client, url + "?size=6&seed=1234")
    again = _sample_ids(client, url + "?size=6&seed=1234")
    other = _sample_ids(client, url + "?size=6&seed=98765")
    stratified = _sample_ids(client, url + "?size=6&seed=1234&by_region=y")
    download = client.get(url + "?size=6&seed=1234&download=csv")

    assert len(first) == 6 and first == again and first != other
    regions = {f"R{n:03d}": "London" if n % 3 else "North West" for n in range(30)}
    assert sorted(regions[i] for i in stratified) == ["London"] * 4 + ["North West"] * 2
    assert [row[0] for row in csv.reader(io.StringIO(download.data.decode("utf-8-sig")))][
        1:
    ] == first


def test_sample_page_offers_a_seed_and_refuses_a_bad_one(client, auth, session):
    auth.login()
    wave = make_wave(session)
    session.commit()
    url = f"/admin/waves/{wave.id}/non-respondents/sample"

    blank = client.get(url)
    bad = client.get(url + "?size=0&seed=abc")

    assert re.search(r'id="seed"[^>]*type="text" value="\d+"', blank.text)
    assert bad.status_code == 422
    assert "Choose between 1 and 10,000 people" in bad.text


def test_a_wave_that_does_not_exist_answers_404(client, auth):
    auth.login()

    for url in ("dashboard", "non-respondents", "non-respondents.csv", "non-respondents/sample"):
        assert client.get(f"/admin/waves/999/{url}").status_code == 404


def _queries_for(app, client, url):
    engine = app.extensions["surveyapp.engine"]
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return statements


def test_dashboard_queries_do_not_grow_with_the_number_of_people(app, client, auth, session):
    auth.login()
    measured = []
    for size in (10, 60):
        programme = make_programme(session)
        for number in range(size):
            make_participant(session, programme, team=f"Team {number % 7}", region=f"R{number % 3}")
        wave = make_wave(session, programme)
        for invitation in wave.invitations[::2]:
            invitation.completed_at = NOW - timedelta(hours=invitation.id % 30)
        session.commit()
        measured.append(
            (
                len(_queries_for(app, client, f"/admin/waves/{wave.id}/dashboard?sort=gap")),
                len(_queries_for(app, client, f"/admin/waves/{wave.id}/non-respondents")),
                len(_queries_for(app, client, f"/admin/programmes/{programme.id}")),
            )
        )

    assert measured[0] == measured[1]
    assert measured[0][0] <= 12
