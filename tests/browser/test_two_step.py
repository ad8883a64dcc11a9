"""Two-step verification in Chromium: set up from the page, sign in with a code and with a
recovery code, reset one's own with a code, and an administrator's reset of someone else's.

The codes are computed with pyotp from the secret the page shows, as a phone's app would.
"""

import re
import threading

import pyotp
import pytest
from sqlalchemy import func, select

from surveyapp.auth.two_step import step_of
from surveyapp.models import AuditEvent, RecoveryCode, User
from surveyapp.staff import operations as accounts
from tests.browser.conftest import sign_in
from tests.conftest import NOW, PASSWORD, enrol_two_step

pytestmark = pytest.mark.browser

JAVASCRIPT = pytest.mark.parametrize(
    "javascript", [True, False], ids=["javascript-on", "javascript-off"]
)
MANAGER = "pm@example.org"


def _manager(live_server, enrolled=False) -> int:
    with live_server.sessionmaker() as session:
        user = accounts.create_user(
            session, email=MANAGER, password=PASSWORD, role="programme_manager", now=NOW
        )
        if enrolled:
            enrol_two_step(session, user)
        session.commit()
        return user.id


def _stored(live_server, user_id):
    with live_server.sessionmaker() as session:
        user = session.get(User, user_id)
        used = session.scalar(
            select(func.count()).where(
                RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_not(None)
            )
        )
        total = session.scalar(select(func.count()).where(RecoveryCode.user_id == user_id))
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        return user, used, total, actions


def _password(page, base):
    page.goto(f"{base}/admin/programmes")
    page.fill("#email", MANAGER)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")


@pytest.mark.posts("/auth/two-step/set-up", "/auth/two-step", "/auth/two-step/reset")
@JAVASCRIPT
def test_a_programme_manager_sets_up_two_step_and_signs_in_with_codes(
    browser, live_server, javascript
):
    user_id = _manager(live_server)
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    base = live_server.url

    # The password alone leads to setting up, and no admin page opens before it is done.
    _password(page, base)
    page.wait_for_url(f"{base}/auth/two-step/set-up")
    page.goto(f"{base}/admin/programmes")
    assert "/auth/two-step" in page.url and "/admin/" not in page.url
    page.goto(f"{base}/auth/two-step/set-up")
    assert page.locator(".app-qr-code svg").is_visible()
    secret = page.inner_text("#two-step-secret").replace(" ", "")

    # A wrong first code is refused; the code the app shows turns it on.
    page.fill("#code", "000000")
    page.click("button:has-text('Turn on two-step verification')")
    page.wait_for_selector(".govuk-error-summary:has-text('The code is not right')")
    page.fill("#code", pyotp.TOTP(secret).generate_otp(step_of(NOW)))
    page.click("button:has-text('Turn on two-step verification')")
    page.wait_for_selector("h2:has-text('Save your recovery codes')")
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(set(codes)) == 10
    user, used, total, actions = _stored(live_server, user_id)
    assert user.totp_secret == secret and user.two_step_enrolled_at == NOW
    assert (used, total) == (0, 10)
    assert actions[-2:] == ["two_step.enrol", "sign_in"]
    page.click("a:has-text('I have saved my recovery codes')")
    page.wait_for_url(f"{base}/admin/programmes")

    # Next time: the same code again is refused (it was used); a recovery code works once.
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/auth/login")
    _password(page, base)
    page.wait_for_url(f"{base}/auth/two-step")
    page.fill("#code", pyotp.TOTP(secret).generate_otp(step_of(NOW)))
    page.click("button:has-text('Continue')")
    page.wait_for_selector(".govuk-error-summary:has-text('or was used already')")
    page.fill("#code", codes[0])
    page.click("button:has-text('Continue')")
    page.wait_for_url(f"{base}/admin/programmes")
    assert "You have 9 recovery codes left" in page.inner_text("main")
    _, used, _, actions = _stored(live_server, user_id)
    assert used == 1 and "two_step.recovery_code" in actions

    # Your account: starting again needs a code; then the next sign-in sets it up anew.
    page.click(f"a:has-text('{MANAGER}')")
    page.wait_for_url(f"{base}/auth/account")
    assert "9 recovery codes left" in page.inner_text("#two-step-state")
    page.fill("#code", codes[1])
    page.click("button:has-text('Reset my two-step verification')")
    page.wait_for_url(f"{base}/auth/login")
    assert "Two-step verification was reset" in page.inner_text("main")
    user, used, total, actions = _stored(live_server, user_id)
    assert not user.has_two_step and user.totp_secret is None and total == 0
    assert actions[-1] == "two_step.reset"
    _password(page, base)
    page.wait_for_url(f"{base}/auth/two-step/set-up")
    assert page.inner_text("#two-step-secret").replace(" ", "") != secret
    context.close()


