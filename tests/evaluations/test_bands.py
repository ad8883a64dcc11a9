"""Attendance and mentoring bands: written one a line, refused with the line named."""

import pytest
from sqlalchemy import func, select

from surveyapp.models import DoseBands
from surveyapp.scoring import dose
from tests.factories import make_programme


def _read(text):
    return dose.parse_bands(text, field="attendance", what="Attendance bands")


def test_bands_are_read_with_their_names_and_an_open_last_band():
    bands = _read("0-3: 0 to 3 of 7\n4 - 4\n5 or more: 5 or more of 7\n")

    assert bands == [[0, 3, "0 to 3 of 7"], [4, 4, "4"], [5, None, "5 or more of 7"]]
    assert [dose.band_of(n, bands) for n in (0, 3, 4, 5, 7, 40)] == [1, 1, 2, 3, 3, 3]
    assert _read(dose.bands_text(bands)) == bands


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("1-3: some", "line 1 (“1-3: some”): the first band must start at 0"),
        ("0-3\n3-7", "line 2 (“3-7”): it overlaps the band before; start it at 4"),
        ("0-3\n5+", "line 2 (“5+”): it leaves a gap after the band before; start it at 4"),
        ("0+\n4-5", "line 2 (“4-5”): the band before it has no end"),
        ("0-3\nfive or more", "line 2 (“five or more”): write the band as two numbers"),
        ("0-3\n5-4", "line 2 (“5-4”): the second number must not be smaller than the first"),
    ],
)
def test_bands_that_cannot_work_are_refused_naming_the_line(text, says):
    with pytest.raises(dose.BandProblem) as refused:
        _read(text)

    assert says in str(refused.value)
    assert refused.value.field == "attendance"


def test_the_bands_page_refuses_a_gap_and_keeps_the_bands_saved(session, client, auth):
    programme = make_programme(session)
    dose.save_bands(session, programme, attendance=_read("0-4\n5+"), mentoring=[])
    session.commit()
    auth.login()

    refused = client.post(
        f"/admin/programmes/{programme.id}/evaluations/bands",
        data={"attendance": "0-2\n4+", "mentoring": "", "mentoring_kind": "mentoring"},
    )

    assert refused.status_code == 422
    assert "Attendance bands, line 2 (“4+”): it leaves a gap" in refused.text
    session.expire_all()
    assert session.get(DoseBands, programme.id).attendance == [
        [0, 4, "0-4"],
        [5, None, "5 or more"],
    ]
    assert session.scalar(select(func.count()).select_from(DoseBands)) == 1
