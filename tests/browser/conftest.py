"""A live server on loopback and Debian's Chromium driven by Playwright."""

import shutil
import threading
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import sessionmaker
from werkzeug.serving import make_server

from surveyapp import create_app
from surveyapp.db import Base
from tests.conftest import NOW, PASSWORD, _unavailable

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        _unavailable("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass(frozen=True)
class LiveServer:
    """The running app: its address, and sessions on the same database for arranging and checking."""

    url: str
    sessionmaker: sessionmaker
    #: The Flask app, for running its commands (``app.test_cli_runner()``) as cron would.
    app: object = None

    def invite(self, key: str = "session_evaluation", **overrides) -> str:
        """Make a programme, a participant and a wave of ``key``; return the personal link."""
        from tests.factories import make_invitation

        with self.sessionmaker() as session:
            invitation = make_invitation(session, key=key, **overrides)
            session.commit()
            return f"{self.url}/r/{invitation.token}"


@pytest.fixture
def live_server(tmp_path):
    app = create_app(
        {
            "SECRET_KEY": "browser-tests",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'browser.sqlite'}",
            "CLOCK": lambda: NOW,
        }
    )
    Base.metadata.create_all(app.extensions["surveyapp.engine"])
    from surveyapp.staff import operations as accounts

    with app.extensions["surveyapp.sessionmaker"]() as session:
        accounts.create_user(
            session, email="admin@example.org", password=PASSWORD, role="admin", now=NOW
        )
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(
        f"http://127.0.0.1:{server.server_port}", app.extensions["surveyapp.sessionmaker"], app
    )
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    app.extensions["surveyapp.engine"].dispose()


@pytest.fixture
def live_app(live_server):
    """The live server's base address (for tests that only need to sign in and browse)."""
    return live_server.url


def sign_in(page, base_url):
    page.goto(f"{base_url}/admin/")
    page.fill("#email", "admin@example.org")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/admin/programmes")


def wait_until(page, expression: str, timeout: float = 10.0) -> None:
    """Wait until ``expression`` is true in the page.

    Playwright's wait_for_function builds its predicate with eval, which the app's
    Content-Security-Policy rightly refuses; page.evaluate is not subject to it.
    """
    import time

    from playwright.sync_api import Error

    deadline = time.monotonic() + timeout
    while True:
        try:
            if page.evaluate(f"() => Boolean({expression})"):
                return
        except Error as error:  # the page navigated while asked: ask the new one
            if "context was destroyed" not in str(error):
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"Still false after {timeout} s: {expression}")
        time.sleep(0.05)
