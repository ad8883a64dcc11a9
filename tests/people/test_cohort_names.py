"""Cohort files with the name in two columns, what each column was read as, and a preview
that says which rows update people already in the programme."""

import io

import pytest
from sqlalchemy import func, select

from surveyapp.models import Participant
from surveyapp.people.cohort_file import parse_cohort_csv
from surveyapp.people.roster import import_cohort, plan_import, summarise
from tests.conftest import NOW
from tests.factories import make_participant, make_programme


@pytest.mark.parametrize(
    ("first", "last"),
    [("First name", "Last name"), ("Given name", "Surname"), ("Forename", "Surname")],
)
def test_a_name_in_two_columns_is_joined_into_the_name(first, last):
    parsed = parse_cohort_csv(
        f"ID number,{first},{last},Email\nA1, Siân ,Ó Dónaill,sian@example.org\n".encode()
    )

    assert parsed.file_problems == []
    assert [(row.id_number, row.name) for row in parsed.rows] == [("A1", "Siân Ó Dónaill")]
    assert parsed.attribute_columns == []
    assert "name" in parsed.standard_columns
    assert parsed.column_readings == [
        ("A", "ID number", "ID number"),
        ("B", first, "First name, joined with the last name into the name"),
        ("C", last, "Last name, joined after the first name into the name"),
        ("D", "Email", "Email address"),
    ]


def test_a_person_with_one_name_is_kept_and_a_row_with_neither_is_left_out():
    parsed = parse_cohort_csv(
        b"id,first_name,last_name,email\nA1,Madonna,,m@example.org\nA2,,,x@example.org\n"
    )

    assert [row.name for row in parsed.rows] == ["Madonna"]
    assert [(p.line, p.message) for p in parsed.problems] == [(3, "The name is missing.")]


def test_a_first_name_column_without_a_last_name_column_is_refused_saying_what_to_add():
    parsed = parse_cohort_csv(b"id,Given name,email\nA1,Ann,a@example.org\n")

    assert parsed.file_problems == [
        "There is a “Given name” column but no last name column (it may be headed “last "
        "name”, “surname”, “family name” or “last names”). Add it, or a “name” column with "
        "each person's full name. The headings found are: “id”, “Given name”, “email”."
    ]


def test_with_a_full_name_column_the_name_parts_are_further_columns():
    parsed = parse_cohort_csv(b"id,Name,Forename,Surname,email\nA1,Ann Lee,Annie,Lee,a@x.org\n")

    assert parsed.rows[0].name == "Ann Lee"
    assert parsed.rows[0].attributes == {"Forename": "Annie", "Surname": "Lee"}
    assert [what for _, _, what in parsed.column_readings] == [
        "ID number",
        "Name",
        "A further column, kept with each person",
        "A further column, kept with each person",
        "Email address",
    ]


def test_the_plan_says_what_each_row_does_and_the_import_does_just_that(session):
    programme = make_programme(session)
    make_participant(
        session, programme, id_number="A012", name="Ann Lee", email="ann@old.example.org",
        team="North", attributes={"Start year": "2030"},
    )  # fmt: skip
    make_participant(session, programme, id_number="A013", name="Bo Khan", email="bo@x.org")
    make_participant(
        session, programme, id_number="A014", name="", email="", team="North",
        contact_removed_at=NOW,
    )  # fmt: skip
    parsed = parse_cohort_csv(
        b"ID,First name,Surname,Email,Team,Start year\n"
        b"A012,Ann,Lee,ann@new.example.org,East,2031\n"
        b"A013,Bo,Khan,bo@x.org,North,\n"
        b"A014,Cy,Ng,cy@x.org,North,\n"
        b"A015,Di,Roe,di@x.org,South,2030\n"
    )

    plan = plan_import(session, programme, parsed)
    sentences = [(outcome.line, outcome.sentence) for outcome in plan]
    summary = import_cohort(session, programme, parsed, now=NOW)

    assert sentences == [
        (2, "Updates A012: email, team and “Start year” changed"),
        (3, "Updates A013: “Start year” changed"),
        (4, "No change to A014; their name and email stay removed"),
        (5, "Adds A015"),
    ]
    assert summary == summarise(plan)
    assert (summary.added, summary.updated, summary.unchanged) == (1, 2, 1)
    session.expire_all()
    people = {
        p.id_number: (p.name, p.email, p.team, p.attributes)
        for p in session.scalars(select(Participant))
    }
    assert people == {
        "A012": ("Ann Lee", "ann@new.example.org", "East", {"Start year": "2031"}),
        "A013": ("Bo Khan", "bo@x.org", "North", {"Start year": ""}),
        "A014": ("", "", "North", {}),
        "A015": ("Di Roe", "di@x.org", "South", {"Start year": "2030"}),
    }


def test_the_preview_names_the_columns_read_and_the_people_a_row_updates(client, auth, session):
    programme = make_programme(session)
    make_participant(session, programme, id_number="A012", name="Ann Lee", email="ann@x.org")
    session.commit()
    auth.login()
    cohort = (
        b"ID,Forename,Surname,Email\nA012,Ann,Lee,ann.lee@x.org\nA013,Bo,<b>Khan</b>,bo@x.org\n"
    )

    page = client.post(
        f"/admin/programmes/{programme.id}/cohort",
        data={"file": (io.BytesIO(cohort), "cohort.csv")},
        content_type="multipart/form-data",
    )

    assert page.status_code == 200
    text = page.text
    assert "Loading it adds 1 person, updates 1 and leaves 0 unchanged." in text
    assert "How the columns were read" in text
    assert "First name, joined with the last name into the name" in text
    assert "Updates A012: email changed" in text and "Adds A013" in text
    assert "&lt;b&gt;Khan&lt;/b&gt;" in text and "<b>Khan</b>" not in text
    session.expire_all()
    assert session.scalar(select(func.count(Participant.id))) == 1
    assert session.scalar(select(Participant.email)) == "ann@x.org"
