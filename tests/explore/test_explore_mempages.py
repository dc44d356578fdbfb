"""Pages from the in-memory match ids equal the SQL plans' pages: same hits, order, totals, cursors."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.builders.releases import write_shard
from tests.explore.explore_index_helpers import corpus
from wildchat.explore import mempages, ranking
from wildchat.explore.bitmaps import RowSets
from wildchat.explore.build import build_index
from wildchat.explore.counts import CountCache, Snapshot
from wildchat.explore.filters import filter_conditions, query_terms
from wildchat.explore.index import Index, open_index
from wildchat.explore.query import parse_search_params
from wildchat.explore.tables import conversations

QUERIES: list[dict[str, str]] = [
    {"q": "fox", "language": "English"},
    {"q": "quick fox", "min_turns": "1"},
    {"q": "question", "since": "1960-01-01"},
    {"q": "filler", "since": "2024-01-15", "until": "2024-01-20"},
    {"q": "apples", "country": "Germany"},
    {"q": "quick fox", "phrase": "1", "language": "English"},
    {"q": "fox"},
    {"q": "filler number"},
]


def _pages(ix: Index, params: dict[str, str], limit: int = 2) -> list[tuple[int, list[str], str | None]]:
    """Every page of the query: (total, conversation ids, cursor), following ``next_cursor``."""
    q = parse_search_params({**params, "limit": str(limit)})
    out: list[tuple[int, list[str], str | None]] = []
    while True:
        page = ix.search(q)
        out.append((page.total, [h.conversation_id for h in page.results], page.next_cursor))
        if page.next_cursor is None or len(out) > 50:
            return out
        q = replace(q, cursor=page.next_cursor)


def _sql_count(ix: Index, params: dict[str, str]) -> int:
    """The total as SQL COUNT of the match joined to the filtered conversations."""
    q = parse_search_params(params)
    terms = query_terms(q)
    assert terms
    with ix.engine.connect() as conn:
        conds = filter_conditions(conn, ix.planner.names, q)
        ids = ix.dialect.match_ids().subquery("mi")
        joined = ids.join(conversations, conversations.c.id == ids.c.id)
        count = select(func.count()).select_from(joined).where(*conds)
        return int(conn.execute(count, {"fts_q": ix.dialect.match_param(terms)}).scalar_one())


@pytest.mark.parametrize("window", [2, 5_000])
@pytest.mark.parametrize("sort", ["relevance", "time"])
@pytest.mark.parametrize("params", QUERIES, ids=lambda p: " ".join(f"{k}={v}" for k, v in p.items()))
def test_memory_pages_equal_sql_pages(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    params: dict[str, str],
    sort: str,
    window: int,
) -> None:
    base = tmp_path_factory.getbasetemp() / "mempages_corpus"
    url = f"sqlite:///{base / 'index.db'}"
    if not (base / "index.db").exists():
        build_index([write_shard(base / "rel" / "corpus.parquet", corpus())], url, map=False)
    monkeypatch.setattr(ranking, "RANK_WINDOW", window)
    query = {**params, "sort": sort}
    with open_index(url) as ix:
        ix.planner.rowsets = RowSets(min_docs=10**9)  # never in memory: the SQL plans
        expected = _pages(ix, query)
        memory = RowSets(min_docs=1)
        with ix.engine.connect() as conn:
            memory.load(conn, Snapshot.read(conn).version)
        ix.planner.rowsets = memory
        ix.planner.cache = CountCache()
        assert _pages(ix, query) == expected
        plan = ix.planner.last_plan["plan"]
        assert plan == "memory" or (
            "q" in params and not any(k != "q" for k in params) and sort == "relevance"
        )
    total = expected[0][0]
    assert total == _sql_count(ix, query) and total > 0
    assert sum(len(ids) for _, ids, _ in expected) == total  # every match exactly once across pages
    assert len({i for _, ids, _ in expected for i in ids}) == total


@pytest.mark.parametrize(
    "params",
    [
        {"country": "Germany", "min_turns": "2"},
        {"language": "English"},
        {"until": "2024-01-05"},
        {"toxic": "0"},
    ],
    ids=str,
)
def test_browse_pages_from_memory_equal_sql_pages(
    tmp_path_factory: pytest.TempPathFactory, params: dict[str, str]
) -> None:
    base = tmp_path_factory.getbasetemp() / "mempages_corpus"
    url = f"sqlite:///{base / 'index.db'}"
    if not (base / "index.db").exists():
        build_index([write_shard(base / "rel" / "corpus.parquet", corpus())], url, map=False)
    with open_index(url) as ix:
        ix.planner.rowsets = RowSets(min_docs=10**9)
        expected = _pages(ix, params)
        assert ix.planner.last_plan["plan"] == "browse"
        memory = RowSets(min_docs=1)
        with ix.engine.connect() as conn:
            memory.load(conn, Snapshot.read(conn).version)
            q = parse_search_params(params)
            conds = filter_conditions(conn, ix.planner.names, q)
            sql = conn.execute(select(func.count()).select_from(conversations).where(*conds)).scalar_one()
        ix.planner.rowsets = memory
        assert _pages(ix, params) == expected
        assert ix.planner.last_plan["plan"] == "browse, memory"
    assert expected[0][0] == sql > 0
    assert [i for _, ids, _ in expected for i in ids] == list(
        dict.fromkeys(i for _, ids, _ in expected for i in ids)
    )
    assert sum(len(ids) for _, ids, _ in expected) == sql


def test_page_two_reuses_the_scored_window_and_pages_stay_equal(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = tmp_path_factory.getbasetemp() / "mempages_corpus"
    url = f"sqlite:///{base / 'index.db'}"
    if not (base / "index.db").exists():
        build_index([write_shard(base / "rel" / "corpus.parquet", corpus())], url, map=False)
    query = {"q": "fox", "language": "English"}
    with open_index(url) as ix:
        ix.planner.rowsets = RowSets(min_docs=10**9)
        expected = _pages(ix, query, limit=1)
        memory = RowSets(min_docs=1)
        with ix.engine.connect() as conn:
            memory.load(conn, Snapshot.read(conn).version)
        ix.planner.rowsets = memory
        calls: list[int] = []
        real = mempages.score_ids

        def counted(*args: Any) -> list[tuple[float, int]]:
            calls.append(1)
            return real(*args)

        monkeypatch.setattr(mempages, "score_ids", counted)
        assert _pages(ix, query, limit=1) == expected
    assert len(expected) >= 3 and len(calls) == 1  # one window, scored once for every page
