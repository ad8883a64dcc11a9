"""The evaluation after each session: rules, and the one wave each session gets (Flask-free).

A programme's evaluation rule says which questionnaire evaluates which sessions, who is
asked (those who attended, or everyone expected), when it opens after the session ends,
how long it stays open, how answers are kept, the target and whether reminders go.

``make_due_waves`` is run by the scheduled command (``flask reminders send``). For every
session whose evaluation is due and still open, it makes one wave, linked to the session
by ``Wave.session_id``. That column is unique, so running the command twice, or on two
machines at once, makes one wave: a second attempt fails on the constraint inside its own
savepoint and is skipped. A wave for those who attended waits until the register has been
kept, and people ticked on the register later are invited while the wave is open.

Functions take the database session and ``now``; they flush and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from surveyapp.errors import SurveyError
from surveyapp.exports.codebook import Variable
from surveyapp.models import (
    PRIVACY_MODES,
    Attendance,
    EvaluationRule,
    Invitation,
    Participant,
    Programme,
    ProgrammeSession,
    Wave,
)
from surveyapp.questionnaires import catalogue
from surveyapp.reminders.sending import default_plan
from surveyapp.sessions.models import RULE_AUDIENCES, SESSION_KINDS
from surveyapp.sessions.operations import expected_participants
from surveyapp.timezones import to_local
from surveyapp.waves.operations import new_token

#: Sessions are shown, and their dates exported, in UK time.
UK = "Europe/London"
MAX_OPEN_DAYS = 365
MAX_OPENS_AFTER_HOURS = 720


class RuleProblem(SurveyError):
    """A rule cannot be saved as asked; ``field`` names the form field it is about."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# -- rules -------------------------------------------------------------------------------


def rules_of(session: Session, programme: Programme) -> list[EvaluationRule]:
    """The programme's rules, those still making waves first, then by when they were made."""
    rules = session.scalars(
        select(EvaluationRule)
        .where(EvaluationRule.programme_id == programme.id)
        .order_by(EvaluationRule.created_at, EvaluationRule.id)
    )
    return sorted(rules, key=lambda rule: rule.stopped_at is not None)


def save_rule(
    session: Session,
    programme: Programme,
    *,
    questionnaire_key: str,
    session_kind: str,
    audience: str,
    opens_after_hours: int,
    open_days: int,
    privacy: str,
    target_rate: int,
    with_reminders: bool,
    now: datetime,
    rule: EvaluationRule | None = None,
) -> EvaluationRule:
    """Make a rule, or change ``rule``; waves it made already stay as they are.

    :raises RuleProblem: naming the field, when the questionnaire is not stored (or was
        withdrawn), or a number or choice cannot work.
    """
    if not questionnaire_key or questionnaire_key not in catalogue.latest_versions(session):
        raise RuleProblem(
            "The questionnaire chosen is not loaded (it may have been withdrawn): choose one "
            "of the questionnaires listed.",
            "questionnaire_key",
        )
    if audience not in RULE_AUDIENCES:
        raise RuleProblem(
            "Choose who is asked: those who attended, or everyone expected.", "audience"
        )
    if privacy not in PRIVACY_MODES:
        raise RuleProblem("Choose whether answers are identified or anonymous.", "privacy")
    if not 0 <= opens_after_hours <= MAX_OPENS_AFTER_HOURS:
        raise RuleProblem(
            f"The evaluation must open between 0 and {MAX_OPENS_AFTER_HOURS} hours after the "
            "session ends.",
            "opens_after_hours",
        )
    if not 1 <= open_days <= MAX_OPEN_DAYS:
        raise RuleProblem(
            f"The evaluation must stay open between 1 and {MAX_OPEN_DAYS} days.", "open_days"
        )
    if not 1 <= target_rate <= 100:
        raise RuleProblem("The target response rate must be between 1% and 100%.", "target_rate")
    session_kind = " ".join(session_kind.split())
    if rule is None:
        rule = EvaluationRule(programme=programme, created_at=now)
        session.add(rule)
    rule.questionnaire_key = questionnaire_key
    rule.session_kind = session_kind
    rule.audience = audience
    rule.opens_after_minutes = opens_after_hours * 60
    rule.open_days = open_days
    rule.privacy = privacy
    rule.target_rate = target_rate
    rule.with_reminders = with_reminders
    session.flush()
    return rule


def stop_rule(session: Session, rule: EvaluationRule, *, now: datetime) -> None:
    """Stop a rule: it makes no more waves; the waves it made stay."""
    if rule.stopped_at is None:
        rule.stopped_at = now
        session.flush()


def kind_name(kind: str) -> str:
    """A session kind as pages show it ("" is every kind)."""
    return SESSION_KINDS.get(kind, kind) if kind else "Every kind of session"


