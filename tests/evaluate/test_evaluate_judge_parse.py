"""Reading grades and verdicts out of judge output, including garbage."""

from __future__ import annotations

import pytest

from wildchat.evaluate.judge_parse import JudgeParseError, parse_rating, parse_verdict


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Good answer.\nScore: [[7]]", 7.0),
        ("[[ 8.5 ]]", 8.5),
        ("Rating: [[10/10]]", 10.0),
        ("[[Rating: 3]]", 3.0),
        ("I give [[6]]. To repeat: [[6]]", 6.0),
        ("[[1]]", 1.0),
    ],
)
def test_parse_rating_accepts(text: str, value: float) -> None:
    assert parse_rating(text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "empty"),
        ("   \n", "empty"),
        ("Pretty good, I would say seven.", "no_rating"),
        ("Score: [7]", "no_rating"),
        ("[[0]]", "out_of_range"),
        ("[[42]]", "out_of_range"),
        ("[[-3]]", "out_of_range"),
        ("[[3]] or maybe [[9]]", "ambiguous_rating"),
    ],
)
def test_parse_rating_rejects_with_reason(text: str | None, reason: str) -> None:
    with pytest.raises(JudgeParseError) as info:
        parse_rating(text)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("text", "verdict"),
    [("B wins: [[B]]", "B"), ("[[a]]", "A"), ("[[C]]", "tie"), ("[[tie]]", "tie"), ("[[A]] ... [[A]]", "A")],
)
def test_parse_verdict(text: str, verdict: str) -> None:
    assert parse_verdict(text) == verdict


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("A is better", "no_verdict"),
        ("[[A]] no, [[B]]", "ambiguous_verdict"),
        ("[[D]]", "no_verdict"),
    ],
)
def test_parse_verdict_rejects(text: str, reason: str) -> None:
    with pytest.raises(JudgeParseError) as info:
        parse_verdict(text)
    assert info.value.reason == reason
