"""Scores, summaries, the culture profile and change over time (Flask-free; pandas inside).

Load a wave once with ``load_answers(session, wave)``, then compute from the
long table it returns. Everything made for the evaluator role follows the
reporting threshold (``suppression``).
"""

from surveyapp.scoring.change import CannotPair, compare_scores, paired_change
from surveyapp.scoring.culture import culture_profile, leaning_items
from surveyapp.scoring.scales import (
    GROUP_FIELDS,
    ScaleInfo,
    answer_slots,
    item_scores,
    load_answers,
    scale_info,
    scale_scores,
    scores_table,
)
from surveyapp.scoring.summary import (
    ALL_RESPONDENTS,
    NOT_RECORDED,
    free_text,
    item_distribution,
    summarise_scales,
)
from surveyapp.scoring.suppression import (
    DEFAULT_THRESHOLD,
    FREE_TEXT_THRESHOLD,
    MIN_THRESHOLD,
    check_threshold,
    hidden_groups,
    hidden_note,
)

__all__ = [
    "ALL_RESPONDENTS",
    "DEFAULT_THRESHOLD",
    "FREE_TEXT_THRESHOLD",
    "GROUP_FIELDS",
    "MIN_THRESHOLD",
    "NOT_RECORDED",
    "CannotPair",
    "ScaleInfo",
    "answer_slots",
    "check_threshold",
    "compare_scores",
    "culture_profile",
    "free_text",
    "hidden_groups",
    "hidden_note",
    "item_distribution",
    "item_scores",
    "leaning_items",
    "load_answers",
    "paired_change",
    "scale_info",
    "scale_scores",
    "scores_table",
    "summarise_scales",
]
