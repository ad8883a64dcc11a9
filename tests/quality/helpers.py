"""Waves answered through the real flow, with the time each person took."""

from datetime import timedelta

from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.respond import flow
from tests.conftest import NOW


def blank_answers(questionnaire) -> dict:
    """What a page posted with empty fields stores: no choice is [], anything else None."""
    return {
        answer_id: [] if item.type == "multiple_choice" and answer_id == item.id else None
        for item in questionnaire.items()
        for answer_id in item.answer_ids()
    }


def answer_timed(session, wave, answers_and_minutes) -> None:
    """Each invited person (by ID number order) answers ``answers`` over ``minutes``.

    ``answers_and_minutes(person)`` returns (answers, minutes) or None to skip the person.
    The first page is shown ``minutes`` before NOW and the answers are sent at NOW.
    """
    questionnaire = questionnaire_of(wave.questionnaire_version)
    blank = blank_answers(questionnaire)
    for invitation in sorted(wave.invitations, key=lambda i: i.participant.id_number):
        given = answers_and_minutes(invitation.participant)
        if given is None:
            continue
        answers, minutes = given
        shown = NOW - timedelta(minutes=minutes)
        flow.note_activity(invitation, shown)
        flow.record_answers(session, invitation, questionnaire, blank | answers, now=NOW)
        flow.submit(session, invitation, questionnaire, now=NOW)
    session.flush()
