"""Your sessions in Chromium: the list on *Your account*, and signing one browser out."""

import pytest
from sqlalchemy import select

from surveyapp.models import AuditEvent, StaffSession
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.posts("/auth/sessions/<int:row_id>/end")
def test_signing_out_a_phone_from_the_account_page(browser, live_server, javascript):
    here = browser.new_context(java_script_enabled=javascript)
    there = browser.new_context(java_script_enabled=javascript, user_agent=PHONE)
    page, phone = here.new_page(), there.new_page()
    sign_in(page, live_server.url)
    sign_in(phone, live_server.url)

    page.click("a:has-text('admin@example.org')")
    page.wait_for_url(f"{live_server.url}/auth/account")
    listed = page.inner_text("#sessions")
    page.click("#sessions button:has-text('Sign out')")
    page.wait_for_selector(".govuk-notification-banner:has-text('is signed out')")
    after = page.inner_text("#sessions")
    phone.goto(f"{live_server.url}/admin/programmes")

    assert "Mobile Safari on iOS" in listed and "This browser" in listed
    assert "Mobile Safari" not in after and "This browser" in after
    assert "/auth/login" in phone.url
    with live_server.sessionmaker() as session:
        ended = session.scalar(select(StaffSession).where(StaffSession.user_agent == PHONE))
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert ended.ended_at is not None
    assert actions[-1] == "sign_out.one"
    here.close()
    there.close()
