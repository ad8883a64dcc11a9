"""Progress of a long export, and background export jobs kept as files."""

import json
import os
import time
from datetime import timedelta

import pandas as pd
import pytest

from surveyapp.exports import STAGES, export_wave, jobs, to_csv_bytes
from surveyapp.exports import formats as export_formats
from surveyapp.exports.progress import describe, overall_percent
from surveyapp.scoring import scales
from tests.conftest import NOW
from tests.factories import make_programme
from tests.scoring.builders import cohort, store_questionnaire, submit_all, wave_of


def _wave(session, people=12):
    programme = make_programme(session, name="Jobs Programme")
    cohort(session, {"North": people // 2, "South": people - people // 2}, programme)
    wave = wave_of(session, programme, store_questionnaire(session), label="Baseline")
    submit_all(session, wave, lambda person: {"q1": 4, "q2": 3, "q3": 2, "q4": 5, "comment": "ok"})
    session.commit()
    return wave


def test_an_export_reports_its_stages_in_order(session, monkeypatch):
    wave = _wave(session)
    monkeypatch.setattr(scales, "BATCH", 7)  # several batches of answers: several reports
    heard = []

    exported = export_wave(
        session,
        wave,
        file_format="csv",
        layout="wide",
        for_evaluator=True,
        progress=lambda stage, fraction: heard.append((stage, fraction)),
    )

    stages = [stage for stage, _ in heard]
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == list(STAGES)
    for stage in STAGES:
        fractions = [fraction for name, fraction in heard if name == stage]
        assert fractions[0] == 0.0 and fractions[-1] == 1.0
        assert fractions == sorted(fractions)
    loading = [fraction for name, fraction in heard if name == "loading"]
    assert len(set(loading)) > 3  # the answers arrived in batches, each reported
    assert exported.content.startswith(b"\xef\xbb\xbfid_number")
    percents = [overall_percent(stage, fraction) for stage, fraction in heard]
    assert percents == sorted(percents) and percents[-1] == 100


def test_the_terminal_says_the_stage_and_how_far_it_has_got():
    assert describe("loading", 0.4) == "Loading answers… 40%"
    assert describe("writing", 1.0) == "Writing the file… 100%"
    with pytest.raises(ValueError, match="no stage 'sending'"):
        overall_percent("sending", 0.5)


def test_a_csv_written_in_parts_is_the_same_file(session, monkeypatch):
    wave = _wave(session)
    whole = export_wave(session, wave, file_format="csv", layout="long", for_evaluator=False)
    monkeypatch.setattr(export_formats, "PROGRESS_ROWS", 5)
    parts = []

    in_parts = export_wave(
        session,
        wave,
        file_format="csv",
        layout="long",
        for_evaluator=False,
        progress=lambda stage, fraction: parts.append(fraction) if stage == "writing" else None,
    )

    assert in_parts.content == whole.content
    assert len(parts) > 4
    empty = pd.DataFrame({"id_number": []})
    assert to_csv_bytes(empty, progress=parts.append) == "\ufeffid_number\r\n".encode()


def test_a_job_runs_to_a_file_that_is_handed_over_once(app, session, tmp_path):
    wave = _wave(session)
    store = jobs.JobStore(tmp_path / "jobs")
    job, new = jobs.find_or_create(
        store,
        NOW,
        owner=1,
        wave_id=wave.id,
        file_format="csv",
        layout="wide",
        for_evaluator=True,
        threshold=5,
    )
    again, new_again = jobs.find_or_create(
        store,
        NOW,
        owner=1,
        wave_id=wave.id,
        file_format="csv",
        layout="wide",
        for_evaluator=True,
        threshold=5,
    )
    assert new and not new_again and again.id == job.id

    finished = jobs.run(store, job, app.extensions["surveyapp.sessionmaker"], lambda: NOW)

    assert finished.state == jobs.READY and finished.percent == 100
    assert finished.filename == "jobs_programme_baseline_wide_suppressed.csv"
    assert store.get(job.id) == finished
    expected = export_wave(session, wave, file_format="csv", layout="wide", for_evaluator=True)
    assert store.take(finished) == expected.content
    assert store.take(finished) is None
    assert store.get(job.id) is None
    assert list((tmp_path / "jobs").iterdir()) == []


def test_a_job_that_cannot_be_made_says_why(app, tmp_path):
    store = jobs.JobStore(tmp_path / "jobs")
    job = store.create(
        NOW,
        owner=1,
        wave_id=999,
        file_format="csv",
        layout="wide",
        for_evaluator=True,
        threshold=5,
    )

    finished = jobs.run(store, job, app.extensions["surveyapp.sessionmaker"], lambda: NOW)

    assert finished.state == jobs.FAILED
    assert finished.message == "The wave no longer exists."
    assert json.loads((tmp_path / "jobs" / f"{job.id}.json").read_text())["state"] == "failed"


def test_jobs_older_than_an_hour_are_removed_with_their_files(tmp_path):
    store = jobs.JobStore(tmp_path)
    request = {
        "owner": 1,
        "wave_id": 1,
        "file_format": "csv",
        "layout": "wide",
        "for_evaluator": True,
        "threshold": 5,
    }
    old = store.create(NOW - timedelta(minutes=61), **request)
    store.write_file(old, b"old answers")
    recent = store.create(NOW - timedelta(minutes=59), **request)

    assert store.remove_expired(NOW) == 1

    assert store.get(old.id) is None and store.take(old) is None
    assert store.get(recent.id) == recent
    assert sorted(path.name for path in tmp_path.iterdir()) == [f"{recent.id}.json"]


@pytest.mark.parametrize("job_id", ["", "../../secret_key", "a" * 21, "a/" * 11, None])
def test_only_well_formed_job_ids_are_looked_up(tmp_path, job_id):
    (tmp_path / "secret_key.json").write_text("{}")

    assert jobs.JobStore(tmp_path / "jobs").get(job_id) is None


def test_a_job_whose_thread_is_gone_is_reported_stopped_and_not_reused(tmp_path):
    store = jobs.JobStore(tmp_path)
    request = {
        "owner": 1,
        "wave_id": 1,
        "file_format": "csv",
        "layout": "wide",
        "for_evaluator": True,
        "threshold": 5,
    }
    orphan = store.create(NOW, **request)
    long_ago = time.time() - jobs.STALLED.total_seconds() - 1
    os.utime(tmp_path / f"{orphan.id}.json", (long_ago, long_ago))

    seen = store.get(orphan.id)
    job, new = jobs.find_or_create(store, NOW, **request)

    assert seen.state == jobs.FAILED and "stopped before it finished" in seen.message
    assert new and job.id != orphan.id


def test_one_export_at_a_time_per_person(tmp_path):
    store = jobs.JobStore(tmp_path)
    request = {
        "owner": 1,
        "wave_id": 1,
        "file_format": "csv",
        "layout": "wide",
        "for_evaluator": True,
        "threshold": 5,
    }
    first, first_new = jobs.find_or_create(store, NOW, **request)

    second, second_new = jobs.find_or_create(store, NOW, **(request | {"file_format": "sav"}))
    someone_else, their_new = jobs.find_or_create(store, NOW, **(request | {"owner": 2}))

    assert first_new and not second_new and second.id == first.id
    assert their_new and someone_else.id != first.id
    store.save(jobs.Job(**{**first.__dict__, "state": jobs.READY}))
    third, third_new = jobs.find_or_create(store, NOW, **(request | {"file_format": "sav"}))
    assert third_new and third.id != first.id
