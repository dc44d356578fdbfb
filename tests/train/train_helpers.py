"""Offline building blocks for the training tests: chat templates, chats, release records.

The chat templates are written here in the shape of the public families they
stand for (ChatML as in SmolLM2, Llama-2 ``[INST]``/``<<SYS>>``, Zephyr,
Vicuna v1.1, and ChatML with ``{% generation %}`` markers); ``EXPECTED`` says,
per template, what text the labelled tokens of one assistant message must
decode to.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from tests.builders.conversations import conversation as build_conversation
from tests.builders.models import CHATML
from wildchat.schema import Conversation, Turn

LLAMA2 = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}"
    "{% endfor %}"
)
ZEPHYR = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] + eos_token }}"
    "{% elif message['role'] == 'system' %}{{ '<|system|>\\n' + message['content'] + eos_token }}"
    "{% elif message['role'] == 'assistant' %}{{ '<|assistant|>\\n' + message['content'] + eos_token }}"
    "{% endif %}"
    "{% if loop.last and add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}{% endfor %}"
)
VICUNA = (
    "{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] + ' ' }}"
    "{% set loop_messages = messages[1:] %}"
    "{% else %}{{ 'A chat between a curious user and an artificial intelligence assistant. ' }}"
    "{% set loop_messages = messages %}{% endif %}{% for message in loop_messages %}"
    "{% if message['role'] == 'user' %}{{ 'USER: ' + message['content'] + ' ' }}"
    "{% elif message['role'] == 'assistant' %}{{ 'ASSISTANT: ' + message['content'] + eos_token }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)
CHATML_GENERATION = (
    "{% for message in messages %}{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}"
    "{% else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
#: renders the generation prompt differently from a written reply: masking must refuse it
MISMATCHED = CHATML.replace(
    "'<|im_start|>assistant\\n' }}{% endif %}", "'<|im_start|>assistant (reply)\\n' }}{% endif %}"
)

TEMPLATES: dict[str, str] = {
    "chatml": CHATML,
    "llama2": LLAMA2,
    "zephyr": ZEPHYR,
    "vicuna": VICUNA,
    "generation": CHATML_GENERATION,
}
EXPECTED: dict[str, Callable[[str], str]] = {
    "chatml": lambda c: c + "<|im_end|>",
    "llama2": lambda c: " " + c.strip() + " </s>",
    "zephyr": lambda c: "\n" + c + "</s>",
    "vicuna": lambda c: " " + c + "</s>",
    "generation": lambda c: c + "<|im_end|>",
}

def labelled_runs(labels: Sequence[int]) -> list[tuple[int, int]]:
    """Maximal ``[start, end)`` runs of labels that carry loss (!= -100)."""
    runs: list[tuple[int, int]] = []
    k = 0
    while k < len(labels):
        if labels[k] != -100:
            j = k
            while j < len(labels) and labels[j] != -100:
                j += 1
            runs.append((k, j))
            k = j
        else:
            k += 1
    return runs


CHATS: list[list[dict[str, str]]] = [
    [
        {"role": "user", "content": "Tell me a joke."},
        {"role": "assistant", "content": "Why did the chicken cross?"},
    ],
    [
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris is the capital."},
    ],
    [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hello there!"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "A poem about the sea?"},
        {"role": "assistant", "content": "The sea, the sky, the wind."},
    ],
    [{"role": "user", "content": "Python lists?"}, {"role": "assistant", "content": "Lists are mutable."}],
]


def write_messages(path: Path, chats: Sequence[Sequence[dict[str, str]]], repeat: int = 1) -> Path:
    path.write_text("".join(json.dumps({"messages": list(c)}) + "\n" for _ in range(repeat) for c in chats))
    return path


def conversation(
    cid: str,
    texts: Sequence[str],
    *,
    language: str = "English",
    toxic: bool = False,
    roles: Sequence[str] = (),
) -> Conversation:
    """A release record; ``texts`` alternate user/assistant unless ``roles`` is given."""
    roles = list(roles) or ["user" if i % 2 == 0 else "assistant" for i in range(len(texts))]
    turns = [
        Turn(content=t, role=r, language=language, toxic=toxic) for t, r in zip(texts, roles, strict=True)
    ]
    return build_conversation(
        turns,
        conversation_hash=f"h{cid}",
        model="gpt-4",
        timestamp=datetime(2024, 3, 1, tzinfo=UTC),
        turn=sum(1 for r in roles if r == "assistant"),
        language=language,
        toxic=toxic,
        conversation_id=cid,
    )
