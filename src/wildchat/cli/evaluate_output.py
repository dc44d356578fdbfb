"""Console output of `wildchat eval`: the NLL progress bar and matrix, the judging tables.

Kept apart from the commands so each module stays small; rich is imported
inside the functions so ``wildchat --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["nll_progress", "print_judge", "print_nll"]


@contextmanager
def nll_progress() -> Iterator[tuple[Callable[[str], None], Callable[[int, int], None]]]:
    """A stderr progress bar over the tokens to score (tokens/s, ETA), and a log that prints above it."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    bar = Progress(
        TextColumn("scoring"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TextColumn("tokens"),
        TextColumn("{task.fields[rate]} tok/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    task = bar.add_task("scoring", total=None, rate="-")

    def progress(done: int, total: int) -> None:
        elapsed = bar.tasks[0].elapsed or 0.0
        bar.update(task, completed=done, total=total, rate=f"{done / elapsed:.0f}" if elapsed > 0 else "-")

    with bar:
        yield (lambda msg: bar.console.print(msg, highlight=False, markup=False, soft_wrap=True)), progress


def print_nll(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    m = result["matrix"]
    table = Table(title="NLL per assistant token (lower is better)")
    table.add_column("model")
    for d in m["datasets"]:
        table.add_column(d, justify="right")
    for name, row in zip(m["models"], m["mean_nll"], strict=True):
        table.add_row(name, *("n/a" if v is None else f"{v:.3f}" for v in row))
    Console().print(table)


def _fmt(est: dict[str, Any] | None) -> str:
    if not est:
        return "n/a"
    return f"{est['value']:.2f} [{est['ci_low']:.2f}, {est['ci_high']:.2f}]"


def print_judge(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if summary["single"]:
        turns = sorted({k for e in summary["single"].values() for k in e if k.startswith("turn_")})
        t = Table(title=f"Single-answer grades 1-10: median / mean [95% CI] ({summary['judge']['model']})")
        t.add_column("model")
        for k in [*turns, "overall"]:
            t.add_column(f"{k.replace('_', ' ')} median", justify="right")
            t.add_column(f"{k.replace('_', ' ')} mean", justify="right")
        for model, e in summary["single"].items():
            cells = []
            for k in [*turns, "overall"]:
                cells += [_fmt(e[k]["median"]), _fmt(e[k]["mean"])]
            t.add_row(model, *cells)
        console.print(t)
    if summary["pairwise"]:
        t = Table(title="Pairwise (both orders; disagreement = tie)")
        for col in ("model", "opponent", "win", "tie", "loss", "win rate [95% CI]"):
            t.add_column(col, justify="right" if col not in ("model", "opponent") else "left")
        for r in summary["pairwise"]:
            t.add_row(
                r["model"],
                r["opponent"],
                str(r["win"]),
                str(r["tie"]),
                str(r["loss"]),
                _fmt(r.get("win_rate")),
            )
        console.print(t)
