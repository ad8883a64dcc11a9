"""Benchmark: queue and send personalised reminders to thousands of people over loopback SMTP.

Run: python -m tests.benchmarks.reminders [--people 5000] [--database sqlite|postgresql]

Prints the time to queue (render every personal message into the outbox), messages a
second through a real SMTP conversation on 127.0.0.1 (aiosmtpd, one reused connection),
and the time a second run takes when everything is already sent (it must send nothing).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import sessionmaker

from surveyapp import PROJECT_ROOT
from surveyapp.cli import alembic_config
from surveyapp.db import make_engine
from surveyapp.mail import SmtpMailer, SmtpSettings
from surveyapp.models import Message, Participant, Programme
from surveyapp.questionnaires import catalogue, load_all
from surveyapp.reminders import sending
from surveyapp.waves.operations import create_wave
from tests.benchmarks.common import free_port

NOW = datetime(2030, 5, 1, 12, 0)
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/"


class Counter:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def _database(kind: str, folder: Path):
    if kind == "sqlite":
        return f"sqlite:///{folder / 'bench.sqlite'}", None
    name = f"surveyapp_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return POSTGRES + name, (admin, name)


def _populate(make_session, people: int):
    with make_session() as session:
        catalogue.store_versions(session, load_all(PROJECT_ROOT / "questionnaires"), now=NOW)
        programme = Programme(name="Benchmark", run_by="Bench team", created_at=NOW)
        session.add(programme)
        session.flush()
        session.execute(
            Participant.__table__.insert(),
            [
                {
                    "programme_id": programme.id,
                    "id_number": f"B{n:06d}",
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
                for n in range(people)
            ],
        )
        version = catalogue.latest_versions(session)["peer_support_baseline"]
        create_wave(
            session,
            programme=programme,
            version=version,
            label="Baseline",
            opens_at=NOW - timedelta(hours=1),
            closes_at=NOW + timedelta(days=28),
            privacy="identified",
            now=NOW,
        )
        session.commit()


def run(kind: str, people: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url, cleanup = _database(kind, Path(folder))
        from alembic import command

        command.upgrade(alembic_config(url), "head")
        engine = make_engine(url)
        make_session = sessionmaker(engine, expire_on_commit=False)
        try:
            started = time.perf_counter()
            _populate(make_session, people)
            print(f"[{kind}] {people} people invited in {time.perf_counter() - started:.1f} s")

            settings = sending.SendSettings(base_url="https://surveys.example.org", batch=500)
            started = time.perf_counter()
            with make_session() as session:
                queued = sending.queue_due(session, now=NOW, settings=settings)
                session.commit()
            queue_seconds = time.perf_counter() - started

            handler, port = Counter(), free_port()
            controller = Controller(handler, hostname="127.0.0.1", port=port)
            controller.start()
            try:
                mailer = SmtpMailer(
                    SmtpSettings(host="127.0.0.1", port=port, security="none"),
                    sender="evaluation@example.org",
                )
                started = time.perf_counter()
                report = sending.deliver(make_session, mailer, clock=lambda: NOW, settings=settings)
                send_seconds = time.perf_counter() - started
                started = time.perf_counter()
                with make_session() as session:
                    again = sending.queue_due(session, now=NOW, settings=settings)
                    session.commit()
                second = sending.deliver(make_session, mailer, clock=lambda: NOW, settings=settings)
                rerun_seconds = time.perf_counter() - started
            finally:
                controller.stop()
            with make_session() as session:
                rows = session.scalar(select(func.count()).select_from(Message))
            print(
                f"[{kind}] queued {queued} personal messages in {queue_seconds:.2f} s "
                f"({queued / queue_seconds:,.0f} a second)"
            )
            print(
                f"[{kind}] sent {report.sent} over SMTP in {send_seconds:.2f} s "
                f"({report.sent / send_seconds:,.0f} messages a second); server received "
                f"{handler.count}; failed {report.failed}"
            )
            print(
                f"[{kind}] second run: {again} queued, {second.sent} sent, "
                f"{rerun_seconds:.2f} s; outbox rows {rows}"
            )
            assert handler.count == people == rows, "every person exactly one message"
        finally:
            engine.dispose()
            if cleanup:
                admin, name = cleanup
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


def time_dashboard(kind: str, people: int) -> None:
    """Build everything the wave dashboard shows, for a wave of ``people`` invitations."""
    from surveyapp.models import Invitation, Wave
    from surveyapp.waves import dashboard

    with tempfile.TemporaryDirectory() as folder:
        url, cleanup = _database(kind, Path(folder))
        from alembic import command

        command.upgrade(alembic_config(url), "head")
        engine = make_engine(url)
        make_session = sessionmaker(engine, expire_on_commit=False)
        try:
            _populate(make_session, people)
            with make_session() as session:
                wave = session.scalar(select(Wave))
                ids = session.scalars(select(Invitation.id).order_by(Invitation.id)).all()
                for offset in range(0, int(len(ids) * 0.6), 1000):
                    chunk = ids[offset : min(offset + 1000, int(len(ids) * 0.6))]
                    day = offset % 9
                    session.execute(
                        Invitation.__table__.update()
                        .where(Invitation.id.in_(chunk))
                        .values(
                            completed_at=NOW + timedelta(days=day),
                            completed_on=(NOW + timedelta(days=day)).date(),
                            opened_at=NOW,
                        )
                    )
                session.commit()
            statements = []

            def count(*_args):
                statements.append(1)

            from sqlalchemy import event

            event.listen(engine, "before_cursor_execute", count)
            later = NOW + timedelta(days=10)
            started = time.perf_counter()
            with make_session() as session:
                wave = session.scalar(select(Wave))
                dashboard.wave_counts(session, wave)
                for by in dashboard.BREAKDOWNS:
                    dashboard.breakdown(session, wave, by, sort="name", descending=False)
                days = dashboard.completions_by_day(session, wave, now=later, zone="Europe/London")
                counts = dashboard.wave_counts(session, wave)
                target = dashboard.target_count(counts.invited, wave.target_rate)
                dashboard.completions_chart(
                    days, invited=counts.invited, target=target, target_rate=wave.target_rate
                )
            seconds = time.perf_counter() - started
            event.remove(engine, "before_cursor_execute", count)
            print(
                f"[{kind}] dashboard of a wave of {people:,} invitations: "
                f"{seconds * 1000:.0f} ms, {len(statements)} queries"
            )
        finally:
            engine.dispose()
            if cleanup:
                admin, name = cleanup
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--database", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--dashboard-sizes", nargs="*", type=int, default=[5000, 50000])
    arguments = parser.parse_args()
    for kind in arguments.database:
        try:
            run(kind, arguments.people)
            for size in arguments.dashboard_sizes:
                time_dashboard(kind, size)
        except Exception as error:  # noqa: BLE001 - report and go on to the next database
            if kind == "postgresql" and "connection" in str(error).lower():
                print(
                    f"[{kind}] skipped: no PostgreSQL server answers ({error.__class__.__name__})"
                )
            else:
                raise


if __name__ == "__main__":
    main()
