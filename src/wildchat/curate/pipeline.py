"""``run_curate``: inputs -> release folder, with resume and stats.

Order of work: expand inputs into units -> first pass (hashes) on the
executor -> global link -> second pass + stages + writing per unit on the
executor, skipping units whose shard is already complete for the same
fingerprint (input files, config, release key, limit) -> ``stats.json`` and
the dataset card.  A changed fingerprint discards the old shards first.

Guards (checked before anything is written, key file included): a pipeline
without a PII-redacting stage would publish un-redacted text in ``public/``,
and one without an IP re-keying stage would publish the deployment's
``hashed_ip``s, so such a run raises :class:`UnsafeReleaseError` unless
``allow_unredacted`` -- and then the first lines of ``stats.json`` and the
card say so.  Which stage protects what is the stages' own answer
(``Stage.protects``); this module names no stage.

Run-wide values live in a :class:`~wildchat.curate.stages.base.RunContext`
handed to every stage (the release key for a stage that needs it): stage
configs are never written to.  Published ids: the release key reaches
:func:`~wildchat.curate.link.linkplan.link` as
:func:`~wildchat.curate.link.address.ids_key`, so every published
``conversation_id``/``turn_identifier`` is keyed.

``stats.json`` and the card publish counts, not lists: no input paths, no
skip or drop examples (those go to ``OUT/.state/details.json``, mode 0600,
working state that is never published), no hold-out or dev-account values
(:meth:`~wildchat.curate.stages.base.Stage.public_config`), and an absolute path in
a stage config is reduced to its file name.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wildchat import __version__
from wildchat.curate.executors import Executor, make_executor
from wildchat.curate.link.address import ids_key
from wildchat.curate.link.ingest import Unit, expand, plan_units
from wildchat.curate.link.keys import ReleaseKey
from wildchat.curate.link.linkplan import LinkResult, link
from wildchat.curate.link.scan import ScanChunk
from wildchat.curate.release.card import write_card
from wildchat.curate.release.publish import (
    UnsafeReleaseError,
    guard,
    missing,
    missing_protection,
    notice,
    public_inputs,
    scrub_paths,
    split_details,
    write_private_json,
)
from wildchat.curate.release.writer import ShardSummary, read_marker
from wildchat.curate.stages.base import CONSENT, IP, PII, RunContext, Stage, StageStats
from wildchat.curate.stages.config import CurateConfig, build_stages
from wildchat.curate.stages.shard import ShardJob, WriteOptions
from wildchat.skips import SkipReport

__all__ = [
    "CurateResult",
    "UnsafeReleaseError",
    "missing_protection",
    "run_curate",
]


@dataclass
class CurateResult:
    out: Path
    stats: dict[str, Any]
    shards_done: int = 0
    shards_resumed: int = 0
    summaries: list[ShardSummary] = field(default_factory=list)


@dataclass
class _Run:
    """One run's fixed facts: inputs, units, key, fingerprint and the stages' context."""

    cfg: CurateConfig
    out: Path
    paths: list[Path]
    units: list[Unit]
    key: ReleaseKey
    limit: int | None
    fingerprint: str
    context: RunContext


@dataclass
class _Passes:
    """What the passes produced, with their timings."""

    ingest: SkipReport
    linked: LinkResult
    stages: list[Stage]
    summaries: list[ShardSummary]
    written: int
    resumed: int
    seconds: dict[str, float]


def _file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fingerprint(
    paths: Sequence[Path],
    cfg: CurateConfig,
    key: ReleaseKey,
    limit: int | None,
    by_content: Sequence[Path] = (),
) -> str:
    files: list[list[Any]] = []
    for p in paths:
        if p in by_content:  # a temporary export: its name and mtime change every run
            files.append(["<db>", _file_digest(p)])
            continue
        st = p.stat() if p.exists() else None
        files.append([str(p), st.st_size if st else -1, st.st_mtime_ns if st else -1])
    stages = [
        [n, {k: (key.digest if k == "key" else v) for k, v in sorted(c.items())}] for n, c in cfg.stages
    ]
    doc = {
        "version": __version__,
        "files": files,
        "link": [cfg.link.branches, list(cfg.link.failed_finish_reasons)],
        "chunk_bytes": cfg.chunk_bytes,
        "public": cfg.public,
        "row_group_rows": cfg.row_group_rows,
        "stages": stages,
        "key": key.digest,
        "limit": limit,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _reset_if_changed(out: Path, fingerprint: str) -> None:
    state = out / ".state"
    fp_file = state / "fingerprint"
    old = fp_file.read_text().strip() if fp_file.exists() else None
    if old != fingerprint:
        for sub in ("full", "public"):
            for f in (out / sub).glob("part-*.parquet*") if (out / sub).exists() else []:
                f.unlink()
        shutil.rmtree(state / "shards", ignore_errors=True)
    state.mkdir(parents=True, exist_ok=True)
    fp_file.write_text(fingerprint + "\n")


def _scan_all(
    executor: Executor, units: Sequence[Unit], cfg: CurateConfig, limit: int | None
) -> list[ScanChunk]:
    chunks: list[ScanChunk] = []
    total = 0
    for chunk in executor.scan(units, frozenset(cfg.link.failed_finish_reasons), limit):
        if limit is not None and total + len(chunk) > limit:
            chunk = chunk.head(limit - total)
        total += len(chunk)
        chunks.append(chunk)
        if limit is not None and total >= limit:
            break
    return chunks


def run_curate(
    inputs: Sequence[str | Path],
    out: str | Path,
    cfg: CurateConfig,
    *,
    ip_key: str | None = None,
    limit: int | None = None,
    db_url: str | None = None,
    log: Callable[[str], None] | None = None,
    allow_unredacted: bool = False,
) -> CurateResult:
    """Curate raw-log ``inputs`` (and/or the collection database ``db_url``) into ``out``.

    Raises :class:`UnsafeReleaseError` (nothing written) when the pipeline
    lacks a stage providing a required protection
    (:data:`~wildchat.curate.stages.base.REQUIRED`) and ``allow_unredacted``
    is false.  ``cfg`` is not modified.

    ``db_url`` is exported with :func:`wildchat.collect.export.export_logs`
    into a private temporary file (it holds raw IPs, so it is deleted after
    the run and never placed in ``out``) and curated with the other inputs.
    """
    guard(cfg, allow_unredacted)
    if db_url is None:
        return _run(inputs, Path(out), cfg, ip_key=ip_key, limit=limit, log=log)
    from wildchat.collect.export import export_logs

    with tempfile.TemporaryDirectory(prefix="wildchat-db-") as tmp:
        dump = Path(tmp) / "db-export.jsonl"
        export_logs(db_url, dump)
        return _run([*inputs, dump], Path(out), cfg, ip_key=ip_key, limit=limit, log=log, by_content=[dump])


def _prepare(
    inputs: Sequence[str | Path],
    out: Path,
    cfg: CurateConfig,
    ip_key: str | None,
    limit: int | None,
    by_content: Sequence[Path],
) -> _Run:
    """Expand inputs, resolve the release key, and discard shards of a changed fingerprint."""
    out.mkdir(parents=True, exist_ok=True)
    paths = expand(inputs) if inputs else []
    units = plan_units(paths, cfg.chunk_bytes)
    key = ReleaseKey.resolve(out, ip_key)
    fingerprint = _fingerprint(paths, cfg, key, limit, by_content)
    _reset_if_changed(out, fingerprint)
    context = RunContext(release_key=key.value, out=out)
    return _Run(cfg, out, paths, units, key, limit, fingerprint, context)


def _pending(run: _Run, linked: LinkResult) -> tuple[dict[int, ShardSummary], list[int]]:
    """Shards already complete for this fingerprint, and the units still to write."""
    done: dict[int, ShardSummary] = {}
    todo: list[int] = []
    for u in sorted(linked.plans):
        marker = read_marker(run.out, u, run.fingerprint)
        if marker is not None:
            done[u] = marker
        else:
            todo.append(u)
    return done, todo


def _passes(run: _Run, executor: Executor, say: Callable[[str], None]) -> _Passes:
    """First pass, global link, then the shards that are not written yet."""
    t0 = time.perf_counter()
    chunks = _scan_all(executor, run.units, run.cfg, run.limit)
    ingest = SkipReport()
    for c in chunks:
        ingest.merge(c.report)
    t_scan = time.perf_counter()
    linked = link(chunks, run.cfg.link, [u.source for u in run.units], ids_key(run.key.value))
    del chunks
    t_link = time.perf_counter()
    say(f"linked {linked.logs} logs into {linked.conversations} conversations")
    summaries, todo = _pending(run, linked)
    resumed = len(summaries)
    stages = build_stages(run.cfg, run.context)
    opts = WriteOptions(run.out, run.cfg.public, run.cfg.row_group_rows, run.fingerprint)
    by_unit = {u.index: u for u in run.units}
    jobs = (ShardJob(by_unit[u], linked.plans.pop(u)) for u in todo)
    for s in executor.run_shards(jobs, len(todo), stages, opts):
        summaries[s.unit] = s
    t_end = time.perf_counter()
    seconds = {
        "scan": round(t_scan - t0, 3),
        "link": round(t_link - t_scan, 3),
        "shards": round(t_end - t_link, 3),
    }
    ordered = [summaries[u] for u in sorted(summaries)]
    return _Passes(ingest, linked, stages, ordered, len(todo), resumed, seconds)


def _run(
    inputs: Sequence[str | Path],
    out: Path,
    cfg: CurateConfig,
    *,
    ip_key: str | None,
    limit: int | None,
    log: Callable[[str], None] | None,
    by_content: Sequence[Path] = (),
) -> CurateResult:
    say = log or (lambda _msg: None)
    t0 = time.perf_counter()
    run = _prepare(inputs, out, cfg, ip_key, limit, by_content)
    executor = make_executor(cfg)
    try:
        say(f"{len(run.paths)} input file(s), {len(run.units)} unit(s); executor {cfg.executor}")
        passes = _passes(run, executor, say)
    finally:
        executor.close()
    total = time.perf_counter() - t0
    stats = _stats(run, passes)
    stats["run"] = {
        "executor": cfg.executor,
        "shards_written": passes.written,
        "shards_resumed": passes.resumed,
        "seconds": {**passes.seconds, "total": round(total, 3)},
        "logs_per_second": round(passes.ingest.read / max(total, 1e-9), 1),
    }
    stats, details = split_details(stats)
    write_private_json(out / ".state" / "details.json", details)
    _write_json(out / "stats.json", stats)
    write_card(out / "README.md", stats, run.key)
    return CurateResult(out, stats, passes.written, passes.resumed, passes.summaries)


def _ranked(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _release(run: _Run, summaries: list[ShardSummary]) -> dict[str, Any]:
    """The ``release`` block of ``stats.json``: totals over the shards."""
    models: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    lows = [s.min_ts for s in summaries if s.min_ts is not None]
    highs = [s.max_ts for s in summaries if s.max_ts is not None]
    for s in summaries:
        models.update(s.models)
        languages.update(s.languages)
    return {
        "full": sum(s.full for s in summaries),
        "public": sum(s.public for s in summaries),
        "public_rule": run.cfg.public,
        "toxic_unlabelled": sum(s.toxic_null for s in summaries),
        "shards": len([s for s in summaries if s.full]),
        "models": _ranked(dict(models)),
        "languages": _ranked(dict(languages)),
        "date_range": [min(lows) if lows else None, max(highs) if highs else None],
        "ip_key": run.key.describe(),
    }


def _warnings(cfg: CurateConfig, toxic_null: int, lacking: dict[str, str]) -> list[str]:
    warnings = []
    if toxic_null and cfg.public == "not_flagged":
        warnings.append(
            f"{toxic_null} conversation(s) have no toxicity label (no toxicity stage ran): the public split "
            "includes them unscreened. Add a moderation stage or set release.public = 'strict'."
        )
    if PII in lacking:
        warnings.append(
            f"the {lacking[PII]} stage did not run: this release is NOT PII-redacted (--allow-unredacted)"
        )
    if IP in lacking:
        warnings.append(
            f"the {lacking[IP]} stage did not run: hashed_ip values are the source's, not re-keyed"
        )
    for name in missing(cfg, (CONSENT,)).values():
        warnings.append(f"the {name} stage did not run: conversations without consent may be included")
    return warnings


def _stats(run: _Run, passes: _Passes) -> dict[str, Any]:
    cfg = run.cfg
    public_configs = [(s.name, s.public_config()) for s in passes.stages]
    merged: dict[str, StageStats] = {name: StageStats() for name, _ in public_configs}
    for s in passes.summaries:
        for name, st in s.stages.items():
            merged.setdefault(name, StageStats()).merge(st)
    release = _release(run, passes.summaries)
    lacking = missing_protection(cfg)
    return {
        **notice(lacking),
        "wildchat_version": __version__,
        "inputs": public_inputs(run.paths),
        "limit": run.limit,
        "ingest": passes.ingest.to_dict(),
        "link": {
            "options": {
                "branches": cfg.link.branches,
                "failed_finish_reasons": list(cfg.link.failed_finish_reasons),
            },
            **passes.linked.to_dict(),
        },
        "stages": [{"name": n, "config": scrub_paths(c), **merged[n].to_dict()} for n, c in public_configs],
        "release": release,
        "warnings": _warnings(cfg, release["toxic_unlabelled"], lacking),
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
