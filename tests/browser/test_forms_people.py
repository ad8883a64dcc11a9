"""The study team's programme, cohort and participant forms, filled in and sent in Chromium.

Every admin page is boosted by htmx (``hx-boost`` on the body), so each journey runs with
JavaScript on and again with it off, where the same forms must work as plain HTML.
"""

import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from surveyapp.models import Invitation, Participant, Programme
from tests.browser.conftest import sign_in
from tests.conftest import NOW
from tests.factories import make_invitation, make_participant, make_programme

pytestmark = pytest.mark.browser

BOTH = pytest.mark.parametrize("javascript", [True, False], ids=["javascript-on", "javascript-off"])
BANNER = ".govuk-notification-banner--success"
SUMMARY = ".govuk-error-summary"


@pytest.fixture
def open_admin(browser, live_server):
    """Open a signed-in admin page with JavaScript on or off; fail on any script error."""
    contexts, errors = [], []

    def open_page(javascript: bool):
        context = browser.new_context(java_script_enabled=javascript)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_in(page, live_server.url)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == []


def expect_errors(page, *messages) -> None:
    """Wait until the error summary lists exactly ``messages`` (texts or patterns)."""
    expect(page.locator(f"{SUMMARY} li")).to_have_text(list(messages))


def programme_row(live_server, name: str):
    with live_server.sessionmaker() as session:
        programme = session.scalar(select(Programme).where(Programme.name == name))
        if programme is None:
            return None
        return (
            programme.name,
            programme.run_by,
            programme.description,
            programme.reporting_threshold,
            programme.contact_retention_until,
        )


def participant_rows(live_server) -> list[tuple]:
    with live_server.sessionmaker() as session:
        return [
            (p.id_number, p.name, p.email, p.team, p.organisation, p.region, p.role, p.attributes)
            for p in session.scalars(select(Participant).order_by(Participant.id_number))
        ]


def fill_programme(page, *, name, run_by, description, threshold, retention):
    page.fill("#name", name)
    page.fill("#run_by", run_by)
    page.fill("#description", description)
    page.fill("#reporting_threshold", threshold)
    page.fill("#contact_retention_until", retention)


# -- programmes ---------------------------------------------------------------------------


@BOTH
@pytest.mark.posts("/admin/programmes/new", "/admin/programmes/<int:programme_id>/edit")
def test_create_a_programme_then_change_every_detail(open_admin, live_server, javascript):
    with live_server.sessionmaker() as session:
        make_programme(session, name="Kent Peer Leaders")
        session.commit()
    page = open_admin(javascript)
    page.click("a:has-text('Create a programme')")
    expect(page.locator("h1")).to_have_text("Create a programme")

    # Blank name and organiser, a threshold below 3: every problem is named, nothing saved.
    fill_programme(page, name="   ", run_by="", description="", threshold="2", retention="")
    page.click("button:has-text('Create programme')")
    expect_errors(
        page,
        "Enter the programme name",
        "Enter who runs the evaluation",
        "The reporting threshold must be 3 or more",
    )
    expect(page).to_have_title(re.compile(r"^Error: Create a programme"))
    with live_server.sessionmaker() as session:
        assert session.scalar(select(func.count(Programme.id))) == 1

    fill_programme(
        page,
        name="  North   Leaders  ",
        run_by="The University of Kent evaluation team",
        description="Peer support for new team managers.",
        threshold="7",
        retention="2031-03-31",
    )
    page.click("button:has-text('Create programme')")
    expect(page.locator(BANNER)).to_contain_text(
        "Programme “North Leaders” created. Now load its cohort."
    )
    expect(page.locator("h1")).to_have_text("North Leaders")
    expect(page.locator("#contact-retention")).to_contain_text("removed after 31 March 2031")
    assert programme_row(live_server, "North Leaders") == (
        "North Leaders",
        "The University of Kent evaluation team",
        "Peer support for new team managers.",
        7,
        date(2031, 3, 31),
    )

    page.click("a:has-text('Change the programme\\'s details')")
    expect(page.locator("h1")).to_have_text("Change the programme's details")
    expect(page.locator("#name")).to_have_value("North Leaders")
    expect(page.locator("#contact_retention_until")).to_have_value("2031-03-31")
    assert page.locator("#confirm_past_retention").count() == 0

    # A name another programme has is refused.
    page.fill("#name", "Kent Peer Leaders")
    page.click("button:has-text('Save changes')")
    expect_errors(page, "There is already a programme with this name")

    # A retention date already past asks for a tick before anyone's details go.
    fill_programme(
        page,
        name="North and East Leaders",
        run_by="Kent evaluation team",
        description="Peer support for new and aspiring team managers.",
        threshold="10",
        retention="2030-04-01",
    )
    page.click("button:has-text('Save changes')")
    expect_errors(
        page, re.compile(r"^1 April 2030 has passed: everyone's contact details would be")
    )
    assert programme_row(live_server, "North Leaders")[4] == date(2031, 3, 31)
    assert programme_row(live_server, "North and East Leaders") is None
    expect(page.locator("#name")).to_have_value("North and East Leaders")

    page.check("#confirm_past_retention")
    page.click("button:has-text('Save changes')")
    expect(page.locator(BANNER)).to_contain_text("Programme details saved.")
    expect(page.locator("h1")).to_have_text("North and East Leaders")
    assert programme_row(live_server, "North Leaders") is None
    assert programme_row(live_server, "North and East Leaders") == (
        "North and East Leaders",
        "Kent evaluation team",
        "Peer support for new and aspiring team managers.",
        10,
        date(2030, 4, 1),
    )


