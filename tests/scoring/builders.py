"""Test data for scoring and exports: a small questionnaire, answer tables, submitted waves."""

import hashlib
from pathlib import Path

from sqlalchemy.orm import Session

from surveyapp.models import Participant, Programme, QuestionnaireVersion, Wave
from surveyapp.questionnaires import Questionnaire, check_source
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.respond import flow
from surveyapp.scoring.scales import answers_frame
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave

#: Every kind of item and scale rule the scoring and export layers handle.
SCORING_YAML = """
format_version: 1
key: scoring_check
title: Scoring check
estimated_minutes: 5
source: Written for the tests
option_sets:
  agree5:
    - {code: 1, label: Strongly disagree}
    - {code: 2, label: Disagree}
    - {code: 3, label: Neither agree nor disagree}
    - {code: 4, label: Agree}
    - {code: 5, label: Strongly agree}
pages:
  - id: first
    title: First
    items:
      - {id: q1, type: likert, text: Item one, options: agree5, required: false,
         not_applicable: {code: 9, label: Does not apply}}
      - {id: q2, type: likert, text: Item two, options: agree5, required: false}
      - {id: q3, type: likert, text: Item three, options: agree5, required: false}
      - {id: q4, type: likert, text: Item four, options: agree5, required: false}
      - {id: b1, type: bipolar, text: Pair one, left: Good on the left, right: Bad on the right,
         points: 5, positive: left, required: false}
      - {id: b2, type: bipolar, text: Pair two, left: Bad on the left, right: Good on the right,
         points: 7, positive: right, required: false}
      - id: grid
        type: matrix
        text: How confident are you
        options: agree5
        not_applicable: {code: 9, label: Not my job}
        required: false
        rows:
          - {id: r1, text: Row one}
          - {id: r2, text: Row two}
      - {id: months, type: number, text: Months in post, min: 0, max: 500, unit: months,
         required: false}
      - id: gains
        type: multiple_choice
        text: What do you hope to gain
        required: false
        options:
          - {code: 1, label: Contacts}
          - {code: 2, label: Ideas}
          - {code: 3, label: Time}
        other: Something else
      - id: kind
        type: single_choice
        text: Kind of organisation
        required: false
        options:
          - {code: 1, label: Council}
          - {code: 2, label: Charity}
        other: Another kind
      - {id: comment, type: long_text, text: Anything else, required: false}
scales:
  - {id: agree_mean, label: Agreement (mean), items: [q1, q2, q3, q4], reverse: [q3],
     method: mean, min_answered: 3}
  - {id: agree_sum, label: Agreement (sum), items: [q1, q2, q3, q4], reverse: [q3],
     method: sum, min_answered: 3}
  - {id: agree_sum_all, label: Agreement (sum of all four), items: [q1, q2, q3, q4], method: sum}
  - {id: pairs, label: Pairs, items: [b1, b2], reverse: [b2], min_answered: 2}
  - {id: grid_score, label: Confidence, items: [grid], min_answered: 1}
"""


def questionnaire_from(text: str = SCORING_YAML, key: str = "scoring_check") -> Questionnaire:
    """Build a questionnaire from YAML text, failing loudly on any problem."""
    result = check_source(text.encode("utf-8"), f"{key}.yaml", Path("."))
    assert result.questionnaire is not None, [str(problem) for problem in result.errors]
    return result.questionnaire


def long_answers(responses: dict, groups: dict | None = None):
    """A long answer table: ``responses`` maps a response id to its answers by answer id."""
    groups = groups or {}
    rows = []
    for response_id, answers in responses.items():
        person = {
            "id_number": None,
            "team": "North",
            "organisation": "Kent",
            "region": "South East",
            "role": "Peer",
        }
        person |= groups.get(response_id, {})
        fields = (
            person["id_number"],
            person["team"],
            person["organisation"],
            person["region"],
            person["role"],
        )
        for answer_id, value in answers.items():
            rows.append((response_id, *fields, answer_id, value))
    return answers_frame(rows)


def store_questionnaire(
    session: Session, text: str = SCORING_YAML, key: str = "scoring_check", number: int = 1
) -> QuestionnaireVersion:
    """Store a questionnaire text as a version, the way the catalogue does."""
    questionnaire_from(text, key)
    version = QuestionnaireVersion(
        questionnaire_key=key,
        number=number,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        title=key,
        source_text=text,
        loaded_at=NOW,
    )
    session.add(version)
    session.flush()
    return version


def submit_all(session: Session, wave: Wave, answers_of) -> None:
    """Submit answers for every invited person through the real domain functions.

    ``answers_of(participant)`` returns that person's answers, or None to skip them.
    Answer ids left out are stored as blank, as a page posted with empty fields is.
    """
    questionnaire = questionnaire_of(wave.questionnaire_version)
    # What a page posted with empty fields stores: no choice is [], anything else None.
    blank = {
        answer_id: [] if item.type == "multiple_choice" and answer_id == item.id else None
        for item in questionnaire.items()
        for answer_id in item.answer_ids()
    }
    for invitation in sorted(wave.invitations, key=lambda i: i.participant.id_number):
        answers = answers_of(invitation.participant)
        if answers is None:
            continue
        flow.record_answers(session, invitation, questionnaire, blank | answers, now=NOW)
        flow.submit(session, invitation, questionnaire, now=NOW)
    session.flush()


def cohort(
    session: Session, teams: dict[str, int], programme: Programme | None = None, **fields
) -> list[Participant]:
    """Enrol people: ``teams`` maps a team name to how many people it has."""
    programme = programme or make_programme(session)
    people = []
    for team, size in teams.items():
        for _ in range(size):
            people.append(make_participant(session, programme, team=team, **fields))
    return people


def wave_of(
    session: Session,
    programme: Programme,
    version: QuestionnaireVersion | None = None,
    key: str | None = None,
    **overrides,
) -> Wave:
    """A wave of ``programme`` on a stored version (or a shipped questionnaire by key)."""
    if version is not None:
        overrides["version"] = version
    return make_wave(session, programme, key=key or "session_evaluation", **overrides)
