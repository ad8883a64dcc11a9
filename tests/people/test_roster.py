"""The cohort roster: reading messy cohort files, importing them, finding and withdrawing people."""

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from surveyapp.models import Participant, Programme
from surveyapp.people.cohort_file import parse_cohort_csv
from surveyapp.people.roster import (
    ImportSummary,
    filter_values,
    import_cohort,
    search_participants,
    withdraw,
)
from tests.conftest import NOW

HEADINGS = "id_number,name,email,team,organisation,region,role"
LATER = NOW + timedelta(days=3)


def _csv(*lines: str) -> bytes:
    return "\n".join(lines).encode("utf-8") + b"\n"


def _messages(parsed):
    return [(problem.line, problem.id_number, problem.message) for problem in parsed.problems]


def _programme(session, name="Leaders 2030"):
    programme = Programme(name=name, run_by="Test team", created_at=NOW)
    session.add(programme)
    session.flush()
    return programme


def _import(session, programme, *lines, now=NOW):
    parsed = parse_cohort_csv(_csv(*lines))
    assert parsed.is_importable, (parsed.file_problems, parsed.problems)
    return import_cohort(session, programme, parsed, now=now)


def _person(session, id_number):
    session.expire_all()
    return session.scalars(select(Participant).where(Participant.id_number == id_number)).one()


def _everyone(session):
    session.expire_all()
    return session.scalars(
        select(Participant).order_by(Participant.programme_id, Participant.id_number)
    ).all()


# --- reading the file -------------------------------------------------------------------


def test_reads_utf8_with_a_byte_order_mark():
    parsed = parse_cohort_csv(b"\xef\xbb\xbf" + "id_number,name,email\nP1,Siân,s@x.org\n".encode())

    assert parsed.encoding == "UTF-8"
    assert parsed.file_problems == []
    assert [(row.id_number, row.name) for row in parsed.rows] == [("P1", "Siân")]


def test_reads_utf8_without_a_byte_order_mark():
    parsed = parse_cohort_csv("id_number,name,email\nP1,Siân,s@x.org\n".encode())

    assert parsed.encoding == "UTF-8"
    assert parsed.rows[0].name == "Siân"


def test_reads_windows_1252():
    parsed = parse_cohort_csv("id_number,name,email\nP1,Siân Ó Dónaill,s@x.org\n".encode("cp1252"))

    assert parsed.encoding == "Windows-1252"
    assert parsed.rows[0].name == "Siân Ó Dónaill"


def test_reads_semicolons():
    parsed = parse_cohort_csv(_csv("id_number;name;email;team", "P1;O'Brien, Pat;p@x.org;North"))

    assert parsed.delimiter == ";"
    assert parsed.rows[0].name == "O'Brien, Pat"
    assert parsed.rows[0].team == "North"


def test_reads_tabs():
    parsed = parse_cohort_csv(_csv("id_number\tname\temail", "P1\tAl, Bee\ta@x.org"))

    assert parsed.delimiter == "tab"
    assert parsed.rows[0].name == "Al, Bee"


def test_reads_commas_when_the_heading_row_has_semicolons_only_inside_quotes():
    parsed = parse_cohort_csv(_csv('id_number,name,email,"Team; area"', "P1,Al,a@x.org,North; 2"))

    assert parsed.delimiter == ","
    assert parsed.attribute_columns == ["Team; area"]
    assert parsed.rows[0].attributes == {"Team; area": "North; 2"}


def test_reads_windows_and_old_mac_line_endings():
    windows = parse_cohort_csv(b"id_number,name,email\r\nP1,Al,a@x.org\r\nP2,Bo,b@x.org\r\n")
    mac = parse_cohort_csv(b"id_number,name,email\rP1,Al,a@x.org\rP2,Bo,b@x.org\r")

    assert [(row.line, row.id_number) for row in windows.rows] == [(2, "P1"), (3, "P2")]
    assert [(row.line, row.id_number) for row in mac.rows] == [(2, "P1"), (3, "P2")]


def test_trims_cells_and_collapses_spaces_inside_names():
    parsed = parse_cohort_csv(
        _csv(
            " id_number , name , email , team ",
            "  P1  ,  Siân   Ó\u00a0 Dónaill  , s@x.org  , North  ",
        )
    )

    row = parsed.rows[0]
    assert (row.id_number, row.name, row.email, row.team) == (
        "P1",
        "Siân Ó Dónaill",
        "s@x.org",
        "North",
    )