# -- the cohort file ----------------------------------------------------------------------


COHORT = (
    "ID number,Full name,Email address,Team,Local authority,Region,Job role,Start year\n"
    "A101,Amira Khan,Amira.Khan@Example.org,North,Kent County Council,South East,Peer,2030\n"
    "A102,Ben O'Neill,ben@example.org,South,Medway Council,South East,Mentor,2029\n"
    "A103,Chloé Dubois,chloe@example.org,North,Leeds City Council,Yorkshire,Peer,2030\n"
    "A104,Dev Patel,not-an-email,South,Medway Council,South East,Peer,2030\n"
)


@BOTH
@pytest.mark.posts(
    "/admin/programmes/<int:programme_id>/cohort",
    "/admin/programmes/<int:programme_id>/cohort/import",
)
def test_check_a_cohort_file_then_load_its_good_rows(open_admin, live_server, javascript, tmp_path):
    with live_server.sessionmaker() as session:
        programme_id = make_programme(session, name="Cohort programme").id
        session.commit()
    no_email = tmp_path / "no-email.csv"
    no_email.write_text("id_number,name,team\nA101,Amira Khan,North\n", encoding="utf-8")
    cohort = tmp_path / "cohort.csv"
    cohort.write_text(COHORT, encoding="utf-8")
    page = open_admin(javascript)
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}")
    page.click("a:has-text('Load participants from a CSV file')")
    expect(page.locator("h1")).to_have_text("Load participants from a CSV file")

    page.click("button:has-text('Check the file')")
    expect_errors(page, "Choose a CSV file to upload")

    page.set_input_files("#file", str(no_email))
    page.click("button:has-text('Check the file')")
    expect(page.locator(f"{SUMMARY}:has-text('This file cannot be loaded')")).to_contain_text(
        "There is no “email” column"
    )
    assert page.locator("button:has-text('Load')").count() == 0

    page.set_input_files("#file", str(cohort))
    page.click("button:has-text('Check')")
    body = page.locator("main")
    expect(body).to_contain_text("3 rows ready to load, 1 problem in rows that will be left out.")
    expect(body).to_contain_text("Further columns kept with each person: Start year.")
    problems = page.locator("table:has(caption:has-text('Rows with problems')) tbody tr")
    assert problems.all_inner_texts() == ["5\tA104\t“not-an-email” is not a valid email address."]
    first_rows = page.locator("table:has(caption:has-text('First rows to load')) tbody tr")
    assert first_rows.count() == 3
    assert participant_rows(live_server) == []  # checked, not saved

    page.click("button:has-text('Load 3 participants')")
    expect(page.locator(BANNER)).to_contain_text(
        "Cohort imported: 3 added, 0 updated, 0 unchanged; 1 row(s) with problems were left out."
    )
    expect(page.locator("h1")).to_have_text("Participants")
    expect(page.locator("#participant-rows")).to_contain_text("3 participants")
    expect(page.locator("#participant-rows")).to_contain_text("amira.khan@example.org")
    assert participant_rows(live_server) == [
        (
            "A101",
            "Amira Khan",
            "amira.khan@example.org",
            "North",
            "Kent County Council",
            "South East",
            "Peer",
            {"Start year": "2030"},
        ),
        (
            "A102",
            "Ben O'Neill",
            "ben@example.org",
            "South",
            "Medway Council",
            "South East",
            "Mentor",
            {"Start year": "2029"},
        ),
        (
            "A103",
            "Chloé Dubois",
            "chloe@example.org",
            "North",
            "Leeds City Council",
            "Yorkshire",
            "Peer",
            {"Start year": "2030"},
        ),
    ]

    # A file with the name in two columns: read, said how, and the update shown before saving.
    split = tmp_path / "split-names.csv"
    split.write_text(
        "ID number,Forename,Surname,Email address,Team\n"
        "A101,Amira,Khan,amira@new.example.org,North\n"
        "A105,Eve,Stone,eve@example.org,East\n",
        encoding="utf-8",
    )
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}/cohort")
    page.set_input_files("#file", str(split))
    page.click("button:has-text('Check the file')")
    readings = page.locator("#column-readings tbody tr")
    expect(readings.nth(2)).to_have_text(
        re.compile(r"C\s*Surname\s*Last name, joined after the first name into the name")
    )
    expect(page.locator("#import-outcome")).to_have_text(
        "Loading it adds 1 person, updates 1 and leaves 0 unchanged."
    )
    expect(page.locator("#updates tbody tr")).to_have_text(
        [re.compile(r"2\s*Updates A101: email changed")]
    )
    assert participant_rows(live_server)[0][2] == "amira.khan@example.org"  # not yet saved
    page.click("button:has-text('Load 2 participants')")
    expect(page.locator(BANNER)).to_contain_text(
        "Cohort imported: 1 added, 1 updated, 0 unchanged."
    )
    rows = {row[0]: row for row in participant_rows(live_server)}
    assert rows["A101"][1:4] == ("Amira Khan", "amira@new.example.org", "North")
    assert rows["A105"][1:4] == ("Eve Stone", "eve@example.org", "East")


