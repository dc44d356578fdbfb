"""Index read side on SQLite and PostgreSQL: search, filters, paging, views, hostile queries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.builders.releases import write_shard
from tests.explore.explore_index_helpers import BACKENDS, backend_url, corpus
from wildchat.explore.build import build_index
from wildchat.explore.index import Index, open_index
from wildchat.explore.model import NotFound, QueryError, SearchQuery
from wildchat.explore.query import parse_search_params


@pytest.fixture(scope="module", params=BACKENDS)
def index(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    tmp = tmp_path_factory.mktemp("explore_index")
    for url in backend_url(request, tmp):
        build_index([write_shard(tmp / "rel" / "corpus.parquet", corpus())], url, map=False)
        ix = open_index(url)
        try:
            yield ix
        finally:
            ix.close()


def ids(ix: Index, **params: str) -> list[str]:
    """All conversation ids of a search, every page (limit 3), checking total against the pages."""
    params.setdefault("limit", "3")
    first = ix.search(parse_search_params(params))
    out = [h.conversation_id for h in first.results]
    page = first
    while page.next_cursor:
        page = ix.search(parse_search_params({**params, "cursor": page.next_cursor}))
        out += [h.conversation_id for h in page.results]
    assert first.total == len(out), "total must equal the number of hits over all pages"
    assert len(set(out)) == len(out), "paging must not repeat a hit"
    return out


def test_free_text_is_and_of_terms_phrase_is_adjacent(index: Index) -> None:
    assert sorted(ids(index, q="quick fox")) == ["en1", "en2", "en3"]
    assert sorted(ids(index, q="quick brown", phrase="1")) == ["en1"]
    assert sorted(ids(index, q="brown quick", phrase="1")) == ["en2"]
    assert ids(index, q="quick zebra") == []


def test_chinese_and_japanese_need_no_spaces(index: Index) -> None:
    assert ids(index, q="你好") == ["zh1"]
    assert ids(index, q="天气") == ["zh1"]
    assert ids(index, q="ありがとう") == ["ja1"]
    assert ids(index, q="どういたしまして") == ["ja1"]
    assert ids(index, q="世好") == []  # bigram not in the text


def test_case_and_diacritics_fold(index: Index) -> None:
    assert ids(index, q="CAFE") == ["cafe"]
    assert ids(index, q="crème") == ["cafe"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"language": "Chinese"}, ["zh1"]),
        ({"country": "United States"}, ["en1", "en2"]),
        ({"state": "Texas"}, ["en1"]),
        ({"model": "gpt-3.5-turbo"}, ["en1"]),
        ({"hashed_ip": "ipA"}, ["ja1", "zh1"]),
        ({"toxic": "1"}, ["en2"]),
        ({"toxic": "0", "q": "café"}, ["cafe"]),
        ({"redacted": "true"}, ["en3"]),
        ({"jailbreak": "1"}, ["en3"]),
        ({"conversation_id": "xss"}, ["xss"]),
        ({"min_turns": "2", "q": "fox"}, ["en3"]),
        ({"max_turns": "1", "q": "fox"}, ["en1", "en2"]),
        ({"since": "2024-01-04", "until": "2024-01-05"}, ["en1", "en2"]),
        ({"dataset": "corpus", "q": "你好"}, ["zh1"]),
        ({"dataset": "nope"}, []),
    ],
)
def test_each_filter(index: Index, params: dict[str, str], expected: list[str]) -> None:
    assert sorted(ids(index, **params)) == expected


def test_jailbreak_false_and_missing_values(index: Index) -> None:
    assert len(ids(index, jailbreak="0")) == 40  # filler says False; others say nothing
    assert "nots" not in ids(index, until="2030-01-01")  # no timestamp: outside any date range
    assert "nots" in ids(index, q="timeless")


def test_browse_is_newest_first_and_pages_completely(index: Index) -> None:
    every = ids(index)
    assert len(every) == 48
    page = index.search(SearchQuery(limit=5))
    stamps = [h.timestamp for h in page.results]
    assert all(s is not None for s in stamps)
    assert stamps == sorted(stamps, reverse=True)  # type: ignore[type-var]


@pytest.mark.parametrize("sort", ["relevance", "time"])
def test_cursor_paging_relevance_and_time(index: Index, sort: str) -> None:
    got = ids(index, q="filler apples", sort=sort, limit="7")
    assert sorted(got) == sorted(f"f{i:02d}" for i in range(40))
    if sort == "time":
        hits = index.search(parse_search_params({"q": "apples", "sort": "time", "limit": "40"})).results
        stamps = [h.timestamp for h in hits]
        assert stamps == sorted(stamps, reverse=True)  # type: ignore[type-var]


def test_snippets_are_plain_text_with_offsets(index: Index) -> None:
    hit = index.search(parse_search_params({"q": "lazy dog"})).results[0]
    marked = [hit.snippet[s:e].lower() for s, e in hit.highlights]
    assert marked == ["lazy", "dog"] or marked == ["lazy dog"] or set(marked) <= {"lazy", "dog"}
    assert marked
    zh = index.search(parse_search_params({"q": "天气"})).results[0]
    assert [zh.snippet[s:e] for s, e in zh.highlights] == ["天气"]
    xss = index.search(parse_search_params({"q": "script alert"})).results[0]
    assert "<script>" in xss.snippet  # returned as text; the page renders it as text


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "*",
        "NEAR(a b)",
        "AND",
        "a AND",
        "OR b",
        ":",
        "(",
        ")",
        "-",
        "'",
        "\\",
        "^",
        "{x}",
        "'; DROP TABLE conversations; --",
        '" OR 1=1 --',
        "body:fox",
        "fox*",
        "NOT fox",
        "a & b | !c",
        "<->",
    ],
)
def test_fts_syntax_is_never_interpreted(index: Index, q: str) -> None:
    for phrase in ("0", "1"):
        page = index.search(parse_search_params({"q": q, "phrase": phrase}))
        assert page.total == len(page.results) or page.next_cursor is not None
    assert sorted(ids(index, q="fox*")) == ["en1", "en2", "en3"]  # '*' is not a prefix operator here
    assert index.search(SearchQuery(limit=1)).total == 48  # tables intact


def test_bad_cursor_and_limits(index: Index) -> None:
    with pytest.raises(QueryError):
        index.search(SearchQuery(text="fox", cursor="garbage"))
    page = index.search(SearchQuery(text="apples", limit=2))
    assert page.next_cursor
    with pytest.raises(QueryError, match="another query"):
        index.search(SearchQuery(text="fox", limit=2, cursor=page.next_cursor))
    with pytest.raises(QueryError):
        index.search(SearchQuery(limit=10_000))


def test_conversation_view_and_not_found(index: Index) -> None:
    rec = index.conversation("en3")
    assert rec["conversation_id"] == "en3" and rec["dataset"] == "corpus"
    assert [t["role"] for t in rec["conversation"]] == ["user", "assistant", "user", "assistant"]
    assert rec["conversation"][0]["jailbreak_match"] == "DAN"
    assert rec["timestamp"].startswith("2024-01-06")
    with pytest.raises(NotFound):
        index.conversation("no-such-id")


def test_user_timeline_oldest_first_and_paged(index: Index) -> None:
    page = index.user("ipF", limit=15)
    assert page.total == 40 and len(page.conversations) == 15
    seen = [h.conversation_id for h in page.conversations]
    while page.next_cursor:
        page = index.user("ipF", limit=15, cursor=page.next_cursor)
        seen += [h.conversation_id for h in page.conversations]
    assert seen == [f"f{i:02d}" for i in range(40)]
    with pytest.raises(NotFound):
        index.user("nobody")


def test_datasets_and_facets(index: Index) -> None:
    (info,) = index.datasets()
    assert info.name == "corpus" and info.conversations == 48
    assert info.turns == sum(1 + i % 3 for i in range(40)) + 9
    assert {"model", "language", "country", "state", "toxic", "redacted", "jailbreak", "since"} <= set(
        info.filters
    )
    facets = index.facets()
    assert facets["language"][0] == "English"
    assert set(facets["country"]) == {"China", "Japan", "United States", "France", "Germany"}
    assert facets["state"] == sorted(facets["state"])  # equal counts: alphabetical


def test_map_without_points(index: Index, tmp_path: Path) -> None:
    assert index.map_points().ids == []
    assert index.map_hits(SearchQuery(text="fox")) == []
    with pytest.raises(NotFound):
        index.map_point(1)


def test_time_sort_probe_plan_gives_the_join_plans_pages(
    index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wildchat.explore import search as index_module

    cases = [
        {"q": "filler apples", "sort": "time", "limit": "7"},
        {"q": "fox", "sort": "time", "country": "United States", "limit": "1"},
        {"q": "apples", "sort": "time", "min_turns": "2", "limit": "4"},
    ]
    monkeypatch.setattr(index_module, "PROBE_WALK_ROWS", 0)  # never probe
    joined = [ids(index, **case) for case in cases]
    monkeypatch.setattr(index_module, "PROBE_WALK_ROWS", 10**9)  # every time-sorted search now probes
    monkeypatch.setattr(index_module, "PROBE_MIN_MATCHES", 0)
    probed = [ids(index, **case) for case in cases]
    assert probed == joined
    assert len(joined[0]) == 40 and joined[1] == ["en2", "en1"]


def test_relevance_of_a_word_in_most_conversations_is_newest_first(index: Index) -> None:
    common = ids(index, q="apples", limit="6")  # 40 of 48 conversations: bm25 weighs it ~0
    assert common == ids(index, q="apples", sort="time", limit="6")
    ranked = ids(index, q="quick fox")  # 3 of 48: really ranked (en2 says both words twice)
    assert ranked[0] == "en2" and ranked != ids(index, q="quick fox", sort="time")


def test_filter_first_plan_gives_the_join_plans_pages(index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    from wildchat.explore import counts as index_module

    cases = [
        {"q": "apples", "country": "Germany", "min_turns": "2", "limit": "4"},
        {"q": "apples", "country": "Germany", "min_turns": "2", "sort": "time", "limit": "4"},
        {"q": "quick fox", "hashed_ip": "ipB", "limit": "1"},
        {"q": "fox", "toxic": "1", "sort": "time"},
        {"q": "fox", "language": "Chinese"},
    ]
    monkeypatch.setattr(index_module, "FILTER_FIRST_RATIO", 0)  # never filter first
    joined = [ids(index, **case) for case in cases]
    monkeypatch.setattr(index_module, "FILTER_FIRST_RATIO", 10**9)  # always, when there are filters
    assert [ids(index, **case) for case in cases] == joined
    assert len(joined[0]) == 26 and joined[2] == ["en2", "en1"] and joined[3] == ["en2"] and joined[4] == []
