"""The ``wildchat eval judge`` pipeline: answers -> judgments -> summary, on disk.

Writes into ``out``:

* ``answers/NAME.jsonl`` -- MT-bench answer format, one file per model;
* ``judgment_config.json`` -- judge endpoint and model, every prompt template
  and their SHA-256, sampling settings, question file SHA-256;
* ``judgments.jsonl`` -- one line per judge call (or skipped call);
* ``summary.json`` -- scores, win/tie/loss and how many judgments were unusable.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wildchat.evaluate.answers import Answer, generate_answers
from wildchat.evaluate.endpoints import ChatClient, ChatSettings, Endpoint
from wildchat.evaluate.judge import JudgeSettings, Judgment, model_pairs, run_judgments
from wildchat.evaluate.judge_prompts import PROMPT_VERSION, TEMPLATES, prompt_set_sha256
from wildchat.evaluate.judge_summary import summarize_pairs, summarize_single, usability
from wildchat.evaluate.questions import load_questions
from wildchat.skips import SkipReport


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    """How the evaluated models are asked."""

    temperature: float = 0.7
    max_tokens: int = 1024
    concurrency: int = 8


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@dataclass(frozen=True, slots=True)
class JudgeRun:
    """One judging run: who answers, which questions, who judges, where to write, and how."""

    models: list[Endpoint]
    questions: Path
    judge: Endpoint
    out: Path
    answers: AnswerSettings = field(default_factory=AnswerSettings)
    judging: JudgeSettings = field(default_factory=JudgeSettings)
    chat: ChatSettings = field(default_factory=ChatSettings)
    limit: int | None = None  # the first N questions (default all)


def run_judge(run: JudgeRun, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the pipeline on the first ``run.limit`` questions (default all); return the summary.

    The summary is also written to ``summary.json``.

    Raises :class:`~wildchat.evaluate.questions.QuestionFileError` for an
    unusable question file and ``ValueError`` for duplicate model names or an
    unknown baseline -- both before any request is sent.
    """
    names, pairs = _model_pairs(run)
    qreport = SkipReport()
    questions = load_questions(run.questions, qreport, run.limit)
    run.out.mkdir(parents=True, exist_ok=True)
    config = _config(run, qreport)
    _write_json(run.out / "judgment_config.json", config)
    answers: dict[str, dict[str, Answer]] = {}
    for ep in run.models:
        answers[ep.name] = generate_answers(
            ChatClient(ep, run.chat),
            questions,
            run.out / "answers" / f"{ep.name}.jsonl",
            temperature=run.answers.temperature,
            max_tokens=run.answers.max_tokens,
            concurrency=run.answers.concurrency,
            progress=progress,
        )
    judgments = run_judgments(questions, answers, ChatClient(run.judge, run.chat), run.judging, progress)
    with (run.out / "judgments.jsonl").open("w", encoding="utf-8") as fh:
        for j in judgments:
            fh.write(json.dumps(j.to_record(), ensure_ascii=False) + "\n")
    summary = build_summary(judgments, names, pairs, answers, config)
    _write_json(run.out / "summary.json", summary)
    return summary


def _model_pairs(run: JudgeRun) -> tuple[list[str], list[tuple[str, str]]]:
    """The answering models' names and the pairs to compare; ``ValueError`` when they cannot be."""
    names = [m.name for m in run.models]
    if len(set(names)) != len(names):
        raise ValueError(f"answering models need distinct names, got {', '.join(names)}")
    if not run.judging.pairwise:
        return names, []
    if len(run.models) < 2:
        raise ValueError("--pairwise needs at least two answering models")
    return names, model_pairs(names, run.judging.baseline)


def _config(run: JudgeRun, qreport: SkipReport) -> dict[str, Any]:
    """``judgment_config.json``: prompts pinned by SHA-256, every setting, the question file and its skips."""
    return {
        "prompt_version": PROMPT_VERSION,
        "prompt_sha256": prompt_set_sha256(),
        "prompts": TEMPLATES,
        "judge": run.judge.to_dict(),
        "judge_settings": asdict(run.judging),
        "answer_settings": asdict(run.answers),
        "models": [m.to_dict() for m in run.models],
        "questions": {
            "file": str(run.questions),
            "sha256": _sha256_file(run.questions),
            **qreport.to_dict(),
        },
        "retries": {"max_retries": run.chat.max_retries, "timeout_s": run.chat.timeout_s},
    }


def build_summary(
    judgments: list[Judgment],
    names: list[str],
    pairs: list[tuple[str, str]],
    answers: dict[str, dict[str, Answer]],
    config: dict[str, Any],
) -> dict[str, Any]:
    """The ``summary.json`` object."""
    answer_errors = {
        name: {
            "questions": len(by_q),
            "incomplete": sum(a.error is not None for a in by_q.values()),
            "errors_by_reason": _count(a.error for a in by_q.values()),
        }
        for name, by_q in answers.items()
    }
    return {
        "judge": config["judge"],
        "prompt_sha256": config["prompt_sha256"],
        "repetitions": config["judge_settings"]["repetitions"],
        "questions": config["questions"]["written"],
        "answers": answer_errors,
        "judgments": usability(judgments),
        "single": summarize_single(judgments, names) if any(j.kind == "single" for j in judgments) else {},
        "pairwise": summarize_pairs(judgments, pairs) if pairs else [],
    }


def _count(reasons: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in reasons:
        if r is not None:
            counts[r] = counts.get(r, 0) + 1
    return dict(sorted(counts.items()))
