"""The memory plan: estimates, CPU defaults, GPU fallbacks, refusals naming the flags, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.builders.models import bpe_tokenizer, causal_lm_dir
from tests.train.train_helpers import CHATS, write_messages
from wildchat.cli.main import app
from wildchat.train import memory
from wildchat.train.memory import (
    GIB,
    HEADROOM,
    MemoryPlanError,
    MemoryRequest,
    MemorySettings,
    ModelShape,
    available_memory,
    estimate_training_memory,
    plan_memory,
)

runner = CliRunner()
# SmolLM2-135M-Instruct (`smollm2`): 30 layers, hidden 576, MLP 1536, 9 heads / 3 KV heads, 49,152 tokens
SMOL = ModelShape(
    params=134_515_008, layers=30, hidden=576, intermediate=1536, heads=9, kv_heads=3, vocab=49152
)
CPU = {"recipe_micro_batch": 4, "per_device_batch": 128}


def test_vicuna_gpu_settings_on_cpu_are_what_killed_the_machine() -> None:
    """Micro-batch 4 x 2,048 tokens with eager attention and no checkpointing: far over 24 GB."""
    gpu_style = MemorySettings(micro_batch=4, gradient_checkpointing=False, attention="eager")
    assert estimate_training_memory(SMOL, 2048, gpu_style).total > 24 * GIB
    safe = MemorySettings(micro_batch=1, gradient_checkpointing=True, attention="sdpa")
    est = estimate_training_memory(SMOL, 2048, safe)
    assert est.total < 8 * GIB  # the walkthrough's contract
    assert est.parts["optimizer"] == 8 * SMOL.params and est.parts["weights"] == 4 * SMOL.params
    # each knob lowers the estimate
    assert estimate_training_memory(SMOL, 2048, MemorySettings(1, True, "eager")).total > est.total
    assert estimate_training_memory(SMOL, 2048, MemorySettings(1, False, "sdpa")).total > est.total
    assert estimate_training_memory(SMOL, 2048, MemorySettings(2, True, "sdpa")).total > est.total
    lora = estimate_training_memory(SMOL, 2048, safe, trainable=SMOL.lora_params(16, 4))
    assert lora.total < est.total - 1.4 * GIB  # no full gradients / AdamW moments


def test_cpu_defaults_are_memory_safe_and_keep_the_global_batch() -> None:
    plan = plan_memory(SMOL, 2048, "cpu", MemoryRequest(), **CPU, available=(20 * GIB, "test"))
    assert plan.settings == MemorySettings(micro_batch=1, gradient_checkpointing=True, attention="sdpa")
    assert plan.chosen_by == {
        k: "cpu default" for k in ("micro_batch", "gradient_checkpointing", "attention")
    }
    record = plan.to_dict()
    assert record["estimated_peak_bytes"] == plan.estimate.total and record["available_bytes"] == 20 * GIB
    # what the user fixed stays fixed
    asked = MemoryRequest(micro_batch=2, gradient_checkpointing=False, attention="eager")
    plan = plan_memory(SMOL, 512, "cpu", asked, **CPU, available=(20 * GIB, "test"))
    assert plan.settings == MemorySettings(2, False, "eager") and set(plan.chosen_by.values()) == {"user"}


def test_cpu_packs_short_rows_into_one_full_length_row_of_tokens() -> None:
    """Short chats: as many rows as fit in max_length tokens (up to the recipe's 4), never more memory."""
    budget = {"token_budget": 2048, "available": (20 * GIB, "test")}
    for longest, micro in ((100, 4), (700, 2), (1100, 1), (2048, 1)):
        plan = plan_memory(SMOL, longest, "cpu", MemoryRequest(), **CPU, **budget)
        assert plan.settings.micro_batch == micro, longest
        full_row = estimate_training_memory(SMOL, 2048, MemorySettings(1, True, "sdpa")).total
        assert plan.estimate.total <= full_row
    # a micro-batch must divide the global batch: 3 rows would fit, 2 divides 128
    assert plan_memory(SMOL, 600, "cpu", MemoryRequest(), **CPU, **budget).settings.micro_batch == 2


def test_gpu_keeps_the_recipe_and_falls_back_only_as_needed() -> None:
    fast = plan_memory(SMOL, 2048, "cuda", MemoryRequest(), **CPU, available=(140 * GIB, "test"))
    assert fast.settings == MemorySettings(4, False, "sdpa")
    need_ckpt = estimate_training_memory(SMOL, 2048, MemorySettings(4, True, "sdpa")).total
    plan = plan_memory(
        SMOL, 2048, "cuda", MemoryRequest(), **CPU, available=(int(need_ckpt / HEADROOM) + 1, "t")
    )
    assert plan.settings == MemorySettings(4, True, "sdpa")
    need_one = estimate_training_memory(SMOL, 2048, MemorySettings(1, True, "sdpa")).total
    plan = plan_memory(
        SMOL, 2048, "cuda", MemoryRequest(), **CPU, available=(int(need_one / HEADROOM) + 1, "t")
    )
    assert plan.settings == MemorySettings(1, True, "sdpa")


def test_refusal_names_the_flags_and_a_length_that_fits() -> None:
    avail = 4 * GIB
    with pytest.raises(MemoryPlanError) as err:
        plan_memory(SMOL, 2048, "cpu", MemoryRequest(), **CPU, available=(avail, "MemAvailable"))
    msg = str(err.value)
    for flag in (
        "--max-length",
        "--micro-batch 1",
        "--gradient-checkpointing",
        "--lora",
        "--skip-memory-check",
    ):
        assert flag in msg
    assert "4.0 GiB available" in msg and "MemAvailable" in msg
    fits = int(msg.split("--max-length ")[1].split()[0])
    safe = MemorySettings(1, True, "sdpa")
    assert estimate_training_memory(SMOL, fits, safe).total <= HEADROOM * avail
    assert estimate_training_memory(SMOL, fits + 1, safe).total > HEADROOM * avail
    plan = plan_memory(SMOL, fits, "cpu", MemoryRequest(), **CPU, available=(avail, "MemAvailable"))
    assert plan.settings == safe  # and at that length the plan goes ahead


def test_available_memory_takes_the_tighter_of_ram_and_cgroup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "memory.max").write_text(f"{3 * GIB}\n")
    (tmp_path / "memory.current").write_text(f"{1 * GIB}\n")
    monkeypatch.setattr(memory, "CGROUP_ROOT", tmp_path)
    avail, source = available_memory("cpu")
    assert avail == 2 * GIB and "cgroup" in source
    (tmp_path / "memory.max").write_text("max\n")
    avail, source = available_memory("cpu")
    assert avail is not None and avail > 0 and "cgroup" not in source


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    torch.set_num_threads(1)
    return causal_lm_dir(tmp_path_factory.mktemp("tiny") / "model", bpe_tokenizer())