# -- one person ---------------------------------------------------------------------------


@BOTH
@pytest.mark.posts(
    "/admin/programmes/<int:programme_id>/participants/<int:participant_id>",
    "/admin/programmes/<int:programme_id>/participants/<int:participant_id>/withdraw",
)
def test_change_a_persons_details_then_withdraw_them(open_admin, live_server, javascript):
    with live_server.sessionmaker() as session:
        programme = make_programme(session, name="People programme")
        person = make_participant(session, programme, id_number="B200", name="Sam Jones")
        programme_id, person_id = programme.id, person.id
        session.commit()
    before = participant_rows(live_server)
    page = open_admin(javascript)
    confirms = []
    page.on("dialog", lambda dialog: (confirms.append(dialog.message), dialog.accept()))
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}")
    page.click("a:has-text('See participants')")
    page.click("#participant-rows a:has-text('B200')")
    expect(page.locator("h1")).to_have_text("Sam Jones")

    page.fill("#name", " ")
    page.fill("#email", "sam.at.example.org")
    page.click("button:has-text('Save changes')")
    expect_errors(
        page,
        "Enter the full name",
        "Enter an email address in the correct format, like name@example.org",
    )
    assert participant_rows(live_server) == before

    # Two dots in a row: refused by the one email check, as in a cohort file.
    page.fill("#name", "Sam Jones")
    page.fill("#email", "sam@example..org")
    page.click("button:has-text('Save changes')")
    expect_errors(page, "Enter an email address in the correct format, like name@example.org")
    assert participant_rows(live_server) == before

    page.fill("#name", "Samira  Jones-Okafor")
    page.fill("#email", "Samira.Jones@Example.org")
    page.fill("#team", "East")
    page.fill("#organisation", "Essex County Council")
    page.fill("#region", "East of England")
    page.fill("#role", "Mentor")
    page.click("button:has-text('Save changes')")
    expect(page.locator(BANNER)).to_contain_text("Details of Samira Jones-Okafor saved.")
    expect(page.locator("#participant-rows")).to_contain_text("samira.jones@example.org")
    with live_server.sessionmaker() as session:
        saved = session.get(Participant, person_id)
        assert (
            saved.name,
            saved.email,
            saved.team,
            saved.organisation,
            saved.region,
            saved.role,
            saved.updated_at,
            saved.withdrawn_at,
        ) == (
            "Samira Jones-Okafor",
            "samira.jones@example.org",
            "East",
            "Essex County Council",
            "East of England",
            "Mentor",
            NOW,
            None,
        )

    page.click("#participant-rows a:has-text('B200')")
    page.click("button:has-text('Withdraw Samira Jones-Okafor')")
    expect(page.locator(BANNER)).to_contain_text(
        "Samira Jones-Okafor is withdrawn. Their links no longer work; their answers are kept."
    )
    expect(page.locator("#participant-rows .govuk-tag")).to_have_text("Withdrawn")
    assert confirms == (
        ["Withdraw Samira Jones-Okafor? Their links will stop working."] if javascript else []
    )
    with live_server.sessionmaker() as session:
        assert session.get(Participant, person_id).withdrawn_at == NOW
    page.click("#participant-rows a:has-text('B200')")
    expect(page.locator(".govuk-inset-text")).to_contain_text("Withdrawn on")
    assert page.locator("button:has-text('Withdraw')").count() == 0


