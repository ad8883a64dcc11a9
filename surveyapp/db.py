"""Engine, per-request session and declarative base (SQLAlchemy 2.x)."""

from flask import Flask, current_app, g
from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from surveyapp.errors import ConfigError

# Named constraints keep Alembic revisions (and SQLite batch mode) stable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every mapped model; its metadata drives Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way.

    :raises ConfigError: naming the setting when the URL cannot be read.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"SURVEYAPP_DATABASE_URL is not a database address SQLAlchemy can read: {url!r}. "
            "Use sqlite:///path/to/file.sqlite or postgresql://user@host/dbname."
        ) from exc
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not parsed.drivername.startswith(("sqlite", "postgresql")):
        raise ConfigError(
            f"SURVEYAPP_DATABASE_URL must point at SQLite or PostgreSQL, not {parsed.drivername}."
        )
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """Create an engine; on SQLite, enforce foreign keys as PostgreSQL does, and overwrite
    deleted rows.

    Database errors never carry the statement's values (answers, emails) into a log.
    """
    engine = create_engine(normalise_url(url), hide_parameters=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted rows are overwritten, not left in free pages of the file: an anonymous wave's
    # held responses are deleted and written again at each submission (respond/release.py).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def init_app(app: Flask) -> None:
    """Bind an engine and session factory to ``app``; close sessions at teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["surveyapp.engine"] = engine
    app.extensions["surveyapp.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """Return the current context's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["surveyapp.sessionmaker"]()
    return g.db_session


def _close_session(exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def schema_problem(session: Session, cache: dict) -> str:
    """What is wrong with the database's schema for this code, or "" when nothing is.

    Every table the models name must be there; a database that records its migration
    (``alembic_version``) must be at the newest one. ``cache`` keeps the newest
    migration's name once read.
    """
    from sqlalchemy import inspect, text

    import surveyapp.models  # noqa: F401  (every model, so the metadata is whole)

    present = set(inspect(session.connection()).get_table_names())
    missing = sorted(set(Base.metadata.tables) - present)
    if missing:
        return (
            f"The database has no table {', '.join(missing[:5])}"
            f"{' and more' if len(missing) > 5 else ''}: run flask db upgrade."
        )
    if "alembic_version" not in present:
        return ""
    if "surveyapp.migration_heads" not in cache:
        from alembic.script import ScriptDirectory

        from surveyapp.cli import alembic_config

        script = ScriptDirectory.from_config(alembic_config(""))
        cache["surveyapp.migration_heads"] = set(script.get_heads())
    at = {row[0] for row in session.execute(text("SELECT version_num FROM alembic_version"))}
    if at != cache["surveyapp.migration_heads"]:
        return (
            f"The database is at migration {', '.join(sorted(at)) or '(none)'}, not the newest "
            f"({', '.join(sorted(cache['surveyapp.migration_heads']))}): run flask db upgrade."
        )
    return ""
