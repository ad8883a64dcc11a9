"""Bands of the time taken to answer: all an anonymous wave keeps of time.

Flask-free, and free of the database, so the participant's flow can band a time as it
is sent. A band is a duration, never a moment: it says how long, not when.
"""

from __future__ import annotations

#: The bands, by code: (lower bound, upper bound) in seconds; the last has no upper bound.
TIME_BANDS: dict[int, tuple[int, int | None]] = {
    1: (0, 60),
    2: (60, 120),
    3: (120, 180),
    4: (180, 240),
    5: (240, 300),
    6: (300, 420),
    7: (420, 600),
    8: (600, 900),
    9: (900, 1200),
    10: (1200, 1800),
    11: (1800, 2700),
    12: (2700, 3600),
    13: (3600, None),
}


def band_of(seconds: int | None) -> int | None:
    """The band code of a time in seconds; None when not timed."""
    if seconds is None:
        return None
    for code, (lower, upper) in TIME_BANDS.items():
        if upper is None or lower <= seconds < upper:
            return code
    return None  # pragma: no cover - the last band has no upper bound


def _minutes(seconds: int) -> str:
    minutes = seconds // 60
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


def band_label(code: int) -> str:
    """Say a band in words: "Under 1 minute", "5 to 7 minutes", "60 minutes or more"."""
    lower, upper = TIME_BANDS[code]
    if lower == 0:
        return f"Under {_minutes(upper)}"
    if upper is None:
        return f"{_minutes(lower)} or more"
    return f"{lower // 60} to {_minutes(upper)}"
