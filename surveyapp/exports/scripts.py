"""Analysis scripts beside the data: SPSS syntax that recomputes every scale from the raw items.

Flask-free. The syntax follows ``scoring.scales.scale_scores`` rule for rule, so an
evaluator can check the product's scores in SPSS (or GNU PSPP):

- each answer becomes its point score (``scales.point_scores``: whole-number codes
  score themselves, text codes their position); "not applicable" and anything
  that is not a point is missing;
- reverse-coded items score ``lowest + highest - score`` over the item's points;
- a score exists only when at least ``min_answered`` items are answered;
- ``mean``: the mean of the answered items; ``sum``: the plain sum when every item
  is answered, else the mean of the answered items times the number of items.

The recomputed score of scale ``x`` is ``rc_x`` (names cut to SPSS's limit); the
syntax ends by listing each with the product's own score and their largest difference.
"""

from __future__ import annotations

from surveyapp.exports.codebook import Variable
from surveyapp.exports.tables import ExportTables
from surveyapp.questionnaires import Questionnaire
from surveyapp.scoring.scales import answer_slots, point_scores

#: SPSS's longest variable name, in bytes.
MAX_NAME = 64


def _literal(value, numeric: bool) -> str:
    if numeric:
        return repr(float(value)) if not float(value).is_integer() else str(int(value))
    return "'" + str(value).replace("'", "''") + "'"


def spss_syntax(tables: ExportTables, questionnaire: Questionnaire, data_file: str) -> str:
    """SPSS syntax that reads ``data_file`` (the wave's wide ``.sav``) and recomputes the scales.

    Scales whose items or score are not in the file (withheld, or no scales at all)
    are said in a comment and skipped.
    """
    slots = answer_slots(questionnaire)
    by_source = {v.source: v for v in tables.variables if v.role == "answer" and v.source in slots}
    scores = {v.source: v for v in tables.variables if v.role == "score"}
    lines = [
        "* Recompute every scale score of this wave from its raw items,",
        "* exactly as the product does (see the pack's README).",
        "* Run it from this folder: pspp scores.sps, or open it in SPSS.",
        f"GET FILE='{data_file}'.",
        "",
    ]
    made: list[tuple[str, str]] = []
    temporary: list[str] = []
    for number, scale in enumerate(questionnaire.scales, start=1):
        variables = [by_source.get(answer_id) for answer_id in scale.items]
        score = scores.get(scale.id)
        if score is None or any(v is None for v in variables):
            lines.append(f"* Scale {scale.id}: not recomputed (its items are not in this file).")
            continue
        lines.append(f"* Scale {scale.id}: {scale.method}, at least {scale.min_answered} answered.")
        names = []
        for position, (answer_id, variable) in enumerate(zip(scale.items, variables, strict=True)):
            name = f"s{number}_{position + 1}"
            names.append(name)
            temporary.append(name)
            lines += _item_score(name, variable, slots[answer_id].item, answer_id in scale.reverse)
        joined = ", ".join(names)
        target = f"rc_{scale.id}"[:MAX_NAME]
        count = f"n{number}_answered"
        temporary.append(count)
        size = len(scale.items)
        lines.append(f"COMPUTE {count} = NVALID({joined}).")
        if scale.method == "sum":
            lines.append(f"IF ({count} = {size}) {target} = SUM({joined}).")
            lines.append(
                f"IF ({count} >= {scale.min_answered} AND {count} < {size}) "
                f"{target} = MEAN({joined}) * {size}."
            )
        else:
            lines.append(f"IF ({count} >= {scale.min_answered}) {target} = MEAN({joined}).")
        lines.append(f"FORMATS {target} (F12.6).")
        lines.append(f"VARIABLE LABELS {target} '{_quoted(score.label)} (recomputed)'.")
        lines.append("")
        made.append((score.name, target))
    lines.append("EXECUTE.")
    if temporary:
        lines.append(f"DELETE VARIABLES {' '.join(temporary)}.")
    if made:
        lines.append("")
        lines.append("* The product's scores and the recomputed ones, side by side.")
        pairs = " ".join(f"{product} {target}" for product, target in made)
        lines.append(f"DESCRIPTIVES VARIABLES={pairs} /STATISTICS=MEAN STDDEV MIN MAX.")
    lines.append("")
    return "\n".join(lines)


def _quoted(text: str) -> str:
    return text.replace("'", "''")[:200]


def _item_score(name: str, variable: Variable, item, reverse: bool) -> list[str]:
    """RECODE one item's exported codes into its point score (reversed when asked)."""
    if item.type == "number":
        return [f"COMPUTE {name} = {variable.name}."]
    points = point_scores(item)
    low, high = min(points.values()), max(points.values())
    numeric = variable.type == "numeric"
    specs = []
    for code, score in points.items():
        exported = variable.recode.get(code, code)
        value = low + high - score if reverse else score
        specs.append(f"({_literal(exported, numeric)}={_literal(value, True)})")
    return [f"RECODE {variable.name} {' '.join(specs)} (ELSE=SYSMIS) INTO {name}."]


