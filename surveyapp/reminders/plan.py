"""The reminder plan at a glance and its changes: steps, recipients, previews, the outbox
(Flask-free)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from surveyapp.errors import SurveyError
from surveyapp.models import (
    EmailTemplate,
    Invitation,
    Message,
    Participant,
    ReminderStep,
    Wave,
)
from surveyapp.reminders import emails as templates
from surveyapp.reminders import sending
from surveyapp.reminders.calendar import SendDay, send_day_of
from surveyapp.reminders.models import SHOWN_STATES
from surveyapp.text import csv_text, safe_cell  # noqa: F401 (safe_cell is part of this API)

#: The groups a wave is broken down by, with their headings.
from surveyapp.waves.dashboard import Paged, paged

# -- reminders at a glance ---------------------------------------------------------------


def message_counts(session: Session, wave: Wave) -> dict[int, dict[str, int]]:
    """Messages per step and shown state ("kept" apart from "sent"): {step id: {state: n}}."""
    counts: dict[int, dict[str, int]] = {}
    for step_id, state, n in session.execute(
        select(Message.step_id, Message.shown_state, func.count(Message.id))
        .where(Message.wave_id == wave.id)
        .group_by(Message.step_id, Message.shown_state)
    ):
        counts.setdefault(step_id, {})[state] = n
    return counts


def scheduled_steps(session: Session, wave: Wave) -> list[tuple[ReminderStep, SendDay]]:
    """A wave's steps in order, each with its send day (moved off weekends and bank holidays)."""
    return [(step, send_day_of(step)) for step in sending.steps_of(session, wave)]


def new_recipients(session: Session, step: ReminderStep) -> list[Invitation]:
    """Who "Send now" would write to: due the step now and without a message for it yet.

    Queueing leaves alone anyone who already has a message for the step, in any state.
    Their participants are loaded in one query, so rendering each email asks for nothing more.
    """
    already = set(session.scalars(select(Message.invitation_id).where(Message.step_id == step.id)))
    people = [i for i in sending.recipients(session, step) if i.id not in already]
    participants = {
        person.id: person
        for person in session.scalars(
            select(Participant).join(Invitation).where(Invitation.wave_id == step.wave_id)
        )
    }
    for invitation in people:
        set_committed_value(invitation, "participant", participants[invitation.participant_id])
    return people


def renumber_steps(session: Session, wave: Wave) -> None:
    """Put a wave's steps in the order they fall due."""
    steps = sending.steps_of(session, wave)
    for position, step in enumerate(
        sorted(steps, key=lambda s: (sending.due_at(s), s.position, s.id or 0)), start=1
    ):
        step.position = position
    session.flush()


def template_step(session: Session, wave: Wave, template: EmailTemplate | None) -> ReminderStep:
    """A step that uses the email, for previews; a stand-in when no step uses it yet.

    The stand-in is never added to the session.
    """
    step = None
    if template is not None:
        step = session.scalar(
            select(ReminderStep)
            .where(ReminderStep.template_id == template.id)
            .order_by(ReminderStep.position)
            .limit(1)
        )
    if step is None:
        step = ReminderStep(
            label="Preview", days_after_opening=0, audience="not_completed", position=0
        )
        step.wave = wave
    return step