def test_skips_blank_lines_and_empty_rows_but_counts_their_lines():
    parsed = parse_cohort_csv(
        _csv("id_number,name,email", "", "P1,Al,a@x.org", ",,", "   ", " , , ", "P2,Bo,bo@")
    )

    assert [(row.line, row.id_number) for row in parsed.rows] == [(3, "P1")]
    assert _messages(parsed) == [(7, "P2", "“bo@” is not a valid email address.")]


def test_counts_lines_from_the_heading_row_after_leading_blank_lines():
    parsed = parse_cohort_csv(_csv("", "id_number,name,email", "P1,Al,"))

    assert _messages(parsed) == [(3, "P1", "The email address is missing.")]


def test_keeps_names_with_accents_and_apostrophes_exactly():
    parsed = parse_cohort_csv(
        _csv(
            "id_number,name,email",
            "P1,Siân Ó Dónaill,s@x.org",
            "P2,O'Brien,o@x.org",
            'P3,"Zoë ""Zed"" Ng",z@x.org',
        )
    )

    assert [row.name for row in parsed.rows] == ["Siân Ó Dónaill", "O'Brien", 'Zoë "Zed" Ng']


def test_keeps_id_numbers_as_text_with_leading_zeros():
    parsed = parse_cohort_csv(_csv("id_number,name,email", "007,Bond,j@x.org", "0012,Q,q@x.org"))

    assert [row.id_number for row in parsed.rows] == ["007", "0012"]


def test_lower_cases_email_addresses():
    parsed = parse_cohort_csv(_csv("id_number,name,email", "P1,Al,Al.Smith@Example.ORG"))

    assert parsed.rows[0].email == "al.smith@example.org"


def test_keeps_cells_that_look_like_formulas_as_text():
    parsed = parse_cohort_csv(
        _csv(
            "id_number,name,email,team,Note",
            "P1,=HYPERLINK(1),a@x.org,+North,-5",
            "P2,@Bo,b@x.org,,=1+1",
        )
    )

    assert [(row.name, row.team, row.attributes["Note"]) for row in parsed.rows] == [
        ("=HYPERLINK(1)", "+North", "-5"),
        ("@Bo", "", "=1+1"),
    ]


def test_leaves_missing_trailing_cells_empty():
    parsed = parse_cohort_csv(_csv(HEADINGS, "P1,Al,a@x.org,North"))

    row = parsed.rows[0]
    assert (row.team, row.organisation, row.region, row.role) == ("North", "", "", "")


def test_ignores_empty_cells_beyond_the_headings():
    parsed = parse_cohort_csv(_csv("id_number,name,email,,", "P1,Al,a@x.org,,,,"))

    assert parsed.problems == []
    assert parsed.rows[0].id_number == "P1"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",Al,a@x.org,North", "The ID number is missing."),
        ("P2,,a@x.org,North", "The name is missing."),
        ("P2,Al,,North", "The email address is missing."),
        ("P2,Al,bob@,North", "“bob@” is not a valid email address."),
        ("P2,Al,@x.org,North", "“@x.org” is not a valid email address."),
        ("P2,Al,bob@localhost,North", "“bob@localhost” is not a valid email address."),
        ("P2,Al,bob@@x.org,North", "“bob@@x.org” is not a valid email address."),
        ("P2,Al,bob smith@x.org,North", "“bob smith@x.org” is not a valid email address."),
        ("P1,Al,a@x.org,North", "The ID number P1 is used again (first on line 2)."),
        ("P2,Al,a@x.org,North,extra", "This row has 5 values but the heading row has 4 columns."),
        ("P" + "9" * 64 + ",Al,a@x.org", "The ID number is longer than 64 characters."),
        ("P2," + "A" * 201 + ",a@x.org", "The name is longer than 200 characters."),
    ],
)
def test_reports_a_bad_row_with_its_reason(row, message):
    parsed = parse_cohort_csv(_csv("id_number,name,email,team", "P1,Bo,b@x.org,North", row))

    assert [row.id_number for row in parsed.rows] == ["P1"]
    assert [(problem.line, problem.message) for problem in parsed.problems] == [(3, message)]


def test_reports_a_value_in_a_column_without_a_heading():
    parsed = parse_cohort_csv(_csv("id_number,name,,email", "P1,Al,oops,a@x.org", "P2,Bo,,b@x.org"))

    assert [row.id_number for row in parsed.rows] == ["P2"]
    assert _messages(parsed) == [
        (2, "P1", "This row has a value in column C, which has no heading.")
    ]


