"""What a release may publish, and the guard in front of it.

Used by :mod:`wildchat.curate.pipeline`:

* :func:`guard` -- a pipeline without a stage that redacts PII (un-redacted
  text) or one that re-keys IPs (the deployment's IP pseudonyms) is refused
  before anything is written, unless the caller passes ``allow_unredacted``;
  then :func:`notice` puts a warning in the first lines of ``stats.json`` (and
  the card).  Stages say what they protect (``Stage.protects``); nothing here
  names a stage.
* ``stats.json`` and the card publish counts, not lists: :func:`public_inputs`
  (file count and bytes, never paths), :func:`scrub_paths` (absolute paths in
  stage configs reduced to file names), :func:`split_details` (skip and drop
  examples -- file:line, conversation ids -- moved to a private file written
  by :func:`write_private_json`, mode 0600, under ``OUT/.state/``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wildchat.curate.stages import available_stages, get_stage
from wildchat.curate.stages.base import PII, REQUIRED
from wildchat.curate.stages.config import CurateConfig

__all__ = [
    "RELEASE_FORMAT",
    "UnsafeReleaseError",
    "guard",
    "missing",
    "missing_protection",
    "notice",
    "provider",
    "public_inputs",
    "scrub_paths",
    "split_details",
    "write_private_json",
]

RELEASE_FORMAT = 2  # 2: keyed ids, counts-only stats


class UnsafeReleaseError(ValueError):
    """The pipeline would write an unprotected ``public/`` and ``allow_unredacted`` is not set."""


def provider(kind: str) -> str:
    """The name of the registered stage that provides protection ``kind`` (``Stage.protects``)."""
    names = sorted(name for name, cls in available_stages().items() if cls.protects == kind)
    return names[0] if names else kind


def missing(cfg: CurateConfig, kinds: Sequence[str]) -> dict[str, str]:
    """Protections among ``kinds`` that no stage of ``cfg``'s pipeline provides: kind -> stage to add."""
    have = {get_stage(name).protects for name, _ in cfg.stages}
    return {kind: provider(kind) for kind in kinds if kind not in have}


def missing_protection(cfg: CurateConfig) -> dict[str, str]:
    """The :data:`~wildchat.curate.stages.base.REQUIRED` protections ``cfg``'s pipeline lacks."""
    return missing(cfg, REQUIRED)


def guard(cfg: CurateConfig, allow_unredacted: bool) -> None:
    """Raise :class:`UnsafeReleaseError` unless ``cfg`` protects ``public/`` or the caller opted out."""
    lacking = missing_protection(cfg)
    if lacking and not allow_unredacted:
        names = " or ".join(repr(m) for m in lacking.values())
        raise UnsafeReleaseError(
            f"the pipeline has no {names} stage, so public/ would hold "
            + ("un-redacted personal data" if PII in lacking else "the deployment's IP pseudonyms")
            + "; add the stage(s) to pipeline.stages, or pass --allow-unredacted to write it anyway "
            "(the card and stats.json then say the release is NOT PII-redacted). Nothing was written."
        )


def notice(lacking: Mapping[str, str]) -> dict[str, Any]:
    """The first keys of ``stats.json``: a ``notice`` when unprotected, then the flags."""
    head: dict[str, Any] = {}
    if lacking:
        head["notice"] = (
            "This release is NOT PII-redacted: "
            if PII in lacking
            else "This release is NOT fully protected: "
        ) + f"the pipeline ran without {', '.join(lacking.values())} (--allow-unredacted). Do not publish it."
    return {**head, "pii_redacted": PII not in lacking, "release_format": RELEASE_FORMAT}


def public_inputs(paths: Sequence[Path]) -> dict[str, Any]:
    """What the inputs were, as counts: file paths stay private."""
    sizes = [p.stat().st_size if p.exists() else 0 for p in paths]
    return {
        "files": len(paths),
        "bytes": sum(sizes),
        "database": any("wildchat-db-" in str(p) for p in paths),
    }


def scrub_paths(value: Any) -> Any:
    """A stage's public config with absolute paths reduced to their file names."""
    if isinstance(value, dict):
        return {k: scrub_paths(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_paths(v) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        return Path(value).name
    return value


def split_details(stats: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``stats`` without the example lists, and those lists (kept private)."""
    details: dict[str, Any] = {
        "ingest_examples": stats["ingest"].pop("examples", {}),
        "ingest_repair_examples": stats["ingest"].pop("repair_examples", {}),
        "link_examples": stats["link"].pop("examples", {}),
        "stage_examples": {st["name"]: st.pop("examples", {}) for st in stats["stages"]},
    }
    return stats, details


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON readable by its owner only (0600): it names input files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
