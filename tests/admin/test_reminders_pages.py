"""The reminder plan, the email editor with its preview, "Send now" and the outbox."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from surveyapp.models import EmailTemplate, Message, ReminderStep
from surveyapp.reminders import sending
from tests.conftest import NOW, PASSWORD, sign_in
from tests.factories import make_participant, make_programme, make_wave

NAMES = ["Zofia Nowak", "Kwame Mensah", "Siân Ó Dónaill", "Priya Sharma"]


def _wave(session, **overrides):
    """Four people; Priya has completed, so reminders go to the other three."""
    programme = make_programme(session, name=overrides.pop("programme_name", "Pilot programme"))
    for number, name in enumerate(NAMES):
        make_participant(
            session,
            programme,
            id_number=f"W{number:02d}",
            name=name,
            email=f"w{number}@example.org",
        )
    wave = make_wave(session, programme, label="Baseline", **overrides)
    for invitation in wave.invitations:
        if invitation.participant.name == "Priya Sharma":
            invitation.completed_at = NOW
    session.commit()
    return wave


def _steps(session, wave):
    session.expire_all()
    return sending.steps_of(session, wave)


def _template(session, wave, name):
    return session.scalar(
        select(EmailTemplate).where(EmailTemplate.wave_id == wave.id, EmailTemplate.name == name)
    )


def _invitation(wave, name):
    return next(i for i in wave.invitations if i.participant.name == name)


def test_plan_lists_each_step_with_when_who_email_and_deadline(client, auth, session):
    auth.login()
    wave = _wave(session)

    page = client.get(f"/admin/waves/{wave.id}/reminders")

    assert page.status_code == 200
    text = page.text
    for label in ("Invitation", "First reminder", "Second reminder", "Final personal reminder"):
        assert label in text
    assert "Everyone who has not finished" in text
    assert "7 days after the wave opens" in text
    # Opening is 30 April 2030 at 12:00 UTC, 1pm in London; the first reminder a week later.
    assert "7 May 2030, 1:00pm" in text
    assert "3 working days after sending" in text
    assert "None yet" in text
    assert 'class="govuk-back-link"' in text


def test_a_step_is_changed_with_validation_and_the_plan_stays_in_due_order(client, auth, session):
    auth.login()
    wave = _wave(session)
    steps = _steps(session, wave)
    second = steps[1]
    url = f"/admin/waves/{wave.id}/reminders/steps/{second.id}"
    reminder = _template(session, wave, "reminder")
    valid = {
        "label": "Early nudge",
        "when": "days",
        "days_after_opening": "1",
        "audience": "not_opened",
        "template": str(reminder.id),
        "deadline_working_days": "",
    }

    form = client.get(url)
    too_late = client.post(url, data=valid | {"days_after_opening": "40"})
    no_date = client.post(
        url, data=valid | {"when": "date", "send_on-day": "", "send_on-month": "", "send_time": ""}
    )
    saved = client.post(url, data=valid)

    assert form.status_code == 200 and 'value="First reminder"' in form.text
    assert too_late.status_code == 422
    assert "The step must be due before the wave closes." in too_late.text
    assert no_date.status_code == 422 and "Enter the sending date" in no_date.text
    assert saved.status_code == 303
    assert saved.location.endswith(f"/admin/waves/{wave.id}/reminders")
    steps = _steps(session, wave)
    assert [(s.label, s.position) for s in steps[:2]] == [("Invitation", 1), ("Early nudge", 2)]
    assert (steps[1].audience, steps[1].days_after_opening) == ("not_opened", 1)


def test_a_step_can_be_given_a_date_and_time_in_uk_time(client, auth, session):
    auth.login()
    wave = _wave(session)
    final = _template(session, wave, "final")

    response = client.post(
        f"/admin/waves/{wave.id}/reminders/steps/new",
        data={
            "label": "Last call",
            "when": "date",
            "send_on-day": "2",
            "send_on-month": "5",
            "send_on-year": "2030",
            "send_time": "09:30",
            "audience": "started",
            "template": str(final.id),
            "deadline_working_days": "2",
        },
    )

    assert response.status_code == 303
    added = next(s for s in _steps(session, wave) if s.label == "Last call")
    assert added.send_on == NOW.replace(day=2, hour=8, minute=30)  # 09:30 BST is 08:30 UTC
    assert added.days_after_opening is None and added.deadline_working_days == 2
    assert added.position == 2


def test_a_step_that_has_sent_nothing_can_be_deleted_and_one_that_has_cannot(client, auth, session):
    auth.login()
    wave = _wave(session)
    first, second = _steps(session, wave)[:2]
    client.post(f"/admin/waves/{wave.id}/reminders/steps/{first.id}/send")

    kept = client.post(
        f"/admin/waves/{wave.id}/reminders/steps/{first.id}/delete", follow_redirects=True
    )
    deleted = client.post(f"/admin/waves/{wave.id}/reminders/steps/{second.id}/delete")

    assert "has messages in the outbox, so it stays in the plan" in kept.text
    assert deleted.status_code == 303
    assert [s.label for s in _steps(session, wave)] == [
        "Invitation",
        "Second reminder",
        "Final personal reminder",
    ]


def test_template_editor_refuses_an_unknown_field_and_keeps_the_saved_email(client, auth, session):
    auth.login()
    wave = _wave(session)
    template = _template(session, wave, "reminder")
    before = (template.subject, template.body)

    response = client.post(
        f"/admin/waves/{wave.id}/reminders/emails/{template.id}",
        data={"subject": "Hello", "body": "Dear {{ first_name }} {{ lastname }},\nThanks"},
    )

    assert response.status_code == 422
    assert "“lastname” is not a field." in response.text
    assert 'class="govuk-error-summary"' in response.text
    assert 'id="body-error"' in response.text
    session.expire_all()
    assert (template.subject, template.body) == before


def test_template_editor_saves_a_good_email_and_lists_the_fields(client, auth, session):
    auth.login()
    wave = _wave(session)
    template = _template(session, wave, "reminder")
    url = f"/admin/waves/{wave.id}/reminders/emails/{template.id}"

    page = client.get(url)
    body = "See {{ link }}\nNo reminders: {{ opt_out_link }}"
    saved = client.post(url, data={"subject": "Hi {{ first_name }}", "body": body})

    for field in ("first_name", "deadline", "pages_done", "opt_out_link"):
        assert f"{{{{ {field} }}}}" in page.text
    assert saved.status_code == 303
    session.expire_all()
    assert (template.subject, template.body) == ("Hi {{ first_name }}", body)


def test_preview_fragment_shows_the_chosen_persons_first_name(client, auth, session):
    auth.login()
    wave = _wave(session)
    template = _template(session, wave, "reminder")
    kwame = _invitation(wave, "Kwame Mensah")

    fragment = client.post(
        f"/admin/waves/{wave.id}/reminders/emails/{template.id}/preview",
        data={
            "subject": "For {{ full_name }}",
            "body": "Dear {{ first_name }}, you have done {{ pages_done }}.",
            "participant": str(kwame.id),
        },
        headers={"HX-Request": "true"},
    )
    broken = client.post(
        f"/admin/waves/{wave.id}/reminders/emails/{template.id}/preview",
        data={"subject": "x", "body": "{{ lastname }}", "participant": str(kwame.id)},
        headers={"HX-Request": "true"},
    )

    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section id="template-preview"')
    assert "Dear Kwame, you have done 0." in fragment.text
    assert "For Kwame Mensah" in fragment.text
    assert "HX-Request" in fragment.headers["Vary"]
    assert "“lastname” is not a field." in broken.text


def test_preview_button_works_without_javascript_and_saves_nothing(client, auth, session):
    auth.login()
    wave = _wave(session)
    template = _template(session, wave, "final")
    zofia = _invitation(wave, "Zofia Nowak")
    before = template.body

    page = client.post(
        f"/admin/waves/{wave.id}/reminders/emails/{template.id}",
        data={
            "subject": template.subject,
            "body": "Dear {{ first_name }}, by {{ deadline }}.",
            "participant": str(zofia.id),
            "preview": "Preview",
        },
    )

    assert page.status_code == 200
    assert "<html" in page.text
    # Three working days from Wednesday 1 May 2030, skipping the May Day bank holiday.
    assert "Dear Zofia, by Tuesday 7 May 2030." in page.text
    session.expire_all()
    assert template.body == before


def test_a_new_email_can_be_written(client, auth, session):
    auth.login()
    wave = _wave(session)
    url = f"/admin/waves/{wave.id}/reminders/emails/new"

    taken = client.post(url, data={"name": "reminder", "subject": "S", "body": "B"})
    added = client.post(
        url,
        data={"name": "thanks_note", "subject": "S", "body": "B {{ link }} {{ opt_out_link }}"},
    )

    assert taken.status_code == 422
    assert "This wave already has an email with this name" in taken.text
    assert added.status_code == 303
    assert _template(session, wave, "thanks_note") is not None


def test_send_now_page_lists_exactly_who_will_receive_what(client, auth, session):
    auth.login()
    wave = _wave(session)
    first = _steps(session, wave)[0]

    page = client.get(f"/admin/waves/{wave.id}/reminders/steps/{first.id}/send")

    assert page.status_code == 200
    rows = page.text.split('id="recipients"')[1].split("</table>")[0]
    assert [name for name in NAMES if name in rows] == NAMES[:3]
    assert rows.count("Please tell us about Pilot programme: Baseline questionnaire") == 3
    assert "3 people will get this email" in page.text
    assert "Dear Siân," in page.text or "Dear Zofia," in page.text  # one full example
    assert 'hx-confirm="Send “Invitation” to 3 people now?"' in page.text


def test_confirming_send_now_puts_the_messages_in_the_outbox(client, auth, session):
    auth.login()
    wave = _wave(session)
    first = _steps(session, wave)[0]
    url = f"/admin/waves/{wave.id}/reminders/steps/{first.id}/send"

    sent = client.post(url)
    again = client.post(url, follow_redirects=True)
    page_after = client.get(url)

    assert sent.status_code == 303
    assert sent.location.endswith(f"/admin/waves/{wave.id}/reminders")
    messages = session.scalars(select(Message).order_by(Message.id)).all()
    assert len(messages) == 3
    assert {(m.state, m.transport, m.step_id) for m in messages} == {("sent", "outbox", first.id)}
    assert sorted(m.to_address for m in messages) == [
        "w0@example.org",
        "w1@example.org",
        "w2@example.org",
    ]
    assert "0 new message(s)" in again.text
    assert "Nobody would get this email now" in page_after.text


def test_send_now_is_refused_once_the_wave_has_closed(client, auth, session):
    auth.login()
    wave = _wave(session, opens_at=NOW - timedelta(days=10), closes_at=NOW - timedelta(days=1))
    first = _steps(session, wave)[0]

    page = client.get(f"/admin/waves/{wave.id}/reminders/steps/{first.id}/send")
    posted = client.post(
        f"/admin/waves/{wave.id}/reminders/steps/{first.id}/send", follow_redirects=True
    )

    assert "This wave has closed" in page.text and "Send to" not in page.text
    assert "This wave has closed" in posted.text
    assert session.scalar(select(func.count(Message.id))) == 0


def test_outbox_lists_messages_by_state_and_shows_one_in_full(client, auth, session):
    auth.login()
    wave = _wave(session)
    first = _steps(session, wave)[0]
    client.post(f"/admin/waves/{wave.id}/reminders/steps/{first.id}/send")
    message = session.scalar(select(Message).where(Message.to_address == "w1@example.org"))

    outbox = client.get(f"/admin/waves/{wave.id}/outbox")
    failed = client.get(f"/admin/waves/{wave.id}/outbox?state=failed")
    detail = client.get(f"/admin/waves/{wave.id}/outbox/{message.id}")

    assert (
        outbox.text.count("/outbox/") >= 3 and "Kept, not sent: no mail server (3)" in outbox.text
    )
    assert "No failed messages." in failed.text
    assert detail.status_code == 200
    assert "Dear Kwame," in detail.text and "w1@example.org" in detail.text
    assert f"&lt;surveyapp.message.{message.id}@" in detail.text
    assert "it was not sent to w1@example.org" in detail.text


def test_a_persons_page_lists_every_message_sent_to_them(client, auth, session):
    auth.login()
    wave = _wave(session)
    first = _steps(session, wave)[0]
    client.post(f"/admin/waves/{wave.id}/reminders/steps/{first.id}/send")
    sian = _invitation(wave, "Siân Ó Dónaill").participant

    page = client.get(f"/admin/programmes/{wave.programme_id}/participants/{sian.id}")

    section = page.text.split('id="messages"')[1]
    assert "Baseline: Invitation" in section and "Sent" in section


def test_objects_of_another_wave_answer_404(client, auth, session):
    auth.login()
    wave = _wave(session)
    other = _wave(session, programme_name="Another programme")
    other_step = _steps(session, other)[0]
    client.post(f"/admin/waves/{other.id}/reminders/steps/{other_step.id}/send")
    message = session.scalar(select(Message).where(Message.wave_id == other.id).limit(1))
    template = _template(session, other, "final")
    base = f"/admin/waves/{wave.id}"

    answers = [
        client.get(f"{base}/outbox/{message.id}"),
        client.get(f"{base}/reminders/steps/{other_step.id}"),
        client.get(f"{base}/reminders/steps/{other_step.id}/send"),
        client.post(f"{base}/reminders/steps/{other_step.id}/send"),
        client.post(f"{base}/reminders/steps/{other_step.id}/delete"),
        client.get(f"{base}/reminders/emails/{template.id}"),
        client.post(f"{base}/reminders/emails/{template.id}/preview", data={"subject": "x"}),
        client.get("/admin/waves/999/reminders"),
    ]

    assert [response.status_code for response in answers] == [404] * len(answers)
    assert client.get(f"/admin/waves/{other.id}/outbox/{message.id}").status_code == 200
    assert session.scalar(select(func.count(ReminderStep.id))) == 8


def test_reminder_pages_need_a_programme_manager_and_a_viewer_sees_only_the_dashboard(
    client, auth, session
):
    wave = _wave(session)
    auth.login(email="viewer@example.org", role="viewer")

    for url in ("reminders", "reminders/emails", "outbox", "non-respondents"):
        assert client.get(f"/admin/waves/{wave.id}/{url}").status_code == 403
    dashboard = client.get(f"/admin/waves/{wave.id}/dashboard")
    assert dashboard.status_code == 200
    assert "Non-respondents" not in dashboard.text  # no link to names the viewer cannot open


@pytest.fixture
def csrf_client(make_app):
    return make_app(WTF_CSRF_ENABLED=True).test_client()


def test_send_now_without_a_csrf_token_is_refused(csrf_client, session):
    from surveyapp.staff import operations as accounts

    accounts.create_user(session, email="a@example.org", password=PASSWORD, role="admin", now=NOW)
    wave = _wave(session)
    first = _steps(session, wave)[0]
    session.commit()
    assert sign_in(csrf_client, session, "a@example.org").status_code == 303
    url = f"/admin/waves/{wave.id}/reminders/steps/{first.id}/send"

    refused = csrf_client.post(url)
    fresh = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', csrf_client.get(url).text)
    accepted = csrf_client.post(url, data={"csrf_token": fresh.group(1)})

    assert refused.status_code == 400
    assert accepted.status_code == 303
    assert session.scalar(select(func.count(Message.id))) == 3
