"""Totals from in-memory columns and match ids equal SQL totals, filter by filter, across index changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.builders.releases import write_shard
from tests.explore.explore_index_helpers import conv, corpus
from wildchat.explore.bitmaps import RowSets
from wildchat.explore.build import build_index
from wildchat.explore.counts import Snapshot, join_total
from wildchat.explore.filters import filter_conditions, query_terms
from wildchat.explore.index import Index, open_index
from wildchat.explore.query import parse_search_params
from wildchat.explore.tables import conversations

#: Free text of several words and/or filters: every filter the row sets evaluate, and mixes.
QUERIES: list[dict[str, str]] = [
    {"q": "quick fox", "min_turns": "1"},
    {"q": "quick fox", "phrase": "1", "language": "English"},
    {"q": "你好", "country": "China"},
    {"q": "fox", "country": "United States"},
    {"q": "fox", "state": "Ohio"},
    {"q": "the fox", "toxic": "1"},
    {"q": "the", "toxic": "0"},
    {"q": "fox", "redacted": "1"},
    {"q": "apples", "jailbreak": "0"},
    {"q": "filler apples", "min_turns": "2"},
    {"q": "apples", "max_turns": "1", "country": "Germany"},
    {"q": "filler", "since": "2024-01-15", "until": "2024-01-20"},
    {"q": "question", "until": "2030-01-01"},
    {"q": "question", "since": "1960-01-01"},
    {"q": "fox", "model": "gpt-3.5-turbo"},
    {"q": "fox", "language": "Klingon"},
    {"q": "apples", "dataset": "corpus"},
    {"q": "apples", "dataset": "nope"},
    {"q": "filler number", "language": "English", "country": "Germany", "min_turns": "3"},
]


def _sql_total(ix: Index, params: dict[str, str]) -> int:
    q = parse_search_params(params)
    terms = query_terms(q)
    assert terms
    with ix.engine.connect() as conn:
        conds = filter_conditions(conn, ix.planner.names, q)
        ids = ix.dialect.match_ids().subquery("mi")
        fts_q = {"fts_q": ix.dialect.match_param(terms)}
        return join_total(conn, conds, ids, fts_q)  # every match joined to its row: the plain SQL count


def _rowset_total(ix: Index, rowsets: RowSets, params: dict[str, str]) -> int | None:
    q = parse_search_params(params)
    terms = query_terms(q)
    assert terms
    with ix.engine.connect() as conn:
        snap = Snapshot.read(conn)
        found = rowsets.counts(conn, ix.dialect, ix.planner.names, snap, q, ix.dialect.match_param(terms))
    return None if found is None else found[0].total


def _loaded(ix: Index) -> RowSets:
    """Row sets with the columns read now (a server reads them in the background)."""
    rowsets = RowSets(min_docs=1)
    with ix.engine.connect() as conn:
        rowsets.load(conn, Snapshot.read(conn).version)
    return rowsets


@pytest.mark.parametrize("params", QUERIES, ids=lambda p: " ".join(f"{k}={v}" for k, v in p.items()))
def test_row_set_totals_equal_sql_totals(
    tmp_path_factory: pytest.TempPathFactory, params: dict[str, str]
) -> None:
    base = tmp_path_factory.getbasetemp() / "rowsets_corpus"
    url = f"sqlite:///{base / 'index.db'}"
    if not (base / "index.db").exists():
        build_index([write_shard(base / "rel" / "corpus.parquet", corpus())], url, map=False)
    with open_index(url) as ix:
        rowsets = _loaded(ix)
        assert _rowset_total(ix, rowsets, params) == _sql_total(ix, params)
        ix.planner.rowsets = rowsets  # and the search itself reports the same total
        assert ix.search(parse_search_params(params)).total == _sql_total(ix, params)


def test_rows_of_another_index_version_are_not_used(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'index.db'}"
    shard = tmp_path / "d" / "b.parquet"
    write_shard(tmp_path / "d" / "a.parquet", corpus())
    write_shard(shard, [conv(f"old{i}", [("walrus fox", "quick")]) for i in range(5)])
    build_index([tmp_path / "d"], url, map=False)
    query = {"q": "quick fox", "language": "English"}
    with open_index(url) as ix:
        rowsets = _loaded(ix)
        before = _rowset_total(ix, rowsets, query)
        assert before == _sql_total(ix, query) and before is not None and before >= 8
        write_shard(shard, [conv("new1", [("narwhal fox", "quick")])])
        os.utime(shard, ns=(1, 1_700_000_000_000_000_000))
        build_index([tmp_path / "d"], url, map=False)
        assert _rowset_total(ix, rowsets, query) is None, "stale rows must not answer"
        rowsets = _loaded(ix)
        assert _rowset_total(ix, rowsets, query) == _sql_total(ix, query) == before - 4


def test_searches_without_filters_or_by_hashed_ip_stay_with_sql(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'index.db'}"
    build_index([write_shard(tmp_path / "rel" / "corpus.parquet", corpus())], url, map=False)
    with open_index(url) as ix:
        rowsets = _loaded(ix)
        assert _rowset_total(ix, rowsets, {"q": "quick fox"}) is None  # the match count is the total
        assert _rowset_total(ix, rowsets, {"q": "fox", "hashed_ip": "ipB"}) is None


@pytest.mark.parametrize(
    "params",
    [
        {"country": "Germany", "min_turns": "2"},
        {"language": "English", "toxic": "1"},
        {"until": "2024-01-05"},
        {},
    ],
    ids=str,
)
def test_browse_totals_from_the_row_sets_equal_sql_counts(tmp_path: Path, params: dict[str, str]) -> None:
    url = f"sqlite:///{tmp_path / 'index.db'}"
    build_index([write_shard(tmp_path / "rel" / "corpus.parquet", corpus())], url, map=False)
    with open_index(url) as ix:
        q = parse_search_params(params)
        with ix.engine.connect() as conn:
            conds = filter_conditions(conn, ix.planner.names, q)
            sql = conn.execute(select(func.count()).select_from(conversations).where(*conds)).scalar_one()
            assert _loaded(ix).filtered_rows(conn, ix.planner.names, Snapshot.read(conn), q) == sql
        ix.planner.rowsets = _loaded(ix)
        assert ix.search(q).total == sql and (sql > 0 or params == {"language": "English", "toxic": "1"})
