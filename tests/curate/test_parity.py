"""Local vs Ray executors: same input and config -> identical release files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.builders.conversations import Logs

pytestmark = pytest.mark.slow


@pytest.fixture
def ray_session(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    pytest.importorskip("ray")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    yield
    import ray

    ray.shutdown()


def _corpus(logs: Logs) -> None:
    for i in range(60):
        ip = f"203.0.113.{i % 7 + 1}"
        logs.add(
            [f"q{i % 11}"],
            f"a{i}",
            ip=ip,
            minute=i,
            consent=None if i % 13 == 0 or 30 <= i < 40 else logs_consent(),
        )
        if i % 4 == 0:
            logs.add([f"q{i % 11}", f"a{i}", "more?"], "sure", ip=ip, minute=i + 0.5)
        if i % 9 == 0:
            logs.add(["broken"], "par", ip=ip, minute=i, finish_reason="error")
            logs.add(["broken"], "partial no more", ip=ip, minute=i + 0.2)


def logs_consent() -> dict[str, str]:
    from tests.builders.conversations import CONSENT

    return CONSENT


def test_local_and_ray_give_identical_output(
    logs: Logs, tmp_path: Path, curate: Any, ray_session: None
) -> None:
    _corpus(logs)
    src = logs.write(tmp_path / "in" / "logs.jsonl")
    sets = ["ingest.chunk_mb=0.003", 'roles.mode="repair"']
    local = curate([src], out=tmp_path / "local", sets=sets)
    ray_res = curate([src], out=tmp_path / "ray", sets=[*sets, 'executor.name="ray"'])
    files = lambda out: {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.parquet"))}  # noqa: E731
    assert local.stats["run"]["shards_written"] >= 3
    assert files(local.out) and files(local.out) == files(ray_res.out)
    assert (local.out / "README.md").read_text() == (ray_res.out / "README.md").read_text()
    strip = lambda st: [{k: v for k, v in s.items() if k not in ("seconds", "batches")} for s in st]  # noqa: E731
    assert strip(local.stats["stages"]) == strip(ray_res.stats["stages"])
    assert local.stats["stages"][0]["dropped"]  # the consent stage really dropped something
