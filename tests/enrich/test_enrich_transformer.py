"""Local HF classifier and Detoxify-checkpoint loading, on a tiny model built here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch

from tests.builders.models import LABELS, WORDS, classifier_dir
from wildchat.enrich.moderation.transformer import (
    WindowedClassifier,
    load_detoxify,
    load_hf_classifier,
    spread,
)


def direct_scores(model: Any, tokenizer: Any, words: list[str]) -> list[float]:
    ids = tokenizer(" ".join(words))["input_ids"]
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
    return torch.sigmoid(logits).tolist()


def test_spread_caps_windows_keeping_ends() -> None:
    items = [[i] for i in range(5)]
    assert spread(items, 10) == items
    assert spread(items, 3) == [[0], [2], [4]]
    assert spread(items, 1) == [[0]]


def test_hf_classifier_loads_local_dir_and_takes_max_over_windows(tmp_path: Path) -> None:
    model, tok = classifier_dir(tmp_path)
    clf = load_hf_classifier(tmp_path, max_windows=8)
    assert clf.labels == LABELS and clf.multi_label and clf.width == 22  # 20 words + [CLS] [SEP]
    short = "you are a good idiot"
    (s,) = clf.score([short])
    expect = direct_scores(model, tok, short.split())
    assert [s[k] for k in LABELS] == pytest.approx(expect, abs=1e-5)
    # 45 words -> windows of 20, 20, 5 words; each label's score is the max over them
    words = (WORDS * 5)[:45]
    (long_s,) = clf.score([" ".join(words)])
    per_window = [direct_scores(model, tok, words[i : i + 20]) for i in (0, 20, 40)]
    for k, label in enumerate(LABELS):
        assert long_s[label] == pytest.approx(max(w[k] for w in per_window), abs=1e-5)


def test_hf_classifier_bad_input(tmp_path: Path) -> None:
    classifier_dir(tmp_path)
    clf = load_hf_classifier(tmp_path, max_windows=4)
    out = clf.score(["", "😀😀", "\x00\xff junk", "hello " * 200_000, "```code```", "\ud800 lone"])
    assert len(out) == 6 and all(set(o) == set(LABELS) for o in out)
    assert all(0.0 <= v <= 1.0 for o in out for v in o.values())


def test_single_label_uses_softmax(tmp_path: Path) -> None:
    classifier_dir(tmp_path, multi_label=False)
    clf = load_hf_classifier(tmp_path)
    (s,) = clf.score(["hello world"])
    assert sum(s.values()) == pytest.approx(1.0, abs=1e-5)


def test_detoxify_checkpoint_on_local_config(tmp_path: Path) -> None:
    cfg_dir = tmp_path / "base"
    model, tok = classifier_dir(cfg_dir)
    ckpt = tmp_path / "tiny.ckpt"
    torch.save(
        {
            "config": {
                "arch": {"args": {"num_classes": 3}},
                "dataset": {
                    "args": {
                        "classes": ["toxic", "severe_toxic", "insult"],
                        "change_names": {"toxic": "toxicity", "severe_toxic": "severe_toxicity"},
                    }
                },
            },
            "state_dict": model.state_dict(),
        },
        ckpt,
    )
    clf = load_detoxify(ckpt, cfg_dir)
    assert isinstance(clf, WindowedClassifier)
    assert clf.labels == ["toxicity", "severe_toxicity", "insult"]
    (s,) = clf.score(["you are bad"])
    assert [s["toxicity"], s["severe_toxicity"], s["insult"]] == pytest.approx(
        direct_scores(model, tok, ["you", "are", "bad"]), abs=1e-5
    )


def test_missing_paths_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="hf-classifier"):
        load_hf_classifier(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        load_detoxify(tmp_path / "nope.ckpt", tmp_path)


def _release_checkpoint(path: Path, model: Any, state: dict[str, Any]) -> None:
    """A checkpoint as Detoxify publishes it: class names *without* renames, arch args of its config."""
    torch.save(
        {
            "config": {
                "arch": {
                    "args": {
                        "model_type": "bert-base-uncased",
                        "model_name": "BertForSequenceClassification",
                        "tokenizer_name": "BertTokenizer",
                        "num_classes": 3,
                    }
                },
                "dataset": {"args": {"classes": ["toxic", "severe_toxic", "identity_hate"]}},
            },
            "state_dict": state,
        },
        path,
    )


def test_detoxify_release_checkpoint_in_legacy_layout(tmp_path: Path) -> None:
    """Older transformers saved ``*.embeddings.position_ids``: strict loading alone rejects it."""
    cfg_dir = tmp_path / "base"
    model, tok = classifier_dir(cfg_dir)
    state = dict(model.state_dict())
    assert "bert.embeddings.position_ids" not in state  # current transformers: non-persistent buffer
    legacy = {**state, "bert.embeddings.position_ids": torch.arange(24).unsqueeze(0)}
    with pytest.raises(RuntimeError, match="position_ids"):
        type(model)(model.config).load_state_dict(legacy, strict=True)  # what the old loader did
    ckpt = tmp_path / "release.ckpt"
    _release_checkpoint(ckpt, model, legacy)
    clf = load_detoxify(ckpt, cfg_dir)
    assert clf.labels == ["toxicity", "severe_toxicity", "identity_attack"]  # Detoxify's own renames
    (s,) = clf.score(["you are bad"])
    expect = direct_scores(model, tok, ["you", "are", "bad"])
    assert [s[k] for k in clf.labels] == pytest.approx(expect, abs=1e-5)
    # A Lightning-style "model." prefix loads the same weights.
    _release_checkpoint(ckpt, model, {f"model.{k}": v for k, v in legacy.items()})
    (s2,) = load_detoxify(ckpt, cfg_dir).score(["you are bad"])
    assert s2 == pytest.approx(s, abs=1e-6)


def test_fit_state_dict_keeps_weights_strict() -> None:
    from wildchat.enrich.moderation.transformer import fit_state_dict

    expected = {"enc.weight": 1, "enc.embeddings.token_type_ids": 2}
    got = fit_state_dict({"enc.weight": 9, "enc.embeddings.position_ids": 3}, expected)
    assert got == {"enc.weight": 9, "enc.embeddings.token_type_ids": 2}  # buffer dropped / filled
    # A stray *weight* is kept, so strict loading still rejects a checkpoint that does not fit.
    assert "other.weight" in fit_state_dict({"enc.weight": 9, "other.weight": 1}, expected)


def test_corrupt_or_mismatched_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    from wildchat.enrich.moderation.transformer import CheckpointError

    cfg_dir = tmp_path / "base"
    model, _ = classifier_dir(cfg_dir)
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"\x00\x01 not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match=r"junk\.ckpt"):
        load_detoxify(junk, cfg_dir)
    wrong = tmp_path / "wrong.ckpt"
    state = {k: v for k, v in model.state_dict().items() if "classifier" not in k}
    _release_checkpoint(wrong, model, state)
    with pytest.raises(CheckpointError, match="does not fit"):
        load_detoxify(wrong, cfg_dir)
