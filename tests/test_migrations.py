"""Migrations run both ways on SQLite and PostgreSQL and end where the models are."""

import json

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from surveyapp.cli import alembic_config
from surveyapp.db import Base, normalise_url
from surveyapp.models import Wave
from surveyapp.scoring import load_answers


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
        two_step = connection.execute(
            text(
                "SELECT email, totp_secret, two_step_enrolled_at, totp_last_step FROM users "
                "ORDER BY id"
            )
        ).all()
        recovery_codes = connection.execute(text("SELECT COUNT(*) FROM recovery_codes")).scalar()
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
    # Staff accounts stay, none with two-step verification yet: they set it up when asked.
    assert two_step == [
        ("admin@example.org", None, None, None),
        ("eva@example.org", None, None, None),
    ]
    assert recovery_codes == 0
    assert members == [(1, 2)]  # existing staff keep their access; administrators need none
    assert "append-only" in refused
    assert after_downgrade == after_upgrade


BEFORE_RELEASE = "e9bd3ac0df35"  # the revision before anonymous waves were released in steps
ANONYMOUS_ROWS = [
    "INSERT INTO participants (id, programme_id, id_number, name, email, team, organisation, "
    "region, role, attributes, created_at, updated_at) VALUES (2, 1, 'P002', 'Ben', "
    "'b@example.org', 'North', 'Kent', 'South East', 'Peer', '{}', '2030-01-01 00:00:00', "
    "'2030-01-01 00:00:00')",
    "INSERT INTO waves (id, programme_id, questionnaire_version_id, label, opens_at, closes_at, "
    "target_rate, privacy, audience, created_at) VALUES (2, 1, 1, 'Culture', "
    "'2030-01-01 00:00:00', '2030-02-01 00:00:00', 60, 'anonymous', '{}', '2030-01-01 00:00:00')",
    "INSERT INTO invitations (id, wave_id, participant_id, token, opened_at, started_at, "
    "completed_at, pages_done, pages_total) VALUES "
    "(2, 2, 1, 'tok2', '2030-01-03 14:01:00', '2030-01-03 14:02:00', '2030-01-03 14:25:00', 3, 3), "
    "(3, 2, 2, 'tok3', '2030-01-04 09:00:00', NULL, NULL, 0, 3)",
    "INSERT INTO responses (id, wave_id, questionnaire_version_id, participant_id, team, "
    "organisation, region, role) VALUES ('anon1', 2, 1, NULL, 'North', 'Kent', 'South East', "
    "'Peer'), ('anon2', 2, 1, NULL, 'South', 'Kent', 'South East', 'Peer')",
    "INSERT INTO answers (response_id, answer_id, value) VALUES ('anon1', 'motivation', '2'), "
    "('anon2', 'motivation', '5')",
]


def test_existing_answers_stay_visible_and_anonymous_invitations_lose_their_time(app, database_url):
    engine, config = _fresh(app, database_url)
    command.upgrade(config, BEFORE_RELEASE)
    with engine.begin() as connection:
        for statement in ROWS + ANONYMOUS_ROWS:
            connection.execute(text(statement))

    command.upgrade(config, "head")
    with engine.connect() as connection:
        released = dict(connection.execute(text("SELECT id, release FROM responses")).all())
        answers = connection.execute(
            text("SELECT response_id, answer_id, CAST(value AS TEXT) FROM answers")
        ).all()
        invitations = {
            row[0]: row[1:]
            for row in connection.execute(
                text(
                    "SELECT id, CAST(completed_at AS TEXT), CAST(completed_on AS TEXT), "
                    "CAST(opened_at AS TEXT), CAST(started_at AS TEXT) FROM invitations"
                )
            )
        }
        tables = (
            connection.execute(
                text("SELECT name, sql FROM sqlite_master WHERE name IN ('responses', 'answers')")
            ).all()
            if connection.dialect.name == "sqlite"
            else []
        )
    with Session(engine) as session:
        visible = load_answers(session, session.get(Wave, 2))
    command.downgrade(config, BEFORE_RELEASE)
    with engine.connect() as connection:
        answers_after_downgrade = connection.execute(
            text("SELECT response_id, answer_id, CAST(value AS TEXT) FROM answers")
        ).all()
        completed_after_downgrade = (
            connection.execute(
                text("SELECT id FROM invitations WHERE completed_at IS NOT NULL ORDER BY id")
            )
            .scalars()
            .all()
        )

    # Existing data stays visible: anonymous responses as step 1, identified ones as sent.
    assert released == {"abc": 0, "anon1": 1, "anon2": 1}
    assert len(answers) == 4
    assert sorted(visible["response_id"].unique()) == ["anon1", "anon2"]
    identified, anonymous, not_finished = invitations[1], invitations[2], invitations[3]
    assert identified[0].startswith("2030-01-02 00:00:00") and identified[1] == "2030-01-02"
    assert anonymous[:2] == (None, "2030-01-03")
    assert anonymous[2].startswith("2030-01-03 00:00:00")
    assert anonymous[3].startswith("2030-01-03 00:00:00")
    assert not_finished[1] is None and not_finished[2].startswith("2030-01-04 09:00:00")
    for _name, sql in tables:
        assert "WITHOUT ROWID" in sql.upper()
    assert len(tables) == (2 if engine.dialect.name == "sqlite" else 0)
    # Back down, the anonymous invitation still counts as completed (at midnight of its day).
    assert sorted(answers_after_downgrade) == sorted(answers)
    assert completed_after_downgrade == [1, 2]


