"""The data-quality report as a page to read in a browser, for the evaluator's pack.

Flask-free (the pack is made on the queue): plain HTML with every text escaped. The
app's own page (``quality/templates/quality/wave.html``) shows the same report.
"""

from __future__ import annotations

import html

from surveyapp.quality import rules
from surveyapp.quality.operations import COUNTED, Report


def minutes(seconds: float | None) -> str:
    """A median time in words: "8.5 minutes", or "not enough responses timed"."""
    if seconds is None:
        return f"not worked out: fewer than {rules.MIN_TIMED} responses timed"
    return f"{seconds / 60:.1f} minutes"


def rules_said() -> list[str]:
    """The rules, one sentence each, as the page and the README say them."""
    return [
        "Time taken: from the first page shown to sending, summed over visits; a gap of "
        "more than 30 minutes between two pages is a break and is not counted. Anonymous "
        "waves keep the time only in bands.",
        f"Speeding: a time under a third of the wave's median time (judged once "
        f"{rules.MIN_TIMED} or more responses are timed; in bands, only a band wholly under "
        "a third of the median).",
        f"Straightlining: the same answer to every item of a grid, of a page's items on one "
        f"scale, or of all the bipolar items on one scale, where there are "
        f"{rules.STRAIGHTLINE_MIN_ITEMS} or more of them.",
        "Items left unanswered: the share of the questions shown that have no answer "
        "(typed text not counted).",
        f"Partial response: fewer than {rules.PARTIAL_SHARE:.0%} of the questions shown answered.",
        "A flag never deletes or changes an answer.",
    ]


def _table(caption: str, head: list[str], rows: list[list[object]]) -> str:
    heads = "".join(f'<th scope="col">{html.escape(words)}</th>' for words in head)
    body = "\n".join(
        "<tr>"
        + "".join(
            f'<th scope="row">{html.escape(str(cells[0]))}</th>'
            + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in cells[1:])
        )
        + "</tr>"
        for cells in rows
    )
    return (
        f"<table>\n<caption>{html.escape(caption)}</caption>\n<thead><tr>{heads}</tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table>"
    )


def report_html(result: Report, title: str) -> str:
    """The whole report as one page."""
    escaped = html.escape(title)
    if result.too_few:
        return (
            f'<!doctype html><html lang="en-GB"><meta charset="utf-8"><title>Data quality: '
            f"{escaped}</title><h1>Data quality: {escaped}</h1><p>{result.responses} responses: "
            f"fewer than {result.threshold}, so no figure is shown.</p></html>"
        )
    flags = _table(
        "Responses flagged by each rule",
        ["Rule", "Responses flagged", f"Of {result.responses} responses"],
        [[label, result.counts[name], result.responses] for name, label in COUNTED.items()],
    )
    teams = _table(
        "Responses flagged per team",
        ["Team", "Responses", *COUNTED.values()],
        [[row.team, row.responses, *row.counts.values()] for row in result.teams],
    )
    hidden = (
        f"<p>{result.hidden_teams} team{'s are' if result.hidden_teams != 1 else ' is'} not "
        f"shown: too few responses to show (fewer than {result.threshold}, or pooled with "
        "other small groups).</p>"
        if result.hidden_teams
        else ""
    )
    bands = _table(
        f"Time taken ({result.timed} of {result.responses} responses timed)",
        ["Time taken", "Responses"],
        [[label, count] for label, count in result.bands],
    )
    skipped = _table(
        "The questions most often left unanswered",
        ["Question", "Left unanswered", "Shown to"],
        [[f"{key}: {text}", count, shown] for key, text, count, shown in result.skipped],
    )
    median = html.escape(minutes(result.median_seconds))
    said = "".join(f"<li>{html.escape(line)}</li>" for line in rules_said())
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>Data quality: {escaped}</title>
<style>
body {{ font-family: Arial, sans-serif; margin: 2em; color: #0b0c0c; }}
table {{ border-collapse: collapse; margin-bottom: 2em; }}
th, td {{ border-bottom: 1px solid #b1b4b6; padding: 0.4em; text-align: left; }}
caption {{ text-align: left; font-weight: bold; margin-bottom: 0.5em; }}
</style>
</head>
<body>
<h1>Data quality: {escaped}</h1>
<p>{result.responses} responses. Median time taken: {median}.</p>
<h2>The rules</h2>
<ul>{said}</ul>
{flags}
{teams}
{hidden}
{bands}
{skipped}
</body>
</html>
"""
