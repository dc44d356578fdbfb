"""Packing: every conversation in one row, and each token's logits exactly as when it is alone."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tests.builders.models import bpe_tokenizer, causal_lm_dir
from tests.train.train_helpers import CHATS, write_messages
from wildchat.train.masking import encode_chat
from wildchat.train.packing import PackedCollator, pack
from wildchat.train.trainer import TrainOptions, run_training


def test_pack_keeps_every_conversation_whole() -> None:
    tok = bpe_tokenizer()
    examples = [encode_chat(tok, c) for c in CHATS * 3]
    longest = max(len(e) for e in examples)
    rows = pack(examples, longest + 10, seed=1)
    assert len(rows) < len(examples)
    assert all(len(r["input_ids"]) <= longest + 10 for r in rows)
    # each row is a concatenation of whole conversations: positions restart at 0 for each
    pieces = []
    for r in rows:
        starts = [k for k, p in enumerate(r["position_ids"]) if p == 0] + [len(r["input_ids"])]
        pieces += [(r["input_ids"][a:b], r["labels"][a:b]) for a, b in itertools.pairwise(starts)]
    assert sorted(pieces) == sorted((e.input_ids, e.labels) for e in examples)
    assert pack(examples, longest + 10, seed=1) == rows  # deterministic
    with pytest.raises(ValueError, match="does not fit"):
        pack(examples, longest - 1)


def test_packed_logits_equal_unpacked(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(str(causal_lm_dir(tmp_path / "m", bpe_tokenizer()))).eval()
    model.config.use_cache = False
    tok = bpe_tokenizer()
    examples = [encode_chat(tok, c) for c in CHATS]
    rows = pack(examples, sum(len(e) for e in examples), seed=0)  # all in one row
    assert len(rows) == 1
    batch = PackedCollator(pad_id=tok.pad_token_id)([rows[0], {k: v[:5] for k, v in rows[0].items()}])
    assert "attention_mask" not in batch
    with torch.no_grad():
        packed = model(
            input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
        ).logits[0]
        starts = [k for k, p in enumerate(rows[0]["position_ids"]) if p == 0]
        for start in starts:
            alone_ids = rows[0]["input_ids"][start:]
            n = next(
                (k for k, p in enumerate(rows[0]["position_ids"][start + 1 :], 1) if p == 0), len(alone_ids)
            )
            alone = model(input_ids=torch.tensor([alone_ids[:n]]), use_cache=False).logits[0]
            assert torch.allclose(packed[start : start + n], alone, atol=1e-5)
        # without the restarts (one long sequence) later conversations would see earlier ones
        plain = model(input_ids=batch["input_ids"][:1], use_cache=False).logits[0]
        assert not torch.allclose(plain[starts[1] :], packed[starts[1] :], atol=1e-3)


def test_train_with_packing_loss_falls(tmp_path: Path) -> None:
    import torch

    torch.set_num_threads(1)
    tiny = causal_lm_dir(tmp_path / "m", bpe_tokenizer())
    data = write_messages(tmp_path / "d.jsonl", CHATS, repeat=6)
    out = tmp_path / "run"
    overrides = {"lr": 1e-2, "global_batch": 2, "micro_batch": 2, "max_steps": 10, "max_length": 128}
    result = run_training(TrainOptions(data, str(tiny), out, "vicuna", overrides, device="cpu", pack=True))
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["resolved"]["packing"] and recipe["resolved"]["rows"] < result.n_examples == 24
    assert sum(result.losses[-3:]) / 3 < sum(result.losses[:3]) / 3
