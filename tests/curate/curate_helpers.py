"""Fixtures and readers shared by the curation tests (raw logs: ``tests.builders.conversations``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.builders.conversations import Logs
from wildchat.curate.pipeline import CurateResult, run_curate
from wildchat.curate.stages.config import CurateConfig, load_config

#: the linking and cleaning stages (the default pipeline may also hold enrichment stages, tested elsewhere)
STAGES = ("consent", "roles", "empty", "date_window", "holdout", "dev_accounts", "privacy")


@pytest.fixture
def logs() -> Logs:
    return Logs()


@pytest.fixture
def curate(tmp_path: Path) -> Callable[..., CurateResult]:
    """Run the pipeline in-process on ``inputs``; keyword ``sets`` are ``--set`` overrides.

    ``STAGES`` has no ``pii`` stage (these tests are about linking and cleaning), so the run
    opts in with ``allow_unredacted`` unless the caller says otherwise.
    """

    def run(
        inputs: Sequence[Path | str],
        out: Path | None = None,
        sets: Sequence[str] = (),
        key: str | None = "test-release-key",
        **kw: Any,
    ) -> CurateResult:
        cfg: CurateConfig = load_config(
            None, ["executor.workers=1", f"pipeline.stages={list(STAGES)!r}", *sets]
        )
        kw.setdefault("allow_unredacted", True)
        return run_curate(inputs, out or tmp_path / "out", cfg, ip_key=key, **kw)

    return run


def read_full(out: Path, sub: str = "full") -> list[dict[str, Any]]:
    files = sorted((out / sub).glob("*.parquet"))
    if not files:
        return []
    return list(pa.concat_tables([pq.read_table(f) for f in files]).to_pylist())


def texts(conv: dict[str, Any]) -> list[tuple[str, str]]:
    return [(t["role"], t["content"]) for t in conv["conversation"]]
