"""`eval nll` with the real SmolLM2-135M-Instruct over real samples in ../shared/data (kept short)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wildchat.cli.main import app
from wildchat.evaluate.questions import load_questions

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_nll_smollm2_on_real_samples(shared_data: Path, tmp_path: Path) -> None:
    import torch

    torch.set_num_threads(2)
    out = tmp_path / "nll"
    res = CliRunner().invoke(
        app,
        [
            "eval",
            "nll",
            "--model",
            "smollm2",
            "--data",
            str(shared_data / "lmsys_chat_1m_sample191"),
            "--data",
            str(shared_data / "sharegpt_v3_sample"),
            "--samples",
            "3",
            "--all",
            "--max-length",
            "192",
            "--device",
            "cpu",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    result = json.loads((out / "nll.json").read_text())
    assert result["matrix"]["datasets"] == ["lmsys_chat_1m_sample191", "sharegpt_v3_sample"]
    assert result["models"][0]["gguf_file"].endswith(".gguf")
    for cell in result["cells"]:
        assert cell["conversations"] + cell["encode"]["skipped"] == 3 and cell["conversations"] >= 1
        # an instruct model on chat data: far better than chance (ln 49152 = 10.8), not perfect
        assert 0.3 < cell["mean_nll"] < 5.0 and cell["ci_low"] <= cell["mean_nll"] <= cell["ci_high"]
        assert math.isfinite(cell["tokens_per_s"]) and cell["loss_tokens"] > 0
    assert (out / "nll_heatmap.png").stat().st_size > 1000


def test_arena_hard_questions_load(shared_data: Path) -> None:
    qs = load_questions(shared_data / "lmsys_arena_hard_v0.1" / "question.jsonl")
    assert len(qs) == 500 and len({q.question_id for q in qs}) == 500
    assert all(len(q.turns) == 1 and q.turns[0].strip() for q in qs)
