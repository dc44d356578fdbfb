"""Hand-made raw logs and helpers shared by the curation tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wildchat.curate.stages.config import CurateConfig, load_config
from wildchat.curate.pipeline import CurateResult, run_curate
from wildchat.schema import RawLog, parse_raw_log

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
#: this issue's stages (the default pipeline may also hold enrichment stages, tested elsewhere)
STAGES = ("consent", "roles", "empty", "date_window", "holdout", "dev_accounts", "privacy")
CONSENT = {"id": "consent-1", "version": "1", "timestamp": "2024-01-01T00:00:00+00:00"}


def ts(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


@dataclass
class Logs:
    """Builds raw-log dicts; ``chat(...)`` takes alternating user/assistant texts ending with a user text."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    n: int = 0

    def add(
        self,
        texts: Sequence[str],
        reply: str,
        *,
        minute: float | None = None,
        ip: str | None = "203.0.113.5",
        ua: str = "Mozilla/5.0 Test",
        lang: str = "en-US",
        model: str = "gpt-4",
        **extra: Any,
    ) -> dict[str, Any]:
        self.n += 1
        msgs = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(texts)]
        row: dict[str, Any] = {
            "request_id": f"req-{self.n}",
            "timestamp": ts(self.n if minute is None else minute),
            "model": model,
            "messages": msgs,
            "response": reply,
            "finish_reason": "stop",
            "ip": ip,
            "headers": {"user-agent": ua, "accept-language": lang, "cookie": "session=SECRETCOOKIE"},
            "consent": CONSENT,
        }
        row.update(extra)
        self.rows.append(row)
        return row

    def raw_logs(self) -> list[RawLog]:
        return [parse_raw_log(r) for r in self.rows]

    def write(self, path: Path, extra_lines: Iterable[bytes] = ()) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [orjson.dumps(r) for r in self.rows] + list(extra_lines)
        path.write_bytes(b"\n".join(lines) + b"\n")
        return path


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
