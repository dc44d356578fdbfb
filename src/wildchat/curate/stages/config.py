"""Pipeline configuration: a TOML file, ``--set`` overrides, sensible defaults.

Layout of ``curate.toml`` (every table optional)::

    [pipeline]
    stages = ["consent", "roles", "empty", "date_window", "holdout", "dev_accounts", "privacy"]

    [link]
    branches = "keep"                  # keep | longest | drop
    failed_finish_reasons = ["error", "timeout", "client_disconnect", "incomplete"]

    [ingest]
    chunk_mb = 64                      # plain JSONL files are split into units this big

    [release]
    public = "not_flagged"             # not_flagged: toxic is not true; strict: toxic == false
    row_group_rows = 10000

    [executor]
    name = "local"                     # local | ray
    workers = 0                        # 0 = one per CPU core
    ray_address = ""                   # empty = start a local Ray
    ray_cpus = 2
    ray_fuse = true                    # one actor pool runs all stages; false: a pool per stage

    [stages.roles]                     # one table per stage: its config keys
    mode = "drop"

``--set section.key=value`` (a stage name is a section too) overrides any key;
the value is read as a TOML value, or as a plain string if it is not one.
Command-line options (``--executor``, ``--pii-policy`` ...) arrive as values
(:func:`load_config` ``values``), never as TOML text.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wildchat.curate.link.linkplan import DEFAULT_FAILED, LinkOptions
from wildchat.curate.stages import available_stages, get_stage
from wildchat.curate.stages.base import RunContext, Stage, StageConfigError

__all__ = ["DEFAULT_STAGES", "CurateConfig", "apply_overrides", "build_stages", "load_config"]

DEFAULT_STAGES = (
    "consent",
    "roles",
    "empty",
    "date_window",
    "holdout",
    "dev_accounts",
    "privacy",
    "language",  # before pii: PII picks its NER model by the turn's language label
    "pii",
    "moderation",
    "jailbreak",
)
SECTIONS = ("pipeline", "link", "ingest", "release", "executor", "stages")
PUBLIC_RULES = ("not_flagged", "strict")


@dataclass
class CurateConfig:
    """Everything a run needs besides its inputs and output folder."""

    link: LinkOptions = field(default_factory=LinkOptions)
    stages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    chunk_bytes: int = 64 << 20
    public: str = "not_flagged"
    row_group_rows: int = 10_000
    executor: str = "local"
    workers: int = 0
    ray_address: str = ""
    ray_cpus: int = 2
    ray_fuse: bool = True
    raw: dict[str, Any] = field(default_factory=dict)

    def stage_config(self, name: str) -> dict[str, Any]:
        for n, cfg in self.stages:
            if n == name:
                return cfg
        raise KeyError(name)


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _set(raw: dict[str, Any], target: str, value: Any) -> None:
    """Put ``value`` at ``section.key`` (a stage name is a section under ``stages``)."""
    section, dot, key = target.strip().partition(".")
    if not dot or not section or not key:
        raise StageConfigError(f"expected section.key, got {target!r}")
    table = (
        raw.setdefault(section, {})
        if section in SECTIONS
        else raw.setdefault("stages", {}).setdefault(section, {})
    )
    table[key] = value


def apply_overrides(
    raw: dict[str, Any], overrides: Sequence[str] = (), values: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Overrides applied onto a raw config dict (copied).

    ``overrides`` are ``section.key=value`` strings (``--set``), the value
    read as TOML or else as a plain string; ``values`` maps ``section.key``
    to a Python value taken as it is (command-line options: no quoting, so a
    path holding ``"`` stays that path).  ``values`` are applied last.
    """
    out = copy.deepcopy(raw)
    for item in overrides:
        target, sep, value = item.partition("=")
        if not sep:
            raise StageConfigError(f"--set expects section.key=value, got {item!r}")
        try:
            _set(out, target, _parse_value(value.strip()))
        except StageConfigError:
            raise StageConfigError(f"--set expects section.key=value, got {item!r}") from None
    for target, value in (values or {}).items():
        _set(out, target, value)
    return out


def load_config(
    path: str | Path | None = None, overrides: Sequence[str] = (), values: Mapping[str, Any] | None = None
) -> CurateConfig:
    """Read ``curate.toml`` (or the defaults), apply ``overrides`` and ``values``, validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    raw = apply_overrides(raw, overrides, values)
    return from_dict(raw)


def _table(raw: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise StageConfigError(f"[{name}] must be a table")
    return dict(value)


def _known(table: Mapping[str, Any], name: str, keys: Sequence[str]) -> None:
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise StageConfigError(f"[{name}]: unknown key(s) {unknown}")


def from_dict(raw: Mapping[str, Any]) -> CurateConfig:
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise StageConfigError(f"unknown config section(s) {unknown}")
    pipe, link, ingest = _table(raw, "pipeline"), _table(raw, "link"), _table(raw, "ingest")
    release, execu, stages_raw = _table(raw, "release"), _table(raw, "executor"), _table(raw, "stages")
    _known(pipe, "pipeline", ("stages",))
    _known(link, "link", ("branches", "failed_finish_reasons"))
    _known(ingest, "ingest", ("chunk_mb",))
    _known(release, "release", ("public", "row_group_rows"))
    _known(execu, "executor", ("name", "workers", "ray_address", "ray_cpus", "ray_fuse"))
    names = list(pipe.get("stages", DEFAULT_STAGES))
    known = available_stages()
    for name in [*names, *stages_raw]:
        if name not in known:
            raise StageConfigError(f"unknown stage {name!r}; known: {', '.join(known)}")
    if len(set(names)) != len(names):
        raise StageConfigError("[pipeline] stages: a stage is listed twice")
    public = str(release.get("public", "not_flagged"))
    if public not in PUBLIC_RULES:
        raise StageConfigError(f"release.public must be one of {PUBLIC_RULES}")
    executor = str(execu.get("name", "local"))
    if executor not in ("local", "ray"):
        raise StageConfigError("executor.name must be 'local' or 'ray'")
    try:
        options = LinkOptions(
            branches=str(link.get("branches", "keep")),
            failed_finish_reasons=tuple(link.get("failed_finish_reasons", DEFAULT_FAILED)),
        )
    except ValueError as exc:
        raise StageConfigError(str(exc)) from exc
    cfg = CurateConfig(
        link=options,
        stages=[(n, dict(stages_raw.get(n, {}))) for n in names],
        chunk_bytes=int(float(ingest.get("chunk_mb", 64)) * (1 << 20)),
        public=public,
        row_group_rows=int(release.get("row_group_rows", 10_000)),
        executor=executor,
        workers=int(execu.get("workers", 0)),
        ray_address=str(execu.get("ray_address", "")),
        ray_cpus=int(execu.get("ray_cpus", 2)),
        ray_fuse=bool(execu.get("ray_fuse", True)),
        raw=dict(raw),
    )
    build_stages(cfg)  # validate every stage config now, not in a worker
    for name, conf in stages_raw.items():  # tables of stages outside the pipeline must be valid too
        if name not in names:
            get_stage(name)(**dict(conf))
    return cfg


def build_stages(cfg: CurateConfig, context: RunContext | None = None) -> list[Stage]:
    """Fresh stage instances (not set up) for ``cfg``, in pipeline order, bound to ``context``.

    Each stage gets a copy of its config table, so nothing a stage does
    reaches ``cfg``.
    """
    stages = []
    for name, conf in cfg.stages:
        cls = get_stage(name)
        cls.check_requirements()
        stage = cls(**copy.deepcopy(conf))
        if context is not None:
            stage.bind(context)
        stages.append(stage)
    return stages
