"""Anonymous waves: results change in steps, rows keep no order, invitations keep no time."""

import csv
import io
import re
from datetime import date, timedelta

from sqlalchemy import select, text

from surveyapp.models import Answer, Invitation, Response
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.respond import flow
from surveyapp.respond.release import ReleaseStatus, release_sentence, release_status
from surveyapp.scoring import ALL_RESPONDENTS, load_answers
from surveyapp.waves import dashboard
from tests.conftest import NOW
from tests.factories import make_programme
from tests.participant import complete
from tests.scoring.builders import cohort, store_questionnaire, submit_all, wave_of


def _wave(session, people: int, *, privacy: str = "anonymous", threshold: int = 5, like=None):
    """A wave of ``people`` in one team, on the scoring questionnaire (or that of the wave
    ``like``); nobody has answered yet."""
    programme = make_programme(session, reporting_threshold=threshold)
    members = cohort(session, {"North": people}, programme)
    version = like.questionnaire_version if like else store_questionnaire(session)
    wave = wave_of(session, programme, version, privacy=privacy)
    return wave, members


def _send(session, wave, people, first_number: int = 1) -> None:
    """``people`` send their answers, in this order; ``months`` is each one's place in it."""
    place = {person.id: number for number, person in enumerate(people, start=first_number)}
    submit_all(
        session,
        wave,
        lambda person: (
            # Not all alike, or the unanimity rule would hide the total.
            {
                "q1": 1 + 4 * (place[person.id] % 2),
                "q2": 4,
                "q3": 2,
                "q4": 4,
                "months": place[person.id],
            }
            if person.id in place
            else None
        ),
    )


def _exported_rows(client, wave) -> list[dict]:
    response = client.get(f"/admin/waves/{wave.id}/export?format=csv&layout=wide")
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))


def _everyone_n(html: str) -> str:
    table = re.search(r'<table[^>]*id="scale-agree_mean".*?</table>', html, re.S).group(0)
    row = re.search(rf">{ALL_RESPONDENTS}</th>(.*?)</tr>", table, re.S).group(1)
    return re.search(r">(\d+)<", row).group(1)


def test_one_late_answer_changes_neither_the_export_nor_the_results_page(
    app, client, auth, session
):
    wave, people = _wave(session, 15)
    _send(session, wave, people[:10])
    session.commit()
    auth.login(email="evaluator@example.org", role="evaluator")
    before_rows = _exported_rows(client, wave)
    before_page = client.get(f"/admin/waves/{wave.id}/results").text

    # One more person answers through their own link, after the others.
    late = next(i for i in wave.invitations if i.participant_id == people[10].id)
    complete(app.test_client(), late.token, questionnaire_of(wave.questionnaire_version))

    after_rows = _exported_rows(client, wave)
    after_page = client.get(f"/admin/waves/{wave.id}/results").text
    assert len(before_rows) == len(after_rows) == 10
    assert sorted(r["months"] for r in after_rows) == sorted(r["months"] for r in before_rows)
    assert _everyone_n(before_page) == _everyone_n(after_page) == "10"
    assert (
        "Results show 10 responses. 1 more has come in and is held back: results of an "
        "anonymous wave change only in steps of 5 responses, so that no one answer can be "
        "told apart. It will be added when 4 more have come in."
    ) in after_page


def test_held_answers_appear_together_once_the_threshold_have_come_in(client, auth, session):
    wave, people = _wave(session, 15)
    _send(session, wave, people[:9])
    session.commit()
    auth.login(email="evaluator@example.org", role="evaluator")
    assert len(_exported_rows(client, wave)) == 5

    _send(session, wave, people[9:10], first_number=10)
    session.commit()

    rows = _exported_rows(client, wave)
    assert sorted(int(row["months"]) for row in rows) == list(range(1, 11))
    page = client.get(f"/admin/waves/{wave.id}/results").text
    assert _everyone_n(page) == "10"
    assert "Results show 10 responses." in page and "held back" not in page


def test_every_role_reads_only_released_answers(client, auth, session):
    wave, people = _wave(session, 7)
    _send(session, wave, people)
    session.commit()
    auth.login(email="admin@example.org", role="admin")

    full = client.get(f"/admin/waves/{wave.id}/export?format=csv&layout=wide&full=1")
    page = client.get(f"/admin/waves/{wave.id}/results?full=1").text
    dashboard = client.get(f"/admin/waves/{wave.id}/dashboard").text

    assert len(list(csv.DictReader(io.StringIO(full.text.lstrip("\ufeff"))))) == 5
    assert _everyone_n(page) == "5"
    assert "2 more have come in and are held back" in dashboard
    assert "They will be added when 3 more have come in." in dashboard


