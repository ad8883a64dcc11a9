"""The reminder plan and the outbox: who is due which message, queueing it once, delivering it.

Flask-free. Queueing writes one Message row per (step, invitation); the
database's unique constraint, not the code, is what stops a second sender,
a restarted sender or a retry from writing the same step to a person twice.
Delivery claims rows, sends them over one connection and records each
outcome at once, so a killed sender loses at most the message in flight,
which is claimed again after the lease runs out. Each message's claim is
renewed just before it is sent, and only if it is still this sender's (each
take counts an attempt, so a changed count means another sender took it): a
slow server or a low MAIL_PER_MINUTE can make a batch outlast the lease, but
the lease only has to outlast one message.

A mail server that says "not now" (``421`` or another ``4xx``, or no answer at all) stops
the run: the message in hand and the rest of the batch go back to the queue with no
attempt counted, and the pause is kept (:mod:`surveyapp.reminders.pause`) so the next run
waits too. A message whose connection was lost after it was sent and before the server
answered is "unsure" and is never sent again without an administrator's word.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased, contains_eager, joinedload, sessionmaker

from surveyapp.mail import DeliveryFailed, Mailer, MaybeSent, ServerBusy, message_id_for
from surveyapp.models import (
    EmailTemplate,
    Invitation,
    Message,
    Participant,
    ReminderStep,
    Wave,
)
from surveyapp.questionnaires.catalogue import cached_questionnaire_of
from surveyapp.reminders import emails as templates
from surveyapp.reminders import html_part, pause
from surveyapp.reminders.calendar import long_date, send_day_of, working_days_after
from surveyapp.timezones import to_local


@dataclass(frozen=True)
class SendSettings:
    """What sending needs besides the database: addresses, identity, pacing."""

    base_url: str  # for personal links, e.g. "https://surveys.example.org"
    zone: str = "Europe/London"
    signature: str = ""  # defaults to the programme's "run by"
    domain: str = "surveyapp.invalid"  # for Message-IDs: MAIL_DOMAIN, or BASE_URL's host
    lease: timedelta = timedelta(minutes=10)
    max_attempts: int = 5
    first_retry: timedelta = timedelta(minutes=5)
    per_minute: int = 30  # Exchange Online's limit per mailbox; 0: as fast as the server takes

    batch: int = 100


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    #: Lost after sending, before the server answered: they wait for an administrator.
    unsure: int = 0
    errors: list[str] = field(default_factory=list)
    #: When the mail server held the run back (now or in an earlier run): until when, and
    #: its answer.
    paused_until: datetime | None = None
    paused_because: str = ""


def settings_from_config(config) -> SendSettings:
    """Read the SURVEYAPP_* settings that sending uses."""
    base_url = str(config["BASE_URL"]).rstrip("/")
    host = base_url.split("//", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    domain = str(config.get("MAIL_DOMAIN") or "").strip() or host or "surveyapp.invalid"
    return SendSettings(
        base_url=base_url,
        zone=config["STUDY_TIMEZONE"],
        signature=config.get("MAIL_SIGNATURE", ""),
        domain=domain,
        per_minute=int(config.get("MAIL_PER_MINUTE") or 0),  # the default config says 30
        lease=timedelta(seconds=int(config.get("MAIL_LEASE_SECONDS") or 600)),
    )


# -- the plan ----------------------------------------------------------------------------


def default_plan(session: Session, wave: Wave, *, now: datetime) -> list[ReminderStep]:
    """Give a wave the plan the evaluators used: an invitation, two reminders over three weeks,
    then a personalised final reminder with a deadline three working days later."""
    made = {}
    for name, (subject, body) in templates.DEFAULTS.items():
        made[name] = EmailTemplate(wave=wave, name=name, subject=subject, body=body, updated_at=now)
        session.add(made[name])
    steps = [
        ReminderStep(
            wave=wave, position=1, label="Invitation", days_after_opening=0,
            audience="not_completed", template=made["invitation"],
        ),
        ReminderStep(
            wave=wave, position=2, label="First reminder", days_after_opening=7,
            audience="not_completed", template=made["reminder"],
        ),
        ReminderStep(
            wave=wave, position=3, label="Second reminder", days_after_opening=14,
            audience="not_completed", template=made["reminder"],
        ),
        ReminderStep(
            wave=wave, position=4, label="Final personal reminder", days_after_opening=21,
            audience="not_completed", template=made["final"], deadline_working_days=3,
        ),
    ]  # fmt: skip
    session.add_all(steps)
    session.flush()
    return steps


def steps_of(session: Session, wave: Wave) -> list[ReminderStep]:
    return list(
        session.scalars(
            select(ReminderStep)
            .where(ReminderStep.wave_id == wave.id)
            .order_by(ReminderStep.position)
        )
    )


def due_at(step: ReminderStep) -> datetime:
    """When a step is due, in UTC: never on a weekend or bank holiday (calendar.send_day)."""
    return send_day_of(step).due


def due_steps(session: Session, now: datetime) -> list[ReminderStep]:
    """Steps of open waves whose time has come."""
    steps = session.scalars(
        select(ReminderStep)
        .join(Wave, ReminderStep.wave_id == Wave.id)
        .where(Wave.opens_at <= now, Wave.closes_at > now)
        .order_by(ReminderStep.wave_id, ReminderStep.position)
    )
    return [step for step in steps if due_at(step) <= now]


def _eligible_clause(step: ReminderStep):
    """Who a step goes to, as SQL: never the completed, withdrawn or opted out."""
    conditions = [
        Invitation.wave_id == step.wave_id,
        Invitation.completed_on.is_(None),
        Invitation.opted_out_at.is_(None),
        Participant.withdrawn_at.is_(None),
        # Contact details removed (retention date or erasure): there is nobody to write to.
        Participant.contact_removed_at.is_(None),
        Participant.email != "",
        # A mail server refused this address for good: nothing more until it is corrected.
        ~_refused_before().exists(),
    ]
    if step.audience == "not_opened":
        conditions.append(Invitation.opened_at.is_(None))
    elif step.audience == "started":
        conditions.append(Invitation.started_at.is_not(None))
    return and_(*conditions)


def address_refused(message=Message):
    """SQL: a message failed for good because the mail server refused its address
    (what :func:`surveyapp.mail.refuses_address` says, as LIKE patterns)."""
    answer = message.last_error
    return and_(
        message.state == "failed",
        message.next_attempt_at.is_(None),
        or_(
            answer.like("5__ 5.1._%"),
            answer.like("5__ 5.2.1"),
            answer.like("5__ 5.2.1 %"),
            and_(
                or_(answer.like("550 %"), answer.like("551 %"), answer.like("553 %")),
                ~answer.like("5__ _._%"),  # an enhanced status, such as 5.7.1, says more
            ),
        ),
    )


def _refused_before():
    """A refusal of the person's current address, for the person in the outer query."""
    refused, theirs = aliased(Message), aliased(Invitation)
    return (
        select(refused.id)
        .join(theirs, refused.invitation_id == theirs.id)
        .where(
            theirs.participant_id == Participant.id,
            refused.to_address == Participant.email,
            address_refused(refused),
        )
    )


