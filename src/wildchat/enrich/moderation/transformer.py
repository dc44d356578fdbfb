"""Local transformer classifiers: Detoxify checkpoints and any HF text classifier.

Nothing here downloads: every path must be a local file or directory
(``local_files_only=True``; set ``HF_HUB_OFFLINE=1`` too).  Long texts are
scored in token windows of the model's length (at most ``max_windows`` of
them, evenly spread over the text) and each label's score is the maximum over
windows: a toxic paragraph buried in a long turn still counts, which plain
truncation to 512 tokens (what Detoxify does) would miss.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wildchat.enrich.moderation.windows import merge_scores, valid_utf8

#: Detoxify's published variants -> the classes its checkpoint scores.
DETOXIFY_VARIANTS = ("multilingual", "original", "unbiased")
#: The class renames Detoxify itself applies to every checkpoint (``detoxify.load_checkpoint``).
DETOXIFY_RENAMES = {
    "toxic": "toxicity",
    "identity_hate": "identity_attack",
    "severe_toxic": "severe_toxicity",
}
#: Buffers older transformers saved in state dicts and current ones rebuild (non-persistent).
LEGACY_BUFFERS = ("position_ids", "token_type_ids")


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded (corrupt file, wrong layout, weights that do not fit)."""


# Cap on the characters tokenised per text: bounds the cost of a 1 MB turn.
MAX_CHARS = 200_000


def spread(items: list[list[int]], max_n: int) -> list[list[int]]:
    """At most ``max_n`` of ``items``, evenly spaced, first and last kept."""
    if len(items) <= max_n:
        return items
    if max_n == 1:
        return items[:1]
    step = (len(items) - 1) / (max_n - 1)
    return [items[round(i * step)] for i in range(max_n)]


class WindowedClassifier:
    """A sequence classifier + tokenizer scoring texts window by window."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        labels: Sequence[str],
        *,
        multi_label: bool,
        max_windows: int = 8,
        batch_size: int = 16,
        max_length: int | None = None,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.multi_label = multi_label
        self.max_windows = max(1, max_windows)
        self.batch_size = batch_size
        limit = int(max_length or getattr(model.config, "max_position_embeddings", None) or 512)
        # Window length in tokens, special tokens included (RoBERTa's 514
        # positions hold 512 tokens: its padding offset takes two).
        self.width = max(8, min(limit, 512) - 2)

    def _windows(self, text: str) -> list[list[int]]:
        """Consecutive token windows of ``width`` (specials added per window), spread-capped."""
        enc = self.tokenizer(
            valid_utf8(text[:MAX_CHARS]),
            truncation=True,
            max_length=self.width,
            return_overflowing_tokens=True,
        )
        ids = enc["input_ids"]
        windows = [list(w) for w in ids] if ids and isinstance(ids[0], list) else [list(ids)]
        return spread(windows, self.max_windows)

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Per text, label -> probability (max over its windows)."""
        import torch

        owners: list[int] = []
        windows: list[list[int]] = []
        for i, text in enumerate(texts):
            for w in self._windows(text):
                owners.append(i)
                windows.append(w)
        per_text: list[list[dict[str, float]]] = [[] for _ in texts]
        pad = self.tokenizer.pad_token_id or 0
        with torch.inference_mode():
            for start in range(0, len(windows), self.batch_size):
                chunk = windows[start : start + self.batch_size]
                width = max(len(w) for w in chunk)
                ids = torch.full((len(chunk), width), pad, dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.long)
                for j, w in enumerate(chunk):
                    ids[j, : len(w)] = torch.tensor(w, dtype=torch.long)
                    mask[j, : len(w)] = 1
                logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
                probs = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
                for j, row in enumerate(probs.tolist()):
                    scores = {label: float(row[k]) for k, label in enumerate(self.labels) if k < len(row)}
                    per_text[owners[start + j]].append(scores)
        return [merge_scores(parts) for parts in per_text]


