"""MT-bench question files: ``question.jsonl`` with two-turn questions.

One JSON object per line::

    {"question_id": 81, "category": "writing", "turns": ["...", "..."], "reference": ["...", "..."]}

Arena-Hard's variant, ``"turns": [{"content": "..."}]``, is read too: what
counts as a question's prompts is :func:`wildchat.formats.questions.question_prompts`
(the analysis report reads prompt sets by the same rule); every prompt must be non-blank.
``reference`` is optional (MT-bench gives it for math, reasoning and coding);
when present the judge prompt includes it.  Questions may have one turn or
more; answers are generated for every turn, and grading covers turns 1 and 2
(MT-bench's two columns) -- further turns are graded as their own turn number.

A malformed line or a repeated ``question_id`` is a counted skip (never
silently dropped); a file with no usable question is an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from wildchat.formats.questions import question_prompts
from wildchat.skips import SkipReport


class QuestionFileError(ValueError):
    """The question file cannot be used at all (missing, unreadable, nothing valid)."""


@dataclass(frozen=True, slots=True)
class Question:
    """One benchmark question: its user turns and optional reference answers."""

    question_id: str
    category: str
    turns: tuple[str, ...]
    reference: tuple[str, ...] | None = None

    def reference_for(self, turn: int) -> str | None:
        """Reference answer of 1-based ``turn``, or ``None``."""
        if self.reference is None or turn > len(self.reference):
            return None
        ref = self.reference[turn - 1]
        return ref if ref.strip() else None


def _parse(obj: object) -> Question | str:
    """A :class:`Question`, or the reason code why ``obj`` is not one."""
    if not isinstance(obj, dict):
        return "not_an_object"
    qid = obj.get("question_id")
    if isinstance(qid, bool) or not isinstance(qid, int | str) or str(qid).strip() == "":
        return "bad_question_id"
    turns = question_prompts(obj)
    if not turns or not all(t.strip() for t in turns):
        return "bad_turns"
    ref = obj.get("reference")
    if ref is not None and (not isinstance(ref, list) or not all(isinstance(r, str) for r in ref)):
        return "bad_reference"
    category = obj.get("category")
    return Question(
        question_id=str(qid),
        category=category if isinstance(category, str) and category else "general",
        turns=tuple(str(t) for t in turns),
        reference=tuple(ref) if ref else None,
    )


def load_questions(path: Path, report: SkipReport | None = None, limit: int | None = None) -> list[Question]:
    """The first ``limit`` (default: all) usable questions of ``path`` in file order.

    Bad lines are counted in ``report``; reading stops at ``limit``.

    Raises :class:`QuestionFileError` when the file cannot be read or holds
    no usable question.
    """
    report = report if report is not None else SkipReport()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(f"{path}: cannot read question file ({exc.__class__.__name__})") from exc
    questions: list[Question] = []
    seen: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        if limit is not None and len(questions) >= limit:
            break
        if not line.strip():
            continue
        report.read += 1
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            report.skip("invalid_json", "line is not valid JSON", str(path), lineno)
            continue
        parsed = _parse(obj)
        if isinstance(parsed, str):
            report.skip(parsed, f"question {parsed.replace('_', ' ')}", str(path), lineno)
            continue
        if parsed.question_id in seen:
            report.skip(
                "duplicate_question_id", f"question_id {parsed.question_id} repeated", str(path), lineno
            )
            continue
        seen.add(parsed.question_id)
        questions.append(parsed)
        report.written += 1
    if not questions:
        raise QuestionFileError(f"{path}: no usable question ({report.n_skipped} malformed line(s))")
    return questions