# -- R -----------------------------------------------------------------------------------


def _r_string(value) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def r_script(tables: ExportTables, questionnaire: Questionnaire, data_file: str) -> str:
    """An R script (base R only) that reads ``data_file`` (the wave's wide CSV) and
    recomputes every scale as ``rc_<scale>``, by the same rules as ``spss_syntax``.

    It prints, per scale, n, mean and standard deviation of the product's score and of
    the recomputed one, and their largest difference; it writes the recomputed scores
    beside the key to ``scores_recomputed.csv``.
    """
    slots = answer_slots(questionnaire)
    by_source = {v.source: v for v in tables.variables if v.role == "answer" and v.source in slots}
    scores = {v.source: v for v in tables.variables if v.role == "score"}
    key = tables.key
    lines = [
        "# Recompute every scale score of this wave from its raw items,",
        "# exactly as the product does (see the pack's README).",
        "# Run it from this folder: Rscript scores.R",
        f'data <- read.csv({_r_string(data_file)}, fileEncoding = "UTF-8-BOM",',
        "                 check.names = FALSE, stringsAsFactors = FALSE,",
        f'                 colClasses = c({_r_string(key)} = "character"))',
        "points <- function(x, codes, scores) scores[match(as.character(x), codes)]",
        "result <- data.frame(data[[" + _r_string(key) + "]], check.names = FALSE)",
        f"names(result) <- {_r_string(key)}",
        "",
    ]
    made: list[tuple[str, str]] = []
    for scale in questionnaire.scales:
        variables = [by_source.get(answer_id) for answer_id in scale.items]
        score = scores.get(scale.id)
        if score is None or any(v is None for v in variables):
            lines.append(f"# Scale {scale.id}: not recomputed (its items are not in this file).")
            continue
        lines.append(f"# Scale {scale.id}: {scale.method}, at least {scale.min_answered} answered.")
        columns = []
        for answer_id, variable in zip(scale.items, variables, strict=True):
            columns.append(_r_item(variable, slots[answer_id].item, answer_id in scale.reverse))
        size = len(scale.items)
        lines.append("items <- cbind(\n  " + ",\n  ".join(columns) + "\n)")
        lines.append("answered <- rowSums(!is.na(items))")
        lines.append("mean_answered <- rowMeans(items, na.rm = TRUE)")
        if scale.method == "sum":
            lines.append(
                f"value <- ifelse(answered == {size}, rowSums(items, na.rm = TRUE), "
                f"mean_answered * {size})"
            )
        else:
            lines.append("value <- mean_answered")
        target = f"rc_{scale.id}"
        lines.append(
            f"result[[{_r_string(target)}]] <- ifelse(answered >= {scale.min_answered}, "
            "value, NA_real_)"
        )
        lines.append("")
        made.append((score.name, target))
    lines.append(
        "for (pair in list("
        + ", ".join(f"c({_r_string(product)}, {_r_string(target)})" for product, target in made)
        + ")) {"
    )
    lines += [
        "  product <- as.numeric(data[[pair[1]]])",
        "  again <- result[[pair[2]]]",
        "  gap <- suppressWarnings(max(abs(product - again), na.rm = TRUE))",
        '  cat(sprintf("%s: n %d, mean %.6f, sd %.6f; recomputed n %d, mean %.6f, sd %.6f; '
        'largest difference %g\\n",',
        "      pair[1], sum(!is.na(product)), mean(product, na.rm = TRUE),",
        "      sd(product, na.rm = TRUE), sum(!is.na(again)), mean(again, na.rm = TRUE),",
        "      sd(again, na.rm = TRUE), if (is.finite(gap)) gap else 0))",
        "}",
        'write.csv(result, "scores_recomputed.csv", row.names = FALSE, na = "")',
        "",
    ]
    return "\n".join(lines)


def _r_item(variable: Variable, item, reverse: bool) -> str:
    """One item's point scores as an R expression (reversed when asked)."""
    column = f"data[[{_r_string(variable.name)}]]"
    if item.type == "number":
        return f"suppressWarnings(as.numeric({column}))"
    points = point_scores(item)
    low, high = min(points.values()), max(points.values())
    codes, values = [], []
    for code, score in points.items():
        codes.append(_r_string(variable.recode.get(code, code)))
        values.append(repr(float(low + high - score if reverse else score)))
    return f"points({column}, c({', '.join(codes)}), c({', '.join(values)}))"
