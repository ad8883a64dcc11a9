"""The evaluator's change-over-time and answers-by-item pages."""

import re
from datetime import timedelta

import pytest

from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.results.operations import dropped_words, p_value
from surveyapp.scoring import ALL_RESPONDENTS, load_answers, paired_change
from tests.conftest import NOW
from tests.factories import make_participant, make_programme
from tests.scoring.builders import cohort, store_questionnaire, submit_all, wave_of

EVALUATOR = {"email": "evaluator@example.org", "role": "evaluator"}
#: Grid row r1 (a 1 to 5 matrix row) at baseline and midterm, by person: 8 peers, 6 supporters.
BEFORE = [1, 2, 2, 3, 4, 2, 3, 1, 2, 3, 3, 4, 2, 5]
AFTER = [3, 2, 4, 4, 5, None, 4, 2, 3, 3, 5, 4, 4, 5]


def _two_waves(session, after=AFTER):
    programme = make_programme(session, name="Change Programme")
    people = [make_participant(session, programme, role="Peer") for _ in range(8)]
    people += [make_participant(session, programme, role="Peer supporter") for _ in range(6)]
    version = store_questionnaire(session)
    baseline = wave_of(
        session, programme, version, label="Baseline", opens_at=NOW - timedelta(days=2)
    )
    midterm = wave_of(session, programme, version, label="Midterm")
    before = {person.id: value for person, value in zip(people, BEFORE, strict=True)}
    after = {person.id: value for person, value in zip(people, after, strict=True)}
    submit_all(session, baseline, lambda person: {"r1": before[person.id], "q1": 4})
    submit_all(session, midterm, lambda person: {"r1": after[person.id]})
    session.commit()
    return programme, baseline, midterm


def _row(html: str, table_id: str, group: str) -> str:
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S).group(0)
    return re.search(rf">{re.escape(group)}</th>.*?</tr>", table, re.S).group(0)


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


@pytest.mark.parametrize("by", [None, "role"])
def test_the_change_page_shows_the_numbers_paired_change_computes(client, auth, session, by):
    programme, baseline, midterm = _two_waves(session)
    auth.login(**EVALUATOR)

    query = f"first={baseline.id}&second={midterm.id}" + (f"&by={by}" if by else "")
    response = client.get(f"/admin/programmes/{programme.id}/change?{query}")

    assert response.status_code == 200
    expected = paired_change(session, baseline, midterm, by=by).set_index(["scale", "group"])
    groups = [ALL_RESPONDENTS] + (["Peer", "Peer supporter"] if by else [])
    for group in groups:
        row = expected.loc[("grid_score", group)]
        assert not row["hidden"]
        dropped = row["n_dropped"]
        assert _cells(_row(response.text, "change-grid_score", group)) == [
            str(row["n_paired"]),
            str(dropped) if dropped == 0 or dropped >= 5 else "Fewer than 5",
            f"{row['mean_first']:.2f}",
            f"{row['mean_second']:.2f}",
            f"{row['mean_change']:.2f}",
            f"{row['ci_low']:.2f} to {row['ci_high']:.2f}",
            f"{row['t']:.2f} ({int(row['df'])})",
            p_value(row["p"]).replace("<", "&lt;"),
            "Rose" if row["ci_low"] > 0 else "No clear change",
        ]
    total = expected.loc[("grid_score", ALL_RESPONDENTS)]
    assert (total["n_paired"], total["n_dropped"]) == (13, 1)
    reading = re.search(r'id="reading-grid_score">(.*?)</p>', response.text).group(1)
    assert reading == (
        f"On average confidence rose by {total['mean_change']:.1f} points (95% CI "
        f"{total['ci_low']:.1f} to {total['ci_high']:.1f}) for the 13 people who answered both."
    )


