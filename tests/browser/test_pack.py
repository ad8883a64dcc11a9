"""An evaluator in Chromium makes the programme's evaluator's pack and downloads it."""

import io
import subprocess
import zipfile

import pandas as pd
import pyreadstat
import pytest

from surveyapp.exports import POOLED
from surveyapp.staff import access
from surveyapp.staff import operations as accounts
from tests.browser.conftest import sign_in
from tests.conftest import NOW, PASSWORD
from tests.exports.test_pack import _programme

pytestmark = pytest.mark.browser


def _sign_in(page, url, email):
    sign_in(page, url, email)


@pytest.mark.posts("/admin/programmes/<int:programme_id>/pack")
def test_an_evaluator_downloads_the_pack_and_every_file_checks_out(browser, live_server, tmp_path):
    with live_server.sessionmaker() as session:
        programme, people, _baseline, _endpoint = _programme(session)
        evaluator = accounts.create_user(
            session, email="eva@example.org", password=PASSWORD, role="evaluator", now=NOW
        )
        access.set_membership(session, evaluator, {programme.id})
        session.commit()
        programme_id = programme.id
    page = browser.new_page()
    _sign_in(page, live_server.url, "eva@example.org")
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}")
    assert page.locator("#pack-full").count() == 0  # the full pack is not an evaluator's

    page.get_by_role("button", name="Download the evaluator's pack").click()
    page.wait_for_url(f"**/admin/programmes/{programme_id}/pack/progress?job=*")
    page.locator("text=Your pack is ready").wait_for(timeout=60_000)
    with page.expect_download() as download:
        page.click("a:has-text('Download the pack')")
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)

    assert target.name == "pilot_north_south_evaluators_pack_suppressed.zip"
    folder = tmp_path / "unpacked"
    zipfile.ZipFile(target).extractall(folder)
    root = folder / target.stem
    listed = sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
    for wave in ("w1_baseline", "w2_endpoint"):
        for name in ("wide.csv", "wide.sav", "wide.dta", "long.csv", "long.sav", "long.dta"):
            assert f"{wave}/{name}" in listed
        assert f"{wave}/codebook.csv" in listed and f"{wave}/codebook.html" in listed
    assert {"programme/wide.csv", "programme/wide.dta", "README.txt", "MANIFEST.sha256"} <= set(
        listed
    )
    checked = subprocess.run(
        ["sha256sum", "-c", "MANIFEST.sha256"], cwd=root, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    readme = (root / "README.txt").read_text(encoding="utf-8")
    assert "Reporting threshold applied: 5" in readme
    assert "eva@example.org (evaluator)" in readme

    csv = pd.read_csv(root / "w1_baseline" / "wide.csv", dtype={"id_number": str})
    dta, _meta = pyreadstat.read_dta(str(root / "w1_baseline" / "wide.dta"))
    assert len(dta) == len(csv) == len(people)
    assert dta["id_number"].tolist() == csv["id_number"].tolist()
    assert "East" not in set(dta["team"]) and POOLED in set(dta["team"])

    # Downloaded once, then gone; the download is in the audit log.
    page.goto(page.url.replace("/pack/progress?", "/pack/file?"))
    assert page.locator("text=This pack is no longer available").is_visible()
    with live_server.sessionmaker() as session:
        from sqlalchemy import select

        from surveyapp.models import AuditEvent

        summaries = session.scalars(
            select(AuditEvent.summary).where(AuditEvent.action == "export.download")
        ).all()
    assert any("Evaluator's pack" in summary for summary in summaries)


@pytest.mark.posts("/admin/programmes/<int:programme_id>/pack")
def test_the_programme_team_ticks_full_and_gets_the_full_pack(browser, live_server, tmp_path):
    with live_server.sessionmaker() as session:
        programme, _people, _baseline, _endpoint = _programme(session)
        session.commit()
        programme_id = programme.id
    page = browser.new_page()
    _sign_in(page, live_server.url, "admin@example.org")
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}")
    page.check("#pack-full")
    page.get_by_role("button", name="Download the evaluator's pack").click()
    page.locator("text=Your pack is ready").wait_for(timeout=60_000)
    with page.expect_download() as download:
        page.click("a:has-text('Download the pack')")
    content = io.BytesIO(download.value.path().read_bytes())

    assert download.value.suggested_filename.endswith("_evaluators_pack_full.zip")
    names = zipfile.ZipFile(content).namelist()
    assert any(name.endswith("/w3_tiny/wide.csv") for name in names)  # nothing withheld
    readme = next(name for name in names if name.endswith("/README.txt"))
    assert "do not share it" in zipfile.ZipFile(content).read(readme).decode()
