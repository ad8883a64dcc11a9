"""Scale scores from a wave's stored answers and its questionnaire's definition.

Flask-free: functions take the SQLAlchemy session or plain values; pandas does
the arithmetic. One query loads a wave's answers as a long table (one row per
answer), and every score is computed column-wise from it, never person by
person.

How a score is made (see ``scale_scores``):

- Each answer becomes a point score. Likert items and matrix rows whose option
  codes are all whole numbers score their code; items with text codes score the
  position of the option (1, 2, 3 …). Bipolar items score their position,
  1 (nearest the left statement) to ``points``. Number items score the number.
- Reverse-coded items score ``lowest + highest - score`` over the item's own
  points (a 1..5 Likert item turns 2 into 4; a 5-point bipolar item
  ``points + 1 - position``).
- "Not applicable", a blank optional answer, an item not shown and anything
  that is not one of the item's points count as not answered.
- A score exists only when at least ``min_answered`` of the scale's items are
  answered (the file's default is all of them).
- ``mean``: the mean of the answered items.
- ``sum``: with every item answered, the plain sum. When ``min_answered``
  allows gaps, the mean of the answered items times the number of items (a
  prorated sum), so a skipped item does not lower a person's total and totals
  stay comparable between people. A sum scale that must not be prorated keeps
  the default ``min_answered`` (all items).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from surveyapp.models import Answer, Participant, Response, Wave
from surveyapp.questionnaires import Item, Questionnaire, Row, Scale

#: Fields copied onto every response from the cohort: what results are broken down by.
GROUP_FIELDS = ("team", "organisation", "region", "role")
#: Columns of the long table ``load_answers`` returns, in order.
ANSWER_COLUMNS = ("response_id", "id_number", *GROUP_FIELDS, "answer_id", "value")
#: Item types whose answers are free text a participant typed.
TEXT_TYPES = frozenset({"short_text", "long_text"})


#: Answers fetched from the database per batch (and per progress report) by ``load_answers``.
BATCH = 100_000

#: ``progress(done, total)``: how many answers ``load_answers`` has read so far, of how many.
LoadProgress = Callable[[int, int], None]


def load_answers(
    session: Session, wave: Wave, *, progress: LoadProgress | None = None
) -> pd.DataFrame:
    """Load every released answer of a wave, one row per answer.

    An anonymous wave's responses held back until the next step (``respond/release.py``)
    are left out, for every reader.

    Columns: ``response_id``, ``id_number`` (None in anonymous waves), ``team``,
    ``organisation``, ``region``, ``role``, ``answer_id`` and ``value`` (the stored
    JSON value: a code, a list of codes, a number, a text or None). A response
    with no stored answer at all appears once, with ``answer_id`` None. Rows are
    sorted by response, then answer id. Names and emails are never read.

    Lean on purpose, as a wave can hold millions of answers: the responses are
    read once (not once per answer), the answers as plain tuples in batches of
    ``BATCH`` with the JSON as text, and each distinct text is parsed once. Every
    repeated string (a response id, an answer id, a team) is one Python object
    shared by its rows, so a row costs little more than its eight pointers.
    Equal values are shared objects too: treat the ``value`` column as read-only.

    :param progress: called after each batch with the answers read so far and the
        total (and once at the start, with 0).
    """
    people = session.execute(
        select(
            Response.id,
            Participant.id_number,
            Response.team,
            Response.organisation,
            Response.region,
            Response.role,
        )
        .select_from(Response)
        .outerjoin(Participant, Participant.id == Response.participant_id)
        .where(Response.wave_id == wave.id, Response.release.is_not(None))
        .order_by(Response.id)
    ).all()
    in_wave = select(Response.id).where(Response.wave_id == wave.id, Response.release.is_not(None))
    total = 0
    if progress is not None:
        total = session.scalar(
            select(func.count()).select_from(Answer).where(Answer.response_id.in_(in_wave))
        )
        progress(0, total)
    statement = select(Answer.response_id, Answer.answer_id, cast(Answer.value, Text)).where(
        Answer.response_id.in_(in_wave)
    )
    known = pd.Index([row[0] for row in people])
    answer_ids: dict[str, int] = {}
    texts: dict[str | None, int] = {}
    owners, which, values = [], [], []
    done = 0
    for batch in _raw_batches(session, statement):
        ids, names, raw = zip(*batch, strict=True)
        owners.append(known.get_indexer(ids))
        which.append(_codes(names, answer_ids))
        values.append(_codes(raw, texts))
        done += len(batch)
        if progress is not None:
            progress(done, max(total, done))
    return _assemble(people, answer_ids, texts, owners, which, values)


def _raw_batches(session: Session, statement) -> Iterator[list[tuple]]:
    """Run a query on the session's own connection, without SQLAlchemy's rows: plain tuples.

    The statement's only parameters are whole numbers (a wave id), so they are written
    into the SQL. PostgreSQL streams the rows through a server-side cursor.
    """
    session.flush()
    connection = session.connection()
    sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
    dbapi = connection.connection.dbapi_connection
    if connection.dialect.name == "postgresql":
        cursor = dbapi.cursor(name=f"load_answers_{secrets.token_hex(4)}")
        cursor.itersize = BATCH
    else:
        cursor = dbapi.cursor()
    try:
        cursor.execute(sql)
        while batch := cursor.fetchmany(BATCH):
            yield batch
    finally:
        cursor.close()


def _codes(values: tuple, codes: dict) -> np.ndarray:
    """Number each value by ``codes`` (adding new ones), so that rows share one object."""
    local, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    mapped = np.array([codes.setdefault(value, len(codes)) for value in uniques], np.int64)
    if (local < 0).any():  # SQL NULL: its own code
        mapped = np.append(mapped, codes.setdefault(None, len(codes)))
    return mapped[local]


def _assemble(people, answer_ids, texts, owners, which, values) -> pd.DataFrame:
    """Build the sorted long table from integer codes: one row per answer, empty responses once."""
    owner = np.concatenate(owners) if owners else np.empty(0, np.int64)
    item = np.concatenate(which) if which else np.empty(0, np.int64)
    text = np.concatenate(values) if values else np.empty(0, np.int64)
    # Responses without any answer get one row, with no answer id (code -1).
    empty = np.setdiff1d(np.arange(len(people)), owner)
    owner = np.concatenate([owner, empty])
    item = np.concatenate([item, np.full(len(empty), -1)])
    text = np.concatenate([text, np.full(len(empty), -1)])
    # Sort by response, then answer id (by its text, as the database would).
    names = sorted(answer_ids)
    rank = np.empty(len(answer_ids) + 1, np.int64)
    rank[[answer_ids[name] for name in names]] = np.arange(len(names))
    rank[-1] = -1
    order = np.lexsort((rank[item], owner))
    owner, item, text = owner[order], item[order], text[order]

    def shared(objects: list) -> np.ndarray:
        array = np.empty(len(objects) + 1, dtype=object)  # the last one stands for "none"
        for place, value in enumerate(objects):
            array[place] = value
        return array

    columns = {"response_id": shared([row[0] for row in people])[owner]}
    for place, name in enumerate(("id_number", *GROUP_FIELDS), start=1):
        columns[name] = shared([row[place] for row in people])[owner]
    by_code = sorted(answer_ids, key=answer_ids.get)
    columns["answer_id"] = shared(by_code)[item]
    parsed = [None if raw is None else json.loads(raw) for raw in sorted(texts, key=texts.get)]
    columns["value"] = shared(parsed)[text]
    frame = pd.DataFrame({name: pd.Series(columns[name], dtype=object) for name in ANSWER_COLUMNS})
    for field in GROUP_FIELDS:
        frame[field] = frame[field].where(frame[field].notna(), "")
    return frame


def answers_frame(rows: Iterable[tuple]) -> pd.DataFrame:
    """Build the long answer table from tuples in ``ANSWER_COLUMNS`` order (tests use it too)."""
    rows = list(rows)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(ANSWER_COLUMNS)
    frame = pd.DataFrame(
        {
            name: pd.Series(list(values), dtype=object)
            for name, values in zip(ANSWER_COLUMNS, columns, strict=True)
        }
    )
    for field in GROUP_FIELDS:
        frame[field] = frame[field].where(frame[field].notna(), "")
    return frame


def response_frame(answers: pd.DataFrame) -> pd.DataFrame:
    """One row per response, indexed by ``response_id``: ``id_number`` and the group fields."""
    people = answers.drop_duplicates("response_id").set_index("response_id")
    return people[["id_number", *GROUP_FIELDS]]


# -- what each answer id is --------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """What one answer id holds: an item's answer, a matrix row's, or an "other" text."""

    answer_id: str
    item: Item
    row: Row | None = None
    is_other_text: bool = False


def answer_slots(questionnaire: Questionnaire) -> dict[str, Slot]:
    """Map every answer id of a questionnaire to its item, in questionnaire order."""
    slots: dict[str, Slot] = {}
    for item in questionnaire.items():
        if item.type == "matrix":
            for row in item.rows:
                slots[row.id] = Slot(row.id, item, row)
            continue
        slots[item.id] = Slot(item.id, item)
        if item.other is not None:
            slots[item.other_id] = Slot(item.other_id, item, is_other_text=True)
    return slots


def point_scores(item: Item) -> dict:
    """Return the score of each point of a Likert, matrix or bipolar item, by code.

    Whole-number codes score themselves; text codes score their position (1, 2 …).
    "Not applicable" is not a point and has no score.
    """
    points = item.point_values()
    if all(isinstance(code, int) and not isinstance(code, bool) for code in points):
        return {code: float(code) for code in points}
    return {code: float(position) for position, code in enumerate(points, start=1)}


def item_scores(answers: pd.DataFrame, questionnaire: Questionnaire) -> pd.DataFrame:
    """Score every answer to a scorable item: columns response_id, answer_id, score, low, high.

    ``low`` and ``high`` are the item's lowest and highest point (NaN for number
    items), used to reverse-code. Answers that are not points have a NaN score.
    """
    slots = answer_slots(questionnaire)
    coded = {
        answer_id: slot.item
        for answer_id, slot in slots.items()
        if slot.item.type in ("likert", "bipolar", "matrix") and not slot.is_other_text
    }
    numbers = [aid for aid, slot in slots.items() if slot.item.type == "number"]
    table = pd.DataFrame(
        [
            (answer_id, str(code), score, min(points.values()), max(points.values()))
            for answer_id, item in coded.items()
            for points in [point_scores(item)]
            for code, score in points.items()
        ],
        columns=["answer_id", "key", "score", "low", "high"],
    )
    parts = []
    chosen = answers.loc[
        answers["answer_id"].isin(list(coded)), ["response_id", "answer_id", "value"]
    ]
    if len(chosen):
        chosen = chosen.assign(key=chosen["value"].astype(str))
        merged = chosen.merge(table, on=["answer_id", "key"], how="left")
        parts.append(merged[["response_id", "answer_id", "score"]])
    counted = answers.loc[answers["answer_id"].isin(numbers), ["response_id", "answer_id", "value"]]
    if len(counted):
        # Anything that is not a number (a list, a text) becomes NaN: not answered.
        score = pd.to_numeric(counted["value"], errors="coerce").astype(float)
        parts.append(counted[["response_id", "answer_id"]].assign(score=score))
    if not parts:
        scored = pd.DataFrame({"response_id": [], "answer_id": [], "score": []})
        scored = scored.astype({"response_id": object, "answer_id": object, "score": float})
    else:
        scored = pd.concat(parts, ignore_index=True)
    bounds = table.drop_duplicates("answer_id").set_index("answer_id")[["low", "high"]]
    return scored.join(bounds, on="answer_id")


# -- scales ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleInfo:
    """A scale as a reader of its scores needs it: range and which end is positive."""

    id: str
    label: str
    method: str
    items: tuple[str, ...]
    reverse: tuple[str, ...]
    min_answered: int
    #: The lowest and highest possible score, when every item has the same points.
    low: float | None
    high: float | None
    #: "low" when low scores are the positive end (bipolar items whose positive
    #: statement is on the left), "high" when high scores are; None when the
    #: items do not say (Likert and number items) or disagree.
    positive_end: str | None

    @property
    def is_prorated(self) -> bool:
        """A sum whose ``min_answered`` allows missing items: mean of those answered × items."""
        return self.method == "sum" and self.min_answered < len(self.items)

    def describe(self) -> str:
        """Say in words how the score is made, for labels and codebooks."""
        count = len(self.items)
        if self.is_prorated:
            text = (
                f"prorated sum of {count} items: the mean of the answered items × {count} "
                f"when some are missing; at least {self.min_answered} answered"
            )
        else:
            how = "mean" if self.method == "mean" else "sum"
            text = f"{how} of {count} items, at least {self.min_answered} answered"
        if self.reverse:
            text += f", {len(self.reverse)} reverse-coded"
        if self.positive_end == "low":
            text += "; lower is more positive"
        elif self.positive_end == "high":
            text += "; higher is more positive"
        return text


def scale_info(questionnaire: Questionnaire) -> list[ScaleInfo]:
    """Describe every scale of a questionnaire, in file order."""
    slots = answer_slots(questionnaire)
    return [_info(scale, slots) for scale in questionnaire.scales]


def _info(scale: Scale, slots: dict[str, Slot]) -> ScaleInfo:
    bounds = set()
    ends = set()
    for answer_id in scale.items:
        item = slots[answer_id].item
        if item.type == "number":
            bounds.add((item.min, item.max))
            ends.add(None)
            continue
        points = point_scores(item)
        bounds.add((min(points.values()), max(points.values())))
        if item.type != "bipolar":
            ends.add(None)
            continue
        end = "low" if item.positive == "left" else "high"
        if answer_id in scale.reverse:
            end = "high" if end == "low" else "low"
        ends.add(end)
    low = high = None
    if len(bounds) == 1:
        only_low, only_high = next(iter(bounds))
        if only_low is not None and only_high is not None:
            factor = len(scale.items) if scale.method == "sum" else 1
            low, high = float(only_low) * factor, float(only_high) * factor
    positive_end = ends.pop() if len(ends) == 1 else None
    return ScaleInfo(
        id=scale.id,
        label=scale.label,
        method=scale.method,
        items=scale.items,
        reverse=scale.reverse,
        min_answered=scale.min_answered,
        low=low,
        high=high,
        positive_end=positive_end,
    )


def scale_scores(
    answers: pd.DataFrame, questionnaire: Questionnaire, *, with_counts: bool = False
) -> pd.DataFrame:
    """Score every scale for every response: one row per response, one column per scale id.

    Rows are indexed by ``response_id`` (every response in ``answers``); a score
    that cannot be made is NaN. With ``with_counts``, a column ``<scale>_answered``
    after each score says how many of its items were answered.
    """
    index = pd.Index(answers["response_id"].drop_duplicates(), name="response_id")
    scored = item_scores(answers, questionnaire).dropna(subset=["score"])
    columns: dict[str, pd.Series] = {}
    for scale in questionnaire.scales:
        part = scored[scored["answer_id"].isin(scale.items)]
        score = part["score"]
        if scale.reverse:
            flip = part["answer_id"].isin(scale.reverse)
            score = score.where(~flip, part["low"] + part["high"] - score)
        grouped = score.groupby(part["response_id"])
        answered = grouped.count().reindex(index, fill_value=0)
        total = grouped.sum().reindex(index)
        mean = grouped.mean().reindex(index)
        enough = answered >= scale.min_answered
        if scale.method == "sum":
            size = len(scale.items)
            value = total.where(answered == size, mean * size)
        else:
            value = mean
        columns[scale.id] = value.where(enough).astype(float)
        if with_counts:
            columns[f"{scale.id}_answered"] = answered.astype(int)
    return pd.DataFrame(columns, index=index)


def scores_table(answers: pd.DataFrame, questionnaire: Questionnaire) -> pd.DataFrame:
    """One row per response: ``id_number``, the group fields, then one column per scale."""
    return response_frame(answers).join(scale_scores(answers, questionnaire))
