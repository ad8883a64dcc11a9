"""A live server on loopback and Debian's Chromium driven by Playwright."""

import shutil
import threading

import pytest
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


@pytest.fixture
def live_app(tmp_path):
    app = create_app(
        {
            "SECRET_KEY": "browser-tests",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'browser.sqlite'}",
            "CLOCK": lambda: NOW,
        }
    )
    Base.metadata.create_all(app.extensions["surveyapp.engine"])
    from surveyapp import accounts

    with app.extensions["surveyapp.sessionmaker"]() as session:
        accounts.create_user(
            session, email="admin@example.org", password=PASSWORD, role="admin", now=NOW
        )
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.extensions["surveyapp.engine"].dispose()


def sign_in(page, base_url):
    page.goto(f"{base_url}/admin/")
    page.fill("#email", "admin@example.org")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/admin/programmes")
