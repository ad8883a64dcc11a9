"""Fixtures: an app on SQLite and, when a server answers, on PostgreSQL; a client; a runner."""

import os
import threading
import uuid
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from surveyapp import create_app
from surveyapp.db import Base

NOW = datetime(2030, 5, 1, 12, 0)
PASSWORD = "correct horse battery"
#: The authenticator secret test accounts are enrolled with (base32).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
#: Set by .ci/run: a missing PostgreSQL server or Chromium is then a failure, not a skip.
REQUIRE_SERVICES = os.environ.get("SURVEYAPP_TEST_REQUIRE_SERVICES") == "1"
POSTGRES_ADMIN_URL = os.environ.get(
    "SURVEYAPP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _unavailable(reason: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (required because SURVEYAPP_TEST_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server_url():
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "no server here"
        admin.dispose()
        _unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {type(exc).__name__}")
    name = f"surveyapp_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Each database-backed test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite'}"
    return request.getfixturevalue("postgres_server_url")


@pytest.fixture
def make_app(tmp_path, database_url):
    """Build apps on the test database; tables are made fresh for each test."""
    apps = []

    def make(**overrides):
        config = {
            "TESTING": True,
            "SECRET_KEY": "test",
            "WTF_CSRF_ENABLED": False,
            "DATABASE_URL": database_url,
            "CLOCK": lambda: NOW,
        } | overrides
        app = create_app(config)
        apps.append(app)
        return app

    app = make()
    engine = app.extensions["surveyapp.engine"]
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield make
    Base.metadata.drop_all(engine)
    for built in apps:
        built.extensions["surveyapp.engine"].dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def session(app):
    """The test's own session: commit before requests, expire_all() before reading back."""
    with app.extensions["surveyapp.sessionmaker"]() as session:
        yield session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def enrol_two_step(session, user, now=NOW):
    """Give ``user`` two-step verification as if they had set it up (for tests that are not
    about enrolling), and forget the last code used, so the fixed clock's code works again."""
    if not user.has_two_step:
        user.totp_secret = TOTP_SECRET
        user.two_step_enrolled_at = now
    user.totp_last_step = None
    session.flush()


def code_now(user, now=NOW) -> str:
    """The code ``user``'s authenticator app shows at ``now``."""
    import pyotp

    from surveyapp.auth.two_step import step_of

    return pyotp.TOTP(user.totp_secret).generate_otp(step_of(now))


def sign_in(client, session, email, password=PASSWORD):
    """Sign ``email`` in through the real forms: the password, then, when asked, a code
    (the account is enrolled first if its role needs two-step verification)."""
    from surveyapp.auth import two_step
    from surveyapp.staff import operations as accounts

    app = client.application
    user = accounts.find_user(session, email)
    if user is not None and two_step.is_asked(user, app.config["REQUIRE_TWO_STEP"]):
        enrol_two_step(session, user)
        session.commit()
    response = client.post(
        "/auth/login", data={"email": email, "password": password} | _token(client, "/auth/login")
    )
    if response.status_code == 303 and response.location.startswith("/auth/two-step"):
        code = code_now(user, app.config["CLOCK"]())
        response = client.post(
            "/auth/two-step", data={"code": code} | _token(client, "/auth/two-step")
        )
    return response


def _token(client, url) -> dict:
    """The CSRF field of the form at ``url``, when the app checks them."""
    import re

    if not client.application.config.get("WTF_CSRF_ENABLED", True):
        return {}
    page = client.get(url).text
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    return {"csrf_token": found.group(1)} if found else {}


class AuthActions:
    """Sign in as a staff member through the real sign-in form."""

    def __init__(self, client, session):
        self.client = client
        self.session = session

    def login(self, email="admin@example.org", role="admin", programmes="all"):
        """Sign in, creating the account if needed; a new non-administrator becomes a
        member of ``programmes`` (ids), by default every programme that exists now."""
        from sqlalchemy import select

        from surveyapp.models import Programme
        from surveyapp.staff import access
        from surveyapp.staff import operations as accounts

        user = accounts.find_user(self.session, email)
        if user is None:
            user = accounts.create_user(
                self.session, email=email, password=PASSWORD, role=role, now=NOW
            )
            if programmes == "all":
                programmes = self.session.scalars(select(Programme.id)).all()
            access.set_membership(self.session, user, set(programmes))
            self.session.commit()
        response = sign_in(self.client, self.session, email)
        assert response.status_code == 303, response.text
        return response


@pytest.fixture
def auth(client, session):
    return AuthActions(client, session)


class RecordingHandler:
    """An aiosmtpd handler that keeps what it accepts and can misbehave on purpose."""

    def __init__(self):
        self.messages = []
        self.refuse_after = None  # accept this many, then answer 451 to the rest
        self.refusal = "451 4.3.0 Too many messages, try again later"
        self.delay = 0.0
        self.holding = threading.Event()  # set while a message waits out ``delay``

    async def handle_DATA(self, server, session, envelope):
        import asyncio
        import email
        import email.policy

        if self.delay:
            self.holding.set()
            await asyncio.sleep(self.delay)
            self.holding.clear()
            if server.transport is None or server.transport.is_closing():
                # The sender went away before hearing "250": like a real server, keep nothing.
                return "421 Connection lost"
        if self.refuse_after is not None and len(self.messages) >= self.refuse_after:
            return self.refusal
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free loopback port; ``.handler.messages`` is what it received."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def smtp_config(smtp_server):
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_server.port,
        "MAIL_SECURITY": "none",
        "MAIL_FROM": "evaluation@example.org",
        "BASE_URL": "https://surveys.example.org",
        "MAIL_PER_MINUTE": 0,  # at once: the default pace has its own tests
    }
