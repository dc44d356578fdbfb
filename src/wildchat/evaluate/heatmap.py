"""The NLL matrix as an annotated heatmap, like the WildChat paper's figure.

Rows are models, columns datasets; lower NLL (lighter here, with the
reversed colormap) means the model predicts that dataset's assistant turns
better; darker cells are worse.  Missing cells (nothing scorable) are drawn blank and marked "n/a".
"""

from __future__ import annotations

import math
from pathlib import Path


def draw_heatmap(
    matrix: list[list[float | None]],
    models: list[str],
    datasets: list[str],
    out: Path,
    *,
    title: str = "NLL per assistant token (lower is better)",
) -> Path:
    """Write the heatmap PNG to ``out`` and return it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    data = np.array([[math.nan if v is None else v for v in row] for row in matrix], dtype=float)
    fig_w = max(4.0, 1.3 * len(datasets) + 2.5)
    fig_h = max(2.5, 0.6 * len(models) + 1.8)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), dpi=120)
    masked = np.ma.masked_invalid(data)
    im = ax.imshow(masked, cmap="viridis_r", aspect="auto")
    ax.set_xticks(range(len(datasets)), labels=datasets, rotation=30, ha="right")
    ax.set_yticks(range(len(models)), labels=models)
    finite = data[np.isfinite(data)]
    mid = float(finite.mean()) if finite.size else 0.0
    for r in range(len(models)):
        for c in range(len(datasets)):
            v = data[r, c]
            text = "n/a" if not math.isfinite(v) else f"{v:.2f}"
            color = "white" if math.isfinite(v) and v > mid else "black"
            ax.text(c, r, text, ha="center", va="center", color=color, fontsize=9)
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
