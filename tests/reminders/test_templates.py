"""Email templates are checked when written, never at send time."""

import html
import re

from sqlalchemy import func, select

from surveyapp.models import AuditEvent, EmailTemplate, Message
from surveyapp.reminders.emails import DEFAULTS, FIELDS, render, save_problems, template_problems
from tests.conftest import AuthActions
from tests.factories import make_participant, make_programme, make_wave


def test_the_shipped_templates_are_usable():
    assert all(template_problems(subject, body) == {} for subject, body in DEFAULTS.values())


def test_an_unknown_field_is_named():
    problems = template_problems("Hello {{ lastname }}", "Body")

    assert problems["subject"].startswith("“lastname” is not a field.")


def test_a_syntax_error_gives_its_line():
    problems = template_problems("Hello", "Line one\n{% if first_name %}no end")

    assert problems["body"].startswith("Line 2:")


def test_the_sandbox_refuses_reaching_into_python():
    problems = template_problems("Hi", "{{ link.__class__.__mro__[1].__subclasses__() }}")

    assert problems == {"body": "This template tries something that is not allowed in an email."}


def test_a_subject_stays_on_one_line():
    rendered = render("Hello {{ first_name }}\n", "Hi", FIELDS)

    assert rendered.subject == "Hello Siân"


def test_the_shipped_templates_carry_both_links():
    assert all(save_problems(subject, body) == {} for subject, body in DEFAULTS.values())


def test_a_message_without_its_links_cannot_be_saved_and_says_which_is_missing():
    neither = save_problems("Hello", "Dear {{ first_name }}, please answer.")
    no_opt_out = save_problems("Hello", "Dear {{ first_name }}: {{ link }}")
    no_link = save_problems("Hello", "Stop reminders: {{ opt_out_link }}")

    assert neither["body"].startswith(
        "The message must include the personal link ({{ link }}) and the opt-out link "
        "({{ opt_out_link }})."
    )
    assert no_opt_out["body"].startswith("The message must include the opt-out link (")
    assert "personal link" not in no_opt_out["body"]
    assert no_link["body"].startswith("The message must include the personal link ({{ link }}).")


def test_a_link_given_only_to_some_people_counts_as_missing():
    body = "{% if pages_done %}Carry on: {{ link }}{% endif %}\nStop: {{ opt_out_link }}"

    assert "the personal link" in save_problems("Hello", body)["body"]


def test_a_link_in_the_subject_alone_is_not_enough():
    assert "body" in save_problems("{{ link }}", "Stop: {{ opt_out_link }}")


def test_a_broken_message_is_named_for_what_breaks_it_first():
    problems = save_problems("Hello", "Dear {{ firstname }}")

    assert problems["body"].startswith("“firstname” is not a field.")


# -- through the editor ------------------------------------------------------------------


def _wave_with_people(session, *names):
    programme = make_programme(session, name="Pilot programme")
    for number, name in enumerate(names):
        make_participant(
            session,
            programme,
            id_number=f"T{number:02d}",
            name=name,
            email=f"t{number}@example.org",
        )
    wave = make_wave(session, programme, label="Baseline")
    session.commit()
    return wave


def _email(session, wave, name):
    return session.scalar(
        select(EmailTemplate).where(EmailTemplate.wave_id == wave.id, EmailTemplate.name == name)
    )


def test_the_editor_refuses_an_email_without_its_links_and_keeps_the_saved_one(
    client, auth, session
):
    auth.login()
    wave = _wave_with_people(session, "Zofia Nowak")
    reminder = _email(session, wave, "reminder")
    before = (reminder.subject, reminder.body)

    edited = client.post(
        f"/admin/waves/{wave.id}/reminders/emails/{reminder.id}",
        data={"subject": "Reminder", "body": "Dear {{ first_name }}, here: {{ link }}"},
    )
    added = client.post(
        f"/admin/waves/{wave.id}/reminders/emails/new",
        data={"name": "nudge", "subject": "Hello", "body": "Dear {{ first_name }}"},
    )

    assert edited.status_code == 422
    summary = edited.text.split('class="govuk-error-summary"')[1].split("</ul>")[0]
    assert "The message must include the opt-out link ({{ opt_out_link }})." in summary
    beside = edited.text.split('id="body-error"')[1].split("</p>")[0]
    assert "opt-out link" in beside and "personal link" not in beside
    assert "Done" not in edited.text
    assert added.status_code == 422
    assert (
        "The message must include the personal link ({{ link }}) and the opt-out link "
        "({{ opt_out_link }})." in added.text
    )
    session.expire_all()
    assert (reminder.subject, reminder.body) == before
    assert _email(session, wave, "nudge") is None


# -- the questionnaire's own estimate --------------------------------------------------


def test_each_invitation_gives_its_own_questionnaires_time(
    make_app, session, smtp_server, smtp_config
):
    for key, name in (("session_evaluation", "Short"), ("peer_support_endpoint", "Long")):
        programme = make_programme(session, name=f"{name} programme")
        make_participant(session, programme, name=f"{name} Person", email=f"{key}@example.org")
        make_wave(session, programme, key=key, label="Baseline")
    session.commit()
    app = make_app(**smtp_config)

    result = app.test_cli_runner().invoke(args=["reminders", "send"])

    assert result.exit_code == 0, result.output
    bodies = {
        message["To"]: " ".join(message.get_body(("plain",)).get_content().split())
        for message in smtp_server.handler.messages
    }
    assert "It takes about 3 minutes" in bodies["session_evaluation@example.org"]
    assert "It takes about 20 minutes" in bodies["peer_support_endpoint@example.org"]
    assert all("15 minutes" not in body for body in bodies.values())


