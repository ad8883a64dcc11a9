"""The evaluator's results pages: scale tables, exports and the culture profile."""

import random
import re

import pytest
from markupsafe import escape

from surveyapp.demo import sample_answers
from surveyapp.exports import export_wave
from surveyapp.exports.formats import CSV_MIMETYPE, SAV_MIMETYPE, XLSX_MIMETYPE
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.scoring import (
    ALL_RESPONDENTS,
    load_answers,
    scores_table,
    summarise_scales,
)
from tests.factories import make_programme
from tests.scoring.builders import cohort, store_questionnaire, submit_all, wave_of

#: Harbour has 4 people: hidden. South (the next smallest) is hidden with it, so
#: Harbour cannot be worked out from the total.
TEAMS = {"North": 8, "South": 6, "Harbour": 4}
#: Answers to q1..q4 by team (q3 is reverse-coded in the agreement scales).
ANSWERS = {
    "North": [(4, 5, 2, 4), (5, 5, 1, 4), (3, 4, 2, 4), (4, 4, 3, 5)],
    "South": [(2, 3, 4, 2), (3, 2, 4, 3)],
    "Harbour": [(1, 2, 5, 1)],
}


def _scale_wave(session):
    programme = make_programme(session, name="Results Programme")
    cohort(session, TEAMS, programme)
    wave = wave_of(session, programme, store_questionnaire(session), label="Baseline")
    seen = {team: 0 for team in TEAMS}

    def answers_of(person):
        choices = ANSWERS[person.team]
        q1, q2, q3, q4 = choices[seen[person.team] % len(choices)]
        seen[person.team] += 1
        return {"q1": q1, "q2": q2, "q3": q3, "q4": q4}

    submit_all(session, wave, answers_of)
    session.commit()
    return wave


def _culture_wave(session):
    programme = make_programme(session)
    # Twenty in all: an anonymous wave is released in steps of the threshold (5).
    cohort(session, {"North": 11, "South": 6, "Harbour": 3}, programme)
    wave = wave_of(session, programme, key="leadership_culture", privacy="anonymous")
    questionnaire = questionnaire_of(wave.questionnaire_version)
    rng = random.Random(5)
    leans = {"North": 0.8, "South": -0.8, "Harbour": 0.0}
    submit_all(session, wave, lambda person: sample_answers(questionnaire, rng, leans[person.team]))
    session.commit()
    return wave, questionnaire


def _row(html: str, table_id: str, group: str) -> str:
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S).group(0)
    return re.search(rf">{re.escape(group)}</th>.*?</tr>", table, re.S).group(0)


def test_results_show_the_scale_numbers_scoring_computes(client, auth, session):
    wave = _scale_wave(session)
    auth.login(email="evaluator@example.org", role="evaluator")

    response = client.get(f"/admin/waves/{wave.id}/results?by=team")

    assert response.status_code == 200
    questionnaire = questionnaire_of(wave.questionnaire_version)
    scores = scores_table(load_answers(session, wave), questionnaire)
    summary = summarise_scales(scores, questionnaire, by="team").set_index(["scale", "group"])
    for group in (ALL_RESPONDENTS, "North"):
        row = _row(response.text, "scale-agree_mean", group)
        expected = summary.loc[("agree_mean", group)]
        assert f">{expected['n']}<" in row
        assert f"{expected['mean']:.2f}" in row
        assert f"{expected['sd']:.2f}" in row
        assert f"{expected['median']:.2f}" in row
    assert summary.loc[("agree_mean", ALL_RESPONDENTS), "n"] == 18


def test_a_team_of_four_is_shown_as_hidden(client, auth, session):
    wave = _scale_wave(session)
    auth.login(email="evaluator@example.org", role="evaluator")

    html = client.get(f"/admin/waves/{wave.id}/results?by=team").text

    assert "hidden: fewer than 5 responses" in _row(html, "scale-agree_mean", "Harbour")
    assert "hidden: so that a smaller group" in _row(html, "scale-agree_mean", "South")
    assert "Full data (not suppressed)" not in html