def refused_addresses(session: Session, people: list[Participant]) -> dict[int, str]:
    """{participant id: the mail server's answer} for those whose current address a mail
    server refused for good. Correcting the address clears it: the refusal was of the old."""
    ids = [person.id for person in people]
    if not ids:
        return {}
    rows = session.execute(
        select(Participant.id, Message.last_error)
        .join(Invitation, Invitation.participant_id == Participant.id)
        .join(Message, Message.invitation_id == Invitation.id)
        .where(
            Participant.id.in_(ids),
            Message.to_address == Participant.email,
            address_refused(),
        )
        .order_by(Message.id)
    )
    return dict(rows.all())


def recipients(session: Session, step: ReminderStep) -> list[Invitation]:
    """Everyone a step would go to now and has not had it yet, in ID number order."""
    already = select(Message.id).where(
        Message.step_id == step.id, Message.invitation_id == Invitation.id
    )
    return list(
        session.scalars(
            select(Invitation)
            .join(Participant, Invitation.participant_id == Participant.id)
            .where(_eligible_clause(step), ~already.exists())
            .options(contains_eager(Invitation.participant))
            .order_by(Participant.id_number)
        )
    )


def is_still_eligible(invitation: Invitation, step: ReminderStep) -> bool:
    """Check again at send time: completion, withdrawal or opt-out since queueing cancel it."""
    if invitation.is_completed or invitation.opted_out_at or invitation.participant.is_withdrawn:
        return False
    if not invitation.participant.has_contact_details or not invitation.participant.email:
        return False
    if step.audience == "not_opened":
        return invitation.opened_at is None
    if step.audience == "started":
        return invitation.started_at is not None
    return True


