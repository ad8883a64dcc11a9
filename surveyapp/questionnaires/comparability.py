"""Changes that break comparisons between waves (Flask-free).

Waves pin their version, so stored answers never change. But waves of one
questionnaire are compared with each other (baseline against midterm), and a
new version that changes what an item's answers mean (its options or codes, its
points, its type, its reverse coding, or removes it) cannot be paired with the
answers of a wave on an earlier version. This module says which items, which
waves and how many answers, before the new version is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveyapp.models import Answer, QuestionnaireVersion, Response, Wave
from surveyapp.questionnaires.catalogue import cached_questionnaire_of
from surveyapp.questionnaires.model import Item, Questionnaire


@dataclass(frozen=True)
class Break:
    """One answer id whose answers cannot be compared across the two versions, and why."""

    answer_id: str
    reason: str


@dataclass(frozen=True)
class AffectedWave:
    """A wave on an earlier version whose answers to some items no longer compare."""

    wave_id: int
    label: str
    programme_id: int
    programme_name: str
    version_number: int
    breaks: tuple[Break, ...]
    #: Stored answers of this wave to the items that break.
    answers: int


def breaking_changes(old: Questionnaire, new: Questionnaire) -> list[Break]:
    """List the answer ids of ``old`` whose meaning ``new`` changes, in the order of ``old``."""
    new_units = dict(_units(new))
    old_reversed, new_reversed = _reversed(old), _reversed(new)
    breaks: list[Break] = []
    for answer_id, item in _units(old):
        if answer_id not in new_units:
            breaks.append(Break(answer_id, f'"{answer_id}" is removed'))
            continue
        other = new_units[answer_id]
        if item.type != other.type:
            breaks.append(
                Break(answer_id, f'"{answer_id}" changes type from {item.type} to {other.type}')
            )
            continue
        if item.type == "bipolar" and item.points != other.points:
            breaks.append(
                Break(
                    answer_id,
                    f'"{answer_id}" changes from {item.points} to {other.points} points',
                )
            )
        elif _codes(item) != _codes(other):
            breaks.append(Break(answer_id, f'the options or codes of "{answer_id}" change'))
        if (answer_id in old_reversed) != (answer_id in new_reversed):
            now = "reverse-coded" if answer_id in new_reversed else "no longer reverse-coded"
            breaks.append(Break(answer_id, f'"{answer_id}" is {now} in its scale'))
    return breaks


def incomparable(old: Questionnaire, new: Questionnaire) -> dict[str, str]:
    """Map each answer id and scale id of ``old`` that ``new`` does not measure alike to why.

    A scale does not compare when its items, reverse coding, method or minimum
    answered rule change, or when any of its items breaks (``breaking_changes``).
    The same version compares with itself: the result is then empty.
    """
    if old.content_hash and old.content_hash == new.content_hash:
        return {}
    reasons: dict[str, str] = {}
    for brk in breaking_changes(old, new):
        reasons.setdefault(brk.answer_id, brk.reason)
    for item in old.items():
        if item.id in reasons:  # its "other" text goes with it
            for answer_id in item.answer_ids():
                reasons.setdefault(answer_id, reasons[item.id])
    new_scales = {scale.id: scale for scale in new.scales}
    for scale in old.scales:
        other = new_scales.get(scale.id)
        if other is None:
            reasons[scale.id] = f'the scale "{scale.id}" is removed'
        elif (set(scale.items), set(scale.reverse)) != (set(other.items), set(other.reverse)):
            reasons[scale.id] = f'the items or reverse coding of the scale "{scale.id}" change'
        elif (scale.method, scale.min_answered) != (other.method, other.min_answered):
            reasons[scale.id] = f'the scoring rule of the scale "{scale.id}" changes'
        else:
            broken = [item for item in scale.items if item in reasons]
            if broken:
                reasons[scale.id] = f'its item "{broken[0]}" changes: {reasons[broken[0]]}'
    return reasons


def affected_waves(session: Session, new: Questionnaire) -> list[AffectedWave]:
    """Every wave of any programme on a stored version of ``new.key`` that ``new`` breaks."""
    waves = session.scalars(
        select(Wave)
        .join(QuestionnaireVersion, Wave.questionnaire_version_id == QuestionnaireVersion.id)
        .where(QuestionnaireVersion.questionnaire_key == new.key)
        .order_by(Wave.opens_at, Wave.id)
    ).all()
    affected = []
    by_version: dict[int, list[Break]] = {}
    for wave in waves:
        version = wave.questionnaire_version
        if version.id not in by_version:
            by_version[version.id] = breaking_changes(cached_questionnaire_of(version), new)
        breaks = by_version[version.id]
        if not breaks:
            continue
        old = cached_questionnaire_of(version)
        ids = set()
        for brk in breaks:
            ids.update(_answer_ids(old, brk.answer_id))
        answers = session.scalar(
            select(func.count())
            .select_from(Answer)
            .join(Response, Answer.response_id == Response.id)
            .where(Response.wave_id == wave.id, Answer.answer_id.in_(sorted(ids)))
        )
        affected.append(
            AffectedWave(
                wave.id,
                wave.label,
                wave.programme_id,
                wave.programme.name,
                version.number,
                tuple(breaks),
                answers or 0,
            )
        )
    return affected


def _units(questionnaire: Questionnaire) -> Iterator[tuple[str, Item]]:
    """Yield (answer id, item) for items and matrix rows, as ``diff`` matches them."""
    for item in questionnaire.items():
        if item.type == "matrix":
            for row in item.rows:
                yield row.id, item
        else:
            yield item.id, item


def _codes(item: Item) -> tuple:
    return tuple(option.code for option in item.all_options())


def _reversed(questionnaire: Questionnaire) -> set[str]:
    return {answer_id for scale in questionnaire.scales for answer_id in scale.reverse}


def _answer_ids(questionnaire: Questionnaire, answer_id: str) -> set[str]:
    """The stored answer ids of one unit: the item's "other" text too."""
    for unit_id, item in _units(questionnaire):
        if unit_id == answer_id:
            return {answer_id} if item.type == "matrix" else set(item.answer_ids())
    return {answer_id}