def test_reports_a_quotation_mark_that_is_never_closed():
    parsed = parse_cohort_csv(
        _csv(
            "id_number,name,email",
            "P1,Al,a@x.org",
            'P2,"Bo,b@x.org',
            "P3,Cy,c@x.org",
            "P4,Di,d@x.org",
        )
    )

    assert [row.id_number for row in parsed.rows] == ["P1"]
    assert _messages(parsed) == [
        (
            3,
            "P2",
            'A quotation mark (") on this row is never closed, so lines 3 to 5 were read as one row.',
        )
    ]


def test_keeps_a_quoted_value_over_several_lines():
    parsed = parse_cohort_csv(
        _csv("id_number,name,email,Address", 'P1,Al,a@x.org,"1 High St', 'Leeds"', "P2,Bo,b@x.org,")
    )

    assert [(row.line, row.attributes["Address"]) for row in parsed.rows] == [
        (2, "1 High St\nLeeds"),
        (4, ""),
    ]


def test_reports_every_problem_of_a_row():
    parsed = parse_cohort_csv(_csv("id_number,name,email", "P1,Al,a@x.org", "P1,,bob@,x"))

    assert _messages(parsed) == [
        (3, "P1", "The ID number P1 is used again (first on line 2)."),
        (3, "P1", "This row has 4 values but the heading row has 3 columns."),
        (3, "P1", "The name is missing."),
        (3, "P1", "“bob@” is not a valid email address."),
    ]


def test_keeps_the_first_of_two_rows_with_the_same_id_number():
    parsed = parse_cohort_csv(
        _csv("id_number,name,email", "P1,Al,a@x.org", "P2,Bo,b@x.org", "P1,Cy,c@x.org")
    )

    assert [(row.id_number, row.name) for row in parsed.rows] == [("P1", "Al"), ("P2", "Bo")]
    assert _messages(parsed) == [(4, "P1", "The ID number P1 is used again (first on line 2).")]


@pytest.mark.parametrize(
    ("heading", "field"),
    [
        ("ID Number", "id_number"),
        ("id", "id_number"),
        ("ID No.", "id_number"),
        ("Participant-ID", "id_number"),
        ("Reference", "id_number"),
        ("  ID_NUMBER ", "id_number"),
        ("Full Name", "name"),
        ("participant_name", "name"),
        ("Email Address", "email"),
        ("E-mail", "email"),
        ("EMAIL", "email"),
        ("Team", "team"),
        ("Organization", "organisation"),
        ("Local Authority", "organisation"),
        ("council", "organisation"),
        ("Region", "region"),
        ("Job Role", "role"),
        ("job-role", "role"),
    ],
)
def test_reads_a_heading_by_its_aliases(heading, field):
    headings = {"id_number": "id_number", "name": "name", "email": "email", field: heading}
    values = {
        "id_number": "P1",
        "name": "Al",
        "email": "a@x.org",
        field: "x@y.org" if field == "email" else "Value",
    }

    parsed = parse_cohort_csv(
        _csv(",".join(headings.values()), ",".join(values[name] for name in headings))
    )

    assert parsed.file_problems == []
    assert getattr(parsed.rows[0], field) == values[field]
    assert parsed.attribute_columns == []


def test_keeps_further_columns_as_attributes_by_their_heading():
    parsed = parse_cohort_csv(
        _csv("ID,Name,Email,Start date, Cohort , Line manager", "P1,Al,a@x.org,2030-01-01,B,")
    )

    assert parsed.attribute_columns == ["Start date", "Cohort", "Line manager"]
    assert parsed.rows[0].attributes == {
        "Start date": "2030-01-01",
        "Cohort": "B",
        "Line manager": "",
    }


def test_reports_a_missing_required_column_with_the_headings_found():
    parsed = parse_cohort_csv(_csv("ID,Name,Team", "P1,Al,North"))

    assert parsed.rows == []
    assert not parsed.is_importable
    assert parsed.file_problems == [
        "There is no “email” column (it may also be headed “email address”, “e-mail” or "
        "“e-mail address”). The headings found are: “ID”, “Name”, “Team”."
    ]


def test_reports_each_missing_required_column():
    parsed = parse_cohort_csv(_csv("Team,Region", "North,East"))

    assert [problem.split(" column")[0] for problem in parsed.file_problems] == [
        "There is no “id_number”",
        "There is no “name”",
        "There is no “email”",
    ]


