"""Questionnaire files through the browser: upload, store, edit, download, export (view
tests; the browser tests in tests/browser/test_forms_questionnaire_files.py fill the forms)."""

import io
import json
import re
import time

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from surveyapp import PROJECT_ROOT
from surveyapp.models import Answer, AuditEvent, QuestionnaireVersion
from surveyapp.questionnaires import Catalogue, catalogue, load_all
from surveyapp.questionnaires.comparability import breaking_changes
from surveyapp.questionnaires.loader import check_source
from tests.conftest import NOW
from tests.factories import make_invitation, make_wave
from tests.participant import complete
from tests.test_hostile import QUESTIONNAIRE_FILES

SHIPPED = PROJECT_ROOT / "questionnaires"
SESSION_TEXT = (SHIPPED / "session_evaluation.yaml").read_text(encoding="utf-8")


def versions(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(QuestionnaireVersion))


def actions(session) -> list[str]:
    session.expire_all()
    return session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


def upload(client, *files):
    """Post files as a browser does (encoded in memory: the test client would spool a large
    body to a temporary file it never closes)."""
    data = MultiDict([("files", FileStorage(io.BytesIO(content), name)) for name, content in files])
    boundary, body = encode_multipart(data)
    return client.post(
        "/admin/questionnaires/upload",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def stored_content(response) -> str:
    return (
        re.search(r'name="content" value="([^"]*)"', response.text).group(1).replace("&#34;", '"')
    )


def new_questionnaire(key="parent_survey", title="Parent survey") -> str:
    return SESSION_TEXT.replace("key: session_evaluation", f"key: {key}").replace(
        "title: Session evaluation", f"title: {title}"
    )


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "bad.yaml",
            b"format_version: 1\nkey: bad\ntitle: [unclosed\n",
            "bad.yaml, line 4, column 1: The file is not valid YAML here",
        ),
        (
            "latin.yaml",
            "format_version: 1\nkey: latin\ntitle: Caf\u00e9\n".encode("latin-1"),
            "latin.yaml, line 3, column 11: The file is not saved as UTF-8 text",
        ),
        (
            "big.yaml",
            b"# " + b"x" * 1_100_000 + b"\n",
            "big.yaml, line 1, column 1: The file is 1,100,003 bytes, over the limit of 1 MB",
        ),
        (
            "report.yaml",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
            "report.yaml, line 2, column 2: The file is not saved as UTF-8 text",
        ),
        (
            "notes.txt",
            b"format_version: 1\n",
            "notes.txt, line 1, column 1: Only questionnaire files can be uploaded",
        ),
    ],
    ids=["not-yaml", "not-utf8", "too-large", "pdf", "not-yaml-name"],
)
def test_a_file_that_cannot_be_used_is_named_with_its_line_and_nothing_is_stored(
    client, auth, session, name, content, expected
):
    auth.login()
    before = versions(session)

    started = time.monotonic()
    response = upload(client, (name, content))

    assert time.monotonic() - started < 2
    assert response.status_code == 422
    assert expected in response.text.replace("&#34;", '"').replace("&#39;", "'")
    assert "not stored" in response.text
    assert "Store 1 new version" not in response.text
    assert versions(session) == before
    assert actions(session)[-1] == "questionnaire.upload_refused"


def test_a_checker_error_is_reported_as_the_command_does_with_its_line_quoted(
    client, auth, session, runner, tmp_path
):
    auth.login()
    broken = new_questionnaire().replace("type: matrix", "type: matrixx")
    path = tmp_path / "parent_survey.yaml"
    path.write_text(broken, encoding="utf-8")
    command = runner.invoke(args=["questionnaires", "check", str(path)])
    printed = [line.strip() for line in command.output.splitlines() if "line " in line]

    response = upload(client, ("parent_survey.yaml", broken.encode()))

    page = response.text.replace("&#34;", '"').replace("&#39;", "'")
    assert printed
    for line in printed:
        assert line.replace(str(path), "parent_survey.yaml") in page
    assert "type: matrixx" in page  # the offending line, quoted
    assert versions(session) == 0


