"""The report's figures, drawn from the statistics (never from raw data).

Each ``fig_*`` function takes the per-dataset statistics and returns a
matplotlib ``Figure`` (or ``None`` when no dataset has the data); nothing
touches pyplot's global state, and :func:`draw_figures` renders with the Agg
backend and writes PNG + SVG.  Captions say how the numbers are defined.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FigureFile", "dataset_colors", "draw_figures", "new_figure", "save_figure", "style_axes"]

Stats = Mapping[str, Mapping[str, Any]]
_PALETTE = [
    "#4269d0",
    "#efb118",
    "#ff725c",
    "#6cc5b0",
    "#3ca951",
    "#ff8ab7",
    "#a463f2",
    "#97bbf5",
    "#9c6b4e",
    "#9498a0",
]


@dataclass(frozen=True)
class FigureFile:
    """A written figure: ``name`` (file stem), caption, and the two files."""

    name: str
    title: str
    caption: str
    png: Path
    svg: Path


def dataset_colors(names: Sequence[str]) -> dict[str, str]:
    """A stable colour per dataset (in argument order)."""
    return {n: _PALETTE[i % len(_PALETTE)] for i, n in enumerate(names)}


def new_figure(width: float = 7.5, height: float = 3.6) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    return fig


def style_axes(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)


def _grouped_bars(
    ax: Any, labels: Sequence[str], series: Mapping[str, Sequence[float]], colors: Mapping[str, str]
) -> None:
    n = max(len(series), 1)
    width = 0.8 / n
    for i, (name, values) in enumerate(series.items()):
        xs = [x - 0.4 + width * (i + 0.5) for x in range(len(labels))]
        ax.bar(xs, values, width=width, label=name, color=colors[name])
    ax.set_xticks(range(len(labels)), labels)
    style_axes(ax)


def fig_turns(stats: Stats, colors: Mapping[str, str]) -> Any:
    """Share of conversations by number of user->assistant exchanges."""
    labels = [*(str(k) for k in range(1, 10)), "10+"]
    series = {}
    for name, s in stats.items():
        dist, n = s.get("turn_distribution") or {}, s["n_conversations"] or 1
        row = [dist.get(str(k), 0) / n for k in range(1, 10)]
        row.append(sum(v for k, v in dist.items() if int(k) >= 10) / n)
        series[name] = row
    fig = new_figure()
    ax = fig.add_subplot()
    _grouped_bars(ax, labels, series, colors)
    ax.set_xlabel("exchanges per conversation")
    ax.set_ylabel("share of conversations")
    ax.legend(frameon=False, fontsize=8)
    return fig


def fig_languages(stats: Stats, colors: Mapping[str, str]) -> Any:
    """Top-10 languages (by mean share over the datasets that have labels)."""
    have = {n: s["language_shares"] for n, s in stats.items() if s.get("language_shares")}
    if not have:
        return None
    totals: dict[str, float] = {}
    for shares in have.values():
        for lang, v in shares.items():
            totals[lang] = totals.get(lang, 0.0) + v / len(have)
    top = sorted(totals, key=lambda k: (-totals[k], k))[:10]
    fig = new_figure()
    ax = fig.add_subplot()
    _grouped_bars(ax, top, {n: [sh.get(t, 0.0) for t in top] for n, sh in have.items()}, colors)
    ax.set_yscale("log")  # a dominant language would flatten every other bar on a linear axis
    ax.set_ylabel("share of conversations (log scale)")
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.legend(frameon=False, fontsize=8)
    return fig


def _tokens_label(x: float, _pos: int) -> str:
    """Tick label of the length axis: the 0-token bin sits at 0.5."""
    if x < 1:
        return "0"
    return f"{x / 1024:g}K" if x >= 1024 else f"{x:g}"


def fig_lengths(stats: Stats, colors: Mapping[str, str]) -> Any:
    """Token-length distributions of prompts and responses (log2 bins)."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    fig = new_figure(8.5, 3.4)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, role, title in ((axes[0], "user", "user prompts"), (axes[1], "assistant", "assistant responses")):
        for name, s in stats.items():
            bins = s.get(f"{role}_tokens_histogram") or []
            total = sum(c for _, _, c in bins)
            if not total:
                continue
            xs = [max(low, 0.5) for low, _, _ in bins]
            ax.step(xs, [c / total for _, _, c in bins], where="post", label=name, color=colors[name], lw=1.6)
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(LogLocator(base=4))
        ax.xaxis.set_major_formatter(FuncFormatter(_tokens_label))
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("tokens per message (log scale)")
        style_axes(ax)
    axes[0].set_ylabel("share of messages")
    axes[0].legend(frameon=False, fontsize=8)
    return fig


