"""A participant's progress through a wave: finding the link, saving answers, submitting.

Flask-free. The server owns the position: which page comes next is computed
from the definition and the stored answers, never taken from the request.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from surveyapp.errors import SurveyError
from surveyapp.models import Answer, DraftAnswer, Invitation, Response, Wave
from surveyapp.quality.bands import band_of
from surveyapp.questionnaires import Page, Questionnaire
from surveyapp.questionnaires.answers import describe, question_and_row
from surveyapp.respond import release


class AlreadyCompleted(SurveyError):
    """The answers were already submitted; nothing more is stored."""


class Incomplete(SurveyError):
    """A page still needs answers before the questionnaire can be submitted."""

    def __init__(self, page: Page) -> None:
        self.page = page
        super().__init__(f"The page {page.id!r} is not answered yet.")


#: What secrets.token_urlsafe makes; anything else is not a link of ours.
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


def find_invitation(session: Session, token: str) -> Invitation | None:
    """Return the invitation of a personal link, or None when the link is not active.

    A wrong token and a withdrawn person look the same to the caller.
    """
    if not token or len(token) > 64 or not _TOKEN.fullmatch(token):
        return None
    return _active(session, Invitation.token == token)


def invitation_by_id(session: Session, invitation_id: int) -> Invitation | None:
    """Return the invitation with this id while its link is active (the session's reference)."""
    return _active(session, Invitation.id == invitation_id)


def _active(session: Session, condition) -> Invitation | None:
    # One query for the invitation, its person and its wave: every participant page needs all three.
    invitation = session.scalar(
        select(Invitation)
        .where(condition)
        .options(
            joinedload(Invitation.participant),
            joinedload(Invitation.wave).joinedload(Wave.programme),
        )
    )
    if invitation is None or invitation.participant.is_withdrawn:
        return None
    return invitation


def link_state(invitation: Invitation, now: datetime) -> str:
    """Say where the link stands: "not_open", "closed", "completed" or "open"."""
    if invitation.is_completed:
        return "completed"
    if now < invitation.wave.opens_at:
        return "not_open"
    if now >= invitation.wave.closes_at:
        return "closed"
    return "open"


def mark_opened(invitation: Invitation, now: datetime) -> None:
    if invitation.opened_at is None:
        invitation.opened_at = now


#: A longer gap between two steps is a break (the person left and came back): not counted.
IDLE_LIMIT = timedelta(minutes=30)


def note_activity(invitation: Invitation, now: datetime) -> None:
    """Time the person's answering: called when a page is shown or sent, and on sending.

    The gap since the last step is added to ``active_seconds`` unless it is longer than
    ``IDLE_LIMIT`` (a break between visits), so the time taken runs from the first page
    shown to the send, summed over visits. An invitation begun before timing was recorded
    stays untimed (``active_seconds`` NULL).
    """
    if invitation.is_completed:
        return
    last = invitation.last_active_at
    if last is not None and invitation.active_seconds is not None:
        gap = now - last
        if timedelta(0) <= gap <= IDLE_LIMIT:
            invitation.active_seconds += int(gap.total_seconds())
    invitation.last_active_at = now


#: A page shown this soon after the last step (the redirect after a page is sent) is not
#: written down: that step already was, and the next one counts its time from there.
SHOWN_SOON_AFTER = timedelta(seconds=5)


def note_shown(invitation: Invitation, now: datetime) -> bool:
    """Note that a page is shown (:func:`note_activity`), unless it follows the last step at
    once; returns whether anything changed, so that a page shown that way writes nothing.

    Leaving such a moment out changes no time taken: the gap to the next step is measured
    from the step before it, one gap instead of two that add up to the same.
    """
    last = invitation.last_active_at
    if (
        not invitation.is_completed
        and last is not None
        and invitation.active_seconds is not None
        and timedelta(0) <= now - last < SHOWN_SOON_AFTER
    ):
        return False
    before = (invitation.last_active_at, invitation.active_seconds)
    note_activity(invitation, now)
    return before != (invitation.last_active_at, invitation.active_seconds)


def answers_of(session: Session, invitation: Invitation) -> dict[str, Any]:
    """Return the answers in progress, by answer id."""
    rows = session.execute(
        select(DraftAnswer.answer_id, DraftAnswer.value).where(
            DraftAnswer.invitation_id == invitation.id
        )
    )
    return {answer_id: value for answer_id, value in rows}


def is_page_answered(page: Page, answers: Mapping[str, Any]) -> bool:
    """A page is answered when every shown item has a stored value (blank optional ones too)."""
    return all(
        answer_id in answers
        for item in page.shown_items(answers)
        for answer_id in item.answer_ids()
        if answer_id != item.other_id
    )


def current_page(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> Page | None:
    """Return the first shown page not yet answered; None when all are (check answers next)."""
    for page in questionnaire.shown_pages(answers):
        if not is_page_answered(page, answers):
            return page
    return None


def may_show(questionnaire: Questionnaire, answers: Mapping[str, Any], page_id: str) -> bool:
    """Whether the participant may be on ``page_id``: a shown page up to the current one.

    Going back to change an answer is fine; skipping ahead by URL is not.
    """
    current = current_page(questionnaire, answers)
    for page in questionnaire.shown_pages(answers):
        if page.id == page_id:
            return True
        if current is not None and page.id == current.id:
            return False
    return False


def progress(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> tuple[int, int]:
    """Return (pages answered, pages to go through) given the answers so far.

    The one page count: stored on the invitation (``pages_done``, ``pages_total``) each
    time answers are kept, and read from there by the reminders' fields and the
    non-respondent list; :func:`page_place` gives the participant the same total.
    """
    pages = questionnaire.shown_pages(answers)
    return sum(1 for page in pages if is_page_answered(page, answers)), len(pages)


def page_place(
    questionnaire: Questionnaire, answers: Mapping[str, Any], page_id: str
) -> tuple[int, int]:
    """Return (x, y) for "Page x of y": where a page falls among those counted by
    :func:`progress`. A page not among them (a preview of one that does not apply) is 1."""
    pages = questionnaire.shown_pages(answers)
    position = next((number for number, page in enumerate(pages, 1) if page.id == page_id), 1)
    return position, len(pages)


def count_pages(invitation: Invitation, questionnaire: Questionnaire, answers) -> None:
    """Keep the invitation's page count (:func:`progress`) up to date with its answers."""
    invitation.pages_done, invitation.pages_total = progress(questionnaire, answers)


def page_version(page: Page, answers: Mapping[str, Any]) -> str:
    """A fingerprint of the stored answers of one page, sent with the page and back.

    A page posted with another fingerprint was opened before those answers changed
    (a second tab, another device): :func:`changes_since` says what it would replace.
    """
    ids = [answer_id for item in page.items for answer_id in item.answer_ids()]
    stored = {answer_id: answers[answer_id] for answer_id in ids if answer_id in answers}
    text = json.dumps(stored, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def changes_since(
    page: Page, answers: Mapping[str, Any], version: str | None, values: Mapping[str, Any]
) -> list[tuple[str, str, str, str]]:
    """What a post from a page opened at ``version`` would replace, saved since elsewhere.

    Returns (answer id, question, saved answer, answer on this page) for each answer
    that differs; empty when the page is current (or carries no version, as a page
    opened before versions were sent) or when both say the same.
    """
    if not version or version == page_version(page, answers):
        return []
    changes = []
    for item in page.shown_items({**answers, **values}):
        rows = [(row.id, question_and_row(item.text, row.text)) for row in item.rows or ()]
        if item.type != "matrix":
            rows = [(item.id, item.text or f"{item.left} / {item.right}")]
            if item.other is not None:
                rows.append((item.other_id, f"{item.text} (other)"))
        for answer_id, question in rows:
            saved, typed = answers.get(answer_id), values.get(answer_id)
            if saved != typed and answer_id in values:
                if answer_id == item.other_id:
                    changes.append((answer_id, question, str(saved or ""), str(typed or "")))
                else:
                    changes.append(
                        (answer_id, question, describe(item, saved), describe(item, typed))
                    )
    return changes


def record_answers(
    session: Session,
    invitation: Invitation,
    questionnaire: Questionnaire,
    values: Mapping[str, Any],
    *,
    now: datetime,
    earlier: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Store one page's answers as the draft, and return all answers so far.

    ``earlier`` is the draft the caller already read, which saves reading it again.

    Each answer is an upsert on (invitation, answer id), so a double click, a
    second tab or two servers at once store one row per answer, never two.

    :raises AlreadyCompleted: when the answers were already submitted.
    """
    if invitation.is_completed:
        raise AlreadyCompleted()
    note_activity(invitation, now)
    _upsert_drafts(session, invitation, values, now)
    answers = {**earlier, **values} if earlier is not None else answers_of(session, invitation)
    if invitation.started_at is None:
        invitation.started_at = now
    count_pages(invitation, questionnaire, answers)
    session.flush()
    return answers


def save_text_draft(
    session: Session, invitation: Invitation, item_id: str, text: str, *, now: datetime
) -> None:
    """Keep a long text while it is being typed, before the page is sent.

    An emptied box removes the draft, so the page still counts as not answered.
    """
    if invitation.is_completed:
        raise AlreadyCompleted()
    note_activity(invitation, now)
    if text:
        _upsert_drafts(session, invitation, {item_id: text}, now)
    else:
        session.execute(
            delete(DraftAnswer).where(
                DraftAnswer.invitation_id == invitation.id, DraftAnswer.answer_id == item_id
            )
        )


def _upsert_drafts(
    session: Session, invitation: Invitation, values: Mapping[str, Any], now: datetime
) -> None:
    if not values:
        return
    rows = [
        {"invitation_id": invitation.id, "answer_id": key, "value": value, "updated_at": now}
        for key, value in values.items()
    ]
    # One statement per dialect, with the rows as parameters, so SQLAlchemy compiles it once.
    session.execute(_UPSERTS[session.get_bind().dialect.name], rows)


def _upsert_statement(insert):
    statement = insert(DraftAnswer)
    return statement.on_conflict_do_update(
        index_elements=["invitation_id", "answer_id"],
        set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
    )


_UPSERTS = {
    "postgresql": _upsert_statement(postgresql_insert),
    "sqlite": _upsert_statement(sqlite_insert),
}


def submit(
    session: Session, invitation: Invitation, questionnaire: Questionnaire, *, now: datetime
) -> None:
    """Turn the draft into a response, once.

    Only answers to items that apply are kept, and the draft is deleted. In an
    identified wave the response is released at once and the invitation keeps the
    time. In an anonymous wave the response carries team, organisation, region and
    role, a random key and no time; it is held back until enough have come in
    (``release.add_anonymous_response``), and the invitation keeps only the day
    (``completed_on``; opening and starting keep their day too, at midnight), so
    nothing links the answers to the person. The time taken goes with the response:
    in seconds in an identified wave, as a band only in an anonymous one (whose
    invitation then forgets its seconds).

    :raises Incomplete: when a shown page is not answered yet.
    :raises AlreadyCompleted: when the answers were already submitted (a replay
        or a second tab); the first submission stands.
    """
    answers = answers_of(session, invitation)
    missing = current_page(questionnaire, answers)
    if missing is not None:
        # A send that just won in another tab deletes the draft: that is not "incomplete".
        session.refresh(invitation, ["completed_on"])
        if invitation.is_completed:
            raise AlreadyCompleted()
        raise Incomplete(missing)
    wave = invitation.wave
    note_activity(invitation, now)
    seconds = invitation.active_seconds
    # The time taken goes with the response; the invitation keeps no time of the visit.
    completion: dict[str, Any] = {"completed_on": now.date(), "last_active_at": None}
    if wave.is_anonymous:
        # The days of opening and starting stay (the dashboard counts them), not their times:
        # a start minutes before the end would tell when the person finished.
        for name in ("opened_at", "started_at"):
            moment = getattr(invitation, name)
            if moment is not None:
                completion[name] = datetime.combine(moment.date(), time())
        # Its band is in the response: the seconds beside it would tell whose it is.
        completion["active_seconds"] = None
    else:
        completion["completed_at"] = now
    # The guarded update is the lock: of two concurrent submissions exactly one wins.
    won = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.completed_on.is_(None))
        .values(**completion)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:
        raise AlreadyCompleted()
    for name, value in completion.items():
        set_committed_value(invitation, name, value)
    person = invitation.participant
    group = {
        "team": person.team,
        "organisation": person.organisation,
        "region": person.region,
        "role": person.role,
    }
    kept = questionnaire.relevant_answers(answers)
    session.execute(delete(DraftAnswer).where(DraftAnswer.invitation_id == invitation.id))
    session.expire(invitation, ["drafts"])
    if wave.is_anonymous:
        release.add_anonymous_response(
            session, wave, group=group, answers=kept, time_band=band_of(seconds)
        )
        return
    response = Response(
        id=uuid.uuid4().hex,
        wave_id=wave.id,
        questionnaire_version_id=wave.questionnaire_version_id,
        participant_id=person.id,
        release=release.RELEASED_AT_ONCE,
        seconds_taken=seconds,
        time_band=band_of(seconds),
        **group,
    )
    session.add(response)
    session.add_all(
        Answer(response=response, answer_id=key, value=value) for key, value in kept.items()
    )
    session.flush()
