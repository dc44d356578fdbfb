"""Model specs: local paths, GGUF files, the bundled SmolLM2; clear errors for anything else."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.train.train_helpers import labelled_runs
from wildchat.train.masking import encode_chat
from wildchat.train.models import (
    ModelLoadError,
    find_smollm2_gguf,
    pick_device,
    pick_dtype,
    resolve_model_path,
)


def test_resolve_model_specs(tmp_path: Path) -> None:
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert resolve_model_path(str(folder)) == (folder, None)
    gg = tmp_path / "gg"
    gg.mkdir()
    (gg / "m.gguf").write_bytes(b"GGUF")
    assert resolve_model_path(str(gg / "m.gguf")) == (gg, "m.gguf")
    assert resolve_model_path(str(gg)) == (gg, "m.gguf")
    gguf = find_smollm2_gguf()
    assert resolve_model_path("smollm2") == (gguf.parent, gguf.name)


@pytest.mark.parametrize(
    ("make", "cause"),
    [
        (lambda p: p / "absent", "no such file or folder"),
        (lambda p: p, "no config.json and no .gguf"),
        (lambda p: (p / "w.bin").write_bytes(b"x") and p / "w.bin", "not a model"),
    ],
)
def test_not_a_model_names_path_and_cause(tmp_path: Path, make, cause: str) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    with pytest.raises(ModelLoadError) as info:
        resolve_model_path(str(path))
    assert str(path) in str(info.value) and cause in str(info.value)


def test_unloadable_model_folder_is_a_model_load_error(tmp_path: Path) -> None:
    from wildchat.train.models import load_model

    (tmp_path / "config.json").write_text('{"model_type": "llama"}')
    with pytest.raises(ModelLoadError) as info:
        load_model(str(tmp_path), device="cpu")
    assert str(tmp_path) in str(info.value)


def test_device_and_dtype() -> None:
    import torch

    assert pick_device("cpu") == "cpu"
    assert pick_device() == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_dtype("cpu") == "float32"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        pick_device("tpu")


@pytest.mark.slow
def test_smollm2_gguf_tokenizer_masks_its_own_template() -> None:
    from wildchat.train.models import load_tokenizer

    tok = load_tokenizer("smollm2")
    assert "<|im_start|>" in tok.chat_template  # came through from the GGUF
    chat = [
        {"role": "system", "content": "You answer in one sentence."},
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris is the capital of France."},
        {"role": "user", "content": "And Germany?"},
        {"role": "assistant", "content": "Berlin is the capital of Germany."},
    ]
    enc = encode_chat(tok, chat)
    runs = labelled_runs(enc.labels)
    texts = [tok.decode(enc.input_ids[a:b]) for a, b in runs]
    assert texts == [
        "Paris is the capital of France.<|im_end|>",
        "Berlin is the capital of Germany.<|im_end|>",
    ]
    unlabelled = tok.decode([t for t, label in zip(enc.input_ids, enc.labels, strict=True) if label == -100])
    assert "What is the capital of France?" in unlabelled and "Paris" not in unlabelled
