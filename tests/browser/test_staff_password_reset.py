"""An administrator emails another staff member a password reset link, in Chromium: the
link works once, and using it signs the person out everywhere."""

import re
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from surveyapp import create_app
from surveyapp.db import Base
from surveyapp.models import AuditEvent, User
from surveyapp.staff import operations as accounts
from tests.browser import conftest as browser_fixtures
from tests.browser.conftest import sign_in
from tests.conftest import NOW, PASSWORD, enrol_two_step

pytestmark = pytest.mark.browser
NEW = "a brand new password"


@pytest.fixture
def staff_server(tmp_path, smtp_config):
    app = create_app(
        {
            "SECRET_KEY": "browser-tests",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'staff-reset.sqlite'}",
            "CLOCK": lambda: NOW,
            **smtp_config,
        }
    )
    Base.metadata.create_all(app.extensions["surveyapp.engine"])
    with app.extensions["surveyapp.sessionmaker"]() as session:
        admin = accounts.create_user(
            session, email="admin@example.org", password=PASSWORD, role="admin", now=NOW
        )
        enrol_two_step(session, admin)
        accounts.create_user(
            session, email="eva@example.org", password=PASSWORD, role="evaluator", now=NOW
        )
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    browser_fixtures._SERVERS[url] = app
    yield url, app
    del browser_fixtures._SERVERS[url]
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    app.extensions["surveyapp.engine"].dispose()


@pytest.mark.posts("/admin/users/<int:user_id>/password-reset")
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_an_administrator_sends_a_reset_link_that_works_once(
    browser, staff_server, smtp_server, javascript
):
    url, app = staff_server
    with app.extensions["surveyapp.sessionmaker"]() as session:
        eva_id = session.scalar(select(User.id).where(User.email == "eva@example.org"))
    contexts = [browser.new_context(java_script_enabled=javascript) for _ in range(3)]
    admin, evas_laptop, evas_phone = (context.new_page() for context in contexts)
    sign_in(evas_laptop, url, "eva@example.org")
    sign_in(admin, url)

    admin.goto(f"{url}/admin/users/{eva_id}")
    admin.click("button:has-text('Email a password reset link')")
    admin.wait_for_selector(".govuk-notification-banner")
    banner = admin.inner_text(".govuk-notification-banner")
    (message,) = smtp_server.handler.messages
    text = message.get_content()
    path = re.search(r"https://surveys\.example\.org(\S+)", text).group(1)
    evas_phone.goto(url + path)
    evas_phone.fill("#password", NEW)
    evas_phone.fill("#again", NEW)
    evas_phone.click("button:has-text('Change my password')")
    evas_phone.wait_for_url(f"{url}/auth/login")
    evas_laptop.goto(f"{url}/admin/programmes")
    laptop_after = evas_laptop.url
    evas_phone.goto(url + path)
    second_time = evas_phone.inner_text("main")

    assert "emailed to eva@example.org. It works once, for an hour." in banner
    assert message["To"] == "eva@example.org"
    assert text.startswith("An administrator sent you this link")
    assert "/auth/login" in laptop_after  # the reset signed her out everywhere
    assert "This link does not work" in second_time
    with app.extensions["surveyapp.sessionmaker"]() as session:
        eva = session.get(User, eva_id)
        assert accounts.check_password(eva, NEW)
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert eva.session_version >= 1
    assert actions[-2:] == ["password.reset_sent", "password.reset"]
    for context in contexts:
        context.close()
