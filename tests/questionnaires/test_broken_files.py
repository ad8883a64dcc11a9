"""Every broken file in the corpus gives exactly the messages written at its end."""

from pathlib import Path

import pytest

from surveyapp.questionnaires import check_source, load_file

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.yaml"))


def _expected(path: Path) -> list[str]:
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [
        line.removeprefix("# expect: ")
        for line in text.splitlines()
        if line.startswith("# expect: ")
    ]


def test_the_corpus_has_at_least_thirty_files():
    assert len(BROKEN) >= 30


@pytest.mark.parametrize("path", BROKEN, ids=lambda path: path.stem)
def test_broken_file_reports_exactly_its_problems(path):
    result = load_file(path)

    reported = [str(problem).removeprefix(f"{path.name}, ") for problem in result.problems]

    assert reported == _expected(path)
    if any(problem.is_error for problem in result.problems):
        assert result.questionnaire is None


def test_a_file_over_one_megabyte_is_refused_without_being_parsed(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"# padding\n" * 110_000)

    result = load_file(path)

    assert [problem.message for problem in result.problems] == [
        "The file is 1,100,000 bytes, over the limit of 1 MB. A questionnaire file is normally "
        "a few kilobytes: check that this is the right file."
    ]


def test_binary_garbage_is_reported_not_raised():
    result = check_source(bytes(range(256)) * 10, "garbage.yaml")

    assert result.questionnaire is None
    # Byte 10 is a newline, so the first byte that is not UTF-8 (128) is on line 2.
    assert (result.problems[0].line, result.problems[0].column) == (2, 118)
    assert "the byte 0x80 cannot be read" in result.problems[0].message
