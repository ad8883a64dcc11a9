"""The study team sets up a programme: cohort from CSV, participants, waves and links."""

import io

from sqlalchemy import func, select

from surveyapp.models import Invitation, Participant, Programme, Wave
from tests.factories import make_participant, make_programme, make_wave, stored_version

COHORT = (
    "ID number;Name;Email;Team;Organisation;Region;Role;Start year\n"
    "P001;Siân Ó Dónaill ;sian@example.org;North;Kent County Council;South East;Peer;2009\n"
    "P002;Bob Jones;not-an-email;North;Kent County Council;South East;Peer;2010\n"
    "\n"
    "P003;Ama Mensah;ama@example.org;South;Medway Council;South East;Peer supporter;2008\n"
).encode("cp1252")


def _upload(client, programme, data=COHORT, name="cohort.csv"):
    return client.post(
        f"/admin/programmes/{programme.id}/cohort",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_a_programme_is_created_from_the_form(client, auth, session):
    auth.login()

    created = client.post(
        "/admin/programmes/new",
        data={"name": "Pilot peer support programme 2010", "run_by": "CIRCLE"},
    )
    duplicate = client.post(
        "/admin/programmes/new", data={"name": "Pilot peer support programme 2010", "run_by": "X"}
    )
    empty = client.post("/admin/programmes/new", data={"name": "", "run_by": ""})

    assert created.status_code == 303
    assert (
        duplicate.status_code == 422
        and "There is already a programme with this name" in duplicate.text
    )
    assert empty.status_code == 422 and "Enter the programme name" in empty.text
    assert session.scalar(select(func.count()).select_from(Programme)) == 1


def test_a_cohort_file_is_previewed_with_its_bad_rows_before_anything_is_saved(
    client, auth, session
):
    auth.login()
    programme = make_programme(session)
    session.commit()

    preview = _upload(client, programme)

    assert preview.status_code == 200
    assert "Windows-1252" in preview.text
    assert "Siân Ó Dónaill" in preview.text
    assert "not-an-email" in preview.text and "is not a valid email address" in preview.text
    assert "Start year" in preview.text
    assert session.scalar(select(func.count()).select_from(Participant)) == 0


def test_importing_the_previewed_file_twice_never_duplicates_anyone(client, auth, session):
    auth.login()
    programme = make_programme(session)
    session.commit()
    preview = _upload(client, programme)
    content = preview.text.split('name="content" value="')[1].split('"')[0]

    first = client.post(
        f"/admin/programmes/{programme.id}/cohort/import", data={"content": content}
    )
    again = client.post(
        f"/admin/programmes/{programme.id}/cohort/import",
        data={"content": content},
        follow_redirects=True,
    )

    assert first.status_code == 303
    assert "0 added, 0 updated, 2 unchanged" in again.text
    people = session.scalars(select(Participant).order_by(Participant.id_number)).all()
    assert [(p.id_number, p.name, p.attributes) for p in people] == [
        ("P001", "Siân Ó Dónaill", {"Start year": "2009"}),
        ("P003", "Ama Mensah", {"Start year": "2008"}),
    ]


def test_a_file_that_is_not_a_cohort_is_refused_with_the_reason(client, auth, session):
    auth.login()
    programme = make_programme(session)
    session.commit()

    response = _upload(client, programme, data=b"Colour,Size\nred,large\n")

    assert response.status_code == 422
    assert "This file cannot be loaded" in response.text
    assert "Load" not in response.text.split("This file cannot be loaded")[1].split("</main>")[
        0
    ].replace("loaded", "")


def test_participant_list_searches_filters_and_pages(client, auth, session):
    auth.login()
    programme = make_programme(session)
    for number in range(60):
        make_participant(
            session, programme, id_number=f"A{number:03d}", team="North" if number % 2 else "South"
        )
    make_participant(session, programme, id_number="Z999", name="Siân Ó Dónaill", team="East")
    session.commit()
    url = f"/admin/programmes/{programme.id}/participants"

    first_page = client.get(url)
    second_page = client.get(url + "?page=2")
    found = client.get(url + "?q=dónaill")
    north = client.get(url + "?team=North")
    fragment = client.get(url + "?q=Z999", headers={"HX-Request": "true"})

    assert "61 participants, page 1 of 2" in first_page.text
    assert "Z999" in second_page.text and "Z999" not in first_page.text
    assert "1 participant" in found.text and "Siân Ó Dónaill" in found.text
    assert "30 participants" in north.text
    assert fragment.text.lstrip().startswith("{#") is False
    assert fragment.text.lstrip().startswith(
        '<tbody class="govuk-table__body" id="participant-rows"'
    )
    assert "HX-Request" in fragment.headers["Vary"]


def test_withdrawing_a_person_keeps_them_but_stops_their_link(client, auth, session):
    auth.login()
    programme = make_programme(session)
    person = make_participant(session, programme)
    wave = make_wave(session, programme)
    token = wave.invitations[0].token
    session.commit()

    response = client.post(f"/admin/programmes/{programme.id}/participants/{person.id}/withdraw")
    link = client.get(f"/r/{token}")

    assert response.status_code == 303
    assert link.status_code == 404
    session.expire_all()
    assert person.withdrawn_at is not None


def test_editing_a_person_checks_the_email(client, auth, session):
    auth.login()
    programme = make_programme(session)
    person = make_participant(session, programme)
    session.commit()
    url = f"/admin/programmes/{programme.id}/participants/{person.id}"
    data = {
        "name": "New Name",
        "email": "new@example.org",
        "team": "East",
        "organisation": "",
        "region": "",
        "role": "Peer",
    }

    bad = client.post(url, data=data | {"email": "nope"})
    good = client.post(url, data=data)

    assert bad.status_code == 422 and "Enter an email address in the correct format" in bad.text
    assert good.status_code == 303
    session.expire_all()
    assert (person.name, person.email, person.team) == ("New Name", "new@example.org", "East")


def test_another_programmes_person_is_not_found(client, auth, session):
    auth.login()
    mine, theirs = make_programme(session), make_programme(session)
    person = make_participant(session, theirs)
    session.commit()

    response = client.get(f"/admin/programmes/{mine.id}/participants/{person.id}")

    assert response.status_code == 404


def test_a_wave_invites_its_audience_with_unguessable_links(client, auth, session):
    auth.login()
    programme = make_programme(session)
    for role in ("Peer", "Peer", "Peer supporter"):
        make_participant(session, programme, role=role)
    make_participant(session, programme, role="Peer", withdrawn_at=None)
    version = stored_version(session, "peer_support_baseline")
    session.commit()

    response = client.post(
        f"/admin/programmes/{programme.id}/waves/new",
        data={
            "label": "Baseline",
            "version": str(version.id),
            "opens_on-day": "1",
            "opens_on-month": "5",
            "opens_on-year": "2030",
            "opens_time": "09:00",
            "closes_on-day": "22",
            "closes_on-month": "5",
            "closes_on-year": "2030",
            "closes_time": "17:00",
            "target_rate": "60",
            "privacy": "identified",
            "role": ["Peer"],
        },
    )

    assert response.status_code == 303
    wave = session.scalar(select(Wave))
    assert wave.audience == {"role": ["Peer"]}
    assert wave.opens_at.isoformat() == "2030-05-01T08:00:00"  # 9am British Summer Time
    tokens = session.scalars(select(Invitation.token)).all()
    assert len(tokens) == 3 and len(set(tokens)) == 3
    assert all(len(token) >= 22 for token in tokens)
    detail = client.get(response.location)
    # The links are the ones the emails carry: from BASE_URL, not the request's host.
    base = client.application.config["BASE_URL"]
    assert f"{base}/r/{tokens[0]}" in detail.text and "localhost/r/" not in detail.text


def test_a_wave_that_closes_before_it_opens_is_refused(client, auth, session):
    auth.login()
    programme = make_programme(session)
    version = stored_version(session, "session_evaluation")
    session.commit()
    day = {"day": "1", "month": "5", "year": "2030"}

    response = client.post(
        f"/admin/programmes/{programme.id}/waves/new",
        data={
            "label": "X",
            "version": str(version.id),
            **{f"opens_on-{part}": value for part, value in day.items()},
            "opens_time": "10:00",
            **{f"closes_on-{part}": value for part, value in day.items()},
            "closes_time": "09:00",
            "target_rate": "60",
            "privacy": "anonymous",
        },
    )

    assert response.status_code == 422
    assert "The closing date must be after the opening date." in response.text
    assert session.scalar(select(func.count()).select_from(Wave)) == 0


def test_reopening_a_completed_identified_response_restores_the_draft(client, auth, session):
    from surveyapp.web.context import version_questionnaire  # noqa: F401
    from tests.participant import complete

    auth.login()
    programme = make_programme(session)
    make_participant(session, programme)
    wave = make_wave(session, programme)
    invitation = wave.invitations[0]
    session.commit()
    from surveyapp import PROJECT_ROOT
    from surveyapp.questionnaires import load_all

    participant = client.application.test_client()
    complete(
        participant,
        invitation.token,
        load_all(PROJECT_ROOT / "questionnaires").questionnaires["session_evaluation"],
    )

    response = client.post(f"/admin/waves/{wave.id}/invitations/{invitation.id}/reopen")

    assert response.status_code == 303
    session.expire_all()
    assert invitation.completed_at is None
    assert len(invitation.drafts) > 0
    assert "Check your answers" in participant.get("/r/").text
