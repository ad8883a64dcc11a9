"""Changing a wave after it is made: its name, dates, target and audience (Flask-free).

A change is checked whole before anything is written, so a refused change leaves the wave
as it was. The reminder plan needs no rewriting: its steps are reckoned from the wave's
dates each time (``reminders.calendar.send_day_of``), so they follow the new dates, and a
step that now falls at or after the closing is reported and will not be sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from surveyapp.models import DraftAnswer, Invitation, Message, Participant, ReminderStep, Wave
from surveyapp.reminders.calendar import send_day_of
from surveyapp.timezones import to_local
from surveyapp.waves.operations import AUDIENCE_FIELDS, WaveProblem, invite_audience, matches


@dataclass
class WaveChange:
    """What a change did, in words for the audit trail and the page."""

    changes: list[str] = field(default_factory=list)
    invited: int = 0
    removed: int = 0
    reopened: bool = False
    #: Labels of reminder steps that now fall at or after the closing, so are not sent.
    steps_after_closing: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def sentence(self, label: str) -> str:
        """What the page says after the change."""
        if not self.changed:
            return f"Nothing about “{label}” was changed."
        words = [f"“{label}” is changed."]
        if self.reopened:
            words.append("It is open again: its links take answers until it closes.")
        if self.invited:
            words.append(f"{_people(self.invited, 'more ')} invited.")
        if self.removed:
            words.append(f"{_people(self.removed)} no longer invited.")
        if self.steps_after_closing:
            steps = ", ".join(f"“{step}”" for step in self.steps_after_closing)
            words.append(
                f"Due after the wave closes, so not sent: {steps}. Change them in the "
                "reminder plan."
            )
        return " ".join(words)


def _people(count: int, more: str = "") -> str:
    return f"{count} {more}person is" if count == 1 else f"{count} {more}people are"


def _when(moment: datetime, zone: str) -> str:
    local = to_local(moment, zone)
    hour = local.strftime("%I").lstrip("0") or "12"
    return f"{local.day} {local:%B %Y}, {hour}:{local:%M}{local:%p}".replace("AM", "am").replace(
        "PM", "pm"
    )


def _chosen(audience: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]]:
    audience = audience or {}
    return {f: sorted(set(audience.get(f, []))) for f in AUDIENCE_FIELDS if audience.get(f)}


def _describe(audience: Mapping[str, Sequence[str]]) -> str:
    if not audience:
        return "everyone taking part"
    return "; ".join(f"{name}: {', '.join(values)}" for name, values in audience.items())


def _leaving(session: Session, wave: Wave, audience: Mapping[str, Sequence[str]]):
    """Invitations of people the new audience leaves out."""
    invitations = session.scalars(
        select(Invitation).join(Participant).where(Invitation.wave_id == wave.id)
    )
    return [i for i in invitations if not matches(i.participant, audience)]


def _has_answered(session: Session, invitation: Invitation) -> bool:
    """Sent their answers, or saved some on the way: their answers are never thrown away."""
    if invitation.is_completed:
        return True
    return bool(
        session.scalar(
            select(func.count(DraftAnswer.id)).where(DraftAnswer.invitation_id == invitation.id)
        )
    )


def change_wave(
    session: Session,
    wave: Wave,
    *,
    label: str,
    opens_at: datetime,
    closes_at: datetime,
    target_rate: int,
    audience: Mapping[str, Sequence[str]] | None,
    now: datetime,
    zone: str,
) -> WaveChange:
    """Change a wave; invite people the audience adds, take out those it removes.

    :raises WaveProblem: when the change cannot work; nothing is changed then.
    """
    label = " ".join(label.split())
    if not label:
        raise WaveProblem("Enter a name for the wave, such as Baseline.", "label")
    if not 1 <= target_rate <= 100:
        raise WaveProblem("The target response rate must be between 1% and 100%.", "target_rate")
    if closes_at <= opens_at:
        raise WaveProblem("The closing date must be after the opening date.")
    if opens_at != wave.opens_at and wave.opens_at <= now:
        raise WaveProblem(
            f"The wave opened on {_when(wave.opens_at, zone)}, so its opening date cannot change.",
            "opens_on",
        )
    if opens_at != wave.opens_at and opens_at < now:
        raise WaveProblem("The opening date must be in the future.", "opens_on")
    if closes_at != wave.closes_at and closes_at <= now:
        raise WaveProblem(
            "The closing date must be in the future. To close the wave now, use "
            "“Close this wave now” on its page."
        )
    chosen = _chosen(audience)
    leaving = _leaving(session, wave, chosen) if chosen != (wave.audience or {}) else []
    answered = sum(1 for invitation in leaving if _has_answered(session, invitation))
    if answered:
        people = "person has" if answered == 1 else "people have"
        raise WaveProblem(
            f"{answered} {people} answered and would be left out of the new audience. "
            "Answers are never removed, so keep them in: tick their role, team or region too.",
            "role",
        )

    result = WaveChange()
    if label != wave.label:
        result.changes.append(f"name “{wave.label}” to “{label}”")
        wave.label = label
    if opens_at != wave.opens_at:
        result.changes.append(f"opening {_when(wave.opens_at, zone)} to {_when(opens_at, zone)}")
        wave.opens_at = opens_at
    if closes_at != wave.closes_at:
        result.reopened = wave.closes_at <= now < closes_at
        result.changes.append(
            f"closing {_when(wave.closes_at, zone)} to {_when(closes_at, zone)}"
            + (" (reopened)" if result.reopened else "")
        )
        wave.closes_at = closes_at
    if target_rate != wave.target_rate:
        result.changes.append(f"target {wave.target_rate}% to {target_rate}%")
        wave.target_rate = target_rate
    if chosen != (wave.audience or {}):
        result.changes.append(f"audience {_describe(wave.audience or {})} to {_describe(chosen)}")
        wave.audience = chosen
        result.removed = _remove(session, leaving)
        result.invited = invite_audience(session, wave)
    session.flush()
    result.steps_after_closing = [
        step.label
        for step in session.scalars(
            select(ReminderStep)
            .where(ReminderStep.wave_id == wave.id)
            .order_by(ReminderStep.position)
        )
        if send_day_of(step).after_closing
    ]
    return result


def _remove(session: Session, invitations: list[Invitation]) -> int:
    """Take out invitations of people who have not answered, with their outbox messages."""
    ids = [invitation.id for invitation in invitations]
    if not ids:
        return 0
    session.execute(delete(Message).where(Message.invitation_id.in_(ids)))
    for invitation in invitations:
        session.delete(invitation)
    session.flush()
    return len(ids)
