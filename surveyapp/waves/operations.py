"""Waves and invitations: who is asked, when, and by which personal link (Flask-free)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from surveyapp.errors import SurveyError
from surveyapp.models import (
    PRIVACY_MODES,
    DraftAnswer,
    Invitation,
    Message,
    Participant,
    Programme,
    QuestionnaireVersion,
    Response,
    Wave,
)
from surveyapp.reminders.sending import default_plan

AUDIENCE_FIELDS = ("role", "team", "region")
DEFAULT_TARGET_RATE = 60


class WaveProblem(SurveyError):
    """A wave cannot be created or changed as asked; the message says why, and ``field``
    names the form field it is about."""

    def __init__(self, message: str, field: str = "closes_on") -> None:
        super().__init__(message)
        self.field = field


def new_token() -> str:
    """Return an unguessable link token: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def matches(participant: Participant, audience: Mapping[str, Sequence[str]]) -> bool:
    """Whether a person is in the audience: every chosen field must match one chosen value."""
    return all(
        not values or getattr(participant, field) in values
        for field, values in audience.items()
        if field in AUDIENCE_FIELDS
    )


def audience_size(
    session: Session, programme: Programme, audience: Mapping[str, Sequence[str]]
) -> int:
    """How many active participants of the programme a wave with this audience invites."""
    people = session.scalars(
        select(Participant).where(
            Participant.programme_id == programme.id, Participant.withdrawn_at.is_(None)
        )
    )
    return sum(1 for person in people if matches(person, audience))


def create_wave(
    session: Session,
    *,
    programme: Programme,
    version: QuestionnaireVersion,
    label: str,
    opens_at: datetime,
    closes_at: datetime,
    privacy: str,
    now: datetime,
    target_rate: int = DEFAULT_TARGET_RATE,
    audience: Mapping[str, Sequence[str]] | None = None,
) -> Wave:
    """Create a wave and invite every active participant in its audience.

    :raises WaveProblem: when the dates, target or privacy mode cannot work.
    """
    label = " ".join(label.split())
    if not label:
        raise WaveProblem("Enter a name for the wave, such as Baseline.")
    if closes_at <= opens_at:
        raise WaveProblem("The closing date must be after the opening date.")
    if privacy not in PRIVACY_MODES:
        raise WaveProblem("Choose whether answers are identified or anonymous.")
    if not 1 <= target_rate <= 100:
        raise WaveProblem("The target response rate must be between 1% and 100%.")
    chosen = (
        {field: sorted(set(audience.get(field, []))) for field in AUDIENCE_FIELDS}
        if audience
        else {}
    )
    wave = Wave(
        programme=programme,
        questionnaire_version=version,
        label=label,
        opens_at=opens_at,
        closes_at=closes_at,
        privacy=privacy,
        target_rate=target_rate,
        audience={field: values for field, values in chosen.items() if values},
        created_at=now,
    )
    session.add(wave)
    session.flush()
    invite_audience(session, wave)
    default_plan(session, wave, now=now)
    return wave


def invite_audience(session: Session, wave: Wave) -> int:
    """Invite active participants of the wave's audience not yet invited; return how many."""
    invited = set(
        session.scalars(select(Invitation.participant_id).where(Invitation.wave_id == wave.id))
    )
    people = session.scalars(
        select(Participant).where(
            Participant.programme_id == wave.programme_id, Participant.withdrawn_at.is_(None)
        )
    )
    added = 0
    for person in people:
        if person.id in invited or not matches(person, wave.audience):
            continue
        session.add(Invitation(wave=wave, participant=person, token=new_token()))
        added += 1
    session.flush()
    return added


@dataclass(frozen=True)
class WaveCounts:
    invited: int
    opened: int
    started: int
    completed: int
    withdrawn: int


def wave_counts(session: Session, wave: Wave) -> WaveCounts:
    """Count the wave's invitations by how far people got."""
    row = session.execute(
        select(
            func.count(Invitation.id),
            func.count(Invitation.opened_at),
            func.count(Invitation.started_at),
            func.count(Invitation.completed_on),
            func.count(Participant.withdrawn_at),
        )
        .join(Participant, Invitation.participant_id == Participant.id)
        .where(Invitation.wave_id == wave.id)
    ).one()
    return WaveCounts(*row)


def reopen(session: Session, invitation: Invitation) -> None:
    """Let a person change a submitted identified response: its answers become a draft again.

    :raises WaveProblem: for an anonymous wave, whose answers cannot be found again.
    """
    wave = invitation.wave
    if not invitation.is_completed:
        raise WaveProblem(
            "This person has not submitted their answers, so there is nothing to reopen."
        )
    if wave.is_anonymous:
        raise WaveProblem(
            "Answers in an anonymous wave are not linked to the person, so they cannot be reopened."
        )
    response = session.scalar(
        select(Response).where(
            Response.wave_id == wave.id, Response.participant_id == invitation.participant_id
        )
    )
    if response is not None:
        for answer in response.answers:
            session.add(
                DraftAnswer(
                    invitation=invitation,
                    answer_id=answer.answer_id,
                    value=answer.value,
                    updated_at=invitation.completed_at,
                )
            )
        session.delete(response)  # its answers go with it (cascade)
    invitation.completed_at = None
    session.flush()


def close_wave(session: Session, wave: Wave, *, now: datetime) -> int:
    """Close an open wave now: links stop taking answers, queued messages are cancelled.

    Returns how many queued messages were cancelled.

    :raises WaveProblem: when the wave has not opened yet or is already closed.
    """
    if wave.closes_at <= now:
        raise WaveProblem("This wave is already closed.")
    if wave.opens_at > now:
        raise WaveProblem("This wave has not opened yet, so there is nothing to close.")
    wave.closes_at = now
    cancelled = session.execute(
        update(Message)
        .where(Message.wave_id == wave.id, Message.state == "queued")
        .values(state="cancelled", last_error="Not sent: the wave was closed.")
    ).rowcount
    session.flush()
    return cancelled
