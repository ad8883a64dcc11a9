"""Exports too large to make while the browser waits: a background job per export.

Flask-free. A view calls ``start`` (which runs ``run`` in a thread of the web
process) and sends the person to a page that reads the job with
``JobStore.get``; when the job is ready the file is taken once with
``JobStore.take`` and is then gone.

Each job is two files in a folder (the instance folder's ``exports/``): its
state as JSON (``<id>.json``) and, when ready, the file (``<id>.data``). The
state is on disk, not in memory, so any worker process on the same machine can
show the progress page and hand over the file. A job and its file are removed
once downloaded, or an hour after the job started (``MAX_AGE``), whichever
comes first; ``JobStore.remove_expired`` runs whenever a job starts or is read.

A programme's evaluator's pack (``exports.pack``) is a job too: its layout is
``PACK``, its format ``zip``, its ``programme_id`` the programme and its
``wave_id`` 0.

Nothing in a job's state says who answered what: it holds the wave (or the
programme), the chosen format and layout, whether small groups are hidden, who
asked, and how far the export has got.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveyapp.exports import ExportTooLarge, export_wave
from surveyapp.exports.progress import STAGES, overall_percent
from surveyapp.models import Answer, Programme, Response, User, Wave

logger = logging.getLogger(__name__)

#: A wave with more stored answers than this is exported in the background.
BACKGROUND_ANSWERS = 20_000
#: A job, and its file, are removed this long after it started.
MAX_AGE = timedelta(hours=1)
#: What a job id looks like (``secrets.token_urlsafe(16)``); anything else is not looked up.
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")

#: A running job whose state has not changed for this long has stopped (its process ended).
STALLED = timedelta(minutes=5)

RUNNING, READY, FAILED = "running", "ready", "failed"
#: The layout of a job that makes a programme's evaluator's pack.
PACK = "pack"
#: The layout of a job that makes the ZIP of a wave's team reports (``surveyapp.reports``).
TEAM_REPORTS = "team_reports"
#: What a person is told about a job whose process ended before it finished.
STOPPED = (
    "The export stopped before it finished, perhaps because the server restarted. "
    "Export the wave again."
)
#: What a person is told when an export failed for a reason that is not theirs to fix.
UNEXPECTED = "The export failed. Try again; if it fails again, tell the programme team."


@dataclass(frozen=True)
class Job:
    """One background export: what was asked, by whom, and how far it has got."""

    id: str
    owner: int
    wave_id: int
    file_format: str
    layout: str
    for_evaluator: bool
    threshold: int
    started_at: str
    state: str = RUNNING
    stage: str = "loading"
    #: How far the current stage has got, 0 to 1.
    fraction: float = 0.0
    filename: str = ""
    mimetype: str = ""
    size: int = 0
    message: str = ""
    finished_at: str = ""
    #: The programme of an evaluator's pack (``PACK``); 0 for a wave's export.
    programme_id: int = 0
    #: Data-quality rules whose flagged responses are left out, joined by commas.
    exclude: str = ""

    @property
    def percent(self) -> int:
        """How far the whole export has got, 0 to 100."""
        return 100 if self.state == READY else overall_percent(self.stage, self.fraction)

    @property
    def stage_label(self) -> str:
        return STAGES[self.stage]

    @property
    def stage_number(self) -> int:
        return list(STAGES).index(self.stage) + 1

    def same_request(
        self,
        owner: int,
        wave_id: int,
        file_format: str,
        layout: str,
        for_evaluator: bool,
        programme_id: int = 0,
        exclude: str = "",
    ) -> bool:
        asked = (owner, wave_id, file_format, layout, for_evaluator, programme_id, exclude)
        return asked == (
            self.owner,
            self.wave_id,
            self.file_format,
            self.layout,
            self.for_evaluator,
            self.programme_id,
            self.exclude,
        )


class JobStore:
    """Jobs as files in one folder: ``<id>.json`` for the state, ``<id>.data`` for the file."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)

    def _state(self, job_id: str) -> Path:
        return self.folder / f"{job_id}.json"

    def _data(self, job_id: str) -> Path:
        return self.folder / f"{job_id}.data"

    def create(self, now: datetime, **request) -> Job:
        """Record a new job, running."""
        self.folder.mkdir(parents=True, exist_ok=True)
        job = Job(id=secrets.token_urlsafe(16), started_at=now.isoformat(), **request)
        self.save(job)
        return job

    def save(self, job: Job) -> None:
        """Write a job's state in one step, so a reader never sees half of it."""
        temporary = self.folder / f".{job.id}.{threading.get_ident()}.tmp"
        temporary.write_text(json.dumps(asdict(job)), encoding="utf-8")
        os.replace(temporary, self._state(job.id))

    def get(self, job_id: str | None) -> Job | None:
        """The job with this id, or None when there is none (any more)."""
        if not job_id or not JOB_ID.match(job_id):
            return None
        path = self._state(job_id)
        try:
            fields = json.loads(path.read_text(encoding="utf-8"))
            touched = path.stat().st_mtime
        except (FileNotFoundError, ValueError):
            return None
        job = Job(**fields)
        # Progress is written at least every few seconds while a job runs, so a state
        # untouched for minutes belongs to a thread that is gone (a worker restarted).
        # This is the machine's time, not the app's clock: it is about the process.
        if job.state == RUNNING and time.time() - touched > STALLED.total_seconds():
            return replace(job, state=FAILED, message=STOPPED)
        return job

    def jobs(self) -> list[Job]:
        """Every job in the folder."""
        if not self.folder.is_dir():
            return []
        found = (self.get(path.stem) for path in self.folder.glob("*.json"))
        return [job for job in found if job is not None]

    def write_file(self, job: Job, content: bytes) -> None:
        """Store a finished job's file (whole, then renamed into place)."""
        temporary = self.folder / f".{job.id}.data.tmp"
        temporary.write_bytes(content)
        os.replace(temporary, self._data(job.id))

    def take(self, job: Job) -> bytes | None:
        """Hand over a ready job's file once: return its bytes and remove the job.

        A second call (or two at once) gets None: the file is claimed by renaming
        it, which only one caller can do.
        """
        claimed = self.folder / f".{job.id}.data.taken.{secrets.token_hex(4)}"
        try:
            os.replace(self._data(job.id), claimed)
        except FileNotFoundError:
            return None
        try:
            return claimed.read_bytes()
        finally:
            claimed.unlink(missing_ok=True)
            self._state(job.id).unlink(missing_ok=True)

    def remove(self, job: Job) -> None:
        self._data(job.id).unlink(missing_ok=True)
        self._state(job.id).unlink(missing_ok=True)

    def remove_expired(self, now: datetime) -> int:
        """Remove jobs (and their files) started more than ``MAX_AGE`` ago; return how many."""
        removed = 0
        for job in self.jobs():
            if now - datetime.fromisoformat(job.started_at) > MAX_AGE:
                self.remove(job)
                removed += 1
        return removed


