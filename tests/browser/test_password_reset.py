""" "Forgot your password?" in Chromium: ask for the link, open it from the email that the
loopback SMTP server received, choose a new password, sign in with it."""

import re
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from surveyapp import create_app
from surveyapp.db import Base
from surveyapp.models import AuditEvent
from surveyapp.staff import operations as accounts
from tests.conftest import NOW, PASSWORD

pytestmark = pytest.mark.browser
NEW = "a brand new password"


@pytest.fixture
def mailing_app(tmp_path, smtp_config):
    app = create_app(
        {
            "SECRET_KEY": "browser-tests",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'reset.sqlite'}",
            "CLOCK": lambda: NOW,
            **smtp_config,
        }
    )
    Base.metadata.create_all(app.extensions["surveyapp.engine"])
    with app.extensions["surveyapp.sessionmaker"]() as session:
        accounts.create_user(
            session, email="eva@example.org", password=PASSWORD, role="evaluator", now=NOW
        )
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.extensions["surveyapp.engine"].dispose()


@pytest.mark.posts("/auth/forgot-password", "/auth/reset-password/<token>")
@pytest.mark.parametrize("javascript", [True, False], ids=["javascript-on", "javascript-off"])
def test_forgot_password_sends_a_link_that_sets_a_new_password_once(
    browser, mailing_app, smtp_server, javascript
):
    url, app = mailing_app
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{url}/auth/login")
    page.click("a:has-text('Forgot your password?')")
    page.fill("#email", "eva@example.org")
    page.click("button:has-text('Send the link')")
    page.wait_for_selector("h1:has-text('Check your email')")

    (message,) = smtp_server.handler.messages
    path = re.search(r"https://surveys\.example\.org(\S+)", message.get_content()).group(1)
    page.goto(url + path)
    page.fill("#password", NEW)
    page.fill("#again", NEW)
    page.click("button:has-text('Change my password')")
    page.wait_for_url(f"{url}/auth/login")
    assert "Your password has been changed" in page.inner_text("main")
    page.fill("#email", "eva@example.org")
    page.fill("#password", NEW)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{url}/admin/programmes")

    page.goto(url + path)
    assert "This link does not work" in page.inner_text("main")
    with app.extensions["surveyapp.sessionmaker"]() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["password.reset_asked", "password.reset", "sign_in"]
    context.close()
