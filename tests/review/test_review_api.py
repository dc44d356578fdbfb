"""The review API contract: next/label/progress/context, bad input, undo, concurrency, headers."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.live_server import live_server
from tests.review.review_helpers import make_release
from wildchat.review.app import STATIC_DIR, create_review_app
from wildchat.review.sampling import draw_sample
from wildchat.review.store import ReviewStore

N_ITEMS = 40


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rel")
    make_release(out, n=600)
    return out


def _queue(release: Path, target: str, tasks: tuple[str, ...] = ("toxicity",)) -> ReviewStore:
    store = ReviewStore(target, create=True)
    for task in tasks:
        store.add_sample(draw_sample(release, task, size=N_ITEMS, seed=3), str(release))
    return store


@pytest.fixture
def store(release: Path, tmp_path: Path) -> Iterator[ReviewStore]:
    s = _queue(release, str(tmp_path / "q.db"), ("toxicity", "jailbreak"))
    yield s
    s.close()


@pytest.fixture
def client(store: ReviewStore) -> TestClient:
    return TestClient(create_review_app(store))


def _next(client: TestClient, annotator: str, task: str = "toxicity") -> Any:
    return client.get("/api/review/next", params={"annotator": annotator, "task": task})


def _label(client: TestClient, item_id: Any, annotator: str, label: Any, task: str = "toxicity") -> Any:
    body = {"item_id": item_id, "annotator": annotator, "task": task, "label": label}
    return client.post("/api/review/label", json=body)


def test_next_serves_each_item_once_then_204(client: TestClient) -> None:
    seen = []
    while (resp := _next(client, "alice")).status_code == 200:
        item = resp.json()
        assert {"item_id", "conversation_id", "turn", "text", "task", "detectors"} <= set(item)
        assert (
            item["task"] == "toxicity"
            and isinstance(item["detectors"], dict)
            and "toxic" in item["detectors"]
        )
        seen.append(item["item_id"])
        assert _label(client, item["item_id"], "alice", len(seen) % 3 == 0 or "skip").status_code == 200
    assert resp.status_code == 204 and resp.content == b""
    assert len(seen) == len(set(seen)) == N_ITEMS


def test_annotators_get_their_own_order_and_overlap_fully(
    client: TestClient, release: Path, tmp_path: Path
) -> None:
    orders: dict[str, list[int]] = {}
    for a in ("alice", "bob"):
        orders[a] = []
        while (resp := _next(client, a)).status_code == 200:
            orders[a].append(resp.json()["item_id"])
            _label(client, orders[a][-1], a, True)
    assert orders["alice"] != orders["bob"]  # random order per annotator
    assert sorted(orders["alice"]) == sorted(orders["bob"])  # full overlap
    # seeded by annotator: a fresh queue from the same release and seed serves alice the same order
    fresh = _queue(release, str(tmp_path / "fresh.db"), ("toxicity", "jailbreak"))
    try:
        again = TestClient(create_review_app(fresh))
        assert [_next(again, "alice").json()["item_id"] for _ in range(1)] == orders["alice"][:1]
    finally:
        fresh.close()


def test_second_label_replaces_the_first(client: TestClient, store: ReviewStore) -> None:
    item = _next(client, "alice").json()
    assert _label(client, item["item_id"], "alice", True).status_code == 200
    assert _label(client, item["item_id"], "alice", False).status_code == 200
    rows = [r for r in store.labels("toxicity") if r["item_id"] == item["item_id"]]
    assert len(rows) == 1 and rows[0]["label"] == "false" and rows[0]["revisions"] == 2
    prog = client.get("/api/review/progress").json()
    assert prog["annotators"]["alice"]["toxicity"]["labelled"] == 1
    assert prog["annotators"]["alice"]["toxicity"]["false"] == 1


def test_bad_input(client: TestClient, store: ReviewStore) -> None:
    item = _next(client, "alice").json()
    assert _label(client, 999999, "alice", True).status_code == 404
    assert client.get("/api/review/item/999999").status_code == 404
    assert client.get("/api/review/context/999999").status_code == 404
    r = _label(client, item["item_id"], "alice", True, task="sentiment")
    assert r.status_code == 400 and "sentiment" in r.json()["detail"]
    assert _next(client, "alice", task="sentiment").status_code == 400
    assert _next(client, "alice", task="pii").status_code == 400  # a real task this queue was not built for
    assert _label(client, item["item_id"], "alice", True, task="pii").status_code == 400
    assert _label(client, item["item_id"], "alice", True, task="jailbreak").status_code == 400  # other task
    for bad in ("maybe", "true", 1, None):
        assert _label(client, item["item_id"], "alice", bad).status_code == 400
    assert _label(client, item["item_id"], "", True).status_code == 400
    assert client.get("/api/review/next", params={"task": "toxicity"}).status_code == 400
    assert client.post("/api/review/label", content=b"{not json").status_code == 400
    assert store.labels() == []  # nothing bad was stored


def test_progress_counts_per_annotator_and_stratum(client: TestClient, store: ReviewStore) -> None:
    strata = {s["stratum"]: s["sampled"] for s in store.strata("toxicity")}
    labelled: dict[str, int] = {}
    for _ in range(7):
        item = store.item(_next(client, "carol").json()["item_id"])
        labelled[item["stratum"]] = labelled.get(item["stratum"], 0) + 1
        _label(client, item["item_id"], "carol", "skip" if len(labelled) == 1 else True)
    prog = client.get("/api/review/progress").json()
    assert prog["tasks"]["toxicity"]["items"] == N_ITEMS
    assert {k: v for k, v in prog["tasks"]["toxicity"]["strata"].items()} == {
        k: v for k, v in strata.items() if v
    }
    mine = prog["annotators"]["carol"]["toxicity"]
    assert mine["labelled"] == 7 and mine["remaining"] == N_ITEMS - 7 and mine["strata"] == labelled
    assert mine["skipped"] + mine["true"] + mine["false"] == 7


def test_context_on_demand(client: TestClient, store: ReviewStore) -> None:
    item = _next(client, "alice").json()
    ctx = client.get(f"/api/review/context/{item['item_id']}").json()
    assert ctx["conversation_id"] == item["conversation_id"] and ctx["turn"] == item["turn"]
    assert ctx["turns"] and all(t["index"] != item["turn"] for t in ctx["turns"])
    assert {t["role"] for t in ctx["turns"]} <= {"user", "assistant"}


def test_page_is_strict_csp_without_inline_script(client: TestClient) -> None:
    resp = client.get("/")
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert resp.headers["x-content-type-options"] == "nosniff"
    html = resp.text
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # no inline script
    assert not re.search(r"\son[a-z]+=", html) and "style=" not in html
    js = (STATIC_DIR / "review.js").read_text()
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "eval(" not in js
    assert client.get("/static/review.js").headers["content-security-policy"] == csp
    assert (
        client.get("/api/review/next", params={"annotator": "a", "task": "x"}).headers[
            "content-security-policy"
        ]
        == csp
    )


def _post(base: str, body: dict[str, Any]) -> int:
    req = urllib.request.Request(
        base + "/api/review/label",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _hammer(store: ReviewStore, post: Any, annotators: int = 6) -> None:
    """Every annotator labels every item at once (one thread each); then relabels half of them."""
    ids = [it["item_id"] for it in store.items("toxicity", with_text=False)]
    barrier = threading.Barrier(annotators)
    errors: list[Any] = []

    def work(k: int) -> None:
        barrier.wait()
        for i in ids:
            code = post({"item_id": i, "annotator": f"ann{k}", "task": "toxicity", "label": (i + k) % 2 == 0})
            if code != 200:
                errors.append(code)
        for i in ids[::2]:
            code = post({"item_id": i, "annotator": f"ann{k}", "task": "toxicity", "label": "skip"})
            if code != 200:
                errors.append(code)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(annotators)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = store.labels("toxicity")
    assert len(rows) == annotators * len(ids)  # no lost label, no duplicate
    want = {
        (f"ann{k}", i): "skip" if i in set(ids[::2]) else ("true" if (i + k) % 2 == 0 else "false")
        for k in range(annotators)
        for i in ids
    }
    assert {(r["annotator"], r["item_id"]): r["label"] for r in rows} == want


def test_concurrent_annotators_over_http_lose_no_label(release: Path, tmp_path: Path) -> None:
    store = _queue(release, str(tmp_path / "q.db"))
    try:
        with live_server(create_review_app(store)) as base:
            _hammer(store, lambda body: _post(base, body))
    finally:
        store.close()


@pytest.mark.postgres
def test_concurrent_annotators_on_postgresql(release: Path, pg_url: str) -> None:
    store = _queue(release, pg_url)
    try:
        with live_server(create_review_app(store)) as base:
            _hammer(store, lambda body: _post(base, body))
        assert ReviewStore(pg_url).tasks() == ["toxicity"]  # re-opens by URL
    finally:
        store.close()
