"""Migrations run both ways on SQLite and PostgreSQL and end where the models are."""

import json

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


def _fresh(app, database_url):
    engine = app.extensions["surveyapp.engine"]
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    return engine, alembic_config(database_url)


ANSWERS_REVISION = "a2e30ac440df"  # programmes, participants, waves, invitations and responses
ROWS = [
    "INSERT INTO users (id, email, password_hash, role, is_active, created_at) VALUES "
    "(1, 'admin@example.org', 'x', 'admin', TRUE, '2030-01-01 00:00:00'), "
    "(2, 'eva@example.org', 'x', 'evaluator', TRUE, '2030-01-01 00:00:00')",
    "INSERT INTO questionnaire_versions (id, questionnaire_key, number, content_hash, title, "
    "source_text, loaded_at) VALUES (1, 'q', 1, 'h', 'Q', 'text', '2030-01-01 00:00:00')",
    "INSERT INTO programmes (id, name, run_by, description, created_at) "
    "VALUES (1, 'P', 'Team', '', '2030-01-01 00:00:00')",
    "INSERT INTO participants (id, programme_id, id_number, name, email, team, organisation, "
    "region, role, attributes, created_at, updated_at) VALUES (1, 1, 'P001', 'Siân', "
    "'s@example.org', 'North', 'Kent', 'South East', 'Peer', '{}', '2030-01-01 00:00:00', "
    "'2030-01-01 00:00:00')",
    "INSERT INTO waves (id, programme_id, questionnaire_version_id, label, opens_at, closes_at, "
    "target_rate, privacy, audience, created_at) VALUES (1, 1, 1, 'Baseline', "
    "'2030-01-01 00:00:00', '2030-02-01 00:00:00', 60, 'identified', '{}', '2030-01-01 00:00:00')",
    "INSERT INTO invitations (id, wave_id, participant_id, token, completed_at, pages_done, "
    "pages_total) VALUES (1, 1, 1, 'tok', '2030-01-02 00:00:00', 3, 3)",
    "INSERT INTO responses (id, wave_id, questionnaire_version_id, participant_id, team, "
    "organisation, region, role) VALUES ('abc', 1, 1, 1, 'North', 'Kent', 'South East', 'Peer')",
    "INSERT INTO answers (response_id, answer_id, value) VALUES ('abc', 'motivation', '4'), "
    "('abc', 'comments', '\"Très bien\"')",
]


def test_upgrading_a_database_that_holds_answers_keeps_every_answer(app, database_url):
    engine, config = _fresh(app, database_url)
    command.upgrade(config, ANSWERS_REVISION)
    with engine.begin() as connection:
        for statement in ROWS:
            connection.execute(text(statement))

    command.upgrade(config, "head")
    with engine.connect() as connection:
        after_upgrade = connection.execute(
            text("SELECT answer_id, CAST(value AS TEXT) FROM answers ORDER BY answer_id")
        ).all()
        opted_out = connection.execute(text("SELECT opted_out_at FROM invitations")).scalar()
        threshold = connection.execute(text("SELECT reporting_threshold FROM programmes")).scalar()
        members = connection.execute(
            text("SELECT programme_id, user_id FROM programme_members")
        ).all()
        connection.execute(
            text(
                "INSERT INTO audit_events (at, actor, action, summary, object_type, object_id, "
                "address) VALUES ('2030-01-03 00:00:00', 'a', 'test', 's', '', '', '')"
            )
        )
        connection.commit()
        try:
            connection.execute(text("UPDATE audit_events SET summary = 'changed'"))
        except Exception as exc:  # noqa: BLE001 - each engine raises its own error class
            refused = str(exc)
            connection.rollback()
        else:
            refused = ""
    command.downgrade(config, ANSWERS_REVISION)
    with engine.connect() as connection:
        after_downgrade = connection.execute(
            text("SELECT answer_id, CAST(value AS TEXT) FROM answers ORDER BY answer_id")
        ).all()

    def decoded(rows):
        return [(key, json.loads(value)) for key, value in rows]

    assert decoded(after_upgrade) == [("comments", "Très bien"), ("motivation", 4)]
    assert opted_out is None
    assert threshold == 5  # existing programmes get the usual threshold
    assert members == [(1, 2)]  # existing staff keep their access; administrators need none
    assert "append-only" in refused
    assert after_downgrade == after_upgrade