def test_two_people_dropped_out_shows_fewer_than_5_unless_full_data_is_asked_for(
    client, auth, session
):
    # Two peers have no second-wave score; 12 are paired.
    after = [3, 2, None, 4, 5, None, 4, 2, 3, 3, 5, 4, 4, 5]
    programme, baseline, midterm = _two_waves(session, after)
    url = f"/admin/programmes/{programme.id}/change?first={baseline.id}&second={midterm.id}"
    auth.login(**EVALUATOR)

    suppressed = client.get(url).text
    by_role = client.get(url + "&by=role").text
    auth.login(email="manager@example.org", role="programme_manager")
    full = client.get(url + "&full=1").text

    assert _cells(_row(suppressed, "change-grid_score", ALL_RESPONDENTS))[:2] == [
        "12",
        "Fewer than 5",
    ]
    assert _cells(_row(by_role, "change-grid_score", "Peer"))[:2] == ["6", "Fewer than 5"]
    assert _cells(_row(by_role, "change-grid_score", "Peer supporter"))[:2] == ["6", "0"]
    assert "A count of people not yet answered below 5 reads “Fewer than 5”" in suppressed
    assert _cells(_row(full, "change-grid_score", ALL_RESPONDENTS))[:2] == ["12", "2"]


def test_a_dropped_out_count_that_would_give_away_a_smaller_one_is_not_shown():
    def record(group, dropped, hidden=False):
        return {
            "scale": "s",
            "label": "S",
            "group": group,
            "is_total": group == ALL_RESPONDENTS,
            "n_paired": None if hidden else 10,
            "n_dropped": None if hidden else dropped,
            "hidden": hidden,
        }

    # 8 in all, 6 and 2 by group: 8 - 6 would give the 2.
    records = [record(ALL_RESPONDENTS, 8), record("North", 6), record("South", 2)]
    # A hidden group's count is unknown, but the total minus the rest gives it too.
    with_hidden = [record(ALL_RESPONDENTS, 9), record("North", 6), record("Small", 3, True)]
    even = [record(ALL_RESPONDENTS, 12), record("North", 6), record("South", 6)]

    assert dropped_words(records, 5) == ["8", "Not shown", "Fewer than 5"]
    assert dropped_words(with_hidden, 5) == ["9", "Not shown", ""]
    assert dropped_words(records, None) == ["8", "6", "2"]
    assert dropped_words(even, 5) == ["12", "6", "6"]


def test_the_change_page_defaults_to_the_first_two_waves(client, auth, session):
    programme, baseline, midterm = _two_waves(session)
    auth.login(**EVALUATOR)

    plain = client.get(f"/admin/programmes/{programme.id}/change").text
    linked = client.get(f"/admin/programmes/{programme.id}/change?second={midterm.id}").text

    for html in (plain, linked):
        assert "From Baseline to Midterm" in html
        assert 'id="change-grid_score"' in html
    scales = client.get(f"/admin/waves/{midterm.id}/results").text
    assert f'href="/admin/programmes/{programme.id}/change?second={midterm.id}"' in scales
    assert f'href="/admin/waves/{midterm.id}/results/items"' in scales


def test_p_below_one_in_a_thousand_is_written_as_such():
    assert p_value(0.0004) == "< 0.001"
    assert p_value(0.0213) == "0.021"
    assert p_value(None) == "–"


def test_an_anonymous_wave_shows_why_it_cannot_be_paired(client, auth, session):
    programme, baseline, _ = _two_waves(session)
    anonymous = wave_of(
        session, programme, baseline.questionnaire_version, label="Pulse", privacy="anonymous"
    )
    session.commit()
    auth.login(**EVALUATOR)

    response = client.get(
        f"/admin/programmes/{programme.id}/change?first={baseline.id}&second={anonymous.id}"
    )

    assert response.status_code == 200
    assert 'id="change-problem"' in response.text
    assert "The wave “Pulse” is anonymous" in response.text
    assert "<table" not in response.text


def test_the_items_page_counts_the_stored_answers(client, auth, session):
    _, baseline, _ = _two_waves(session)
    auth.login(**EVALUATOR)

    response = client.get(f"/admin/waves/{baseline.id}/results/items")

    assert response.status_code == 200
    stored = load_answers(session, baseline)
    values = stored.loc[stored["answer_id"] == "r1", "value"].tolist()
    questionnaire = questionnaire_of(baseline.questionnaire_version)
    grid = questionnaire.item("grid")
    html = response.text
    for code in (1, 2, 3, 4, 5):
        count = values.count(code)
        cells = _cells(_row(html, "table-r1", grid.label_of(code)))
        assert cells == [str(count), f"{100 * count / len(values):.0f}%"]
    assert _cells(_row(html, "table-r1", "Asked"))[0] == str(len(values))
    item = re.search(r'<div class="app-item" id="item-r1">.*?</svg>', html, re.S).group(0)
    assert 'role="img"' in item and 'aria-label="Bar chart of the 14 answers' in item
    assert item.count('class="app-item-chart__bar"') == 6  # five points and "not my job"
    assert 'id="page-first"' in html
    # Only items with a set of answers to choose from are drawn.
    assert 'id="item-comment"' not in html


