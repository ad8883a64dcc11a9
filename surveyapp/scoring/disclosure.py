"""One disclosure decision per programme: under which labels each response may be released.

Flask-free. Everything an evaluator sees of a wave (every results page, every
breakdown, the charts, the culture profile, change between waves and every
suppressed export) is made from the labels this module releases, so that the
numbers stay safe beside each other. The rule, in full in ``docs/privacy.md``:

1. **Released combinations.** Each response has four cohort fields (team,
   organisation, region, role) and the answers to items marked
   ``identifying``. A field's value is *pooled* (released as "Other (small
   groups)") until every released combination of the four fields and the
   identifying answers is shared by at least ``threshold`` responses of the
   wave (k-anonymity over them). Pooling goes in this order:

   - a value held by fewer than ``threshold`` responses is pooled, and the
     next-smallest values with it while the pooled group is itself small;
   - a response whose combination is still rare first has its identifying
     answers withheld; then, when its team is released, the role of its whole
     team is pooled (so the team can still be shown); then its team, its
     organisation, its region, its role and its dose bands, one at a time; and when all are
     pooled and it is still rare, the smallest other combination is pooled
     wholly to join it;
   - identifying answers are withheld from any response with a pooled field,
     so they never stand beside a pooled label.

2. **The same pooling in every wave.** A person (by ID number) whose field is
   pooled in one identified wave has it pooled in every wave of the programme,
   so joining the waves' exports on ID number restores nothing. A wave with
   fewer responses than the threshold releases nothing, so it pools nothing
   elsewhere.

3. **Dose is a field too.** In a programme with sessions and bands, each response of
   an identified wave also carries the person's attendance band and mentoring band
   (as of the wave's close), pooled by the same rule (for a rare combination, after
   its cohort fields: a programme that sets bands means to read outcomes by them), so
   the outcomes by attendance page
   and the bands in an evaluator's export stand beside the team pages safely.

4. **Pages publish only released groups.** A results page shows a group (a
   team, an organisation, a region, a role) only when every one of its
   responses is released under that group's name. Every number shown is then
   a sum over whole released combinations, each of at least ``threshold``
   responses, and so is every difference or sum of shown numbers: no table,
   page or export, alone or beside the others, isolates fewer than
   ``threshold`` people.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from surveyapp.models import Answer, Participant, Programme, Response, Wave
from surveyapp.questionnaires import Questionnaire
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.scoring.suppression import check_threshold

#: The four cohort fields, as ``scales.GROUP_FIELDS`` (kept here so this module stands alone).
FIELDS = ("team", "organisation", "region", "role")
#: The dose fields a response carries in a programme with bands (``scoring.dose``).
DOSE_FIELDS = ("attendance_band", "mentoring_band")
#: What a pooled team, organisation, region or role becomes.
POOLED = "Other (small groups)"
#: The column of a response's identifying answers (a tuple; ``()`` when there are none).
IDENTIFYING = "identifying"
#: The label of respondents whose group field is empty (as ``summary.NOT_RECORDED``).
NOT_RECORDED = "Not recorded"


class NotReleasable(ValueError):
    """A table would release a combination shared by fewer than the threshold of rows."""


@dataclass(frozen=True, eq=False)
class Release:
    """The labels one wave's responses are released under, and which were pooled.

    ``pooled`` has one boolean column per cohort field and ``IDENTIFYING``,
    indexed by response id: True where the value is pooled (or the identifying
    answers withheld). ``real`` holds the recorded labels.
    """

    threshold: int
    real: pd.DataFrame
    pooled: pd.DataFrame

    @property
    def labels(self) -> pd.DataFrame:
        """The released value of each cohort field (and dose band), per response."""
        fields = fields_of(self.real)
        labels = self.real[list(fields)].astype(object).copy()
        for field in fields:
            labels.loc[self.pooled[field].to_numpy(), field] = POOLED
        return labels

    def pooled_groups(self, by: str) -> frozenset[str]:
        """The groups of breakdown ``by`` (as pages name them) with any response pooled."""
        if by not in fields_of(self.real):
            return frozenset()
        names = group_names(self.real[by])
        return frozenset(names[self.pooled[by].to_numpy()].unique())

    def withheld(self) -> pd.Index:
        """The responses whose identifying answers are withheld."""
        return self.pooled.index[self.pooled[IDENTIFYING].to_numpy()]


def fields_of(frame: pd.DataFrame) -> tuple[str, ...]:
    """The fields a wave's responses are released under: the cohort fields, and dose bands."""
    return (*FIELDS, *(field for field in DOSE_FIELDS if field in frame.columns))