def deadline_of(step: ReminderStep, now: datetime, zone: str) -> datetime | str:
    """The deadline a message gives: working days after sending for a final step, else closing."""
    closes = to_local(step.wave.closes_at, zone).date()
    if step.deadline_working_days:
        given = working_days_after(to_local(now, zone).date(), step.deadline_working_days)
        return long_date(min(given, closes))
    return long_date(closes)


def values_for(
    invitation: Invitation, step: ReminderStep, now: datetime, settings: SendSettings
) -> dict:
    """The template fields for one person and one step."""
    person = invitation.participant
    wave = step.wave
    link = personal_link(invitation, settings)
    questionnaire = cached_questionnaire_of(wave.questionnaire_version)
    return {
        "first_name": person.name.split()[0] if person.name.split() else person.name,
        "full_name": person.name,
        "team": person.team,
        "organisation": person.organisation,
        "programme": wave.programme.name,
        "wave": wave.label,
        "questionnaire": questionnaire.title,
        "estimated_minutes": questionnaire.estimated_minutes,
        "deadline": deadline_of(step, now, settings.zone),
        "link": link,
        "pages_done": invitation.pages_done,
        "pages_total": invitation.pages_total,
        "sender_name": wave.programme.run_by,
        "signature": settings.signature or wave.programme.run_by,
        "opt_out_link": opt_out_link(invitation, settings),
    }


def personal_link(invitation: Invitation, settings: SendSettings) -> str:
    return f"{settings.base_url.rstrip('/')}/r/{invitation.token}"


def opt_out_link(invitation: Invitation, settings: SendSettings) -> str:
    """Where a person stops reminders: a page to confirm, or a one-click POST (RFC 8058)."""
    return f"{personal_link(invitation, settings)}/no-reminders"


def render_for(
    invitation: Invitation, step: ReminderStep, now: datetime, settings: SendSettings
) -> templates.Rendered:
    template = step.template
    return templates.render(
        template.subject, template.body, values_for(invitation, step, now, settings)
    )


# -- queueing ----------------------------------------------------------------------------


def queue_step(
    session: Session, step: ReminderStep, *, now: datetime, settings: SendSettings
) -> int:
    """Write a queued message for everyone the step is due to; return how many are new.

    Existing (step, person) rows are left alone: ON CONFLICT DO NOTHING.
    """
    people = recipients(session, step)
    if not people:
        return 0
    rows = []
    for invitation in people:
        rendered = render_for(invitation, step, now, settings)
        rows.append(
            {
                "wave_id": step.wave_id,
                "step_id": step.id,
                "invitation_id": invitation.id,
                "to_address": invitation.participant.email,
                "subject": rendered.subject,
                "body": rendered.body,
                "state": "queued",
                "attempts": 0,
                "last_error": "",
                "queued_at": now,
                "transport": "",
            }
        )
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Message).on_conflict_do_nothing(index_elements=["step_id", "invitation_id"])
    result = session.execute(statement.returning(Message.id), rows)
    return len(result.all())


