"""The judge prompts, written for this project in the spirit of MT-bench.

The text is ours (not FastChat's), but keeps MT-bench's contract so results
are comparable in kind: a 1-10 grade emitted as ``[[N]]``; a pairwise verdict
emitted as ``[[A]]``, ``[[B]]`` or ``[[C]]`` (tie); the second turn judged
with the whole first exchange in view; a reference answer shown to the judge
when the question has one (MT-bench gives references for math, reasoning and
coding).  :func:`prompt_set_sha256` fingerprints every template so a run's
``judgment_config.json`` pins exactly what the judge was asked.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

SINGLE_SYSTEM = (
    "You are a careful, impartial evaluator of AI assistant replies. Judge how well the reply serves "
    "the user: whether it is correct, helpful, relevant, appropriately detailed and clearly written. "
    "Length is not merit; do not reward padding. Where a reference answer is supplied, treat it as the "
    "ground truth for correctness. First explain your assessment in a few sentences. Then give a score "
    "from 1 (useless) to 10 (excellent) on its own line, written exactly in double square brackets, "
    "for example: Score: [[6]]"
)

SINGLE_TURN = """Evaluate the assistant's reply to the user's message.
{reference_block}
<user_message>
{question}
</user_message>

<assistant_reply>
{answer}
</assistant_reply>"""

SINGLE_MULTI_TURN = """Below is a conversation in two rounds. Evaluate ONLY the assistant's second reply,
taking the first round into account as context.
{reference_block}
<round_1_user>
{question_1}
</round_1_user>

<round_1_assistant>
{answer_1}
</round_1_assistant>

<round_2_user>
{question_2}
</round_2_user>

<round_2_assistant>
{answer_2}
</round_2_assistant>"""

PAIR_SYSTEM = (
    "You are a careful, impartial evaluator comparing two AI assistants. Decide which reply serves "
    "the user better: consider correctness, helpfulness, relevance, depth and clarity. The order in "
    "which the replies are shown must not influence you, nor their length, nor the assistants' names. "
    "Where a reference answer is supplied, treat it as the ground truth for correctness. First explain "
    "your comparison briefly. Then give your verdict on its own line, written exactly as [[A]] if "
    "assistant A is better, [[B]] if assistant B is better, or [[C]] for a tie."
)

PAIR_TURN = """Compare the two assistants' replies to the user's message.
{reference_block}
<user_message>
{question}
</user_message>

<assistant_A_reply>
{answer_a}
</assistant_A_reply>

<assistant_B_reply>
{answer_b}
</assistant_B_reply>"""

PAIR_MULTI_TURN = """Each assistant had the same two-round conversation with the user. Compare ONLY their
second replies, taking the first round into account as context.
{reference_block}
<round_1_user>
{question_1}
</round_1_user>

<assistant_A_round_1>
{answer_a_1}
</assistant_A_round_1>

<assistant_B_round_1>
{answer_b_1}
</assistant_B_round_1>

<round_2_user>
{question_2}
</round_2_user>

<assistant_A_round_2>
{answer_a_2}
</assistant_A_round_2>

<assistant_B_round_2>
{answer_b_2}
</assistant_B_round_2>"""

REFERENCE_BLOCK = """
<reference_answer>
{reference}
</reference_answer>
"""

TEMPLATES: dict[str, str] = {
    "single_system": SINGLE_SYSTEM,
    "single_turn": SINGLE_TURN,
    "single_multi_turn": SINGLE_MULTI_TURN,
    "pair_system": PAIR_SYSTEM,
    "pair_turn": PAIR_TURN,
    "pair_multi_turn": PAIR_MULTI_TURN,
    "reference_block": REFERENCE_BLOCK,
}

PROMPT_VERSION = "wildchat-judge-v1"


def prompt_set_sha256() -> str:
    """SHA-256 over every template (canonical JSON), pinned in ``judgment_config.json``."""
    blob = json.dumps({"version": PROMPT_VERSION, "templates": TEMPLATES}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class JudgePrompt:
    """A system + user message pair for one judge call."""

    system: str
    user: str

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


def _ref(reference: str | None) -> str:
    return REFERENCE_BLOCK.format(reference=reference) if reference else ""


def single_prompt(questions: list[str], answers: list[str], turn: int, reference: str | None) -> JudgePrompt:
    """Prompt grading the assistant's reply of 1-based ``turn`` (turn >= 2 shows the previous round)."""
    if turn == 1:
        user = SINGLE_TURN.format(reference_block=_ref(reference), question=questions[0], answer=answers[0])
    else:
        user = SINGLE_MULTI_TURN.format(
            reference_block=_ref(reference),
            question_1=questions[turn - 2],
            answer_1=answers[turn - 2],
            question_2=questions[turn - 1],
            answer_2=answers[turn - 1],
        )
    return JudgePrompt(SINGLE_SYSTEM, user)


def pair_prompt(
    questions: list[str], answers_a: list[str], answers_b: list[str], turn: int, reference: str | None
) -> JudgePrompt:
    """Prompt comparing assistant A with B on 1-based ``turn``."""
    if turn == 1:
        user = PAIR_TURN.format(
            reference_block=_ref(reference),
            question=questions[0],
            answer_a=answers_a[0],
            answer_b=answers_b[0],
        )
    else:
        user = PAIR_MULTI_TURN.format(
            reference_block=_ref(reference),
            question_1=questions[turn - 2],
            answer_a_1=answers_a[turn - 2],
            answer_b_1=answers_b[turn - 2],
            question_2=questions[turn - 1],
            answer_a_2=answers_a[turn - 1],
            answer_b_2=answers_b[turn - 1],
        )
    return JudgePrompt(PAIR_SYSTEM, user)
