"""In Chromium: questionnaire files through the browser. Uploading files, storing the clean
ones, and the editor (checked as the person types, and with JavaScript off)."""

import pytest
from sqlalchemy import select

from surveyapp import PROJECT_ROOT
from surveyapp.models import AuditEvent, QuestionnaireVersion, User, Wave
from surveyapp.questionnaires import catalogue, load_all
from tests.browser.conftest import sign_in, wait_until
from tests.conftest import NOW
from tests.factories import make_participant, make_programme

pytestmark = pytest.mark.browser

SHIPPED = PROJECT_ROOT / "questionnaires"
SESSION_TEXT = (SHIPPED / "session_evaluation.yaml").read_text(encoding="utf-8")


def store_shipped(live_server) -> None:
    with live_server.sessionmaker() as session:
        catalogue.store_versions(session, load_all(SHIPPED), now=NOW)
        session.commit()


def stored(live_server, key: str) -> list[QuestionnaireVersion]:
    with live_server.sessionmaker() as session:
        return session.scalars(
            select(QuestionnaireVersion)
            .where(QuestionnaireVersion.questionnaire_key == key)
            .order_by(QuestionnaireVersion.number)
        ).all()


def audited(live_server) -> list[tuple[str, str]]:
    with live_server.sessionmaker() as session:
        return [
            (event.action, event.summary)
            for event in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.like("questionnaire.%"))
                .order_by(AuditEvent.id)
            )
        ]


@pytest.mark.posts("/admin/questionnaires/upload", "/admin/questionnaires/upload/store")
def test_uploading_files_shows_every_finding_and_stores_only_the_clean_one(
    browser, live_server, tmp_path
):
    store_shipped(live_server)
    reworded = SESSION_TEXT.replace("What kind of session was it?", "What sort of session was it?")
    (tmp_path / "session_evaluation.yaml").write_text(reworded, encoding="utf-8")
    broken = SESSION_TEXT.replace("key: session_evaluation", "key: parent_survey").replace(
        "max: 50", "max: many"
    )
    (tmp_path / "parent_survey.yaml").write_text(broken, encoding="utf-8")
    (tmp_path / "windows.yaml").write_bytes("title: Caf\u00e9\n".encode("cp1252"))
    page = browser.new_page()
    sign_in(page, live_server.url)
    page.click("nav >> text=Questionnaires")

    page.set_input_files(
        "#files",
        [
            tmp_path / name
            for name in ("session_evaluation.yaml", "parent_survey.yaml", "windows.yaml")
        ],
    )
    page.click("button:has-text('Check the files')")

    page.wait_for_selector("h1:has-text('Upload questionnaire files')")
    assert "3 files checked: 1 ready to store, 2 with errors." in page.inner_text("#upload-summary")
    bad = page.inner_text("#file-2")
    line = broken.splitlines().index("        max: many") + 1
    assert (
        f'parent_survey.yaml, line {line}, column 9: "max" of the item "session_number" must be '
        'a number, not "many".'
    ) in bad
    assert f"{line} |         max: many" in bad  # the offending line, quoted
    assert "not stored" in bad
    assert (
        "windows.yaml, line 1, column 11: The file is not saved as UTF-8 text"
        in page.inner_text("#file-3")
    )
    good = page.inner_text("#file-1")
    assert "Stored as version 2 of Session evaluation" in good
    assert "reworded from “What kind of session was it?” to “What sort of session was it?”" in good
    assert [v.number for v in stored(live_server, "session_evaluation")] == [1]
    assert stored(live_server, "parent_survey") == []

    page.click("button:has-text('Store 1 new version and leave out the files with errors')")

    page.wait_for_selector("h1:has-text('Session evaluation')")
    assert "session_evaluation version 2" in page.inner_text(".govuk-notification-banner")
    history = page.inner_text(".app-version >> nth=0")
    assert "Version 2, stored" in history and "by admin@example.org" in history
    assert "What sort of session was it?" in history
    versions = stored(live_server, "session_evaluation")
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].source_text == reworded
    with live_server.sessionmaker() as session:
        admin = session.scalar(select(User).where(User.email == "admin@example.org"))
        assert versions[1].loaded_by_id == admin.id
    assert stored(live_server, "parent_survey") == []
    assert audited(live_server) == [
        ("questionnaire.upload_refused", "parent_survey.yaml refused: 1 error(s)"),
        ("questionnaire.upload_refused", "windows.yaml refused: 1 error(s)"),
        (
            "questionnaire.upload",
            "session_evaluation version 2 stored from the uploaded file session_evaluation.yaml",
        ),
    ]
    page.close()


