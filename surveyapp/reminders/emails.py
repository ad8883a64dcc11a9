"""Email templates: sandboxed Jinja with a fixed set of fields, checked when saved (Flask-free).

An unknown field or a syntax error is found when the template is written,
never at send time: :func:`template_problems` renders the template against
sample values with every field known and nothing else.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

#: Every field a template may use, with a sample value for previews and checks.
FIELDS = {
    "first_name": "Siân",
    "full_name": "Siân Ó Dónaill",
    "team": "Children in care, North",
    "organisation": "Kent County Council",
    "programme": "Pilot peer support programme 2010",
    "wave": "Baseline",
    "questionnaire": "Session evaluation",
    "estimated_minutes": 15,
    "deadline": "Wednesday 16 March 2011",
    "link": "https://surveys.example.org/r/abcdefghijklmnopqrstuv",
    "pages_done": 2,
    "pages_total": 5,
    "sender_name": "The evaluation team",
    "signature": "The evaluation team",
    "opt_out_link": "https://surveys.example.org/r/abcdefghijklmnopqrstuv/no-reminders",
}

#: An email needs no long loops: ``range`` gives at most this many numbers.
MAX_LOOP = 100
#: All the loops of one rendering together run at most this many times.
MAX_LOOPS_IN_ALL = 10_000
#: The largest number a text filter (center, indent, truncate, wordwrap) may be given.
MAX_FILTER_NUMBER = 1_000
#: A rendered part longer than this is refused; no real email is this long.
MAX_RENDERED = 100_000

_loops = threading.local()


def _short_range(*args):
    numbers = range(*args)
    if len(numbers) > MAX_LOOP:
        raise SecurityError(f"range() in an email gives at most {MAX_LOOP} numbers")
    _loops.used = getattr(_loops, "used", 0) + len(numbers)
    if _loops.used > MAX_LOOPS_IN_ALL:
        raise SecurityError(f"the loops of an email may run {MAX_LOOPS_IN_ALL:,} times in all")
    return numbers


def _bounded(name: str, function):
    @functools.wraps(function)  # keeps what Jinja passes it (the environment, for some)
    def filtered(*args, **kwargs):
        numbers = [value for value in (*args[1:], *kwargs.values()) if isinstance(value, int)]
        if any(abs(number) > MAX_FILTER_NUMBER for number in numbers):
            raise SecurityError(f"{name} is given too large a number")
        return function(*args, **kwargs)

    return filtered


class _EmailEnvironment(SandboxedEnvironment):
    """The sandbox, also refusing long loops, powers, repeated or padded text and string
    formatting, so that a template cannot keep the server busy or fill its memory."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context, operator, left, right):
        if operator == "**":
            raise SecurityError("powers are not allowed in an email")
        if isinstance(left, (str, list, tuple)) or isinstance(right, (str, list, tuple)):
            raise SecurityError("repeating or formatting text is not allowed in an email")
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj, attribute):
        if isinstance(obj, str) and attribute in ("format", "format_map"):
            raise SecurityError("formatting text is not allowed in an email")
        return super().getattr(obj, attribute)


# Plain text email: nothing is HTML-escaped, and nothing a participant typed is in the context.
_environment = _EmailEnvironment(undefined=StrictUndefined, autoescape=False)
_environment.globals["range"] = _short_range
del _environment.filters["format"]
for _name in ("center", "indent", "truncate", "wordwrap"):
    _environment.filters[_name] = _bounded(_name, _environment.filters[_name])


def _render(template, values) -> str:
    _loops.used = 0
    return template.render(values)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def template_problems(subject: str, body: str) -> dict[str, str]:
    """Return what is wrong with a template, by part ("subject", "body"); empty when usable."""
    problems = {}
    for part, text in (("subject", subject), ("body", body)):
        if not text.strip():
            problems[part] = f"Enter the {part}"
            continue
        try:
            rendered = _render(_environment.from_string(text), FIELDS)
        except TemplateSyntaxError as error:
            problems[part] = (
                f"Line {error.lineno}: {(error.message or '').rstrip('.')}. "
                "Fields look like {{ first_name }}."
            )
        except UndefinedError as error:
            known = ", ".join(FIELDS)
            problems[part] = f"{_field_message(str(error))} The fields you can use are: {known}."
        except SecurityError:
            problems[part] = "This template tries something that is not allowed in an email."
        except (ArithmeticError, TypeError, ValueError, LookupError) as error:
            problems[part] = f"This template cannot be written out: {error}."
        else:
            if len(rendered) > MAX_RENDERED:
                problems[part] = (
                    f"This {part} would be {len(rendered):,} characters long; "
                    f"an email can be at most {MAX_RENDERED:,}."
                )
    if "subject" not in problems and "\n" in subject.strip():
        problems["subject"] = "The subject must be one line"
    return problems


