"""What the email editor shows and sends: the fields filled in for this wave, and a test
(Flask-free).

The editor fills every field with the real values of the wave being edited, for a person
invited to it, or, while nobody is, for an example person who is named as such.
A test goes to the member of staff who asked for it, with that person's details but links
that lead nowhere, so that opening a test never starts anyone's answers or stops their
reminders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid

from surveyapp.mail import DeliveryFailed, Mailer
from surveyapp.models import Invitation, Participant, ReminderStep
from surveyapp.reminders import emails as templates
from surveyapp.reminders import sending

#: The example person's details, shown while nobody is invited to the wave.
EXAMPLE_NAME = "Alex Example"
#: Stands in for a personal token in the example person's links and in every test.
EXAMPLE_TOKEN = "example-link"


def example_invitation(organisation: str = "") -> Invitation:
    """An invitation of a made-up person, never added to a session."""
    person = Participant(
        id_number="EXAMPLE",
        name=EXAMPLE_NAME,
        email="",
        team="Example team",
        organisation=organisation or "Example organisation",
    )
    return Invitation(participant=person, token=EXAMPLE_TOKEN, pages_done=0, pages_total=0)


@dataclass(frozen=True)
class Fields:
    """Every field with its value for one person of the wave; ``example`` when made up."""

    values: dict
    person: str
    example: bool


def fields_for(
    invitation: Invitation | None,
    step: ReminderStep,
    *,
    now: datetime,
    settings: sending.SendSettings,
) -> Fields:
    """The fields a template can use, filled in for ``invitation`` (an example when None)."""
    example = invitation is None
    if example:
        invitation = example_invitation()
    filled = sending.values_for(invitation, step, now, settings)
    values = {name: filled[name] for name in templates.FIELDS if name in filled}
    return Fields(values, invitation.participant.name, example)


def with_example_links(values: dict, settings: sending.SendSettings) -> dict:
    """The same fields with both links replaced by links that lead nowhere."""
    link = f"{settings.base_url.rstrip('/')}/r/{EXAMPLE_TOKEN}"
    return {**values, "link": link, "opt_out_link": f"{link}/no-reminders"}


def send_test(
    mailer: Mailer, *, to: str, rendered: templates.Rendered, settings: sending.SendSettings
) -> str | None:
    """Send a rendered email to a member of staff; return what went wrong, or None.

    The mailer is closed afterwards. The outbox mailer sends nothing, so nothing is tried.
    """
    if mailer.transport == "outbox":
        return "there is no mail server (SURVEYAPP_MAIL_SERVER is not set)"
    try:
        mailer.send(
            to=to,
            subject=rendered.subject,
            body=rendered.body,
            message_id=make_msgid("surveyapp.test", domain=settings.domain),
        )
    except DeliveryFailed as failure:
        return f"the mail server said: {failure}"
    finally:
        mailer.close()
    return None
