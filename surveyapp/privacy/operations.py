"""Data protection: what is held about one person, erasing it, and the retention date (Flask-free).

Three things, each the whole of its rule:

- ``subject_access`` gathers everything held about one participant (their
  details, every wave they were invited to, their answers in identified waves
  in words, every email written to them) and ``package`` writes it as a ZIP of
  a readable HTML page and a JSON file;
- ``erase`` removes a person's contact details and identified answers at their
  request, keeping the invitation rows so every count stays right;
- ``apply_retention`` removes the contact details of everyone in a programme
  whose retention date has passed, keeping ID numbers and answers.

The caller owns the transaction: these functions flush, never commit.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, joinedload

from surveyapp.models import (
    Answer,
    DraftAnswer,
    Invitation,
    Message,
    Participant,
    QuestionnaireVersion,
    Response,
    Wave,
)
from surveyapp.people.roster import erasure_marker
from surveyapp.questionnaires import Questionnaire
from surveyapp.questionnaires.answers import describe, summary
from surveyapp.questionnaires.model import is_answered
from surveyapp.timezones import to_local

#: A personal link in an email: the file must not let whoever holds it answer as the person.
_TOKEN_IN_LINK = re.compile(r"/r/[A-Za-z0-9_-]+")
#: Why a queued email was not sent, as the outbox shows it.
NOT_SENT_REMOVED = "Not sent: their contact details were removed."
#: What replaces the person's name where it appeared in an email's subject.
NAME_REMOVED = "[name removed]"
ADDRESS_REMOVED = "[address removed]"
#: Messages in these states have not gone yet; removing the address cancels them.
UNSENT_STATES = ("queued", "failed")


# -- subject access -----------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerRow:
    """One question and the answer in words, with the stored value for the JSON file."""

    question: str
    answer: str
    answer_id: str
    value: Any


@dataclass(frozen=True)
class WaveRecord:
    """One wave the person was invited to, with how far they got and their answers."""

    wave: str
    questionnaire: str
    version: int
    privacy: str
    opens_at: datetime
    closes_at: datetime
    #: When the first email of the wave was sent to them; None if none was sent.
    invited_at: datetime | None
    opened_at: datetime | None
    started_at: datetime | None
    #: The time of sending, in identified waves; an anonymous wave keeps only the day.
    completed_at: datetime | None
    completed_on: date | None
    opted_out_at: datetime | None
    pages_done: int
    pages_total: int
    submitted: list[AnswerRow] = field(default_factory=list)
    draft: list[AnswerRow] = field(default_factory=list)

    @property
    def is_anonymous(self) -> bool:
        return self.privacy == "anonymous"


@dataclass(frozen=True)
class MessageRecord:
    """One email written to the person, as the outbox holds it."""

    wave: str
    step: str
    to_address: str
    subject: str
    body: str
    state: str
    queued_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class SubjectAccess:
    """Everything the platform holds about one participant."""

    programme: str
    run_by: str
    id_number: str
    #: (label, value) pairs, in the order a person reads them.
    details: list[tuple[str, str]]
    further: dict[str, str]
    withdrawn_at: datetime | None
    contact_removed_at: datetime | None
    erased_at: datetime | None
    created_at: datetime
    updated_at: datetime
    waves: list[WaveRecord]
    messages: list[MessageRecord]
    prepared_at: datetime

    @property
    def has_anonymous_waves(self) -> bool:
        return any(wave.is_anonymous for wave in self.waves)


def subject_access(
    session: Session,
    participant: Participant,
    *,
    now: datetime,
    questionnaire_of: Callable[[QuestionnaireVersion], Questionnaire],
) -> SubjectAccess:
    """Gather everything held about ``participant``; answers are written in words.

    :param questionnaire_of: the questionnaire of a stored version (a cache in the web app).
    """
    invitations = session.scalars(
        select(Invitation)
        .join(Wave, Invitation.wave_id == Wave.id)
        .where(Invitation.participant_id == participant.id)
        .options(joinedload(Invitation.wave).joinedload(Wave.questionnaire_version))
        .order_by(Wave.opens_at, Wave.id)
    ).all()
    first_sent = dict(
        session.execute(
            select(Message.invitation_id, func.min(Message.sent_at))
            .where(Message.invitation_id.in_([i.id for i in invitations]), Message.state == "sent")
            .group_by(Message.invitation_id)
        ).all()
    )
    responses = {
        response.wave_id: response
        for response in session.scalars(
            select(Response)
            .where(Response.participant_id == participant.id)
            .options(joinedload(Response.answers))
        ).unique()
    }
    drafts: dict[int, dict[str, Any]] = {}
    for invitation_id, answer_id, value in session.execute(
        select(DraftAnswer.invitation_id, DraftAnswer.answer_id, DraftAnswer.value).where(
            DraftAnswer.invitation_id.in_([i.id for i in invitations])
        )
    ):
        drafts.setdefault(invitation_id, {})[answer_id] = value

    waves = []
    for invitation in invitations:
        wave = invitation.wave
        version = wave.questionnaire_version
        questionnaire = questionnaire_of(version)
        response = responses.get(wave.id)
        submitted = []
        if response is not None:
            stored = {answer.answer_id: answer.value for answer in response.answers}
            response_questionnaire = (
                questionnaire
                if response.questionnaire_version_id == version.id
                else questionnaire_of(
                    session.get(QuestionnaireVersion, response.questionnaire_version_id)
                )
            )
            submitted = answers_in_words(response_questionnaire, stored)
        # An anonymous wave's answers in progress are never shown to staff: the person sees
        # them through their own link, and once sent nothing links them to the person.
        draft = (
            []
            if wave.is_anonymous
            else [
                row
                for row in answers_in_words(questionnaire, drafts.get(invitation.id, {}))
                if is_answered(row.value)
            ]
        )
        waves.append(
            WaveRecord(
                wave=wave.label,
                questionnaire=version.title,
                version=version.number,
                privacy=wave.privacy,
                opens_at=wave.opens_at,
                closes_at=wave.closes_at,
                invited_at=first_sent.get(invitation.id),
                opened_at=invitation.opened_at,
                started_at=invitation.started_at,
                completed_at=invitation.completed_at,
                completed_on=invitation.completed_on,
                opted_out_at=invitation.opted_out_at,
                pages_done=invitation.pages_done,
                pages_total=invitation.pages_total,
                submitted=submitted,
                draft=draft,
            )
        )

    messages = [
        MessageRecord(
            wave=message.invitation.wave.label,
            step=message.step.label,
            to_address=message.to_address,
            subject=message.subject,
            body=_TOKEN_IN_LINK.sub("/r/[link removed]", message.body),
            state=message.state,
            queued_at=message.queued_at,
            sent_at=message.sent_at,
        )
        for message in session.scalars(
            select(Message)
            .join(Invitation, Message.invitation_id == Invitation.id)
            .where(Invitation.participant_id == participant.id)
            .options(
                joinedload(Message.step),
                joinedload(Message.invitation).joinedload(Invitation.wave),
            )
            .order_by(Message.queued_at, Message.id)
        )
    ]
    programme = participant.programme
    return SubjectAccess(
        programme=programme.name,
        run_by=programme.run_by,
        id_number=participant.id_number,
        details=[
            ("ID number", participant.id_number),
            ("Name", participant.name),
            ("Email address", participant.email),
            ("Team", participant.team),
            ("Organisation", participant.organisation),
            ("Region", participant.region),
            ("Role", participant.role),
        ],
        further={str(key): str(value) for key, value in (participant.attributes or {}).items()},
        withdrawn_at=participant.withdrawn_at,
        contact_removed_at=participant.contact_removed_at,
        erased_at=participant.erased_at,
        created_at=participant.created_at,
        updated_at=participant.updated_at,
        waves=waves,
        messages=messages,
        prepared_at=now,
    )


def answers_in_words(questionnaire: Questionnaire, answers: dict[str, Any]) -> list[AnswerRow]:
    """Every shown question with its answer in words, then any other stored answer.

    An answer to a question that no longer applies (an earlier answer changed) is
    still held, so it is listed too, after the rest.
    """
    rows = [
        AnswerRow(row.question, row.answer, row.answer_id, answers.get(row.answer_id))
        for row in summary(questionnaire, answers)
    ]
    covered = {row.answer_id for row in rows}
    owners = {}
    for item in questionnaire.items():
        for answer_id in item.answer_ids():
            owners[answer_id] = item
    for row in rows:
        item = owners.get(row.answer_id)
        if item is not None:
            covered.update(item.answer_ids())
    for answer_id, value in answers.items():
        if answer_id in covered or not is_answered(value):
            continue
        item = owners.get(answer_id)
        if item is None:
            rows.append(AnswerRow(f"Answer “{answer_id}”", _plain(value), answer_id, value))
        elif answer_id == item.other_id:
            rows.append(AnswerRow(f"{item.text} (other)", str(value), answer_id, value))
        else:
            text = item.text or f"{item.left} / {item.right}"
            row_text = next((r.text for r in item.rows if r.id == answer_id), "")
            question = f"{text}: {row_text}" if row_text else text
            rows.append(AnswerRow(question, describe(item, value), answer_id, value))
    return rows


def _plain(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds") + "Z"


def as_json(access: SubjectAccess) -> str:
    """The same content as the readable page, as JSON (times in UTC, ISO 8601)."""

    def convert(value):
        if isinstance(value, datetime):
            return _iso(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, dict):
            return {key: convert(inner) for key, inner in value.items()}
        if isinstance(value, list | tuple):
            return [convert(inner) for inner in value]
        return value

    data = {
        "prepared_at": _iso(access.prepared_at),
        "programme": {"name": access.programme, "run_by": access.run_by},
        "participant": {
            **{label.lower().replace(" ", "_"): value for label, value in access.details},
            "further_details": access.further,
            "added_at": _iso(access.created_at),
            "last_changed_at": _iso(access.updated_at),
            "withdrawn_at": _iso(access.withdrawn_at),
            "contact_details_removed_at": _iso(access.contact_removed_at),
            "erased_at": _iso(access.erased_at),
        },
        "waves": [
            {
                **convert(
                    {k: v for k, v in asdict(wave).items() if k not in ("submitted", "draft")}
                ),
                "submitted_answers": (
                    "Not included: the answers of an anonymous wave are kept without any link "
                    "to the person, so they cannot be found."
                    if wave.is_anonymous
                    else [convert(asdict(row)) for row in wave.submitted]
                ),
                "answers_in_progress": [convert(asdict(row)) for row in wave.draft],
            }
            for wave in access.waves
        ],
        "emails": [convert(asdict(message)) for message in access.messages],
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def file_stem(access: SubjectAccess, zone: str) -> str:
    """``subject-access-<ID number>-<date>``: no name, only characters safe in any file system."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", access.id_number).strip("._") or "participant"
    return f"subject-access-{safe[:60]}-{to_local(access.prepared_at, zone):%Y-%m-%d}"