def fig_toxicity_month(stats: Stats, colors: Mapping[str, str]) -> Any:
    """Union toxicity share per month, user turns (solid) vs assistant (dashed)."""
    have = {n: s["toxicity_by_month"] for n, s in stats.items() if s.get("toxicity_by_month")}
    if not have:
        return None
    fig = new_figure()
    ax = fig.add_subplot()
    months = sorted({m for by in have.values() for m in by})
    pos = {m: i for i, m in enumerate(months)}
    for name, by in have.items():
        for role, ls in (("user", "-"), ("assistant", "--")):
            pts = [(pos[m], v[role]) for m, v in sorted(by.items()) if v.get(role) is not None]
            if pts:
                ax.plot(
                    *zip(*pts, strict=True),
                    ls=ls,
                    marker="o",
                    ms=3,
                    color=colors[name],
                    label=f"{name} ({role})",
                )
    if not ax.lines:
        return None
    step = max(1, len(months) // 12)
    ax.set_xticks(range(0, len(months), step), months[::step], rotation=30, fontsize=8)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("toxic share of turns")
    style_axes(ax)
    ax.legend(frameon=False, fontsize=8)
    return fig


def fig_overlap(stats: Stats, colors: Mapping[str, str]) -> Any:
    """Among turns scored by both detectors: who flags them."""
    keys = ("openai_only", "both", "detoxify_only")
    rows = [
        (n, r, ov)
        for n, s in stats.items()
        for r, ov in (s.get("detector_overlap") or {}).items()
        if sum(ov.get(k, 0) for k in keys)
    ]
    if not rows:
        return None
    fig = new_figure(7.5, 1.1 + 0.4 * len(rows))
    ax = fig.add_subplot()
    parts = (
        ("openai_only", "Moderation only", "#4269d0"),
        ("both", "both", "#a463f2"),
        ("detoxify_only", "Detoxify only", "#ff725c"),
    )
    for i, (_, _, ov) in enumerate(rows):
        total = sum(ov.get(k, 0) for k in keys)
        left = 0.0
        for key, label, color in parts:
            v = ov.get(key, 0) / total
            ax.barh(i, v, left=left, color=color, label=label if i == 0 else None)
            left += v
    ax.set_yticks(range(len(rows)), [f"{n} · {r}" for n, r, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("share of turns scored by both detectors")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlim(0, 1)
    ax.legend(frameon=False, fontsize=8, ncols=3, loc="lower left", bbox_to_anchor=(0, 1.0))
    return fig


def save_figure(fig: Any, out_dir: Path, name: str) -> tuple[Path, Path]:
    """Write ``name.png`` and ``name.svg`` (Agg backend) and return the paths."""
    import matplotlib

    matplotlib.use("Agg")
    out_dir.mkdir(parents=True, exist_ok=True)
    png, svg = out_dir / f"{name}.png", out_dir / f"{name}.svg"
    fig.savefig(png, format="png")
    fig.savefig(svg, format="svg", metadata={"Date": None})
    return png, svg


_FIGURES: list[tuple[str, str, str, Callable[[Stats, Mapping[str, str]], Any]]] = [
    (
        "turns",
        "Conversation depth",
        "Share of conversations with k user→assistant exchanges (k = number of user turns).",
        fig_turns,
    ),
    (
        "languages",
        "Top-10 languages",
        "Share of conversations per language label (conversation label, else first user turn's); top 10 by "
        "mean share over the datasets that carry labels.",
        fig_languages,
    ),
    (
        "lengths",
        "Prompt and response lengths",
        "Distribution of tokens per message with the chosen tokenizer, in power-of-two bins.",
        fig_lengths,
    ),
    (
        "toxicity_by_month",
        "Toxicity per month",
        "Share of toxic turns (union of detectors) per calendar month of the conversation timestamp; "
        "solid = user turns, dashed = assistant turns.",
        fig_toxicity_month,
    ),
    (
        "detector_overlap",
        "Detector overlap",
        "Among turns flagged by at least one detector and scored by both: flagged by OpenAI Moderation "
        "only, by both, or by Detoxify (toxicity > 0.1) only.",
        fig_overlap,
    ),
]


def draw_figures(stats: Stats, out_dir: Path, colors: Mapping[str, str]) -> list[FigureFile]:
    """Draw every figure whose data exists; return what was written."""
    out = []
    for name, title, caption, fn in _FIGURES:
        fig = fn(stats, colors)
        if fig is None:
            continue
        png, svg = save_figure(fig, out_dir, name)
        out.append(FigureFile(name, title, caption, png, svg))
    return out
