"""The reporting threshold: which groups are too small to show, and which others must go too.

Flask-free. One rule, used by every table, chart and export made for the
evaluator role:

1. A group with fewer than ``threshold`` respondents is hidden (primary
   suppression). The threshold is 5 unless set, and never below 3.
2. When the total is shown, the hidden groups together must not be small
   either: the total minus the visible groups gives their sum, their mean and
   their distribution by subtraction. So while the hidden groups hold between 1
   and ``threshold - 1`` respondents between them, the smallest visible group
   is hidden too (complementary suppression). With exactly one small group,
   that means the next-smallest group is hidden with it.

3. A group some of whose responses are released under another label
   (``disclosure``: pooled with small groups) is hidden, so that no page shows
   a group the exports do not (``WITH_SMALL``).
4. Unanimity: a group whose every answer falls on the same point (the same
   option, or the same whole point of a scale score) is hidden, since showing
   it would tell each member's answer (``ALIKE``); and while the hidden groups
   together all answered alike, the smallest visible group is hidden with them,
   so the total cannot give their answer away. When everyone answered alike,
   the total is hidden too, and with it every group.

A hidden group is returned marked as hidden, with the reason, so a page can
say "hidden: fewer than 5 responses" rather than leave the group out.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

#: The reporting threshold unless a programme sets its own.
DEFAULT_THRESHOLD = 5
#: No threshold may be lower than this.
MIN_THRESHOLD = 3
#: Free-text answers are shown for a group only from this many respondents.
FREE_TEXT_THRESHOLD = 10

#: Why a group is hidden, as the page says it.
TOO_FEW = "too_few"
COMPLEMENTARY = "complementary"
WITH_SMALL = "with_small"
ALIKE = "alike"
#: Nothing to hide: nobody has answered yet (a wave just opened).
NONE_YET = "none_yet"
#: What a page says of a table or a chart with no responses at all.
NO_RESPONSES = "no responses yet"


def check_threshold(threshold: int) -> int:
    """Return the threshold, or raise ValueError when it is below the minimum of 3."""
    if isinstance(threshold, bool) or not isinstance(threshold, int):
        raise ValueError(f"The reporting threshold must be a whole number, not {threshold!r}.")
    if threshold < MIN_THRESHOLD:
        raise ValueError(
            f"The reporting threshold is {threshold}, but it can never be below {MIN_THRESHOLD}."
        )
    return threshold


def hidden_groups(
    counts: pd.Series,
    threshold: int,
    *,
    total_shown: bool = True,
    pooled: Iterable[str] = (),
    points: pd.Series | None = None,
) -> pd.Series:
    """Decide which groups to hide, given each group's number of respondents.

    :param counts: respondents per group, indexed by group.
    :param total_shown: whether the total over all these groups is shown beside them
        (then complementary suppression applies).
    :param pooled: groups with responses released under another label (hidden).
    :param points: per group, the set of points its answers fall on (for unanimity);
        None when the numbers have no points to be alike on.
    :return: the reason each group is hidden (``TOO_FEW``, ``WITH_SMALL``, ``ALIKE`` or
        ``COMPLEMENTARY``), or "" for a group that is shown; same index as ``counts``.
    """
    check_threshold(threshold)
    counts = counts.astype(int)
    reasons = pd.Series("", index=counts.index, dtype=object)
    reasons[counts < threshold] = TOO_FEW
    pooled = set(pooled)
    for label in counts.index:
        if reasons[label] == "" and label in pooled:
            reasons[label] = WITH_SMALL
    if points is not None:
        for label in counts.index:
            if reasons[label] == "" and len(points.get(label) or ()) == 1:
                reasons[label] = ALIKE
    if not total_shown:
        return reasons
    # Smallest first; ties broken by the group's name, so the choice is reproducible.
    order = sorted(
        (label for label in counts.index if reasons[label] == ""),
        key=lambda label: (int(counts[label]), str(label)),
    )
    for label in order:
        hidden = reasons[reasons != ""].index
        hidden_total = int(counts[hidden].sum())
        if not (0 < hidden_total < threshold or _alike(points, hidden)):
            break
        reasons[label] = COMPLEMENTARY
    return reasons


def _alike(points: pd.Series | None, groups: Iterable[str]) -> bool:
    """Whether the answers of ``groups`` together all fall on one point."""
    if points is None:
        return False
    together: set = set()
    for label in groups:
        together |= set(points.get(label) or ())
    return len(together) == 1


def points_of(values: pd.Series, groups: pd.Series) -> pd.Series:
    """Per group, the set of points its answered values fall on (blanks left out)."""
    frame = pd.DataFrame({"group": groups.to_numpy(), "value": values.to_numpy()})
    frame = frame[frame["value"].notna()]
    return frame.groupby("group")["value"].agg(lambda column: frozenset(column))


def hidden_note(reason: str, threshold: int) -> str:
    """Say why a group is hidden, for a table cell or a chart."""
    if reason == TOO_FEW:
        return f"hidden: fewer than {threshold} responses"
    if reason == COMPLEMENTARY:
        return "hidden: so that a smaller group cannot be worked out from the total"
    if reason == WITH_SMALL:
        return "hidden: so that a smaller group cannot be worked out from this and other tables"
    if reason == ALIKE:
        return "hidden: everyone in this group gave the same answer"
    if reason == NONE_YET:
        return NO_RESPONSES
    return ""
