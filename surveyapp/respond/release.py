"""Anonymous waves release their answers in steps and keep no order of submission.

Flask-free. Without this, one late answer to an anonymous wave adds one row to the
export while the dashboard and the non-respondent list show who has just finished:
the row is that person's. So:

- **Release in steps.** A response sent to an anonymous wave is held back
  (``Response.release`` is NULL) until the wave's held responses number at least the
  programme's reporting threshold; then they are released together, as the next step
  (1, 2, …). Results and exports read released responses only, for every role, so
  they change only in steps of at least the threshold: each new step is one of at
  least that many people who finished since the last. Identified waves release each
  response as it is sent (step 0): their answers carry the ID number anyway.
- **At close** the held remainder stays held: fewer than the threshold came in after
  the last step, and releasing them would show those few answers apart. The results
  pages say so.
- **No order.** Each submission writes the wave's held responses again, deleted and
  inserted under new random keys in a random order, the new one among them, so
  neither SQLite's storage nor PostgreSQL's physical order follows submission order
  (on SQLite the tables have no rowid at all; see ``Response``). Released responses
  are not written again: within a step they are in random order already.

The invitation keeps only the day the person finished (``Invitation.completed_on``),
never the time, so no time links it to a response either.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from typing import Any, NamedTuple

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from surveyapp.models import Answer, Response, Wave

#: ``Response.release`` of an identified wave's responses: released as they are sent.
RELEASED_AT_ONCE = 0
#: Shuffles held responses; the operating system's randomness, as the keys use.
_SHUFFLE = random.SystemRandom()


class ReleaseStatus(NamedTuple):
    """How many of a wave's responses results show, how many are held back, and the step."""

    released: int
    held: int
    threshold: int

    @property
    def needed(self) -> int:
        """How many more responses release the held ones (at least the next one)."""
        return max(1, self.threshold - self.held)


def release_status(session: Session, wave: Wave) -> ReleaseStatus:
    """Count the wave's released and held responses: one query.

    The threshold is the step of an anonymous wave: the programme's reporting threshold.
    """
    total, released = session.execute(
        select(func.count(Response.id), func.count(Response.release)).where(
            Response.wave_id == wave.id
        )
    ).one()
    return ReleaseStatus(released, total - released, wave.programme.reporting_threshold)


def release_sentence(status: ReleaseStatus, *, closed: bool) -> str:
    """Say, for the results pages of an anonymous wave, what they show and when that changes."""
    shown = f"Results show {status.released} response{'' if status.released == 1 else 's'}."
    rule = (
        f"results of an anonymous wave change only in steps of {status.threshold} responses, "
        "so that no one answer can be told apart"
    )
    if not status.held:
        then = " The wave has closed." if closed else ""
        return f"{shown}{then} {rule[0].upper()}{rule[1:]}."
    one = status.held == 1
    held = (
        f"{status.held} more {'has' if one else 'have'} come in and "
        f"{'is' if one else 'are'} held back: {rule}."
    )
    if closed:
        # Fewer than the threshold, unless the threshold was lowered after the wave closed.
        why = (
            f": fewer than {status.threshold} came in after the last step"
            if status.held < status.threshold
            else " before the next response"
        )
        return (
            f"{shown} {held} The wave has closed, so {'it' if one else 'they'} will not be "
            f"added{why}."
        )
    needed = status.needed
    return (
        f"{shown} {held} {'It' if one else 'They'} will be added when {needed} more "
        f"{'has' if needed == 1 else 'have'} come in."
    )


def add_anonymous_response(
    session: Session,
    wave: Wave,
    *,
    group: Mapping[str, str],
    answers: Mapping[str, Any],
    time_band: int | None = None,
) -> int | None:
    """Store one response of an anonymous wave among the held ones; release them when enough.

    ``group`` is the person's team, organisation, region and role; ``answers`` their
    answers by answer id; ``time_band`` the band of the time they took (a duration, never
    a moment: ``quality.bands``). The wave's held responses, this one among them, are written
    again in a random order under new random keys. Returns the step released now, or
    None when they stay held.
    """
    # One submission at a time per wave: two rewrites at once would each copy the held rows.
    session.execute(select(Wave.id).where(Wave.id == wave.id).with_for_update())
    held_rows = session.execute(
        select(
            Response.id,
            Response.questionnaire_version_id,
            Response.team,
            Response.organisation,
            Response.region,
            Response.role,
            Response.time_band,
        ).where(Response.wave_id == wave.id, Response.release.is_(None))
    ).all()
    held_ids = [row.id for row in held_rows]
    held_answers: dict[str, dict[str, Any]] = {key: {} for key in held_ids}
    if held_ids:
        for response_id, answer_id, value in session.execute(
            select(Answer.response_id, Answer.answer_id, Answer.value).where(
                Answer.response_id.in_(held_ids)
            )
        ):
            held_answers[response_id][answer_id] = value
        # Answers first: SQLite enforces ON DELETE CASCADE only with foreign keys switched on.
        session.execute(delete(Answer).where(Answer.response_id.in_(held_ids)))
        session.execute(delete(Response).where(Response.id.in_(held_ids)))
    fields = ("team", "organisation", "region", "role", "time_band")
    responses = [
        (
            {
                "questionnaire_version_id": row.questionnaire_version_id,
                **{name: getattr(row, name) for name in fields},
            },
            held_answers[row.id],
        )
        for row in held_rows
    ]
    responses.append(
        (
            {
                "questionnaire_version_id": wave.questionnaire_version_id,
                **{name: group.get(name, "") for name in fields[:4]},
                "time_band": time_band,
            },
            dict(answers),
        )
    )
    step = None
    if len(responses) >= wave.programme.reporting_threshold:
        last = session.scalar(select(func.max(Response.release)).where(Response.wave_id == wave.id))
        step = (last or 0) + 1
    _SHUFFLE.shuffle(responses)
    response_rows, answer_rows = [], []
    for values, stored in responses:
        key = uuid.uuid4().hex
        response_rows.append(
            {"id": key, "wave_id": wave.id, "participant_id": None, "release": step, **values}
        )
        answer_rows.extend(
            {"response_id": key, "answer_id": answer_id, "value": value}
            for answer_id, value in stored.items()
        )
    _SHUFFLE.shuffle(answer_rows)
    session.execute(insert(Response), response_rows)
    if answer_rows:
        session.execute(insert(Answer), answer_rows)
    session.flush()
    return step
