"""`wildchat review`: humans label a stratified sample of detector outputs (docs/review.md).

    wildchat review sample RELEASE --out QUEUE.db --task TASK [--size N] [--seed S] [--split full|public]
    wildchat review serve QUEUE.db [--port 8768] [--host 127.0.0.1]
    wildchat review report QUEUE.db --out REPORT.json [--card RELEASE]
    wildchat review export QUEUE.db --out labels.jsonl [--with-text]

QUEUE may be a SQLite path or a PostgreSQL URL.  Bad input (unknown task,
missing release or queue, a queue that already holds the task) ends with one
line on stderr and exit code 2.  Heavy imports happen inside the commands.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer

review_app = typer.Typer(
    name="review",
    help="Label a stratified sample of detector outputs and measure their precision and recall.",
    no_args_is_help=True,
    add_completion=False,
)


def _fail(msg: str, code: int = 2) -> typer.Exit:
    typer.echo(f"wildchat review: {msg}", err=True)
    return typer.Exit(code)


def _need(*modules: str) -> None:
    """Exit 1 with an install hint when an optional dependency is missing."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise _fail(f"needs {', '.join(missing)}: pip install 'wildchat[review]'", 1)


def _open(queue: str, create: bool = False) -> Any:
    _need("sqlalchemy", "numpy")
    from sqlalchemy.exc import SQLAlchemyError

    from wildchat.review.store import QueueError, ReviewStore

    try:
        return ReviewStore(queue, create=create)
    except QueueError as exc:
        raise _fail(str(exc)) from None
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        msg = f"cannot use the queue database ({type(exc).__name__}: {first[0][:200] if first else ''})"
        raise _fail(msg) from None


@review_app.command("sample")
def sample(
    release: Path = typer.Argument(
        ..., help="Release folder written by `wildchat curate` (or a Parquet file)."
    ),
    out: str = typer.Option(..., "--out", help="Queue: SQLite file or PostgreSQL URL (created if missing)."),
    task: str = typer.Option(..., "--task", help="toxicity | jailbreak | pii | language"),
    size: int = typer.Option(400, "--size", help="Items to draw (split over the strata)."),
    seed: int = typer.Option(0, "--seed", help="Same release + task + size + seed = same items."),
    split: str = typer.Option("full", "--split", help="full | public"),
    rescore: bool = typer.Option(
        True, "--rescore/--no-rescore", help="toxicity: re-score an offline release to fill near_threshold."
    ),
) -> None:
    """Draw a stratified sample of one task's turns into a review queue."""
    _need("sqlalchemy")
    from wildchat.review import TASKS
    from wildchat.review.sampling import ReleaseError, draw_sample
    from wildchat.review.store import QueueError

    if task not in TASKS:
        raise _fail(f"unknown task {task!r} (one of {', '.join(TASKS)})")
    if split not in ("full", "public"):
        raise _fail(f"--split must be full or public, not {split!r}")
    if size < 1:
        raise _fail("--size must be at least 1")
    try:
        drawn = draw_sample(release, task, size=size, seed=seed, split=split, rescore=rescore)
    except ReleaseError as exc:
        raise _fail(str(exc)) from None
    store = _open(out, create=True)
    try:
        n = store.add_sample(drawn, str(release.resolve()))
    except QueueError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    typer.echo(f"{task}: {n} items drawn (seed {seed}, split {split}) into {out}")
    rs = drawn.meta.get("rescore") or {}
    if rs.get("turns"):
        typer.echo(
            f"  offline engine re-scored {rs['turns']:,} turns (matches the released flag: {rs['agreement']})"
        )
    for s in drawn.strata:
        w = "n/a" if s.weight is None else f"{s.weight:.2f}"
        typer.echo(f"  {s.name:<20} population {s.population:>9,}  sampled {s.sampled:>5}  weight {w}")
        if s.population == 0:
            typer.echo(f"  note: stratum {s.name!r} is empty in this release")


@review_app.command("serve")
def serve(
    queue: str = typer.Argument(..., help="Queue: SQLite file or PostgreSQL URL."),
    port: int = typer.Option(8768, "--port"),
    host: str = typer.Option("127.0.0.1", "--host", help="Bind address (loopback by default)."),
) -> None:
    """Serve the labelling page (keys y / n / s / u, c for context) and the review API."""
    _need("fastapi", "uvicorn")
    import uvicorn

    from wildchat.review.app import create_review_app

    store = _open(queue)
    if not store.tasks():
        store.close()
        raise _fail("the queue holds no task yet: run `wildchat review sample` first")
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(
            f"wildchat review: warning: serving on {host} without authentication; anyone who can "
            "reach it can read the queue's text and post labels",
            err=True,
        )
    typer.echo(f"review page: http://{host}:{port}/  (tasks: {', '.join(store.tasks())})")
    try:
        uvicorn.run(create_review_app(store), host=host, port=port, log_level="warning", access_log=False)
    finally:
        store.close()


@review_app.command("report")
def report(
    queue: str = typer.Argument(..., help="Queue: SQLite file or PostgreSQL URL."),
    out: Path = typer.Option(..., "--out", help="Where to write the report JSON."),
    card: Path | None = typer.Option(
        None, "--card", help="Release folder whose README.md and stats.json get the figures."
    ),
) -> None:
    """Precision/recall per detector with 95% intervals, and annotator agreement (from the queue alone)."""
    from wildchat.review.card import add_to_card, build_report

    if card is not None and not (card / "README.md").is_file():
        raise _fail(f"--card: no dataset card at {card / 'README.md'}")
    store = _open(queue)
    try:
        doc = build_report(store)
    finally:
        store.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    for task, block in doc["tasks"].items():
        kappa = block["agreement"].get("cohen_kappa")
        typer.echo(f"{task}: {block['n_labelled']} items with a truth, kappa {kappa}")
        for name, d in block["detectors"].items():
            typer.echo(
                f"  {name:<12} precision {d['precision']} {d['precision_ci']}  "
                f"recall {d['recall']} {d['recall_ci']}  (n={d['n_labelled']})"
            )
        for w in block["warnings"]:
            typer.echo(f"  note: {w}")
    if card is not None:
        add_to_card(card, doc)
        typer.echo(f"card updated: {card / 'README.md'}")
    typer.echo(f"report: {out}")


@review_app.command("export")
def export(
    queue: str = typer.Argument(..., help="Queue: SQLite file or PostgreSQL URL."),
    out: Path = typer.Option(..., "--out", help="JSONL file, one label per line."),
    with_text: bool = typer.Option(
        False, "--with-text", help="Also write each item's text (file mode 0600)."
    ),
) -> None:
    """Write the labels with item ids and detector outputs (no text unless --with-text)."""
    store = _open(queue)
    n = 0
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if with_text else 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for task in store.tasks():
                by_id = {it["item_id"]: it for it in store.items(task, with_text=with_text)}
                for lab in store.labels(task):
                    it = by_id[lab["item_id"]]
                    row: dict[str, Any] = {
                        "item_id": lab["item_id"],
                        "task": task,
                        "stratum": it["stratum"],
                        "conversation_id": it["conversation_id"],
                        "turn": it["turn"],
                        "role": it["role"],
                        "annotator": lab["annotator"],
                        "label": "skip" if lab["label"] == "skip" else lab["label"] == "true",
                        "labelled_at": lab["updated_at"],
                        "detectors": it["detectors"],
                    }
                    if with_text:
                        row["text"] = it["text"]
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                    n += 1
    finally:
        store.close()
    typer.echo(f"{n} labels written to {out}")
