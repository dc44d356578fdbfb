"""Helpers of the evaluation tests: question and ShareGPT files (tiny models: ``tests.builders.models``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

QUESTIONS: list[dict[str, Any]] = [
    {
        "question_id": 1,
        "category": "writing",
        "turns": ["Write a haiku about rain.", "Now make it about snow."],
    },
    {
        "question_id": 2,
        "category": "math",
        "turns": ["What is 12 * 7?", "And divided by 4?"],
        "reference": ["84", "21"],
    },
    {"question_id": "q3", "category": "coding", "turns": ["Reverse a list in Python.", "Now in place."]},
]


def write_questions(
    path: Path, questions: list[dict[str, Any]] | None = None, extra_lines: list[str] = ()
) -> Path:  # type: ignore[assignment]
    lines = [json.dumps(q) for q in (QUESTIONS if questions is None else questions)]
    path.write_text("\n".join([*lines, *extra_lines]) + "\n", encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def sharegpt_file(path: Path, n: int, prefix: str) -> Path:
    """A ShareGPT JSON file of ``n`` two-turn conversations (our own text)."""
    rows = [
        {
            "id": f"{prefix}-{i}",
            "conversations": [
                {"from": "human", "value": f"{prefix} question number {i}?"},
                {"from": "gpt", "value": f"Answer {i} from {prefix}."},
                {"from": "human", "value": "Thanks, and more?"},
                {"from": "gpt", "value": "More " * (i % 4 + 1)},
            ],
        }
        for i in range(n)
    ]
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path
