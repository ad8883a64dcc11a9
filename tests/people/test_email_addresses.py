"""Email addresses: one check everywhere (text.is_email, the email-validator library, syntax
only), so ``a@b..org`` is refused in a cohort file, the person form and a staff account."""

import ast
from pathlib import Path

import pytest
from sqlalchemy import select

from surveyapp import PROJECT_ROOT
from surveyapp.models import Participant, User
from surveyapp.people.cohort_file import parse_cohort_csv
from surveyapp.text import is_email
from tests.factories import make_participant, make_programme

BAD = ["a@b..org", "A@B..ORG", "ann@.example.org", "ann@example.org.", "ann@localhost"]


@pytest.mark.parametrize("address", BAD)
def test_the_one_check_refuses_malformed_addresses(address):
    assert not is_email(address)


def test_the_one_check_accepts_ordinary_and_international_addresses():
    assert all(map(is_email, ["ann@example.org", "o'brien@example.co.uk", "siân@example.org"]))


def test_a_cohort_row_with_two_dots_in_a_row_is_left_out_naming_its_line():
    parsed = parse_cohort_csv(
        b"id_number,name,email\nA1,Ann Lee,a@b..org\nA2,Bo Khan,bo@example.org\n"
    )

    assert [row.id_number for row in parsed.rows] == ["A2"]
    assert [(p.line, p.id_number, p.message) for p in parsed.problems] == [
        (2, "A1", "“a@b..org” is not a valid email address.")
    ]


def test_the_person_form_refuses_two_dots_in_a_row_and_saves_nothing(client, auth, session):
    programme = make_programme(session)
    person = make_participant(session, programme, name="Ann Lee", email="ann@example.org")
    session.commit()
    auth.login()

    response = client.post(
        f"/admin/programmes/{programme.id}/participants/{person.id}",
        data={"name": "Ann Lee-Khan", "email": "ann@example..org", "team": "East"},
    )

    assert response.status_code == 422
    assert "Enter an email address in the correct format, like name@example.org" in response.text
    session.expire_all()
    saved = session.get(Participant, person.id)
    assert (saved.name, saved.email, saved.team) == ("Ann Lee", "ann@example.org", "North")


def test_the_person_form_accepts_an_address_with_spaces_around_it(client, auth, session):
    programme = make_programme(session)
    person = make_participant(session, programme)
    session.commit()
    auth.login()

    response = client.post(
        f"/admin/programmes/{programme.id}/participants/{person.id}",
        data={"name": "Ann Lee", "email": "  Ann.Lee@Example.org "},
    )

    assert response.status_code == 303
    session.expire_all()
    assert session.get(Participant, person.id).email == "ann.lee@example.org"


def test_a_staff_account_with_two_dots_in_a_row_is_refused_on_the_command_line(runner, session):
    result = runner.invoke(
        args=["users", "create", "eva@example..org"], input="long enough pw\nlong enough pw\n"
    )

    assert result.exit_code == 1
    assert "“eva@example..org” is not an email address in the correct format." in result.output
    assert session.scalars(select(User)).all() == []


def test_no_module_checks_an_email_address_another_way():
    """WTForms' Email and email-validator are used only through text.is_email."""
    others = []
    for path in sorted(Path(PROJECT_ROOT / "surveyapp").rglob("*.py")):
        if path.name == "text.py" and path.parent.name == "surveyapp":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (
                node.module == "email_validator"
                or (node.module == "wtforms.validators" and "Email" in {a.name for a in node.names})
            ):
                others.append(str(path.relative_to(PROJECT_ROOT)))
    assert others == []