def test_an_evaluator_asking_for_full_data_still_gets_suppressed_results(client, auth, session):
    wave = _scale_wave(session)
    auth.login(email="evaluator@example.org", role="evaluator")

    page = client.get(f"/admin/waves/{wave.id}/results?by=team&full=1").text
    suppressed = client.get(f"/admin/waves/{wave.id}/export?format=csv&layout=wide")
    asked_full = client.get(f"/admin/waves/{wave.id}/export?format=csv&layout=wide&full=1")

    assert "hidden: fewer than 5 responses" in _row(page, "scale-agree_mean", "Harbour")
    assert asked_full.status_code == 200
    assert asked_full.data == suppressed.data
    assert "Harbour" not in asked_full.text


@pytest.mark.parametrize("role", ["admin", "programme_manager"])
def test_the_programme_team_may_download_full_data(client, auth, session, role):
    wave = _scale_wave(session)
    auth.login(email=f"{role}@example.org", role=role)

    full = client.get(f"/admin/waves/{wave.id}/export?format=csv&layout=wide&full=1")
    suppressed = client.get(f"/admin/waves/{wave.id}/export?format=csv&layout=wide")
    page = client.get(f"/admin/waves/{wave.id}/results?by=team&full=1").text

    assert "Harbour" in full.text
    assert "Harbour" not in suppressed.text
    assert "hidden" not in _row(page, "scale-agree_mean", "Harbour")
    assert "Full data (not suppressed)" in page


@pytest.mark.parametrize(
    ("file_format", "layout", "mimetype"),
    [
        ("csv", "wide", CSV_MIMETYPE),
        ("csv", "codebook", CSV_MIMETYPE),
        ("xlsx", "long", XLSX_MIMETYPE),
        ("sav", "wide", SAV_MIMETYPE),
    ],
)
def test_downloads_have_their_content_type_and_filename(
    client, auth, session, file_format, layout, mimetype
):
    wave = _scale_wave(session)
    auth.login(email="evaluator@example.org", role="evaluator")
    expected = export_wave(
        session, wave, file_format=file_format, layout=layout, for_evaluator=True
    )

    response = client.get(f"/admin/waves/{wave.id}/export?format={file_format}&layout={layout}")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == mimetype
    assert expected.filename == f"results_programme_baseline_{layout}_suppressed.{file_format}"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="{expected.filename}"'
    )
    # Excel and SPSS files record when they were written: compare CSV byte for byte.
    start = {"csv": expected.content, "xlsx": b"PK", "sav": b"$FL2"}[file_format]
    assert response.data.startswith(start)


def test_an_unknown_format_is_refused(client, auth, session):
    wave = _scale_wave(session)
    auth.login()

    assert client.get(f"/admin/waves/{wave.id}/export?format=pdf").status_code == 400


def test_the_culture_profile_draws_the_statements_and_hides_a_small_team(client, auth, session):
    wave, questionnaire = _culture_wave(session)
    items = [item for item in questionnaire.items() if item.type == "bipolar"]
    auth.login(email="evaluator@example.org", role="evaluator")

    response = client.get(f"/admin/waves/{wave.id}/results/culture?team=North")

    assert response.status_code == 200
    svg = re.search(r'<svg id="culture-chart".*?</svg>', response.text, re.S).group(0)
    assert svg.count('class="app-culture-row"') == 32
    words = " ".join(re.sub(r"<[^>]+>", " ", svg).split())
    for item in items:  # each statement, wrapped over lines at its end of the row
        assert str(escape(item.left)) in words and str(escape(item.right)) in words
    assert "<path" in svg  # the whole organisation's marker
    table = re.search(r'<table[^>]*id="culture-table".*?</table>', response.text, re.S).group(0)
    assert str(escape(items[0].left)) in table
    assert "Leans most towards the positive statement" in response.text

    harbour = client.get(f"/admin/waves/{wave.id}/results/culture?team=Harbour")
    assert harbour.status_code == 200
    assert "Harbour is hidden: fewer than 5 responses" in harbour.text
    assert "<svg" not in harbour.text
    south = client.get(f"/admin/waves/{wave.id}/results/culture?team=South").text
    assert "South is hidden:" in south and "<svg" not in south
    assert (
        client.get(f"/admin/waves/{wave.id}/results/culture?team=Harbour&download=svg").status_code
        == 404
    )


def test_the_culture_chart_downloads_as_svg(client, auth, session):
    wave, _ = _culture_wave(session)
    auth.login(email="evaluator@example.org", role="evaluator")

    response = client.get(f"/admin/waves/{wave.id}/results/culture?team=North&download=svg")

    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.text.startswith('<?xml version="1.0"')
    assert 'xmlns="http://www.w3.org/2000/svg"' in response.text