@pytest.mark.posts("/admin/questionnaires/<key>/versions/<int:number>/edit")
def test_the_editor_checks_as_the_person_types_and_the_preview_follows_the_cursor(
    browser, live_server
):
    store_shipped(live_server)
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/questionnaires/session_evaluation")
    page.click("text=Edit version 1 as a new version")
    page.wait_for_selector("h1:has-text('Edit version 1')")
    assert "No problems found." in page.inner_text("#editor-status")
    editor = page.locator("#editor-text")

    # The cursor at the end of the file is in the last page: the preview follows it.
    editor.click()
    page.keyboard.press("Control+End")
    wait_until(
        page,
        "document.querySelector('#editor-preview h3')?.textContent === 'Your views on the session'",
    )
    # A key the format does not know, typed: the checker says so within a second or so.
    page.keyboard.type("bad_key: 1")
    wait_until(page, "document.querySelector('#editor-status').textContent.includes('1 error')")
    check = page.inner_text("#editor-check")
    assert 'The questionnaire has the key "bad_key", which this format does not know.' in check
    assert "bad_key: 1" in page.inner_text(".app-finding__line")
    for _ in "bad_key: 1":
        page.keyboard.press("Backspace")
    wait_until(page, "document.querySelector('#editor-status').textContent.includes('No problems')")

    # Back at the top: the first page is previewed.
    page.keyboard.press("Control+Home")
    wait_until(
        page, "document.querySelector('#editor-preview h3')?.textContent === 'About the session'"
    )
    reworded = SESSION_TEXT.replace("Which session was this", "Which session number was this")
    editor.fill(reworded)
    page.keyboard.press("End")
    wait_until(page, "document.querySelector('#editor-check .app-changes') !== null")
    assert "reworded from “Which session was this in your programme?”" in page.inner_text(
        "#editor-check .app-changes"
    )
    assert [v.number for v in stored(live_server, "session_evaluation")] == [1]

    page.click("button:has-text('Save as a new version')")

    page.wait_for_selector(
        ".govuk-notification-banner:has-text('session_evaluation version 2 stored.')"
    )
    assert "Which session number was this in your programme?" in page.inner_text(
        ".app-version >> nth=0"
    )
    versions = stored(live_server, "session_evaluation")
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].source_text == reworded
    assert audited(live_server) == [
        ("questionnaire.edit", "session_evaluation version 2 stored from the editor")
    ]
    assert errors == []
    page.close()