def test_a_clean_file_is_stored_only_when_asked_with_what_changed(client, auth, session):
    auth.login()
    catalogue.store_versions(session, load_all(SHIPPED), now=NOW)
    session.commit()
    before = versions(session)
    changed = SESSION_TEXT.replace("What kind of session was it?", "What sort of session was it?")

    report = upload(client, ("session_evaluation.yaml", changed.encode()))

    assert report.status_code == 200
    assert "Stored as version 2 of" in report.text
    assert "reworded from “What kind of session was it?” to “What sort of session was it?”" in (
        report.text
    )
    assert versions(session) == before

    stored = client.post(
        "/admin/questionnaires/upload/store", data={"content": stored_content(report)}
    )

    assert stored.status_code == 303
    assert stored.headers["Location"].endswith("/admin/questionnaires/session_evaluation")
    assert versions(session) == before + 1
    newest = catalogue.latest_versions(session)["session_evaluation"]
    assert newest.number == 2 and newest.source_text == changed
    assert actions(session)[-1] == "questionnaire.upload"
    detail = client.get("/admin/questionnaires/session_evaluation").text
    assert "What sort of session was it?" in detail


def test_two_files_of_one_questionnaire_in_one_upload_are_refused(client, auth, session):
    auth.login()
    text = new_questionnaire().encode()

    response = upload(client, ("parent_survey.yaml", text), ("parent_survey.yml", text))

    assert response.status_code == 422
    assert "Another file of this upload also holds the questionnaire" in response.text.replace(
        "&#34;", '"'
    )
    assert versions(session) == 0


def test_a_tampered_store_form_stores_nothing(client, auth, session):
    auth.login()
    response = client.post("/admin/questionnaires/upload/store", data={"content": "not json"})
    bad = json.dumps([["parent_survey.yaml", "bm90IHlhbWw6IFs="]])  # "not yaml: ["
    refused = client.post("/admin/questionnaires/upload/store", data={"content": bad})

    assert response.status_code == 400
    assert refused.status_code == 303
    assert versions(session) == 0


def test_an_uploaded_questionnaire_is_listed_previewed_and_can_open_a_wave(client, auth, session):
    auth.login()
    report = upload(client, ("parent_survey.yaml", new_questionnaire().encode()))
    client.post("/admin/questionnaires/upload/store", data={"content": stored_content(report)})

    listing = client.get("/admin/questionnaires").text
    detail = client.get("/admin/questionnaires/parent_survey")
    preview = client.get("/admin/questionnaires/parent_survey/preview")

    assert "Parent survey" in listing and "None: stored from the browser" in listing
    assert detail.status_code == 200 and "stored only" in detail.text
    assert preview.status_code == 200
    wave = make_wave(session, key="parent_survey")
    session.commit()
    assert wave.questionnaire_version.questionnaire_key == "parent_survey"


def test_the_editor_checks_the_text_and_saves_only_without_errors(client, auth, session):
    auth.login()
    catalogue.store_versions(session, load_all(SHIPPED), now=NOW)
    session.commit()
    before = versions(session)
    url = "/admin/questionnaires/session_evaluation/versions/1/edit"
    assert SESSION_TEXT.splitlines()[5] in client.get(url).text.replace("&#39;", "'")

    broken = SESSION_TEXT.replace("type: matrix", "type: matrixx")
    checked = client.post(url, data={"editor-text": broken, "save": "1"})
    fragment = client.post(
        url,
        data={"editor-text": SESSION_TEXT, "editor-cursor_line": "62"},
        headers={"HX-Request": "true"},
    )

    assert checked.status_code == 422
    assert "Nothing was stored: correct the errors first." in checked.text
    assert "session_evaluation.yaml, line " in checked.text
    assert fragment.text.lstrip().startswith('<div id="editor-check">')
    assert "Your views on the session" in fragment.text  # the page line 62 is in
    assert "About the session</h3>" not in fragment.text
    assert versions(session) == before

    fixed = SESSION_TEXT.replace("Which session was this", "Which session number was this")
    saved = client.post(url, data={"editor-text": fixed.replace("\n", "\r\n"), "save": "1"})

    assert saved.status_code == 303
    newest = catalogue.latest_versions(session)["session_evaluation"]
    assert newest.number == 2 and newest.source_text == fixed
    assert actions(session)[-2:] == ["questionnaire.edit_refused", "questionnaire.edit"]


