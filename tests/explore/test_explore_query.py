"""Request-parameter validation, cursors and query tokenisation (no database)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from wildchat.explore.model import MAX_LIMIT, QueryError, SearchQuery
from wildchat.explore.query import (
    decode_cursor,
    encode_cursor,
    parse_search_params,
    query_fingerprint,
)
from wildchat.explore.tokens import cjk_expand, highlight, index_text, make_snippet, parse_terms


def test_full_valid_request() -> None:
    q = parse_search_params(
        {
            "q": "  hello world ",
            "phrase": "1",
            "model": "gpt-4",
            "language": "English",
            "country": "France",
            "state": "Ile",
            "toxic": "true",
            "redacted": "0",
            "jailbreak": "any",
            "hashed_ip": "abc",
            "min_turns": "2",
            "max_turns": "5",
            "since": "2024-01-01",
            "until": "2024-01-31",
            "dataset": "d",
            "sort": "time",
            "limit": str(MAX_LIMIT),
            "unknown": "ignored",
        }
    )
    assert q.text == "hello world" and q.phrase is True
    assert q.toxic is True and q.redacted is False and q.jailbreak is None
    assert (q.min_turns, q.max_turns, q.limit, q.sort) == (2, 5, MAX_LIMIT, "time")
    assert q.since == datetime(2024, 1, 1, tzinfo=UTC)
    assert q.until == datetime(2024, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)


def test_empty_values_mean_unset() -> None:
    assert parse_search_params({"q": "", "model": " ", "toxic": "", "limit": ""}) == SearchQuery()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "abc"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": str(MAX_LIMIT + 1)}, "limit"),
        ({"min_turns": "1.5"}, "min_turns"),
        ({"max_turns": "-1"}, "max_turns"),
        ({"min_turns": "5", "max_turns": "2"}, "min_turns"),
        ({"toxic": "maybe"}, "toxic"),
        ({"phrase": "2"}, "phrase"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2024-13-01"}, "until"),
        ({"since": "2024-02-01", "until": "2024-01-01"}, "since"),
        ({"sort": "random"}, "sort"),
        ({"cursor": "!!!"}, "cursor"),
        ({"cursor": "e30"}, "cursor"),  # base64 of {}
        ({"q": "x" * 5000}, "q"),
        ({"q": "a\x00b"}, "q"),
        ({"model": "a\x00"}, "model"),
        ({"q": " ".join(f"w{i}" for i in range(100))}, "q"),
    ],
)
def test_bad_params_raise_query_error(params: dict[str, str], message: str) -> None:
    with pytest.raises(QueryError) as err:
        parse_search_params(params)
    assert str(err.value).startswith(message)


def test_cursor_round_trip_and_binding_to_query() -> None:
    q = SearchQuery(text="fox", sort="time")
    fp = query_fingerprint(q)
    assert fp == query_fingerprint(SearchQuery(text="fox", sort="time", limit=7, cursor="x"))
    assert fp != query_fingerprint(SearchQuery(text="fox"))
    token = encode_cursor(fp, -1.2345678901234567, 42)
    assert decode_cursor(token, fp) == (-1.2345678901234567, 42)
    with pytest.raises(QueryError, match="another query"):
        decode_cursor(token, query_fingerprint(SearchQuery(text="dog")))
    parsed = parse_search_params({"q": "fox", "sort": "time", "cursor": token})
    assert parsed.cursor == token


def test_terms_free_text_phrase_and_cjk() -> None:
    free = parse_terms("Quick e-mail  quick 你好世界")
    assert free.groups == (("quick",), ("e", "mail"), ("你好", "好世", "世界"))
    assert free.chunks == ("Quick", "e-mail", "你好 好世 世界")
    phrase = parse_terms("very very good", phrase=True)
    assert phrase.groups == (("very", "very", "good"),)
    assert not parse_terms("!!! -- ()")
    assert parse_terms("Café").groups == (("cafe",),)


def test_index_text_and_expansion() -> None:
    assert index_text("Hello, WORLD_x café ありがとう") == "hello world x cafe あり りが がと とう"
    assert cjk_expand("ab你好c") == "ab 你好 c"
    assert cjk_expand("plain") == "plain"


def test_highlight_and_snippet_offsets() -> None:
    terms = parse_terms("quick 天气")
    text = "The QUICK fox. 今天天气很好"
    spans = highlight(text, terms)
    assert [text[s:e] for s, e in spans] == ["QUICK", "天气"]
    long = "x " * 300 + "the quick fox " + "y " * 300
    snippet, offsets = make_snippet(["nothing here", long], terms)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert [snippet[s:e] for s, e in offsets] == ["quick"]
    plain, none = make_snippet(["line one\nline two"], parse_terms(""))
    assert plain == "line one line two" and none == []


def _reference_spans(text: str, words: list[str]) -> list[tuple[int, int]]:
    """Whole-word occurrences of ``words`` by a look-behind regex (ASCII texts: folding keeps offsets)."""
    pattern = r"(?<![^\W_])(" + "|".join(sorted(words, key=len, reverse=True)) + r")(?![^\W_])"
    merged: list[tuple[int, int]] = []
    for m in re.finditer(pattern, text.lower()):
        if merged and m.start() <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], m.end()))
        else:
            merged.append(m.span())
    return merged


@pytest.mark.parametrize(
    "text",
    [
        "reprint print printer print_x x_print 9print print9 PRINT, (print)",
        "primoris primorisprint print-primoris printprint print",
        "print" * 5 + " print a" + " print" * 3,
        "",
    ],
)
def test_highlight_marks_whole_words_only(text: str) -> None:
    spans = highlight(text, parse_terms("print primoris"))
    assert spans == _reference_spans(text, ["print", "primoris"])
    assert all(text[s:e].lower() in {"print", "primoris"} for s, e in spans)


def test_highlight_of_cjk_only_and_mixed_queries() -> None:
    text = "今天天气很好 reprint print 天气"
    assert [text[s:e] for s, e in highlight(text, parse_terms("天气"))] == ["天气", "天气"]
    assert [text[s:e] for s, e in highlight(text, parse_terms("天气 print"))] == ["天气", "print", "天气"]
