"""Alembic environment: the models' metadata, and the app's database URL."""

from contextlib import contextmanager

from alembic import context
from sqlalchemy import create_engine, text

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
    with engine.connect() as connection, _one_at_a_time(connection):
        _run(connection)
    engine.dispose()


#: The PostgreSQL advisory lock every upgrade holds, so that upgrades started at once (one per
#: machine at a deploy) run one after another: the later ones wait, then find nothing to do.
MIGRATION_LOCK = 0x5A7E7A11


@contextmanager
def _one_at_a_time(connection):
    """Hold the database's migration lock: an advisory lock on PostgreSQL, a file lock beside
    a SQLite database file."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        connection.commit()  # a session-level lock: it outlives this transaction
        try:
            yield
        finally:
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()
        return
    database = connection.engine.url.database
    if connection.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    import fcntl

    with open(f"{database}.migrating", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


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