def test_train_cli_records_the_plan_it_used(tiny: Path, tmp_path: Path) -> None:
    data = write_messages(tmp_path / "d.jsonl", CHATS, repeat=2)
    out = tmp_path / "run"
    args = ["train", "--data", str(data), "--model", str(tiny), "--out", str(out)]
    result = runner.invoke(
        app, [*args, "--global-batch", "4", "--max-steps", "2", "--max-length", "256", "--device", "cpu"]
    )
    assert result.exit_code == 0, result.output
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["overrides"] == {
        "global_batch": 4,
        "max_steps": 2,
        "max_length": 256,
    }  # the plan is no override
    longest = recipe["memory"]["sequence_length"]
    micro = max(m for m in (1, 2, 4) if m == 1 or m * longest <= 256)  # rows that fit in 256 tokens
    said = " ".join(result.output.split())
    assert f"memory plan (cpu): attention sdpa, gradient checkpointing on, micro-batch {micro}" in said
    resolved = recipe["resolved"]
    assert (resolved["micro_batch"], resolved["gradient_accumulation"], resolved["global_batch"]) == (
        micro,
        4 // micro,
        4,
    )
    assert resolved["attention"] == "sdpa" and resolved["gradient_checkpointing"] is True
    assert recipe["memory"]["chosen_by"]["micro_batch"] == "cpu default"
    assert recipe["memory"]["estimated_peak_bytes"] > 0
    assert [json.loads(x)["step"] for x in (out / "train_log.jsonl").read_text().splitlines()] == [1, 2]


def test_train_cli_stops_before_loading_when_it_cannot_fit(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        memory, "available_memory", lambda device="cpu": (256 * 1024**2, "MemAvailable (test)")
    )

    def no_load(*a: object, **k: object) -> None:
        raise AssertionError("the weights must not load when the plan refuses")

    monkeypatch.setattr("wildchat.train.hf_trainer.load_for_training", no_load)
    data = write_messages(tmp_path / "d.jsonl", CHATS)
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", "--data", str(data), "--model", str(tiny), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "not enough memory to train" in result.output and "--max-length" in result.output
    assert not (out / "recipe.json").exists()
    # --skip-memory-check trains anyway (the estimate is a guide, not a law)
    skip = ["--skip-memory-check", "--global-batch", "2", "--max-steps", "1", "--max-length", "256"]
    monkeypatch.undo()
    monkeypatch.setattr(
        memory, "available_memory", lambda device="cpu": (256 * 1024**2, "MemAvailable (test)")
    )
    result = runner.invoke(
        app, ["train", "--data", str(data), "--model", str(tiny), "--out", str(out), *skip]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "recipe.json").read_text())["memory"]["available_source"].startswith(
        "not checked"
    )
