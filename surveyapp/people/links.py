"""Personal links for a programme's own email: who gets which link in a wave (Flask-free).

Some organisations must send from their own mail system. They download each invited
person's ID number, name, email address and personal link, and merge them there. Only
people who may still be written to are listed: nobody who has withdrawn, asked for no
more reminders, or whose contact details were removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from surveyapp.models import Invitation, Participant, Wave
from surveyapp.text import csv_text

HEADINGS = ["ID number", "Name", "Email", "Personal link", "Status"]


@dataclass(frozen=True)
class LinkRow:
    id_number: str
    name: str
    email: str
    link: str
    #: "Not started", "Started" or "Completed", as the wave's page says.
    status: str


@dataclass(frozen=True)
class LinkList:
    """The people of a wave to write to, and how many were left out and why."""

    rows: list[LinkRow]
    withdrawn: int
    opted_out: int
    contact_removed: int

    @property
    def left_out(self) -> int:
        return self.withdrawn + self.opted_out + self.contact_removed


def personal_link(base_url: str, token: str) -> str:
    """The address of a personal link, as emails write it."""
    return f"{base_url.rstrip('/')}/r/{token}"


def personal_links(session: Session, wave: Wave, *, base_url: str) -> LinkList:
    """Every invited person of ``wave`` who may be written to, by ID number, with their link."""
    invitations = session.scalars(
        select(Invitation)
        .join(Participant)
        .where(Invitation.wave_id == wave.id)
        .options(joinedload(Invitation.participant))
        .order_by(Participant.id_number, Participant.id)
    )
    rows = []
    withdrawn = opted_out = contact_removed = 0
    for invitation in invitations:
        person = invitation.participant
        if person.is_withdrawn:
            withdrawn += 1
        elif not person.has_contact_details or not person.email:
            contact_removed += 1
        elif invitation.opted_out_at is not None:
            opted_out += 1
        else:
            rows.append(
                LinkRow(
                    id_number=person.id_number,
                    name=person.name,
                    email=person.email,
                    link=personal_link(base_url, invitation.token),
                    status=_status(invitation),
                )
            )
    return LinkList(rows, withdrawn, opted_out, contact_removed)


def links_csv(links: LinkList) -> str:
    """The list as CSV; every typed value goes through the spreadsheet formula guard."""
    return csv_text(
        HEADINGS,
        ([row.id_number, row.name, row.email, row.link, row.status] for row in links.rows),
    )


def _status(invitation: Invitation) -> str:
    if invitation.is_completed:
        return "Completed"
    return "Started" if invitation.started_at is not None else "Not started"
