"""Configuration: secrets from the environment, clear errors when a setting cannot work."""

import pytest

from surveyapp import create_app
from surveyapp.errors import ConfigError


def test_a_served_app_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    monkeypatch.delenv("SURVEYAPP_SECRET_KEY", raising=False)
    monkeypatch.setenv("SURVEYAPP_INSTANCE_PATH", str(tmp_path))

    with pytest.raises(ConfigError, match="SURVEYAPP_SECRET_KEY is not set"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"})


def test_development_makes_a_key_once_and_keeps_it(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    monkeypatch.delenv("SURVEYAPP_SECRET_KEY", raising=False)
    monkeypatch.setenv("SURVEYAPP_INSTANCE_PATH", str(tmp_path))

    first = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"})
    second = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"})

    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_settings_come_from_prefixed_environment_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("SURVEYAPP_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("SURVEYAPP_STUDY_TIMEZONE", "Europe/London")

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"})

    assert app.config["SECRET_KEY"] == "from-the-environment"


@pytest.mark.parametrize("url", ["not a url", "mysql://root@localhost/db"])
def test_a_database_url_that_cannot_work_is_named(url, tmp_path):
    with pytest.raises(ConfigError, match="SURVEYAPP_DATABASE_URL"):
        create_app({"SECRET_KEY": "x", "DATABASE_URL": url})


def test_health_check_answers_ok(client):
    response = client.get("/health")

    assert response.json == {"status": "ok"}


def test_health_check_fails_while_a_table_is_missing_or_a_migration_is_not_run(tmp_path):
    from alembic import command
    from sqlalchemy import text

    from surveyapp.cli import alembic_config

    url = f"sqlite:///{tmp_path}/health.sqlite"
    command.upgrade(alembic_config(url), "head")
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": url, "TESTING": True})
    client = app.test_client()
    assert client.get("/health").json == {"status": "ok"}

    engine = app.extensions["surveyapp.engine"]
    with engine.begin() as connection:
        (head,) = connection.execute(text("SELECT version_num FROM alembic_version")).one()
        connection.execute(text("UPDATE alembic_version SET version_num = 'c16dbf16494d'"))
    behind = client.get("/health")
    assert behind.status_code == 503
    assert behind.json["problem"].startswith("The database is at migration c16dbf16494d")
    assert head in behind.json["problem"]

    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        connection.execute(text("DROP TABLE attendance"))
    missing = client.get("/health")
    assert missing.status_code == 503
    assert missing.json == {
        "status": "error",
        "problem": "The database has no table attendance: run flask db upgrade.",
    }
    engine.dispose()