@pytest.mark.posts("/admin/questionnaires/new")
def test_writing_a_new_questionnaire_without_javascript(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/questionnaires")
    page.click("text=write a new questionnaire in the browser")
    page.wait_for_selector("h1:has-text('Write a new questionnaire')")

    text = SESSION_TEXT.replace("key: session_evaluation", "key: parent_survey").replace(
        "title: Session evaluation", "title: Parent survey"
    )
    page.fill("#editor-name", "parent_survey.yaml")
    page.fill("#editor-text", text.replace("max: 50", "max: many"))
    page.click("button:has-text('Check')")

    status = page.inner_text("#editor-status")
    assert "1 error" in status
    line = text.splitlines().index("        max: 50") + 1
    assert f"parent_survey.yaml, line {line}, column" in page.inner_text("#editor-check")
    page.click("button:has-text('Save as a new version')")
    assert "Nothing was stored: correct the errors first." in page.inner_text("#editor-note")
    assert stored(live_server, "parent_survey") == []

    page.fill("#editor-text", text)
    page.click("button:has-text('Check')")
    assert "No problems found." in page.inner_text("#editor-status")
    assert "About the session" in page.inner_text("#editor-preview")
    page.click("button:has-text('Save as a new version')")

    page.wait_for_selector("h1:has-text('Parent survey')")
    assert "parent_survey version 1 stored." in page.inner_text(".govuk-notification-banner")
    assert "The first version." in page.inner_text(".app-version")
    assert [v.source_text for v in stored(live_server, "parent_survey")] == [text]
    page.goto(f"{live_server.url}/admin/questionnaires")
    assert page.locator("a:text-is('Parent survey')").is_visible()
    assert [action for action, _ in audited(live_server)] == [
        "questionnaire.edit_refused",
        "questionnaire.edit",
    ]
    context.close()


DICTIONARY = (
    PROJECT_ROOT
    / "tests"
    / "questionnaires"
    / "redcap"
    / "TeamWellbeing_DataDictionary_2026-12-07.csv"
)


@pytest.mark.posts(
    "/admin/questionnaires/import",
    "/admin/questionnaires/new",
    "/admin/programmes/<int:programme_id>/waves/new",
)
def test_a_redcap_dictionary_is_converted_corrected_stored_and_opened_as_a_wave(
    browser, live_server
):
    with live_server.sessionmaker() as session:
        programme = make_programme(session, name="Team wellbeing pilot")
        make_participant(session, programme, id_number="W001")
        session.commit()
        programme_id = programme.id
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server.url)
    page.click("nav >> text=Questionnaires")
    page.click("text=bring one over from a REDCap data dictionary")
    page.set_input_files("#file", DICTIONARY)
    page.click("button:has-text('Convert the file')")

    # The editor opens on the converted file, with what was not carried over by row.
    page.wait_for_selector("#import-report")
    report = page.inner_text("#import-report")
    assert "7 questions" in report
    assert "Row 9, column Field Label: Piping (a [field] inside the text)" in report
    assert "Row 10, column Field Type: A “calc” field cannot be carried over" in report
    assert "No problems found." in page.inner_text("#editor-status")
    assert stored(live_server, "team_wellbeing") == []

    # Correct the piped label the report lists; the preview follows the cursor to its page.
    editor = page.locator("#editor-text")
    text = editor.input_value().replace("Your email [team]", "Your email address")
    editor.fill(text)
    editor.press("End")
    wait_until(page, "document.querySelector('#editor-preview h3')?.textContent === 'How you feel'")
    assert "Your email address" in page.inner_text("#editor-preview")
    page.click("button:has-text('Save as a new version')")

    page.wait_for_selector(
        ".govuk-notification-banner:has-text('team_wellbeing version 1 stored.')"
    )
    assert [v.source_text for v in stored(live_server, "team_wellbeing")] == [text]

    # A wave opens on it like on any other questionnaire.
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}/waves/new")
    page.fill("#label", "Pilot baseline")
    page.select_option("#version", label="Team wellbeing (version 1)")
    for field, date in (("opens_on", "2 5 2030"), ("closes_on", "23 5 2030")):
        for part, value in zip(("day", "month", "year"), date.split(), strict=True):
            page.fill(f"#{field}-{part}", value)
    page.fill("#opens_time", "09:30")
    page.fill("#closes_time", "17:00")
    page.click("label:has-text('Identified')")
    page.click("button:has-text('Create the wave and its links')")
    page.wait_for_selector(".govuk-notification-banner:has-text('with 1 invitation(s)')")
    with live_server.sessionmaker() as session:
        wave = session.scalar(select(Wave).where(Wave.label == "Pilot baseline"))
        assert wave.questionnaire_version.questionnaire_key == "team_wellbeing"
    assert errors == []
    page.close()