TRUNCATE_REVISION = "5b7e2d9c41aa"  # the audit log refuses TRUNCATE on PostgreSQL


def _truncate_audit(engine) -> str:
    """Try to empty the audit log with TRUNCATE; return the refusal, or "" when it worked."""
    with engine.connect() as connection:
        try:
            connection.execute(text("TRUNCATE audit_events"))
        except Exception as exc:  # noqa: BLE001 - the engine's own error class
            connection.rollback()
            return str(exc)
        connection.commit()
        return ""


def test_the_migrated_audit_log_refuses_truncate_on_postgresql(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no TRUNCATE; its DELETE is refused by the row trigger")
    engine, config = _fresh(app, database_url)
    command.upgrade(config, "head")
    event = (
        "INSERT INTO audit_events (at, actor, action, summary, object_type, object_id, "
        "address) VALUES ('2030-01-03 00:00:00', 'a', 'test', 's', '', '', '')"
    )
    with engine.begin() as connection:
        connection.execute(text(event))

    refused = _truncate_audit(engine)
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT count(*) FROM audit_events")).scalar()
    command.downgrade(config, f"{TRUNCATE_REVISION}-1")
    emptied_after_downgrade = _truncate_audit(engine) == ""
    command.upgrade(config, "head")

    assert "append-only" in refused
    assert kept == 1
    assert emptied_after_downgrade  # the revision is what refuses it


BEFORE_SIGN_IN_LINKS = "7a1c2f0d9b3e"  # two-step verification; before single sign-on


def test_single_sign_on_links_arrive_empty_beside_existing_answers(app, database_url):
    engine, config = _fresh(app, database_url)
    command.upgrade(config, ANSWERS_REVISION)
    with engine.begin() as connection:
        for statement in ROWS:
            connection.execute(text(statement))
    command.upgrade(config, BEFORE_SIGN_IN_LINKS)

    command.upgrade(config, "head")
    with engine.begin() as connection:
        links = connection.execute(text("SELECT COUNT(*) FROM sign_in_links")).scalar()
        connection.execute(
            text(
                "INSERT INTO sign_in_links (user_id, issuer, subject, email, created_at) VALUES "
                "(2, 'https://login.example', 'sub-1', 'eva@example.org', '2030-01-03 00:00:00')"
            )
        )
    with engine.connect() as connection:
        try:
            connection.execute(
                text(
                    "INSERT INTO sign_in_links (user_id, issuer, subject, email, created_at) "
                    "VALUES (1, 'https://login.example', 'sub-1', 'a@example.org', "
                    "'2030-01-03 00:00:00')"
                )
            )
        except Exception as exc:  # noqa: BLE001 - each engine raises its own error class
            second_person_same_subject = type(exc).__name__
        else:
            second_person_same_subject = ""
        connection.rollback()
        answers = connection.execute(
            text("SELECT answer_id, CAST(value AS TEXT) FROM answers ORDER BY answer_id")
        ).all()
    command.downgrade(config, BEFORE_SIGN_IN_LINKS)
    with engine.connect() as connection:
        after_downgrade = connection.execute(
            text("SELECT answer_id, CAST(value AS TEXT) FROM answers ORDER BY answer_id")
        ).all()
        users = connection.execute(text("SELECT email FROM users ORDER BY id")).scalars().all()

    assert links == 0
    assert second_person_same_subject == "IntegrityError"
    assert [(key, json.loads(value)) for key, value in answers] == [
        ("comments", "Très bien"),
        ("motivation", 4),
    ]
    assert after_downgrade == answers
    assert users == ["admin@example.org", "eva@example.org"]


BEFORE_PAUSES = "3c8e1f6a2b47"  # the revision before mail pauses and "may have been sent"
MESSAGE_ROWS = [
    "INSERT INTO invitations (id, wave_id, participant_id, token, pages_done, pages_total) "
    "VALUES (1, 1, 1, 'tok', 0, 3)",
    "INSERT INTO email_templates (id, wave_id, name, subject, body, updated_at) VALUES "
    "(1, 1, 'invitation', 'S', 'B', '2030-01-01 00:00:00')",
    "INSERT INTO reminder_steps (id, wave_id, position, label, days_after_opening, audience, "
    "template_id) VALUES (1, 1, 1, 'Invitation', 0, 'not_completed', 1)",
    "INSERT INTO messages (id, wave_id, step_id, invitation_id, to_address, subject, body, "
    "state, attempts, last_error, queued_at, sent_at, transport) VALUES (1, 1, 1, 1, "
    "'s@example.org', 'S', 'B', 'sent', 1, '', '2030-01-01 00:00:00', "
    "'2030-01-01 00:01:00', 'smtp')",
]


def test_messages_survive_the_unsure_state_both_ways(app, database_url):
    engine, config = _fresh(app, database_url)
    command.upgrade(config, BEFORE_PAUSES)
    with engine.begin() as connection:
        for statement in ROWS[:5] + MESSAGE_ROWS:  # no answers: nobody completed
            connection.execute(text(statement))

    command.upgrade(config, "head")
    with engine.begin() as connection:
        kept = connection.execute(text("SELECT state, sent_at FROM messages")).all()
        connection.execute(text("UPDATE messages SET state = 'unsure'"))
        pauses = connection.execute(text("SELECT COUNT(*) FROM mail_pauses")).scalar()
    with engine.connect() as connection:
        try:
            connection.execute(text("UPDATE messages SET state = 'lost'"))
        except Exception as exc:  # noqa: BLE001 - each engine raises its own error class
            refused = str(exc)
        else:
            refused = ""
        connection.rollback()
    command.downgrade(config, BEFORE_PAUSES)
    with engine.connect() as connection:
        after_downgrade = connection.execute(text("SELECT state FROM messages")).scalar()

    assert [(state, str(sent)) for state, sent in kept] == [("sent", "2030-01-01 00:01:00")]
    assert pauses == 0
    assert "state_known" in refused
    assert after_downgrade == "failed"  # the old schema knows no "unsure"


BEFORE_TIMING = "9f4b2c6d8e11"  # staff sessions: the revision before the time taken was recorded


def test_timing_columns_arrive_empty_and_only_unbegun_invitations_are_timed(app, database_url):
    engine, config = _fresh(app, database_url)
    command.upgrade(config, BEFORE_TIMING)
    with engine.begin() as connection:
        for statement in ROWS:
            # Since invitations keep the day of completion, they are stored with it.
            connection.execute(
                text(
                    statement.replace(
                        "token, completed_at,", "token, completed_at, completed_on,"
                    ).replace(
                        "'2030-01-02 00:00:00', 3, 3", "'2030-01-02 00:00:00', '2030-01-02', 3, 3"
                    )
                )
            )
        connection.execute(
            text(
                "INSERT INTO participants (id, programme_id, id_number, name, email, team, "
                "organisation, region, role, attributes, created_at, updated_at) VALUES (3, 1, "
                "'P003', 'Ann', 'a@example.org', 'North', 'Kent', 'South East', 'Peer', '{}', "
                "'2030-01-01 00:00:00', '2030-01-01 00:00:00'), (4, 1, 'P004', 'Bo', "
                "'bo@example.org', 'North', 'Kent', 'South East', 'Peer', '{}', "
                "'2030-01-01 00:00:00', '2030-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO invitations (id, wave_id, participant_id, token, started_at, "
                "pages_done, pages_total) VALUES (4, 1, 3, 'begun', '2030-01-02 09:00:00', 1, 3), "
                "(5, 1, 4, 'unbegun', NULL, 0, 3)"
            )
        )

    command.upgrade(config, "head")
    with engine.connect() as connection:
        answers = connection.execute(
            text("SELECT answer_id, CAST(value AS TEXT) FROM answers ORDER BY answer_id")
        ).all()
        timed = connection.execute(
            text("SELECT token, active_seconds, last_active_at FROM invitations ORDER BY id")
        ).all()
        responses = connection.execute(
            text("SELECT id, seconds_taken, time_band FROM responses")
        ).all()
    command.downgrade(config, BEFORE_TIMING)
    with engine.connect() as connection:
        after_downgrade = connection.execute(
            text("SELECT answer_id, CAST(value AS TEXT) FROM answers ORDER BY answer_id")
        ).all()

    assert [(key, json.loads(value)) for key, value in answers] == [
        ("comments", "Très bien"),
        ("motivation", 4),
    ]
    # Sent and begun before timing: not timed (no time is guessed); not begun: timed from 0.
    assert timed == [("tok", None, None), ("begun", None, None), ("unbegun", 0, None)]
    assert responses == [("abc", None, None)]
    assert after_downgrade == answers
