"""Alembic environment: the models' metadata, and the app's database URL."""

from alembic import context
from sqlalchemy import create_engine

from surveyapp import default_database_url, models  # noqa: F401  (registers every table on Base.metadata)
from surveyapp.db import Base, normalise_url

config = context.config


def _url() -> str:
    return normalise_url(config.attributes.get("database_url") or default_database_url())


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