def package(access: SubjectAccess, html: str, *, zone: str) -> tuple[str, bytes]:
    """A ZIP of the readable page and the JSON file; return (file name, bytes)."""
    stem = file_stem(access, zone)
    buffer = io.BytesIO()
    stamp = to_local(access.prepared_at, zone).timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in ((f"{stem}.html", html), (f"{stem}.json", as_json(access))):
            info = zipfile.ZipInfo(f"{stem}/{name}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    return f"{stem}.zip", buffer.getvalue()


# -- removing contact details and erasing --------------------------------------------------


@dataclass(frozen=True)
class ErasurePlan:
    """What erasing one person removes, counted, and what stays."""

    responses: int
    answers: int
    drafts: int
    messages: int
    unsent_messages: int
    invitations: int
    anonymous_completed: int
    has_contact_details: bool


def _invitation_ids(session: Session, participant: Participant) -> list[int]:
    return list(
        session.scalars(select(Invitation.id).where(Invitation.participant_id == participant.id))
    )


def erasure_plan(session: Session, participant: Participant) -> ErasurePlan:
    """Count what ``erase`` would remove for this person, changing nothing."""
    invitation_ids = _invitation_ids(session, participant)
    response_ids = select(Response.id).where(Response.participant_id == participant.id)
    return ErasurePlan(
        responses=session.scalar(select(func.count()).select_from(response_ids.subquery())) or 0,
        answers=session.scalar(
            select(func.count()).select_from(Answer).where(Answer.response_id.in_(response_ids))
        )
        or 0,
        drafts=session.scalar(
            select(func.count())
            .select_from(DraftAnswer)
            .where(DraftAnswer.invitation_id.in_(invitation_ids))
        )
        or 0,
        messages=session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.invitation_id.in_(invitation_ids))
        )
        or 0,
        unsent_messages=session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.invitation_id.in_(invitation_ids), Message.state.in_(UNSENT_STATES))
        )
        or 0,
        invitations=len(invitation_ids),
        anonymous_completed=session.scalar(
            select(func.count())
            .select_from(Invitation)
            .join(Wave, Invitation.wave_id == Wave.id)
            .where(
                Invitation.participant_id == participant.id,
                Wave.privacy == "anonymous",
                Invitation.completed_on.is_not(None),
            )
        )
        or 0,
        has_contact_details=holds_contact_details(participant),
    )


