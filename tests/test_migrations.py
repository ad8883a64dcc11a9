"""Migrations run both ways on SQLite and PostgreSQL and end where the models are."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from surveyapp.cli import alembic_config
from surveyapp.db import Base, normalise_url


def _differences(url):
    engine = create_engine(normalise_url(url))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    return differences


def test_upgrade_downgrade_upgrade_matches_the_models(app, database_url):
    engine = app.extensions["surveyapp.engine"]
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    config = alembic_config(database_url)

    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")

    assert _differences(database_url) == []


def test_upgrade_keeps_stored_versions(app, database_url):
    engine = app.extensions["surveyapp.engine"]
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    config = alembic_config(database_url)
    command.upgrade(config, "head")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO questionnaire_versions (questionnaire_key, number, content_hash, title, "
                "source_text, loaded_at) VALUES ('q', 1, 'h', 'Q', 'text', '2030-01-01 00:00:00')"
            )
        )

    command.upgrade(config, "head")

    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT source_text FROM questionnaire_versions")).scalar()
            == "text"
        )
