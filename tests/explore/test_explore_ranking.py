"""Relevance order of common words (bounded rank window) and filters on fields no dataset carries.

The expected orders are computed here from the full-text table itself (every
match's rank, read directly), not from the planner under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, update

from tests.builders.releases import write_shard
from tests.explore.explore_index_helpers import BACKENDS, T0, backend_url, conv
from wildchat.explore import counts as counts_module
from wildchat.explore import ranking
from wildchat.explore.build import build_index
from wildchat.explore.index import Index, open_index
from wildchat.explore.query import parse_search_params
from wildchat.explore.tables import conversations, sources
from wildchat.explore.tokens import parse_terms
from wildchat.schema import Conversation

KIWI = 10  # conversations saying "kiwi" (of 30: under half, so relevance order applies)


def _fruit() -> list[Conversation]:
    out = []
    for i in range(30):
        text = " ".join(["kiwi"] * (1 + i % 4)) + " pulp" * (i % 5) if i % 3 == 0 else "plain tea"
        out.append(
            conv(
                f"k{i:02d}",
                [(f"{text} number {i}", "noted")],
                country="Peru" if i % 2 else "Chile",
                ts=T0 + timedelta(days=(i * 7) % 30),
            )
        )
    return out


@pytest.fixture(scope="module", params=BACKENDS)
def fruit(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    tmp = tmp_path_factory.mktemp("explore_ranking")
    for url in backend_url(request, tmp):
        build_index([write_shard(tmp / "rel" / "fruit.parquet", _fruit())], url, map=False)
        ix = open_index(url)
        try:
            yield ix
        finally:
            ix.close()


def _pages(ix: Index, **params: str) -> list[str]:
    """Every hit over all pages; each page's total must equal the number of hits, none repeated."""
    first = ix.search(parse_search_params(params))
    out = [h.conversation_id for h in first.results]
    page = first
    while page.next_cursor:
        page = ix.search(parse_search_params({**params, "cursor": page.next_cursor}))
        assert page.total == first.total
        out += [h.conversation_id for h in page.results]
    assert first.total == len(out)
    assert len(set(out)) == len(out), "paging must not repeat a hit"
    return out


def _ranked(ix: Index, word: str, country: str | None = None) -> list[tuple[float, int, str]]:
    """``(rank, row id, conversation id)`` of every match, read straight from the full-text table."""
    c = conversations.c
    terms = parse_terms(word)
    m = ix.dialect.match(terms).subquery("m")
    q = select(m.c.rank, m.c.id, c.conversation_id).select_from(m.join(conversations, c.id == m.c.id))
    if country is not None:
        q = q.where(c.country == country)
    with ix.engine.connect() as conn:
        rows = conn.execute(q, {"fts_q": ix.dialect.match_param(terms)}).all()
    return [(float(r[0]), int(r[1]), r[2]) for r in rows]


def _window_order(matches: list[tuple[float, int, str]], window: int) -> list[str]:
    newest = sorted(matches, key=lambda m: -m[1])
    ranked = sorted(newest[:window], key=lambda m: (m[0], m[1]))
    return [m[2] for m in ranked] + [m[2] for m in newest[window:]]


def test_selective_term_keeps_exact_relevance_order(fruit: Index) -> None:
    matches = _ranked(fruit, "kiwi")
    assert len(matches) == KIWI <= ranking.RANK_WINDOW
    exact = [m[2] for m in sorted(matches, key=lambda m: (m[0], m[1]))]
    assert _pages(fruit, q="kiwi", limit="3") == exact
    assert fruit.planner.last_plan == {"plan": "ranked", "scored": KIWI}
    assert exact != [m[2] for m in sorted(matches, key=lambda m: -m[1])]  # really ranked, not id order


@pytest.mark.parametrize("limit", ["1", "3", "4", "20"])
def test_common_term_ranks_only_a_bounded_window(
    fruit: Index, monkeypatch: pytest.MonkeyPatch, limit: str
) -> None:
    monkeypatch.setattr(ranking, "RANK_WINDOW", 4)
    matches = _ranked(fruit, "kiwi")
    got = _pages(fruit, q="kiwi", limit=limit)
    assert got == _window_order(matches, 4)
    assert sorted(got) == sorted(m[2] for m in matches)  # every match once, total exact
    first = fruit.search(parse_search_params({"q": "kiwi", "limit": limit}))
    assert first.total == KIWI
    assert fruit.planner.last_plan == {"plan": "window", "scored": 4}


