"""A wave's forms in Chromium, as the study team uses them, with JavaScript and without.

Closing a wave early, reopening a response, the steps of the reminder plan, Send now,
and writing and editing the emails with their preview. Each journey checks what the
page then says and what the database holds.
"""

import threading
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from surveyapp import PROJECT_ROOT, create_app
from surveyapp.db import Base
from surveyapp.models import (
    Answer,
    AuditEvent,
    DraftAnswer,
    EmailTemplate,
    Invitation,
    Message,
    ReminderStep,
    Response,
    Wave,
)
from surveyapp.questionnaires import load_all
from surveyapp.staff import operations as accounts
from tests.browser import conftest as browser_fixtures
from tests.browser.conftest import LiveServer, sign_in
from tests.conftest import NOW, PASSWORD, enrol_two_step
from tests.factories import make_participant, make_programme, make_wave

pytestmark = pytest.mark.browser

BANNER = ".govuk-notification-banner"
ERRORS = ".govuk-error-summary"
PEOPLE = (
    {"id_number": "A001", "name": "Siân Ó Dónaill", "email": "sian@example.org"},
    {"id_number": "A002", "name": "Kwame Mensah", "email": "kwame@example.org"},
)
DEFAULT_PLAN = ["Invitation", "First reminder", "Second reminder", "Final personal reminder"]


@pytest.fixture
def open_page(browser, live_server):
    """Open a signed-in page in a context of its own, with or without JavaScript.

    With JavaScript, every hx-confirm dialog is accepted and its words are kept in
    ``page.dialogs``.
    """
    contexts = []

    def open_(javascript: bool = True):
        context = browser.new_context(java_script_enabled=javascript)
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []

        def accept(dialog):
            page.dialogs.append(dialog.message)
            dialog.accept()

        page.on("dialog", accept)
        sign_in(page, live_server.url)
        return page

    yield open_
    for context in contexts:
        context.close()


def _wave(live_server, people=PEOPLE, **overrides) -> int:
    """A wave of the session evaluation with its default plan and emails; returns its id."""
    with live_server.sessionmaker() as session:
        programme = make_programme(session)
        for person in people:
            make_participant(session, programme, **person)
        wave = make_wave(session, programme, **overrides)
        session.commit()
        return wave.id


def _complete(live_server, wave_id: int, id_number: str) -> int:
    """Mark the invitation of ``id_number`` submitted, with a stored response; returns its id."""
    questionnaire = load_all(PROJECT_ROOT / "questionnaires").questionnaires["session_evaluation"]
    first_item = questionnaire.pages[0].items[0].id
    with live_server.sessionmaker() as session:
        invitation = next(
            i
            for i in session.scalars(select(Invitation).where(Invitation.wave_id == wave_id))
            if i.participant.id_number == id_number
        )
        invitation.opened_at = invitation.started_at = NOW - timedelta(hours=2)
        invitation.completed_at = NOW - timedelta(hours=1)
        invitation.pages_done = invitation.pages_total = len(questionnaire.pages)
        response = Response(
            id=uuid.uuid4().hex,
            wave_id=wave_id,
            questionnaire_version_id=invitation.wave.questionnaire_version_id,
            participant_id=invitation.participant_id,
            team="North",
            release=0,  # identified: released as sent
        )
        response.answers.append(Answer(answer_id=first_item, value=4))
        session.add(response)
        session.commit()
        return invitation.id


def _words(text: str) -> str:
    return " ".join(text.split())


def _banner(page) -> str:
    return page.locator(BANNER).inner_text()


def _goto_wave_page(page, live_server, wave_id: int, section: str) -> None:
    page.goto(f"{live_server.url}/admin/waves/{wave_id}")
    page.click(f"#wave-nav a:has-text('{section}')")
    page.wait_for_selector(f"h1:has-text('{section}')")


def _steps(live_server, wave_id: int) -> list[ReminderStep]:
    with live_server.sessionmaker() as session:
        steps = session.scalars(
            select(ReminderStep)
            .where(ReminderStep.wave_id == wave_id)
            .order_by(ReminderStep.position)
        ).all()
        for step in steps:
            step.template.name  # noqa: B018 - loaded while the session is open
        return steps


