"""Three machines upgrading one database at the same moment of a deploy: the first migrates,
the others wait for it and find nothing left to do; nobody fails."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from surveyapp import PROJECT_ROOT
from surveyapp.cli import alembic_config
from tests.conftest import POSTGRES_ADMIN_URL, _unavailable


@pytest.fixture
def fresh_postgres():
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - no server here
        admin.dispose()
        _unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {type(exc).__name__}")
    name = f"surveyapp_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def upgrade_three_at_once(url: str, folder: Path) -> list[subprocess.CompletedProcess]:
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "SURVEYAPP_DATABASE_URL": url,
        "SURVEYAPP_INSTANCE_PATH": str(folder),
    }
    command = [sys.executable, "-m", "alembic", "upgrade", "head"]
    started = [
        subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    done = []
    for process in started:
        out, err = process.communicate(timeout=240)
        done.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return done


def assert_one_schema_at_head(url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert versions == [(head,)]
    assert {"users", "waves", "invitations", "responses"} <= tables


def test_three_upgrades_at_once_on_postgresql(fresh_postgres, tmp_path):
    runs = upgrade_three_at_once(fresh_postgres, tmp_path)

    assert [run.returncode for run in runs] == [0, 0, 0], [run.stderr[-2000:] for run in runs]
    assert_one_schema_at_head(fresh_postgres)


def test_three_upgrades_at_once_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"

    runs = upgrade_three_at_once(url, tmp_path)

    assert [run.returncode for run in runs] == [0, 0, 0], [run.stderr[-2000:] for run in runs]
    assert_one_schema_at_head(url)
