"""Invitations and reminders through a real SMTP server on loopback."""

import threading
from datetime import timedelta

from sqlalchemy import func, select

from surveyapp.models import Message
from surveyapp.reminders import sending
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave


def _wave(session, people=3, **overrides):
    programme = make_programme(
        session, name=overrides.pop("programme_name", "Pilot peer support programme 2010")
    )
    for number in range(people):
        make_participant(
            session, programme, name=f"Person{number} Surname", email=f"p{number}@example.org"
        )
    wave = make_wave(session, programme, label="Baseline", **overrides)
    session.commit()
    return wave


def _send(app, *args):
    result = app.test_cli_runner().invoke(args=["reminders", "send", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _states(session):
    session.expire_all()
    return dict(session.execute(select(Message.state, func.count()).group_by(Message.state)).all())


def test_due_invitations_reach_the_mail_server_personalised(
    make_app, session, smtp_server, smtp_config
):
    wave = _wave(session)
    app = make_app(**smtp_config)

    output = _send(app)

    received = smtp_server.handler.messages
    assert "3 message(s) queued; 3 sent by SMTP" in output
    assert sorted(m["To"] for m in received) == [
        "p0@example.org",
        "p1@example.org",
        "p2@example.org",
    ]
    first = next(m for m in received if m["To"] == "p0@example.org")
    body = first.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    token = next(i.token for i in wave.invitations if i.participant.email == "p0@example.org")
    assert (
        first["Subject"]
        == "Please tell us about Pilot peer support programme 2010: Baseline questionnaire"
    )
    assert (
        first["From"] == "The evaluation team <evaluation@example.org>"
        or "evaluation@example.org" in first["From"]
    )
    assert body.startswith("Dear Person0,")
    assert f"https://surveys.example.org/r/{token}\n" in body
    assert f"https://surveys.example.org/r/{token}/no-reminders" in body
    assert "Please answer by Tuesday 21 May 2030." in body
    assert first["Message-ID"].startswith("<surveyapp.message.")
    assert _states(session) == {"sent": 3}


def test_running_again_sends_nobody_the_same_step_twice(
    make_app, session, smtp_server, smtp_config
):
    _wave(session)
    app = make_app(**smtp_config)

    _send(app)
    second = _send(app)

    assert "0 message(s) queued; 0 sent" in second
    assert len(smtp_server.handler.messages) == 3


def test_the_completed_the_withdrawn_and_the_opted_out_get_nothing(
    make_app, session, smtp_server, smtp_config
):
    wave = _wave(session, people=4)
    done, gone, quiet, _ = sorted(wave.invitations, key=lambda i: i.participant.email)
    done.completed_at = NOW
    gone.participant.withdrawn_at = NOW
    quiet.opted_out_at = NOW
    session.commit()

    _send(make_app(**smtp_config))

    assert [m["To"] for m in smtp_server.handler.messages] == ["p3@example.org"]


def test_finishing_after_queueing_cancels_the_message_at_send_time(
    make_app, session, smtp_server, smtp_config
):
    wave = _wave(session, people=1)
    app = make_app(**smtp_config)
    settings = sending.settings_from_config(app.config)
    sending.queue_due(session, now=NOW, settings=settings)
    wave.invitations[0].completed_at = NOW
    session.commit()

    _send(app)

    assert smtp_server.handler.messages == []
    message = session.scalar(select(Message))
    assert (message.state, message.last_error) == (
        "cancelled",
        "Not sent: they completed the questionnaire first.",
    )


def test_a_busy_server_holds_the_rest_back_uncounted_and_nobody_gets_two(
    make_app, session, smtp_server, smtp_config
):
    _wave(session, people=5)
    smtp_server.handler.refuse_after = 2

    _send(make_app(**smtp_config))
    held = session.scalars(
        select(Message).where(Message.state == "queued").order_by(Message.id)
    ).all()
    too_soon = _send(make_app(**smtp_config))
    smtp_server.handler.refuse_after = None
    later = _send(make_app(**smtp_config, CLOCK=lambda: NOW + timedelta(minutes=2)))

    assert len(held) == 3 and {m.attempts for m in held} == {0}
    assert held[0].last_error.startswith(
        "Held back: the mail server answered “451 4.3.0 Too many messages, try again later”"
    )
    assert "0 sent" in too_soon
    assert "3 sent by SMTP" in later
    addresses = [m["To"] for m in smtp_server.handler.messages]
    assert len(addresses) == len(set(addresses)) == 5
    assert _states(session) == {"sent": 5}


def test_a_server_going_away_mid_batch_loses_nobody(make_app, session, smtp_server, smtp_config):
    _wave(session, people=4)
    smtp_server.handler.refuse_after = 1
    smtp_server.handler.refusal = "421 4.3.2 Service shutting down"

    _send(make_app(**smtp_config))
    smtp_server.handler.refuse_after = None
    _send(make_app(**smtp_config, CLOCK=lambda: NOW + timedelta(hours=1)))

    addresses = sorted(m["To"] for m in smtp_server.handler.messages)
    assert addresses == [f"p{n}@example.org" for n in range(4)]
    assert _states(session) == {"sent": 4}


def test_a_permanent_refusal_is_not_retried(make_app, session, smtp_server, smtp_config):
    _wave(session, people=1)
    smtp_server.handler.refuse_after = 0
    smtp_server.handler.refusal = "550 5.1.1 No such user here"

    _send(make_app(**smtp_config))
    _send(make_app(**smtp_config, CLOCK=lambda: NOW + timedelta(days=2)))

    message = session.scalar(select(Message))
    assert (message.state, message.attempts, message.next_attempt_at) == ("failed", 1, None)
    assert message.last_error == "550 5.1.1 No such user here"


def test_a_sender_killed_after_claiming_is_finished_by_the_next_one(
    make_app, session, smtp_server, smtp_config
):
    _wave(session, people=3)
    app = make_app(**smtp_config)
    settings = sending.settings_from_config(app.config)
    sending.queue_due(session, now=NOW, settings=settings)
    sending.claim(session, now=NOW, settings=settings)  # …and then the process died
    session.commit()

    _send(app)
    while_leased = len(smtp_server.handler.messages)
    _send(make_app(**smtp_config, CLOCK=lambda: NOW + timedelta(minutes=11)))

    assert while_leased == 0
    addresses = sorted(m["To"] for m in smtp_server.handler.messages)
    assert addresses == ["p0@example.org", "p1@example.org", "p2@example.org"]


def test_two_senders_at_once_send_each_message_once(make_app, session, smtp_server, smtp_config):
    _wave(session, people=12)
    smtp_server.handler.delay = 0.02
    apps = [make_app(**smtp_config), make_app(**smtp_config)]
    barrier = threading.Barrier(2)
    errors = []

    def run(app):
        barrier.wait()
        try:
            _send(app)
        except AssertionError as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    addresses = [m["To"] for m in smtp_server.handler.messages]
    assert len(addresses) == len(set(addresses)) == 12


def test_a_batch_outlasting_its_lease_sends_nobody_the_step_twice(
    make_app, session, smtp_server, smtp_config
):
    """A slow server makes the first sender's batch outlast the lease while a second runs."""
    import time

    _wave(session, people=8)
    smtp_server.handler.delay = 0.3  # 8 messages take 2.4 s; the lease is 1 s
    started = time.monotonic()

    def clock():
        return NOW + timedelta(seconds=time.monotonic() - started)

    apps = [make_app(**smtp_config, CLOCK=clock, MAIL_LEASE_SECONDS=1) for _ in range(2)]
    errors = []

    def run(app, after):
        time.sleep(after)
        try:
            _send(app)
        except AssertionError as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(apps[0], 0)),
        threading.Thread(target=run, args=(apps[1], 1.3)),  # the first batch's lease has run out
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    addresses = sorted(m["To"] for m in smtp_server.handler.messages)
    assert addresses == [f"p{n}@example.org" for n in range(8)]
    assert _states(session) == {"sent": 8}


def test_without_smtp_messages_stay_in_the_outbox(app, session):
    _wave(session, people=2)

    output = _send(app)

    assert "2 kept in the outbox (no SMTP set up)" in output
    messages = session.scalars(select(Message)).all()
    assert {(m.state, m.transport) for m in messages} == {("sent", "outbox")}
    assert "Dear Person0," in messages[0].body or "Dear Person1," in messages[0].body


def test_a_dry_run_says_who_is_due_and_stores_nothing(app, session):
    _wave(session, people=2)

    output = _send(app, "--dry-run")

    assert "Baseline: Invitation: 2 person(s) due" in output
    assert _states(session) == {}


def test_later_steps_wait_for_their_day(make_app, session):
    _wave(session, people=1)

    _send(make_app())
    week_later = _send(make_app(CLOCK=lambda: NOW + timedelta(days=7)))

    assert "1 message(s) queued" in week_later  # the first reminder
    steps = {m.step.label for m in session.scalars(select(Message))}
    assert steps == {"Invitation", "First reminder"}


def test_the_final_reminder_gives_three_working_days(make_app, session):
    _wave(session, people=1, closes_at=NOW + timedelta(days=40))
    for days in (0, 7, 14, 21):
        _send(make_app(CLOCK=lambda days=days: NOW + timedelta(days=days)))

    final = session.scalar(
        select(Message).join(Message.step).where(Message.step.has(label="Final personal reminder"))
    )
    # NOW + 21 days is Wednesday 22 May 2030; three working days later is Monday 27 May 2030
    # …but 27 May 2030 is the Spring bank holiday, so the deadline is Tuesday 28 May.
    assert "open for you until Tuesday 28 May 2030." in final.body.replace("\n", " ")


def test_sending_is_paced_when_a_cap_is_set(make_app, session, smtp_server, smtp_config):
    _wave(session, people=3)
    app = make_app(**smtp_config | {"MAIL_PER_MINUTE": 120})
    settings = sending.settings_from_config(app.config)
    sending.queue_due(session, now=NOW, settings=settings)
    session.commit()
    pauses = []

    from surveyapp.mail import mailer_from_config

    sending.deliver(
        app.extensions["surveyapp.sessionmaker"],
        mailer_from_config(app.config),
        clock=lambda: NOW,
        settings=settings,
        sleep=pauses.append,
    )

    assert pauses == [0.5, 0.5, 0.5]
    assert len(smtp_server.handler.messages) == 3


def test_the_in_app_outbox_needs_no_pace(app, session):
    _wave(session, people=3)
    settings = sending.settings_from_config(app.config)  # 30 a minute by default
    sending.queue_due(session, now=NOW, settings=settings)
    session.commit()
    pauses = []

    from surveyapp.mail import OutboxMailer

    report = sending.deliver(
        app.extensions["surveyapp.sessionmaker"],
        OutboxMailer(),
        clock=lambda: NOW,
        settings=settings,
        sleep=pauses.append,
    )

    assert (report.sent, pauses) == (3, [])


def test_the_opt_out_link_stops_reminders_but_not_answering(client, session):
    wave = _wave(session, people=1)
    token = wave.invitations[0].token

    page = client.get(f"/r/{token}/no-reminders")
    done = client.post(f"/r/{token}/no-reminders")

    assert "Stop reminders about this questionnaire?" in page.text
    assert done.status_code == 303
    assert "You will get no more reminders" in client.get(done.location).text
    session.expire_all()
    assert wave.invitations[0].opted_out_at == NOW
    assert client.get(f"/r/{token}").status_code == 303


def test_a_sender_process_killed_mid_batch_leaves_everyone_exactly_one_message(
    tmp_path, smtp_server, smtp_config
):
    import os
    import signal
    import subprocess
    import sys
    import time

    from surveyapp import create_app
    from surveyapp.clock import utcnow
    from surveyapp.db import Base

    url = f"sqlite:///{tmp_path / 'killed.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": url})
    Base.metadata.create_all(app.extensions["surveyapp.engine"])
    with app.extensions["surveyapp.sessionmaker"]() as session:
        _wave(
            session,
            people=8,
            opens_at=utcnow() - timedelta(hours=1),
            closes_at=utcnow() + timedelta(days=9),
        )
    environment = os.environ | {
        "SURVEYAPP_DATABASE_URL": url,
        "SURVEYAPP_SECRET_KEY": "x",
        "SURVEYAPP_MAIL_SERVER": "127.0.0.1",
        "SURVEYAPP_MAIL_PORT": str(smtp_config["MAIL_PORT"]),
        "SURVEYAPP_MAIL_SECURITY": "none",
        "SURVEYAPP_MAIL_LEASE_SECONDS": "1",
        "SURVEYAPP_MAIL_PER_MINUTE": "0",
    }
    command = [sys.executable, "-m", "flask", "--app", "surveyapp", "reminders", "send"]
    handler = smtp_server.handler
    handler.delay = 0.3

    sender = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while len(handler.messages) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    handler.holding.wait(timeout=10)  # the fourth message is in the server's hands, unanswered
    sender.send_signal(signal.SIGKILL)
    sender.wait(timeout=10)
    killed_at = len(handler.messages)
    time.sleep(1.2)  # the lease of the killed sender runs out
    handler.delay = 0
    subprocess.run(command, env=environment, check=True, capture_output=True, timeout=60)

    addresses = sorted(m["To"] for m in handler.messages)
    assert 3 <= killed_at < 8
    assert addresses == [f"p{n}@example.org" for n in range(8)]
    app.extensions["surveyapp.engine"].dispose()
