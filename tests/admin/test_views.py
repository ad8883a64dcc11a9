"""The study team's questionnaire pages and the preview, through the test client."""

import re

from sqlalchemy import func, select

from surveyapp import PROJECT_ROOT
from surveyapp.models import QuestionnaireVersion
from surveyapp.questionnaires import catalogue, load_all
from tests.conftest import NOW

SHIPPED = PROJECT_ROOT / "questionnaires"


def test_every_admin_page_asks_for_sign_in_first(app, client):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        # "1" fits every converter, so every rule is reached.
        url = rule.rule
        for argument in rule.arguments:
            url = url.replace(f"<int:{argument}>", "1").replace(f"<{argument}>", "1")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method)
            assert response.status_code == 303, (method, url)
            assert response.location.startswith("/auth/login"), (method, url)


def test_every_admin_view_is_wrapped_by_login_required(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin"):
            view = app.view_functions[rule.endpoint]
            assert getattr(view, "login_required", False), rule.endpoint


def test_sign_in_failure_does_not_say_which_part_was_wrong(client, auth):
    auth.login()
    client.post("/auth/logout", follow_redirects=True)

    wrong_password = client.post(
        "/auth/login", data={"email": "admin@example.org", "password": "x" * 12}
    )
    wrong_email = client.post(
        "/auth/login", data={"email": "nobody@example.org", "password": "x" * 12}
    )

    assert wrong_password.status_code == wrong_email.status_code == 422
    assert "Enter a correct email address and password" in wrong_password.text

    def page(response, email):
        # The signed CSRF token carries a timestamp; everything else must be identical.
        return re.sub(r'X-CSRFToken": "[^"]+"', "", response.text.replace(email, "E"))

    assert page(wrong_password, "admin@example.org") == page(wrong_email, "nobody@example.org")


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(client, auth, session):
    # An evaluator signs in with a password alone; tests/test_two_step.py follows the same
    # address through an administrator's code.
    auth.login(email="eva@example.org", role="evaluator")
    client.post("/auth/logout")

    inside = client.post(
        "/auth/login?next=/admin/questionnaires/leadership_culture",
        data={"email": "eva@example.org", "password": "correct horse battery"},
    )
    client.post("/auth/logout")
    outside = client.post(
        "/auth/login?next=//evil.example/",
        data={"email": "eva@example.org", "password": "correct horse battery"},
    )

    assert inside.location == "/admin/questionnaires/leadership_culture"
    assert outside.location == "/admin/"


def test_questionnaire_list_shows_every_file_with_its_status(client, auth):
    auth.login()

    page = client.get("/admin/questionnaires")

    assert page.status_code == 200
    assert "Leadership culture survey" in page.text
    assert "leadership_culture.yaml" in page.text
    assert "1 warning" in page.text
    assert "Not stored yet" in page.text


def test_a_broken_file_is_listed_with_its_problems(make_app, tmp_path, auth, client):
    folder = tmp_path / "q"
    folder.mkdir()
    (folder / "broken.yaml").write_text("format_version: 1\nkey: broken\npages: 3\n")
    app = make_app(QUESTIONNAIRE_DIR=str(folder))
    client = app.test_client()
    auth.client = client
    auth.login()

    page = client.get("/admin/questionnaires")
    detail = client.get("/admin/questionnaires/broken")

    assert "4 errors" in page.text
    assert "cannot be used" in detail.text
    assert "The questionnaire needs &#34;title:&#34;." in detail.text


def test_storing_versions_from_the_page_makes_one_per_changed_file(client, auth, session):
    auth.login()

    first = client.post("/admin/questionnaires/load")
    client.post("/admin/questionnaires/load")

    assert first.status_code == 303
    count = session.scalar(select(func.count()).select_from(QuestionnaireVersion))
    assert count == len(load_all(SHIPPED).questionnaires)


def test_viewer_may_not_store_versions(client, auth):
    auth.login(email="viewer@example.org", role="viewer")

    response = client.post("/admin/questionnaires/load")

    assert response.status_code == 403


def test_detail_page_shows_what_changed_between_versions(make_app, tmp_path, auth, session):
    folder = tmp_path / "q"
    folder.mkdir()
    source = SHIPPED / "session_evaluation.yaml"
    target = folder / "session_evaluation.yaml"
    target.write_text(source.read_text())
    app = make_app(QUESTIONNAIRE_DIR=str(folder))
    client = app.test_client()
    auth.client = client
    auth.login()
    client.post("/admin/questionnaires/load")
    text = target.read_text()
    first_item = load_all(folder).questionnaires["session_evaluation"].pages[0].items[0]
    target.write_text(text.replace(first_item.text, "A new wording?", 1))
    client.post("/admin/questionnaires/load")

    page = client.get("/admin/questionnaires/session_evaluation")

    assert "Version 2" in page.text
    assert f"reworded from “{first_item.text}” to “A new wording?”" in page.text.replace(
        "&#34;", '"'
    )


def test_preview_walks_the_culture_survey_without_saving(client, auth, session):
    auth.login()
    base = "/admin/questionnaires/leadership_culture/preview"
    before = session.scalar(select(func.count()).select_from(QuestionnaireVersion))

    start = client.get(base)
    empty = client.post(f"{base}/about_you", data={})
    good = client.post(f"{base}/about_you", data={"team": "North <b>team</b>", "role": "1"})
    second = client.get(good.location)

    assert "Start now" in start.text
    assert empty.status_code == 422
    assert "There is a problem" in empty.text
    assert good.status_code == 303
    assert "Page 2 of 5" in second.text
    assert 'name="culture_01"' in second.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(QuestionnaireVersion)) == before


def test_preview_check_answers_escapes_what_was_typed(client, auth):
    auth.login()
    base = "/admin/questionnaires/leadership_culture/preview"
    client.post(f"{base}/about_you", data={"team": "<script>alert(1)</script>", "role": "1"})

    page = client.get(f"{base}/check-answers")

    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_htmx_request_for_an_invalid_page_gets_the_whole_page_to_swap(client, auth):
    auth.login()

    first_page = load_all(SHIPPED).questionnaires["session_evaluation"].pages[0]

    response = client.post(
        f"/admin/questionnaires/session_evaluation/preview/{first_page.id}",
        data={},
        headers={"HX-Request": "true", "HX-Boosted": "true"},
    )

    assert response.status_code == 422
    assert "<html" in response.text
    assert 'class="govuk-error-summary"' in response.text


def test_unknown_questionnaire_or_page_is_not_found(client, auth):
    auth.login()

    assert client.get("/admin/questionnaires/nope").status_code == 404
    assert client.get("/admin/questionnaires/leadership_culture/preview/nope").status_code == 404
    assert client.get("/admin/questionnaires/leadership_culture/versions/9").status_code == 404


def test_a_stored_version_can_be_read_and_downloaded(client, auth, session):
    auth.login()
    catalogue.store_versions(session, load_all(SHIPPED), now=NOW)
    session.commit()

    page = client.get("/admin/questionnaires/session_evaluation/versions/1")
    download = client.get("/admin/questionnaires/session_evaluation/versions/1?download=1")

    assert "Version 1" in page.text
    assert (
        download.headers["Content-Disposition"] == 'attachment; filename="session_evaluation.yaml"'
    )
    assert download.data.startswith(b"# yaml-language-server")