@pytest.mark.parametrize("ratio", [0, 10**9])
def test_window_applies_to_the_filtered_matches(
    fruit: Index, monkeypatch: pytest.MonkeyPatch, ratio: int
) -> None:
    monkeypatch.setattr(ranking, "RANK_WINDOW", 3)
    # 0: every filter counts as selective (one exact pass); 10**9: none does (the window plan)
    monkeypatch.setattr(counts_module, "FILTER_FIRST_RATIO", ratio)
    matches = _ranked(fruit, "kiwi", country="Peru")
    assert len(matches) > 3
    got = _pages(fruit, q="kiwi", country="Peru", limit="2")
    assert sorted(got) == sorted(m[2] for m in matches)
    if ratio == 0 and fruit.dialect.name == "sqlite":  # selective filters: one exact pass (SQLite only)
        assert got == [m[2] for m in sorted(matches, key=lambda m: (m[0], m[1]))]
    else:
        assert got == _window_order(matches, 3)


def _statements(ix: Index) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.lower())

    event.listen(ix.engine, "before_cursor_execute", record)
    return seen


def _scans(statements: list[str]) -> list[str]:
    tables = ("conv_fts", "from conversations", "join conversations")
    return [s for s in statements if any(t in s for t in tables)]


@pytest.fixture
def two_datasets(tmp_path: Path) -> Iterator[Index]:
    """``plain`` carries no state, toxic or redacted; ``states`` carries state."""
    url = f"sqlite:///{tmp_path / 'index.db'}"
    plain = write_shard(tmp_path / "plain" / "plain.parquet", _fruit())
    stated = [conv("s1", [("kiwi in Texas", "ok")], country="United States", state="Texas")]
    build_index([plain], url, dataset="plain", map=False)
    build_index([write_shard(tmp_path / "states" / "s.parquet", stated)], url, dataset="states", map=False)
    with open_index(url) as ix:
        yield ix


@pytest.mark.parametrize(
    "params",
    [
        {"q": "kiwi", "dataset": "plain", "state": "Texas"},
        {"q": "kiwi", "toxic": "1"},
        {"q": "kiwi", "redacted": "0", "sort": "time"},
        {"dataset": "plain", "state": "Texas"},
        {"toxic": "0"},
    ],
)
def test_filter_on_a_field_no_dataset_carries_is_empty_without_scanning(
    two_datasets: Index, params: dict[str, str]
) -> None:
    seen = _statements(two_datasets)
    page = two_datasets.search(parse_search_params(params))
    assert (page.total, page.results, page.next_cursor) == (0, [], None)
    assert seen and _scans(seen) == [], "answered from the datasets' stored filter lists alone"


def test_a_field_carried_by_another_dataset_is_still_searched(two_datasets: Index) -> None:
    assert _pages(two_datasets, q="kiwi", state="Texas") == ["s1"]
    assert _pages(two_datasets, state="Texas") == ["s1"]


def test_stale_filter_lists_are_not_trusted(two_datasets: Index) -> None:
    """While a build is running (a source incomplete) the stored lists may be stale: search for real."""
    with two_datasets.engine.begin() as conn:
        conn.execute(update(sources).values(complete=False))
    seen = _statements(two_datasets)
    page = two_datasets.search(parse_search_params({"q": "kiwi", "toxic": "1"}))
    assert page.total == 0 and _scans(seen)


def test_filtered_query_within_the_window_is_counted_by_its_own_pass(
    fruit: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fewer filtered matches than the window: one pass gives both the exact order and the total."""
    monkeypatch.setattr(counts_module, "FILTER_FIRST_RATIO", 10**9)  # the filters are never "selective"
    fruit.planner.cache = type(fruit.planner.cache)()
    seen = _statements(fruit)
    matches = _ranked(fruit, "kiwi", country="Peru")
    got = _pages(fruit, q="kiwi", country="Peru", limit="2")
    assert got == [m[2] for m in sorted(matches, key=lambda m: (m[0], m[1]))]
    joined_counts = [s for s in seen if "count(" in s and "join conversations" in s]
    assert joined_counts == [], "the total came from the window pass, not a join count"
    monkeypatch.setattr(ranking, "RANK_WINDOW", 2)  # now the window cannot hold them: counted by the join
    fruit.planner.cache = type(fruit.planner.cache)()
    assert _pages(fruit, q="kiwi", country="Peru", limit="2") == _window_order(matches, 2)
    assert [s for s in seen if "count(" in s and "join conversations" in s]
