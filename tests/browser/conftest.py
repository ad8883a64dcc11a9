"""A live server on loopback and Debian's Chromium driven by Playwright."""

import re
import shutil
import threading
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import sessionmaker
from werkzeug.serving import make_server

from surveyapp import create_app
from surveyapp.db import Base
from tests.conftest import NOW, PASSWORD, _unavailable, code_now, enrol_two_step

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
        admin = accounts.create_user(
            session, email="admin@example.org", password=PASSWORD, role="admin", now=NOW
        )
        enrol_two_step(
            session, admin
        )  # an administrator must; tests/browser/test_two_step.py enrols
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    _SERVERS[url] = app
    yield LiveServer(url, app.extensions["surveyapp.sessionmaker"], app)
    del _SERVERS[url]
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    app.extensions["surveyapp.engine"].dispose()


@pytest.fixture
def live_app(live_server):
    """The live server's base address (for tests that only need to sign in and browse)."""
    return live_server.url


#: The app of each running live server, by address: its database and clock give the code
#: of signing in.
_SERVERS: dict = {}


def sign_in(page, base_url, email="admin@example.org"):
    """Sign in as a person would: the password, then the code the app shows now."""
    page.goto(f"{base_url}/admin/")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/auth/two-step$|/admin/programmes$"))
    if page.url.endswith("/auth/two-step"):
        type_code(page, base_url, email)
    page.wait_for_url("**/admin/programmes")


def type_code(page, base_url, email="admin@example.org"):
    """Type the code of ``email``'s authenticator app on the second step of signing in."""
    from surveyapp.staff import operations as accounts

    app = _SERVERS[base_url]
    with app.extensions["surveyapp.sessionmaker"]() as session:
        user = accounts.find_user(session, email)
        enrol_two_step(session, user)  # the clock stands still: let this step's code work again
        session.commit()
        code = code_now(user, app.config["CLOCK"]())
    page.fill("#code", code)
    page.click("button:has-text('Continue')")


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
