"""`wildchat explore` on the real LMSYS-Chat-1M sample (../shared/data, never copied here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from wildchat.cli.main import app
from wildchat.explore.app import create_explore_app
from wildchat.explore.index import open_index
from wildchat.explore.settings import load_explore_settings

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_lmsys_sample_builds_and_searches(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "lmsys_chat_1m_sample191" / "lmsys_1000.jsonl"
    if not source.is_file():
        pytest.skip(f"{source} not present")
    n_lines = sum(1 for line in source.open(encoding="utf-8") if line.strip())
    result = CliRunner().invoke(
        app, ["explore", str(source), "--index", str(tmp_path / "ix"), "--map-sample", "100", "--build-only"]
    )
    assert result.exit_code == 0, result.output
    assert "lmsys_1000: " in result.output
    index = open_index(f"sqlite:///{tmp_path / 'ix' / 'index.db'}")
    try:
        with TestClient(create_explore_app(index, load_explore_settings())) as client:
            (info,) = client.get("/api/datasets").json()["datasets"]
            skipped = n_lines - info["conversations"]
            assert info["conversations"] > 0.9 * n_lines
            assert skipped == 0 or "skipped" in result.output  # every missing record is accounted for
            assert "country" not in info["filters"] and "model" in info["filters"]  # LMSYS has no geo
            assert client.get("/api/search").json()["total"] == info["conversations"]
            page = client.get("/api/search", params={"q": "python", "limit": 5}).json()
            assert page["total"] > 0 and len(page["results"]) == min(5, page["total"])
            for hit in page["results"]:
                assert hit["highlights"]
                assert all("python" in hit["snippet"][s:e].lower() for s, e in hit["highlights"])
            phrase = client.get("/api/search", params={"q": "machine learning", "phrase": 1}).json()
            words = client.get("/api/search", params={"q": "machine learning"}).json()
            assert 0 < phrase["total"] <= words["total"]
            first = page["results"][0]["conversation_id"]
            conv = client.get(f"/api/conversation/{first}").json()
            assert conv["conversation_id"] == first and conv["conversation"][0]["role"] == "user"
            mapped = client.get("/api/map").json()
            n_map = min(100, info["conversations"])
            assert mapped["count"] == n_map and len(mapped["x"]) == n_map
            point = client.get(f"/api/map/point/{mapped['ids'][0]}").json()
            assert point["prompt"] and point["dataset"] == "lmsys_1000"
    finally:
        index.close()