def preview_people(session: Session, wave: Wave, limit: int = 500) -> list[Invitation]:
    """Invited people to preview an email for, in ID number order."""
    return list(
        session.scalars(
            select(Invitation)
            .join(Participant, Invitation.participant_id == Participant.id)
            .where(Invitation.wave_id == wave.id)
            .options(joinedload(Invitation.participant))
            .order_by(Participant.id_number)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Preview:
    rendered: templates.Rendered | None
    problems: dict[str, str]


def preview_template(
    subject: str,
    body: str,
    invitation: Invitation | None,
    step: ReminderStep,
    *,
    now: datetime,
    settings: sending.SendSettings,
) -> Preview:
    """Render a template as typed for one person, or say what is wrong with it."""
    problems = templates.template_problems(subject, body)
    if problems:
        return Preview(None, problems)
    values = (
        sending.values_for(invitation, step, now, settings)
        if invitation is not None
        else templates.FIELDS
    )
    return Preview(templates.render(subject, body, values), {})


def outbox(
    session: Session, wave: Wave, *, state: str = "", page: int = 1, per_page: int = 50
) -> Paged:
    """One page of a wave's messages, newest first, optionally of one state: two queries."""
    conditions = [Message.wave_id == wave.id]
    if state in SHOWN_STATES:
        conditions.append(Message.shown_state == state)
    total = session.scalar(select(func.count(Message.id)).where(*conditions))
    pages = max(1, -(-total // per_page))
    page = max(1, min(page, pages))
    items = list(
        session.scalars(
            select(Message)
            .where(*conditions)
            .options(
                joinedload(Message.step),
                joinedload(Message.invitation).joinedload(Invitation.participant),
            )
            .order_by(Message.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return paged(items, total, page, per_page)


def send_again(message: Message) -> bool:
    """An administrator's word on a message that may have been sent: queue it again (the
    next run sends it). False when it is no longer "may have been sent"."""
    if message.state != "unsure":
        return False
    message.state, message.last_error, message.transport = "queued", "", ""
    message.claimed_at = message.next_attempt_at = message.sent_at = None
    return True


def mark_as_sent(message: Message) -> bool:
    """An administrator's word on a message that may have been sent: it arrived (its sent
    time stays when it went). False when it is no longer "may have been sent"."""
    if message.state != "unsure":
        return False
    message.state, message.last_error, message.transport = "sent", "", "smtp"
    return True


def state_counts(session: Session, wave: Wave) -> dict[str, int]:
    return dict(
        session.execute(
            select(Message.shown_state, func.count(Message.id))
            .where(Message.wave_id == wave.id)
            .group_by(Message.shown_state)
        ).all()
    )


def messages_to(session: Session, participant: Participant) -> list[Message]:
    """Every message written to one person, in any wave, newest first."""
    return list(
        session.scalars(
            select(Message)
            .join(Invitation, Message.invitation_id == Invitation.id)
            .where(Invitation.participant_id == participant.id)
            .options(
                joinedload(Message.step),
                joinedload(Message.invitation).joinedload(Invitation.wave),
            )
            .order_by(Message.id.desc())
        )
    )


# -- changing the plan -------------------------------------------------------------------


class StepProblem(SurveyError):
    """A reminder step cannot be saved or deleted as asked; the message says why."""


def save_step(
    session: Session,
    wave: Wave,
    step: ReminderStep | None,
    *,
    label: str,
    send_on: datetime | None,
    days_after_opening: int | None,
    audience: str,
    template: EmailTemplate,
    deadline_working_days: int | None,
) -> ReminderStep:
    """Add a step to a wave's plan (``step`` None) or change one; keep the plan in due order.

    :raises StepProblem: when the step would fall outside the wave or uses another wave's email.
    """
    if (send_on is None) == (days_after_opening is None):
        raise StepProblem("Say when to send: a number of days after opening, or a date.")
    if template.wave_id != wave.id:
        raise StepProblem("Choose one of this wave's emails.")
    due = send_on if send_on is not None else wave.opens_at + timedelta(days=days_after_opening)
    if due < wave.opens_at:
        raise StepProblem("The step must be due after the wave opens.")
    if due >= wave.closes_at:
        raise StepProblem("The step must be due before the wave closes.")
    if step is None:
        step = ReminderStep(wave=wave, position=len(sending.steps_of(session, wave)) + 1)
        session.add(step)
    step.label = " ".join(label.split())
    step.send_on, step.days_after_opening = send_on, days_after_opening
    step.audience = audience
    step.template = template
    step.deadline_working_days = deadline_working_days or None
    session.flush()
    renumber_steps(session, wave)
    return step


def delete_step(session: Session, step: ReminderStep) -> None:
    """Take a step out of the plan.

    :raises StepProblem: when it has messages: the log keeps every message and its step.
    """
    if session.scalar(select(func.count(Message.id)).where(Message.step_id == step.id)):
        raise StepProblem(
            f"“{step.label}” has messages in the outbox, so it stays in the plan for the record."
        )
    wave = step.wave
    session.delete(step)
    session.flush()
    renumber_steps(session, wave)


def send_problem(wave: Wave, now: datetime) -> str | None:
    """Why nothing can be sent for the wave now, or None."""
    if now < wave.opens_at:
        return (
            "This wave has not opened yet, so its personal links do not work. Send once it opens."
        )
    if now >= wave.closes_at:
        return "This wave has closed, so nothing more can be sent."
    return None