@pytest.mark.posts("/admin/users/<int:user_id>/two-step/reset")
@JAVASCRIPT
def test_an_administrator_resets_someone_elses_two_step(browser, live_server, javascript):
    user_id = _manager(live_server, enrolled=True)
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    confirms = []
    page.on("dialog", lambda dialog: (confirms.append(dialog.message), dialog.accept()))
    sign_in(page, live_server.url)

    page.goto(f"{live_server.url}/admin/users/{user_id}")
    assert "On since" in page.inner_text("#two-step-state")
    page.click("button:has-text('Reset two-step verification')")
    page.wait_for_selector(f".govuk-notification-banner:has-text('reset for {MANAGER}')")

    assert page.inner_text("#two-step-state") == "Not set up."
    assert confirms == ([f"Reset two-step verification for {MANAGER}?"] if javascript else [])
    user, _, _, actions = _stored(live_server, user_id)
    assert not user.has_two_step and user.session_version == 1
    assert actions[-1] == "two_step.reset"
    # Their own account page has no reset button for themselves here.
    with live_server.sessionmaker() as session:
        admin_id = accounts.find_user(session, "admin@example.org").id
    page.goto(f"{live_server.url}/admin/users/{admin_id}")
    assert page.locator("button:has-text('Reset two-step verification')").count() == 0
    assert re.search("it needs a code", page.inner_text("main"))
    context.close()


@pytest.fixture
def late_server(tmp_path):
    """A live app whose clock the test moves on (``.later``), with a staff account to change."""
    from datetime import timedelta

    from werkzeug.serving import make_server

    from surveyapp import create_app
    from surveyapp.db import Base
    from tests.browser import conftest as browser_fixtures

    offset = [timedelta(0)]
    app = create_app(
        {
            "SECRET_KEY": "browser-tests",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'step-up.sqlite'}",
            "CLOCK": lambda: NOW + offset[0],
        }
    )
    Base.metadata.create_all(app.extensions["surveyapp.engine"])
    with app.extensions["surveyapp.sessionmaker"]() as session:
        admin = accounts.create_user(
            session, email="admin@example.org", password=PASSWORD, role="admin", now=NOW
        )
        enrol_two_step(session, admin)
        other = accounts.create_user(
            session, email="eva@example.org", password=PASSWORD, role="evaluator", now=NOW
        )
        session.commit()
        other_id = other.id
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    browser_fixtures._SERVERS[url] = app
    try:
        yield url, offset, other_id, app.extensions["surveyapp.sessionmaker"]
    finally:
        del browser_fixtures._SERVERS[url]
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.extensions["surveyapp.engine"].dispose()


@pytest.mark.posts("/auth/confirm")
@JAVASCRIPT
def test_a_role_change_asks_for_the_password_again_after_15_minutes(
    browser, late_server, javascript
):
    from datetime import timedelta

    url, offset, other_id, make_session = late_server
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    sign_in(page, url)
    offset[0] = timedelta(minutes=16)

    page.goto(f"{url}/admin/users/{other_id}")
    page.locator("label", has_text=re.compile("^Viewer$")).click()
    page.click("button:has-text('Save changes')")
    page.wait_for_selector("h1:has-text('Enter your password again')")
    with make_session() as session:
        assert session.get(User, other_id).role == "evaluator"  # nothing saved yet
    page.fill("#password", "not my password")
    page.click("button:has-text('Continue')")
    page.wait_for_selector(".govuk-error-summary:has-text('The password is not right')")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Continue')")
    page.wait_for_url(f"{url}/admin/users/{other_id}")
    page.locator("label", has_text=re.compile("^Viewer$")).click()
    page.click("button:has-text('Save changes')")
    page.wait_for_url(f"{url}/admin/users")

    with make_session() as session:
        assert session.get(User, other_id).role == "viewer"
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["sign_in_failed", "sign_in.confirm", "user.change"]
    context.close()


@pytest.mark.posts("/auth/sessions/end-others")
@JAVASCRIPT
def test_signing_out_everywhere_else(browser, live_server, javascript):
    here = browser.new_context(java_script_enabled=javascript)
    there = browser.new_context(java_script_enabled=javascript)
    page, other = here.new_page(), there.new_page()
    sign_in(page, live_server.url)
    sign_in(other, live_server.url)
    with live_server.sessionmaker() as session:
        before = session.scalar(select(User.session_version))

    page.click("a:has-text('admin@example.org')")
    page.wait_for_url(f"{live_server.url}/auth/account")
    page.click("button:has-text('Sign out everywhere else')")
    page.wait_for_selector(".govuk-notification-banner:has-text('signed out everywhere else')")

    page.goto(f"{live_server.url}/admin/programmes")
    assert page.url == f"{live_server.url}/admin/programmes"
    other.goto(f"{live_server.url}/admin/programmes")
    assert "/auth/login?next=/admin/programmes" in other.url
    with live_server.sessionmaker() as session:
        assert session.scalar(select(User.session_version)) == before + 1
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-1] == "sign_out.others"
    here.close()
    there.close()
