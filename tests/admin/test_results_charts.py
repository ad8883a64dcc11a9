"""Charts of the results pages: each scale's distribution, and every chart as PNG and SVG."""

import re
import struct
import zlib

import pytest

from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.results.operations import PNG_ZOOM, png_of
from surveyapp.scoring import load_answers, scores_table, summarise_scales
from tests.admin.test_results import _culture_wave, _scale_wave
from tests.factories import make_programme
from tests.scoring.builders import cohort, store_questionnaire, submit_all, wave_of

EVALUATOR = {"email": "evaluator@example.org", "role": "evaluator"}


def png_size(data: bytes) -> tuple[int, int]:
    """Check a PNG as a viewer would (signature, every chunk's CRC, the pixels inflate to
    the size the header says) and return its width and height."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, place = [], 8
    while place < len(data):
        (length,) = struct.unpack(">I", data[place : place + 4])
        kind = data[place + 4 : place + 8]
        body = data[place + 8 : place + 8 + length]
        (crc,) = struct.unpack(">I", data[place + 8 + length : place + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        place += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    assert len(pixels) == height * (1 + width * channels * depth // 8)
    return width, height


def _svg_size(svg: str) -> tuple[int, int]:
    tag = re.search(r"<svg[^>]*>", svg).group(0)
    return int(re.search(r' width="(\d+)"', tag).group(1)), int(
        re.search(r' height="(\d+)"', tag).group(1)
    )


def _section(html: str, element_id: str) -> str:
    return re.search(rf'<div class="app-item" id="{element_id}">.*?</table>', html, re.S).group(0)


def test_each_scale_shows_the_distribution_of_its_scores_with_the_numbers(client, auth, session):
    wave = _scale_wave(session)
    auth.login(**EVALUATOR)
    questionnaire = questionnaire_of(wave.questionnaire_version)
    scores = scores_table(load_answers(session, wave), questionnaire)
    summary = summarise_scales(scores, questionnaire)
    total = summary[summary["is_total"]].set_index("scale")

    html = client.get(f"/admin/waves/{wave.id}/results?by=team").text

    section = _section(html, "distribution-agree_mean")
    assert "<svg" in section and "Download as PNG" in section and "Download as SVG" in section
    table = re.search(r'<table[^>]*id="distribution-table-agree_mean".*?</table>', html, re.S)
    counts = dict(re.findall(r'app-row-header">(\d)</th>\s*<td[^>]*>(\d+)</td>', table.group(0)))
    expected = total.at["agree_mean", "distribution"]
    assert counts == {str(point): str(count) for point, count in expected.items()}
    assert sum(expected.values()) == total.at["agree_mean", "n"] == 18
    # The chart's bars say the same, for screen readers too.
    label = re.search(r'aria-label="([^"]*)"', section).group(1)
    assert all(f"{point}: {count} (" in label for point, count in expected.items())
    # A scale of many points (a sum of four 1-5 items: 4 to 20) is drawn in bands.
    bands = re.findall(r'app-row-header">([\d–]+)</th>', _section(html, "distribution-agree_sum"))
    assert len(bands) <= 12 and bands[0].startswith("4") and bands[-1].endswith("20")


def test_no_distribution_is_drawn_for_a_wave_under_the_threshold(client, auth, session):
    programme = make_programme(session)
    cohort(session, {"North": 4}, programme)
    wave = wave_of(session, programme, store_questionnaire(session))
    submit_all(session, wave, lambda person: {"q1": 4, "q2": 4, "q3": 2, "q4": 5})
    session.commit()
    auth.login(**EVALUATOR)

    html = client.get(f"/admin/waves/{wave.id}/results").text
    section = re.search(r'id="distribution-agree_mean">.*?</div>', html, re.S).group(0)

    assert "Hidden: fewer than 5 responses." in section and "<svg" not in section
    for file_format in ("png", "svg"):
        url = f"/admin/waves/{wave.id}/results/chart?scale=agree_mean&format={file_format}"
        assert client.get(url).status_code == 404
        url = f"/admin/waves/{wave.id}/results/chart?item=q1&format={file_format}"
        assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "chart",
    ["results/chart?scale=agree_mean&", "results/chart?item=q2&", "results/chart?item=r1&"],
)
def test_a_bar_chart_downloads_as_svg_and_as_the_same_drawing_in_png(client, auth, session, chart):
    wave = _scale_wave(session)
    auth.login(**EVALUATOR)

    svg = client.get(f"/admin/waves/{wave.id}/{chart}format=svg")
    png = client.get(f"/admin/waves/{wave.id}/{chart}format=png")

    assert svg.status_code == png.status_code == 200
    assert svg.mimetype == "image/svg+xml" and png.mimetype == "image/png"
    assert svg.text.startswith('<?xml version="1.0"')
    assert re.match(
        r'attachment; filename="wave\d+_(scale|item)_\w+\.png"', png.headers["Content-Disposition"]
    )
    width, height = _svg_size(svg.text)
    assert png_size(png.data) == (width * PNG_ZOOM, height * PNG_ZOOM)
    assert 400 <= width and 50 <= height
    assert png.data == png_of(svg.text)


def test_the_culture_chart_downloads_as_png_and_a_hidden_team_in_no_format(client, auth, session):
    wave, _ = _culture_wave(session)
    auth.login(**EVALUATOR)
    page = client.get(f"/admin/waves/{wave.id}/results/culture?team=North").text
    assert "team=North&amp;download=png" in page and "team=North&amp;download=svg" in page

    svg = client.get(f"/admin/waves/{wave.id}/results/culture?team=North&download=svg")
    png = client.get(f"/admin/waves/{wave.id}/results/culture?team=North&download=png")

    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.headers["Content-Disposition"] == (
        f'attachment; filename="culture_wave{wave.id}.png"'
    )
    assert png_size(png.data) == (960 * PNG_ZOOM, _svg_size(svg.text)[1] * PNG_ZOOM)
    assert png.data == png_of(svg.text)
    for team in ("Harbour", "South"):  # too small, and hidden so Harbour cannot be worked out
        for download in ("png", "svg"):
            url = f"/admin/waves/{wave.id}/results/culture?team={team}&download={download}"
            assert client.get(url).status_code == 404
    everyone = client.get(f"/admin/waves/{wave.id}/results/culture?download=svg").text
    assert "Harbour" not in everyone and "South" not in everyone
    bad = client.get(f"/admin/waves/{wave.id}/results/culture?team=North&download=gif")
    assert bad.status_code == 400


def test_the_items_page_offers_each_chart_in_both_formats(client, auth, session):
    wave = _scale_wave(session)
    auth.login(**EVALUATOR)

    html = client.get(f"/admin/waves/{wave.id}/results/items").text

    item = re.search(r'id="item-q2">.*?</table>', html, re.S).group(0)
    assert f"/admin/waves/{wave.id}/results/chart?item=q2&amp;format=png" in item
    assert f"/admin/waves/{wave.id}/results/chart?item=q2&amp;format=svg" in item


def test_full_data_charts_are_only_for_the_programme_team(client, auth, session):
    programme = make_programme(session)
    cohort(session, {"North": 4}, programme)
    wave = wave_of(session, programme, store_questionnaire(session))
    submit_all(session, wave, lambda person: {"q1": 4, "q2": 4, "q3": 2, "q4": 5})
    session.commit()
    url = f"/admin/waves/{wave.id}/results/chart?scale=agree_mean&format=png&full=1"

    auth.login(**EVALUATOR)
    assert client.get(url).status_code == 404
    client.post("/auth/logout")
    auth.login(email="manager@example.org", role="programme_manager")
    assert png_size(client.get(url).data)[0] > 0


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 400),
        ("?format=png", 400),
        ("?scale=agree_mean&item=q1", 400),
        ("?scale=agree_mean&format=gif", 400),
        ("?scale=nothing", 404),
        ("?item=comment", 404),  # free text has no chart
    ],
)
def test_a_chart_request_names_one_known_chart(client, auth, session, query, status):
    wave = _scale_wave(session)
    auth.login(**EVALUATOR)

    assert client.get(f"/admin/waves/{wave.id}/results/chart{query}").status_code == status


def test_the_png_has_the_charts_words_drawn_with_a_font_of_this_machine():
    blank = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="30"></svg>'
    words = blank.replace(
        "></svg>",
        ' font-family="arial, sans-serif" font-size="13">'
        '<text x="4" y="20" fill="#0b0c0c">Strongly agree</text></svg>',
    )

    assert png_size(png_of(words)) == png_size(png_of(blank)) == (400, 60)
    # Without a font, resvg leaves the text out and both pictures are the same.
    assert png_of(words) != png_of(blank)
