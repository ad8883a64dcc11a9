"""Reports per team: every number is the results pages', small teams get none, nothing breaks."""

import io
import re
import zipfile

import pypdf
import pytest
from sqlalchemy import select

from surveyapp.exports import jobs
from surveyapp.models import AuditEvent
from surveyapp.reports import operations, pdf
from tests.conftest import NOW
from tests.reports.builders import (
    culture_wave,
    decimals,
    first_page_ink,
    page_text,
    pdf_text,
    two_identified_waves,
)
from tests.scoring.builders import SCORING_YAML, cohort, store_questionnaire, submit_all, wave_of

NO_SCALES_YAML = """
format_version: 1
key: no_scales
title: No scales
estimated_minutes: 1
source: Written for the tests
pages:
  - id: only
    title: Only
    items:
      - id: kind
        type: single_choice
        text: Kind of organisation
        required: false
        options:
          - {code: 1, label: Council}
          - {code: 2, label: Charity}
"""


def _table(html: str, table_id: str) -> str:
    return re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S).group(0)


def _row(table: str, group: str) -> str:
    return re.search(rf">{re.escape(group)}</th>.*?</tr>", table, re.S).group(0)


def _download(client, wave, team):
    response = client.get(f"/admin/waves/{wave.id}/reports/team", query_string={"team": team})
    assert response.status_code == 200, response.text
    assert response.mimetype == "application/pdf"
    return response.data


def test_every_number_in_a_team_report_is_one_the_results_pages_show(client, auth, session):
    wave = culture_wave(session)
    auth.login(email="evaluator@example.org", role="evaluator")

    listing = client.get(f"/admin/waves/{wave.id}/reports").text
    assert re.findall(r"team=(\w+)\">", listing) == ["East", "North"]
    withheld = _table(listing, "withheld-teams")
    assert "fewer than 5 responses" in _row(withheld, "Harbour")
    assert "cannot be worked out" in _row(withheld, "Quay")

    content = _download(client, wave, "North")
    text = pdf_text(content)
    scales_page = client.get(f"/admin/waves/{wave.id}/results?by=team").text
    culture_page = client.get(f"/admin/waves/{wave.id}/results/culture?team=North").text
    dashboard = client.get(f"/admin/waves/{wave.id}/dashboard").text
    shown = page_text(scales_page + culture_page + dashboard)

    # Every decimal in the report is on the results pages the evaluator sees...
    assert decimals(text) and decimals(text) <= decimals(shown)
    # ...and the team's and everyone's numbers of those pages are all in the report.
    for scale in re.findall(r'<table[^>]*id="(scale-[\w-]+)"', scales_page):
        for group in ("North", "All respondents"):
            row = _row(_table(scales_page, scale), group)
            assert decimals(page_text(row)) <= decimals(text), (scale, group)
            n = re.search(r'numeric">\s*(\d+)\s*<', row)
            assert n is None or f" {n.group(1)} " in f" {text} ".replace("\n", " ")
    culture_table = page_text(_table(culture_page, "culture-table"))
    assert decimals(culture_table) <= decimals(text)
    assert len(re.findall(r"^\d+\. ", text, re.M)) >= 32  # the 32 items of the table
    assert "Most agreement" in text and "Most disagreement" in text
    # A rate is a dashboard rate; the 60% target and the "95%" of intervals are not counts.
    assert set(re.findall(r"\d+%", text)) <= set(re.findall(r"\d+%", page_text(dashboard)))
    # No other team is named: not a hidden one, nor another shown one.
    for other in ("Harbour", "Quay", "East"):
        assert other not in text
    audit = session.scalars(select(AuditEvent.summary)).all()
    assert any("Team report of “North”" in summary for summary in audit)


def test_the_pdf_is_tagged_embeds_its_fonts_and_page_one_is_drawn(client, auth, session, tmp_path):
    wave = culture_wave(session)
    auth.login(email="evaluator@example.org", role="evaluator")
    target = tmp_path / "north.pdf"
    target.write_bytes(_download(client, wave, "North"))

    reader = pypdf.PdfReader(target)
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    assert root["/Lang"] == "en-GB"
    assert reader.metadata.title == "Team report: North"
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert "/FontFile2" in descriptor  # embedded
            fonts.add(font["/BaseFont"].split("+")[-1])
    assert fonts == {"DejaVuSans", "DejaVuSans-Bold"}
    # The chart is vector drawing, not a picture.
    assert all(
        "/XObject" not in page["/Resources"]
        or not any(
            x.get_object().get("/Subtype") == "/Image"
            for x in page["/Resources"]["/XObject"].values()
        )
        for page in reader.pages
    )
    ink = first_page_ink(target)
    assert 0.01 < ink < 0.5, ink