def test_reports_a_duplicate_heading():
    parsed = parse_cohort_csv(_csv("id_number,name,email,Team,team", "P1,Al,a@x.org,N,S"))

    assert parsed.rows == []
    assert parsed.file_problems == [
        "The heading “Team” is used for more than one column (columns D and E). "
        "Keep one, or rename the others."
    ]


def test_reports_two_headings_that_mean_the_same_column():
    parsed = parse_cohort_csv(_csv("ID,name,Email,E-mail address", "P1,Al,a@x.org,b@x.org"))

    assert parsed.file_problems == [
        "The headings “Email” and “E-mail address” (columns C and D) mean the same column. "
        "Keep one, or rename the others."
    ]


def test_reports_a_duplicate_attribute_heading():
    parsed = parse_cohort_csv(_csv("ID,name,Email,Start date,start_date", "P1,Al,a@x.org,1,2"))

    assert parsed.file_problems == [
        "The heading “Start date” is used for more than one column (columns D and E). "
        "Keep one, or rename the others."
    ]


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n  \r\n", b",,,\n , ,\n"])
def test_reports_an_empty_file(data):
    parsed = parse_cohort_csv(data)

    assert parsed.file_problems == ["The file is empty."]
    assert not parsed.is_importable


def test_reports_a_heading_row_without_people():
    parsed = parse_cohort_csv(_csv("id_number,name,email", ""))

    assert parsed.file_problems == ["The file has a heading row but no rows of participants."]


def test_reports_a_file_without_a_heading_row():
    parsed = parse_cohort_csv(_csv("P1,Al,a@x.org", "P2,Bo,b@x.org"))

    assert parsed.rows == []
    assert parsed.file_problems == [
        "The first row (line 1) looks like a participant, not headings. "
        "Add a heading row naming the columns, such as id_number, name and email."
    ]


@pytest.mark.parametrize(
    ("data", "start"),
    [
        (bytes(range(256)) * 4, "The file could not be read as text."),
        (b"id_number,name\x00\x00\x01\x02,email\n", "The file could not be read as text."),
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(100), "This is an Excel workbook"),
        ("id_number,name,email\n".encode("utf-16"), "The file is saved as UTF-16"),
    ],
)
def test_reports_a_file_that_is_not_text(data, start):
    parsed = parse_cohort_csv(data)

    assert len(parsed.file_problems) == 1
    assert parsed.file_problems[0].startswith(start)
    assert parsed.rows == []


def test_reports_a_value_too_long_to_be_real():
    parsed = parse_cohort_csv(_csv("id_number,name,email", "P1,Al,a@x.org", 'P2,"' + "x" * 200_000))

    assert parsed.rows == []
    assert parsed.file_problems == [
        "Line 3 has a value longer than 131,072 characters, which cannot be right. "
        "Check for a quotation mark that is never closed."
    ]


def test_never_crashes_on_any_bytes():
    generator = random.Random(20300501)
    good = _csv(HEADINGS, 'P1,"Al, B",a@x.org,N,O,R,Role', "P2,Bo,b@x.org")
    samples = [
        bytes(generator.randrange(256) for _ in range(generator.randrange(300))) for _ in range(300)
    ]
    for _ in range(300):
        mutated = bytearray(good)
        for _ in range(generator.randrange(1, 8)):
            mutated[generator.randrange(len(mutated))] = generator.choice(
                b'",;\t\r\n\x00\xff\xef @='
            )
        samples.append(bytes(mutated))
    samples.append(b"id_number,name,email\n" + b"x" * 200_000 + b",Al,a@x.org\n")

    for data in samples:
        parsed = parse_cohort_csv(data)

        assert parsed.rows == [] or not parsed.file_problems
        assert parsed.delimiter in (",", ";", "tab")


def test_a_file_is_importable_only_with_a_good_row():
    assert parse_cohort_csv(_csv("id_number,name,email", "P1,Al,a@x.org", "P2,,")).is_importable
    assert not parse_cohort_csv(_csv("id_number,name,email", "P1,Al,")).is_importable


# --- importing --------------------------------------------------------------------------


def test_import_adds_new_people(session):
    programme = _programme(session)

    summary = _import(
        session,
        programme,
        HEADINGS + ",Start date",
        "P1,Siân Ó Dónaill,s@x.org,North,Leeds,Yorkshire,Manager,2030-01-01",
        "007,O'Brien,o@x.org,,,,,",
    )

    assert summary == ImportSummary(added=2, updated=0, unchanged=0)
    sian = _person(session, "P1")
    assert (
        sian.programme_id,
        sian.name,
        sian.email,
        sian.team,
        sian.organisation,
        sian.region,
        sian.role,
    ) == (
        programme.id,
        "Siân Ó Dónaill",
        "s@x.org",
        "North",
        "Leeds",
        "Yorkshire",
        "Manager",
    )
    assert sian.attributes == {"Start date": "2030-01-01"}
    assert (sian.created_at, sian.updated_at, sian.withdrawn_at) == (NOW, NOW, None)
    assert _person(session, "007").name == "O'Brien"


