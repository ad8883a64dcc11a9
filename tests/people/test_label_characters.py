"""Right-to-left overrides and control characters never reach a reporting label (team and the like)."""

import pytest

from surveyapp.people.cohort_file import parse_cohort_csv
from surveyapp.text import hidden_character
from tests.factories import make_participant, make_programme

HEADINGS = "id_number,name,email,team,organisation,region,role,Length of service"
#: A right-to-left override, an isolate, a C1 control (next line) and a C1 from a bad export.
HOSTILE = {
    "\u202e": "U+202E RIGHT-TO-LEFT OVERRIDE",
    "\u2067": "U+2067 RIGHT-TO-LEFT ISOLATE",
    "\x85": "U+0085 CONTROL CHARACTER",
    "\x9b": "U+009B CONTROL CHARACTER",
}


def test_the_one_check_names_c1_controls_and_overrides():
    assert hidden_character("North\x85team") == "U+0085 CONTROL CHARACTER"
    assert hidden_character("North\u202emaet") == "U+202E RIGHT-TO-LEFT OVERRIDE"
    assert hidden_character("Two\nlines") is None
    assert hidden_character("Two\nlines", line_breaks=False) == "U+000A LINE FEED (a line break)"
    assert hidden_character("Équipe Nord – Kent") is None


@pytest.mark.parametrize("column", ["team", "organisation", "region", "role"])
@pytest.mark.parametrize("char", sorted(HOSTILE))
def test_a_cohort_file_with_one_in_a_label_column_is_refused_naming_the_column(column, char):
    values = {"team": "North", "organisation": "Kent", "region": "South East", "role": "Peer"}
    values[column] = f"North{char}team"
    row = ",".join(["P1", "Ann Smith", "ann@example.org", *values.values(), "3 years"])

    parsed = parse_cohort_csv(f"{HEADINGS}\n{row}\n".encode())

    assert parsed.rows == []
    [problem] = parsed.problems
    assert problem.line == 2
    assert problem.message.startswith(f"The {column} has a hidden character ({HOSTILE[char]})")


def test_a_line_break_in_a_team_is_refused_but_kept_in_a_further_column():
    rows = [
        'P1,Ann Smith,ann@example.org,"North\nteam",Kent,SE,Peer,3 years',
        'P2,Bob Jones,bob@example.org,North,Kent,SE,Peer,"3 years\nthen 2 more"',
    ]
    parsed = parse_cohort_csv(("\n".join([HEADINGS, *rows]) + "\n").encode())

    assert [row.id_number for row in parsed.rows] == ["P2"]
    assert "The team has a hidden character (U+000A LINE FEED" in parsed.problems[0].message


def test_a_further_column_refuses_an_override():
    row = "P1,Ann Smith,ann@example.org,North,Kent,SE,Peer,3\u202e years"
    parsed = parse_cohort_csv(f"{HEADINGS}\n{row}\n".encode())

    assert parsed.rows == []
    assert parsed.problems[0].message.startswith(
        "The “Length of service” column has a hidden character (U+202E RIGHT-TO-LEFT OVERRIDE)"
    )


@pytest.mark.parametrize("char", sorted(HOSTILE))
def test_the_person_form_refuses_one_in_the_team_naming_the_field(client, auth, session, char):
    auth.login()
    programme = make_programme(session)
    person = make_participant(session, programme)
    session.commit()
    data = {"name": "Ann Smith", "email": "ann@example.org", "organisation": "", "region": ""}

    refused = client.post(
        f"/admin/programmes/{programme.id}/participants/{person.id}",
        data=data | {"team": f"North{char}team", "role": "Peer"},
    )

    assert refused.status_code == 422
    assert f"Team has a hidden character ({HOSTILE[char]}); delete it" in refused.text
    session.expire_all()
    assert person.team == "North"
