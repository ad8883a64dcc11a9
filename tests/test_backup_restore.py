"""Backup and restore, done exactly as docs/production.md tells an operator, then read back.

PostgreSQL: ``pg_dump --format=custom`` of a filled database, ``createdb`` of an empty one,
``pg_restore`` into it; the restored database has the same rows and answers, and the app
started on it signs the administrator in and exports the same answers. SQLite: the online
backup that the guide gives (Python's sqlite3 backup API, usable while the app runs), and the
app started on the copy shows the same answers.
"""

import os
import shutil
import subprocess
import sys
import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from surveyapp import PROJECT_ROOT, create_app
from surveyapp.cli import alembic_config
from surveyapp.db import Base
from surveyapp.models import Answer, Invitation
from surveyapp.questionnaires import load_all
from tests.conftest import NOW, PASSWORD, POSTGRES_ADMIN_URL, _unavailable, sign_in
from tests.factories import make_participant, make_programme, make_wave
from tests.participant import complete, page_data

QUESTIONNAIRE = "session_evaluation"
SHIPPED = load_all(PROJECT_ROOT / "questionnaires").questionnaires
ADMIN = "backup-admin@example.org"


def _app(url):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "WTF_CSRF_ENABLED": False,
            "DATABASE_URL": url,
            "CLOCK": lambda: NOW,
        }
    )


def _fill(url):
    """Migrate as an operator would, then a programme, a wave, answers sent and half-answered."""
    command.upgrade(alembic_config(url), "head")
    app = _app(url)
    try:
        with app.extensions["surveyapp.sessionmaker"]() as session:
            from surveyapp.staff import operations as accounts

            programme = make_programme(session, name="Restored programme")
            for _ in range(6):
                make_participant(session, programme, team="North")
            wave = make_wave(session, programme, key=QUESTIONNAIRE, label="Baseline")
            accounts.create_user(session, email=ADMIN, password=PASSWORD, role="admin", now=NOW)
            session.commit()
            tokens = [invitation.token for invitation in wave.invitations]
            wave_id = wave.id
        client = app.test_client()
        for token in tokens[:5]:
            complete(client, token, SHIPPED[QUESTIONNAIRE])
        # One person answered the first page and will come back later: a draft to keep.
        client = app.test_client()
        assert client.get(f"/r/{tokens[5]}").status_code == 303
        first = SHIPPED[QUESTIONNAIRE].pages[0]
        answered = client.post(f"/r/page/{first.id}", data=page_data(first))
        assert answered.status_code == 303
    finally:
        app.extensions["surveyapp.engine"].dispose()
    return wave_id, tokens[5]


def _rows(url):
    """Every table's rows, in a stable order, as plain tuples."""
    engine = create_engine(app_url(url))
    try:
        with engine.connect() as connection:
            tables = sorted(inspect(connection).get_table_names())
            return {
                name: sorted(map(repr, connection.execute(text(f'SELECT * FROM "{name}"')).all()))
                for name in tables
            }
    finally:
        engine.dispose()


def app_url(url):
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _what_the_app_shows(url, wave_id, waiting_token):
    """Sign in, export the wave in full, open the waiting participant's link; return them."""
    app = _app(url)
    try:
        client = app.test_client()
        assert client.get("/health").json == {"status": "ok"}
        with app.extensions["surveyapp.sessionmaker"]() as session:
            signed_in = sign_in(client, session, ADMIN)  # the password, then the code
        assert signed_in.status_code == 303
        exported = client.get(f"/admin/waves/{wave_id}/export?format=csv&layout=long&full=1")
        assert exported.status_code == 200
        participant = app.test_client()
        assert participant.get(f"/r/{waiting_token}").status_code == 303
        start = participant.get("/r/")
        with app.extensions["surveyapp.sessionmaker"]() as session:
            answers = session.execute(
                select(Answer.response_id, Answer.answer_id, Answer.value).order_by(
                    Answer.response_id, Answer.answer_id
                )
            ).all()
            completed = session.scalars(
                select(Invitation.completed_at).where(Invitation.wave_id == wave_id)
            ).all()
        return exported.data, start.text, [tuple(row) for row in answers], completed
    finally:
        app.extensions["surveyapp.engine"].dispose()


