"""The labelling page in headless Debian chromium: ten labels by keyboard, one undo, progress, context.

Every item's text and context carry hostile markup: it must show as text and
never run (``window.__pwned`` stays undefined) under the page's strict CSP.
What the page did is checked in the queue database, not just on screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import live_server
from tests.review.review_helpers import HOSTILE
from wildchat.review.app import create_review_app
from wildchat.review.sampling import Item, Sample, Stratum
from wildchat.review.store import ReviewStore

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
N = 12


def _sample() -> Sample:
    items = [
        Item(
            key=k,
            conversation_id=f"conv-{k}",
            turn=2,
            role="user",
            text=f"item {k}: {HOSTILE}",
            stratum="flagged" if k < 6 else "not_flagged",
            detectors={"toxic": k < 6},
            predictions={"toxic": k < 6},
            context=[
                {"index": 0, "role": "user", "text": f"earlier {k} {HOSTILE}"},
                {"index": 1, "role": "assistant", "text": "a reply"},
            ],
        )
        for k in range(N)
    ]
    return Sample(
        "toxicity", 0, N, "full", [Stratum("flagged", 30, 6), Stratum("not_flagged", 900, 6)], items
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, ReviewStore]]:
    store = ReviewStore(tmp_path / "q.db", create=True)
    store.add_sample(_sample(), "synthetic")
    with live_server(create_review_app(store)) as base:
        yield base, store
    store.close()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=BROWSER_ARGS)
        yield b
        b.close()


def _item_id(page: Any) -> int:
    return int(page.locator("#meta").inner_text().split()[1])


def test_label_ten_by_keyboard_undo_one_and_see_progress(
    served: tuple[str, ReviewStore], browser: Any, artifacts_dir: Path
) -> None:
    base, store = served
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base + "/")
    page.wait_for_selector("#task option[value=toxicity]", state="attached")
    page.fill("#annotator", "alice")
    page.click("#start")
    page.wait_for_selector("#card:not([hidden])")
    keys, seen = [], []
    for k in range(10):
        current = _item_id(page)
        seen.append(current)
        key = "y" if k % 2 == 0 else "n"
        keys.append(key)
        page.keyboard.press(key)
        page.wait_for_function(
            "(prev) => !document.querySelector('#meta').textContent.includes('item ' + prev + ' ')",
            arg=current,
        )
    page.wait_for_function(
        "() => document.querySelector('#progress').textContent.includes('labelled 10 / 12')"
    )
    # the text is shown as text: markup visible, nothing executed
    assert HOSTILE in page.locator("#text").inner_text()
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("#text img, #text script, #text b").count() == 0

    page.keyboard.press("u")  # back to the last labelled item
    page.wait_for_selector("#undo-note:not([hidden])")
    assert _item_id(page) == seen[-1]
    page.keyboard.press("y")  # it was "n": the new label replaces the old one
    page.wait_for_selector("#undo-note", state="hidden")
    page.wait_for_function(
        "() => document.querySelector('#progress').textContent.includes('labelled 10 / 12')"
    )

    page.keyboard.press("c")  # context on demand, also rendered as text
    page.wait_for_selector("#context:not([hidden]) li")
    assert HOSTILE in page.locator("#context").inner_text() and page.locator("#context img").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    rows = {r.text_content() for r in page.locator("#strata tbody tr").all()}
    assert any(r.startswith("flagged6") for r in rows) and any(r.startswith("not_flagged6") for r in rows)
    page.screenshot(path=str(artifacts_dir / "review_page.png"), full_page=True)

    labels = {r["item_id"]: r for r in store.labels("toxicity") if r["annotator"] == "alice"}
    assert sorted(labels) == sorted(seen)  # ten items, each once
    want = {i: ("true" if key == "y" else "false") for i, key in zip(seen, keys, strict=True)}
    want[seen[-1]] = "true"  # the undone one
    assert {i: r["label"] for i, r in labels.items()} == want
    assert labels[seen[-1]]["revisions"] == 2
    assert errors == []
    page.close()
