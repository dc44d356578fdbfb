"""Embedding map: real MiniLM on a few dozen prompts, stored projection, map hits, missing extra."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.builders.releases import write_shard
from tests.explore.explore_index_helpers import conv, corpus
from wildchat.explore.build import build_index
from wildchat.explore.index import open_index
from wildchat.explore.mapcoords import fit_pca
from wildchat.explore.model import NotFound, SearchQuery
from wildchat.text import embed as text_embed


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)


@pytest.mark.slow
def test_map_points_sample_projection_and_hits(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    url = f"sqlite:///{tmp_path / 'i.db'}"
    report = build_index([write_shard(tmp_path / "a.parquet", corpus())], url, map_sample=30)
    assert report.map_points == 30 and report.map_message is None
    with open_index(url) as ix:
        pts = ix.map_points()
        assert len(pts.ids) == 30 and pts.datasets == ["a"] and pts.model == "all-MiniLM-L6-v2"
        assert len(pts.x) == len(pts.y) == len(pts.dataset) == len(pts.language) == 30
        assert all(np.isfinite(pts.x)) and np.std(pts.x) > 0 and np.std(pts.y) > 0
        assert {pts.languages[i] for i in pts.language} <= {
            "English",
            "Chinese",
            "Japanese",
            "French",
            "unknown",
        }
        hits = ix.map_hits(SearchQuery(text="apples"))
        assert set(hits) <= set(pts.ids)
        apples = ix.search(SearchQuery(text="apples", limit=200)).results
        assert sorted(hits) == sorted(h.map_id for h in apples if h.map_id is not None)
        point = ix.map_point(pts.ids[0])
        assert (
            point["dataset"] == "a"
            and point["prompt"] == ix.conversation(point["conversation_id"])["conversation"][0]["content"]
        )
        assert ix.map_points(dataset="a", limit=5).ids == sorted(pts.ids)[:5]
        with pytest.raises(NotFound):
            ix.map_points(dataset="nope")
        first = dict(zip(pts.ids, zip(pts.x, pts.y, strict=True), strict=True))
    # a second dataset is projected with the stored PCA: old points keep their place
    extra = [conv(f"n{i}", [(f"new prompt about oranges {i}", "ok")]) for i in range(5)]
    again = build_index([write_shard(tmp_path / "b.parquet", extra)], url, map_sample=30)
    assert again.map_points == 5
    with open_index(url) as ix:
        pts = ix.map_points()
        assert len(pts.ids) == 35 and set(pts.datasets) == {"a", "b"}
        now = dict(zip(pts.ids, zip(pts.x, pts.y, strict=True), strict=True))
        assert all(now[i] == first[i] for i in first)
        assert {d.name: d.map_points for d in ix.datasets()} == {"a": 30, "b": 5}


def test_missing_embed_extra_disables_only_the_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> Path:
        raise text_embed.EmbedUnavailable("embedding map skipped: install the 'embed' extra")

    monkeypatch.setattr(text_embed, "model_folder", unavailable)
    url = f"sqlite:///{tmp_path / 'i.db'}"
    report = build_index([write_shard(tmp_path / "a.parquet", corpus()[:4])], url)
    assert report.map_points == 0 and report.map_message and "embed" in report.map_message
    with open_index(url) as ix:
        assert ix.map_points().ids == [] and ix.search(SearchQuery(text="fox")).total == 2


def test_fit_pca_is_deterministic_and_centred() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8)) * np.array([5, 3, 1, 1, 1, 1, 1, 1])
    _, comps = fit_pca(x)
    again = fit_pca(x.copy())
    assert np.array_equal(comps, again[1])
    assert comps.shape == (2, 8) and abs(abs(comps[0, 0]) - 1) < 0.05
    assert np.allclose(np.linalg.norm(comps, axis=1), 1)
    assert fit_pca(x[:1])[1].shape == (2, 8)
