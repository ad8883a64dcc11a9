"""A large wave's export is made in the background, with a progress page, and handed over once."""

import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from surveyapp.exports import export_wave, jobs
from surveyapp.models import AuditEvent
from surveyapp.staff import operations as accounts
from tests.admin.test_results import _scale_wave
from tests.conftest import NOW

EVALUATOR = {"email": "evaluator@example.org", "role": "evaluator"}


@pytest.fixture
def job_folder(app, tmp_path, monkeypatch):
    """Any wave of more than 10 answers counts as large; jobs live in the test's folder."""
    monkeypatch.setattr(jobs, "BACKGROUND_ANSWERS", 10)
    folder = tmp_path / "export-jobs"
    app.config["EXPORT_JOB_FOLDER"] = str(folder)
    return folder


def _wait_until_done(client, url: str) -> str:
    """Ask for the progress fragment as htmx does, every 0.1 s, until polling stops."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        fragment = client.get(url, headers={"HX-Request": "true"})
        assert fragment.status_code == 200
        if 'hx-trigger="every 1s"' not in fragment.text:
            return fragment.text
        time.sleep(0.1)
    raise AssertionError(f"the export at {url} did not finish")


def _download_events(session):
    session.expire_all()
    return session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export.download").order_by(AuditEvent.id)
    ).all()


def test_a_large_export_runs_in_the_background_and_downloads_once(
    client, auth, session, job_folder
):
    wave = _scale_wave(session)
    auth.login(**EVALUATOR)
    expected = export_wave(session, wave, file_format="csv", layout="wide", for_evaluator=True)

    started = client.get(f"/admin/waves/{wave.id}/export?format=csv&layout=wide")

    assert started.status_code == 303
    progress_url = started.headers["Location"]
    assert progress_url.startswith(f"/admin/waves/{wave.id}/export/progress?job=")
    page = client.get(progress_url)
    assert page.status_code == 200 and "Preparing your export" in page.text
    done = _wait_until_done(client, progress_url)
    assert done.lstrip().startswith('<div id="export-progress"')
    assert "Your file is ready" in done and expected.filename in done
    assert _download_events(session) == []  # nothing downloaded yet

    file_url = progress_url.replace("/export/progress?", "/export/file?")
    first = client.get(file_url)
    second = client.get(file_url)

    assert first.status_code == 200
    assert first.data == expected.content
    assert first.headers["Content-Type"] == expected.mimetype
    assert first.headers["Content-Disposition"] == f'attachment; filename="{expected.filename}"'
    assert "Harbour" not in first.text  # suppressed as the page and the small export are
    assert second.status_code == 410
    assert "This export is no longer available" in second.text
    assert client.get(progress_url).status_code == 410
    assert list(job_folder.iterdir()) == []
    events = _download_events(session)
    assert len(events) == 1
    assert events[0].summary == "“Baseline” exported as csv, wide, small groups hidden"
    assert (events[0].actor, events[0].object_id) == ("evaluator@example.org", str(wave.id))


def test_asking_again_while_it_runs_does_not_start_a_second_export(
    client, auth, session, job_folder
):
    wave = _scale_wave(session)
    auth.login(**EVALUATOR)
    url = f"/admin/waves/{wave.id}/export?format=sav&layout=wide"

    first = client.get(url).headers["Location"]
    second = client.get(url).headers["Location"]

    assert first == second  # (one export at a time per person: tests/exports/test_jobs.py)
    _wait_until_done(client, first)
    other_format = client.get(url.replace("sav", "csv")).headers["Location"]
    assert other_format != first
    _wait_until_done(client, other_format)
    assert client.get(first.replace("/progress?", "/file?")).data.startswith(b"$FL2")


def test_only_the_person_who_asked_may_see_or_take_the_file(client, auth, session, job_folder):
    wave = _scale_wave(session)
    auth.login(**EVALUATOR)
    progress_url = client.get(f"/admin/waves/{wave.id}/export?format=csv").headers["Location"]
    _wait_until_done(client, progress_url)
    file_url = progress_url.replace("/export/progress?", "/export/file?")
    client.post("/auth/logout")

    auth.login(email="colleague@example.org", role="evaluator")
    assert client.get(progress_url).status_code == 410
    assert client.get(file_url).status_code == 410
    client.post("/auth/logout")
    auth.login(email="viewer@example.org", role="viewer")
    assert client.get(file_url).status_code == 403
    client.post("/auth/logout")

    auth.login(**EVALUATOR)
    assert client.get(file_url).status_code == 200
    assert len(_download_events(session)) == 1


def test_the_progress_page_says_the_stage_and_works_without_javascript(
    client, auth, session, job_folder
):
    wave = _scale_wave(session)
    auth.login(**EVALUATOR)
    owner = accounts.find_user(session, EVALUATOR["email"]).id
    store = jobs.JobStore(job_folder)
    job = store.create(
        NOW,
        owner=owner,
        wave_id=wave.id,
        file_format="xlsx",
        layout="long",
        for_evaluator=True,
        threshold=5,
    )
    store.save(replace(job, stage="scoring", fraction=0.5))
    url = f"/admin/waves/{wave.id}/export/progress?job={job.id}"

    page = client.get(url).text
    fragment = client.get(url, headers={"HX-Request": "true"}).text

    assert "Step 2 of 3: Scoring." in page and "About 52% done." in page
    assert f'<a class="govuk-link" href="{url.replace("&", "&amp;")}">Refresh this page</a>' in (
        page
    )
    assert '<progress class="app-export-progress__bar" max="100" value="52"' in page
    assert "http-equiv" not in page  # no meta refresh: htmx polls, or the person clicks
    assert 'hx-trigger="every 1s"' in fragment and "<html" not in fragment
    # Not ready yet: the file link leads back to the progress page.
    early = client.get(url.replace("/progress?", "/file?"))
    assert early.status_code == 303 and early.headers["Location"] == url


def test_a_failed_export_says_why(client, auth, session, job_folder):
    wave = _scale_wave(session)
    auth.login(**EVALUATOR)
    owner = accounts.find_user(session, EVALUATOR["email"]).id
    store = jobs.JobStore(job_folder)
    job = store.create(
        NOW,
        owner=owner,
        wave_id=wave.id,
        file_format="xlsx",
        layout="long",
        for_evaluator=True,
        threshold=5,
    )
    store.save(replace(job, state=jobs.FAILED, message="Too big."))

    page = client.get(f"/admin/waves/{wave.id}/export/progress?job={job.id}").text

    assert "The export could not be made" in page and "Too big." in page
    assert 'hx-trigger="every 1s"' not in page


def test_a_job_is_gone_after_an_hour(client, auth, session, job_folder):
    wave = _scale_wave(session)
    auth.login(**EVALUATOR)
    owner = accounts.find_user(session, EVALUATOR["email"]).id
    store = jobs.JobStore(job_folder)
    job = store.create(
        NOW - timedelta(minutes=61),
        owner=owner,
        wave_id=wave.id,
        file_format="csv",
        layout="wide",
        for_evaluator=True,
        threshold=5,
    )
    store.write_file(job, b"answers")

    assert client.get(f"/admin/waves/{wave.id}/export/file?job={job.id}").status_code == 410
    assert list(job_folder.iterdir()) == []


def test_a_small_wave_still_downloads_at_once(client, auth, session, job_folder, monkeypatch):
    monkeypatch.setattr(jobs, "BACKGROUND_ANSWERS", 20_000)
    wave = _scale_wave(session)
    auth.login(**EVALUATOR)

    response = client.get(f"/admin/waves/{wave.id}/export?format=csv&layout=wide")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert not job_folder.exists()


def test_a_progress_page_needs_a_job(client, auth, session, job_folder):
    wave = _scale_wave(session)
    auth.login(**EVALUATOR)

    assert client.get(f"/admin/waves/{wave.id}/export/progress").status_code == 400
    assert client.get(f"/admin/waves/{wave.id}/export/file?job=../../x").status_code == 410
