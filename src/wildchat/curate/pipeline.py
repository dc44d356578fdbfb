"""``run_curate``: inputs -> release folder, with resume and stats.

Order of work: expand inputs into units -> first pass (hashes) on the
executor -> global link -> second pass + stages + writing per unit on the
executor, skipping units whose shard is already complete for the same
fingerprint (input files, config, release key, limit) -> ``stats.json`` and
the dataset card.  A changed fingerprint discards the old shards first.

Guards (checked before anything is written, key file included): a pipeline
without the ``pii`` stage would publish un-redacted text in ``public/``, and
one without ``privacy`` would publish the deployment's ``hashed_ip``s, so
such a run raises :class:`UnsafeReleaseError` unless ``allow_unredacted`` --
and then the first lines of ``stats.json`` and the card say so.

Published ids: the release key reaches :func:`~wildchat.curate.link.linkplan.link`
as :func:`~wildchat.curate.link.address.ids_key`, so every published
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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wildchat import __version__
from wildchat.curate.link.address import ids_key
from wildchat.curate.release.card import write_card
from wildchat.curate.stages.config import CurateConfig, build_stages
from wildchat.curate.link.ingest import Unit, expand, plan_units
from wildchat.curate.link.keys import ReleaseKey
from wildchat.curate.link.linkplan import LinkResult, link
from wildchat.curate.release.publish import (
    PROTECTIVE_STAGES,
    UnsafeReleaseError,
    guard,
    missing_protection,
    notice,
    public_inputs,
    scrub_paths,
    split_details,
    write_private_json,
)
from wildchat.curate.link.scan import ScanChunk
from wildchat.curate.stages.shard import ShardJob, WriteOptions
from wildchat.curate.stages.base import StageStats
from wildchat.curate.release.writer import ShardSummary, read_marker
from wildchat.skips import SkipReport

__all__ = [
    "PROTECTIVE_STAGES",
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


def _make_executor(cfg: CurateConfig) -> Any:
    if cfg.executor == "ray":
        from wildchat.curate.executors.ray import RayExecutor

        return RayExecutor(address=cfg.ray_address or None, num_cpus=cfg.ray_cpus, fuse=cfg.ray_fuse)
    from wildchat.curate.executors.local import LocalExecutor

    return LocalExecutor(cfg.workers)


def _scan_all(executor: Any, units: Sequence[Unit], cfg: CurateConfig, limit: int | None) -> list[ScanChunk]:
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
    lacks a :data:`PROTECTIVE_STAGES` stage and ``allow_unredacted`` is false.

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
    out.mkdir(parents=True, exist_ok=True)
    paths = expand(inputs) if inputs else []
    units = plan_units(paths, cfg.chunk_bytes)
    key = ReleaseKey.resolve(out, ip_key)
    if any(n == "privacy" for n, _ in cfg.stages):
        pconf = cfg.stage_config("privacy")
        if not pconf.get("key"):
            pconf["key"] = key.value
    fingerprint = _fingerprint(paths, cfg, key, limit, by_content)
    _reset_if_changed(out, fingerprint)
    executor = _make_executor(cfg)
    try:
        say(f"{len(paths)} input file(s), {len(units)} unit(s); executor {cfg.executor}")

        chunks = _scan_all(executor, units, cfg, limit)
        ingest = SkipReport()
        for c in chunks:
            ingest.merge(c.report)
        t_scan = time.perf_counter()
        linked: LinkResult = link(chunks, cfg.link, [u.source for u in units], ids_key(key.value))
        del chunks
        t_link = time.perf_counter()
        say(f"linked {linked.logs} logs into {linked.conversations} conversations")

        by_unit = {u.index: u for u in units}
        summaries: dict[int, ShardSummary] = {}
        todo: list[int] = []
        for u in sorted(linked.plans):
            done = read_marker(out, u, fingerprint)
            if done is not None:
                summaries[u] = done
            else:
                todo.append(u)
        resumed = len(summaries)
        stages = build_stages(cfg)
        opts = WriteOptions(out, cfg.public, cfg.row_group_rows, fingerprint)

        def jobs() -> Iterator[ShardJob]:
            for u in todo:
                yield ShardJob(by_unit[u], linked.plans.pop(u))

        for s in executor.run_shards(jobs(), len(todo), stages, opts):
            summaries[s.unit] = s
    finally:
        executor.close()
    t_end = time.perf_counter()
    ordered = [summaries[u] for u in sorted(summaries)]
    stats = _stats(
        cfg,
        stages_public=[(s.name, s.public_config()) for s in stages],
        ingest=ingest,
        linked=linked,
        summaries=ordered,
        paths=paths,
        key=key,
        limit=limit,
    )
    stats["run"] = {
        "executor": cfg.executor,
        "shards_written": len(todo),
        "shards_resumed": resumed,
        "seconds": {
            "scan": round(t_scan - t0, 3),
            "link": round(t_link - t_scan, 3),
            "shards": round(t_end - t_link, 3),
            "total": round(t_end - t0, 3),
        },
        "logs_per_second": round(ingest.read / max(t_end - t0, 1e-9), 1),
    }
    stats, details = split_details(stats)
    write_private_json(out / ".state" / "details.json", details)
    _write_json(out / "stats.json", stats)
    write_card(out / "README.md", stats, key)
    return CurateResult(out, stats, len(todo), resumed, ordered)


def _stats(
    cfg: CurateConfig,
    *,
    stages_public: list[tuple[str, dict[str, Any]]],
    ingest: SkipReport,
    linked: LinkResult,
    summaries: list[ShardSummary],
    paths: Sequence[Path],
    key: ReleaseKey,
    limit: int | None,
) -> dict[str, Any]:
    merged: dict[str, StageStats] = {name: StageStats() for name, _ in stages_public}
    full = public = toxic_null = 0
    models: dict[str, int] = {}
    languages: dict[str, int] = {}
    lo: str | None = None
    hi: str | None = None
    for s in summaries:
        full, public, toxic_null = full + s.full, public + s.public, toxic_null + s.toxic_null
        for name, st in s.stages.items():
            merged.setdefault(name, StageStats()).merge(st)
        for k, v in s.models.items():
            models[k] = models.get(k, 0) + v
        for k, v in s.languages.items():
            languages[k] = languages.get(k, 0) + v
        lo = s.min_ts if lo is None or (s.min_ts is not None and s.min_ts < lo) else lo
        hi = s.max_ts if hi is None or (s.max_ts is not None and s.max_ts > hi) else hi
    warnings = []
    if toxic_null and cfg.public == "not_flagged":
        warnings.append(
            f"{toxic_null} conversation(s) have no toxicity label (no toxicity stage ran): the public split "
            "includes them unscreened. Add a moderation stage or set release.public = 'strict'."
        )
    missing = missing_protection(cfg)
    if "pii" in missing:
        warnings.append("the pii stage did not run: this release is NOT PII-redacted (--allow-unredacted)")
    if "privacy" in missing:
        warnings.append("the privacy stage did not run: hashed_ip values are the source's, not re-keyed")
    if not any(n == "consent" for n, _ in cfg.stages):
        warnings.append("the consent stage did not run: conversations without consent may be included")
    return {
        **notice(missing),
        "wildchat_version": __version__,
        "inputs": public_inputs(paths),
        "limit": limit,
        "ingest": ingest.to_dict(),
        "link": {
            "options": {
                "branches": cfg.link.branches,
                "failed_finish_reasons": list(cfg.link.failed_finish_reasons),
            },
            **linked.to_dict(),
        },
        "stages": [{"name": n, "config": scrub_paths(c), **merged[n].to_dict()} for n, c in stages_public],
        "release": {
            "full": full,
            "public": public,
            "public_rule": cfg.public,
            "toxic_unlabelled": toxic_null,
            "shards": len([s for s in summaries if s.full]),
            "models": dict(sorted(models.items(), key=lambda kv: (-kv[1], kv[0]))),
            "languages": dict(sorted(languages.items(), key=lambda kv: (-kv[1], kv[0]))),
            "date_range": [lo, hi],
            "ip_key": key.describe(),
        },
        "warnings": warnings,
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
