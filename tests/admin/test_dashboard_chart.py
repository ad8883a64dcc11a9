"""The dashboard's completions chart: its labels never run into one another."""

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from flask import render_template

from surveyapp import create_app
from surveyapp.waves.chart import completions_chart
from surveyapp.waves.small_counts import ShownDay

SVG = "{http://www.w3.org/2000/svg}"
#: Font sizes of the stylesheet, and a generous width per character.
FONT = {"app-chart__marker-label": 11, "app-chart__target-label": 12}
CHAR = 0.62


def _days(reminders: dict[int, str], length: int = 21, done: int = 30):
    start = date(2030, 5, 1)
    return [
        ShownDay(
            start + timedelta(days=n),
            "5 or more",
            done * (n + 1) // length,
            (reminders[n],) if n in reminders else (),
        )
        for n in range(length)
    ]


def _boxes(svg: str) -> dict[str, list[tuple[float, float, float, float]]]:
    """The room each label's text takes, as the browser draws it (rotation included)."""
    root = ET.fromstring(svg)
    boxes: dict[str, list] = {name: [] for name in FONT}
    for text in root.iter(f"{SVG}text"):
        kind = text.get("class")
        if kind not in FONT:
            continue
        size, content = FONT[kind], "".join(text.itertext())
        x, y = float(text.get("x")), float(text.get("y"))
        length = len(content) * size * CHAR
        anchor = text.get("text-anchor", "start")
        start = {"start": 0, "middle": -length / 2, "end": -length}[anchor]
        along = (start, start + length)
        across = (-0.8 * size, 0.25 * size)
        if re.match(r"rotate\(-90", text.get("transform", "")):
            # Turned a quarter left: along the text is up the screen, its top to the left.
            boxes[kind].append((x + across[0], y - along[1], x + across[1], y - along[0]))
        else:
            boxes[kind].append((x + along[0], y + across[0], x + along[1], y + across[1]))
    return boxes


def _overlap(a, b) -> bool:
    return not (a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])


@pytest.fixture(scope="module")
def app():
    return create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})


def _svg(app, chart) -> str:
    with app.test_request_context():
        html = render_template(
            "waves/_completions_chart.html", chart=chart, wave=SimpleNamespace(target_rate=60)
        )
    return re.search(r"<svg.*</svg>", html, re.S).group(0)


@pytest.mark.parametrize(
    "reminders",
    [
        {0: "Invitation"},
        {0: "Invitation", 20: "Final reminder"},
        {0: "Invitation", 7: "Reminder 1", 14: "Reminder 2", 20: "Final reminder"},
        {0: "Invitation", 1: "Reminder 1", 2: "Reminder 2"},
    ],
)
@pytest.mark.parametrize("target", [45, 30, 5])
def test_the_target_label_never_runs_into_a_reminder_label(app, reminders, target):
    chart = completions_chart(
        _days(reminders), invited=50, target=target, target_rate=60, width=640
    )

    boxes = _boxes(_svg(app, chart))

    (target_box,) = boxes["app-chart__target-label"]
    assert len(boxes["app-chart__marker-label"]) == len(reminders)
    for marker_box in boxes["app-chart__marker-label"]:
        assert not _overlap(target_box, marker_box), (target_box, marker_box)
    assert 0 <= target_box[0] and target_box[2] <= chart.width
    assert 0 <= target_box[1] and target_box[3] <= chart.height
    # Still beside its line: within a line of text above or below it.
    assert abs((target_box[1] + target_box[3]) / 2 - chart.target_y) <= 20