def describe_rule(rule: EvaluationRule) -> str:
    """One sentence saying what the rule does, for the rules list."""
    hours = rule.opens_after_minutes // 60
    when = (
        "as soon as the session ends"
        if not hours
        else f"{hours} hour{'s' if hours != 1 else ''} after the session ends"
    )
    who = "everyone who attended" if rule.audience == "attended" else "everyone expected"
    what = kind_name(rule.session_kind).lower() if rule.session_kind else "every session"
    return (
        f"After {'each ' + what if rule.session_kind else what}, {who} is asked, {when}, "
        f"for {rule.open_days} day{'s' if rule.open_days != 1 else ''}"
        f"{', with reminders' if rule.with_reminders else ', without reminders'}."
    )


# -- the session a wave evaluates --------------------------------------------------------


@dataclass(frozen=True)
class SessionFacts:
    """What a participant, a page and an export are told about the session a wave evaluates."""

    kind: str
    kind_name: str
    group: str
    starts_at: datetime
    #: The session's day in UK time.
    day: date
    #: Its place among the programme's sessions of the same kind and group, from 1.
    number: int
    #: How many sessions of that kind and group the programme has.
    of: int

    @property
    def day_text(self) -> str:
        return f"{self.day:%A} {self.day.day} {self.day:%B %Y}"

    @property
    def sentence(self) -> str:
        """For example "Action learning set meeting, West, on Tuesday 3 March 2026 (2 of 7)"."""
        group = f", {self.group}," if self.group else ""
        return f"{self.kind_name}{group} on {self.day_text} (session {self.number} of {self.of})"


def series(session: Session, programme_session: ProgrammeSession) -> list[ProgrammeSession]:
    """The programme's sessions of the same kind and group, in the order they take place."""
    return list(
        session.scalars(
            select(ProgrammeSession)
            .where(
                ProgrammeSession.programme_id == programme_session.programme_id,
                ProgrammeSession.kind == programme_session.kind,
                ProgrammeSession.group == programme_session.group,
            )
            .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
        )
    )


def session_facts(
    session: Session, programme_session: ProgrammeSession, zone: str = UK
) -> SessionFacts:
    """The facts of one session, its number in its series included."""
    others = series(session, programme_session)
    number = next(
        (place for place, other in enumerate(others, 1) if other.id == programme_session.id),
        len(others),
    )
    return SessionFacts(
        kind=programme_session.kind,
        kind_name=programme_session.kind_name,
        group=programme_session.group,
        starts_at=programme_session.starts_at,
        day=to_local(programme_session.starts_at, zone).date(),
        number=number,
        of=len(others),
    )


def wave_session_facts(session: Session, wave: Wave, zone: str = UK) -> SessionFacts | None:
    """The facts of the session a wave evaluates; None for a wave of no session."""
    if wave.session_id is None:
        return None
    return session_facts(session, session.get(ProgrammeSession, wave.session_id), zone)


def session_columns(facts: SessionFacts) -> list[tuple[Variable, object]]:
    """The export variables that carry the session a wave evaluates, with their value
    (the same on every row: an anonymous wave's rows carry the session, never the person)."""
    return [
        (
            Variable("session_kind", "Kind of session evaluated", "string", "nominal", "session",
                     "session_kind"),
            facts.kind_name,
        ),
        (
            Variable("session_group", "Group of the session evaluated (empty: no group)",
                     "string", "nominal", "session", "session_group"),
            facts.group,
        ),
        (
            Variable("session_date", "Date of the session evaluated, UK time (YYYY-MM-DD)",
                     "string", "nominal", "session", "session_date"),
            facts.day.isoformat(),
        ),
        (
            Variable("session_in_series", "Number of the session in its series (sessions "
                     "of the same kind and group, in date order)", "numeric", "ordinal",
                     "session", "session_in_series", is_integer=True),
            facts.number,
        ),
        (
            Variable("series_sessions", "Sessions in the series (of the same kind and group)",
                     "numeric", "scale", "session", "series_sessions", is_integer=True),
            facts.of,
        ),
    ]  # fmt: skip


# -- making the waves --------------------------------------------------------------------


@dataclass
class MadeWaves:
    """What one run of ``make_due_waves`` did, for the command to report."""

    made: list[Wave] = field(default_factory=list)
    #: People ticked on a register after their session's wave was made, now invited.
    invited_late: int = 0
    #: Sessions whose wave waits for its register to be kept.
    waiting: list[ProgrammeSession] = field(default_factory=list)
    #: Sentences about rules that could not make a wave (a questionnaire withdrawn).
    problems: list[str] = field(default_factory=list)
    #: Sessions another run made the wave of while this one was making it.
    raced: int = 0


def opening_of(rule: EvaluationRule, programme_session: ProgrammeSession) -> datetime:
    return programme_session.ends_at + timedelta(minutes=rule.opens_after_minutes)


def _applies(rule: EvaluationRule, programme_session: ProgrammeSession) -> bool:
    return (
        not rule.session_kind or rule.session_kind.casefold() == programme_session.kind.casefold()
    )


