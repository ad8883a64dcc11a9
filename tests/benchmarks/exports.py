"""Benchmark: score and export waves of a large programme (issue 5, "Speed").

Run from the repository folder (PostgreSQL needs a server on 127.0.0.1:5432 with user
``postgres`` and trust authentication)::

    python -m tests.benchmarks.exports [--participants 100000] [--items 60] [--waves 3]
        [--database sqlite postgresql] [--skip-xlsx] [--no-tracemalloc] [--pack-only]

For each database it runs the migrations into a fresh database, stores a synthetic
questionnaire of N Likert items (three scales, one with reversed items), and makes a
programme of N participants who all answered every identified wave (Response and Answer
rows inserted in bulk; codes 1-5 drawn at random, about 5% of answers missing). Then,
per wave, it times ``load_answers``, scale scoring (``scores_table`` and
``summarise_scales`` by team), building the export tables once (``wave_tables``, evaluator
exports, default threshold), writing them as CSV, SPSS and Excel in the wide layout plus
CSV in the long layout, and one whole ``export_wave`` (CSV, wide) with its stages. Last
it times the evaluator's pack of the whole programme (``build_pack``: every wave in CSV,
``.sav`` and ``.dta``, the programme-wide file, codebooks, scripts, manifest), the aim
being under 90 s and 2 GB at 100,000 people x 60 items x 3 waves; ``--pack-only`` times
only the pack.

Each line prints seconds, rows, bytes, the tracemalloc peak of the step (Python
allocations; tracing slows the step, so ``--no-tracemalloc`` gives clean timings) and
the process's peak resident size so far (``ru_maxrss``, which never goes down).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import random
import resource
import secrets
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from surveyapp.cli import alembic_config
from surveyapp.db import make_engine
from surveyapp.exports import STAGES, export_tables, export_wave, wave_tables
from surveyapp.exports.pack import build_pack
from surveyapp.models import (
    Answer,
    Invitation,
    Participant,
    Programme,
    QuestionnaireVersion,
    Response,
    Wave,
)
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.questionnaires.loader import check_source
from surveyapp.scoring import load_answers, scores_table, summarise_scales

NOW = datetime(2030, 5, 1, 12, 0)
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/"
KEY = "bench_likert"
CHUNK = 50_000
MISSING = 0.05
WAVE_LABELS = ("Baseline", "Midterm", "Endpoint")


# -- the questionnaire -------------------------------------------------------------------


def questionnaire_yaml(items: int) -> str:
    """A questionnaire of ``items`` Likert items on pages of ten, with three scales."""
    lines = [
        "format_version: 1",
        f"key: {KEY}",
        "title: Benchmark questionnaire",
        "estimated_minutes: 15",
        'source: "Synthetic, for the export benchmark"',
        "option_sets:",
        "  agree5:",
        "    - {code: 1, label: Strongly disagree}",
        "    - {code: 2, label: Disagree}",
        "    - {code: 3, label: Neither agree nor disagree}",
        "    - {code: 4, label: Agree}",
        "    - {code: 5, label: Strongly agree}",
        "pages:",
    ]
    ids = [f"q{n:03d}" for n in range(1, items + 1)]
    for page, start in enumerate(range(0, items, 10), start=1):
        lines += [f"  - id: page_{page}", f"    title: Page {page}", "    items:"]
        for item in ids[start : start + 10]:
            lines += [
                f"      - id: {item}",
                "        type: likert",
                f"        text: Statement {item}.",
                "        options: agree5",
                "        required: false",
            ]
    lines.append("scales:")
    third = max(1, items // 3)
    groups = [ids[:third], ids[third : 2 * third], ids[2 * third :]]
    for number, group in enumerate([g for g in groups if g], start=1):
        lines += [
            f"  - id: scale_{number}",
            f"    label: Scale {number}",
            f"    items: [{', '.join(group)}]",
            f"    method: {'sum' if number == 3 else 'mean'}",
            f"    min_answered: {max(1, len(group) // 2)}",
        ]
        if number == 2:
            lines.append(f"    reverse: [{', '.join(group[::2])}]")
    return "\n".join(lines) + "\n"


def store_questionnaire(session: Session, items: int) -> tuple[QuestionnaireVersion, list[str]]:
    source = questionnaire_yaml(items).encode("utf-8")
    result = check_source(source, f"{KEY}.yaml", Path(f"{KEY}.yaml"))
    if result.questionnaire is None:
        raise SystemExit(f"The synthetic questionnaire is not valid: {result.errors}")
    version = QuestionnaireVersion(
        questionnaire_key=KEY,
        number=1,
        content_hash=hashlib.sha256(source).hexdigest(),
        title=result.questionnaire.title,
        source_text=source.decode("utf-8"),
        loaded_at=NOW,
    )
    session.add(version)
    session.flush()
    return version, [f"q{n:03d}" for n in range(1, items + 1)]


# -- the data ----------------------------------------------------------------------------


def _database(kind: str, folder: Path):
    if kind == "sqlite":
        return f"sqlite:///{folder / 'bench.sqlite'}", None
    name = f"surveyapp_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return POSTGRES + name, (admin, name)


def _chunks(rows: Iterator[dict], size: int = CHUNK) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _people(programme_id: int, count: int) -> Iterator[dict]:
    for n in range(count):
        yield {
            "programme_id": programme_id,
            "id_number": f"B{n:07d}",
            "name": f"Person {n}",
            "email": f"p{n}@example.org",
            "team": f"Team {n % 40}",
            "organisation": f"Council {n % 12}",
            "region": f"Region {n % 9}",
            "role": "Peer" if n % 3 else "Peer supporter",
            "attributes": {},
            "created_at": NOW,
            "updated_at": NOW,
        }


def populate(make_session, participants: int, items: int, waves: int, seed: int = 5) -> None:
    """Store the questionnaire, the cohort and ``waves`` fully answered identified waves."""
    rng = random.Random(seed)
    with make_session() as session:
        version, item_ids = store_questionnaire(session, items)
        programme = Programme(name="Export benchmark", run_by="Bench team", created_at=NOW)
        session.add(programme)
        session.flush()
        for chunk in _chunks(_people(programme.id, participants)):
            session.execute(Participant.__table__.insert(), chunk)
        people = session.execute(
            select(
                Participant.id,
                Participant.team,
                Participant.organisation,
                Participant.region,
                Participant.role,
            ).where(Participant.programme_id == programme.id)
        ).all()
        session.commit()
        print(f"  {len(people):,} participants stored", flush=True)

        for number in range(waves):
            started = time.perf_counter()
            label = WAVE_LABELS[number] if number < len(WAVE_LABELS) else f"Wave {number + 1}"
            opens = NOW + timedelta(days=120 * number)
            wave = Wave(
                programme_id=programme.id,
                questionnaire_version_id=version.id,
                label=label,
                opens_at=opens,
                closes_at=opens + timedelta(days=28),
                privacy="identified",
                audience={},
                created_at=NOW,
            )
            session.add(wave)
            session.flush()
            invitations = (
                {
                    "wave_id": wave.id,
                    "participant_id": person.id,
                    "token": secrets.token_urlsafe(16),
                    "opened_at": opens,
                    "started_at": opens,
                    "completed_at": opens + timedelta(days=1),
                    "completed_on": (opens + timedelta(days=1)).date(),
                    "pages_done": 1,
                    "pages_total": 1,
                }
                for person in people
            )
            for chunk in _chunks(invitations):
                session.execute(Invitation.__table__.insert(), chunk)
            response_ids = [f"{rng.getrandbits(128):032x}" for _ in people]
            responses = (
                {
                    "id": response_id,
                    "wave_id": wave.id,
                    "questionnaire_version_id": version.id,
                    "participant_id": person.id,
                    "team": person.team,
                    "organisation": person.organisation,
                    "region": person.region,
                    "role": person.role,
                    "release": 0,  # identified: released as sent
                }
                for response_id, person in zip(response_ids, people, strict=True)
            )
            for chunk in _chunks(responses):
                session.execute(Response.__table__.insert(), chunk)
            answers = (
                {"response_id": response_id, "answer_id": item, "value": rng.randint(1, 5)}
                for response_id in response_ids
                for item in item_ids
                if rng.random() >= MISSING
            )
            stored = 0
            for chunk in _chunks(answers):
                session.execute(Answer.__table__.insert(), chunk)
                stored += len(chunk)
            session.commit()
            print(
                f"  wave {label!r}: {len(people):,} responses, {stored:,} answers stored in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )


# -- measuring ---------------------------------------------------------------------------


def _maxrss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def measure(name: str, step: Callable[[], tuple[int, int | None]], trace: bool) -> None:
    """Run ``step`` (which returns rows and bytes) and print its figures."""
    gc.collect()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    rows, size = step()
    seconds = time.perf_counter() - started
    peak = ""
    if trace:
        _current, traced = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak = f"  py peak {traced / 2**20:8,.1f} MB"
    shown = f"{size / 2**20:8,.1f} MB" if size is not None else " " * 11
    print(
        f"    {name:<24} {seconds:8.2f} s  {rows:>10,} rows  {shown}{peak}  "
        f"maxrss {_maxrss_mb():8,.0f} MB",
        flush=True,
    )


def time_wave(session: Session, wave: Wave, *, skip_xlsx: bool, trace: bool) -> None:
    """Time one wave: load once, score, build the tables once, then write every format.

    The loaded answers and the built tables are reused across formats, as a caller
    exporting one wave several times would; the last line times one whole
    ``export_wave`` (load, score, write CSV) as a person clicking Download waits for it.
    """
    questionnaire = questionnaire_of(wave.questionnaire_version)
    responses = session.scalar(
        select(func.count()).select_from(Response).where(Response.wave_id == wave.id)
    )
    held: dict = {}

    def loading():
        held["answers"] = load_answers(session, wave)
        return len(held["answers"]), None

    def scoring():
        scores = scores_table(held["answers"], questionnaire)
        held["summary"] = summarise_scales(scores, questionnaire, by="team")
        return len(scores), None

    def tables():
        held["tables"] = wave_tables(session, wave, for_evaluator=True, answers=held["answers"])
        return len(held["tables"].data), None

    measure("load_answers", loading, trace)
    measure("scale scoring (by team)", scoring, trace)
    print(f"    {'':<24} summary by team: {len(held['summary']):,} rows", flush=True)
    measure("export tables (wide)", tables, trace)
    del held["answers"]

    formats = [("csv", "wide"), ("sav", "wide"), ("xlsx", "wide"), ("csv", "long")]
    for file_format, layout in formats:
        if file_format == "xlsx" and skip_xlsx:
            print("    write xlsx wide          skipped (--skip-xlsx)", flush=True)
            continue

        def writing(file_format=file_format, layout=layout):
            exported = export_tables(
                held["tables"], "bench", file_format=file_format, layout=layout
            )
            if file_format == "csv":
                rows = exported.content.count(b"\n") - 1
            else:
                rows = responses
            return rows, len(exported.content)

        measure(f"write {file_format} {layout}", writing, trace)
    held.clear()

    stages: dict[str, float] = {}
    started = [time.perf_counter()]

    def progress(stage: str, fraction: float) -> None:
        if fraction == 0.0 and stage not in stages:
            started[0] = time.perf_counter()
        if fraction >= 1.0:
            stages[stage] = time.perf_counter() - started[0]

    def whole():
        exported = export_wave(
            session,
            wave,
            file_format="csv",
            layout="wide",
            for_evaluator=True,
            progress=progress,
        )
        return exported.content.count(b"\n") - 1, len(exported.content)

    measure("export_wave csv wide", whole, trace)
    print(
        f"    {'':<24} stages: "
        + ", ".join(f"{STAGES[name].lower()} {seconds:.1f} s" for name, seconds in stages.items()),
        flush=True,
    )
    session.expire_all()


def time_pack(session: Session, trace: bool) -> None:
    """Time the evaluator's pack of the whole programme, as the programme page makes it."""
    programme = session.scalars(select(Programme)).one()
    stages: dict[str, float] = {}
    started = time.perf_counter()

    def progress(stage: str, fraction: float) -> None:
        stages[stage] = time.perf_counter() - started

    def packing():
        pack = build_pack(
            session, programme, for_evaluator=True, made_by="benchmark", now=NOW, progress=progress
        )
        people = session.scalar(select(func.count()).select_from(Participant))
        return people, len(pack.content)

    measure("pack (evaluator, all waves)", packing, trace)
    print(
        f"    {'':<24} reached: "
        + ", ".join(f"{stage} by {seconds:.1f} s" for stage, seconds in stages.items()),
        flush=True,
    )


