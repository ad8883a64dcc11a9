"""How a long export reports how far it has got: three stages, each from 0 to 1.

Flask-free. A caller that wants progress passes ``progress(stage, fraction)``
to ``export_wave`` (or ``wave_tables`` and ``export_tables``); the stages come
in the order of ``STAGES``, each starting at 0 and ending at 1. The command line
prints them, and a background export on the page stores them for the progress
page (``jobs``).
"""

from __future__ import annotations

from collections.abc import Callable

#: The stages of an export, in order, with what a person is told.
STAGES = {
    "loading": "Loading answers",
    "scoring": "Scoring",
    "writing": "Writing the file",
}
#: About how much of an export's time each stage takes (from the exports benchmark).
WEIGHTS = {"loading": 0.45, "scoring": 0.15, "writing": 0.40}

#: ``progress(stage, fraction)``: ``stage`` is a key of ``STAGES``, ``fraction`` 0 to 1.
Progress = Callable[[str, float], None]


def no_progress(_stage: str, _fraction: float) -> None:
    """The progress callback of a caller that does not want one."""


def overall_percent(stage: str, fraction: float) -> int:
    """How far the whole export has got, 0 to 100, when ``stage`` is ``fraction`` done."""
    if stage not in STAGES:
        raise ValueError(f"An export has no stage {stage!r}.")
    before = 0.0
    for name in STAGES:
        if name == stage:
            break
        before += WEIGHTS[name]
    share = before + WEIGHTS[stage] * min(max(fraction, 0.0), 1.0)
    return min(100, int(share * 100 + 1e-9))


def describe(stage: str, fraction: float) -> str:
    """Say where an export is, as the terminal and the page show it: "Loading answers… 40%"."""
    return f"{STAGES[stage]}… {int(min(max(fraction, 0.0), 1.0) * 100)}%"
