"""Embedding-map coordinates: first user turns -> MiniLM -> 2-D, stored in the index.

Why a sample: all-MiniLM-L6-v2 on two CPU cores embeds roughly 150-400
short texts per second, so a million prompts would take over an hour -- more
than the whole build budget.  Each build therefore embeds a seeded random
sample of at most ``map_sample`` of the conversations it (re)indexed (100,000
by default: about 5-10 minutes, and as many points as a canvas scatter
draws fluidly).  Texts are cut to :data:`MAX_SEQ_LENGTH` tokens and embedded
in order of length (less padding per batch), which roughly halves the time.

Projection: PCA (deterministic, linear, milliseconds; see
:mod:`wildchat.text.embed` for why not UMAP) fitted on up to
:data:`PCA_FIT_ROWS` points the first time and stored in the index
(``explore_meta``), so later incremental builds project into the same plane
and old points keep their place.  A different model refits on its own sample
(old points then belong to another plane; rebuild the map to mix them).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from sqlalchemy import Connection, Engine, delete, insert, select, update

from wildchat.explore.tables import conversations, map_points, meta, records

__all__ = ["MAX_SEQ_LENGTH", "PCA_FIT_ROWS", "SEED", "add_map_points", "embed", "fit_pca"]

MAX_SEQ_LENGTH = 64
PCA_FIT_ROWS = 20_000
SEED = 20240509
_CHUNK = 5000


def embed(
    texts: Sequence[str], model_path: str | None = None, batch_size: int = 64
) -> npt.NDArray[np.float32]:
    """Unit-norm sentence embeddings (CPU, offline), in the order of ``texts``.

    Raises :class:`wildchat.text.embed.EmbedUnavailable` without the
    ``embed`` extra or its bundled model.
    """
    from wildchat.text.embed import load_encoder

    model = load_encoder(model_path, MAX_SEQ_LENGTH)
    clipped = [t[: MAX_SEQ_LENGTH * 8] for t in texts]  # ~8 chars per token is plenty for 64 tokens
    order = sorted(range(len(clipped)), key=lambda i: len(clipped[i]))
    vectors = model.encode(
        [clipped[i] for i in order],
        batch_size=batch_size,
        normalize_embeddings=True,
        show_progress_bar=False,
        convert_to_numpy=True,
    )
    out = np.empty_like(vectors)
    out[np.asarray(order, dtype=np.int64)] = vectors
    return np.asarray(out, dtype=np.float32)


def fit_pca(x: npt.NDArray[np.floating[Any]]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``(mean, components[2, dim])`` of ``x``; signs fixed (largest loading positive) for determinism."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    if x.shape[0] < 2:
        comps = np.zeros((2, x.shape[1]))
        comps[0, 0] = comps[1, min(1, x.shape[1] - 1)] = 1.0
        return mean, comps
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    comps = vt[:2]
    if comps.shape[0] < 2:
        comps = np.vstack([comps, np.zeros((2 - comps.shape[0], x.shape[1]))])
    signs = np.sign(comps[np.arange(2), np.abs(comps).argmax(axis=1)])
    signs[signs == 0] = 1.0
    return mean, comps * signs[:, None]


def add_map_points(
    engine: Engine, source_ids: Sequence[int], map_sample: int, model_path: str | None = None
) -> tuple[int, str | None]:
    """Embed a seeded sample of the unmapped conversations of ``source_ids``.

    Returns ``(points added, message)``; the message says why no map was made.
    """
    from wildchat.text.embed import EmbedUnavailable

    rows = _sample_rows(engine, source_ids, map_sample)
    if not rows:
        return 0, None
    model_name = Path(model_path).name if model_path else "all-MiniLM-L6-v2"
    try:
        vectors = embed([r.prompt for r in rows], model_path)
    except (EmbedUnavailable, OSError) as exc:
        return 0, f"map skipped: {exc}"
    cc = conversations.c
    with engine.begin() as conn:
        pca = _stored_pca(conn, model_name, vectors)
        xy = (vectors.astype(np.float64) - np.asarray(pca["mean"])) @ np.asarray(pca["components"]).T
        points = [
            {
                "id": r.id,
                "dataset_id": r.dataset_id,
                "language": r.language,
                "x": float(p[0]),
                "y": float(p[1]),
            }
            for r, p in zip(rows, xy, strict=True)
        ]
        for i in range(0, len(points), _CHUNK):
            batch = points[i : i + _CHUNK]
            conn.execute(insert(map_points), batch)
            conn.execute(
                update(conversations).where(cc.id.in_([p["id"] for p in batch])).values(map_id=cc.id)
            )
    return len(points), None


def _sample_rows(engine: Engine, source_ids: Sequence[int], map_sample: int) -> list[Any]:
    """A seeded sample (up to ``map_sample``) of the unmapped conversations: id, prompt, dataset, language."""
    cc = conversations.c
    with engine.connect() as conn:
        ids = [
            int(r[0])
            for r in conn.execute(
                select(cc.id).where(cc.source_id.in_(list(source_ids)), cc.map_id.is_(None)).order_by(cc.id)
            )
        ]
        if not ids or map_sample <= 0:
            return []
        chosen = sorted(random.Random(SEED).sample(ids, min(map_sample, len(ids))))
        rows: list[Any] = []
        for i in range(0, len(chosen), _CHUNK):
            q = (
                select(cc.id, records.c.prompt, cc.dataset_id, cc.language)
                .select_from(conversations.join(records, records.c.id == cc.id))
                .where(cc.id.in_(chosen[i : i + _CHUNK]))
                .order_by(cc.id)
            )
            rows.extend(conn.execute(q).all())
    return rows


def _stored_pca(conn: Connection, model_name: str, vectors: npt.NDArray[np.float32]) -> dict[str, Any]:
    """The index's PCA (kept so later builds land on the same map); fitted and stored on first use
    or when the embedding model changed."""
    stored = conn.execute(select(meta.c.value).where(meta.c.key == "map_pca")).scalar()
    pca: dict[str, Any] | None = orjson.loads(stored) if stored else None
    if pca is None or pca.get("model") != model_name or len(pca["mean"]) != vectors.shape[1]:
        fit_rows = random.Random(SEED).sample(range(len(vectors)), min(PCA_FIT_ROWS, len(vectors)))
        mean, comps = fit_pca(vectors[sorted(fit_rows)])
        pca = {"model": model_name, "mean": mean.tolist(), "components": comps.tolist()}
        for key, value in (("map_pca", orjson.dumps(pca).decode()), ("map_model", model_name)):
            conn.execute(delete(meta).where(meta.c.key == key))
            conn.execute(insert(meta).values(key=key, value=value))
    return pca
