"""Embedding map of user prompts, coloured by dataset (``embed`` extra).

Each dataset's first user prompts are sampled while streaming (seeded
reservoir, same size for every dataset), embedded and projected to 2-D by
:mod:`wildchat.text.embed` (all-MiniLM-L6-v2, PCA; see there for why not
UMAP), and drawn as one scatter plot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from wildchat.analyze.figures import FigureFile, save_figure
from wildchat.text.embed import MAX_SEQ_LENGTH, embed_texts, pca_2d

__all__ = ["embedding_map"]


def embedding_map(
    samples: Mapping[str, Sequence[str]], out_dir: Path, colors: Mapping[str, str]
) -> FigureFile | None:
    """Embed the samples, project with PCA and draw one scatter plot.

    Raises :class:`~wildchat.text.embed.EmbedUnavailable` when the ``embed`` extra is absent.
    """
    names = [n for n, s in samples.items() if s]
    if not names:
        return None
    texts = [t for n in names for t in samples[n]]
    labels = [n for n in names for _ in samples[n]]
    pts, ratio = pca_2d(embed_texts(texts))
    from wildchat.analyze.figures import new_figure, style_axes

    fig = new_figure(7.5, 4.6)
    ax = fig.add_subplot()
    for n in names:
        sel = np.array([lab == n for lab in labels])
        size = 7 if len(texts) > 1000 else 14
        ax.scatter(pts[sel, 0], pts[sel, 1], s=size, alpha=0.55, color=colors[n], label=n, linewidths=0)
    ax.set_xlabel(f"PC1 ({ratio[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({ratio[1]:.0%} of variance)")
    style_axes(ax)
    ax.legend(frameon=False, fontsize=8, markerscale=2.5, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    png, svg = save_figure(fig, out_dir, "embedding_map")
    per = ", ".join(f"{n}: {len(samples[n])}" for n in names)
    caption = (
        "First user prompt of a seeded random sample of conversations per dataset "
        f"({per}), embedded with all-MiniLM-L6-v2 (first {MAX_SEQ_LENGTH} tokens, unit norm) "
        "and projected to 2-D with PCA (linear, so distances between dataset clouds keep their meaning)."
    )
    return FigureFile("embedding_map", "Embedding map of user prompts", caption, png, svg)
