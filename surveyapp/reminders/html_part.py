"""The HTML part of an invitation or reminder, made from the same template as its text part
(Flask-free).

The text part is the template written out with the person's values. The HTML part is
that same text, escaped whole (the template's own words and every merged value alike),
so nothing merged from a cohort file (a name, a team) can become markup. Blank lines
make paragraphs; a line broken only to keep the text narrow (it goes on in lower case)
runs on, and any other line break stays; only the links the product itself merged
(the personal link and the opt-out link) become links. The layout is plain and
accessible: one column, the language and title set, large text, underlined links, and
colours with the contrast of GOV.UK's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
</head>
<body style="margin:0;padding:0;background:#ffffff;">
<div role="article" aria-label="{title}" lang="en" style="max-width:600px;margin:0 auto;\
padding:16px;font-family:Arial,Helvetica,sans-serif;font-size:19px;line-height:1.5;\
color:#0b0c0c;">
{paragraphs}
</div>
</body>
</html>
"""
_PARAGRAPH = '<p style="margin:0 0 20px 0;">{}</p>'
_RUNS_ON = re.compile(r"[\w,;]\s*$")
_GOES_ON = re.compile(r"\s*[a-z]")
_LINK = '<a href="{0}" style="color:#1d70b8;text-decoration:underline;">{0}</a>'


def html_body(text: str, *, subject: str, links: Iterable[str] = ()) -> str:
    """Write the HTML part of an email whose text part is ``text``.

    ``links`` are the addresses to make clickable where they appear in the text
    (the personal link, the opt-out link); any other text stays text.
    """
    known = sorted({link for link in links if link}, key=len, reverse=True)
    # The longest first, so that the opt-out link is not read as the personal link.
    pattern = re.compile("|".join(re.escape(link) for link in known)) if known else None
    paragraphs = [part for part in re.split(r"\n[ \t]*\n", text.strip()) if part.strip()]
    return _PAGE.format(
        title=escape(subject),
        paragraphs="\n".join(
            _PARAGRAPH.format("<br>\n".join(_line(line, pattern) for line in _lines(part)))
            for part in paragraphs
        ),
    )


def _lines(paragraph: str) -> list[str]:
    """The paragraph's lines, with a line wrapped mid-sentence joined to the next."""
    lines: list[str] = []
    for line in paragraph.split("\n"):
        if lines and _RUNS_ON.search(lines[-1]) and _GOES_ON.match(line):
            lines[-1] = f"{lines[-1].rstrip()} {line.lstrip()}"
        else:
            lines.append(line)
    return lines


def _line(line: str, pattern: re.Pattern | None) -> str:
    if pattern is None:
        return escape(line)
    pieces, start = [], 0
    for found in pattern.finditer(line):
        pieces.append(escape(line[start : found.start()]))
        pieces.append(_LINK.format(escape(found.group(0))))
        start = found.end()
    pieces.append(escape(line[start:]))
    return "".join(pieces)