def load_hf_classifier(
    model_dir: str | Path, *, max_windows: int = 8, batch_size: int = 16
) -> WindowedClassifier:
    """Any local HF text-classification directory (config, weights, tokenizer)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = Path(model_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"hf-classifier: no model directory at {path}")
    model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    id2label = model.config.id2label or {}
    labels = [str(id2label.get(i, f"LABEL_{i}")) for i in range(model.config.num_labels)]
    multi = getattr(model.config, "problem_type", None) == "multi_label_classification"
    return WindowedClassifier(
        model, tokenizer, labels, multi_label=multi, max_windows=max_windows, batch_size=batch_size
    )


def fit_state_dict(state: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """A Detoxify release state dict in the key layout of the current transformers model.

    Release checkpoints were saved by older transformers: they carry buffers
    such as ``roberta.embeddings.position_ids`` that current versions no longer
    persist (strict loading rejects them as unexpected), and may lack buffers
    a version does persist.  Such buffers are constants rebuilt by the model,
    so unexpected ones are dropped and missing ones taken from the fresh
    model; a ``model.`` prefix (a Lightning module's attribute) is removed.
    Every *weight* must still match exactly -- strict loading checks the rest.
    """
    if state and not set(state) & set(expected) and all(k.startswith("model.") for k in state):
        state = {k.removeprefix("model."): v for k, v in state.items()}
    out = {k: v for k, v in state.items() if k in expected or k.rsplit(".", 1)[-1] not in LEGACY_BUFFERS}
    for key, value in expected.items():
        if key not in out and key.rsplit(".", 1)[-1] in LEGACY_BUFFERS:
            out[key] = value
    return out


def load_detoxify(
    checkpoint: str | Path, config_dir: str | Path, *, max_windows: int = 8, batch_size: int = 16
) -> WindowedClassifier:
    """A Detoxify release checkpoint (``*.ckpt``) on the base model's local config/tokenizer.

    A Detoxify checkpoint holds ``{"config": {...}, "state_dict": {...}}``;
    ``config["dataset"]["args"]["classes"]`` names its outputs (WildChat
    releases seven).  ``config_dir`` is the local
    folder of the base model (``xlm-roberta-base`` for ``multilingual``,
    ``bert-base-uncased`` for ``original``, ``roberta-base`` for ``unbiased``)
    with its ``config.json`` and tokenizer files -- Detoxify itself would
    fetch those from the Hub.  Scores are sigmoids, as in Detoxify.  Class
    names get Detoxify's own renames (``toxic`` -> ``toxicity`` ...); the
    state dict is fitted to the current layout by :func:`fit_state_dict`.
    Raises :class:`FileNotFoundError` (missing files) or
    :class:`CheckpointError` (corrupt or mismatched checkpoint).
    """
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    ckpt_path, cfg_path = Path(checkpoint), Path(config_dir)
    if not ckpt_path.is_file():
        raise FileNotFoundError(f"detoxify: no checkpoint file at {ckpt_path}")
    if not cfg_path.is_dir():
        raise FileNotFoundError(f"detoxify: no base-model config directory at {cfg_path}")
    try:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        data_args = ckpt["config"]["dataset"]["args"]
        renames = {**DETOXIFY_RENAMES, **dict(data_args.get("change_names") or {})}
        classes = [str(renames.get(c, c)) for c in data_args["classes"]]
        state = dict(ckpt["state_dict"])
        n_out = int(ckpt["config"]["arch"]["args"].get("num_classes", len(classes)))
    except Exception as exc:  # torch.load raises many types on junk (Unpickling, EOF, zip errors)
        why = f"{ckpt_path.name} is not a readable Detoxify checkpoint ({type(exc).__name__})"
        raise CheckpointError(f"detoxify: {why}") from exc
    config = AutoConfig.from_pretrained(cfg_path, num_labels=n_out, local_files_only=True)
    model = AutoModelForSequenceClassification.from_config(config)  # type: ignore[no-untyped-call]
    try:
        model.load_state_dict(fit_state_dict(state, model.state_dict()), strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"detoxify: {ckpt_path.name} does not fit {cfg_path.name}: {exc}") from exc
    tokenizer = AutoTokenizer.from_pretrained(cfg_path, local_files_only=True)
    return WindowedClassifier(
        model, tokenizer, classes, multi_label=True, max_windows=max_windows, batch_size=batch_size
    )
