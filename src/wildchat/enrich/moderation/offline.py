"""The offline default toxicity classifier this project ships.

A logistic regression over *hashed* word 1-2-grams and character 3-5-grams
(scikit-learn ``HashingVectorizer``): hashing means the artefact holds only
weights indexed by hash bucket, no vocabulary -- no third-party text is
stored in the repository.  The artefact is a compressed ``.npz`` of plain
arrays (no pickle: loading it cannot run code) trained by
``scripts/train_toxicity.py``; its feature settings are saved with it, so
training and inference cannot drift.

Trained on ToxicChat's training fold (in-domain: user prompts to chatbots,
weighted up) plus tweets, Wikipedia talk comments, harmful requests and
chatbot-style negatives; English-centric.  The offline default uses it at
0.4 OR-ed with ``alt-profanity-check`` >= 0.8
(:mod:`wildchat.enrich.moderation.profanity`); held-out figures on ToxicChat
are in docs/quality.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "toxicity_offline.npz"


@dataclass(frozen=True)
class FeatureSpec:
    """Hashed feature settings, saved inside the artefact."""

    word_features: int = 2**18
    char_features: int = 0
    char_ngrams: tuple[int, int] = (3, 5)
    window_chars: int = 1000
    max_windows: int = 8


def vectorizers(spec: FeatureSpec) -> tuple[Any, Any]:
    """The (word, char) hashing vectorizers for ``spec`` (stateless, no vocabulary)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    word = HashingVectorizer(
        n_features=spec.word_features,
        ngram_range=(1, 2),
        alternate_sign=False,
        norm="l2",
        token_pattern=r"(?u)\b\w+\b",
        dtype=np.float32,
    )
    char = HashingVectorizer(
        n_features=max(1, spec.char_features),
        analyzer="char_wb",
        ngram_range=spec.char_ngrams,
        alternate_sign=False,
        norm="l2",
        dtype=np.float32,
    )
    return word, char


def featurize(texts: Sequence[str], spec: FeatureSpec) -> Any:
    """Sparse feature matrix (word block then char block) for ``texts``."""
    import scipy.sparse as sp

    word, char = vectorizers(spec)
    if spec.char_features == 0:
        return word.transform(texts).tocsr()
    return sp.hstack([word.transform(texts), char.transform(texts)], format="csr")


def windows(text: str, spec: FeatureSpec) -> list[str]:
    """Up to ``max_windows`` evenly spread windows of ``window_chars`` (bounded cost)."""
    width = spec.window_chars
    if len(text) <= width:
        return [text]
    starts = list(range(0, len(text), width))
    if len(starts) > spec.max_windows:
        step = (len(starts) - 1) / (spec.max_windows - 1)
        starts = [starts[round(i * step)] for i in range(spec.max_windows)]
    return [text[s : s + width] for s in starts]


def save_model(
    path: Path, coef: np.ndarray, intercept: float, threshold: float, spec: FeatureSpec, meta: dict[str, Any]
) -> None:
    """Write the artefact: float16 weights + JSON metadata (spec, threshold, provenance)."""
    info = {"spec": asdict(spec), "threshold": threshold, "intercept": intercept, **meta}
    np.savez_compressed(path, coef=coef.astype(np.float16), info=np.array(json.dumps(info, sort_keys=True)))


class OfflineToxicity:
    """P(toxic) per text from the shipped (or a given) artefact."""

    def __init__(self, path: str | Path | None = None) -> None:
        with np.load(Path(path) if path else DEFAULT_MODEL, allow_pickle=False) as data:
            self.coef = data["coef"].astype(np.float32)
            self.info: dict[str, Any] = json.loads(str(data["info"]))
        spec = dict(self.info["spec"])
        spec["char_ngrams"] = tuple(spec["char_ngrams"])
        self.spec = FeatureSpec(**spec)
        self.intercept = float(self.info["intercept"])
        self.threshold = float(self.info["threshold"])
        if self.coef.shape != (self.spec.word_features + self.spec.char_features,):
            raise ValueError("offline toxicity artefact: weights do not match its feature spec")

    def scores(self, texts: Sequence[str]) -> list[float]:
        """Max over each text's windows of P(toxic); blank text -> 0.0."""
        owners: list[int] = []
        pieces: list[str] = []
        for i, text in enumerate(texts):
            if text.strip():
                for w in windows(text, self.spec):
                    owners.append(i)
                    pieces.append(w)
        out = [0.0] * len(texts)
        if not pieces:
            return out
        logits = featurize(pieces, self.spec) @ self.coef + self.intercept
        probs = 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))
        for i, p in zip(owners, probs.tolist(), strict=True):
            out[i] = max(out[i], float(p))
        return out

    def flags(self, texts: Sequence[str], threshold: float | None = None) -> list[bool]:
        """``scores >= threshold`` (the artefact's tuned threshold by default)."""
        cut = self.threshold if threshold is None else threshold
        return [s >= cut for s in self.scores(texts)]


@cache
def load_offline(path: str | None = None) -> OfflineToxicity:
    """The artefact at ``path`` (default: shipped), loaded once per process."""
    return OfflineToxicity(path)
