"""Waves to make team reports of: a culture survey by team, with small teams among them."""

import random
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

from surveyapp.demo import sample_answers
from surveyapp.questionnaires.catalogue import questionnaire_of
from tests.conftest import NOW, _unavailable
from tests.factories import make_programme
from tests.scoring.builders import cohort, submit_all, wave_of

#: Harbour (3) is too few; Quay (5) is pooled with it, so that Harbour cannot be worked
#: out. Twenty-five in all: an anonymous wave is released in steps of the threshold (5).
TEAMS = {"North": 11, "East": 6, "Quay": 5, "Harbour": 3}
#: How far each team leans towards the positive statements.
LEANS = {"North": 0.8, "East": -0.6, "Quay": 0.2, "Harbour": 0.0}


def culture_wave(session, teams=None, *, programme=None, seed=5, submit=True, **wave_fields):
    """A submitted culture survey wave (anonymous unless ``privacy`` says otherwise)."""
    teams = teams or TEAMS
    leans = {team: LEANS.get(team, 0.3) for team in teams}
    if programme is None:
        programme = make_programme(session, name="Culture pilot")
        cohort(session, teams, programme)
    wave_fields.setdefault("privacy", "anonymous")
    wave_fields.setdefault("label", "Culture survey")
    wave = wave_of(session, programme, key="leadership_culture", **wave_fields)
    questionnaire = questionnaire_of(wave.questionnaire_version)
    rng = random.Random(seed)
    if submit:
        submit_all(session, wave, lambda p: sample_answers(questionnaire, rng, leans[p.team]))
    session.commit()
    return wave


def two_identified_waves(session):
    """A baseline and a second culture survey of the same people, both identified."""
    first = culture_wave(
        session, privacy="identified", label="Baseline", opens_at=NOW - timedelta(days=10)
    )
    second = culture_wave(
        session, programme=first.programme, seed=9, privacy="identified", label="Second survey"
    )
    return first, second


def pdf_text(content: bytes) -> str:
    import io

    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def page_text(html: str) -> str:
    """A page's visible text: tags dropped, entities of numbers are plain already."""
    html = re.sub(r"<(script|style|title)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def decimals(text: str) -> set[str]:
    """Every number with a decimal point in ``text`` (a minus sign kept)."""
    return set(re.findall(r"(?<![\d.])[-−–]?\d+\.\d+", text.replace("−", "-")))


def first_page_ink(pdf: Path) -> float:
    """The share of dark pixels on page one, drawn by poppler's pdftoppm as greyscale."""
    if shutil.which("pdftoppm") is None:
        _unavailable("pdftoppm is not installed (apt-get install poppler-utils)")
    subprocess.run(
        ["pdftoppm", "-r", "40", "-gray", "-f", "1", "-l", "1", str(pdf), str(pdf.with_suffix(""))],
        check=True,
    )
    image = next(pdf.parent.glob(f"{pdf.stem}-*1.pgm")).read_bytes()
    # Binary PGM: "P5", width, height, maxval, each after whitespace, then the pixels.
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", image)
    width, height = int(header.group(1)), int(header.group(2))
    pixels = image[header.end() : header.end() + width * height]
    assert len(pixels) == width * height
    return sum(1 for value in pixels if value < 128) / len(pixels)