#: Stand-ins for the two links when checking that a message carries them: told apart from
#: each other (the real opt-out link starts with the personal link) and from any other text.
_LINK_MARKS = {
    "link": "https://links.invalid/r/PERSONAL-LINK-0f3c",
    "opt_out_link": "https://links.invalid/o/OPT-OUT-LINK-7a1d",
}
#: What each link is called on the page.
_LINK_NAMES = {"link": "the personal link", "opt_out_link": "the opt-out link"}


def _blank(value):
    return 0 if isinstance(value, int) else ""


def missing_links(body: str) -> str | None:
    """Say which of the two links a usable message leaves out; None when it carries both.

    Every invitation and reminder must give the person their personal link and the link
    that stops reminders. The message is written out twice, for a person who has started
    and for one with every other field empty, so a link hidden behind ``{% if %}`` for
    some people counts as missing.
    """
    started = {**FIELDS, **_LINK_MARKS}
    empty = {**{name: _blank(value) for name, value in FIELDS.items()}, **_LINK_MARKS}
    try:
        compiled = _compiled(body)
    except TemplateSyntaxError:
        return None  # template_problems gives the line
    written = []
    for values in (started, empty):
        try:
            written.append(_render(compiled, values))
        except (SecurityError, UndefinedError, ArithmeticError, TypeError, ValueError, LookupError):
            continue  # template_problems reports what fails for the sample person
    if not written:
        return None
    missing = [
        name for name, mark in _LINK_MARKS.items() if not all(mark in text for text in written)
    ]
    if not missing:
        return None
    named = " and ".join(f"{_LINK_NAMES[name]} ({{{{ {name} }}}})" for name in missing)
    return (
        f"The message must include {named}. Every invitation and reminder gives each "
        "person their link to the questionnaire and a way to stop reminders."
    )


def save_problems(subject: str, body: str) -> dict[str, str]:
    """What stops a template being saved: :func:`template_problems`, then the two links."""
    problems = template_problems(subject, body)
    if "body" not in problems:
        missing = missing_links(body)
        if missing:
            problems["body"] = missing
    return problems


def _field_message(error: str) -> str:
    # Jinja says "'lastname' is undefined"; say it plainly.
    name = error.split("'")[1] if error.count("'") >= 2 else error
    return f"“{name}” is not a field."


@lru_cache(maxsize=64)
def _compiled(text: str):
    return _environment.from_string(text)


def render(subject: str, body: str, values: dict) -> Rendered:
    """Render a template already checked by :func:`template_problems`."""
    return Rendered(
        subject=" ".join(_render(_compiled(subject), values).split()),
        body=_render(_compiled(body), values).strip() + "\n",
    )


DEFAULTS = {
    "invitation": (
        "Please tell us about {{ programme }}: {{ wave }} questionnaire",
        """Dear {{ first_name }},

You are taking part in {{ programme }}. As part of its evaluation we ask everyone
to fill in a short questionnaire. It takes about {{ estimated_minutes }} minutes, and you can
stop and come back later on the same link.

Your personal link (please do not share it):
{{ link }}

Please answer by {{ deadline }}.

Thank you,
{{ signature }}

If you do not want reminders about this questionnaire: {{ opt_out_link }}
""",
    ),
    "reminder": (
        "Reminder: {{ wave }} questionnaire for {{ programme }}",
        """Dear {{ first_name }},

A reminder about the {{ wave }} questionnaire for {{ programme }}.
{% if pages_done %}You have done {{ pages_done }} of {{ pages_total }} pages: your answers are
saved, and the link takes you back to where you stopped.
{% endif %}
Your personal link: {{ link }}

Please answer by {{ deadline }}. Every answer helps the evaluation.

Thank you,
{{ signature }}

If you do not want more reminders about this questionnaire: {{ opt_out_link }}
""",
    ),
    "final": (
        "Last chance: {{ wave }} questionnaire closes {{ deadline }}",
        """Dear {{ first_name }},

We have not yet had your answers to the {{ wave }} questionnaire, and we would
very much like to hear from you and from the {{ team }} team at {{ organisation }}.

We have kept the questionnaire open for you until {{ deadline }}.
{% if pages_done %}You have already done {{ pages_done }} of {{ pages_total }} pages.
{% endif %}
Your personal link: {{ link }}

Thank you,
{{ signature }}

If you do not want more reminders about this questionnaire: {{ opt_out_link }}
""",
    ),
}
