"""Build valid rows with sensible defaults; override only what a test is about."""

from datetime import timedelta
from itertools import count

from sqlalchemy.orm import Session

from surveyapp import PROJECT_ROOT
from surveyapp.models import Invitation, Participant, Programme, QuestionnaireVersion, Wave
from surveyapp.questionnaires import catalogue, load_all
from surveyapp.waves.operations import create_wave
from tests.conftest import NOW

_seq = count(1)


def make_programme(session: Session, **overrides) -> Programme:
    values = {"name": f"Programme {next(_seq)}", "run_by": "The evaluation team", "created_at": NOW}
    programme = Programme(**(values | overrides))
    session.add(programme)
    session.flush()
    return programme


def make_participant(
    session: Session, programme: Programme | None = None, **overrides
) -> Participant:
    number = next(_seq)
    values = {
        "programme": programme or make_programme(session),
        "id_number": f"P{number:04d}",
        "name": f"Person {number}",
        "email": f"person{number}@example.org",
        "team": "North",
        "organisation": "Kent County Council",
        "region": "South East",
        "role": "Peer",
        "created_at": NOW,
        "updated_at": NOW,
    }
    participant = Participant(**(values | overrides))
    session.add(participant)
    session.flush()
    return participant


def stored_version(session: Session, key: str) -> QuestionnaireVersion:
    """Store the shipped questionnaires (once) and return the version of ``key``."""
    versions = catalogue.latest_versions(session)
    if key not in versions:
        catalogue.store_versions(session, load_all(PROJECT_ROOT / "questionnaires"), now=NOW)
        versions = catalogue.latest_versions(session)
    return versions[key]


def make_wave(
    session: Session,
    programme: Programme | None = None,
    key: str = "session_evaluation",
    **overrides,
) -> Wave:
    values = {
        "programme": programme or make_programme(session),
        "version": stored_version(session, key),
        "label": f"Wave {next(_seq)}",
        "opens_at": NOW - timedelta(days=1),
        "closes_at": NOW + timedelta(days=20),
        "privacy": "identified",
        "now": NOW,
    }
    return create_wave(session, **(values | overrides))


def make_invitation(session: Session, key: str = "session_evaluation", **overrides) -> Invitation:
    """A wave with one invited participant; returns that invitation."""
    programme = make_programme(session)
    make_participant(session, programme, **overrides.pop("participant", {}))
    wave = make_wave(session, programme, key=key, **overrides)
    return wave.invitations[0]