def _templates(live_server, wave_id: int) -> dict[str, tuple[str, str]]:
    with live_server.sessionmaker() as session:
        rows = session.scalars(select(EmailTemplate).where(EmailTemplate.wave_id == wave_id))
        # The browser sends a textarea's line breaks as CR LF; a reader sees the same text.
        return {t.name: (t.subject, t.body.replace("\r\n", "\n")) for t in rows}


# -- closing a wave and reopening a response ------------------------------------------------


@pytest.mark.posts("/admin/waves/<int:wave_id>/close")
def test_closing_a_wave_early_with_and_without_javascript(live_server, open_page):
    with_js, without_js = _wave(live_server), _wave(live_server)
    with live_server.sessionmaker() as session:
        invitation = session.scalar(select(Invitation).where(Invitation.wave_id == with_js))
        step = session.scalar(select(ReminderStep).where(ReminderStep.wave_id == with_js))
        session.add(
            Message(
                wave_id=with_js,
                step_id=step.id,
                invitation_id=invitation.id,
                to_address="sian@example.org",
                subject="Please answer",
                body="Dear Siân",
                queued_at=NOW,
            )
        )
        label = session.get(Wave, with_js).label
        session.commit()

    page = open_page()
    stale = open_page(javascript=False)  # the same wave, opened before it is closed
    stale.goto(f"{live_server.url}/admin/waves/{with_js}")
    page.goto(f"{live_server.url}/admin/waves/{with_js}")
    assert "30 April 2030, 1:00pm to 21 May 2030, 1:00pm" in page.inner_text("dl")
    page.click("button:has-text('Close this wave now')")
    page.wait_for_selector(BANNER)

    assert page.dialogs == [
        f"Close {label} now? Nobody will be able to send answers after this, "
        "and queued reminders will not be sent."
    ]
    assert f"“{label}” is closed. Links no longer take answers." in _banner(page)
    assert "30 April 2030, 1:00pm to 1 May 2030, 1:00pm" in page.inner_text("dl")
    assert page.locator("button:has-text('Close this wave now')").count() == 0
    with live_server.sessionmaker() as session:
        assert session.get(Wave, with_js).closes_at == NOW
        assert session.get(Wave, without_js).closes_at == NOW + timedelta(days=20)
        message = session.scalar(select(Message))
        assert (message.state, message.last_error) == (
            "cancelled",
            "Not sent: the wave was closed.",
        )

    plain = open_page(javascript=False)
    plain.goto(f"{live_server.url}/admin/waves/{without_js}")
    plain.click("button:has-text('Close this wave now')")
    plain.wait_for_selector(BANNER)
    assert "is closed. Links no longer take answers." in _banner(plain)
    assert "to 1 May 2030, 1:00pm" in plain.inner_text("dl")
    with live_server.sessionmaker() as session:
        assert session.get(Wave, without_js).closes_at == NOW

    # The page opened before it closed still has the button: pressing it changes nothing.
    stale.click("button:has-text('Close this wave now')")
    stale.wait_for_selector("main :text('This wave is already closed.')")
    with live_server.sessionmaker() as session:
        assert session.get(Wave, with_js).closes_at == NOW
    # It is an error, so it must not be announced under “Done” as a success.
    assert stale.locator(".govuk-notification-banner--success").count() == 0