def queue_due(session: Session, *, now: datetime, settings: SendSettings) -> int:
    """Queue every due step of every open wave; return how many messages are new."""
    return sum(
        queue_step(session, step, now=now, settings=settings) for step in due_steps(session, now)
    )


# -- delivery ----------------------------------------------------------------------------


def claim(session: Session, *, now: datetime, settings: SendSettings) -> list[int]:
    """Take up to a batch of messages to send: queued, due for a retry, or abandoned.

    One UPDATE takes them, so two senders never take the same row (PostgreSQL
    skips rows another sender has locked; SQLite runs one writer at a time).
    With a pace set, a batch is no more than can be sent in half the lease.
    """
    takeable = or_(
        Message.state == "queued",
        and_(Message.state == "failed", Message.next_attempt_at <= now),
        and_(Message.state == "sending", Message.claimed_at < now - settings.lease),
    )
    chosen = select(Message.id).where(takeable).order_by(Message.id).limit(_batch_size(settings))
    if session.get_bind().dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    result = session.execute(
        update(Message)
        .where(Message.id.in_(chosen.scalar_subquery()), takeable)
        .values(state="sending", claimed_at=now, attempts=Message.attempts + 1)
        .returning(Message.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result.scalars())


def _batch_size(settings: SendSettings) -> int:
    if not settings.per_minute:
        return settings.batch
    in_half_a_lease = int(settings.lease.total_seconds() / 2 * settings.per_minute / 60)
    return max(1, min(settings.batch, in_half_a_lease))


def renew(session: Session, message: Message, *, taken: int, now: datetime) -> bool:
    """Keep the claim on a message about to be sent, if it is still this sender's.

    ``taken`` is its attempt count when this sender claimed it; another sender taking
    it after the lease ran out has counted one more. Returns False when it is not ours.
    """
    result = session.execute(
        update(Message)
        .where(Message.id == message.id, Message.state == "sending", Message.attempts == taken)
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _record(message: Message, now: datetime, settings: SendSettings, error: str | None) -> str:
    if error is None:
        message.state, message.sent_at, message.last_error = "sent", now, ""
        return "sent"
    message.last_error = error
    # Only the message's own faults come here: "not now" answers pause the run instead.
    permanent = error[:1] == "5" or message.attempts >= settings.max_attempts
    message.state = "failed"
    message.next_attempt_at = (
        None if permanent else now + settings.first_retry * (2 ** (message.attempts - 1))
    )
    return "failed"


def deliver(
    make_session: sessionmaker,
    mailer: Mailer,
    *,
    clock: Callable[[], datetime],
    settings: SendSettings,
    sleep: Callable[[float], None] = time.sleep,
    limit: int | None = None,
) -> DeliveryReport:
    """Send what is queued, one committed outcome per message; return what happened.

    This is a job, like a CLI command: it owns its transactions.
    """
    report = DeliveryReport()
    gap = 60 / settings.per_minute if settings.per_minute and mailer.transport == "smtp" else 0
    handled = 0
    try:
        with make_session() as session:
            held = pause.waiting(session, clock())
            if held is not None:
                report.paused_until, report.paused_because = held.until, held.reason
                return report
        while limit is None or handled < limit:
            with make_session() as session:
                ids = claim(session, now=clock(), settings=settings)
                session.commit()
                if not ids:
                    break
                # One query loads the batch; each outcome is still committed on its own.
                batch = session.scalars(
                    select(Message)
                    .where(Message.id.in_(ids))
                    .options(
                        joinedload(Message.invitation).joinedload(Invitation.participant),
                        joinedload(Message.step)
                        .joinedload(ReminderStep.wave)
                        .joinedload(Wave.programme),
                    )
                    .order_by(Message.id)
                ).all()
                taken = {message.id: message.attempts for message in batch}
                for position, message in enumerate(batch):
                    mine = renew(session, message, taken=taken[message.id], now=clock())
                    session.commit()
                    if not mine:  # the lease ran out and another sender has it now
                        continue
                    try:
                        _deliver_one(session, message, mailer, clock, settings, report)
                    except ServerBusy as busy:
                        _hold_back(session, batch[position:], taken, str(busy), clock(), report)
                        session.commit()
                        break
                    session.commit()
                    handled += 1
                    if gap:
                        sleep(gap)
                if report.paused_until is not None:
                    break
        if report.paused_until is None and (report.sent or report.failed):
            with make_session() as session:
                pause.clear(session)  # the server takes messages again
                session.commit()
    finally:
        mailer.close()
    return report


def _hold_back(
    session: Session,
    unsent: list[Message],
    taken: dict[int, int],
    answer: str,
    now: datetime,
    report: DeliveryReport,
) -> None:
    """The server said "not now": put the unsent back, uncounted, and pause every run."""
    held = pause.hold(session, answer, now)
    note = f"Held back: the mail server answered “{answer}”. No attempt is counted."
    for message in unsent:
        session.execute(
            update(Message)
            .where(
                Message.id == message.id,
                Message.state == "sending",
                Message.attempts == taken[message.id],  # still this sender's
            )
            .values(
                state="queued",
                attempts=Message.attempts - 1,
                claimed_at=None,
                last_error=note if message is unsent[0] else Message.last_error,
            )
            .execution_options(synchronize_session=False)
        )
    report.paused_until, report.paused_because = held.until, answer
    report.errors.append(f"The mail server held sending back: {answer}")


def _deliver_one(
    session: Session,
    message: Message,
    mailer: Mailer,
    clock: Callable[[], datetime],
    settings: SendSettings,
    report: DeliveryReport,
) -> None:
    # Check again at send time: finishing, withdrawal or opting out since queueing cancel it.
    session.refresh(message.invitation, ["completed_on", "opted_out_at", "opened_at", "started_at"])
    if not message.to_address or not is_still_eligible(message.invitation, message.step):
        message.state, message.last_error = "cancelled", _why_cancelled(message)
        report.cancelled += 1
        return
    error = None
    link = personal_link(message.invitation, settings)
    opt_out = opt_out_link(message.invitation, settings)
    try:
        mailer.send(
            to=message.to_address,
            subject=message.subject,
            body=message.body,
            html=html_part.html_body(message.body, subject=message.subject, links=(link, opt_out)),
            message_id=message_id_for(message.id, settings.domain),
            sender_name=message.step.wave.programme.name,
            unsubscribe=opt_out,
            date=clock(),
        )
        message.transport = mailer.transport
    except MaybeSent as lost:
        message.state, message.last_error, message.transport = "unsure", str(lost), "smtp"
        message.sent_at = clock()
        report.unsure += 1
        report.errors.append(f"{message.to_address}: {lost}")
        return
    except ServerBusy:
        raise
    except DeliveryFailed as failure:
        error = str(failure) or "The mail server refused the message."
        report.errors.append(f"{message.to_address}: {error}")
    outcome = _record(message, clock(), settings, error)
    setattr(report, outcome, getattr(report, outcome) + 1)


def _why_cancelled(message: Message) -> str:
    invitation = message.invitation
    if invitation.is_completed:
        return "Not sent: they completed the questionnaire first."
    if invitation.participant.is_withdrawn:
        return "Not sent: they were withdrawn."
    if invitation.opted_out_at:
        return "Not sent: they asked for no more reminders."
    if not message.to_address or not invitation.participant.has_contact_details:
        return "Not sent: their contact details were removed."
    return "Not sent: they no longer match who this step is for."


def opt_out(invitation: Invitation, *, now: datetime) -> None:
    """Stop reminders about this wave for this person; they can still answer."""
    if invitation.opted_out_at is None:
        invitation.opted_out_at = now


def messages_of(session: Session, invitation: Invitation) -> list[Message]:
    return list(
        session.scalars(
            select(Message).where(Message.invitation_id == invitation.id).order_by(Message.id)
        )
    )
