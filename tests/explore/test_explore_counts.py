"""Cached search totals: paging does not count again, and a build that changes the index recounts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event

from tests.builders.releases import write_shard
from tests.explore.explore_index_helpers import conv, corpus
from wildchat.explore.build import build_index
from wildchat.explore.index import open_index
from wildchat.explore.query import parse_search_params
from wildchat.explore.tokens import parse_terms


def test_page_two_reuses_the_total_and_a_build_invalidates_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'index.db'}"
    build_index([write_shard(tmp_path / "a" / "corpus.parquet", corpus())], url, map=False)
    with open_index(url) as ix:
        counts: list[str] = []

        def record(_conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
            if "count(" in statement.lower() or "conv_vocab" in statement:  # a COUNT or the term statistics
                counts.append(statement)

        event.listen(ix.engine, "before_cursor_execute", record)
        params = {"q": "fox", "limit": "1"}
        first = ix.search(parse_search_params(params))
        assert first.total >= 2 and first.next_cursor is not None and counts
        counts.clear()
        second = ix.search(parse_search_params({**params, "cursor": first.next_cursor}))
        assert second.total == first.total
        assert counts == [], "page 2 must not count again"

        extra = [conv("extra-fox", [("a fox again", "yes, a fox")])]
        build_index([write_shard(tmp_path / "b" / "more.parquet", extra)], url, map=False)
        again = ix.search(parse_search_params(params))
        assert counts, "a changed index must be counted again"
        assert again.total == first.total + 1


def _match_count(ix: Any, token: str) -> int:
    with ix.engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT count(*) FROM conv_fts WHERE conv_fts MATCH ?", (f'"{token}"',))
        return int(row.scalar_one())


def test_term_statistics_give_the_count_of_the_match_also_after_replacing_rows(tmp_path: Path) -> None:
    """One-word totals come from FTS5's term statistics (fts5vocab), equal to COUNT(*) of the MATCH.

    The folder is rebuilt with one file replaced (its rows deleted from the
    full-text index), so deleted entries must not be counted.
    """
    url = f"sqlite:///{tmp_path / 'index.db'}"
    shard = tmp_path / "d" / "b.parquet"
    write_shard(tmp_path / "d" / "a.parquet", corpus())
    old = [conv(f"old{i}", [(f"walrus fox number {i}", "quick reply")]) for i in range(6)]
    write_shard(shard, old)
    build_index([tmp_path / "d"], url, map=False)
    write_shard(shard, [conv("new1", [("narwhal fox", "quick")])])
    os.utime(shard, ns=(1, 1_700_000_000_000_000_000))
    build_index([tmp_path / "d"], url, map=False)
    with open_index(url) as ix:
        counts: list[str] = []
        event.listen(ix.engine, "before_cursor_execute", lambda *a: counts.append(str(a[2]).lower()))
        words = ["fox", "quick", "walrus", "narwhal", "the", "zebra"]
        expected = {w: _match_count(ix, w) for w in words}
        assert expected["walrus"] == 0 and expected["narwhal"] == 1 and expected["fox"] >= 3
        for word in words:
            counts.clear()
            with ix.engine.connect() as conn:
                assert ix.dialect.term_docs(conn, parse_terms(word)) == expected[word], word
            assert ix.search(parse_search_params({"q": word.upper()})).total == expected[word], word
            assert not [s for s in counts if "count(" in s and "match" in s], "no COUNT of the matches"
        with ix.engine.connect() as conn:  # not one plain token: counted by the MATCH instead
            assert ix.dialect.term_docs(conn, parse_terms("quick fox")) is None
            assert ix.dialect.term_docs(conn, parse_terms("你好")) is None