@pytest.mark.posts("/admin/waves/<int:wave_id>/invitations/<int:invitation_id>/reopen")
def test_reopening_completed_answers_with_and_without_javascript(live_server, open_page):
    wave_id = _wave(live_server)
    sian = _complete(live_server, wave_id, "A001")
    kwame = _complete(live_server, wave_id, "A002")

    page = open_page()
    stale = open_page(javascript=False)
    older = stale.context.new_page()  # a second tab, opened before anything is reopened
    for tab in (stale, older):
        tab.goto(f"{live_server.url}/admin/waves/{wave_id}")
    page.goto(f"{live_server.url}/admin/waves/{wave_id}")
    assert page.locator(".app-count:has-text('Completed') .app-count__value").inner_text() == "2"
    page.click("tr:has-text('Siân Ó Dónaill') button:has-text('Reopen')")
    page.wait_for_selector(BANNER)

    assert page.dialogs == [
        "Reopen the answers of Siân Ó Dónaill? They can then change and send them again."
    ]
    assert "The answers of Siân Ó Dónaill are reopened on the same link." in _banner(page)
    row = page.locator("tr:has-text('Siân Ó Dónaill')")
    assert "Started" in row.inner_text()
    assert row.locator("button:has-text('Reopen')").count() == 0
    assert page.locator(".app-count:has-text('Completed') .app-count__value").inner_text() == "1"
    with live_server.sessionmaker() as session:
        assert session.get(Invitation, sian).completed_at is None
        assert session.get(Invitation, kwame).completed_at is not None
        drafts = session.scalars(select(DraftAnswer).where(DraftAnswer.invitation_id == sian))
        assert [(d.answer_id, d.value) for d in drafts] == [(_first_item(), 4)]
        assert session.scalar(select(func.count()).select_from(Response)) == 1

    # Without JavaScript the form posts by itself; the page opened earlier reopens Kwame.
    stale.click("tr:has-text('Kwame Mensah') button:has-text('Reopen')")
    stale.wait_for_selector(BANNER)
    assert "The answers of Kwame Mensah are reopened on the same link." in _banner(stale)
    with live_server.sessionmaker() as session:
        assert session.get(Invitation, kwame).completed_at is None
        assert session.scalar(select(func.count()).select_from(Response)) == 0

    # A second, stale press on Siân's button: nothing left to reopen.
    older.click("tr:has-text('Siân Ó Dónaill') button:has-text('Reopen')")
    older.wait_for_selector("main :text('so there is nothing to reopen.')")
    with live_server.sessionmaker() as session:
        drafts = session.scalars(select(DraftAnswer).where(DraftAnswer.invitation_id == sian))
        assert len(drafts.all()) == 1
    # It is an error, so it must not be announced under “Done” as a success.
    assert older.locator(".govuk-notification-banner--success").count() == 0


def _first_item() -> str:
    questionnaire = load_all(PROJECT_ROOT / "questionnaires").questionnaires["session_evaluation"]
    return questionnaire.pages[0].items[0].id