def _attended(session: Session, programme_session: ProgrammeSession) -> list[Participant]:
    return list(
        session.scalars(
            select(Participant)
            .join(Attendance, Attendance.participant_id == Participant.id)
            .where(
                Attendance.session_id == programme_session.id,
                Attendance.attended.is_(True),
                Participant.withdrawn_at.is_(None),
            )
            .order_by(Participant.id_number)
        )
    )


def _register_kept(session: Session, programme_session: ProgrammeSession) -> bool:
    return (
        session.scalar(
            select(Attendance.session_id)
            .where(Attendance.session_id == programme_session.id)
            .limit(1)
        )
        is not None
    )


def people_to_ask(
    session: Session, rule: EvaluationRule, programme_session: ProgrammeSession
) -> list[Participant]:
    """Who the rule asks about the session: those the register says came, or those expected."""
    if rule.audience == "attended":
        return _attended(session, programme_session)
    return [
        person
        for person in expected_participants(session, programme_session)
        if person.withdrawn_at is None
    ]


def wave_label(facts: SessionFacts) -> str:
    group = f", {facts.group}" if facts.group else ""
    return f"{facts.kind_name}{group}, {facts.day.day} {facts.day:%B %Y}: evaluation"


def make_due_waves(session: Session, *, now: datetime, zone: str = UK) -> MadeWaves:
    """Make the wave of every session whose evaluation is due and not yet closed.

    Safe to run at any time, as often as wanted, on as many machines: each session gets
    one wave (see the module's note).
    """
    report = MadeWaves()
    rules = session.scalars(
        select(EvaluationRule)
        .where(EvaluationRule.stopped_at.is_(None))
        .order_by(EvaluationRule.id)
    ).all()
    if not rules:
        return report
    versions = catalogue.latest_versions(session)
    has_wave = set(session.scalars(select(Wave.session_id).where(Wave.session_id.is_not(None))))
    for rule in rules:
        candidates = session.scalars(
            select(ProgrammeSession)
            .where(ProgrammeSession.programme_id == rule.programme_id)
            .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
        ).all()
        for programme_session in candidates:
            if programme_session.id in has_wave or not _applies(rule, programme_session):
                continue
            opens_at = opening_of(rule, programme_session)
            closes_at = opens_at + timedelta(days=rule.open_days)
            if opens_at > now or closes_at <= now:
                continue
            version = versions.get(rule.questionnaire_key)
            if version is None:
                report.problems.append(
                    f"{rule.programme.name}: the questionnaire “{rule.questionnaire_key}” of the "
                    "evaluation after each session is not loaded (withdrawn?), so no wave was "
                    "made. Choose another on the programme's evaluation page."
                )
                break
            if rule.audience == "attended" and not _register_kept(session, programme_session):
                report.waiting.append(programme_session)
                continue
            wave = _make_wave(
                session, rule, programme_session, version, opens_at, closes_at, now, zone
            )
            has_wave.add(programme_session.id)
            if wave is None:
                report.raced += 1
            else:
                report.made.append(wave)
    report.invited_late = invite_late_attenders(session, now=now)
    return report


def _make_wave(session, rule, programme_session, version, opens_at, closes_at, now, zone):
    facts = session_facts(session, programme_session, zone)
    people = people_to_ask(session, rule, programme_session)
    try:
        with session.begin_nested():
            wave = Wave(
                programme_id=rule.programme_id,
                questionnaire_version=version,
                label=wave_label(facts),
                opens_at=opens_at,
                closes_at=closes_at,
                privacy=rule.privacy,
                target_rate=rule.target_rate,
                audience={},
                created_at=now,
                session_id=programme_session.id,
                evaluation_rule_id=rule.id,
            )
            session.add(wave)
            session.flush()
            for person in people:
                session.add(Invitation(wave=wave, participant=person, token=new_token()))
            if rule.with_reminders:
                default_plan(session, wave, now=now)
            session.flush()
    except IntegrityError:
        # Another run made this session's wave first: it is the one.
        return None
    return wave


def invite_late_attenders(session: Session, *, now: datetime) -> int:
    """Invite people ticked on a register after their session's wave was made (while open)."""
    waves = session.scalars(
        select(Wave)
        .join(EvaluationRule, Wave.evaluation_rule_id == EvaluationRule.id)
        .where(
            Wave.session_id.is_not(None),
            EvaluationRule.audience == "attended",
            Wave.opens_at <= now,
            Wave.closes_at > now,
        )
    ).all()
    added = 0
    for wave in waves:
        invited = set(
            session.scalars(select(Invitation.participant_id).where(Invitation.wave_id == wave.id))
        )
        for person in _attended(session, session.get(ProgrammeSession, wave.session_id)):
            if person.id not in invited:
                session.add(Invitation(wave=wave, participant=person, token=new_token()))
                added += 1
    session.flush()
    return added
