"""export-sft + masking over the real samples in ../shared/data (read in place, never copied)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.builders.models import CHATML, bpe_tokenizer
from tests.train.train_helpers import labelled_runs
from wildchat.cli.main import app
from wildchat.train.masking import MaskingError, encode_chat

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.mark.parametrize("name", ["wildchat_firstturn", "sharegpt_v3_sample", "lmsys_chat_1m_sample191"])
def test_export_real_samples_accounts_for_every_conversation(
    shared_data: Path, tmp_path: Path, name: str
) -> None:
    out = tmp_path / f"{name}.jsonl"
    result = CliRunner().invoke(
        app, ["export-sft", str(shared_data / name), "--out", str(out), "--dedup-prompts"]
    )
    assert result.exit_code == 0, result.output
    stats = json.loads((tmp_path / f"{name}.jsonl.stats.json").read_text())
    assert stats["read"] == stats["written"] + stats["skipped"] > 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == stats["written"]
    assert 0 < stats["skipped_by_reason"].get("held_out", 0) < 0.1 * stats["read"]
    tok = bpe_tokenizer(CHATML)
    encoded = mismatched = 0
    for row in rows[:40]:
        msgs = row["messages"]
        assert msgs[-1]["role"] == "assistant" and all(
            m["content"].strip() for m in msgs if m["role"] == "assistant"
        )
        try:
            enc = encode_chat(tok, msgs)
        except MaskingError as exc:  # replies opening with blank lines: refused, never mis-masked
            assert exc.reason == "template_mismatch"
            mismatched += 1
            continue
        encoded += 1
        replies = [m["content"] for m in msgs if m["role"] == "assistant"]
        texts = [tok.decode(enc.input_ids[a:b]) for a, b in labelled_runs(enc.labels)]
        assert texts == [r + "<|im_end|>" for r in replies]
    assert encoded > 10 * max(mismatched, 1) or mismatched == 0