# -- the steps of the reminder plan -------------------------------------------------------


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.posts(
    "/admin/waves/<int:wave_id>/reminders/steps/new",
    "/admin/waves/<int:wave_id>/reminders/steps/<int:step_id>",
    "/admin/waves/<int:wave_id>/reminders/steps/<int:step_id>/delete",
)
def test_adding_changing_and_deleting_a_reminder_step(live_server, open_page, javascript):
    wave_id = _wave(live_server)
    page = open_page(javascript)
    _goto_wave_page(page, live_server, wave_id, "Reminder plan")
    page.click("a:has-text('Add a step')")
    page.wait_for_selector("h1:has-text('Add a step')")
    # A new step starts as a reminder to everyone who has not finished.
    assert page.is_checked("input[name=when][value=days]")
    assert page.is_checked("input[name=audience][value=not_completed]")
    assert page.locator("#template option:checked").inner_text() == "reminder"

    # A date chosen but not given, and no name.
    page.click("label:has-text('On a date and time')")
    page.click("button:has-text('Save the step')")
    page.wait_for_selector(ERRORS)
    problems = page.inner_text(ERRORS)
    for words in ("Enter a name for the step", "Enter the sending date", "Enter the sending time"):
        assert words in problems
    assert page.title().startswith("Error:")
    assert [s.label for s in _steps(live_server, wave_id)] == DEFAULT_PLAN

    page.fill("#label", "Mid-point nudge")
    page.click("label:has-text('A number of days after the wave opens')")
    page.fill("#days_after_opening", "3")  # typed, then the date chosen instead
    page.click("label:has-text('On a date and time')")
    page.fill("#send_on-day", "10")
    page.fill("#send_on-month", "5")
    page.fill("#send_on-year", "2030")
    page.fill("#send_time", "09:30")
    page.click("label:has-text('People who started but have not finished')")
    page.select_option("#template", label="final")
    page.fill("#deadline_working_days", "5")
    page.click("button:has-text('Save the step')")
    page.wait_for_selector(BANNER)

    assert "“Mid-point nudge” saved: due 10 May 2030, 9:30am." in _banner(page)
    card = page.locator(".govuk-summary-card:has-text('Mid-point nudge')")
    assert card.locator("h2").inner_text() == "3. Mid-point nudge"
    assert "People who started but have not finished" in card.inner_text()
    assert "5 working days after sending" in card.inner_text()
    assert "final" in card.inner_text()
    steps = _steps(live_server, wave_id)
    assert [s.label for s in steps] == [*DEFAULT_PLAN[:2], "Mid-point nudge", *DEFAULT_PLAN[2:]]
    added = steps[2]
    assert (added.send_on, added.days_after_opening) == (datetime(2030, 5, 10, 8, 30), None)
    assert (added.audience, added.template.name, added.deadline_working_days) == (
        "started",
        "final",
        5,
    )

    page.click("a:has-text('Change Mid-point nudge')")
    page.wait_for_selector("h1:has-text('Change “Mid-point nudge”')")
    assert page.is_checked("input[name=when][value=date]")
    assert [page.input_value(f"#send_on-{part}") for part in ("day", "month", "year")] == [
        "10",
        "5",
        "2030",
    ]
    assert page.input_value("#send_time") == "09:30"
    assert page.is_checked("input[name=audience][value=started]")
    assert page.locator("#template option:checked").inner_text() == "final"
    assert page.input_value("#deadline_working_days") == "5"

    # 30 days after opening is after the wave closes.
    page.click("label:has-text('A number of days after the wave opens')")
    page.fill("#days_after_opening", "30")
    page.click("button:has-text('Save the step')")
    page.wait_for_selector(f"{ERRORS}:has-text('must be due before the wave closes')")
    assert "The step must be due before the wave closes." in page.inner_text(ERRORS)
    assert _words(page.inner_text("#days_after_opening-error")) == (
        "Error: The step must be due before the wave closes."
    )
    unchanged = _steps(live_server, wave_id)[2]
    assert (unchanged.label, unchanged.send_on, unchanged.days_after_opening) == (
        "Mid-point nudge",
        datetime(2030, 5, 10, 8, 30),
        None,
    )

    page.fill("#label", "Mid-point reminder")
    page.click("label:has-text('A number of days after the wave opens')")
    page.fill("#days_after_opening", "10")
    page.click("label:has-text('People who have not opened their link')")
    page.select_option("#template", label="reminder")
    page.fill("#deadline_working_days", "")
    page.click("button:has-text('Save the step')")
    page.wait_for_selector(BANNER)

    assert "“Mid-point reminder” saved: due 10 May 2030, 1:00pm." in _banner(page)
    card = page.locator(".govuk-summary-card:has-text('Mid-point reminder')")
    assert "People who have not opened their link" in card.inner_text()
    assert "10 days after the wave opens" in card.inner_text()
    changed = _steps(live_server, wave_id)[2]
    assert (changed.label, changed.send_on, changed.days_after_opening) == (
        "Mid-point reminder",
        None,
        10,
    )
    assert (changed.audience, changed.template.name, changed.deadline_working_days) == (
        "not_opened",
        "reminder",
        None,
    )

    page.click("button:has-text('Delete Mid-point reminder')")
    # The plan's page already shows the banner of the last save: wait for the new one.
    page.wait_for_selector(f"{BANNER}:has-text('is no longer in the plan.')")
    assert "“Mid-point reminder” is no longer in the plan." in _banner(page)
    assert page.locator(".govuk-summary-card:has-text('Mid-point reminder')").count() == 0
    if javascript:
        assert page.dialogs == ["Delete the step “Mid-point reminder”? It has sent nothing."]
    steps = _steps(live_server, wave_id)
    assert [(s.position, s.label) for s in steps] == list(enumerate(DEFAULT_PLAN, start=1))


# -- Send now -------------------------------------------------------------------------

