"""Subject access and erasure of one participant, through the study team's pages."""

import io
import json
import zipfile
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from surveyapp.exports import export_wave
from surveyapp.models import (
    Answer,
    AuditEvent,
    DraftAnswer,
    Invitation,
    Message,
    Participant,
    ReminderStep,
    Response,
)
from surveyapp.privacy import operations as privacy
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.waves import dashboard
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave
from tests.participant import complete, page_data

TYPED = "It helped me think about how I lead my team."


def _start(app, token, questionnaire):
    """Answer the first page only, so the person has answers in progress."""
    client = app.test_client()
    assert client.get(f"/r/{token}").status_code == 303
    url = client.get("/r/check-answers").location
    page = questionnaire.page(url.rsplit("/", 1)[-1])
    assert client.post(url, data=page_data(page)).status_code == 303


@pytest.fixture
def study(app, session, runner):
    """Two people; Asha completed an identified and an anonymous wave and started a third."""
    programme = make_programme(session, name="Kent peer support")
    asha = make_participant(
        session,
        programme,
        id_number="K-017",
        name="Asha Patel",
        email="asha.patel@example.org",
        attributes={"Phone": "01632 960001"},
    )
    ben = make_participant(session, programme, id_number="K-018", name="Ben Okafor")
    identified = make_wave(session, programme, label="Baseline")
    anonymous = make_wave(session, programme, label="Culture", privacy="anonymous")
    later = make_wave(session, programme, label="Midterm")
    session.commit()
    # Invitations go out through the real command (the outbox: no SMTP is set up).
    assert runner.invoke(args=["reminders", "send"]).exit_code == 0
    tokens = {
        (invitation.wave_id, invitation.participant_id): invitation.token
        for invitation in session.scalars(select(Invitation))
    }
    questionnaire = questionnaire_of(identified.questionnaire_version)
    for wave, person in ((identified, asha), (identified, ben), (anonymous, asha)):
        complete(app.test_client(), tokens[wave.id, person.id], questionnaire)
    _start(app, tokens[later.id, asha.id], questionnaire)
    # A reminder waiting in the outbox for Asha.
    step = session.scalar(
        select(ReminderStep).where(ReminderStep.wave_id == later.id, ReminderStep.position == 2)
    )
    invitation = session.scalar(
        select(Invitation).where(
            Invitation.wave_id == later.id, Invitation.participant_id == asha.id
        )
    )
    session.add(
        Message(
            wave_id=later.id,
            step_id=step.id,
            invitation_id=invitation.id,
            to_address=asha.email,
            subject="Asha, a reminder",
            body="Dear Asha Patel, please finish.",
            state="queued",
            queued_at=NOW,
        )
    )
    session.commit()
    return SimpleNamespace(
        programme=programme,
        asha=asha,
        ben=ben,
        identified=identified,
        anonymous=anonymous,
        later=later,
        tokens={
            "Baseline": tokens[identified.id, asha.id],
            "Culture": tokens[anonymous.id, asha.id],
            "Midterm": tokens[later.id, asha.id],
        },
    )


def _person_url(study, action=""):
    base = f"/admin/programmes/{study.programme.id}/participants/{study.asha.id}"
    return f"{base}/{action}" if action else base


def _download(client, study):
    response = client.get(_person_url(study, "subject-access"))
    assert response.status_code == 200, response.text
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    files = {
        name.rsplit("/", 1)[-1]: archive.read(name).decode("utf-8") for name in archive.namelist()
    }
    return response, files


# -- subject access ---------------------------------------------------------------------


def test_subject_access_file_is_named_by_id_number_and_holds_a_page_and_json(client, auth, study):
    auth.login()

    response, files = _download(client, study)

    disposition = response.headers["Content-Disposition"]
    assert 'filename="subject-access-K-017-2030-05-01.zip"' in disposition
    assert "Asha" not in disposition and "Patel" not in disposition
    assert sorted(files) == [
        "subject-access-K-017-2030-05-01.html",
        "subject-access-K-017-2030-05-01.json",
    ]