@BOTH
@pytest.mark.posts("/admin/programmes/<int:programme_id>/participants/<int:participant_id>/erase")
def test_erase_a_person_after_typing_their_id_number(open_admin, live_server, javascript):
    with live_server.sessionmaker() as session:
        invitation = make_invitation(
            session,
            participant={
                "id_number": "C300",
                "name": "Priya Shah",
                "email": "priya@example.org",
                "team": "West",
                "attributes": {"Start year": "2030"},
            },
        )
        person = invitation.participant
        programme_id, person_id = person.programme_id, person.id
        old_token = invitation.token
        session.commit()
    page = open_admin(javascript)
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}/participants")
    page.click("#participant-rows a:has-text('C300')")
    page.click("a:has-text('Erase this person\\'s data')")
    expect(page.locator("h1")).to_have_text("Erase the data of participant C300")
    expect(page.locator("#removed")).to_contain_text("Their 1 personal link: they stop working.")
    expect(page.locator("#kept")).to_contain_text("(West,")

    page.click("button:has-text('Erase for good')")
    expect_errors(page, "Type the person's ID number to confirm the erasure")
    page.fill("#id_number", "C30")
    page.click("button:has-text('Erase for good')")
    expect_errors(page, "Type the ID number C300 exactly as shown, to confirm")
    with live_server.sessionmaker() as session:
        kept = session.get(Participant, person_id)
        assert (kept.id_number, kept.name, kept.email, kept.erased_at) == (
            "C300",
            "Priya Shah",
            "priya@example.org",
            None,
        )

    page.fill("#id_number", "C300")
    page.click("button:has-text('Erase for good')")
    expect(page.locator(BANNER)).to_contain_text(
        "The data of participant C300 has been erased. They are listed as “erased” from now on."
    )
    expect(page.locator("h1")).to_have_text("Erased participant")
    expect(page.locator("#erased")).to_contain_text("Erased at their request on")
    assert page.locator("main").inner_text().count("Priya") == 0
    with live_server.sessionmaker() as session:
        erased = session.get(Participant, person_id)
        assert (erased.name, erased.email, erased.attributes, erased.team) == ("", "", {}, "West")
        assert erased.id_number.startswith("erased-")
        assert (erased.erased_at, erased.contact_removed_at, erased.withdrawn_at) == (NOW,) * 3
        tokens = session.scalars(
            select(Invitation.token).where(Invitation.participant_id == person_id)
        ).all()
        assert len(tokens) == 1 and tokens[0] != old_token


