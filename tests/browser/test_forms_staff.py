"""Staff accounts and the participant's own forms, filled in and sent in Chromium.

Each test uses the real inputs (labels clicked, text typed), presses the real
button, then checks what the page says and what the live app's database holds.
Forms are boosted by htmx, so each journey runs with JavaScript on and off.
"""

import re
import time

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import expect
from sqlalchemy import func, select

from surveyapp.models import (
    Answer,
    AuditEvent,
    DraftAnswer,
    Invitation,
    ProgrammeMember,
    Response,
    User,
)
from tests.browser.conftest import sign_in
from tests.conftest import NOW, PASSWORD
from tests.factories import make_programme

pytestmark = pytest.mark.browser

JAVASCRIPT = pytest.mark.parametrize(
    "javascript", [True, False], ids=["javascript-on", "javascript-off"]
)
PROGRAMMES = ("Bristol action learning", "Kent peer support", "Leeds mentoring")


@pytest.fixture
def new_page(browser):
    """Open a tab in a context of its own (a separate cookie jar); closed after the test."""
    contexts = []

    def new(javascript: bool = True):
        contexts.append(browser.new_context(java_script_enabled=javascript))
        page = contexts[-1].new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.js_errors = errors
        return page

    yield new
    for context in contexts:
        context.close()


def click_label(page, text: str) -> None:
    """Click the label reading exactly ``text``, as a mouse user chooses a radio or a box."""
    page.locator("label", has_text=re.compile(f"^{re.escape(text)}$")).click()


def programme_ids(live_server) -> dict[str, int]:
    """Make the three programmes of PROGRAMMES; return their ids by name."""
    with live_server.sessionmaker() as session:
        made = {name: make_programme(session, name=name).id for name in PROGRAMMES}
        session.commit()
    return made


def account(live_server, email: str) -> tuple[User | None, set[int]]:
    """The stored account of ``email`` and the ids of the programmes it is a member of."""
    with live_server.sessionmaker() as session:
        user = session.scalar(select(User).where(User.email == email))
        members = set(
            session.scalars(
                select(ProgrammeMember.programme_id).where(
                    ProgrammeMember.user_id == (user.id if user else None)
                )
            )
        )
    return user, members


def error_summary(page) -> list[str]:
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    return summary.locator("li").all_inner_texts()


# -- staff accounts -----------------------------------------------------------------------


@JAVASCRIPT
@pytest.mark.posts("/admin/users/new")
def test_an_administrator_creates_a_staff_account(new_page, live_server, javascript):
    ids = programme_ids(live_server)
    page = new_page(javascript)
    sign_in(page, live_server.url)
    page.get_by_role("link", name="Staff accounts").click()
    expect(page.locator("h1")).to_have_text("Staff accounts")
    page.get_by_role("link", name="Create an account").click()
    expect(page.locator("h1")).to_have_text("Create an account")
    assert page.get_by_label("Can sign in").is_checked()  # a new account can sign in

    page.fill("#email", "a@b..org")
    click_label(page, "Evaluator")
    click_label(page, "Kent peer support")
    click_label(page, "Leeds mentoring")
    page.fill("#password", "a first long password")
    page.get_by_role("button", name="Create the account").click()

    assert error_summary(page) == [
        "Enter an email address in the correct format, like name@example.org"
    ]
    expect(page.locator("#email-error")).to_have_text(
        "Error: Enter an email address in the correct format, like name@example.org"
    )
    assert page.title().startswith("Error: Create an account")
    with live_server.sessionmaker() as session:
        assert session.scalars(select(User.email)).all() == ["admin@example.org"]
        assert session.scalar(select(func.count()).select_from(ProgrammeMember)) == 0
    # What was chosen is still chosen, so only the email needs typing again.
    assert page.get_by_label("Evaluator", exact=True).is_checked()
    assert page.get_by_label("Kent peer support").is_checked()
    assert page.get_by_label("Leeds mentoring").is_checked()
    assert not page.get_by_label("Bristol action learning").is_checked()

    page.fill("#email", "Kofi.Mensah@Example.org")
    page.fill("#password", "a first long password")
    page.get_by_role("button", name="Create the account").click()

    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Account created for kofi.mensah@example.org."
    )
    expect(page.locator("h1")).to_have_text("Staff accounts")
    row = page.locator("#users tr", has_text="kofi.mensah@example.org")
    assert row.locator("td").all_inner_texts()[:4] == [
        "kofi.mensah@example.org",
        "Evaluator",
        "Kent peer support, Leeds mentoring",
        "Never",
    ]
    user, members = account(live_server, "kofi.mensah@example.org")
    assert (user.role, user.is_active, user.created_at) == ("evaluator", True, NOW)
    assert members == {ids["Kent peer support"], ids["Leeds mentoring"]}
    assert PasswordHasher().verify(user.password_hash, "a first long password")
    with live_server.sessionmaker() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.create"))
    assert event.summary == (
        "Created kofi.mensah@example.org as Evaluator; "
        "may see Kent peer support; may see Leeds mentoring"
    )
    assert page.js_errors == []