def test_subject_access_page_shows_details_waves_answers_in_words_and_emails(client, auth, study):
    auth.login()

    _, files = _download(client, study)
    page = files["subject-access-K-017-2030-05-01.html"]

    for held in ("Asha Patel", "asha.patel@example.org", "Phone", "01632 960001", "K-017"):
        assert held in page
    for wave in ("Baseline", "Culture", "Midterm"):
        assert wave in page
    # Answers in words: the question and the option's label, not its code.
    assert "What kind of session was it?" in page
    assert "Mentors&#39; or supervisors&#39; session" in page
    assert "The session was useful to me." in page and "Strongly disagree" in page
    assert "Answers saved but not sent" in page
    assert "cannot be found and are not included" in page
    # Every email, with its text.
    assert page.count("Invitation email sent") == 3
    assert "Asha, a reminder" in page and "Dear Asha Patel, please finish." in page
    assert "Waiting to be sent" in page


def test_subject_access_json_has_every_wave_with_dates_and_labelled_answers(client, auth, study):
    auth.login()

    _, files = _download(client, study)
    data = json.loads(files["subject-access-K-017-2030-05-01.json"])

    assert data["participant"]["name"] == "Asha Patel"
    assert data["participant"]["further_details"] == {"Phone": "01632 960001"}
    waves = {wave["wave"]: wave for wave in data["waves"]}
    assert set(waves) == {"Baseline", "Culture", "Midterm"}
    baseline = waves["Baseline"]
    assert baseline["completed_at"] == "2030-05-01T12:00:00Z"
    assert baseline["invited_at"] == "2030-05-01T12:00:00Z"
    answers = {row["answer_id"]: row for row in baseline["submitted_answers"]}
    assert answers["session_type"]["answer"] == "Mentors' or supervisors' session"
    assert answers["session_type"]["value"] == 4
    assert isinstance(waves["Culture"]["submitted_answers"], str)
    # An anonymous wave keeps the day the person finished, and no time of day.
    assert waves["Culture"]["completed_at"] is None
    assert waves["Culture"]["completed_on"] == "2030-05-01"
    assert waves["Culture"]["started_at"] == "2030-05-01T00:00:00Z"
    assert baseline["completed_on"] == "2030-05-01"
    assert waves["Midterm"]["completed_at"] is None
    assert waves["Midterm"]["answers_in_progress"]
    assert {email["state"] for email in data["emails"]} == {"sent", "queued"}
    assert all(email["body"] for email in data["emails"])


def test_anonymous_answers_are_never_in_the_subject_access_file(client, auth, study, session):
    anonymous = session.scalar(select(Response).where(Response.wave_id == study.anonymous.id))
    assert anonymous.participant_id is None
    auth.login()

    _, files = _download(client, study)
    data = json.loads(files["subject-access-K-017-2030-05-01.json"])

    culture = next(wave for wave in data["waves"] if wave["wave"] == "Culture")
    assert culture["answers_in_progress"] == []
    assert "anonymous" in culture["submitted_answers"]


def test_subject_access_is_logged_by_row_number_without_content(client, auth, study, session):
    auth.login()

    _download(client, study)

    session.expire_all()
    event = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "participant.subject_access")
    )
    assert event.actor == "admin@example.org"
    assert f"participant no. {study.asha.id}" in event.summary
    assert event.object_type == "participant" and event.object_id == str(study.asha.id)
    assert event.programme_id == study.programme.id
    for secret in ("K-017", "Asha", "asha.patel", "Strongly", "01632", *study.tokens.values()):
        assert secret not in event.summary


@pytest.mark.parametrize(
    "role,status", [("evaluator", 403), ("viewer", 403), ("programme_manager", 200)]
)
def test_only_roles_that_protect_data_may_download_it(client, auth, study, role, status):
    auth.login(email=f"{role}@example.org", role=role)

    response = client.get(_person_url(study, "subject-access"))

    assert response.status_code == status


def test_participant_page_offers_both_actions(client, auth, study):
    auth.login()

    page = client.get(_person_url(study)).text

    assert "Data protection" in page
    assert "Download everything held about this person" in page
    assert _person_url(study, "erase") in page


# -- erasure ----------------------------------------------------------------------------


def test_erase_page_says_what_is_removed_and_what_stays(client, auth, study):
    auth.login()

    page = client.get(_person_url(study, "erase")).text

    assert "This cannot be undone" in page
    assert "it becomes “erased-” and a code" in page
    assert "1 submitted response in identified waves" in page
    assert "Their 3 personal links" in page
    assert "anonymous wave" in page
    assert "invited and completed counts" in page