FIRST_REMINDER_SEND_NOW = ".govuk-summary-card:has-text('First reminder') a:has-text('Send now')"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.posts("/admin/waves/<int:wave_id>/reminders/steps/<int:step_id>/send")
def test_send_now_shows_who_gets_the_email_then_sends_it(live_server, open_page, javascript):
    wave_id = _wave(live_server)
    _complete(live_server, wave_id, "A002")  # Kwame has answered: he gets nothing
    page = open_page(javascript)
    _goto_wave_page(page, live_server, wave_id, "Reminder plan")
    page.click(FIRST_REMINDER_SEND_NOW)
    page.wait_for_selector("h1:has-text('Send “First reminder” now')")

    assert "1 person will get this email." in page.inner_text("main")
    assert page.locator("#recipients tbody tr").count() == 1
    recipient = page.inner_text("#recipients tbody")
    assert "Siân Ó Dónaill" in recipient and "sian@example.org" in recipient
    assert "Kwame" not in page.inner_text("main")
    example = page.inner_text(".app-email__body")
    assert example.startswith("Dear Siân,")
    page.click("button:has-text('Send to 1 person now')")
    page.wait_for_selector(BANNER)

    if javascript:
        assert page.dialogs == ["Send “First reminder” to 1 person now?"]
    assert "“First reminder”: 1 new message(s). 1 kept, not sent: no mail server." in _banner(page)
    assert page.locator("h1").inner_text() == "Reminder plan"
    card = page.locator(".govuk-summary-card:has-text('First reminder')").first
    assert "1 kept, not sent: no mail server" in card.inner_text()
    assert card.locator("button:has-text('Delete')").count() == 0  # it has sent something
    with live_server.sessionmaker() as session:
        messages = session.scalars(select(Message)).all()
        rows = [(m.to_address, m.state, m.transport, m.step.label) for m in messages]
    assert rows == [("sian@example.org", "sent", "outbox", "First reminder")]
    assert messages[0].subject.startswith("Reminder: ")
    assert messages[0].body.startswith("Dear Siân,")

    # Asked again, it would go to nobody: Siân has it already.
    page.click(FIRST_REMINDER_SEND_NOW)
    page.wait_for_selector("h1:has-text('Send “First reminder” now')")
    assert "Nobody would get this email now." in page.inner_text("main")
    assert page.locator("button:has-text('now')").count() == 0
    with live_server.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 1


# -- the emails -----------------------------------------------------------------------

NEW_SUBJECT = "Thank you, {{ first_name }}"
NEW_BODY = (
    "Dear {{ first_name }},\n\nThank you for answering about {{ programme }}.\n\n"
    "Your link: {{ link }}\n\n{{ signature }}\n\nNo more reminders: {{ opt_out_link }}"
)


def _write_new_email(page, live_server, wave_id: int) -> None:
    """From the emails page, open the new email and fill every field with a mistake in two."""
    _goto_wave_page(page, live_server, wave_id, "Emails")
    page.click("a:has-text('Write a new email')")
    page.wait_for_selector("h1:has-text('Write a new email')")
    page.fill("#name", "Thank You")
    page.fill("#subject", NEW_SUBJECT)
    page.fill("#body", "Dear {{ firstname }},")
    page.select_option("#participant", label="Kwame Mensah (A002)")


