"""A mail server that throttles, as Exchange Online does: 421 after 30 messages a minute."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from surveyapp.mail import mailer_from_config
from surveyapp.models import MailPause, Message
from surveyapp.reminders import sending
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave


class Clock:
    """The app's clock and the server's: moved on by the sender's pauses and by the test."""

    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class ExchangeLike:
    """An aiosmtpd handler that takes 30 messages a minute and answers 421 to the rest."""

    def __init__(self, clock, per_minute=30):
        self.clock, self.per_minute = clock, per_minute
        self.accepted = []  # (when, To)
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):
        recent = [when for when, _ in self.accepted if when > self.clock() - timedelta(minutes=1)]
        if len(recent) >= self.per_minute:
            self.refused += 1
            return "421 4.7.0 Too many messages from this sender, try again later"
        to = next(
            line.split(":", 1)[1].strip()
            for line in envelope.content.decode().splitlines()
            if line.startswith("To:")
        )
        self.accepted.append((self.clock(), to))
        return "250 Message accepted for delivery"


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def exchange(clock, smtp_server):
    handler = ExchangeLike(clock)
    smtp_server.handler = handler  # each new connection is answered by it
    return handler


def _people(session, number):
    programme = make_programme(session, name="Pilot peer support programme 2010")
    for n in range(number):
        make_participant(session, programme, name=f"Person{n} Surname", email=f"p{n}@example.org")
    make_wave(session, programme, label="Baseline")
    session.commit()


def _states(session):
    session.expire_all()
    return dict(session.execute(select(Message.state, func.count()).group_by(Message.state)).all())


def _send(app):
    result = app.test_cli_runner().invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_default_pace_stays_under_exchange_onlines_limit(
    make_app, session, smtp_config, exchange, clock
):
    _people(session, 70)
    config = {key: value for key, value in smtp_config.items() if key != "MAIL_PER_MINUTE"}
    app = make_app(**config, CLOCK=clock)
    settings = sending.settings_from_config(app.config)
    sending.queue_due(session, now=clock(), settings=settings)
    session.commit()

    report = sending.deliver(
        app.extensions["surveyapp.sessionmaker"],
        mailer_from_config(app.config),
        clock=clock,
        settings=settings,
        sleep=clock.advance,  # the sender's pauses pass on the server's clock too
    )

    assert (report.sent, exchange.refused) == (70, 0)
    assert len({to for _, to in exchange.accepted}) == 70
    assert clock.now - NOW >= timedelta(minutes=2)  # 70 messages at 30 a minute


def test_a_421_stops_the_run_the_next_run_waits_and_nothing_is_counted(
    make_app, session, smtp_config, exchange, clock
):
    _people(session, 50)
    app = make_app(**smtp_config, CLOCK=clock)  # no cap on the pace, as in the run found

    first = _send(app)
    after_first = (len(exchange.accepted), exchange.refused)
    held = session.scalars(
        select(Message).where(Message.state == "queued").order_by(Message.id)
    ).all()
    clock.advance(30)
    too_soon = _send(app)
    after_too_soon = exchange.refused
    clock.advance(31)  # the pause of a minute is over, and so is the server's minute
    later = _send(app)

    assert after_first == (30, 1)  # it stopped at the first 421, not after trying all 20
    assert "30 sent by SMTP, 0 failed" in first
    assert "Sending paused until 12:01:00 UTC" in first
    assert "421 4.7.0 Too many messages" in first
    assert len(held) == 20 and {m.attempts for m in held} == {0}
    assert held[0].last_error.startswith("Held back: the mail server answered “421 4.7.0")
    assert after_too_soon == 1 and "0 sent by SMTP" in too_soon and "paused" in too_soon
    assert "20 sent by SMTP, 0 failed" in later
    assert _states(session) == {"sent": 50}
    addresses = [to for _, to in exchange.accepted]
    assert len(addresses) == len(set(addresses)) == 50
    assert session.scalar(select(func.count(MailPause.id))) == 0  # cleared once it sent again


def test_throttling_never_fails_a_message_for_good(make_app, session, smtp_config, exchange, clock):
    _people(session, 2)
    exchange.per_minute = 0  # every message answered 421, run after run
    app = make_app(**smtp_config, CLOCK=clock)
    pauses = []

    for _ in range(8):
        _send(app)
        session.expire_all()
        held = session.scalar(select(MailPause))
        pauses.append(held.until - clock())
        clock.now = held.until + timedelta(seconds=1)

    assert _states(session) == {"queued": 2}
    assert set(session.scalars(select(Message.attempts))) == {0}
    assert exchange.refused == 8  # one try a run, then the run stops
    minutes = [pause // timedelta(minutes=1) for pause in pauses]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60]