def test_an_administrator_gets_the_same_suppressed_report(client, auth, session):
    wave = culture_wave(session)
    auth.login()  # an administrator, who may see small groups on the results pages

    text = pdf_text(_download(client, wave, "North"))
    assert "Harbour" not in text
    refused = client.get(f"/admin/waves/{wave.id}/reports/team?team=Harbour&full=1")
    assert refused.status_code == 404
    assert "There is no report for “Harbour”: hidden: fewer than 5 responses." in refused.text


def test_change_between_identified_waves_is_the_change_pages(client, auth, session):
    first, second = two_identified_waves(session)
    auth.login(email="evaluator@example.org", role="evaluator")

    text = pdf_text(_download(client, second, "North"))
    change_page = client.get(
        f"/admin/programmes/{second.programme_id}/change",
        query_string={"first": first.id, "second": second.id, "by": "team"},
    ).text
    pages = "".join(
        client.get(url).text
        for url in (
            f"/admin/waves/{second.id}/results?by=team",
            f"/admin/waves/{second.id}/results/culture?team=North",
            f"/admin/waves/{second.id}/dashboard",
        )
    )
    assert "Change between waves" in text and "Baseline" in text
    assert decimals(text) <= decimals(page_text(pages + change_page))
    change_numbers = set()
    for table in re.findall(r"<table.*?</table>", change_page, re.S):
        for group in ("North", "All respondents"):
            if f">{group}</th>" in table:
                cells = re.findall(r"<td[^>]*>(.*?)</td>", _row(table, group), re.S)
                # n paired, the two means, the change and its interval (not t, p).
                shown = [cells[0], *cells[2:6]]
                change_numbers |= decimals(" ".join(shown))
                assert f"{group} {cells[0].strip()} " in text.replace("\n", " ")
    assert change_numbers and change_numbers <= decimals(text)


def test_no_answers_yet_says_so_and_the_zip_is_still_whole(client, auth, session, app):
    wave = culture_wave(session, submit=False)
    auth.login(email="evaluator@example.org", role="evaluator")

    page = client.get(f"/admin/waves/{wave.id}/reports")
    assert page.status_code == 200 and operations.NO_ANSWERS in page.text
    assert client.get(f"/admin/waves/{wave.id}/reports/team?team=North").status_code == 404
    made = pdf.batch_zip(operations.wave_batch(session, wave, now=NOW), made_by="t", now=NOW)
    names = zipfile.ZipFile(io.BytesIO(made.content)).namelist()
    assert [name.split("/")[-1] for name in names] == ["README.txt", "MANIFEST.sha256"]
    readme = zipfile.ZipFile(io.BytesIO(made.content)).read(names[0]).decode()
    assert operations.NO_ANSWERS in readme


def test_only_small_groups_gives_no_report_and_says_why(session):
    wave = culture_wave(session, {"Ash": 3, "Birch": 4}, privacy="identified")

    batch = operations.wave_batch(session, wave, now=NOW)
    assert batch.reports == []
    assert dict(batch.withheld) == {
        "Ash": "hidden: fewer than 5 responses",
        "Birch": "hidden: fewer than 5 responses",
    }
    readme = pdf.readme(batch, made_by="t", now=NOW).decode()
    assert "Ash: hidden: fewer than 5 responses" in readme
    assert "Birch: hidden: fewer than 5 responses" in readme


def test_a_questionnaire_without_scales_or_culture_items_has_nothing_to_report(
    client, auth, session
):
    programme = cohort(session, {"North": 6})[0].programme
    wave = wave_of(session, programme, store_questionnaire(session, NO_SCALES_YAML, "no_scales"))
    submit_all(session, wave, lambda person: {"kind": 1})
    session.commit()
    auth.login(email="evaluator@example.org", role="evaluator")

    page = client.get(f"/admin/waves/{wave.id}/reports")
    assert page.status_code == 200 and "nothing to report per team" in page.text
    assert "reports-zip" not in page.text


#: The scoring questionnaire without its two bipolar items (and the scale made of them).
NO_CULTURE_YAML = re.sub(
    r"      - \{id: b[12],.*?\n.*?\n|  - \{id: pairs.*?\n", "", SCORING_YAML, flags=re.S
).replace("key: scoring_check", "key: no_culture")