@pytest.mark.posts(
    "/admin/waves/<int:wave_id>/reminders/emails/new",
    "/admin/waves/<int:wave_id>/reminders/emails/preview",
    "/admin/waves/<int:wave_id>/reminders/emails/<int:template_id>",
    "/admin/waves/<int:wave_id>/reminders/emails/<int:template_id>/preview",
)
def test_writing_and_editing_emails_with_the_live_preview(live_server, open_page):
    wave_id = _wave(live_server)
    before = _templates(live_server, wave_id)
    page = open_page()
    _write_new_email(page, live_server, wave_id)
    # The preview follows the typing: the chosen person, and the mistake in the text.
    page.wait_for_selector("#template-preview h2:has-text('Preview for Kwame Mensah')")
    page.wait_for_selector("#template-preview:has-text('“firstname” is not a field.')")
    page.click("button:has-text('Save the email')")
    page.wait_for_selector(ERRORS)
    assert "Use only lower case letters, numbers and underscores" in page.inner_text(ERRORS)
    assert _templates(live_server, wave_id) == before

    page.fill("#name", "reminder")  # taken by the plan's own reminder
    page.fill("#body", NEW_BODY)
    page.wait_for_selector("#preview-body:has-text('Thank you for answering about')")
    assert page.inner_text("#preview-subject") == "Thank you, Kwame"
    assert page.inner_text("#preview-body").startswith("Dear Kwame,")
    page.click("button:has-text('Save the email')")
    # The page already shows the last error summary: wait for the new one.
    page.wait_for_selector(f"{ERRORS}:has-text('already has an email with this name')")
    assert "This wave already has an email with this name" in page.inner_text(ERRORS)
    assert _templates(live_server, wave_id) == before

    page.fill("#name", "thank_you")
    page.click("button:has-text('Save the email')")
    page.wait_for_selector(BANNER)
    assert "Email “thank_you” saved. Choose it for a step of the plan." in _banner(page)
    assert "Thank you, {{ first_name }}" in page.inner_text("tr:has-text('thank_you')")
    assert _templates(live_server, wave_id) == before | {"thank_you": (NEW_SUBJECT, NEW_BODY)}

    page.click("a:text-is('reminder')")
    page.wait_for_selector("h1:has-text('Email “reminder”')")
    assert page.input_value("#subject") == before["reminder"][0]
    page.select_option("#participant", label="Kwame Mensah (A002)")
    page.fill("#subject", "{{ wave }}: a reminder for {{ first_name")
    page.wait_for_selector("#template-preview:has-text('Subject:')")
    page.click("button:has-text('Save the email')")
    page.wait_for_selector(ERRORS)
    problem = page.locator(f"{ERRORS} a[href='#subject']")  # the summary leads to the subject
    assert "Line 1: unexpected end of template" in problem.inner_text()
    assert "unexpected end of template" in page.inner_text("#subject-error")
    assert _templates(live_server, wave_id)["reminder"] == before["reminder"]

    page.fill("#subject", "  Still time: {{ wave }} questionnaire  ")
    page.fill("#body", "Hello {{ full_name }}, your link: {{ link }}")
    page.wait_for_selector("#preview-body:has-text('Hello Kwame Mensah, your link:')")
    # The preview warns that the opt-out link is missing, and saving is refused.
    page.wait_for_selector("#preview-links:has-text('the opt-out link')")
    page.click("button:has-text('Save the email')")
    page.wait_for_selector(f"{ERRORS}:has-text('opt-out link')")
    assert "The message must include the opt-out link ({{ opt_out_link }})." in page.inner_text(
        f"{ERRORS} a[href='#body']"
    )
    assert "must include the opt-out link" in page.inner_text("#body-error")
    assert page.locator(BANNER).count() == 0
    assert _templates(live_server, wave_id)["reminder"] == before["reminder"]

    page.fill("#body", "Hello {{ full_name }}, your link: {{ link }}\nStop: {{ opt_out_link }}")
    page.wait_for_selector("#preview-body:has-text('Stop:')")
    assert page.locator("#preview-links").count() == 0
    page.click("button:has-text('Save the email')")
    page.wait_for_selector(BANNER)
    assert "Email “reminder” saved." in _banner(page)
    assert _templates(live_server, wave_id)["reminder"] == (
        "Still time: {{ wave }} questionnaire",
        "Hello {{ full_name }}, your link: {{ link }}\nStop: {{ opt_out_link }}",
    )


