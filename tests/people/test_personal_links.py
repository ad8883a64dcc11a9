"""A wave's personal links, downloaded for the programme's own email: who is in the file,
who is left out and why, the formula guard, the audit entry and who may download it."""

import csv
import io

import pytest
from sqlalchemy import select

from surveyapp.models import AuditEvent
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave

BASE_URL = "https://surveys.example.org"


@pytest.fixture
def wave(session):
    """A wave of five: two to write to, one withdrawn since, one opted out, one whose
    contact details were removed."""
    programme = make_programme(session, name="Kent Peer Leaders")
    for id_number, name, email, extra in (
        ("A001", "Siân Jones", "sian@example.org", {}),
        ("A002", '=HYPERLINK("http://evil.example")', "bo@example.org", {}),
        ("A003", "Cy Withdrawn", "cy@example.org", {}),
        ("A004", "Di Optout", "di@example.org", {}),
        ("A005", "", "", {"contact_removed_at": NOW}),
    ):
        make_participant(session, programme, id_number=id_number, name=name, email=email, **extra)
    wave = make_wave(session, programme, label="Baseline")
    by_id = {i.participant.id_number: i for i in wave.invitations}
    by_id["A003"].participant.withdrawn_at = NOW  # after being invited
    by_id["A004"].opted_out_at = NOW
    by_id["A002"].started_at = NOW
    session.commit()
    return wave


def _url(wave, end=""):
    return f"/admin/programmes/{wave.programme_id}/waves/{wave.id}/links{end}"


def test_the_file_lists_everyone_to_write_to_with_the_links_emails_carry(make_app, session, wave):
    app = make_app(BASE_URL=BASE_URL + "/")
    client = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(client, session).login(email="pm@example.org", role="programme_manager")
    tokens = {i.participant.id_number: i.token for i in wave.invitations}

    response = client.get(_url(wave, ".csv"))

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="personal-links-wave-{wave.id}.csv"'
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows == [
        ["ID number", "Name", "Email", "Personal link", "Status"],
        ["A001", "Siân Jones", "sian@example.org", f"{BASE_URL}/r/{tokens['A001']}", "Not started"],
        [
            "A002",
            '\'=HYPERLINK("http://evil.example")',
            "bo@example.org",
            f"{BASE_URL}/r/{tokens['A002']}",
            "Started",
        ],
    ]
    session.expire_all()
    entry = session.scalars(select(AuditEvent).where(AuditEvent.action == "export.download")).one()
    assert (entry.actor, entry.at, entry.programme_id, entry.object_type, entry.object_id) == (
        "pm@example.org",
        NOW,
        wave.programme_id,
        "wave",
        str(wave.id),
    )
    assert "“Baseline”" in entry.summary and "2 people" in entry.summary
    assert tokens["A001"] not in entry.summary


def test_the_page_says_who_is_left_out_and_links_to_the_download(client, auth, session, wave):
    auth.login(email="pm@example.org", role="programme_manager")

    detail = client.get(f"/admin/waves/{wave.id}").text
    page = client.get(_url(wave))

    assert _url(wave) in detail
    assert page.status_code == 200
    assert "The file lists <strong>2</strong> people." in page.text
    assert (
        "In this wave that is 1 withdrawn, 1 who asked for no more reminders and 1 whose "
        "contact details were removed." in page.text
    )
    assert _url(wave, ".csv") in page.text
    assert "=HYPERLINK" not in page.text  # the page names nobody
    assert (
        session.scalars(select(AuditEvent).where(AuditEvent.action == "export.download")).all()
        == []
    )


@pytest.mark.parametrize("role", ["evaluator", "viewer"])
def test_roles_that_do_not_send_may_not_download_the_links(client, auth, wave, role):
    auth.login(email=f"{role}@example.org", role=role)

    assert client.get(_url(wave, ".csv")).status_code == 403
    assert client.get(_url(wave)).status_code == 403


def test_a_wave_named_under_another_programme_is_not_found(client, auth, session, wave):
    other = make_programme(session, name="Another programme")
    session.commit()
    auth.login()

    response = client.get(f"/admin/programmes/{other.id}/waves/{wave.id}/links.csv")

    assert response.status_code == 404


def test_a_closed_wave_offers_no_download(client, auth, session, wave):
    wave.closes_at = NOW
    session.commit()
    auth.login()

    page = client.get(_url(wave)).text

    assert "its links no longer take answers, so there is nothing to send" in page
    assert _url(wave, ".csv") not in page
