"""Explorer app pieces without an index: settings, JSON encoding, the map codec."""

from __future__ import annotations

import gzip
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from wildchat.explore.model import MapPoints, SearchHit
from wildchat.explore.routes_api import MapCache, encode_map, hit_json, to_jsonable
from wildchat.explore.settings import load_explore_settings


def test_settings_defaults_env_and_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    s = load_explore_settings()
    assert (s.host, s.port) == ("127.0.0.1", 8766)  # loopback unless asked
    assert s.index_url == f"sqlite:///{(Path('.wildchat-explore') / 'index.db').resolve()}"
    monkeypatch.setenv("WILDCHAT_EXPLORE_PORT", "9000")
    monkeypatch.setenv("WILDCHAT_EXPLORE_DATABASE_URL", "postgresql://u@h/db")
    s = load_explore_settings(index_dir=tmp_path, host=None)
    assert s.port == 9000 and s.host == "127.0.0.1"
    assert s.index_url == "postgresql+psycopg://u@h/db"  # normalised to the psycopg 3 driver
    assert load_explore_settings(port=1234).port == 1234  # the command line wins
    monkeypatch.setenv("WILDCHAT_EXPLORE_DATABASE_URL", "")
    assert (
        load_explore_settings(index_dir=tmp_path).index_url
        == f"sqlite:///{(tmp_path / 'index.db').resolve()}"
    )
    with pytest.raises(ValidationError, match="database_url"):
        load_explore_settings(database_url="mysql://x/y")
    with pytest.raises(ValidationError):
        load_explore_settings(port=0)
    with pytest.raises(ValidationError):
        load_explore_settings(no_such_setting=1)


def test_to_jsonable_handles_what_records_hold() -> None:
    ts = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    value = {"t": ts, "nan": math.nan, "inf": -math.inf, "b": b"\xffx", "s": {3}, 1: (1, 2)}
    out = to_jsonable(value)
    assert out == {
        "t": "2024-05-01T12:30:00+00:00",
        "nan": None,
        "inf": None,
        "b": "\ufffdx",
        "s": [3],
        "1": [1, 2],
    }
    json.dumps(out, allow_nan=False)  # strict JSON
    hit = SearchHit("c1", "d", "say hi", [(4, 6)], None, None, None, None, None, ts, 1, None, None, None, 7)
    data = hit_json(hit)
    assert data["highlights"] == [[4, 6]] and data["timestamp"] == "2024-05-01T12:30:00+00:00"
    assert data["map_id"] == 7 and data["snippet"][4:6] == "hi"


def test_map_encoding_rounds_and_drops_non_finite() -> None:
    points = MapPoints(
        ids=[1, 2, 3, 4],
        x=[0.123456789, math.nan, -2.5, 10.0],
        y=[1.0, 2.0, math.inf, -3.333333333],
        dataset=[0, 1, 0, 1],
        language=[1, 0, 0, 1],
        datasets=["a", "b"],
        languages=["English", "Chinese"],
        model="m",
    )
    data = orjson.loads(encode_map(points, 3))
    assert data["count"] == 2 and data["ids"] == [1, 4]
    assert data["x"] == [0.123, 10.0] and data["y"] == [1.0, -3.333]
    assert data["dataset"] == [0, 1] and data["language"] == [1, 1]
    assert data["bounds"] == [0.123, -3.333, 10.0, 1.0]
    assert data["datasets"] == ["a", "b"] and data["model"] == "m"


def test_map_cache_expires() -> None:
    cache = MapCache(ttl_s=60)
    assert cache.get(None) is None
    plain, packed = cache.put(None, b"x" * 1000)
    assert gzip.decompress(packed) == plain and len(packed) < 100
    assert cache.get(None) == (plain, packed) and cache.get("other") is None
    off = MapCache(ttl_s=0)
    off.put(None, b"x")
    assert off.get(None) is None