def test_an_item_with_too_few_answers_is_hidden(client, auth, session):
    programme = make_programme(session)
    for _ in range(3):
        make_participant(session, programme)
    wave = wave_of(session, programme, store_questionnaire(session))
    submit_all(session, wave, lambda person: {"q1": 4})
    session.commit()
    auth.login(**EVALUATOR)

    html = client.get(f"/admin/waves/{wave.id}/results/items").text

    item = re.search(r'id="item-q1">.*?</div>', html, re.S).group(0)
    assert "Hidden: fewer than 5 responses" in item
    assert "<svg" not in item and 'id="table-q1"' not in html


@pytest.mark.parametrize("path", ["programmes/{programme}/change", "waves/{wave}/results/items"])
def test_a_viewer_cannot_see_them(client, auth, session, path):
    programme, baseline, _ = _two_waves(session)
    auth.login(email="viewer@example.org", role="viewer")

    url = "/admin/" + path.format(programme=programme.id, wave=baseline.id)

    assert client.get(url).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "programmes/999999/change",
        "programmes/{programme}/change?first=999999",
        "programmes/{programme}/change?second={other}",
        "waves/999999/results/items",
    ],
)
def test_an_unknown_programme_or_wave_is_not_found(client, auth, session, path):
    programme, _, _ = _two_waves(session)
    other = wave_of(session, make_programme(session, name="Other Programme"))
    session.commit()
    auth.login(**EVALUATOR)

    url = "/admin/" + path.format(programme=programme.id, other=other.id)

    assert client.get(url).status_code == 404


def test_a_programme_sets_its_own_reporting_threshold(client, auth, session):
    from sqlalchemy import select

    from surveyapp.models import Programme

    auth.login()

    low = client.post(
        "/admin/programmes/new", data={"name": "P", "run_by": "T", "reporting_threshold": "2"}
    )
    made = client.post(
        "/admin/programmes/new", data={"name": "P", "run_by": "T", "reporting_threshold": "8"}
    )

    assert low.status_code == 422 and "The reporting threshold must be 3 or more" in low.text
    assert made.status_code == 303
    assert session.scalar(select(Programme.reporting_threshold)) == 8
    assert "groups of fewer than 8 respondents are hidden" in client.get(made.location).text


def test_a_programmes_threshold_can_be_changed_but_not_below_three(client, auth, session):
    from tests.factories import make_programme

    auth.login()
    programme = make_programme(session, name="Kept")
    session.commit()
    url = f"/admin/programmes/{programme.id}/edit"

    low = client.post(url, data={"name": "Kept", "run_by": "T", "reporting_threshold": "1"})
    saved = client.post(url, data={"name": "Renamed", "run_by": "T", "reporting_threshold": "7"})

    assert low.status_code == 422
    assert saved.status_code == 303
    session.expire_all()
    assert (programme.name, programme.reporting_threshold) == ("Renamed", 7)


def test_an_empty_wave_says_there_are_no_responses_yet_not_that_they_are_few(client, auth, session):
    programme = make_programme(session, name="Empty")
    wave = wave_of(session, programme, store_questionnaire(session), label="Baseline")
    culture = wave_of(session, programme, key="leadership_culture", label="Culture")
    session.commit()
    auth.login(email="evaluator@example.org", role="evaluator")

    scales = client.get(f"/admin/waves/{wave.id}/results").text
    items = client.get(f"/admin/waves/{wave.id}/results/items").text
    profile = client.get(f"/admin/waves/{culture.id}/results/culture").text

    assert 'colspan="4">no responses yet</td>' in scales
    assert "No responses yet." in scales and "No responses yet." in items
    assert "There are no responses yet." in profile
    for page in (scales, items, profile):
        assert "hidden: fewer than" not in page.lower()