def test_the_culture_profile_is_only_for_a_questionnaire_with_culture_items(client, auth, session):
    wave = wave_of(session, make_programme(session), key="session_evaluation")
    session.commit()
    auth.login()

    assert client.get(f"/admin/waves/{wave.id}/results/culture").status_code == 404


@pytest.mark.parametrize(
    "path", ["results", "export?format=csv", "results/culture", "results/culture?download=svg"]
)
def test_a_viewer_cannot_see_results(client, auth, session, path):
    wave, _ = _culture_wave(session)
    auth.login(email="viewer@example.org", role="viewer")

    assert client.get(f"/admin/waves/{wave.id}/{path}").status_code == 403


@pytest.mark.parametrize("path", ["results", "export?format=csv", "results/culture"])
def test_an_unknown_wave_is_not_found(client, auth, path):
    auth.login(email="evaluator@example.org", role="evaluator")

    assert client.get(f"/admin/waves/999999/{path}").status_code == 404


def test_the_wave_pages_link_to_the_results(client, auth, session):
    wave = _scale_wave(session)
    auth.login()

    html = client.get(f"/admin/waves/{wave.id}/dashboard").text

    assert f'href="/admin/waves/{wave.id}/results"' in html


def test_an_evaluator_sees_only_the_results_tab(client, auth, session):
    from tests.factories import make_wave

    wave = make_wave(session)
    session.commit()
    auth.login(email="eva@example.org", role="evaluator")

    page = client.get(f"/admin/waves/{wave.id}/results")

    assert page.status_code == 200
    nav = page.text.split('id="wave-nav"')[1].split("</nav>")[0]
    assert "Results" in nav and "Outbox" not in nav and "Reminder plan" not in nav


def _form(html: str, form_id: str) -> str:
    return re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S).group(0)


def test_the_download_forms_offer_only_files_that_exist(client, auth, session):
    wave = _scale_wave(session)
    auth.login()

    page = client.get(f"/admin/waves/{wave.id}/results").text

    data, book = _form(page, "export-data"), _form(page, "export-codebook")
    assert re.findall(r'name="format" type="radio" value="(\w+)"', data) == ["csv", "xlsx", "sav"]
    assert re.findall(r'name="layout" type="radio" value="(\w+)"', data) == ["wide", "long"]
    assert re.findall(r'name="format" type="radio" value="(\w+)"', book) == ["csv", "xlsx"]
    assert '<input type="hidden" name="layout" value="codebook">' in book


def test_a_codebook_asked_for_as_spss_is_an_error_not_a_success(client, auth, session):
    wave = _scale_wave(session)
    auth.login()

    response = client.get(f"/admin/waves/{wave.id}/export?format=sav&layout=codebook")

    assert response.status_code == 422
    assert "Content-Disposition" not in response.headers
    assert "govuk-error-summary" in response.text
    assert "Choose CSV or Excel for the codebook." in response.text
    assert 'href="#codebook-format-csv"' in response.text
    assert "<title>Error: " in response.text
    assert "Done" not in response.text and "notification-banner--success" not in response.text


def test_a_wave_too_small_to_export_says_so_in_an_error_summary(client, auth, session):
    programme = make_programme(session, name="Tiny")
    cohort(session, {"North": 3}, programme)
    wave = wave_of(session, programme, store_questionnaire(session), label="Baseline")
    submit_all(session, wave, lambda person: {"q1": 3, "q2": 3, "q3": 3, "q4": 3})
    session.commit()
    auth.login(email="evaluator@example.org", role="evaluator")

    response = client.get(f"/admin/waves/{wave.id}/export?format=csv&layout=wide")

    assert response.status_code == 422
    assert "govuk-error-summary" in response.text
    assert "fewer than the reporting threshold" in response.text
    assert "notification-banner--success" not in response.text


def test_the_full_and_the_suppressed_download_are_named_apart(client, auth, session):
    wave = _scale_wave(session)
    auth.login()

    full = client.get(f"/admin/waves/{wave.id}/export?format=xlsx&layout=long&full=1")
    suppressed = client.get(f"/admin/waves/{wave.id}/export?format=xlsx&layout=long")

    assert (
        'filename="results_programme_baseline_long_full.xlsx"'
        in (full.headers["Content-Disposition"])
    )
    assert (
        'filename="results_programme_baseline_long_suppressed.xlsx"'
        in (suppressed.headers["Content-Disposition"])
    )