# -- finding a person ---------------------------------------------------------------------


def test_live_search_finds_a_person_as_you_type(open_admin, live_server):
    programme_id = _three_people(live_server)
    page = open_admin(True)
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}/participants")
    rows = page.locator("#participant-rows")
    expect(rows).to_contain_text("3 participants")
    page.evaluate("window.notReloaded = true")

    page.fill("#q", "KHAN")
    expect(rows).to_contain_text("1 participant")
    expect(rows).to_contain_text("Amira Khan")
    expect(rows).not_to_contain_text("Ben Okafor")
    assert page.evaluate("window.notReloaded") is True  # only the rows were swapped
    assert "q=KHAN" in page.url  # the address can be bookmarked or shared

    page.fill("#q", "")
    page.select_option("#team", "South")
    expect(rows).to_contain_text("1 participant")
    expect(rows).to_contain_text("Ben Okafor")
    assert page.evaluate("window.notReloaded") is True


def test_search_finds_a_person_with_javascript_off(open_admin, live_server):
    programme_id = _three_people(live_server)
    page = open_admin(False)
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}/participants")
    page.fill("#q", "chloe@")
    page.click("button:has-text('Search')")
    rows = page.locator("#participant-rows")
    expect(rows).to_contain_text("1 participant")
    expect(rows).to_contain_text("Chloé Dubois")
    expect(rows).not_to_contain_text("Amira Khan")
    assert "q=chloe%40" in page.url
    expect(page.locator("#q")).to_have_value("chloe@")


def _three_people(live_server) -> int:
    with live_server.sessionmaker() as session:
        programme = make_programme(session, name="Search programme")
        for number, name, email, team in (
            ("D401", "Amira Khan", "amira@example.org", "North"),
            ("D402", "Ben Okafor", "ben@example.org", "South"),
            ("D403", "Chloé Dubois", "chloe@example.org", "North"),
        ):
            make_participant(
                session, programme, id_number=number, name=name, email=email, team=team
            )
        session.commit()
        return programme.id


# -- personal links for the programme's own email -----------------------------------------


def test_download_a_waves_personal_links_from_the_waves_page(open_admin, live_server):
    from surveyapp.models import AuditEvent
    from tests.factories import make_wave

    with live_server.sessionmaker() as session:
        programme = make_programme(session, name="Own mail programme")
        make_participant(session, programme, id_number="E501", name="Eve Stone")
        make_participant(session, programme, id_number="E502", name="Withdrawn Person")
        wave = make_wave(session, programme, label="Baseline")
        tokens = {i.participant.id_number: i.token for i in wave.invitations}
        wave.invitations[1].participant.withdrawn_at = NOW
        wave_id = wave.id
        session.commit()
    page = open_admin(True)
    page.goto(f"{live_server.url}/admin/waves/{wave_id}")
    page.click("#own-email-links")
    expect(page.locator("h1")).to_have_text("Personal links for your own email")
    expect(page.locator("#links-included")).to_have_text("The file lists 1 person.")
    expect(page.locator("#links-left-out")).to_contain_text("In this wave that is 1 withdrawn")

    with page.expect_download() as download:
        page.click("#download-links")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines() == [
        "ID number,Name,Email,Personal link,Status",
        f"E501,Eve Stone,{make_participant_email(live_server, 'E501')},"
        f"http://127.0.0.1:5000/r/{tokens['E501']},Not started",
    ]
    with live_server.sessionmaker() as session:
        entry = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (entry.action, entry.actor, entry.object_id) == (
            "export.download",
            "admin@example.org",
            str(wave_id),
        )


def make_participant_email(live_server, id_number: str) -> str:
    with live_server.sessionmaker() as session:
        return session.scalar(select(Participant.email).where(Participant.id_number == id_number))