def test_a_new_questionnaire_can_be_written_in_the_editor(client, auth, session):
    auth.login()
    page = client.get("/admin/questionnaires/new")
    assert "key: new_questionnaire" in page.text

    saved = client.post(
        "/admin/questionnaires/new",
        data={"editor-name": "parent_survey.yaml", "editor-text": new_questionnaire(), "save": "1"},
    )

    assert saved.status_code == 303
    assert catalogue.latest_versions(session)["parent_survey"].number == 1


def test_a_change_that_breaks_comparisons_names_the_waves_and_answers(client, auth, session):
    invitation = make_invitation(session, key="session_evaluation", label="Set A meeting 1")
    wave, token = invitation.wave, invitation.token
    session.commit()
    complete(client, token, catalogue.questionnaire_of(wave.questionnaire_version))
    auth.login()
    changed = SESSION_TEXT.replace(
        "          - {code: 2, label: Mentor or supervisor}\n", ""
    ).replace("max: 50", "max: 60")

    report = upload(client, ("session_evaluation.yaml", changed.encode()))

    text = report.text.replace("&#34;", '"')
    stored = session.scalar(
        select(func.count())
        .select_from(Answer)
        .where(Answer.answer_id.in_(["session_role", "session_role_other"]))
    )
    assert stored >= 1
    assert f"changes items that 1 wave already used: {stored} stored answer" in text
    assert "Set A meeting 1" in text
    assert 'the options or codes of "session_role" change' in text


def test_breaking_changes_cover_codes_points_type_reverse_coding_and_removal():
    old = check_source(SESSION_TEXT.encode(), "session_evaluation.yaml").questionnaire
    new_text = (
        SESSION_TEXT.replace("type: number", "type: short_text")
        .replace("        min: 1\n        max: 50\n", "")
        .replace(
            "          - {id: s_enough_time, text: There was enough time to get the most out of the session.}\n",
            "",
        )
        .replace(
            "items: [s_felt_safe, s_well_facilitated, s_enough_time]",
            "items: [s_felt_safe, s_well_facilitated]\n    reverse: [s_felt_safe]",
        )
        .replace("    min_answered: 2", "    min_answered: 1")
    )
    result = check_source(new_text.encode(), "session_evaluation.yaml")
    assert result.questionnaire is not None, result.problems

    reasons = [brk.reason for brk in breaking_changes(old, result.questionnaire)]

    assert reasons == [
        '"session_number" changes type from number to short_text',
        '"s_felt_safe" is reverse-coded in its scale',
        '"s_enough_time" is removed',
    ]


def test_export_writes_the_newest_version_of_each_questionnaire(runner, session, tmp_path):
    catalogue.store_versions(session, load_all(SHIPPED), now=NOW)
    session.commit()

    result = runner.invoke(args=["questionnaires", "export", str(tmp_path / "out")])

    assert result.exit_code == 0, result.output
    written = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert written == sorted(path.name for path in SHIPPED.glob("*.yaml"))
    for path in SHIPPED.glob("*.yaml"):
        assert (tmp_path / "out" / path.name).read_bytes() == path.read_bytes()
    check = runner.invoke(args=["questionnaires", "check", str(tmp_path / "out")])
    assert check.exit_code == 0


DUPLICATE_KEYS = pytest.param(
    "twice",
    b"format_version: 1\nkey: twice\ntitle: One\ntitle: Two\n",
    "The key &#34;title&#34; is written twice",
    id="file-with-a-duplicate-key",
)


