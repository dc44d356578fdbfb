"""Helpers of the evaluation tests: question files and tiny causal LMs built locally."""

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


CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_tokenizer() -> Any:
    """Byte-level BPE without merges (every byte one token) plus ChatML specials and a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok)
    fast.add_special_tokens({"eos_token": "<|im_end|>", "bos_token": "<|im_start|>", "pad_token": "<|pad|>"})
    fast.chat_template = CHATML
    return fast


def tiny_model_dir(path: Path, seed: int = 0) -> Path:
    """A random 2-layer LlamaForCausalLM + :func:`tiny_tokenizer` saved as a model folder."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = tiny_tokenizer()
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=tok.bos_token_id,
    )
    model = LlamaForCausalLM(config).eval()
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path, safe_serialization=True)
    tok.save_pretrained(path)
    return path


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