def test_erasing_needs_the_id_number_typed(client, auth, study, session):
    auth.login()

    wrong = client.post(_person_url(study, "erase"), data={"id_number": "K-018"})
    empty = client.post(_person_url(study, "erase"), data={})

    assert wrong.status_code == 422 and "Type the ID number K-017 exactly" in wrong.text
    assert empty.status_code == 422
    session.expire_all()
    assert session.get(Participant, study.asha.id).erased_at is None
    assert session.scalar(select(func.count(Response.id))) == 3


def _erase(client, auth, study):
    auth.login()
    response = client.post(_person_url(study, "erase"), data={"id_number": "K-017"})
    assert response.status_code == 303, response.text
    assert response.location.endswith(_person_url(study))
    return response


def test_erasure_removes_contact_details_and_replaces_the_id_number(client, auth, study, session):
    _erase(client, auth, study)

    session.expire_all()
    asha = session.get(Participant, study.asha.id)
    assert (asha.name, asha.email, asha.attributes) == ("", "", {})
    assert asha.id_number.startswith("erased-") and "K-017" not in asha.id_number
    assert asha.erased_at == NOW and asha.contact_removed_at == NOW
    assert asha.team == "North"  # groups keep their counts
    ben = session.get(Participant, study.ben.id)
    assert (ben.name, ben.id_number) == ("Ben Okafor", "K-018")


def test_erasure_deletes_identified_answers_and_drafts_but_keeps_anonymous_ones(
    client, auth, study, session
):
    anonymous_before = session.scalar(
        select(func.count(Answer.answer_id))
        .join(Response)
        .where(Response.wave_id == study.anonymous.id)
    )

    _erase(client, auth, study)

    session.expire_all()
    assert session.scalar(select(Response).where(Response.participant_id == study.asha.id)) is None
    assert (
        session.scalar(
            select(func.count(Answer.answer_id)).where(~Answer.response_id.in_(select(Response.id)))
        )
        == 0
    )
    assert session.scalar(select(func.count(DraftAnswer.id))) == 0
    assert session.scalar(select(Response).where(Response.participant_id == study.ben.id))
    anonymous_after = session.scalar(
        select(func.count(Answer.answer_id))
        .join(Response)
        .where(Response.wave_id == study.anonymous.id)
    )
    assert anonymous_after == anonymous_before > 0


def test_erasure_blanks_emails_and_cancels_what_was_not_sent(client, auth, study, session):
    _erase(client, auth, study)

    session.expire_all()
    messages = session.scalars(
        select(Message).join(Invitation).where(Invitation.participant_id == study.asha.id)
    ).all()
    assert len(messages) == 4
    assert {(m.to_address, m.body) for m in messages} == {("", "")}
    assert all("Asha" not in m.subject for m in messages)
    assert sorted(m.state for m in messages) == ["cancelled", "sent", "sent", "sent"]
    others = session.scalars(
        select(Message).join(Invitation).where(Invitation.participant_id == study.ben.id)
    ).all()
    assert others and all(m.to_address and m.body for m in others)


def test_erasure_stops_the_old_links_and_open_sessions(client, auth, study, session, app):
    answering = app.test_client()
    assert answering.get(f"/r/{study.tokens['Midterm']}").status_code == 303
    assert answering.get("/r/").status_code == 200

    _erase(client, auth, study)

    session.expire_all()
    new_tokens = set(
        session.scalars(select(Invitation.token).where(Invitation.participant_id == study.asha.id))
    )
    assert len(new_tokens) == 3 and not new_tokens & set(study.tokens.values())
    for token in study.tokens.values():
        assert app.test_client().get(f"/r/{token}").status_code == 404
    assert answering.get("/r/").status_code == 404


def test_erasure_keeps_the_dashboard_counts(client, auth, study, session):
    before = dashboard.wave_counts(session, study.identified)
    anonymous_before = dashboard.wave_counts(session, study.anonymous)

    _erase(client, auth, study)

    session.expire_all()
    after = dashboard.wave_counts(session, study.identified)
    assert (after.invited, after.completed) == (before.invited, before.completed) == (2, 2)
    anonymous_after = dashboard.wave_counts(session, study.anonymous)
    assert (anonymous_after.invited, anonymous_after.completed) == (2, 1)
    assert anonymous_before.completed == 1
    page = client.get(f"/admin/waves/{study.identified.id}/dashboard")
    assert page.status_code == 200