def group_names(values: pd.Series) -> pd.Series:
    """Name each respondent's group, writing an empty field as "Not recorded"."""
    return values.fillna("").astype(str).replace("", NOT_RECORDED)


def people_frame(
    people: pd.DataFrame,
    identifying: pd.Series | None = None,
    person: pd.Series | None = None,
    bands: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Shape one wave's responses for ``decide``: the four fields, identifying answers, person.

    :param bands: per response, the dose bands (``DOSE_FIELDS``) as labels, if any.
    """
    frame = people[list(FIELDS)].astype(object).where(people[list(FIELDS)].notna(), "")
    frame = frame.astype(str)
    for field in bands.columns if bands is not None else ():
        values = bands[field].reindex(frame.index).astype(object)
        frame[field] = values.where(values.notna(), "").astype(str)
    if identifying is None:
        frame[IDENTIFYING] = [()] * len(frame)
    else:
        frame[IDENTIFYING] = identifying.reindex(frame.index).map(
            lambda value: value if isinstance(value, tuple) else ()
        )
    frame["person"] = None if person is None else person.reindex(frame.index)
    return frame


def decide(waves: Mapping[object, pd.DataFrame], threshold: int) -> dict[object, Release]:
    """Decide the release of every wave of a programme together.

    :param waves: per wave, one row per response (``people_frame``): the four
        fields, ``IDENTIFYING`` and ``person`` (the ID number, None in anonymous waves).
    :return: per wave, its ``Release``.
    """
    check_threshold(threshold)
    forced: dict[object, set[str]] = {}
    while True:
        masks = {
            key: _pool(frame, threshold, _forced_mask(frame, forced))
            for key, frame in waves.items()
        }
        grown = False
        for key, frame in waves.items():
            if len(frame) < threshold:
                continue  # never released at all, so it tells nothing to join with
            mask = masks[key]
            people = frame["person"]
            known = people.notna().to_numpy()
            for field in (*fields_of(frame), IDENTIFYING):
                for person in people[mask[field].to_numpy() & known]:
                    fields = forced.setdefault(person, set())
                    if field not in fields:
                        fields.add(field)
                        grown = True
        if not grown:
            return {
                key: Release(threshold, frame[list(fields_of(frame))], masks[key])
                for key, frame in waves.items()
            }


def decide_one(frame: pd.DataFrame, threshold: int) -> Release:
    """The release of a single wave on its own (a table made without its programme)."""
    return decide({None: frame}, threshold)[None]


def _forced_mask(frame: pd.DataFrame, forced: Mapping[object, set[str]]) -> pd.DataFrame:
    mask = pd.DataFrame(False, index=frame.index, columns=[*fields_of(frame), IDENTIFYING])
    if not forced:
        return mask
    for place, person in enumerate(frame["person"]):
        for field in forced.get(person, ()) if pd.notna(person) else ():
            if field not in mask.columns:
                continue  # a dose band, in a wave that carries none
            mask.iat[place, mask.columns.get_loc(field)] = True
    return mask


def _pool(frame: pd.DataFrame, threshold: int, mask: pd.DataFrame) -> pd.DataFrame:
    """Pool values of one wave until every released combination has ``threshold`` rows."""
    mask = mask.copy()
    if frame.empty:
        return mask
    fields = list(fields_of(frame))
    while True:
        changed = False
        for field in fields:
            chosen = _small_values(frame[field], mask[field], threshold)
            if chosen:
                mask[field] |= frame[field].isin(chosen) & ~mask[field]
                changed = True
        with_pooled = mask[fields].any(axis=1)
        if (with_pooled & ~mask[IDENTIFYING]).any():
            mask[IDENTIFYING] |= with_pooled
            changed = True
        rare = _rare(frame, mask, threshold)
        if rare.any():
            changed = _pool_rare(frame, mask, rare) or changed
        if not changed:
            return mask


def _small_values(column: pd.Series, pooled: pd.Series, threshold: int) -> list[str]:
    """Values held by fewer than ``threshold`` rows, and more while the pool is small."""
    counts = column[~pooled].value_counts()
    small = counts[counts < threshold]
    pooled_size = int(pooled.sum()) + int(small.sum())
    chosen = list(small.index)
    visible = sorted((int(n), str(value)) for value, n in counts[counts >= threshold].items())
    for n, value in visible:
        if not 0 < pooled_size < threshold:
            break
        chosen.append(value)
        pooled_size += n
    return chosen


def released_values(frame: pd.DataFrame, mask: pd.DataFrame) -> pd.DataFrame:
    """The released combination of each row: pooled values as ``POOLED``."""
    fields = fields_of(frame)
    released = frame[[*fields, IDENTIFYING]].astype(object).copy()
    for field in fields:
        released.loc[mask[field].to_numpy(), field] = POOLED
    # Withheld identifying answers are left blank, as unanswered ones are.
    released.loc[mask[IDENTIFYING].to_numpy(), IDENTIFYING] = pd.Series(
        [()] * int(mask[IDENTIFYING].sum()), dtype=object
    ).to_numpy()
    return released


def _rare(frame: pd.DataFrame, mask: pd.DataFrame, threshold: int) -> pd.Series:
    released = released_values(frame, mask)
    released[IDENTIFYING] = released[IDENTIFYING].map(repr)
    keys = [*fields_of(frame), IDENTIFYING]
    sizes = released.groupby(keys, dropna=False)[FIELDS[0]].transform("size")
    return sizes < threshold


def _pool_rare(frame: pd.DataFrame, mask: pd.DataFrame, rare: pd.Series) -> bool:
    """Pool one more field of the rare rows, in the order of the module docstring."""
    target = rare & ~mask[IDENTIFYING] & frame[IDENTIFYING].map(bool)
    if target.any():
        mask.loc[target, IDENTIFYING] = True
        return True
    # The role of the whole team, so that a team with a lone mentor can still be shown.
    teams = frame.loc[rare & ~mask["team"] & ~mask["role"], "team"].unique()
    if len(teams):
        whole = frame["team"].isin(teams) & ~mask["team"]
        mask.loc[whole, "role"] = True
        return True
    for field in fields_of(frame):
        target = rare & ~mask[field]
        if target.any():
            mask.loc[target, field] = True
            return True
    # Every field of the rare rows is pooled and they are still too few: the smallest
    # other combination joins them, all its fields pooled too.
    released = released_values(frame, mask)
    released[IDENTIFYING] = released[IDENTIFYING].map(repr)
    keys = released.apply(tuple, axis=1)
    sizes = keys[~rare].value_counts()
    if sizes.empty:
        return False
    smallest = min(sizes.index, key=lambda key: (int(sizes[key]), key))
    mask.loc[(keys == smallest).to_numpy(), [*fields_of(frame), IDENTIFYING]] = True
    return True


def check_released(released: pd.DataFrame, columns: Iterable[str], threshold: int) -> None:
    """Raise ``NotReleasable`` unless every combination of ``columns`` has ``threshold`` rows.

    The last check an export makes before it writes: its own columns, as released.
    """
    columns = list(columns)
    if released.empty or not columns:
        return
    keyed = released[columns].astype(object).where(released[columns].notna(), "").map(repr)
    sizes = keyed.groupby(columns).size()
    if (sizes < threshold).any():
        smallest = int(sizes.min())
        raise NotReleasable(
            f"A combination of {', '.join(columns)} would be shared by only {smallest} "
            f"row{'s' if smallest != 1 else ''}, fewer than the reporting threshold of "
            f"{threshold}; nothing was written."
        )


# -- from the database ------------------------------------------------------------------


def identifying_ids(questionnaire: Questionnaire) -> list[str]:
    """The answer ids of a questionnaire's identifying items (an "other" box included)."""
    ids = []
    for item in questionnaire.items():
        if item.identifying:
            if item.rows:
                ids.extend(row.id for row in item.rows)
            else:
                ids.append(item.id)
            if item.other is not None:
                ids.append(item.other_id)
    return ids


def identifying_values(answers: pd.DataFrame, ids: list[str]) -> pd.Series:
    """Per response of a long answer table, its identifying answers as one tuple."""
    people = answers["response_id"].drop_duplicates()
    if not ids:
        return pd.Series([()] * len(people), index=people.to_numpy(), dtype=object)
    given = answers[answers["answer_id"].isin(ids)]
    keyed = {}
    for response_id, answer_id, value in given[["response_id", "answer_id", "value"]].itertuples(
        index=False
    ):
        keyed.setdefault(response_id, []).append((answer_id, _plain(value)))
    return pd.Series(
        [tuple(sorted(keyed.get(response_id, []))) for response_id in people],
        index=people.to_numpy(),
        dtype=object,
    )


def _plain(value: object) -> object:
    """A hashable form of a stored answer; typed text compared without case or spaces."""
    if isinstance(value, list):
        return tuple(sorted(map(str, value)))
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    return value


def programme_releases(session: Session, programme: Programme, threshold: int) -> dict:
    """The release of every wave of a programme, by wave id, decided together."""
    frames = {wave.id: _wave_people(session, wave) for wave in programme.waves}
    return decide(frames, threshold)


def programme_release(session: Session, wave: Wave, threshold: int) -> Release:
    """The release of ``wave``, decided together with every other wave of its programme."""
    return programme_releases(session, wave.programme, threshold)[wave.id]


def _wave_people(session: Session, wave: Wave) -> pd.DataFrame:
    rows = session.execute(
        select(
            Response.id,
            Participant.id_number,
            Response.team,
            Response.organisation,
            Response.region,
            Response.role,
        )
        .select_from(Response)
        .outerjoin(Participant, Participant.id == Response.participant_id)
        .where(Response.wave_id == wave.id, Response.release.is_not(None))
        .order_by(Response.id)
    ).all()
    people = pd.DataFrame(rows, columns=["response_id", "person", *FIELDS]).set_index("response_id")
    ids = identifying_ids(questionnaire_of(wave.questionnaire_version))
    identifying = None
    if ids:
        given = session.execute(
            select(Answer.response_id, Answer.answer_id, Answer.value)
            .join(Response, Response.id == Answer.response_id)
            .where(
                Response.wave_id == wave.id,
                Response.release.is_not(None),
                Answer.answer_id.in_(ids),
            )
        ).all()
        long = pd.DataFrame(
            [(row[0], row[1], row[2]) for row in given] + [(i, None, None) for i in people.index],
            columns=["response_id", "answer_id", "value"],
        )
        identifying = identifying_values(long, ids)
    person = people["person"].astype(object).where(people["person"].notna(), None)
    return people_frame(people, identifying, person, _wave_bands(session, wave, person))


def _wave_bands(session: Session, wave: Wave, person: pd.Series) -> pd.DataFrame | None:
    """Per response of an identified wave, the person's dose bands as of the wave's close."""
    from surveyapp.scoring import dose

    if wave.is_anonymous or not dose.counts_dose(session, wave.programme):
        return None
    bands = dose.programme_bands(session, wave.programme)
    kinds = {"attendance_band": bands.attendance, "mentoring_band": bands.mentoring}
    kinds = {field: chosen for field, chosen in kinds.items() if chosen}
    if not kinds:
        return None
    doses = dose.dose_table(session, wave.programme, now=wave.closes_at)
    frame = pd.DataFrame(index=person.index)
    for field, chosen in kinds.items():
        names = {code: label for code, (_low, _high, label) in enumerate(chosen, 1)}
        codes = doses[field].reindex(person.to_numpy())
        frame[field] = [names.get(code) if pd.notna(code) else None for code in codes]
    return frame