def store_for(config, instance_path: str) -> JobStore:
    """Background exports live in the instance folder (``EXPORT_JOB_FOLDER`` to move them)."""
    return JobStore(config.get("EXPORT_JOB_FOLDER") or Path(instance_path) / "exports")


def remove_for_waves(store: JobStore, wave_ids: set[int]) -> int:
    """Remove every job (and its file) of these waves, finished or not; return how many.

    After an erasure, a file made before it could still hold the person's answers. Every
    pack is removed too: a pack holds every wave of its programme.
    """
    removed = 0
    for job in store.jobs():
        if job.wave_id in wave_ids or (wave_ids and job.layout == PACK):
            store.remove(job)
            removed += 1
    return removed


def needs_background(session: Session, wave: Wave) -> bool:
    """Whether an export of this wave is made in the background: more than
    ``BACKGROUND_ANSWERS`` answers released (counted by the database, not loaded)."""
    released = select(Response.id).where(Response.wave_id == wave.id, Response.release.is_not(None))
    stored = session.scalar(
        select(func.count()).select_from(Answer).where(Answer.response_id.in_(released))
    )
    return stored > BACKGROUND_ANSWERS


def find_or_create(
    store: JobStore,
    now: datetime,
    *,
    owner: int,
    wave_id: int,
    file_format: str,
    layout: str,
    for_evaluator: bool,
    threshold: int,
    programme_id: int = 0,
    exclude: str = "",
) -> tuple[Job, bool]:
    """The same person's unfinished or undownloaded job for the same export, else a new one;
    while one of theirs is still running, that one.

    Returns the job and whether it is new (and so must be started). Asking twice,
    with a double click or the back button, does not export twice.
    """
    store.remove_expired(now)
    mine = [job for job in store.jobs() if job.owner == owner]
    for job in mine:
        if job.state != FAILED and job.same_request(
            owner, wave_id, file_format, layout, for_evaluator, programme_id, exclude
        ):
            return job, False
    # One export at a time per person: a second one waits until the first is made, so
    # nobody (nor a link on another site) can fill a worker with exports.
    running = [job for job in mine if job.state == RUNNING]
    if running:
        return running[0], False
    job = store.create(
        now,
        owner=owner,
        wave_id=wave_id,
        file_format=file_format,
        layout=layout,
        for_evaluator=for_evaluator,
        threshold=threshold,
        programme_id=programme_id,
        exclude=exclude,
    )
    return job, True