@pytest.mark.parametrize(("name", "content", "says"), [*QUESTIONNAIRE_FILES, DUPLICATE_KEYS])
def test_every_file_the_checker_refuses_is_refused_on_upload_within_two_seconds(
    client, auth, session, name, content, says
):
    auth.login()

    started = time.monotonic()
    response = upload(client, (f"{name}.yaml", content))

    assert time.monotonic() - started < 2
    assert response.status_code == 422
    assert says in response.text
    assert f"{name}.yaml, line " in response.text
    assert "Store 1 new version" not in response.text
    assert versions(session) == 0


def test_a_file_that_is_not_a_redcap_dictionary_is_refused_with_its_name(client, auth, session):
    auth.login()
    data = MultiDict([("file", FileStorage(io.BytesIO(b"\x00\x01\x02binary"), "survey.csv"))])
    boundary, body = encode_multipart(data)

    response = client.post(
        "/admin/questionnaires/import",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )

    assert response.status_code == 422
    assert "survey.csv: The file is not a CSV file" in response.text
    assert versions(session) == 0
    assert actions(session)[-1] == "questionnaire.upload_refused"


def test_an_xlsform_workbook_opens_in_the_editor_with_its_report(client, auth, session):
    from tests.questionnaires.test_xlsform import workbook

    auth.login()
    data = MultiDict([("file", FileStorage(io.BytesIO(workbook()), "wellbeing.xlsx"))])
    boundary, body = encode_multipart(data)

    response = client.post(
        "/admin/questionnaires/import",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )

    assert response.status_code == 200
    assert "Converted from <code>wellbeing.xlsx</code>: 6 questions" in response.text
    assert "Row 13, column type (survey sheet)" in response.text
    assert "No problems found." in response.text
    assert 'action="/admin/questionnaires/new"' in response.text
    assert versions(session) == 0


def test_storing_the_folder_files_never_undoes_a_version_from_the_browser(client, auth, session):
    auth.login()
    catalogue.store_versions(session, load_all(SHIPPED), now=NOW)
    session.commit()
    changed = SESSION_TEXT.replace("What kind of session was it?", "What sort of session was it?")
    report = upload(client, ("session_evaluation.yaml", changed.encode()))
    client.post("/admin/questionnaires/upload/store", data={"content": stored_content(report)})

    client.post("/admin/questionnaires/load")

    newest = catalogue.latest_versions(session)["session_evaluation"]
    assert (newest.number, newest.source_text) == (2, changed)
    assert "The file holds version 1" in client.get("/admin/questionnaires").text


def test_a_version_stored_by_someone_else_at_the_same_moment_is_a_clear_message(
    client, auth, session
):
    auth.login()
    catalogue.store_versions(session, load_all(SHIPPED), now=NOW)
    session.commit()
    mine = SESSION_TEXT.replace("What kind of session was it?", "What sort of session was it?")
    theirs = SESSION_TEXT.replace("What kind of session was it?", "Which session was it?")
    report = upload(client, ("session_evaluation.yaml", mine.encode()))

    raced = []

    def someone_else_stores_first(flushing, context, instances):
        if raced or not any(isinstance(obj, QuestionnaireVersion) for obj in flushing.new):
            return
        raced.append(True)
        with Session(flushing.get_bind()) as other:
            result = check_source(theirs.encode(), "session_evaluation.yaml")
            catalogue.store_versions(other, Catalogue([result]), now=NOW)
            other.commit()

    event.listen(Session, "before_flush", someone_else_stores_first)
    try:
        stored = client.post(
            "/admin/questionnaires/upload/store", data={"content": stored_content(report)}
        )
    finally:
        event.remove(Session, "before_flush", someone_else_stores_first)

    assert stored.status_code == 303
    page = client.get(stored.location).text.replace("&#34;", '"')
    assert "Someone else stored a new version of session_evaluation at the same moment" in page
    session.expire_all()
    versions = catalogue.versions_of(session, "session_evaluation")
    assert sorted((v.number, v.source_text == theirs) for v in versions) == [(1, False), (2, True)]
