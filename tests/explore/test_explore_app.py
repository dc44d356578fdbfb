"""The explorer's JSON API over a real index (SQLite; the same checks on PostgreSQL).

The index is built once per module by the real ``build_index`` from two
synthetic datasets (see ``explore_web_helpers``); expected counts are
computed from the generator, not copied from a run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.explore.explore_web_helpers import (
    ALPHA_N,
    ALPHA_VOLCANO,
    BETA_N,
    BETA_VOLCANO,
    HOSTILE,
    TOPICS,
    alpha_id,
    alpha_ip,
    build_test_index,
)
from wildchat.explore.app import create_explore_app
from wildchat.explore.index import open_index
from wildchat.explore.settings import load_explore_settings

TOTAL = ALPHA_N + BETA_N


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("explore_app")
    url = f"sqlite:///{tmp / 'index.db'}"
    build_test_index(tmp, url)
    index = open_index(url)
    with TestClient(create_explore_app(index, load_explore_settings())) as c:
        yield c
    index.close()


def _get(client: TestClient, path: str, **params: Any) -> Any:
    resp = client.get(path, params=params)
    assert resp.status_code == 200, (path, params, resp.text)
    return resp.json()


def _all_ids(client: TestClient, **params: Any) -> list[str]:
    """Every conversation id of a search, following cursors 7 at a time."""
    ids: list[str] = []
    cursor = None
    while True:
        page = _get(client, "/api/search", limit=7, **({"cursor": cursor} if cursor else {}), **params)
        ids += [h["conversation_id"] for h in page["results"]]
        cursor = page["next_cursor"]
        if cursor is None:
            assert len(ids) == page["total"]
            return ids


def check_api(client: TestClient) -> None:
    """The API contract; shared by the SQLite and PostgreSQL tests."""
    # text search: exact total over both datasets, highlights point at the word
    page = _get(client, "/api/search", q="volcano")
    assert page["total"] == len(ALPHA_VOLCANO) + len(BETA_VOLCANO)
    for hit in page["results"]:
        spans = hit["highlights"]
        assert spans and all(hit["snippet"][s:e].lower() == "volcano" for s, e in spans)
    alpha_hits = [h for h in page["results"] if h["dataset"] == "alpha"]
    assert all(datetime.fromisoformat(h["timestamp"]).year == 2024 for h in alpha_hits)
    # filters
    assert _get(client, "/api/search", q="volcano", dataset="beta")["total"] == len(BETA_VOLCANO)
    china = [i for i in range(ALPHA_N) if i % 4 == 1]
    assert sorted(_all_ids(client, country="China")) == sorted(alpha_id(i) for i in china)
    toxic = [i for i in range(ALPHA_N - 1) if i % 7 == 0]
    assert sorted(_all_ids(client, toxic="1")) == sorted(alpha_id(i) for i in toxic)
    three = [i for i in range(ALPHA_N) if 1 + i % 3 == 3]
    assert sorted(_all_ids(client, min_turns=3)) == sorted(alpha_id(i) for i in three)
    assert _get(client, "/api/search", model="vicuna-13b")["total"] == BETA_N
    jan = _all_ids(client, since="2024-01-05", until="2024-01-10", dataset="alpha")
    assert sorted(jan) == [alpha_id(i) for i in range(4, 10)]
    # phrase vs words; Chinese without spaces
    n_quantum = len([i for i in range(ALPHA_N - 1) if i % len(TOPICS) == 1])
    assert _get(client, "/api/search", q="quantum computing", phrase=1)["total"] == n_quantum
    assert _get(client, "/api/search", q="computing quantum", phrase=1)["total"] == 0
    assert _get(client, "/api/search", q="computing quantum")["total"] == n_quantum
    n_zh = len([i for i in range(ALPHA_N - 1) if i % len(TOPICS) == 3])
    assert _get(client, "/api/search", q="长城")["total"] == n_zh
    # paging: every conversation exactly once, browse order newest first
    everything = _all_ids(client)
    assert len(everything) == len(set(everything)) == TOTAL
    newest = _get(client, "/api/search", sort="time", dataset="alpha", limit=5)["results"]
    stamps = [h["timestamp"] for h in newest]
    assert stamps == sorted(stamps, reverse=True) and newest[0]["conversation_id"] == alpha_id(ALPHA_N - 1)
    # one conversation, release schema + dataset
    conv = _get(client, f"/api/conversation/{alpha_id(3)}")
    assert conv["dataset"] == "alpha" and conv["conversation_id"] == alpha_id(3)
    assert conv["conversation"][0]["content"] == TOPICS[3][0]
    assert conv["conversation"][0]["hashed_ip"] == alpha_ip(3)
    assert len(conv["openai_moderation"]) == len(conv["conversation"])
    hostile = _get(client, f"/api/conversation/{alpha_id(ALPHA_N - 1)}")
    assert hostile["conversation"][0]["content"] == HOSTILE
    # one user, oldest first
    user = _get(client, "/api/user/ip01")
    expected = [alpha_id(i) for i in range(ALPHA_N) if alpha_ip(i) == "ip01"]
    assert user["total"] == len(expected)
    assert [c["conversation_id"] for c in user["conversations"]] == expected
    paged = _get(client, "/api/user/ip01", limit=2)
    assert len(paged["conversations"]) == 2 and paged["next_cursor"]
    rest = _get(client, "/api/user/ip01", limit=200, cursor=paged["next_cursor"])
    assert [c["conversation_id"] for c in paged["conversations"] + rest["conversations"]] == expected
    # datasets and facets: beta has no geo, so those filters are off for it
    infos = {d["name"]: d for d in _get(client, "/api/datasets")["datasets"]}
    assert infos["alpha"]["conversations"] == ALPHA_N and infos["beta"]["conversations"] == BETA_N
    assert {"country", "hashed_ip", "toxic"} <= set(infos["alpha"]["filters"])
    assert "country" not in infos["beta"]["filters"] and "hashed_ip" not in infos["beta"]["filters"]
    facets = _get(client, "/api/facets")
    assert {"gpt-4", "gpt-3.5-turbo", "vicuna-13b"} <= set(facets["model"])
    assert {"China", "Germany"} <= set(facets["country"]) and "Chinese" in facets["language"]


def test_api_contract_sqlite(client: TestClient) -> None:
    check_api(client)


@pytest.mark.postgres
def test_api_contract_postgres(pg_url: str, tmp_path: Path) -> None:
    build_test_index(tmp_path, pg_url)
    index = open_index(pg_url)
    try:
        with TestClient(create_explore_app(index, load_explore_settings())) as c:
            check_api(c)
            check_bad_inputs(c)
    finally:
        index.close()


def test_map_without_coordinates_is_empty_not_an_error(client: TestClient) -> None:
    plain = client.get("/api/map", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json()["count"] == 0
    packed = client.get("/api/map", headers={"accept-encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip" and packed.json() == plain.json()
    data = _get(client, "/api/map")
    assert data["count"] == 0 and data["ids"] == [] and data["bounds"] is None
    assert _get(client, "/api/map/hits", q="volcano")["ids"] == []


def test_page_and_security_headers(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/explore.js"' in page.text
    assert "<script>" not in page.text  # no inline script: the CSP forbids it
    for path in ("/", "/api/search?q=volcano", "/api/conversation/nope", "/static/explore_map.js"):
        resp = client.get(path)
        csp = resp.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert resp.headers["x-content-type-options"] == "nosniff"
    assert (
        client.get("/static/explore.js")
        .headers["content-type"]
        .startswith(("text/javascript", "application/javascript"))
    )


def test_read_only(client: TestClient) -> None:
    for path in ("/api/search", "/api/conversation/alpha-000", "/api/map", "/"):
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            assert client.request(method, path).status_code == 405, (method, path)


BAD_SEARCHES: list[tuple[dict[str, Any], int]] = [
    ({"q": '"'}, 200),
    ({"q": '"unterminated phrase', "phrase": "1"}, 200),
    ({"q": "volcano*"}, 200),
    ({"q": "NEAR(volcano quantum)"}, 200),
    ({"q": "volcano AND OR NOT"}, 200),
    ({"q": "(((volcano"}, 200),
    ({"q": "-volcano ^x :y {z} [w]"}, 200),
    ({"q": "'; DROP TABLE conversations; --"}, 200),
    ({"q": "% _ \\ ' \""}, 200),
    ({"q": "title:volcano"}, 200),
    ({"q": "🌋 émoji ∑ ٩(◕‿◕)۶"}, 200),
    ({"q": ""}, 200),
    ({"q": "   "}, 200),
    ({"q": "x" * 5000}, 400),
    ({"q": "a\x00b"}, 400),
    ({"limit": "100000"}, 400),
    ({"limit": "-1"}, 400),
    ({"limit": "0"}, 400),
    ({"limit": "ten"}, 400),
    ({"since": "yesterday"}, 400),
    ({"until": "2024-13-45"}, 400),
    ({"since": "2024-02-01", "until": "2024-01-01"}, 400),
    ({"toxic": "maybe"}, 400),
    ({"phrase": "2"}, 400),
    ({"min_turns": "-3"}, 400),
    ({"min_turns": "5", "max_turns": "2"}, 400),
    ({"max_turns": "1e9"}, 400),
    ({"sort": "random"}, 400),
    ({"cursor": "not-a-cursor"}, 400),
    ({"cursor": "eyJmIjoxfQ"}, 400),
    ({"dataset": "no-such-dataset"}, 200),
    ({"country": "<script>"}, 200),
    ({"hashed_ip": "' OR 1=1 --"}, 200),
    ({"unknown_param": "whatever"}, 200),
]


def check_bad_inputs(client: TestClient) -> None:
    for params, status in BAD_SEARCHES:
        for path in ("/api/search", "/api/map/hits"):
            expect = 200 if path == "/api/map/hits" and set(params) <= {"limit", "cursor", "sort"} else status
            resp = client.get(path, params=params)
            assert resp.status_code == expect, (path, params, resp.status_code, resp.text)
            body = resp.json()
            if expect == 400:
                assert isinstance(body["detail"], str) and body["detail"]
            elif path == "/api/search" and params.get("dataset") == "no-such-dataset":
                assert body["total"] == 0
    assert client.get("/api/search", params={"q": "   "}).json()["total"] == TOTAL
    for path, status in [
        ("/api/conversation/does-not-exist", 404),
        ("/api/conversation/" + "z" * 3000, 400),
        ("/api/conversation/%3Cscript%3E", 404),
        ("/api/conversation/%00", 400),
        ("/api/conversation/%ED%A0%80", 404),
        ("/api/conversation/a%2Fb", 404),
        ("/api/user/%00", 400),
        ("/api/user/%ED%A0%80", 404),
        ("/api/user/nobody", 404),
        ("/api/user/ip01?limit=0", 400),
        ("/api/user/ip01?limit=100000", 400),
        ("/api/user/ip01?cursor=garbage", 400),
        ("/api/map/point/999999999", 404),
        ("/api/map/point/-1", 400),
        ("/api/map/point/abc", 400),
        ("/api/map/point/99999999999999999999999", 400),
        ("/api/map?dataset=no-such-dataset", 404),
        ("/api/map?dataset=%00", 400),
        ("/api/map?dataset=" + "d" * 3000, 400),
        ("/no/such/page", 404),
    ]:
        resp = client.get(path)
        assert resp.status_code == status, (path, resp.status_code, resp.text)
        assert "detail" in resp.json()


def test_bad_inputs_never_500(client: TestClient) -> None:
    check_bad_inputs(client)
