"""Answers of each evaluated model to every question, in MT-bench's answer format.

Turn ``k`` is asked with the model's own earlier turns as history (as in
MT-bench).  One line per question in ``answers/NAME.jsonl``::

    {"question_id", "answer_id", "model_id", "choices": [{"index": 0, "turns": [...]}],
     "tstamp", "error": null | "reason"}

A failed turn stops that question for that model (later turns need its
history); the question keeps the turns it has, ``error`` names the reason,
and grading counts the missing turns as ``no_answer`` skips.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wildchat.evaluate.endpoints import ChatClient, ChatError
from wildchat.evaluate.questions import Question


@dataclass(slots=True)
class Answer:
    """One model's turns for one question (fewer than asked when ``error`` is set)."""

    question_id: str
    model: str
    turns: list[str] = field(default_factory=list)
    error: str | None = None

    def to_record(self) -> dict[str, Any]:
        digest = hashlib.sha256(f"{self.model}\0{self.question_id}".encode()).hexdigest()[:22]
        return {
            "question_id": self.question_id,
            "answer_id": digest,
            "model_id": self.model,
            "choices": [{"index": 0, "turns": list(self.turns)}],
            "tstamp": time.time(),
            "error": self.error,
        }


def answer_question(client: ChatClient, question: Question, *, temperature: float, max_tokens: int) -> Answer:
    """All turns of ``question`` from ``client``; stops at the first failed turn."""
    ans = Answer(question.question_id, client.endpoint.name)
    messages: list[dict[str, str]] = []
    for text in question.turns:
        messages.append({"role": "user", "content": text})
        try:
            reply = client.complete(messages, temperature=temperature, max_tokens=max_tokens)
        except ChatError as exc:
            ans.error = exc.reason
            return ans
        messages.append({"role": "assistant", "content": reply})
        ans.turns.append(reply)
    return ans


def generate_answers(
    client: ChatClient,
    questions: list[Question],
    out_file: Path,
    *,
    temperature: float,
    max_tokens: int,
    concurrency: int,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Answer]:
    """Answers of ``client`` to ``questions`` (by question id), written to ``out_file``."""
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        answers = list(
            pool.map(
                lambda q: answer_question(client, q, temperature=temperature, max_tokens=max_tokens),
                questions,
            )
        )
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with out_file.open("w", encoding="utf-8") as fh:
        for a in answers:
            fh.write(json.dumps(a.to_record(), ensure_ascii=False) + "\n")
    if progress is not None:
        failed = sum(a.error is not None for a in answers)
        progress(f"answers from {client.endpoint.name}: {len(answers) - failed}/{len(answers)} complete")
    return {a.question_id: a for a in answers}