def test_reimport_updates_changed_people_and_never_duplicates(session):
    programme = _programme(session)
    _import(session, programme, HEADINGS, "P1,Al,a@x.org,North,,,", "P2,Bo,b@x.org,South,,,")

    summary = _import(
        session,
        programme,
        HEADINGS,
        "P1,Al,a@x.org,North,,,",
        "P2,Bo,b@x.org,East,,,",
        "P3,Cy,c@x.org,,,,",
        now=LATER,
    )

    assert summary == ImportSummary(added=1, updated=1, unchanged=1)
    people = {person.id_number: person for person in _everyone(session)}
    assert sorted(people) == ["P1", "P2", "P3"]
    assert (people["P1"].updated_at, people["P2"].updated_at, people["P3"].created_at) == (
        NOW,
        LATER,
        LATER,
    )
    assert (people["P2"].team, people["P2"].created_at) == ("East", NOW)


def test_reimport_of_the_same_file_changes_nothing(session):
    programme = _programme(session)
    _import(session, programme, HEADINGS + ",Cohort", "P1,Al,a@x.org,North,,,,A")

    summary = _import(
        session, programme, HEADINGS + ",Cohort", "P1,Al,A@X.org,North,,,,A", now=LATER
    )

    assert summary == ImportSummary(added=0, updated=0, unchanged=1)
    assert _person(session, "P1").updated_at == NOW


def test_reimport_never_changes_a_withdrawal(session):
    programme = _programme(session)
    _import(session, programme, HEADINGS, "P1,Al,a@x.org,,,,")
    withdraw(session, _person(session, "P1"), now=NOW)

    _import(session, programme, HEADINGS, "P1,Al Smith,a@x.org,,,,", now=LATER)

    person = _person(session, "P1")
    assert (person.name, person.withdrawn_at) == ("Al Smith", NOW)


def test_reimport_leaves_columns_missing_from_the_file_alone(session):
    programme = _programme(session)
    _import(
        session,
        programme,
        HEADINGS + ",Cohort,Start",
        "P1,Al,a@x.org,North,Leeds,Yorks,Lead,A,2030",
    )

    summary = _import(
        session, programme, "id_number,name,email,team,Cohort", "P1,Al,a@x.org,,B", now=LATER
    )

    assert summary == ImportSummary(added=0, updated=1, unchanged=0)
    person = _person(session, "P1")
    assert (person.team, person.organisation, person.region, person.role) == (
        "",
        "Leeds",
        "Yorks",
        "Lead",
    )
    assert person.attributes == {"Cohort": "B", "Start": "2030"}


def test_import_keeps_programmes_apart(session):
    first, second = _programme(session, "First"), _programme(session, "Second")
    _import(session, first, HEADINGS, "P1,Al,a@x.org,,,,")

    summary = _import(session, second, HEADINGS, "P1,Bo,b@x.org,,,,")

    assert summary == ImportSummary(added=1, updated=0, unchanged=0)
    assert [(person.programme_id, person.name) for person in _everyone(session)] == [
        (first.id, "Al"),
        (second.id, "Bo"),
    ]


def test_import_of_a_file_with_problems_adds_nobody(session):
    programme = _programme(session)

    summary = import_cohort(session, programme, parse_cohort_csv(_csv("ID,Name", "P1,Al")), now=NOW)

    assert summary == ImportSummary(added=0, updated=0, unchanged=0)
    assert _everyone(session) == []


# --- finding people ---------------------------------------------------------------------


def _cohort(session):
    programme = _programme(session)
    _import(
        session,
        programme,
        HEADINGS,
        "P003,Siân Ó Dónaill,sian@leeds.gov.uk,North,Leeds,Yorkshire,Manager",
        "P001,Pat O'Brien,pat@york.gov.uk,South,York,Yorkshire,Practitioner",
        "P002,Al 100% Smith,al_smith@hull.gov.uk,North,Hull,Humber,Practitioner",
        "P004,Bo Jones,bo@derby.gov.uk,East,Derby,Midlands,",
    )
    other = _programme(session, "Other")
    _import(session, other, HEADINGS, "P009,Siân Other,other@x.org,North,,,")
    return programme