def test_an_erased_person_has_no_row_in_the_export(client, auth, study, session):
    before = export_wave(
        session, study.identified, file_format="csv", layout="wide", for_evaluator=False
    ).content.decode("utf-8-sig")
    assert "K-017" in before and "K-018" in before

    _erase(client, auth, study)

    session.expire_all()
    after = export_wave(
        session, study.identified, file_format="csv", layout="wide", for_evaluator=False
    ).content.decode("utf-8-sig")
    assert "K-017" not in after and "erased-" not in after
    assert "K-018" in after
    assert len(after.strip().splitlines()) == len(before.strip().splitlines()) - 1


def test_erasure_is_logged_without_answers_or_tokens(client, auth, study, session):
    _erase(client, auth, study)

    session.expire_all()
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "participant.erase"))
    assert event.actor == "admin@example.org"
    assert event.summary.startswith(f"Participant no. {study.asha.id} erased at their request")
    texts = " ".join(f"{e.summary} {e.object_id}" for e in session.scalars(select(AuditEvent)))
    for secret in ("K-017", "Asha", "asha.patel", TYPED, "Strongly", *study.tokens.values()):
        assert secret not in texts


def test_erased_people_are_shown_plainly_and_cannot_be_erased_twice(client, auth, study, session):
    _erase(client, auth, study)

    listing = client.get(f"/admin/programmes/{study.programme.id}/participants").text
    person = client.get(_person_url(study)).text
    session.expire_all()
    marker = session.get(Participant, study.asha.id).id_number
    again = client.post(_person_url(study, "erase"), data={"id_number": marker})

    assert marker in listing and "Erased at their request" in listing
    assert "Asha" not in listing
    assert "Erased at their request on" in person and "Save changes" not in person
    assert again.status_code == 303
    assert (
        session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "participant.erase")
        )
        == 1
    )


def test_subject_access_after_erasure_holds_nothing_identifying(client, auth, study):
    _erase(client, auth, study)

    _, files = _download(client, study)
    (name,) = [name for name in files if name.endswith(".json")]
    data = json.loads(files[name])

    assert data["participant"]["name"] == "" and data["participant"]["email_address"] == ""
    assert data["participant"]["erased_at"] == "2030-05-01T12:00:00Z"
    baseline = next(wave for wave in data["waves"] if wave["wave"] == "Baseline")
    assert baseline["submitted_answers"] == [] and baseline["completed_at"]
    assert "Asha" not in files[name] and TYPED not in files[name]


def test_erase_plan_counts_without_changing_anything(study, session):
    plan = privacy.erasure_plan(session, study.asha)

    assert (plan.responses, plan.invitations, plan.messages, plan.unsent_messages) == (1, 3, 4, 1)
    assert plan.drafts > 0 and plan.anonymous_completed == 1
    session.expire_all()
    assert session.get(Participant, study.asha.id).name == "Asha Patel"


def test_erased_details_cannot_be_typed_back_in_on_the_edit_form(client, auth, study, session):
    _erase(client, auth, study)

    response = client.post(
        _person_url(study), data={"name": "Asha Patel", "email": "asha@example.org"}
    )

    assert response.status_code == 409
    assert "removed on purpose" in response.text
    session.expire_all()
    assert session.get(Participant, study.asha.id).name == ""


def test_an_erased_person_in_a_later_cohort_file_is_left_out(client, auth, study, session):
    import base64

    _erase(client, auth, study)
    file = (
        "ID number,Name,Email,Team,Organisation,Region,Role\r\n"
        "K-017,Asha Patel,asha.patel@example.org,North,Kent,South East,Peer\r\n"
    )

    response = client.post(
        f"/admin/programmes/{study.programme.id}/cohort/import",
        data={"content": base64.b64encode(file.encode()).decode()},
        follow_redirects=True,
    )

    assert "1 row(s) left out because those people asked for their data to be erased" in (
        response.text
    )
    session.expire_all()
    assert session.scalar(select(Participant).where(Participant.id_number == "K-017")) is None
    assert session.scalar(select(Participant).where(Participant.email.contains("asha"))) is None


def test_the_subject_access_file_holds_no_working_link(client, auth, study):
    auth.login()
    _, files = _download(client, study)
    everything = " ".join(files.values())
    for token in study.tokens.values():
        assert token not in everything
    assert "/r/[link removed]" in everything