@pytest.mark.posts(
    "/admin/waves/<int:wave_id>/reminders/emails/new",
    "/admin/waves/<int:wave_id>/reminders/emails/<int:template_id>",
)
def test_writing_and_editing_emails_without_javascript(live_server, open_page):
    wave_id = _wave(live_server)
    before = _templates(live_server, wave_id)
    page = open_page(javascript=False)
    _write_new_email(page, live_server, wave_id)
    # Without JavaScript the Preview button refreshes the preview and saves nothing.
    page.click("button:text-is('Preview')")
    page.wait_for_selector("#template-preview h2:has-text('Preview for Kwame Mensah')")
    assert "Message: “firstname” is not a field." in page.inner_text("#template-preview")
    assert _templates(live_server, wave_id) == before

    page.fill("#body", NEW_BODY)
    page.click("button:text-is('Preview')")
    page.wait_for_selector("#preview-body:has-text('Thank you for answering about')")
    assert page.inner_text("#preview-subject") == "Thank you, Kwame"
    assert page.locator("#participant option:checked").inner_text() == "Kwame Mensah (A002)"
    assert _templates(live_server, wave_id) == before

    page.click("button:has-text('Save the email')")
    page.wait_for_selector(ERRORS)
    assert "Use only lower case letters, numbers and underscores" in page.inner_text(ERRORS)
    assert page.input_value("#body") == NEW_BODY  # what was typed is kept
    assert _templates(live_server, wave_id) == before

    page.fill("#name", "thank_you")
    page.click("button:has-text('Save the email')")
    page.wait_for_selector(BANNER)
    assert "Email “thank_you” saved. Choose it for a step of the plan." in _banner(page)
    assert _templates(live_server, wave_id) == before | {"thank_you": (NEW_SUBJECT, NEW_BODY)}

    page.click("a:text-is('final')")
    page.wait_for_selector("h1:has-text('Email “final”')")
    page.select_option("#participant", label="Kwame Mensah (A002)")
    page.fill("#subject", "Last chance, {{ first_name }}")
    page.fill("#body", "Dear {{ firstname }}")
    page.click("button:text-is('Preview')")
    page.wait_for_selector("#template-preview:has-text('“firstname” is not a field.')")
    page.click("button:has-text('Save the email')")
    page.wait_for_selector(ERRORS)
    assert "“firstname” is not a field." in page.inner_text(ERRORS)
    assert _templates(live_server, wave_id)["final"] == before["final"]

    page.fill("#body", "Dear {{ first_name }}, please answer by {{ deadline }}.")
    page.click("button:text-is('Preview')")
    page.wait_for_selector("#preview-body:has-text('Dear Kwame, please answer by')")
    assert page.inner_text("#preview-subject") == "Last chance, Kwame"
    assert "the personal link ({{ link }}) and the opt-out link" in page.inner_text(
        "#preview-links"
    )
    assert _templates(live_server, wave_id)["final"] == before["final"]
    # Without either link it is refused, naming both.
    page.click("button:has-text('Save the email')")
    page.wait_for_selector(ERRORS)
    assert (
        "The message must include the personal link ({{ link }}) and the opt-out link "
        "({{ opt_out_link }})." in page.inner_text(ERRORS)
    )
    assert page.locator(BANNER).count() == 0
    assert _templates(live_server, wave_id)["final"] == before["final"]

    final_body = (
        "Dear {{ first_name }}, please answer by {{ deadline }}: {{ link }}\n"
        "No more reminders: {{ opt_out_link }}"
    )
    page.fill("#body", final_body)
    page.click("button:has-text('Save the email')")
    page.wait_for_selector(BANNER)
    assert "Email “final” saved." in _banner(page)
    assert _templates(live_server, wave_id)["final"] == (
        "Last chance, {{ first_name }}",
        final_body,
    )


@pytest.mark.posts("/admin/waves/<int:wave_id>/reminders/emails/new")
def test_a_new_email_with_several_mistakes_names_them_all(live_server, open_page):
    wave_id = _wave(live_server)
    before = _templates(live_server, wave_id)
    page = open_page(javascript=False)
    page.goto(f"{live_server.url}/admin/waves/{wave_id}/reminders/emails/new")
    page.fill("#name", "Thank You")
    page.fill("#subject", "Thank you, {{ first_name")
    page.fill("#body", "Dear {{ firstname }},")
    page.click("button:has-text('Save the email')")
    page.wait_for_selector(ERRORS)

    assert _templates(live_server, wave_id) == before
    summary = page.locator(f"{ERRORS} a")
    assert summary.evaluate_all("links => links.map(a => a.getAttribute('href'))") == [
        "#name",
        "#subject",
        "#body",
    ]
    assert "Use only lower case letters, numbers and underscores" in page.inner_text("#name-error")
    assert "unexpected end of template" in page.inner_text("#subject-error")
    assert "“firstname” is not a field." in page.inner_text("#body-error")


# -- Send a test to me ----------------------------------------------------------------