def test_a_questionnaire_with_scales_but_no_culture_items_reports_the_scales(session):
    programme = cohort(session, {"North": 6, "South": 5})[0].programme
    version = store_questionnaire(session, NO_CULTURE_YAML, "no_culture")
    wave = wave_of(session, programme, version)
    seen = []

    def answers_of(person):
        seen.append(person)
        return {"q1": 4, "q2": 2 + len(seen) % 3, "q3": 1 + len(seen) % 4, "q4": 3}

    submit_all(session, wave, answers_of)
    session.commit()

    batch = operations.wave_batch(session, wave, now=NOW)
    assert [report.team for report in batch.reports] == ["North", "South"]
    text = pdf_text(pdf.team_pdf(batch.reports[0]))
    assert "Scale scores" in text and "Leadership culture profile" not in text


HOSTILE = {
    '"Quoted" & <b>bold</b>': 5,
    "Team A/B #1 $x$ *star* _u_ @label // [link](x)": 5,
    "فريق الشمال": 5,
    "צוות דרום": 5,
}


def test_team_names_with_quotes_slashes_markup_and_right_to_left_text(client, auth, session):
    wave = culture_wave(session, HOSTILE, privacy="identified")
    auth.login(email="evaluator@example.org", role="evaluator")

    batch = operations.wave_batch(session, wave, now=NOW)
    assert sorted(report.team for report in batch.reports) == sorted(HOSTILE)
    names = [report.filename for report in batch.reports]
    assert len(set(names)) == 4 and all(re.fullmatch(r"team_[a-z0-9_]+\.pdf", n) for n in names)
    for team in HOSTILE:
        text = pdf_text(_download(client, wave, team))
        if team.isascii():
            assert team in text.replace("\n", " ")
        else:
            assert set(team.replace(" ", "")) <= set(text)  # every letter is set in the PDF


def test_the_background_zip_has_a_pdf_per_team_a_readme_and_a_manifest(app, session, tmp_path):
    wave = culture_wave(session)
    store = jobs.JobStore(tmp_path / "jobs")
    job, _ = jobs.find_or_create(
        store,
        NOW,
        owner=1,
        wave_id=wave.id,
        file_format="zip",
        layout=jobs.TEAM_REPORTS,
        for_evaluator=True,
        threshold=5,
    )
    seen = []
    original = store.save
    store.save = lambda job: (seen.append((job.stage, job.percent)), original(job))[1]
    finished = jobs.run(store, job, app.extensions["surveyapp.sessionmaker"], lambda: NOW)

    assert finished.state == jobs.READY, finished.message
    assert [stage for stage, _ in seen][-1] == "writing" and seen[-1][1] == 100
    archive = zipfile.ZipFile(io.BytesIO(store.take(finished)))
    names = sorted(name.split("/", 1)[1] for name in archive.namelist())
    assert names == ["MANIFEST.sha256", "README.txt", "team_east.pdf", "team_north.pdf"]
    readme = archive.read(f"{finished.filename[:-4]}/README.txt").decode()
    assert "Harbour: hidden: fewer than 5 responses" in readme
    assert "Reporting threshold applied: 5" in readme


@pytest.mark.parametrize("team", ["North", None])
def test_the_command_writes_the_zip_or_one_team(runner, session, tmp_path, team):
    wave = culture_wave(session)
    target = tmp_path / ("north.pdf" if team else "reports.zip")
    args = ["exports", "reports", str(wave.id), "--out", str(target)]
    result = runner.invoke(args=args + (["--team", team] if team else []))

    assert result.exit_code == 0, result.output
    assert "No report for Harbour: hidden: fewer than 5 responses." in result.output
    if team:
        assert "Team report: North" in pdf_text(target.read_bytes())
    else:
        assert len(zipfile.ZipFile(target).namelist()) == 4
    refused = runner.invoke(args=["exports", "reports", str(wave.id), "--team", "Harbour"])
    assert refused.exit_code == 1
    assert "There is no report for “Harbour”: hidden: fewer than 5 responses" in refused.output


def test_the_evaluators_pack_holds_the_team_reports_of_a_culture_survey(session):
    from surveyapp.exports.pack import build_pack

    wave = culture_wave(session)
    made = build_pack(session, wave.programme, for_evaluator=True, made_by="t", now=NOW)
    archive = zipfile.ZipFile(io.BytesIO(made.content))
    names = {name.split("/", 1)[1]: name for name in archive.namelist()}
    reports = sorted(name for name in names if "/team_reports/" in name)
    assert reports == [
        "w1_culture_survey/team_reports/team_east.pdf",
        "w1_culture_survey/team_reports/team_north.pdf",
    ]
    manifest = archive.read(names["MANIFEST.sha256"]).decode()
    assert all(f"  {name}\n" in manifest for name in reports)
    readme = " ".join(archive.read(names["README.txt"]).decode().split())
    assert "team_north.pdf (North)" in readme
    assert "No report for Harbour (hidden: fewer than 5 responses)" in readme
    assert "Team report: North" in pdf_text(archive.read(names[reports[1]]))
