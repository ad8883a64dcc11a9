"""One page count: the participant's "Page x of y", the reminders' "pages done of pages"
and the non-respondent list agree, with conditional pages."""

import re

import pytest
from sqlalchemy import select

from surveyapp import create_app
from surveyapp.models import EmailTemplate, Message
from surveyapp.questionnaires import catalogue, check_source, load_all
from surveyapp.reminders import sending
from surveyapp.respond import flow
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave

#: Five pages; "supervisors" only for supervisors, "training" only for supervisors who
#: were trained, "more" only for people who wrote a note on the first page.
COUNTED = """\
format_version: 1
key: page_counts
title: Page counts
estimated_minutes: 5
source: written for the tests
pages:
  - id: about
    title: About you
    items:
      - id: role
        type: single_choice
        text: What is your role?
        options:
          - {code: 1, label: Supervisee}
          - {code: 2, label: Supervisor}
      - id: note
        type: long_text
        text: Anything else to tell us?
        required: false
        max_length: 500
  - id: supervisors
    title: Supervising
    show_if: {item: role, equals: 2}
    items:
      - id: trained
        type: single_choice
        text: Were you trained to supervise?
        options:
          - {code: 1, label: "Yes"}
          - {code: 2, label: "No"}
  - id: training
    title: Your training
    show_if: {item: trained, equals: 1}
    items:
      - id: training_useful
        type: single_choice
        text: Was the training useful?
        options:
          - {code: 1, label: "Yes"}
          - {code: 2, label: "No"}
  - id: more
    title: More about your note
    show_if: {item: note, answered: true}
    items:
      - id: more_text
        type: long_text
        text: Tell us more.
        required: false
        max_length: 500
  - id: session
    title: The session
    items:
      - id: useful
        type: single_choice
        text: Was the session useful?
        options:
          - {code: 1, label: "Yes"}
          - {code: 2, label: "No"}
"""


@pytest.fixture
def questionnaire(tmp_path):
    result = check_source(COUNTED.encode(), "page_counts.yaml", tmp_path)
    assert result.questionnaire is not None, result.errors
    return result.questionnaire


def test_a_page_opened_by_an_answer_that_no_longer_applies_is_not_counted(questionnaire):
    # A supervisor who was trained, then went back and said they are a supervisee:
    # "trained" is still in the draft, but its page no longer applies.
    answers = {"role": 1, "note": "", "trained": 1}

    assert [p.id for p in questionnaire.shown_pages(answers)] == ["about", "session"]
    assert flow.progress(questionnaire, answers) == (1, 2)
    assert flow.page_place(questionnaire, answers, "session") == (2, 2)


def test_the_count_follows_each_conditional_page(questionnaire):
    assert flow.progress(questionnaire, {}) == (0, 2)
    assert flow.progress(questionnaire, {"role": 2, "note": ""}) == (1, 3)
    assert flow.progress(questionnaire, {"role": 2, "note": "", "trained": 1}) == (2, 4)
    assert flow.progress(questionnaire, {"role": 2, "note": "Hi", "trained": 1}) == (2, 5)
    assert flow.page_place(questionnaire, {"role": 2, "note": "Hi"}, "more") == (3, 4)


# -- the three places a person reads a page count ----------------------------------------


def _wave(session, tmp_path):
    (tmp_path / "page_counts.yaml").write_text(COUNTED, encoding="utf-8")
    catalogue.store_versions(session, load_all(tmp_path), now=NOW)
    programme = make_programme(session, name="Supervision programme")
    make_participant(session, programme, name="Kwame Mensah", email="kwame@example.org")
    wave = make_wave(session, programme, key="page_counts", label="Baseline")
    reminder = session.scalar(
        select(EmailTemplate).where(
            EmailTemplate.wave_id == wave.id, EmailTemplate.name == "reminder"
        )
    )
    reminder.body = "You have done {{ pages_done }} of {{ pages_total }} pages.\n" + reminder.body
    session.commit()
    return wave


def _post_page(client, page_id, **values):
    data = {"page_id": page_id, **values}
    response = client.post(f"/r/page/{page_id}", data=data)
    assert response.status_code == 303, response.text
    return response.location


def _counts(client, session, wave, staff):
    """What the participant, the reminder and the non-respondent list each say."""
    where = client.get("/r/check-answers").location
    participant = re.search(r"Page (\d+) of (\d+)", client.get(where).text).groups()
    step = sending.steps_of(session, wave)[1]  # the first reminder
    session.expire_all()
    send_now = staff.get(f"/admin/waves/{wave.id}/reminders/steps/{step.id}/send").text
    reminder = re.search(r"You have done (\d+) of (\d+) pages", send_now).groups()
    listed = staff.get(f"/admin/waves/{wave.id}/non-respondents").text
    non_respondent = re.search(r"(\d+) of (\d+) pages", listed).groups()
    return participant, reminder, non_respondent


def test_the_participant_the_reminder_and_the_non_respondent_list_agree(
    app, client, auth, session, tmp_path
):
    wave = _wave(session, tmp_path)
    person = app.test_client()
    person.get(f"/r/{wave.invitations[0].token}")
    auth.login()
    staff = client

    # A trained supervisor: about, supervisors, training, session.
    _post_page(person, "about", role="2", note="")
    _post_page(person, "supervisors", trained="1")
    assert _counts(person, session, wave, staff) == (("3", "4"), ("2", "4"), ("2", "4"))

    # They go back and say they are a supervisee: their training answer no longer counts.
    _post_page(person, "about", role="1", note="")
    participant, reminder, listed = _counts(person, session, wave, staff)
    assert participant == ("2", "2")
    assert reminder == listed == ("1", "2")

    # A note typed on the first page (kept while typing, not yet sent) opens a page:
    # the reminder counts it as the participant does.
    saved = person.post("/r/page/about/draft", data={"note": "I was off sick"})
    assert saved.status_code == 204
    participant, reminder, listed = _counts(person, session, wave, staff)
    assert participant == ("2", "3")
    assert reminder == listed == ("1", "3")


def test_in_the_demo_each_reminder_gives_the_count_the_non_respondent_list_shows(tmp_path):
    """The demo's people keep their answers, so a reminder's count stays true."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite'}",
            "CLOCK": lambda: NOW,
        }
    )
    app.test_cli_runner().invoke(args=["demo", "--no-serve"], catch_exceptions=False)

    with app.extensions["surveyapp.sessionmaker"]() as session:
        counted = [
            (re.search(r"done (\d+) of (\d+) pages", m.body), m.invitation)
            for m in session.scalars(select(Message))
        ]
        pairs = [
            (tuple(map(int, found.groups())), (i.pages_done, i.pages_total))
            for found, i in counted
            if found and not i.is_completed
        ]
    app.extensions["surveyapp.engine"].dispose()
    assert pairs, "the demo has reminders to people who started"
    assert [said for said, now in pairs if said != now] == []