def holds_contact_details(participant: Participant) -> bool:
    return bool(participant.name or participant.email or participant.attributes)


def _name_pattern(name: str) -> re.Pattern | None:
    """Whole-word matches of the full name and of each part of it (two letters or more)."""
    parts = sorted({name.strip(), *name.split()} - {""}, key=len, reverse=True)
    parts = [part for part in parts if len(part) >= 2]
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(part) for part in parts) + r")(?!\w)")


@dataclass
class MessageCounts:
    blanked: int = 0
    cancelled: int = 0


def _scrub_messages(
    session: Session, participant: Participant, invitation_ids: list[int], *, now: datetime
) -> MessageCounts:
    """Blank the address and body of every email to the person; cancel what has not gone."""
    counts = MessageCounts()
    if not invitation_ids:
        return counts
    name = _name_pattern(participant.name)
    for message in session.scalars(
        select(Message).where(Message.invitation_id.in_(invitation_ids))
    ):
        changed = False
        if message.state in UNSENT_STATES:
            message.state, message.last_error = "cancelled", NOT_SENT_REMOVED
            message.next_attempt_at = None
            counts.cancelled += 1
            changed = True
        if message.to_address or message.body:
            message.to_address, message.body = "", ""
            changed = True
        if name is not None and name.search(message.subject):
            message.subject = name.sub(NAME_REMOVED, message.subject)
            changed = True
        if participant.email and participant.email in (message.last_error or ""):
            message.last_error = message.last_error.replace(participant.email, ADDRESS_REMOVED)
            changed = True
        counts.blanked += changed
    return counts


