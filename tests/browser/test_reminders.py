"""The study team's reminder pages in Chromium: dashboard, a live email preview, Send now."""

import pytest
from sqlalchemy import select

from surveyapp.models import EmailTemplate, Message, Wave
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_dashboard_preview_and_send_now(browser, live_server):
    live_server.invite(participant={"name": "Siân Ó Dónaill", "email": "sian@example.org"})
    with live_server.sessionmaker() as session:
        wave = session.scalar(select(Wave))
        reminder = session.scalar(select(EmailTemplate).where(EmailTemplate.name == "reminder"))
        wave_id, template_id = wave.id, reminder.id
    page = browser.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the hx-confirm before sending
    sign_in(page, live_server.url)

    page.goto(f"{live_server.url}/admin/waves/{wave_id}/dashboard")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator("svg[role=img]").count() == 1

    page.goto(f"{live_server.url}/admin/waves/{wave_id}/reminders/emails/{template_id}")
    page.fill("#body", "Dear {{ first_name }}, please answer by {{ deadline }}.")
    page.wait_for_selector("#template-preview:has-text('Dear Siân, please answer by')")
    page.fill("#body", "Dear {{ firstname }}")
    page.wait_for_selector("#template-preview:has-text('“firstname” is not a field.')")

    page.goto(f"{live_server.url}/admin/waves/{wave_id}/reminders")
    page.click("a:has-text('Send now') >> nth=0")
    page.wait_for_selector("h1:has-text('now')")
    assert page.locator("text=sian@example.org").count() >= 1
    page.click("button:has-text('now')")
    page.wait_for_selector(".govuk-notification-banner")

    with live_server.sessionmaker() as session:
        messages = session.scalars(select(Message)).all()
    assert [(m.to_address, m.state, m.transport) for m in messages] == [
        ("sian@example.org", "sent", "outbox")
    ]
    assert messages[0].body.startswith("Dear Siân,")
