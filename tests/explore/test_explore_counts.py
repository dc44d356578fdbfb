"""Cached search totals: paging does not count again, and a build that changes the index recounts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event

from tests.builders.releases import write_shard
from tests.explore.explore_index_helpers import conv, corpus
from wildchat.explore.build import build_index
from wildchat.explore.index import open_index
from wildchat.explore.query import parse_search_params


def test_page_two_reuses_the_total_and_a_build_invalidates_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'index.db'}"
    build_index([write_shard(tmp_path / "a" / "corpus.parquet", corpus())], url, map=False)
    with open_index(url) as ix:
        counts: list[str] = []

        def record(_conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
            if "count(" in statement.lower():
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
