"""Questionnaire versions: the exact text of every file as loaded, stored once per change.

Flask-free. The caller owns the transaction: these functions flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from surveyapp.errors import StoredMeanwhile
from surveyapp.models import QuestionnaireVersion, User
from surveyapp.questionnaires import Catalogue, Questionnaire, check_source
from surveyapp.questionnaires.diff import Change, compare


@dataclass(frozen=True)
class Stored:
    """The outcome of storing one file: its version, and whether it is new."""

    key: str
    version: QuestionnaireVersion
    is_new: bool


def latest_versions(session: Session) -> dict[str, QuestionnaireVersion]:
    """Return the newest stored version of each questionnaire, by key."""
    newest = (
        select(
            QuestionnaireVersion.questionnaire_key,
            func.max(QuestionnaireVersion.number).label("number"),
        )
        .group_by(QuestionnaireVersion.questionnaire_key)
        .subquery()
    )
    rows = session.scalars(
        select(QuestionnaireVersion).join(
            newest,
            (QuestionnaireVersion.questionnaire_key == newest.c.questionnaire_key)
            & (QuestionnaireVersion.number == newest.c.number),
        )
    )
    return {version.questionnaire_key: version for version in rows}


def stored_texts(session: Session) -> dict[tuple[str, str], QuestionnaireVersion]:
    """Every stored version by (questionnaire key, content hash); the newest of equal texts."""
    return {
        (version.questionnaire_key, version.content_hash): version
        for version in session.scalars(
            select(QuestionnaireVersion).order_by(QuestionnaireVersion.number)
        )
    }


def versions_of(session: Session, key: str) -> list[QuestionnaireVersion]:
    """Return every stored version of one questionnaire, newest first."""
    return list(
        session.scalars(
            select(QuestionnaireVersion)
            .where(QuestionnaireVersion.questionnaire_key == key)
            .order_by(QuestionnaireVersion.number.desc())
        )
    )


def store_versions(
    session: Session, catalogue: Catalogue, *, now: datetime, user: User | None = None
) -> list[Stored]:
    """Store a new version of every usable file whose text differs from its newest version.

    Files with errors are never stored. An unchanged file makes no new version, and nor
    does a file whose text is an earlier version: a newer one came through the browser,
    and storing the folder's stale copy would silently undo it.

    :raises StoredMeanwhile: when another transaction stored a version of one of these
        questionnaires since they were read; nothing of this call is then stored.
    """
    latest = latest_versions(session)
    earlier = stored_texts(session)
    stored = []
    for result in catalogue.results:
        questionnaire = result.questionnaire
        if questionnaire is None:
            continue
        current = latest.get(questionnaire.key)
        known = earlier.get((questionnaire.key, result.content_hash))
        if known is not None:
            stored.append(Stored(questionnaire.key, known, is_new=False))
            continue
        version = QuestionnaireVersion(
            questionnaire_key=questionnaire.key,
            number=(current.number + 1) if current else 1,
            content_hash=result.content_hash,
            title=questionnaire.title,
            source_text=result.text,
            loaded_at=now,
            loaded_by=user,
        )
        stored.append(Stored(questionnaire.key, version, is_new=True))
    try:
        with session.begin_nested():
            session.add_all(item.version for item in stored if item.is_new)
    except IntegrityError:
        # Another request stored a version of the same questionnaire since we looked.
        keys = ", ".join(sorted({item.key for item in stored if item.is_new}))
        raise StoredMeanwhile(
            f"Someone else stored a new version of {keys} at the same moment, so nothing "
            "was stored. Check the files again: they are compared with that version now."
        ) from None
    return stored


def questionnaire_of(version: QuestionnaireVersion) -> Questionnaire:
    """Rebuild the questionnaire a stored version holds.

    A version was stored only when its text had no error, so this succeeds
    unless the format itself changed; then the problems are raised.
    """
    result = check_source(
        version.source_text.encode("utf-8"), f"{version.questionnaire_key}.yaml", Path(".")
    )
    if result.questionnaire is None:
        from surveyapp.errors import DefinitionError

        raise DefinitionError(
            f"{version.questionnaire_key} version {version.number}", result.errors
        )
    return result.questionnaire


#: Questionnaires rebuilt from stored versions, by (key, content hash): a version's text
#: never changes, so an entry never goes stale.
_REBUILT: dict[tuple[str, str], Questionnaire] = {}


def cached_questionnaire_of(version: QuestionnaireVersion) -> Questionnaire:
    """:func:`questionnaire_of`, rebuilt once per process (sending asks once per message)."""
    key = (version.questionnaire_key, version.content_hash)
    if key not in _REBUILT:
        _REBUILT[key] = questionnaire_of(version)
    return _REBUILT[key]


def changes_between(old: QuestionnaireVersion, new: QuestionnaireVersion) -> list[Change]:
    """Describe what changed from one stored version to the next."""
    return compare(questionnaire_of(old), questionnaire_of(new))


def export_versions(
    session: Session, folder: Path, keys: tuple[str, ...] = ()
) -> list[tuple[QuestionnaireVersion, bool]]:
    """Write the newest stored version of each questionnaire (or of ``keys``) to
    ``folder/<key>.yaml``, exactly as stored, so the folder can be checked, loaded and kept
    in version control. Return each version with whether its file changed.

    :raises KeyError: naming a key with no stored version.
    """
    latest = latest_versions(session)
    missing = [key for key in keys if key not in latest]
    if missing:
        raise KeyError(", ".join(missing))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for key in sorted(keys or latest):
        version = latest[key]
        path = folder / f"{key}.yaml"
        data = version.source_text.encode("utf-8")
        changed = not path.exists() or path.read_bytes() != data
        if changed:
            path.write_bytes(data)
        written.append((version, changed))
    return written