@JAVASCRIPT
@pytest.mark.posts("/admin/users/<int:user_id>")
def test_an_administrator_changes_a_staff_account(new_page, live_server, javascript):
    from surveyapp.staff import access
    from surveyapp.staff import operations as accounts

    ids = programme_ids(live_server)
    with live_server.sessionmaker() as session:
        viewer = accounts.create_user(
            session, email="ruth@example.org", password=PASSWORD, role="viewer", now=NOW
        )
        access.set_membership(session, viewer, {ids["Bristol action learning"]})
        session.commit()
        first_hash = viewer.password_hash
    page = new_page(javascript)
    sign_in(page, live_server.url)
    page.get_by_role("link", name="Staff accounts").click()
    page.get_by_role("link", name="Change ruth@example.org").click()
    expect(page.locator("h1")).to_have_text("Change ruth@example.org")
    assert page.get_by_label("Viewer", exact=True).is_checked()
    assert page.get_by_label("Bristol action learning").is_checked()
    assert page.get_by_label("Can sign in").is_checked()
    assert page.locator("#email").count() == 0  # the email of an account is not changed

    click_label(page, "Programme manager")
    click_label(page, "Bristol action learning")  # untick
    click_label(page, "Kent peer support")
    click_label(page, "Leeds mentoring")
    click_label(page, "Can sign in")  # untick
    page.fill("#new_password", "too short")
    page.get_by_role("button", name="Save changes").click()

    assert error_summary(page) == ["The password must be at least 10 characters."]
    expect(page.locator("#new_password-error")).to_have_text(
        "Error: The password must be at least 10 characters."
    )
    user, members = account(live_server, "ruth@example.org")
    assert (user.role, user.is_active, user.password_hash) == ("viewer", True, first_hash)
    assert members == {ids["Bristol action learning"]}

    # The page sent back keeps every choice, so only the password needs typing again.
    assert page.get_by_label("Programme manager", exact=True).is_checked()
    assert not page.get_by_label("Bristol action learning").is_checked()
    assert page.get_by_label("Kent peer support").is_checked()
    assert page.get_by_label("Leeds mentoring").is_checked()
    assert not page.get_by_label("Can sign in").is_checked()
    page.fill("#new_password", "a much longer password")
    page.get_by_role("button", name="Save changes").click()

    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Changes to ruth@example.org saved."
    )
    row = page.locator("#users tr", has_text="ruth@example.org")
    assert row.locator("td").all_inner_texts()[:3] == [
        "ruth@example.org Cannot sign in",
        "Programme manager",
        "Kent peer support, Leeds mentoring",
    ]
    user, members = account(live_server, "ruth@example.org")
    assert (user.role, user.is_active) == ("programme_manager", False)
    assert members == {ids["Kent peer support"], ids["Leeds mentoring"]}
    assert PasswordHasher().verify(user.password_hash, "a much longer password")
    with live_server.sessionmaker() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.change"))
    assert event.summary == (
        "ruth@example.org: role viewer → programme_manager; can no longer sign in; "
        "may see Kent peer support; may see Leeds mentoring; "
        "may no longer see Bristol action learning; password set; signed out everywhere"
    )
    assert page.js_errors == []


