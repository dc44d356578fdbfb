"""Reading the judge's output: ``[[N]]`` grades and ``[[A]]/[[B]]/[[C]]`` verdicts.

Judges, especially small local ones, answer garbage: nothing, prose without a
grade, a grade of 0 or 42, two different grades.  Each case raises
:class:`JudgeParseError` with a reason code the pipeline counts as an
unusable judgment; nothing is guessed.
"""

from __future__ import annotations

import re
from typing import Literal

MIN_RATING, MAX_RATING = 1.0, 10.0

# [[7]], [[ 7.5 ]], [[7/10]], [[Rating: 7]]
_RATING = re.compile(
    r"\[\[\s*(?:rating\s*:?\s*|score\s*:?\s*)?(-?\d+(?:\.\d+)?)\s*(?:/\s*10\s*)?\]\]", re.IGNORECASE
)
_VERDICT = re.compile(r"\[\[\s*(A|B|C|tie)\s*\]\]", re.IGNORECASE)

Verdict = Literal["A", "B", "tie"]


class JudgeParseError(ValueError):
    """Judge output without one usable grade or verdict; ``reason`` is a short code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_rating(text: str | None) -> float:
    """The single 1-10 grade in ``text``.

    Repeating the same grade is fine; two different grades are
    ``ambiguous_rating``.  Reasons: ``empty``, ``no_rating``,
    ``ambiguous_rating``, ``out_of_range``.
    """
    if text is None or not text.strip():
        raise JudgeParseError("empty", "judge output is empty")
    values = {float(m) for m in _RATING.findall(text)}
    if not values:
        raise JudgeParseError("no_rating", "no [[rating]] in judge output")
    if len(values) > 1:
        raise JudgeParseError("ambiguous_rating", f"{len(values)} different ratings in judge output")
    value = values.pop()
    if not MIN_RATING <= value <= MAX_RATING:
        raise JudgeParseError("out_of_range", f"rating {value:g} outside {MIN_RATING:g}-{MAX_RATING:g}")
    return value


def parse_verdict(text: str | None) -> Verdict:
    """``"A"``, ``"B"`` or ``"tie"`` from ``[[A]]``, ``[[B]]``, ``[[C]]``/``[[tie]]``.

    Reasons: ``empty``, ``no_verdict``, ``ambiguous_verdict``.
    """
    if text is None or not text.strip():
        raise JudgeParseError("empty", "judge output is empty")
    found = {m.upper() for m in _VERDICT.findall(text)}
    found = {"C" if v == "TIE" else v for v in found}
    if not found:
        raise JudgeParseError("no_verdict", "no [[A]]/[[B]]/[[C]] in judge output")
    if len(found) > 1:
        raise JudgeParseError("ambiguous_verdict", "judge output names more than one verdict")
    v = found.pop()
    return "tie" if v == "C" else ("A" if v == "A" else "B")
