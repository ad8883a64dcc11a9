"""An evaluator in Chromium downloads every team's report from the results page, then one."""

import subprocess
import zipfile

import pytest
from sqlalchemy import select

from surveyapp.models import AuditEvent
from surveyapp.staff import access
from surveyapp.staff import operations as accounts
from tests.browser.conftest import sign_in
from tests.conftest import NOW, PASSWORD
from tests.reports.builders import culture_wave, pdf_text

pytestmark = pytest.mark.browser


@pytest.mark.posts("/admin/waves/<int:wave_id>/reports/zip")
def test_an_evaluator_downloads_the_zip_of_team_reports_and_one_team(
    browser, live_server, tmp_path
):
    with live_server.sessionmaker() as session:
        wave = culture_wave(session)
        evaluator = accounts.create_user(
            session, email="eva@example.org", password=PASSWORD, role="evaluator", now=NOW
        )
        access.set_membership(session, evaluator, {wave.programme_id})
        session.commit()
        wave_id = wave.id
    page = browser.new_page()
    sign_in(page, live_server.url, "eva@example.org")
    page.goto(f"{live_server.url}/admin/waves/{wave_id}/results")

    page.get_by_role("button", name="Download every team's report (ZIP)").click()
    page.wait_for_url(f"**/admin/waves/{wave_id}/reports/progress?job=*")
    page.locator("text=The team reports are ready").wait_for(timeout=60_000)
    with page.expect_download() as download:
        page.click("a:has-text('Download the team reports')")
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)

    assert target.name == "culture_pilot_culture_survey_team_reports.zip"
    folder = tmp_path / "unpacked"
    zipfile.ZipFile(target).extractall(folder)
    root = folder / target.stem
    assert sorted(path.name for path in root.iterdir()) == [
        "MANIFEST.sha256",
        "README.txt",
        "team_east.pdf",
        "team_north.pdf",
    ]
    checked = subprocess.run(["sha256sum", "-c", "MANIFEST.sha256"], cwd=root, capture_output=True)
    assert checked.returncode == 0
    readme = (root / "README.txt").read_text(encoding="utf-8")
    assert "Harbour: hidden: fewer than 5 responses" in readme
    assert "eva@example.org (evaluator)" in readme
    assert "Team report: North" in pdf_text((root / "team_north.pdf").read_bytes())

    # The team reports page: the teams without a report and why, and a link per team.
    page.goto(f"{live_server.url}/admin/waves/{wave_id}/results")
    page.click("text=See which teams have a report and download each one")
    page.wait_for_url(f"**/admin/waves/{wave_id}/reports")
    assert page.locator("#withheld-teams").get_by_text("Quay").is_visible()
    with page.expect_download() as one:
        page.locator("#team-reports").get_by_role("link", name="East").click()
    assert one.value.suggested_filename == "team_east.pdf"
    assert "Team report: East" in pdf_text(one.value.path().read_bytes())

    with live_server.sessionmaker() as session:
        summaries = session.scalars(
            select(AuditEvent.summary).where(AuditEvent.action == "export.download")
        ).all()
    assert any("Team reports of “Culture survey”" in summary for summary in summaries)
    assert any("Team report of “East”" in summary for summary in summaries)
