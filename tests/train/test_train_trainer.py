"""`wildchat train` on a tiny random Llama: loss falls, LoRA merges, recipe and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.builders.models import bpe_tokenizer, causal_lm_dir
from tests.train.train_helpers import CHATS, write_messages
from wildchat.cli.main import app
from wildchat.train.recipe import RecipeError, resolve_recipe, total_steps
from wildchat.train.trainer import SftCollator, TrainError, TrainOptions, run_training

runner = CliRunner()


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return causal_lm_dir(tmp_path_factory.mktemp("tiny") / "model", bpe_tokenizer())


def test_vicuna_recipe_and_overrides() -> None:
    recipe, accum = resolve_recipe("vicuna", {})
    assert (recipe.epochs, recipe.global_batch, recipe.lr, recipe.max_length) == (3.0, 128, 2e-5, 2048)
    assert (recipe.scheduler, recipe.warmup_ratio, recipe.weight_decay) == ("cosine", 0.04, 0.0)
    assert accum == 128 // 4
    recipe, accum = resolve_recipe("vicuna", {"micro_batch": 8, "lr": 1e-3, "epochs": None}, world_size=2)
    assert (recipe.lr, recipe.epochs, accum) == (1e-3, 3.0, 8)
    assert total_steps(recipe, 1000) == 3 * 8  # ceil(1000 / 128) per epoch
    with pytest.raises(RecipeError, match="not a multiple"):
        resolve_recipe("vicuna", {"micro_batch": 3})
    with pytest.raises(RecipeError, match="unknown recipe"):
        resolve_recipe("alpaca", {})


def test_collator_pads_labels_with_ignore_index() -> None:
    batch = SftCollator(pad_id=7)(
        [{"input_ids": [1, 2, 3], "labels": [-100, 2, 3]}, {"input_ids": [4], "labels": [4]}]
    )
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 7, 7]]
    assert batch["labels"].tolist() == [[-100, 2, 3], [4, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert (
        SftCollator(0, pad_to_multiple_of=8)([{"input_ids": [1], "labels": [1]}])["input_ids"].shape[1] == 8
    )


def test_train_cli_loss_falls(tiny: Path, tmp_path: Path) -> None:
    data = write_messages(tmp_path / "d.jsonl", CHATS, repeat=4)
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(data),
            "--model",
            str(tiny),
            "--out",
            str(out),
            "--lr",
            "1e-2",
            "--global-batch",
            "4",
            "--micro-batch",
            "2",
            "--max-steps",
            "12",
            "--max-length",
            "256",
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 13))
    losses = [r["loss"] for r in rows]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["recipe"] == "vicuna"
    assert recipe["overrides"] == {
        "lr": 0.01,
        "global_batch": 4,
        "micro_batch": 2,
        "max_length": 256,
        "max_steps": 12,
    }
    assert recipe["resolved"]["gradient_accumulation"] == 2 and recipe["resolved"]["scheduler"] == "cosine"
    assert recipe["recipe_defaults"]["lr"] == 2e-5
    assert recipe["data"]["examples"] == 16
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    from wildchat.train.models import load_model

    model, tok = load_model(str(out), device="cpu")  # a plain HF folder again, chat template included
    assert tok.chat_template and model.config.num_hidden_layers == 2


def test_lora_adapter_and_merged_model(tiny: Path, tmp_path: Path) -> None:
    import torch
    from peft import PeftModel

    from wildchat.train.models import load_model

    data = write_messages(tmp_path / "d.jsonl", CHATS, repeat=2)
    out = tmp_path / "lora"
    overrides = {"lr": 5e-2, "global_batch": 4, "micro_batch": 4, "max_steps": 3, "max_length": 256}
    result = run_training(TrainOptions(data, str(tiny), out, "vicuna-lora", overrides, device="cpu"))
    assert result.recipe.lora and result.steps == 3
    assert (out / "adapter" / "adapter_config.json").is_file()
    base, _ = load_model(str(tiny), device="cpu")
    merged, _ = load_model(str(out), device="cpu")
    name = "model.layers.0.self_attn.q_proj.weight"
    base_w, merged_w = base.state_dict()[name], merged.state_dict()[name]
    assert not torch.equal(base_w, merged_w)  # the trained adapter is merged into q_proj
    name = "model.layers.0.mlp.up_proj.weight"  # not a LoRA target: unchanged
    assert torch.equal(base.state_dict()[name], merged.state_dict()[name])
    adapted = PeftModel.from_pretrained(base, str(out / "adapter"))
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        assert torch.allclose(adapted(ids).logits, merged(ids).logits, atol=1e-4)


def test_bad_data_and_model_are_clear_errors(tiny: Path, tmp_path: Path) -> None:
    notjsonl = tmp_path / "data.txt"
    notjsonl.write_text("this is not json\n")
    result = runner.invoke(
        app, ["train", "--data", str(notjsonl), "--model", str(tiny), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "not a JSONL training file" in result.output
    useless = tmp_path / "useless.jsonl"
    useless.write_text(json.dumps({"messages": [{"role": "user", "content": "no reply"}]}) + "\n")
    with pytest.raises(TrainError, match="no usable conversations"):
        run_training(TrainOptions(useless, str(tiny), tmp_path / "o2", device="cpu"))
    data = write_messages(tmp_path / "d.jsonl", CHATS)
    result = runner.invoke(
        app, ["train", "--data", str(data), "--model", str(tmp_path), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and str(tmp_path) in result.output and "not a model folder" in result.output
    result = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(data),
            "--model",
            str(tiny),
            "--out",
            str(tmp_path / "o"),
            "--micro-batch",
            "3",
        ],
    )
    assert result.exit_code == 2 and "not a multiple" in result.output


def test_lora_flag_selects_the_lora_recipe(tiny: Path, tmp_path: Path) -> None:
    data = write_messages(tmp_path / "d.jsonl", CHATS)
    out = tmp_path / "run"
    args = [
        "train",
        "--data",
        str(data),
        "--model",
        str(tiny),
        "--out",
        str(out),
        "--lora",
        "--no-merge",
        "--global-batch",
        "4",
        "--micro-batch",
        "4",
        "--max-steps",
        "1",
        "--max-length",
        "256",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    recipe = json.loads((out / "recipe.json").read_text())
    assert (
        recipe["recipe"] == "vicuna-lora" and recipe["resolved"]["lora"] and recipe["resolved"]["lr"] == 2e-4
    )
    assert (out / "adapter" / "adapter_config.json").is_file()
    assert not (out / "model.safetensors").exists()  # --no-merge: adapter only
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["model_saved"] is False and summary["steps"] == 1