def test_the_estimate_and_the_questionnaire_are_fields_a_template_can_use():
    rendered = render(
        "{{ questionnaire }}",
        "About {{ estimated_minutes }} minutes. {{ link }} {{ opt_out_link }}",
        FIELDS,
    )

    assert rendered.subject == "Session evaluation"
    assert rendered.body.startswith("About 15 minutes.")
    assert "{{ estimated_minutes }}" in DEFAULTS["invitation"][1]


# -- the editor's fields and "Send a test to me" -----------------------------------------


def _six_months(session, *names):
    programme = make_programme(session, name="Kinship carers programme")
    for number, name in enumerate(names):
        make_participant(
            session,
            programme,
            id_number=f"K{number:02d}",
            name=name,
            email=f"k{number}@example.org",
            team="East",
        )
    wave = make_wave(session, programme, key="peer_support_endpoint", label="Six months")
    session.commit()
    return wave


def _fields(page_text: str) -> dict[str, str]:
    listed = page_text.split('id="fields-list"')[1].split("</dl>")[0]
    pairs = re.findall(r"<dt><code>\{\{ (\w+) \}\}</code></dt><dd[^>]*>(.*?)</dd>", listed, re.S)
    return {name: html.unescape(value) for name, value in pairs}


def test_the_fields_show_this_waves_own_values_for_an_invited_person(client, auth, session):
    auth.login()
    wave = _six_months(session, "Kwame Mensah")
    reminder = _email(session, wave, "reminder")

    page = client.get(f"/admin/waves/{wave.id}/reminders/emails/{reminder.id}")

    fields = _fields(page.text)
    assert fields["wave"] == "Six months"
    assert fields["programme"] == "Kinship carers programme"
    assert fields["questionnaire"] == wave.questionnaire_version.title
    assert fields["estimated_minutes"] == "20"
    assert fields["first_name"] == "Kwame"
    assert fields["team"] == "East"
    assert fields["deadline"] == "Tuesday 21 May 2030"  # the closing day, in UK time
    assert fields["link"].startswith("http") and "/r/" in fields["link"]
    assert "Shown for Kwame Mensah, invited to Six months." in page.text
    assert "2010" not in page.text.split('id="fields-list"')[1].split("</dl>")[0]


def test_the_fields_show_a_named_example_person_while_nobody_is_invited(client, auth, session):
    auth.login()
    wave = _six_months(session)
    invitation = _email(session, wave, "invitation")

    page = client.get(f"/admin/waves/{wave.id}/reminders/emails/{invitation.id}")

    fields = _fields(page.text)
    assert fields["full_name"] == "Alex Example"
    assert fields["wave"] == "Six months"
    assert fields["estimated_minutes"] == "20"
    assert "Shown for an example person, Alex Example: nobody is invited to Six months" in page.text
    assert "Dear Alex," in page.text  # the preview is for the example person too


def test_a_test_goes_to_the_signed_in_person_through_the_mail_server(
    make_app, session, smtp_server, smtp_config
):
    app = make_app(**smtp_config)
    client = app.test_client()
    AuthActions(client, session).login(email="manager@example.org")
    wave = _six_months(session, "Kwame Mensah")
    reminder = _email(session, wave, "reminder")
    before = (reminder.subject, reminder.body)
    typed = "Dear {{ first_name }}, about {{ estimated_minutes }} minutes: {{ link }}"

    page = client.post(
        f"/admin/waves/{wave.id}/reminders/emails/{reminder.id}/test",
        data={"subject": "Soon: {{ wave }}", "body": typed},
    )

    assert page.status_code == 200
    assert "A test of “reminder” for Kwame Mensah was sent to manager@example.org." in page.text
    assert page.text.count(typed.replace("'", "&#39;")) >= 1  # the text stays as typed
    (message,) = smtp_server.handler.messages
    assert message["To"] == "manager@example.org"
    assert message["Subject"] == "Soon: Six months"
    body = message.get_content()
    assert body.startswith(
        "Dear Kwame, about 20 minutes: https://surveys.example.org/r/example-link"
    )
    token = wave.invitations[0].token
    assert token not in body  # a test never carries a real personal link
    session.expire_all()
    assert (reminder.subject, reminder.body) == before
    assert session.scalar(select(func.count()).select_from(Message)) == 0
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "reminders.test"))
    assert event.summary == "Test of “reminder” of “Six months” sent to manager@example.org"


def test_without_a_mail_server_a_test_says_plainly_it_was_not_sent(client, auth, session):
    auth.login()
    wave = _six_months(session, "Kwame Mensah")

    page = client.post(
        f"/admin/waves/{wave.id}/reminders/emails/test",
        data={"name": "", "subject": "Hello", "body": "Dear {{ first_name }}"},
    )

    assert page.status_code == 200
    assert (
        "The test was not sent because there is no mail server (SURVEYAPP_MAIL_SERVER is "
        "not set)." in html.unescape(page.text)
    )
    assert "govuk-notification-banner--success" not in page.text
    assert "Dear Kwame" in page.text  # the preview shows what it would have said
    assert not session.scalars(
        select(AuditEvent).where(AuditEvent.action == "reminders.test")
    ).all()


def test_a_broken_email_is_not_sent_as_a_test(make_app, session, smtp_server, smtp_config):
    app = make_app(**smtp_config)
    client = app.test_client()
    AuthActions(client, session).login()
    wave = _six_months(session, "Kwame Mensah")
    reminder = _email(session, wave, "reminder")

    page = client.post(
        f"/admin/waves/{wave.id}/reminders/emails/{reminder.id}/test",
        data={"subject": "Hello", "body": "Dear {{ firstname }}"},
    )

    assert page.status_code == 422
    assert "“firstname” is not a field." in page.text
    assert smtp_server.handler.messages == []
