"""Benchmark question records (MT-bench, Arena-Hard ``question.jsonl``): what a question's prompts are.

One line per question::

    {"question_id": 81, "category": "writing", "turns": ["...", "..."], "reference": ["..."]}

Arena-Hard writes ``"turns": [{"content": "..."}]`` instead of plain strings;
a turn object may say ``"role": "user"`` and no other role.  The analysis
report reads such files as prompt-only datasets and the evaluation reads them
as its questions; both take a record's prompts from :func:`question_prompts`,
so a file is a question file for one exactly when it is for the other.
"""

from __future__ import annotations

__all__ = ["question_prompts"]


def question_prompts(obj: object) -> list[str] | None:
    """The user prompts (in order) of one question record, or ``None`` if ``obj`` is not one.

    A question record is an object whose ``turns`` is a non-empty list of
    strings or of ``{"content": str}`` objects (``role`` absent or
    ``"user"``).  Prompts are returned as written (blank ones too: callers
    decide whether a blank prompt is usable).
    """
    if not isinstance(obj, dict):
        return None
    raw = obj.get("turns")
    if not isinstance(raw, list) or not raw:
        return None
    out: list[str] = []
    for t in raw:
        if isinstance(t, str):
            out.append(t)
        elif isinstance(t, dict) and isinstance(t.get("content"), str) and t.get("role") in (None, "user"):
            out.append(t["content"])
        else:
            return None
    return out