@pytest.fixture
def postgres_databases():
    """Two database names on the test server: one to fill, one to restore into. Both dropped."""
    missing = [tool for tool in ("pg_dump", "pg_restore", "createdb") if not shutil.which(tool)]
    if missing:
        _unavailable(
            f"{', '.join(missing)} not found: install the PostgreSQL client programs "
            "(on Debian: apt-get install postgresql-client)"
        )
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "no server here"
        admin.dispose()
        _unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {type(exc).__name__}")
    suffix = uuid.uuid4().hex[:10]
    names = (f"surveyapp_backup_{suffix}", f"surveyapp_restored_{suffix}")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{names[0]}"'))
    yield names
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_a_postgresql_backup_restores_into_an_empty_database_and_the_app_shows_the_answers(
    postgres_databases, tmp_path
):
    source, restored = postgres_databases
    server = make_url(POSTGRES_ADMIN_URL)
    # The PG* variables say which server and user, as the guide has the operator set them.
    env = {
        **os.environ,
        "PGHOST": server.host or "127.0.0.1",
        "PGPORT": str(server.port or 5432),
        "PGUSER": server.username or "postgres",
    }
    if server.password:
        env["PGPASSWORD"] = server.password
    base = f"postgresql://{env['PGUSER']}@{env['PGHOST']}:{env['PGPORT']}/"
    wave_id, waiting = _fill(base + source)
    before = _what_the_app_shows(base + source, wave_id, waiting)
    dump = tmp_path / "surveyapp.dump"

    # The guide's commands, word for word but for the names.
    for step in (
        ["pg_dump", "--format=custom", f"--file={dump}", source],
        ["createdb", restored],
        ["pg_restore", "--exit-on-error", "--no-owner", f"--dbname={restored}", str(dump)],
    ):
        done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{step[0]} failed: {done.stderr}"

    assert _rows(base + restored) == _rows(base + source)
    after = _what_the_app_shows(base + restored, wave_id, waiting)
    exported, start, answers, completed = after
    assert exported == before[0]
    assert answers == before[2] and len(answers) > 0
    assert completed == before[3] and sum(1 for when in completed if when) == 5
    # The person who stopped half-way is offered to carry on where they were.
    assert "Continue where you left off" in start


def test_an_sqlite_backup_taken_while_the_app_runs_restores_by_copying_it_back(tmp_path):
    live = tmp_path / "instance" / "surveyapp.sqlite"
    live.parent.mkdir()
    url = f"sqlite:///{live}"
    wave_id, waiting = _fill(url)
    before = _what_the_app_shows(url, wave_id, waiting)
    rows = _rows(url)
    backup = tmp_path / "surveyapp-backup.sqlite"

    # The app holds the database open, as it does when serving; the guide's command runs anyway.
    app = _app(url)
    with app.extensions["surveyapp.engine"].connect() as held:
        held.execute(text("SELECT count(*) FROM answers"))
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sqlite3; sqlite3.connect('instance/surveyapp.sqlite')"
                ".backup(sqlite3.connect('surveyapp-backup.sqlite'))",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    app.extensions["surveyapp.engine"].dispose()
    assert done.returncode == 0, done.stderr

    # Restore: with the app stopped, the copy takes the database file's place.
    live.unlink()
    shutil.copyfile(backup, live)
    assert _rows(url) == rows
    assert set(rows) >= {table.name for table in Base.metadata.sorted_tables}
    exported, start, answers, completed = _what_the_app_shows(url, wave_id, waiting)
    assert exported == before[0]
    assert answers == before[2] and len(answers) > 0
    assert sum(1 for when in completed if when) == 5
    assert "Continue where you left off" in start
