"""Email templates are checked when written, never at send time."""

from surveyapp.reminders.emails import DEFAULTS, FIELDS, render, template_problems


def test_the_shipped_templates_are_usable():
    assert all(template_problems(subject, body) == {} for subject, body in DEFAULTS.values())


def test_an_unknown_field_is_named():
    problems = template_problems("Hello {{ lastname }}", "Body")

    assert problems["subject"].startswith("“lastname” is not a field.")


def test_a_syntax_error_gives_its_line():
    problems = template_problems("Hello", "Line one\n{% if first_name %}no end")

    assert problems["body"].startswith("Line 2:")


def test_the_sandbox_refuses_reaching_into_python():
    problems = template_problems("Hi", "{{ link.__class__.__mro__[1].__subclasses__() }}")

    assert problems == {"body": "This template tries something that is not allowed in an email."}


def test_a_subject_stays_on_one_line():
    rendered = render("Hello {{ first_name }}\n", "Hi", FIELDS)

    assert rendered.subject == "Hello Siân"
