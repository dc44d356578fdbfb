"""The explorer page end to end in headless Debian chromium, on SQLite and PostgreSQL.

A real index (built by ``build_index``, SQLite with the real MiniLM map) is
served by uvicorn in a thread; Playwright drives the page through search,
filters, a conversation, a user, the map and permalink reloads.  Hostile
markup in a conversation must show up as text everywhere and never run.
Screenshots of every view go to ``artifacts_dir``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.explore.explore_web_helpers import (
    ALPHA_N,
    ALPHA_VOLCANO,
    BETA_N,
    BETA_VOLCANO,
    HOSTILE,
    HOSTILE_IP,
    alpha_id,
    alpha_ip,
    build_test_index,
)
from tests.live_server import live_server
from wildchat.explore.app import create_explore_app
from wildchat.explore.index import open_index
from wildchat.explore.settings import load_explore_settings

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
#: Count of canvas pixels with alpha above a threshold (reads the real drawing).
PIXELS_JS = """(minAlpha) => {
  const c = document.getElementById('map-canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > minAlpha) n++;
  return n;
}"""
#: CSS-pixel position (relative to the canvas) of the first pixel with alpha above a threshold.
FIRST_PIXEL_JS = """(minAlpha) => {
  const c = document.getElementById('map-canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const dpr = c.width / c.clientWidth;
  for (let i = 3; i < d.length; i += 4) if (d[i] > minAlpha) {
    const p = (i - 3) / 4;
    return [(p % c.width) / dpr + 1, Math.floor(p / c.width) / dpr + 1];
  }
  return null;
}"""


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=BROWSER_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("explore_browser")
    url = f"sqlite:///{tmp / 'index.db'}"
    build_test_index(tmp, url, map=True)
    index = open_index(url)
    with live_server(create_explore_app(index, load_explore_settings())) as base:
        yield base
    index.close()


def _page(browser: Any) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.errors = errors
    return page


def _go(page: Any, url: str, view: str) -> None:
    _act(page, view, page.goto, url)


def _act(page: Any, view: str, action: Any, *args: Any) -> None:
    """Run ``action`` (a click, a reload ...) and wait until the page rendered ``view`` anew.

    The page stamps ``data-gen`` (a render counter) and ``data-ready`` once a
    route is fully rendered, so waiting for a *new* stamp cannot see the
    previous view's.
    """
    before = page.get_attribute("body", "data-gen") or ""
    action(*args)
    page.wait_for_selector(f'body[data-ready={view}]:not([data-gen="{before}"])')


def _walkthrough(page: Any, base: str, shots: Path, tag: str) -> None:
    """Search, filter, open a conversation and its user, reload permalinks."""
    _go(page, base + "/", "search")
    page.fill("#q", "volcano")
    _act(page, "search", page.click, "#search-button")
    assert page.url.endswith("#/search?q=volcano")
    total = len(ALPHA_VOLCANO) + len(BETA_VOLCANO)
    assert page.inner_text("#search-status").startswith(f"{total} conversations")
    assert page.locator("#results li.hit").count() == total
    marks = page.locator("#results mark").all_inner_texts()
    assert marks and all(m.lower() == "volcano" for m in marks)
    page.screenshot(path=str(shots / f"explore_{tag}_search.png"), full_page=True)
    # filter by dataset (from /api/datasets): beta has no geo, so the country filter greys out
    page.select_option("#f-dataset", "beta")
    assert page.is_disabled("#f-country") and page.is_disabled("#f-hashed_ip")
    assert not page.is_disabled("#f-model")
    _act(page, "search", page.click, "#search-button")
    assert "dataset=beta" in page.url
    assert page.locator("#results li.hit").count() == len(BETA_VOLCANO)
    page.select_option("#f-dataset", "alpha")
    assert not page.is_disabled("#f-country")
    page.select_option("#f-country", "United States")
    _act(page, "search", page.click, "#search-button")
    us = [i for i in ALPHA_VOLCANO if i % 4 == 0]
    assert page.locator("#results li.hit").count() == len(us)
    # permalink reload restores the query, the filters and the results
    _act(page, "search", page.reload)
    assert page.input_value("#q") == "volcano"
    assert page.input_value("#f-dataset") == "alpha" and page.input_value("#f-country") == "United States"
    assert page.locator("#results li.hit").count() == len(us)
    # open a conversation, then its user
    first = page.locator("#results li.hit a.open").first
    cid = first.inner_text()
    _act(page, "conversation", first.click)
    assert f"#/c/{cid}" in page.url
    assert page.locator("#turns article.turn").count() >= 2
    assert page.locator("#turns .turn-head .role").first.inner_text().lower() == "user"
    i = int(cid.split("-")[1])
    if i % 5 == 0:  # redacted conversation: the marker is shown as such
        assert page.locator("#turns .redaction").first.inner_text() == "<PRESIDIO_ANONYMIZED_PERSON>"
    page.screenshot(path=str(shots / f"explore_{tag}_conversation.png"), full_page=True)
    _act(page, "user", page.click, "#conversation-meta a.user-link")
    expected = [alpha_id(k) for k in range(ALPHA_N) if alpha_ip(k) == alpha_ip(i)]
    assert page.locator("#user-results a.open").all_inner_texts() == expected
    assert page.locator("#timeline svg rect.tick").count() == len(expected)
    page.screenshot(path=str(shots / f"explore_{tag}_user.png"), full_page=True)
    _act(page, "user", page.reload)
    assert page.locator("#user-results li.hit").count() == len(expected)
    _act(page, "conversation", page.go_back)
    assert page.url.endswith(f"#/c/{cid}")
    # a toxic conversation shows its flag and top moderation category
    _go(page, f"{base}/#/c/{alpha_id(7)}", "conversation")
    assert page.locator("#turns article.turn.toxic").count() == 1
    assert "harassment 0.91" in page.locator("#turns .turn-head").first.inner_text()


def _map_checks(page: Any, base: str, shots: Path, tag: str) -> None:
    _go(page, f"{base}/#/map?q=volcano", "map")
    status = page.inner_text("#map-status")
    total = len(ALPHA_VOLCANO) + len(BETA_VOLCANO)
    assert status.startswith(f"{total} of "), status
    assert page.evaluate(PIXELS_JS, 200) > 0  # hits drawn in full colour
    assert page.evaluate(PIXELS_JS, 20) > page.evaluate(PIXELS_JS, 200)  # the others dimmed
    assert page.locator("#map-legend li").count() >= 2  # both datasets
    page.screenshot(path=str(shots / f"explore_{tag}_map.png"), full_page=True)
    # hover a highlighted point: its first user turn is fetched on demand
    x, y = page.evaluate(FIRST_PIXEL_JS, 200)
    box = page.locator("#map-canvas").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    page.wait_for_selector("#map-tooltip:not([hidden])")
    page.wait_for_function("() => !document.getElementById('map-tooltip').textContent.startsWith('…')")
    assert "volcano" in page.inner_text("#map-tooltip").lower()
    _act(page, "conversation", page.mouse.click, box["x"] + x, box["y"] + y)
    assert "volcano" in page.locator("#turns .turn-body").first.inner_text().lower()
    # colour by language: permalink and legend follow
    _go(page, f"{base}/#/map?color=language", "map")
    assert page.input_value("#map-color") == "language"
    assert "Chinese" in page.inner_text("#map-legend")


def test_sqlite_walkthrough(browser: Any, sqlite_server: str, artifacts_dir: Path) -> None:
    page = _page(browser)
    _walkthrough(page, sqlite_server, artifacts_dir, "sqlite")
    _map_checks(page, sqlite_server, artifacts_dir, "sqlite")
    assert not page.errors, page.errors
    page.close()


def test_paging_phrase_and_dates(browser: Any, sqlite_server: str) -> None:
    page = _page(browser)
    _go(page, f"{sqlite_server}/#/search", "search")
    assert page.inner_text("#search-status").startswith(f"{ALPHA_N + BETA_N} conversations")
    assert page.locator("#results li.hit").count() == 20
    before = page.locator("#results li.hit").count()
    page.click("#more")
    page.wait_for_function("(n) => document.querySelectorAll('#results li.hit').length !== n", arg=before)
    page.wait_for_selector("#more", state="hidden")
    ids = page.locator("#results a.open").all_inner_texts()
    assert len(ids) == len(set(ids)) == ALPHA_N + BETA_N
    # exact phrase from a permalink: the checkbox is restored, word order matters
    _go(page, f"{sqlite_server}/#/search?q=computing%20quantum&phrase=1", "search")
    assert page.is_checked("#phrase") and page.locator("#results li.hit").count() == 0
    page.uncheck("#phrase")
    _act(page, "search", page.click, "#search-button")
    assert page.url.endswith("#/search?q=computing+quantum")
    assert page.locator("#results li.hit").count() == 4
    # date range and turn range through the form
    _act(page, "search", page.click, "#reset-button")
    assert page.input_value("#q") == "" and not page.is_checked("#phrase")
    page.fill("#f-since", "2024-01-05")
    page.fill("#f-until", "2024-01-10")
    page.fill("#f-min_turns", "2")
    _act(page, "search", page.click, "#search-button")
    assert "since=2024-01-05" in page.url and "until=2024-01-10" in page.url
    got = sorted(page.locator("#results a.open").all_inner_texts())
    assert got == [alpha_id(i) for i in range(4, 10) if 1 + i % 3 >= 2]
    assert not page.errors, page.errors
    page.close()


def test_hostile_markup_stays_text(browser: Any, sqlite_server: str, artifacts_dir: Path) -> None:
    page = _page(browser)
    _go(page, f"{sqlite_server}/#/search?q=xsstoken", "search")
    assert page.locator("#results li.hit").count() == 1
    snippet = page.inner_text("#results .snippet")
    assert "<script>window.__pwned=1</script>" in snippet and "onerror=" in snippet
    assert page.locator("#results img, #results script").count() == 0
    _go(page, f"{sqlite_server}/#/c/{alpha_id(ALPHA_N - 1)}", "conversation")
    bodies = page.locator("#turns .turn-body").all_inner_texts()
    assert sum(b == HOSTILE for b in bodies) == 4  # first user turn + three answers, verbatim
    assert page.locator("#turns img, #turns script").count() == 0
    page.screenshot(path=str(artifacts_dir / "explore_hostile_conversation.png"), full_page=True)
    _go(page, f"{sqlite_server}/#/u/{HOSTILE_IP}", "user")
    assert "<img src=x" in page.inner_text("#user-results")
    _go(page, f"{sqlite_server}/#/map?q=xsstoken", "map")
    x, y = page.evaluate(FIRST_PIXEL_JS, 200)
    box = page.locator("#map-canvas").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    page.wait_for_function("() => document.getElementById('map-tooltip').textContent.includes('xsstoken')")
    assert "<script>window.__pwned=1</script>" in page.inner_text("#map-tooltip")
    # the markup in a hash parameter is not executed either
    _go(page, f"{sqlite_server}/#/search?q=%3Cimg%20src%3Dx%20onerror%3Dwindow.__pwned%3D1%3E", "search")
    assert page.input_value("#q") == "<img src=x onerror=window.__pwned=1>"
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert not [e for e in page.errors if "pwned" in e]
    page.close()


def test_errors_are_shown_not_thrown(browser: Any, sqlite_server: str) -> None:
    page = _page(browser)
    _go(page, f"{sqlite_server}/#/c/no-such-conversation", "conversation")
    assert page.is_visible("#error") and page.inner_text("#error")
    _go(page, f"{sqlite_server}/#/search?since=not-a-date", "search")
    assert "since" in page.inner_text("#error")
    page.close()


@pytest.mark.postgres
def test_postgres_walkthrough(browser: Any, pg_url: str, tmp_path: Path, artifacts_dir: Path) -> None:
    build_test_index(tmp_path, pg_url, map=True)
    index = open_index(pg_url)
    try:
        with live_server(create_explore_app(index, load_explore_settings())) as base:
            page = _page(browser)
            _walkthrough(page, base, artifacts_dir, "postgres")
            _map_checks(page, base, artifacts_dir, "postgres")
            assert not page.errors, page.errors
            page.close()
    finally:
        index.close()
