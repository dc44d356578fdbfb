"""Judging answers with an OpenAI-compatible judge model, MT-bench style.

Two protocols, each repeated ``repetitions`` times (repetition ``r`` is sent
with ``seed=r``, so servers that honour seeds reproduce a run):

* single-answer grading: the judge rates each model's reply of each turn
  1-10 (:func:`wildchat.evaluate.judge_prompts.single_prompt`);
* pairwise comparison: the judge sees two models' replies in both orders
  (A/B and B/A) to cancel position bias; the pair's outcome is the winner
  when both orders agree and a tie otherwise (MT-bench's rule).

Every judge call yields one :class:`Judgment`; one whose answer is missing,
whose request failed after retries, or whose output has no usable grade or
verdict carries a ``skip_reason`` instead of a value.  Nothing here raises
for a bad judge.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Literal

from wildchat.evaluate.answers import Answer
from wildchat.evaluate.endpoints import ChatClient, ChatError
from wildchat.evaluate.judge_parse import JudgeParseError, parse_rating, parse_verdict
from wildchat.evaluate.judge_prompts import JudgePrompt, pair_prompt, single_prompt
from wildchat.evaluate.questions import Question


@dataclass(frozen=True, slots=True)
class JudgeSettings:
    """How the judge is called."""

    repetitions: int = 3
    temperature: float = 0.0
    max_tokens: int = 512
    concurrency: int = 8
    single: bool = True
    pairwise: bool = False
    baseline: str | None = None


@dataclass(slots=True)
class Judgment:
    """One judge call (or a skipped one) and what was read from it."""

    kind: Literal["single", "pair"]
    question_id: str
    category: str
    turn: int
    repetition: int
    model: str | None = None  # single
    model_a: str | None = None  # pair: who was shown as A in this call
    model_b: str | None = None
    rating: float | None = None
    verdict: str | None = None  # "A" | "B" | "tie"
    skip_reason: str | None = None
    judge_output: str | None = None

    def to_record(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None or k in ("skip_reason",)}


@dataclass(frozen=True, slots=True)
class _Task:
    judgment: Judgment
    prompt: JudgePrompt | None  # None: skipped before calling


def _single_tasks(questions: list[Question], answers: dict[str, dict[str, Answer]], reps: int) -> list[_Task]:
    tasks: list[_Task] = []
    for model, by_q in answers.items():
        for q in questions:
            ans = by_q.get(q.question_id)
            for turn in range(1, len(q.turns) + 1):
                for rep in range(reps):
                    j = Judgment("single", q.question_id, q.category, turn, rep, model=model)
                    if ans is None or len(ans.turns) < turn:
                        j.skip_reason = "no_answer"
                        tasks.append(_Task(j, None))
                        continue
                    prompt = single_prompt(list(q.turns), ans.turns, turn, q.reference_for(turn))
                    tasks.append(_Task(j, prompt))
    return tasks


def model_pairs(models: list[str], baseline: str | None) -> list[tuple[str, str]]:
    """Pairs to compare: each model against ``baseline``, or every pair when it is ``None``."""
    if baseline is not None:
        if baseline not in models:
            raise ValueError(f"baseline {baseline!r} is not one of the answering models: {', '.join(models)}")
        return [(m, baseline) for m in models if m != baseline]
    return [(a, b) for i, a in enumerate(models) for b in models[i + 1 :]]


def _pair_tasks(
    questions: list[Question], answers: dict[str, dict[str, Answer]], pairs: list[tuple[str, str]], reps: int
) -> list[_Task]:
    tasks: list[_Task] = []
    for m1, m2 in pairs:
        for q in questions:
            a1, a2 = answers[m1].get(q.question_id), answers[m2].get(q.question_id)
            for turn in range(1, len(q.turns) + 1):
                for rep in range(reps):
                    for first, second, fa, fb in ((m1, m2, a1, a2), (m2, m1, a2, a1)):
                        j = Judgment(
                            "pair", q.question_id, q.category, turn, rep, model_a=first, model_b=second
                        )
                        if fa is None or fb is None or len(fa.turns) < turn or len(fb.turns) < turn:
                            j.skip_reason = "no_answer"
                            tasks.append(_Task(j, None))
                            continue
                        prompt = pair_prompt(list(q.turns), fa.turns, fb.turns, turn, q.reference_for(turn))
                        tasks.append(_Task(j, prompt))
    return tasks


def _run(task: _Task, judge: ChatClient, settings: JudgeSettings) -> Judgment:
    j = task.judgment
    if task.prompt is None:
        return j
    try:
        out = judge.complete(
            task.prompt.messages(),
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            seed=j.repetition,
        )
    except ChatError as exc:
        j.skip_reason = exc.reason
        return j
    j.judge_output = out
    try:
        if j.kind == "single":
            j.rating = parse_rating(out)
        else:
            j.verdict = parse_verdict(out)
    except JudgeParseError as exc:
        j.skip_reason = exc.reason
    return j


def run_judgments(
    questions: list[Question],
    answers: dict[str, dict[str, Answer]],
    judge: ChatClient,
    settings: JudgeSettings,
    progress: Callable[[str], None] | None = None,
) -> list[Judgment]:
    """Every judgment of the run, in a deterministic order (single first, then pairs).

    ``answers`` maps model name -> question id -> :class:`Answer`.  Raises
    ``ValueError`` only for a ``baseline`` that is not an answering model.
    """
    tasks: list[_Task] = []
    if settings.single:
        tasks += _single_tasks(questions, answers, settings.repetitions)
    if settings.pairwise:
        pairs = model_pairs(list(answers), settings.baseline)
        tasks += _pair_tasks(questions, answers, pairs, settings.repetitions)
    if progress is not None:
        progress(f"judge {judge.endpoint.name}: {sum(t.prompt is not None for t in tasks)} calls")
    with ThreadPoolExecutor(max_workers=max(1, settings.concurrency)) as pool:
        return list(pool.map(lambda t: _run(t, judge, settings), tasks))