def test_release_goes_in_steps_of_the_threshold_and_an_identified_wave_at_once(session):
    anonymous, people = _wave(session, 12, threshold=4)
    seen = []
    for number, person in enumerate(people, start=1):
        _send(session, anonymous, [person], first_number=number)
        seen.append(tuple(release_status(session, anonymous)))
    identified, others = _wave(session, 2, privacy="identified", like=anonymous)
    _send(session, identified, others)

    assert seen[:5] == [(0, 1, 4), (0, 2, 4), (0, 3, 4), (4, 0, 4), (4, 1, 4)]
    assert seen[-1] == (12, 0, 4)
    steps = session.scalars(select(Response.release).where(Response.wave_id == anonymous.id))
    assert sorted(steps) == [1] * 4 + [2] * 4 + [3] * 4
    assert tuple(release_status(session, identified)) == (2, 0, 5)
    assert load_answers(session, identified)["response_id"].nunique() == 2


def test_a_closed_wave_keeps_its_remainder_held_and_says_so():
    sentence = release_sentence(ReleaseStatus(20, 3, 5), closed=True)

    assert sentence == (
        "Results show 20 responses. 3 more have come in and are held back: results of an "
        "anonymous wave change only in steps of 5 responses, so that no one answer can be "
        "told apart. The wave has closed, so they will not be added: fewer than 5 came in "
        "after the last step."
    )
    assert release_sentence(ReleaseStatus(20, 3, 5), closed=False).endswith(
        "They will be added when 2 more have come in."
    )


def _order_kept(session) -> list[str]:
    """Response keys in the order the database stores them.

    PostgreSQL: physical order (ctid). SQLite: rowid order where the table has one; a
    table WITHOUT ROWID is stored in the order of its key.
    """
    if session.get_bind().dialect.name == "postgresql":
        return session.scalars(text("SELECT id FROM responses ORDER BY ctid")).all()
    table = session.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'responses'"))
    by = "id" if "WITHOUT ROWID" in table.upper() else "rowid"
    return session.scalars(text(f"SELECT id FROM responses ORDER BY {by}")).all()


def test_anonymous_rows_are_not_kept_in_the_order_they_were_sent(session):
    wave, people = _wave(session, 15)
    held_keys = []
    for number, person in enumerate(people, start=1):
        _send(session, wave, [person], first_number=number)
        held_keys.append(
            set(session.scalars(select(Response.id).where(Response.release.is_(None))))
        )
    session.commit()
    months = select(Answer.response_id, Answer.value).where(Answer.answer_id == "months")
    place = dict(session.execute(months).all())

    natural = [place[key] for key in session.scalars(text("SELECT id FROM responses")).all()]
    stored = [place[key] for key in _order_kept(session)]

    assert sorted(natural) == sorted(stored) == list(range(1, 16))
    assert natural != sorted(natural)
    assert stored != sorted(stored)
    # Each answer rewrites the held ones under new keys: no key survives the next answer.
    assert held_keys[0] and not held_keys[0] & held_keys[1]
    assert not held_keys[5] & held_keys[6]


def test_an_anonymous_invitation_keeps_the_day_but_no_time(session):
    wave, people = _wave(session, 2)
    identified, others = _wave(session, 1, privacy="identified", like=wave)
    for invitation in [*wave.invitations, *identified.invitations]:
        invitation.opened_at = NOW - timedelta(hours=3, minutes=7)
    _send(session, wave, people)
    _send(session, identified, others)
    session.commit()
    session.expire_all()

    anonymous = session.scalars(select(Invitation).where(Invitation.wave_id == wave.id)).all()
    kept = session.scalar(select(Invitation).where(Invitation.wave_id == identified.id))

    for invitation in anonymous:
        assert invitation.is_completed
        assert invitation.completed_at is None
        assert invitation.completed_on == NOW.date()
        for moment in (invitation.opened_at, invitation.started_at):
            assert (moment.hour, moment.minute, moment.second) == (0, 0, 0)
    assert (kept.completed_at, kept.completed_on) == (NOW, NOW.date())
    assert kept.opened_at == NOW - timedelta(hours=3, minutes=7)


def test_the_daily_completions_count_anonymous_answers_on_their_day(session):
    wave, _people = _wave(session, 3)
    questionnaire = questionnaire_of(wave.questionnaire_version)
    blank = {
        answer_id: [] if item.type == "multiple_choice" and answer_id == item.id else None
        for item in questionnaire.items()
        for answer_id in item.answer_ids()
    }
    days_ago = (timedelta(hours=20), timedelta(0), timedelta(0))
    for invitation, ago in zip(wave.invitations, days_ago, strict=True):
        flow.record_answers(session, invitation, questionnaire, blank, now=NOW - ago)
        flow.submit(session, invitation, questionnaire, now=NOW - ago)

    days = dashboard.completions_by_day(session, wave, now=NOW, zone="Europe/London")

    assert [(day.day, day.completed, day.cumulative) for day in days] == [
        (date(2030, 4, 30), 1, 1),
        (date(2030, 5, 1), 2, 3),
    ]
