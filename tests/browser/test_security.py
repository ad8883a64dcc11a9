"""In Chromium: the Content-Security-Policy blocks nothing the app does, and idle staff are warned."""

import re
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from surveyapp import create_app
from surveyapp.db import Base
from surveyapp.models import EmailTemplate, Wave
from surveyapp.staff import operations as accounts
from tests.browser import conftest as browser_fixtures
from tests.browser.conftest import sign_in, type_code, wait_until
from tests.conftest import NOW, PASSWORD, enrol_two_step
from tests.factories import make_invitation

pytestmark = pytest.mark.browser


def watch_for_violations(page) -> list[str]:
    """Collect every CSP violation the page reports, as an event or on the console."""
    found = []

    def report(text):
        found.append(text)

    page.expose_function("reportViolation", report)
    page.add_init_script(
        """document.addEventListener("securitypolicyviolation", (event) => {
             window.reportViolation(`${event.violatedDirective} blocked ${event.blockedURI}`
                                    + ` at ${event.sourceFile}:${event.lineNumber}`);
           });"""
    )
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


def test_participant_and_admin_pages_break_no_rule_and_htmx_still_swaps(browser, live_server):
    link = live_server.invite()
    with live_server.sessionmaker() as session:
        wave = session.scalar(select(Wave))
        template = session.scalar(select(EmailTemplate).where(EmailTemplate.name == "reminder"))
        wave_id, programme_id, template_id = wave.id, wave.programme_id, template.id
    context = browser.new_context()
    page = context.new_page()
    violations = watch_for_violations(page)

    # The participant: link, start page, a page answered through an htmx swap.
    page.goto(link)
    page.evaluate("window.sameDocument = true")
    page.click("text=Start now")
    page.wait_for_selector("h1:has-text('About the session')")
    page.check("input[name=session_type] >> nth=0")
    page.check("input[name=session_role] >> nth=0")
    page.fill("input[name=session_number]", "2")
    page.click("button:has-text('Continue')")
    page.wait_for_url("**/r/page/your_views")
    assert page.evaluate("window.sameDocument") is True  # swapped by htmx, not reloaded

    # The study team: pages with forms, charts, polling, live search and a live preview.
    admin = context.new_page()
    violations_admin = watch_for_violations(admin)
    sign_in(admin, live_server.url)
    for path in (
        "/admin/programmes",
        f"/admin/programmes/{programme_id}",
        f"/admin/waves/{wave_id}",
        f"/admin/waves/{wave_id}/dashboard",
        f"/admin/waves/{wave_id}/reminders",
        "/admin/questionnaires",
        "/admin/questionnaires/session_evaluation/preview",
    ):
        response = admin.goto(live_server.url + path)
        assert response.status == 200, path
        assert response.headers["content-security-policy"].startswith("default-src 'self'")

    admin.goto(f"{live_server.url}/admin/waves/{wave_id}/dashboard")
    admin.evaluate("window.sameDocument = true")
    admin.click("#wave-counts a:has-text('Refresh')")  # a partial swap of the counts panel
    wait_until(admin, "document.querySelector('#wave-counts') !== null")
    admin.goto(f"{live_server.url}/admin/programmes/{programme_id}/participants")
    admin.evaluate("window.sameDocument = true")
    admin.fill("#q", "no such person")
    admin.wait_for_selector("#participant-rows:has-text('No participant matches this search.')")
    assert admin.evaluate("window.sameDocument") is True
    admin.goto(f"{live_server.url}/admin/waves/{wave_id}/reminders/emails/{template_id}")
    admin.fill("#body", "Dear {{ first_name }}, thank you.")
    admin.wait_for_selector("#template-preview:has-text('thank you.')")

    assert violations == [] and violations_admin == []
    context.close()


def test_an_inline_script_would_be_blocked(browser, live_server):
    """The policy is really enforced: a script slipped into a page does not run."""
    page = browser.new_page()
    violations = watch_for_violations(page)
    page.goto(f"{live_server.url}/auth/login")

    page.evaluate(
        """() => {
             const script = document.createElement("script");
             script.textContent = "window.injected = true";
             document.body.append(script);
           }"""
    )

    assert page.evaluate("window.injected === undefined")
    page.wait_for_timeout(200)
    assert any("script-src" in found for found in violations)
    page.close()


# Staff: the inactivity warning -----------------------------------------------------------------

IDLE_SECONDS = 8
WARNING_SECONDS = 5


@contextmanager
def served(tmp_path, **config):
    """The app on loopback with a clock that moves with real time (the browser's timers do too)."""
    started = time.monotonic()
    app = create_app(
        {
            "SECRET_KEY": "browser-tests",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'security.sqlite'}",
            "CLOCK": lambda: NOW + timedelta(seconds=time.monotonic() - started),
        }
        | config
    )
    Base.metadata.create_all(app.extensions["surveyapp.engine"])
    with app.extensions["surveyapp.sessionmaker"]() as session:
        admin = accounts.create_user(
            session, email="admin@example.org", password=PASSWORD, role="admin", now=NOW
        )
        enrol_two_step(session, admin)
        make_invitation(session)
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    browser_fixtures._SERVERS[url] = app
    try:
        yield url
    finally:
        del browser_fixtures._SERVERS[url]
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.extensions["surveyapp.engine"].dispose()


@pytest.fixture
def short_sessions(tmp_path):
    with served(
        tmp_path,
        STAFF_IDLE_MINUTES=IDLE_SECONDS / 60,
        STAFF_IDLE_WARNING_SECONDS=WARNING_SECONDS,
    ) as url:
        yield url


def test_idle_staff_are_warned_and_can_stay_signed_in(browser, short_sessions):
    page = browser.new_page()
    violations = watch_for_violations(page)
    sign_in(page, short_sessions)
    page.goto(f"{short_sessions}/admin/programmes")
    dialog = page.locator("#session-timeout")
    assert not dialog.is_visible()

    # The warning opens a little before the end, as a modal dialog with the button focused.
    dialog.wait_for(state="visible", timeout=(IDLE_SECONDS - WARNING_SECONDS + 3) * 1000)
    assert "You will be signed out in" in dialog.inner_text()
    stay = page.get_by_role("button", name="Stay signed in")
    assert stay.evaluate("button => button === document.activeElement")
    stay.click()
    dialog.wait_for(state="hidden")

    # Past the first deadline, still signed in: the button counted as activity.
    page.wait_for_timeout((WARNING_SECONDS + 1) * 1000)
    assert page.url.endswith("/admin/programmes")
    status = page.request.get(f"{short_sessions}/auth/session-status").json()
    assert status["signed_in"] is True

    # Left alone, the warning comes back; then the page goes to sign-in, saying why.
    page.wait_for_url(re.compile(r"/auth/login\?next="), timeout=(IDLE_SECONDS + 4) * 1000)
    assert "You were signed out because you were inactive for 8 seconds" in page.inner_text("main")
    page.fill("#email", "admin@example.org")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/auth/two-step")
    type_code(page, short_sessions)
    page.wait_for_url("**/admin/programmes")
    assert violations == []
    page.close()


def test_without_javascript_the_session_simply_ends(browser, short_sessions):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, short_sessions)
    assert not page.locator("#session-timeout").is_visible()

    page.wait_for_timeout((IDLE_SECONDS + 1) * 1000)
    page.goto(f"{short_sessions}/admin/programmes")

    assert "/auth/login?next=/admin/programmes" in page.url
    assert "You were signed out because you were inactive" in page.inner_text("main")
    context.close()
