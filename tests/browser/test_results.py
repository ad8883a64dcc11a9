"""An evaluator in Chromium: the culture profile of a team, then the SPSS file."""

import random

import pyreadstat
import pytest

from surveyapp.demo import sample_answers
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.staff import access
from surveyapp.staff import operations as accounts
from tests.browser.conftest import sign_in
from tests.conftest import NOW, PASSWORD
from tests.factories import make_programme
from tests.scoring.builders import cohort, submit_all, wave_of

pytestmark = pytest.mark.browser


def test_an_evaluator_reads_a_team_profile_and_downloads_the_sav(browser, live_server, tmp_path):
    with live_server.sessionmaker() as session:
        programme = make_programme(session)
        # Fifteen: an anonymous wave is released in steps of the threshold (5).
        cohort(session, {"North": 7, "South": 5, "Harbour": 3}, programme)
        wave = wave_of(session, programme, key="leadership_culture", privacy="anonymous")
        questionnaire = questionnaire_of(wave.questionnaire_version)
        rng = random.Random(7)
        submit_all(session, wave, lambda person: sample_answers(questionnaire, rng, 0.5))
        evaluator = accounts.create_user(
            session, email="eva@example.org", password=PASSWORD, role="evaluator", now=NOW
        )
        access.set_membership(session, evaluator, {programme.id})  # evaluators see their own
        session.commit()
        wave_id = wave.id
    page = browser.new_page()
    page.goto(f"{live_server.url}/auth/login")
    page.fill("#email", "eva@example.org")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/admin/programmes")

    page.goto(f"{live_server.url}/admin/waves/{wave_id}/results/culture?team=North")
    assert page.locator("svg").first.is_visible()
    assert page.locator("text=Leaders and managers link change").first.is_visible()
    page.goto(f"{live_server.url}/admin/waves/{wave_id}/results/culture?team=Harbour")
    assert page.locator("text=hidden").first.is_visible()

    page.goto(f"{live_server.url}/admin/waves/{wave_id}/results")
    page.check("input[name=format][value=sav]")
    with page.expect_download() as download:
        page.click("button:has-text('Download the data')")
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)

    frame, meta = pyreadstat.read_sav(str(target))
    assert target.suffix == ".sav"
    assert len(frame) == 15
    assert "id_number" not in frame.columns  # an anonymous wave carries no ID
    assert "Harbour" not in set(frame["team"])  # a team of 3 is pooled for evaluators
    assert meta.column_names_to_labels["culture_01"]


def test_a_large_export_shows_its_progress_then_the_file_and_a_chart_downloads_as_png(
    browser, live_server, tmp_path, monkeypatch
):
    from surveyapp.exports import jobs

    monkeypatch.setattr(jobs, "BACKGROUND_ANSWERS", 10)  # the live server runs in this process
    with live_server.sessionmaker() as session:
        programme = make_programme(session)
        # Fifteen: an anonymous wave is released in steps of the threshold (5).
        cohort(session, {"North": 9, "South": 6}, programme)
        wave = wave_of(session, programme, key="leadership_culture", privacy="anonymous")
        questionnaire = questionnaire_of(wave.questionnaire_version)
        rng = random.Random(8)
        submit_all(session, wave, lambda person: sample_answers(questionnaire, rng, 0.5))
        session.commit()
        wave_id = wave.id
    page = browser.new_page()
    sign_in(page, live_server.url)

    page.goto(f"{live_server.url}/admin/waves/{wave_id}/results/culture")
    with page.expect_download() as png:
        page.click("a:has-text('Download as PNG')")
    assert png.value.suggested_filename == f"culture_wave{wave_id}.png"
    png.value.save_as(tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    page.goto(f"{live_server.url}/admin/waves/{wave_id}/results")
    page.check("input[name=format][value=csv]")
    page.click("button:has-text('Download the data')")
    page.wait_for_url("**/export/progress?job=*")
    assert page.locator("h1").inner_text() == "Preparing your export"
    # htmx asks every second; the page turns into the download without a reload.
    page.locator("text=Your file is ready").wait_for(timeout=30_000)
    with page.expect_download() as exported:
        page.click("a:has-text('Download the file')")
    target = tmp_path / exported.value.suggested_filename
    exported.value.save_as(target)
    assert target.suffix == ".csv"
    assert len(target.read_text(encoding="utf-8-sig").splitlines()) == 1 + 15


def test_the_download_forms_offer_only_files_that_exist_and_name_them(
    browser, live_server, tmp_path
):
    from openpyxl import load_workbook

    with live_server.sessionmaker() as session:
        programme = make_programme(session, name="Forms")
        cohort(session, {"North": 6, "South": 6}, programme)
        wave = wave_of(session, programme, key="leadership_culture", label="Baseline")
        questionnaire = questionnaire_of(wave.questionnaire_version)
        rng = random.Random(9)
        submit_all(session, wave, lambda person: sample_answers(questionnaire, rng, 0.5))
        session.commit()
        wave_id = wave.id
    page = browser.new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/waves/{wave_id}/results")

    # The data: long, Excel, full.
    page.check("#layout-long")
    page.check("#format-xlsx")
    page.check("#full-export")
    with page.expect_download() as data:
        page.click("button:has-text('Download the data')")
    assert data.value.suggested_filename == "forms_baseline_long_full.xlsx"
    data.value.save_as(tmp_path / "data.xlsx")
    workbook = load_workbook(tmp_path / "data.xlsx")
    assert workbook.sheetnames[0] == "about"
    assert workbook["about"]["A2"].value.startswith("Full file: every response")

    # The codebook offers CSV and Excel, never SPSS.
    codebook = page.locator("#export-codebook")
    assert codebook.locator("input[name=format]").evaluate_all(
        "boxes => boxes.map(box => box.value)"
    ) == ["csv", "xlsx"]
    page.check("#codebook-format-csv")
    with page.expect_download() as book:
        page.click("button:has-text('Download the codebook')")
    assert book.value.suggested_filename == "forms_baseline_codebook_suppressed.csv"
    book.value.save_as(tmp_path / "book.csv")
    first = (tmp_path / "book.csv").read_text(encoding="utf-8-sig").splitlines()[1]
    assert first.startswith('(this file),"Small groups hidden (suppressed file)')

    # A forged link to an SPSS codebook shows an error, not a success.
    page.goto(f"{live_server.url}/admin/waves/{wave_id}/export?format=sav&layout=codebook")
    summary = page.locator(".govuk-error-summary")
    assert summary.is_visible()
    assert "Choose CSV or Excel for the codebook." in summary.inner_text()
    assert page.locator(".govuk-notification-banner--success").count() == 0
    assert summary.locator("a").get_attribute("href") == "#codebook-format-csv"
