"""`wildchat convert`: chat-log files of any supported format -> release-schema Parquet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    import pyarrow as pa
    from rich.console import Console

    from wildchat.skips import SkipReport


def _error(console: Console, text: str) -> None:
    console.print(text, style="red", markup=False, highlight=False)


def convert(
    inputs: list[str] = typer.Argument(..., metavar="INPUT", help="Files, globs or folders to convert."),
    out: Path = typer.Option(..., "--out", "-o", help="Parquet file to write (release schema)."),
    format: str | None = typer.Option(
        None,
        "--format",
        "-f",
        help="Force one input format for every file instead of detecting it: "
        "wildchat, lmsys, sharegpt, oasst, alpaca, dolly, openai, rawlog.",
    ),
    batch_size: int = typer.Option(1024, "--batch-size", min=1, help="Rows per Parquet record batch."),
) -> None:
    """Convert chat-log files (WildChat, LMSYS, ShareGPT, OASST, Alpaca, Dolly, OpenAI, raw logs)
    to one Parquet file in the WildChat-1M release schema.

    Bad records are skipped and counted by reason (with file:line examples);
    the exit code is 0 even with skips, and 1 when no conversation could be
    read at all.
    """
    from rich.console import Console

    from wildchat.skips import SkipReport

    console = Console(stderr=True, soft_wrap=True)
    files = _input_files(console, inputs, format)
    report = SkipReport()
    written = _write(console, files, out, format, batch_size, report)
    report.written = written
    console.print(report.summary(), markup=False, highlight=False)
    if written == 0:
        out.unlink(missing_ok=True)
        _error(console, "nothing could be read: no conversation written")
        raise typer.Exit(1)
    console.print(f"wrote {written} conversations to {out}", markup=False, highlight=False)


def _input_files(console: Console, inputs: list[str], format: str | None) -> list[Path]:
    """The files to convert; exit 2 on an unknown format or missing/broken input, 1 when there are none."""
    from wildchat.formats import FORMATS, expand_inputs
    from wildchat.formats.release import RAW_LOG_WARNING, ReleaseError, raw_log_inputs, resolve_inputs

    if format is not None and format not in FORMATS:
        _error(console, f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
        raise typer.Exit(2)
    try:
        resolve_inputs(inputs, "full")  # a broken release folder is bad input, named before any work
        files = expand_inputs(inputs)
    except (FileNotFoundError, ReleaseError) as exc:
        _error(console, str(exc))
        raise typer.Exit(2) from exc
    if not files:
        _error(console, "no input files found")
        raise typer.Exit(1)
    if raw_log_inputs(files, format):
        console.print(f"warning: {RAW_LOG_WARNING}", style="yellow", markup=False, highlight=False)
    return files


def _write(
    console: Console, files: list[Path], out: Path, format: str | None, batch_size: int, report: SkipReport
) -> int:
    """Read ``files`` into one Parquet file at ``out`` with a progress line; the rows written."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

    from wildchat.formats import iter_batches, write_parquet

    progress = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]} conversations, {task.fields[skipped]} skipped"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )

    def tracked(task: TaskID) -> Iterator[pa.RecordBatch]:
        rows = 0
        for batch in iter_batches(files, format=format, report=report, batch_size=batch_size):
            rows += batch.num_rows
            progress.update(task, advance=batch.num_rows, rows=rows, skipped=report.n_skipped)
            yield batch

    with progress:
        task = progress.add_task(f"converting {len(files)} file(s)", total=None, rows=0, skipped=0)
        try:
            written = write_parquet(tracked(task), out)
        except RuntimeError as exc:  # e.g. raw-log linking unavailable
            _error(console, str(exc))
            raise typer.Exit(1) from exc
        progress.update(task, skipped=report.n_skipped)
    return written