def remove_contact_details(
    session: Session, participant: Participant, *, now: datetime
) -> MessageCounts:
    """Remove name, email and further columns, and the same from their emails; keep the rest.

    The ID number, team, organisation, region, role and answers stay. Emails not sent
    yet are cancelled, and nobody without an address is queued again.
    """
    counts = _scrub_messages(session, participant, _invitation_ids(session, participant), now=now)
    participant.name, participant.email, participant.attributes = "", "", {}
    if participant.contact_removed_at is None:
        participant.contact_removed_at = now
    participant.updated_at = now
    session.flush()
    return counts


def erase(session: Session, participant: Participant, *, now: datetime, key: bytes) -> ErasurePlan:
    """Erase a person at their request; return what was removed. It cannot be undone.

    Removed: name, email, further columns, the ID number (replaced by a marker),
    identified responses and their answers, answers in progress, the address, body
    and name of every email to them, and their links (fresh random tokens). Kept: the
    invitation rows with their dates, so invited and completed counts stay right;
    team, organisation, region and role; anonymous answers, which nothing links to them.
    They are withdrawn, so nobody chases them.
    """
    plan = erasure_plan(session, participant)
    invitation_ids = _invitation_ids(session, participant)
    response_ids = list(
        session.scalars(select(Response.id).where(Response.participant_id == participant.id))
    )
    if response_ids:
        # Answers first: SQLite enforces ON DELETE CASCADE only with foreign keys switched on.
        session.execute(delete(Answer).where(Answer.response_id.in_(response_ids)))
        session.execute(delete(Response).where(Response.id.in_(response_ids)))
    if invitation_ids:
        session.execute(delete(DraftAnswer).where(DraftAnswer.invitation_id.in_(invitation_ids)))
        for invitation in session.scalars(
            select(Invitation).where(Invitation.id.in_(invitation_ids))
        ):
            invitation.token = secrets.token_urlsafe(16)
    session.flush()
    remove_contact_details(session, participant, now=now)
    participant.id_number = erasure_marker(key, participant.programme_id, participant.id_number)
    participant.erased_at = now
    if participant.withdrawn_at is None:
        participant.withdrawn_at = now
    session.flush()
    return plan