def run(
    store: JobStore,
    job: Job,
    make_session: Callable[[], Session],
    clock: Callable[[], datetime],
) -> Job:
    """Make a job's export, recording each stage as it goes; return the finished job.

    Never raises: a problem is recorded on the job (``FAILED`` with a message) for
    the progress page to say.
    """
    state = {"job": job, "percent": -1}

    def progress(stage: str, fraction: float) -> None:
        # Write the state only when the page would show something new.
        percent = overall_percent(stage, fraction)
        if stage == state["job"].stage and percent == state["percent"]:
            return
        state["percent"] = percent
        state["job"] = replace(state["job"], stage=stage, fraction=fraction)
        store.save(state["job"])

    try:
        with make_session() as session:
            if job.layout == PACK:
                exported = _make_pack(session, job, clock, progress)
            elif job.layout == TEAM_REPORTS:
                exported = _make_team_reports(session, job, clock, progress)
            else:
                wave = session.get(Wave, job.wave_id)
                if wave is None:
                    raise ValueError("The wave no longer exists.")
                exported = export_wave(
                    session,
                    wave,
                    file_format=job.file_format,
                    layout=job.layout,
                    for_evaluator=job.for_evaluator,
                    threshold=job.threshold,
                    progress=progress,
                    exclude=tuple(filter(None, job.exclude.split(","))),
                )
        store.write_file(job, exported.content)
        finished = replace(
            state["job"],
            state=READY,
            stage="writing",
            fraction=1.0,
            filename=exported.filename,
            mimetype=exported.mimetype,
            size=len(exported.content),
            finished_at=clock().isoformat(),
        )
    except (ExportTooLarge, ValueError) as problem:
        finished = replace(
            state["job"], state=FAILED, message=str(problem), finished_at=clock().isoformat()
        )
    except Exception:  # noqa: BLE001 - a thread has nobody to raise to: log it, tell the page
        logger.exception("Background export %s of wave %s failed", job.id, job.wave_id)
        finished = replace(
            state["job"], state=FAILED, message=UNEXPECTED, finished_at=clock().isoformat()
        )
    store.save(finished)
    return finished


def _make_pack(session: Session, job: Job, clock: Callable[[], datetime], progress):
    from surveyapp.exports.pack import build_pack

    programme = session.get(Programme, job.programme_id)
    if programme is None:
        raise ValueError("The programme no longer exists.")
    user = session.get(User, job.owner)
    made_by = f"{user.email} ({user.role.replace('_', ' ')})" if user else "a former account"
    return build_pack(
        session,
        programme,
        for_evaluator=job.for_evaluator,
        made_by=made_by,
        now=clock(),
        threshold=job.threshold,
        progress=progress,
    )


def _made_by(session: Session, job: Job) -> str:
    user = session.get(User, job.owner)
    return f"{user.email} ({user.role.replace('_', ' ')})" if user else "a former account"


def _make_team_reports(session: Session, job: Job, clock: Callable[[], datetime], progress):
    from surveyapp.reports.operations import wave_batch
    from surveyapp.reports.pdf import batch_zip

    wave = session.get(Wave, job.wave_id)
    if wave is None:
        raise ValueError("The wave no longer exists.")
    progress("loading", 0.0)
    batch = wave_batch(session, wave, now=clock())
    progress("loading", 1.0)
    return batch_zip(batch, made_by=_made_by(session, job), now=clock(), progress=progress)


def start(
    store: JobStore,
    job: Job,
    make_session: Callable[[], Session],
    clock: Callable[[], datetime],
) -> threading.Thread:
    """Run a job in a thread of this process (a daemon: it dies with the process)."""
    thread = threading.Thread(
        target=run, args=(store, job, make_session, clock), name=f"export-{job.id}", daemon=True
    )
    thread.start()
    return thread
