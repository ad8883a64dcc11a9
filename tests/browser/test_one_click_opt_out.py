"""One-click opting out (RFC 8058): a mail program POSTs to the opt-out link of an email.

Gmail, Yahoo and others show an "Unsubscribe" button beside a message that carries
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``; pressing it makes the mail
provider POST ``List-Unsubscribe=One-Click`` to the link, with no cookie and no form
token. The live server here runs with CSRF protection on, as in production.
"""

import pytest
from playwright.sync_api import expect

from surveyapp.models import Invitation
from tests.conftest import NOW

pytestmark = pytest.mark.browser


@pytest.mark.posts("/r/<token>/no-reminders")
def test_a_mail_programs_one_click_post_stops_reminders(browser, live_server):
    link = live_server.invite("session_evaluation")
    token = link.rsplit("/", 1)[1]
    context = browser.new_context()  # a cookie jar of its own: no session at all
    try:
        page = context.new_page()
        answer = page.request.post(
            f"{link}/no-reminders", form={"List-Unsubscribe": "One-Click"}, max_redirects=0
        )
        assert answer.status == 200
        assert answer.text() == "You will get no more reminders about this questionnaire.\n"
        assert context.cookies() == []
        with live_server.sessionmaker() as session:
            invitation = session.query(Invitation).filter_by(token=token).one()
            assert (invitation.opted_out_at, invitation.completed_at) == (NOW, None)

        page.goto(f"{link}/no-reminders")  # the link in the email still shows where they stand
        expect(page.locator("main h1")).to_have_text("You will get no more reminders")
        assert page.get_by_role("button", name="Stop reminders").count() == 0
    finally:
        context.close()


@pytest.mark.posts("/r/<token>/no-reminders")
def test_any_other_post_without_its_form_token_is_refused(browser, live_server):
    link = live_server.invite("session_evaluation")
    token = link.rsplit("/", 1)[1]
    context = browser.new_context()
    try:
        answer = context.new_page().request.post(
            f"{link}/no-reminders", form={"List-Unsubscribe": "Please"}, max_redirects=0
        )
        assert answer.status == 400
        with live_server.sessionmaker() as session:
            invitation = session.query(Invitation).filter_by(token=token).one()
            assert invitation.opted_out_at is None
    finally:
        context.close()