def run(
    kind: str,
    participants: int,
    items: int,
    waves: int,
    skip_xlsx: bool,
    trace: bool,
    pack_only: bool = False,
):
    with tempfile.TemporaryDirectory() as folder:
        url, cleanup = _database(kind, Path(folder))
        from alembic import command

        command.upgrade(alembic_config(url), "head")
        engine = make_engine(url)
        make_session = sessionmaker(engine, expire_on_commit=False)
        try:
            print(
                f"[{kind}] generating {participants:,} participants x {items} items "
                f"x {waves} waves",
                flush=True,
            )
            started = time.perf_counter()
            populate(make_session, participants, items, waves)
            print(f"[{kind}] data generated in {time.perf_counter() - started:.1f} s", flush=True)
            with make_session() as session:
                wave_ids = session.scalars(select(Wave.id).order_by(Wave.opens_at)).all()
            for wave_id in [] if pack_only else wave_ids:
                with make_session() as session:
                    wave = session.get(Wave, wave_id)
                    print(f"[{kind}] wave {wave.label!r}", flush=True)
                    time_wave(session, wave, skip_xlsx=skip_xlsx, trace=trace)
            with make_session() as session:
                print(f"[{kind}] the evaluator's pack", flush=True)
                time_pack(session, trace)
        finally:
            engine.dispose()
            if cleanup:
                admin, name = cleanup
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=60)
    parser.add_argument("--waves", type=int, default=3)
    parser.add_argument("--database", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--skip-xlsx", action="store_true", help="Excel is the slowest format")
    parser.add_argument(
        "--no-tracemalloc", action="store_true", help="time without tracing Python allocations"
    )
    parser.add_argument("--pack-only", action="store_true", help="time only the pack")
    arguments = parser.parse_args()
    if arguments.participants >= 50_000:
        print(
            f"Note: {arguments.participants:,} participants take a while; "
            "--participants 20000 --waves 1 is much quicker.",
            flush=True,
        )
    for kind in arguments.database:
        try:
            run(
                kind,
                arguments.participants,
                arguments.items,
                arguments.waves,
                arguments.skip_xlsx,
                not arguments.no_tracemalloc,
                arguments.pack_only,
            )
        except Exception as error:  # noqa: BLE001 - report and go on to the next database
            if kind == "postgresql" and "connection" in str(error).lower():
                print(
                    f"[{kind}] skipped: no PostgreSQL server answers ({error.__class__.__name__})"
                )
            else:
                raise


if __name__ == "__main__":
    main()