# -- the participant's forms --------------------------------------------------------------

#: What the participant chooses and types in session_evaluation, by answer id.
SESSION_PLAN = {
    "session_type": "other",
    "session_type_other": "A joint session with the health visitors",
    "session_role": 2,
    "session_number": 3,
    "s_useful": 5,
    "s_real_issues": 4,
    "s_time_to_reflect": 3,
    "s_theory_into_practice": 2,
    "s_will_use": 1,
    "s_felt_safe": 5,
    "s_well_facilitated": 4,
    "s_enough_time": 3,
    "session_overall": 4,
    "action_agreed": "Ask each new social worker what support they want.",
    "what_would_improve": "A longer break between the two cases.",
}
#: What must be stored: the plan, and the "other" box left empty as a blank answer.
SESSION_STORED = SESSION_PLAN | {"session_role_other": None}
MATRIX_ROWS = [key for key in SESSION_PLAN if key.startswith("s_")]


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[-1]


def invitation_of(session, link: str) -> Invitation:
    return session.scalar(select(Invitation).where(Invitation.token == token_of(link)))


def drafts(live_server, link: str) -> dict:
    """The answers in progress of the invitation of ``link``, by answer id."""
    with live_server.sessionmaker() as session:
        invitation = invitation_of(session, link)
        rows = session.execute(
            select(DraftAnswer.answer_id, DraftAnswer.value).where(
                DraftAnswer.invitation_id == invitation.id
            )
        )
        return dict(rows.all())


def choose(page, name: str, code) -> None:
    """Choose an answer by clicking the label of its radio or box, as a mouse user does."""
    page.locator(f"input[name='{name}'][value='{code}'] + label").click()


def press(page, button: str, heading: str) -> None:
    """Press ``button`` and wait for the page headed ``heading`` (loaded or swapped in)."""
    page.get_by_role("button", name=button).click()
    expect(page.locator("main h1")).to_have_text(heading)