def _record(mean, low, high, paired=13, hidden=False):
    return {
        "scale": "confidence",
        "label": "Confidence",
        "group": ALL_RESPONDENTS,
        "is_total": True,
        "n_paired": paired,
        "mean_change": mean,
        "ci_low": low,
        "ci_high": high,
        "hidden": hidden,
        "note": "",
    }


def test_a_change_whose_interval_includes_zero_is_no_clear_change():
    from surveyapp.results.operations import change_reading, verdict

    unclear = _record(0.4, -0.7, 1.5)
    rose = _record(0.4, 0.1, 0.7)
    fell = _record(-1.2, -2.0, -0.3)

    assert change_reading(unclear) == (
        "No clear change in confidence for the 13 people who answered both: the mean change "
        "was 0.4 points, but its 95% CI -0.7 to 1.5 includes zero."
    )
    assert "rose" not in change_reading(unclear)
    assert change_reading(rose) == (
        "On average confidence rose by 0.4 points (95% CI 0.1 to 0.7) for the 13 people "
        "who answered both."
    )
    assert [verdict(r) for r in (unclear, rose, fell)] == ["No clear change", "Rose", "Fell"]
    single = _record(1.0, None, None, paired=1)
    assert "too few to tell" in change_reading(single) and verdict(single) == "No clear change"


def test_the_change_page_says_no_clear_change_when_the_interval_includes_zero(
    client, auth, session
):
    # Half rise by one point, half fall by one: a mean change near zero, an interval across it.
    after = [b + (1 if n % 2 else -1) for n, b in enumerate(BEFORE)]
    after[0] = 2  # 1 -> 0 is off the scale
    programme, baseline, midterm = _two_waves(session, after)
    auth.login(**EVALUATOR)

    page = client.get(
        f"/admin/programmes/{programme.id}/change?first={baseline.id}&second={midterm.id}"
    ).text

    reading = re.search(r'id="reading-grid_score">(.*?)</p>', page).group(1)
    assert reading.startswith("No clear change in confidence for the 13 people")
    assert "includes zero" in reading
    assert _cells(_row(page, "change-grid_score", ALL_RESPONDENTS))[-1] == "No clear change"


def test_people_without_a_second_score_have_not_yet_answered_while_it_is_open(
    client, auth, session
):
    programme, baseline, midterm = _two_waves(session)
    url = f"/admin/programmes/{programme.id}/change?first={baseline.id}&second={midterm.id}"
    auth.login(**EVALUATOR)

    open_page = client.get(url).text
    midterm.opens_at, midterm.closes_at = NOW - timedelta(days=1), NOW - timedelta(hours=1)
    session.commit()
    closed_page = client.get(url).text

    assert "n not yet answered</th>" in open_page and "dropped out" not in open_page
    assert "they may still answer" in open_page
    assert "n dropped out</th>" in closed_page and "not yet answered" not in closed_page


def test_change_by_team_shows_a_released_team_and_hides_the_small_ones(client, auth, session):
    programme = make_programme(session, name="Teams")
    people = cohort(session, {"North": 8, "South": 6, "Harbour": 3}, programme)
    version = store_questionnaire(session)
    baseline = wave_of(
        session, programme, version, label="Baseline", opens_at=NOW - timedelta(days=2)
    )
    midterm = wave_of(session, programme, version, label="Midterm")
    place = {person.id: n for n, person in enumerate(people)}
    submit_all(session, baseline, lambda person: {"r1": place[person.id] % 4 + 1, "q1": 4})
    submit_all(session, midterm, lambda person: {"r1": place[person.id] % 3 + 2})
    session.commit()
    url = f"/admin/programmes/{programme.id}/change?first={baseline.id}&second={midterm.id}"
    auth.login(**EVALUATOR)

    page = client.get(url + "&by=team").text
    auth.login(email="manager@example.org", role="programme_manager")
    full = client.get(url + "&by=team&full=1").text

    assert '<option value="team" selected>Team</option>' in page
    assert _cells(_row(page, "change-grid_score", "North"))[0] == "8"
    # Harbour (3) is too small; South is pooled with it so that it cannot be worked out.
    assert "hidden" in _row(page, "change-grid_score", "Harbour")
    assert "hidden" in _row(page, "change-grid_score", "South")
    assert _cells(_row(full, "change-grid_score", "Harbour"))[0] == "3"