@pytest.fixture
def mailing_server(tmp_path, smtp_server, smtp_config):
    """A live server like ``live_server`` whose mail goes to the loopback SMTP server."""
    app = create_app(
        {
            "SECRET_KEY": "browser-tests",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'mailing.sqlite'}",
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
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    browser_fixtures._SERVERS[url] = app
    yield LiveServer(url, app.extensions["surveyapp.sessionmaker"])
    del browser_fixtures._SERVERS[url]
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    app.extensions["surveyapp.engine"].dispose()


def _test_events(server) -> list[str]:
    with server.sessionmaker() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "reminders.test"))
        return [event.summary for event in events]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.posts(
    "/admin/waves/<int:wave_id>/reminders/emails/<int:template_id>/test",
    "/admin/waves/<int:wave_id>/reminders/emails/test",
)
def test_send_a_test_to_me_mails_the_email_as_typed(
    browser, mailing_server, smtp_server, javascript
):
    wave_id = _wave(mailing_server, label="Six months")
    before = _templates(mailing_server, wave_id)
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    sign_in(page, mailing_server.url)
    _goto_wave_page(page, mailing_server, wave_id, "Emails")
    page.click("a:text-is('reminder')")
    page.wait_for_selector("h1:has-text('Email “reminder”')")
    # The fields are this wave's, for a person invited to it.
    fields = page.inner_text("#fields-list")
    assert "Six months" in fields and "2010" not in fields
    assert "Shown for Siân Ó Dónaill, invited to Six months." in page.inner_text("#fields-for")
    page.select_option("#participant", label="Kwame Mensah (A002)")
    page.fill("#subject", "Test run: {{ wave }}")
    page.fill("#body", "Dear {{ first_name }}, {{ estimated_minutes }} minutes: {{ link }}")
    page.click("button:has-text('Send a test to me')")
    page.wait_for_selector(BANNER)

    assert "A test of “reminder” for Kwame Mensah was sent to admin@example.org." in _banner(page)
    assert page.input_value("#body") == (
        "Dear {{ first_name }}, {{ estimated_minutes }} minutes: {{ link }}"
    )  # still as typed, and not saved
    assert _templates(mailing_server, wave_id) == before
    (message,) = smtp_server.handler.messages
    assert (message["To"], message["Subject"]) == ("admin@example.org", "Test run: Six months")
    assert message.get_content().startswith(
        "Dear Kwame, 3 minutes: https://surveys.example.org/r/example-link"
    )
    assert _test_events(mailing_server) == [
        "Test of “reminder” of “Six months” sent to admin@example.org"
    ]

    # A new email, not yet saved, can be tried too.
    _goto_wave_page(page, mailing_server, wave_id, "Emails")
    page.click("a:has-text('Write a new email')")
    page.wait_for_selector("h1:has-text('Write a new email')")
    page.fill("#name", "thank_you")
    page.fill("#subject", NEW_SUBJECT)
    page.fill("#body", NEW_BODY)
    page.click("button:has-text('Send a test to me')")
    page.wait_for_selector(BANNER)
    assert "A test of the new email for Siân Ó Dónaill was sent to admin@example.org." in (
        _banner(page)
    )
    assert page.input_value("#name") == "thank_you"
    assert _templates(mailing_server, wave_id) == before
    assert [m["Subject"] for m in smtp_server.handler.messages] == [
        "Test run: Six months",
        "Thank you, Siân",
    ]
    assert len(_test_events(mailing_server)) == 2
    context.close()


@pytest.mark.posts("/admin/waves/<int:wave_id>/reminders/emails/<int:template_id>/test")
def test_send_a_test_to_me_without_a_mail_server_says_it_was_not_sent(live_server, open_page):
    wave_id = _wave(live_server)
    page = open_page(javascript=False)
    _goto_wave_page(page, live_server, wave_id, "Emails")
    page.click("a:text-is('invitation')")
    page.wait_for_selector("h1:has-text('Email “invitation”')")
    assert "There is no mail server, so a test cannot be sent" in page.inner_text("main")
    page.click("button:has-text('Send a test to me')")
    page.wait_for_selector(BANNER)

    assert (
        "The test was not sent because there is no mail server (SURVEYAPP_MAIL_SERVER is not "
        "set)." in _banner(page)
    )
    assert page.locator(".govuk-notification-banner--success").count() == 0
    assert page.inner_text("#preview-body").startswith("Dear Siân,")
    assert _test_events(live_server) == []