def _wait_for(condition, timeout: float = 15.0) -> None:
    """Wait until ``condition()`` holds (a save made in the background, after htmx's delay)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Still not so after {timeout} s")
        time.sleep(0.1)


@JAVASCRIPT
@pytest.mark.posts("/r/page/<page_id>", "/r/submit")
def test_a_participant_answers_each_page_checks_and_sends(new_page, live_server, javascript):
    link = live_server.invite("session_evaluation")
    page = new_page(javascript)
    page.goto(link)
    page.wait_for_url("**/r/")
    page.get_by_role("button", name="Start now").click()
    expect(page.locator("main h1")).to_have_text("About the session")

    # Sent with a question unanswered and a number out of range: nothing is kept.
    choose(page, "session_role", 2)
    page.fill("#session_number", "99")
    press(page, "Continue", "About the session")
    assert error_summary(page) == [
        "Select an answer: What kind of session was it?",
        "Enter a number between 1 and 50: Which session was this in your programme?",
    ]
    expect(page.locator("#session_type-error")).to_have_text("Error: Select an answer")
    assert page.title().startswith("Error: About the session")
    assert drafts(live_server, link) == {}

    choose(page, "session_type", "other")
    page.fill("#session_type_other", SESSION_PLAN["session_type_other"])
    assert page.locator("input[name=session_role]:checked").get_attribute("value") == "2"
    page.fill("#session_number", "3")
    press(page, "Continue", "Your views on the session")
    assert drafts(live_server, link) == {
        key: SESSION_STORED[key]
        for key in (
            "session_type",
            "session_type_other",
            "session_role",
            "session_role_other",
            "session_number",
        )
    }

    for row in MATRIX_ROWS:
        choose(page, row, SESSION_PLAN[row])
    choose(page, "session_overall", SESSION_PLAN["session_overall"])
    page.fill("#action_agreed", SESSION_PLAN["action_agreed"])
    page.fill("#what_would_improve", SESSION_PLAN["what_would_improve"])
    press(page, "Continue", "Check your answers before sending them")

    summary = dict(
        zip(
            page.locator(".govuk-summary-list__key").all_inner_texts(),
            page.locator(".govuk-summary-list__value").all_inner_texts(),
            strict=True,
        )
    )
    assert summary["What kind of session was it?"] == (
        "Another kind of session (A joint session with the health visitors)"
    )
    assert summary["What was your role in the session?"] == "Mentor or supervisor"
    assert summary["Which session was this in your programme?"] == "3"
    assert (
        summary[
            "How far do you agree with these statements about the session? – "
            "I was able to put the theory into practice."
        ]
        == "Disagree"
    )
    assert summary["Overall, how useful was this session?"] == "Very useful"
    assert (
        summary["What would have made the session more useful?"]
        == (SESSION_PLAN["what_would_improve"])
    )
    with live_server.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 0

    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_url("**/r/complete")
    expect(page.locator("main h1")).to_have_text("Thank you, your answers have been sent")
    expect(page.locator(".govuk-panel__body")).to_contain_text("Session evaluation")

    with live_server.sessionmaker() as session:
        (response,) = session.scalars(select(Response)).all()
        invitation = invitation_of(session, link)
        stored = dict(
            session.execute(
                select(Answer.answer_id, Answer.value).where(Answer.response_id == response.id)
            ).all()
        )
        assert response.participant_id == invitation.participant_id
        assert (invitation.completed_at, invitation.pages_done) == (NOW, 2)
    assert stored == SESSION_STORED
    assert drafts(live_server, link) == {}
    assert page.js_errors == []


@pytest.mark.posts("/r/page/<page_id>/draft", "/r/page/<page_id>")
def test_a_long_answer_is_kept_while_it_is_typed(new_page, live_server):
    link = live_server.invite("session_evaluation")
    page = new_page()
    page.goto(link)
    page.get_by_role("button", name="Start now").click()
    choose(page, "session_type", 1)
    choose(page, "session_role", 1)
    page.fill("#session_number", "2")
    press(page, "Continue", "Your views on the session")

    box = page.locator("#action_agreed")
    typed = "Book time with my mentor"
    box.press_sequentially(typed)

    def saved():
        return drafts(live_server, link).get("action_agreed")

    _wait_for(lambda: saved() == typed)
    assert "what_would_improve" not in drafts(live_server, link)  # an empty box is not sent

    # On another device the typed text is there, though the page was never sent.
    other = new_page()
    other.goto(link)
    other.get_by_role("button", name="Continue where you left off").click()
    expect(other.locator("main h1")).to_have_text("Your views on the session")
    expect(other.locator("#action_agreed")).to_have_value(typed)
    assert page.js_errors == [] and other.js_errors == []


@JAVASCRIPT
@pytest.mark.posts("/r/<token>/no-reminders")
def test_the_no_reminders_link_stops_reminders(new_page, live_server, javascript):
    link = live_server.invite("session_evaluation")
    with live_server.sessionmaker() as session:
        wave = invitation_of(session, link).wave
        label, programme = wave.label, wave.programme.name
    page = new_page(javascript)
    page.goto(f"{link}/no-reminders")  # the link at the foot of each email
    expect(page.locator("main h1")).to_have_text("Stop reminders about this questionnaire?")
    expect(page.locator("main")).to_contain_text(f"the {label} questionnaire of {programme}")

    press(page, "Stop reminders", "You will get no more reminders")
    expect(page.locator("main")).to_contain_text("You can still answer it with the link")
    assert page.get_by_role("button", name="Stop reminders").count() == 0
    with live_server.sessionmaker() as session:
        invitation = invitation_of(session, link)
        assert (invitation.opted_out_at, invitation.completed_at) == (NOW, None)

    page.goto(link)  # the questionnaire itself is still open to them
    expect(page.get_by_role("button", name="Start now")).to_be_visible()
    assert page.js_errors == []
