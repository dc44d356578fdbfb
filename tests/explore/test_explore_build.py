"""Index builds: formats, datasets side by side, incremental, resumable, ids, missing fields."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.builders.releases import write_shard
from tests.explore.explore_index_helpers import BACKENDS, backend_url, conv, corpus
from wildchat.explore import prepare
from wildchat.explore.build import build_index
from wildchat.explore.index import open_index
from wildchat.explore.model import SearchQuery
from wildchat.explore.prepare import _release_rows
from wildchat.formats import iter_conversations
from wildchat.formats.arrow import conversation_row
from wildchat.formats.inputs import dataset_name
from wildchat.skips import SkipReport


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from backend_url(request, tmp_path)


def _jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def _openai(path: Path) -> Path:
    return _jsonl(
        path,
        [
            {
                "messages": [
                    {"role": "user", "content": f"openai question {i}"},
                    {"role": "assistant", "content": "ok"},
                ]
            }
            for i in range(5)
        ]
        + [{"messages": [{"role": "assistant", "content": "no user turn"}]}],  # skipped by the reader
    )


def _sharegpt(path: Path) -> Path:
    return _jsonl(
        path,
        [
            {
                "id": f"sg{i}",
                "conversations": [
                    {"from": "human", "value": f"sharegpt ask {i}"},
                    {"from": "gpt", "value": "ja"},
                ],
            }
            for i in range(4)
        ],
    )


def _ids(url: str, **query: object) -> list[str]:
    with open_index(url) as ix:
        page = ix.search(SearchQuery(limit=200, **query))  # type: ignore[arg-type]
        return sorted(h.conversation_id for h in page.results)


def test_formats_and_datasets_side_by_side(url: str, tmp_path: Path) -> None:
    rel = write_shard(tmp_path / "release_a" / "full" / "part-0.parquet", corpus())
    report = build_index(
        [rel.parent.parent, _openai(tmp_path / "chats.jsonl"), _sharegpt(tmp_path / "sg.jsonl")],
        url,
        map=False,
        split="full",  # this release folder has only full/; explore reads public/ unless told otherwise
    )
    assert report.totals == {"release_a": 48, "chats": 5, "sg": 4}
    assert report.skips.skipped["non_alternating_roles"] == 1
    with open_index(url) as ix:
        infos = {d.name: d for d in ix.datasets()}
        assert set(infos) == {"release_a", "chats", "sg"}
        assert "country" in infos["release_a"].filters
        for missing in ("country", "state", "hashed_ip", "toxic", "since", "model"):
            assert missing not in infos["chats"].filters, missing
        assert ix.search(SearchQuery(text="sharegpt ask", dataset="sg")).total == 4
        assert ix.search(SearchQuery(text="sharegpt ask", dataset="chats")).total == 0
    assert _ids(url, text="openai question 3") == ["chats.jsonl-4"]  # derived id: file name + record number
    again = build_index(
        [rel.parent.parent, tmp_path / "chats.jsonl", tmp_path / "sg.jsonl"], url, map=False, split="full"
    )
    assert again.sources_unchanged == 3 and sum(again.indexed.values()) == 0
    assert again.skips.skipped["non_alternating_roles"] == 1  # the stored report of the skipped file


def test_incremental_rebuild_skips_unchanged_and_replaces_changed(url: str, tmp_path: Path) -> None:
    a = write_shard(tmp_path / "d" / "a.parquet", corpus()[:8])
    b = write_shard(tmp_path / "d" / "b.parquet", [conv("old1", [("obsolete walrus text", "x")])])
    first = build_index([tmp_path / "d"], url, map=False)
    assert first.totals == {"d": 9} and first.sources_indexed == 2
    again = build_index([tmp_path / "d"], url, map=False)
    assert (again.sources_unchanged, again.sources_indexed, sum(again.indexed.values())) == (2, 0, 0)
    write_shard(
        b, [conv("new1", [("fresh narwhal text", "y")]), conv("new2", [("fresh narwhal two", "z")])]
    )
    os.utime(b, ns=(1, 1_700_000_000_000_000_000))
    third = build_index([tmp_path / "d"], url, map=False)
    assert (third.sources_unchanged, third.sources_replaced, third.totals) == (1, 1, {"d": 10})
    assert _ids(url, text="walrus") == []  # old full-text rows are gone too
    assert _ids(url, text="narwhal") == ["new1", "new2"]
    assert a.exists()


class Crash(RuntimeError):
    pass


@pytest.mark.parametrize("worker", [False, True], ids=["inline", "worker"])
def test_resume_after_crash(url: str, tmp_path: Path, worker: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if worker:
        if url.startswith("postgresql"):
            pytest.skip("worker path is backend independent; covered on SQLite")
        monkeypatch.setattr(prepare, "WORKER_MIN_BYTES", 0)
    started: list[bool] = []
    real_init = prepare.PreparedStream.__init__

    def spy(self: prepare.PreparedStream, use_worker: bool) -> None:
        started.append(use_worker)
        real_init(self, use_worker)

    monkeypatch.setattr(prepare.PreparedStream, "__init__", spy)
    rel = write_shard(tmp_path / "rel.parquet", corpus())
    seen: list[int] = []

    def crash_after_two_batches(n: int) -> None:
        seen.append(n)
        if len(seen) == 2:
            raise Crash

    with pytest.raises(Crash):
        build_index([rel], url, map=False, batch_size=10, progress=crash_after_two_batches)
    assert _ids(url) and len(_ids(url)) == 20  # two committed batches survive the crash
    report = build_index([rel], url, map=False, batch_size=10)
    assert report.sources_resumed == 1 and report.indexed == {"rel": 28}
    assert report.totals == {"rel": 48} and report.skips.n_skipped == 0
    assert _ids(url) == sorted(c.conversation_id for c in corpus() if c.conversation_id)
    assert _ids(url, text="filler apples") == sorted(f"f{i:02d}" for i in range(40))
    assert started == [worker, worker]


def test_ids_are_stable_and_unique_across_datasets(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'i.db'}"
    no_ids = write_shard(tmp_path / "x" / "noids.parquet", corpus()[:3], drop_ids=True)
    build_index([no_ids], url, map=False)
    first = _ids(url)
    build_index([no_ids], f"sqlite:///{tmp_path / 'j.db'}", map=False)
    assert first == _ids(f"sqlite:///{tmp_path / 'j.db'}") and len(set(first)) == 3
    twin = write_shard(tmp_path / "y" / "twin.parquet", [conv("zh1", [("same id, other dataset", "ok")])])
    dup = write_shard(tmp_path / "z" / "dup.parquet", [conv("q1", [("a", "b")]), conv("q1", [("c", "d")])])
    build_index([write_shard(tmp_path / "w" / "base.parquet", corpus()[:1])], url, map=False)
    report = build_index([twin, dup], url, map=False)
    assert "twin:zh1" in _ids(url, dataset="twin")
    assert report.skips.skipped["duplicate_conversation_id"] == 1


def test_release_fast_path_equals_reader(tmp_path: Path) -> None:
    convs = corpus()[:6]
    convs[2].conversation_hash = "not-a-hash"  # declined by the fast path: the reader recomputes it
    path = write_shard(tmp_path / "r.parquet", convs)
    fast = [row for row, _ in _release_rows(path, SkipReport())]
    accepted = [ok for _, ok in _release_rows(path, SkipReport())]
    slow = [conversation_row(c) for c in iter_conversations([path])]
    assert fast == slow
    assert accepted == [True, True, False, True, True, True]


def test_unknown_files_are_counted_not_fatal(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    write_shard(folder / "good.parquet", corpus()[:2])
    (folder / "notes.json").write_text('{"hello": 1}\n')
    report = build_index([folder], f"sqlite:///{tmp_path / 'i.db'}", map=False)
    assert report.totals == {"mixed": 2} and report.skips.skipped["unknown_format"] == 1
    assert (
        dataset_name("a/b/c.jsonl.gz") == "c" and dataset_name(str(tmp_path / "*.parquet")) == tmp_path.name
    )
    with pytest.raises(FileNotFoundError):
        build_index([tmp_path / "missing"], f"sqlite:///{tmp_path / 'i.db'}", map=False)