def _ids(page):
    return [person.id_number for person in page.items]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["P001", "P002", "P003", "P004"]),
        ("p00", ["P001", "P002", "P003", "P004"]),
        ("003", ["P003"]),
        ("o'brien", ["P001"]),
        ("siân", ["P003"]),
        ("SMITH", ["P002"]),
        ("YORK.GOV", ["P001"]),
        ("  bo@  ", ["P004"]),
        ("nobody", []),
    ],
)
def test_search_matches_part_of_id_number_name_or_email_ignoring_case(session, text, expected):
    programme = _cohort(session)

    page = search_participants(session, programme, text=text)
    assert _ids(page) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("100%", ["P002"]), ("%", ["P002"]), ("_", ["P002"]), ("l_s", ["P002"]), ("a_s", [])],
)
def test_search_treats_percent_and_underscore_as_themselves(session, text, expected):
    programme = _cohort(session)

    assert _ids(search_participants(session, programme, text=text)) == expected


def test_search_by_team_region_and_role(session):
    programme = _cohort(session)

    assert _ids(search_participants(session, programme, team="North")) == ["P002", "P003"]
    assert _ids(search_participants(session, programme, region="Yorkshire")) == ["P001", "P003"]
    assert _ids(search_participants(session, programme, role="Practitioner", team="North")) == [
        "P002"
    ]
    assert _ids(search_participants(session, programme, team="North", text="sian")) == ["P003"]


def test_search_by_status(session):
    programme = _cohort(session)
    withdraw(session, _person(session, "P002"), now=NOW)

    assert _ids(search_participants(session, programme, status="active")) == [
        "P001",
        "P003",
        "P004",
    ]
    assert _ids(search_participants(session, programme, status="withdrawn")) == ["P002"]
    assert _ids(search_participants(session, programme, status="")) == [
        "P001",
        "P002",
        "P003",
        "P004",
    ]


def test_search_pages_in_id_number_order(session):
    programme = _programme(session)
    _import(
        session,
        programme,
        HEADINGS,
        *(f"P{n:03},Person {n},p{n}@x.org,,,," for n in range(12, 0, -1)),
    )

    pages = [
        search_participants(session, programme, page=number, per_page=5) for number in (1, 2, 3)
    ]

    assert [_ids(page) for page in pages] == [
        ["P001", "P002", "P003", "P004", "P005"],
        ["P006", "P007", "P008", "P009", "P010"],
        ["P011", "P012"],
    ]
    assert {(page.total, page.pages, page.per_page) for page in pages} == {(12, 3, 5)}
    assert [page.page for page in pages] == [1, 2, 3]


@pytest.mark.parametrize(("asked", "given"), [(0, 1), (-3, 1), (4, 3), (99, 3)])
def test_search_clamps_the_page_into_range(session, asked, given):
    programme = _programme(session)
    _import(
        session, programme, HEADINGS, *(f"P{n:03},Person {n},p{n}@x.org,,,," for n in range(1, 13))
    )

    page = search_participants(session, programme, page=asked, per_page=5)

    assert page.page == given
    assert len(page.items) == (5 if given == 1 else 2)


def test_search_with_no_matches_has_one_empty_page(session):
    programme = _cohort(session)

    page = search_participants(session, programme, text="nobody", page=2)

    assert (page.items, page.total, page.page, page.pages) == ([], 0, 1, 1)


def test_filter_values_lists_each_distinct_non_empty_value_sorted(session):
    programme = _cohort(session)

    assert filter_values(session, programme) == {
        "team": ["East", "North", "South"],
        "region": ["Humber", "Midlands", "Yorkshire"],
        "role": ["Manager", "Practitioner"],
        "organisation": ["Derby", "Hull", "Leeds", "York"],
    }


def test_filter_values_of_an_empty_programme_are_empty(session):
    programme = _programme(session)

    assert filter_values(session, programme) == {
        "team": [],
        "region": [],
        "role": [],
        "organisation": [],
    }


# --- withdrawing ------------------------------------------------------------------------


def test_withdraw_keeps_the_first_time(session):
    programme = _programme(session)
    _import(session, programme, HEADINGS, "P1,Al,a@x.org,,,,")
    person = _person(session, "P1")

    withdraw(session, person, now=NOW)
    withdraw(session, person, now=LATER)

    person = _person(session, "P1")
    assert (person.withdrawn_at, person.is_withdrawn) == (NOW, True)
