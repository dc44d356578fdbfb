"""End-to-end browser tests of the collection page against a real ``wildchat serve``.

A real server process (SQLite, replay backend) is started once for the module;
Debian chromium is driven with Playwright through consent, streaming, follow-up,
regenerate, stop, errors and hostile markup.  Every scenario is checked in the
page *and* in the database the server wrote.  Screenshots go to ``artifacts_dir``.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import clean_env, free_port, serve_process

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
HOSTILE = '<img src=x onerror=window.__pwned=1><script>window.__pwned=2</script> & "quotes"'

# Markdown replies, served by a replay model from a recordings file (prompt -> response).
RICH_PROMPT = "show me some markdown"
RICH_REPLY = """# Heading one

Some *emphasis*, **bold** and `inline <code>`.

- first item
- second item

1. step one
2. step two

| name | value |
|------|-------|
| alpha | 1 |
| beta | 2 |

```python
def f(x):
    return x < 3 and "<b>"
```

See [the docs](https://example.org/docs)."""
HOSTILE_PROMPT = "hostile markdown please"
HOSTILE_MD = """<img src=x onerror="window.__pwned=5"> raw html

[click me](javascript:window.__pwned=6) and [data](data:text/html,<script>window.__pwned=7</script>)
and [mixed](JaVaScRiPt:window.__pwned=8)

![beacon](BEACON/beacon.gif?from=markdown)

<script>window.__pwned=9</script>

```html
<script>window.__pwned=10</script><img src=x onerror=window.__pwned=11>
```

<a href="javascript:window.__pwned=12">raw link</a> <iframe src="javascript:window.__pwned=13"></iframe>
<svg onload=window.__pwned=14></svg> <style>body{display:none}</style>

| <img src=x onerror=window.__pwned=15> | `<script>` |
|---|---|
| [cell](javascript:window.__pwned=16) | ok |"""


@dataclass(frozen=True)
class Server:
    url: str
    db_path: Path

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Read what the server stored (read-only connection, WAL-safe)."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return list(conn.execute(sql, params))
        finally:
            conn.close()



def _hostile(port: int) -> str:
    return HOSTILE_MD.replace("BEACON", f"http://127.0.0.1:{port}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``wildchat serve --dev`` on a free loopback port with two replay models."""
    tmp = tmp_path_factory.mktemp("serve")
    port = free_port()
    db = tmp / "x.db"
    recordings = tmp / "markdown.jsonl"
    with recordings.open("w", encoding="utf-8") as fh:
        for prompt, reply in ((RICH_PROMPT, RICH_REPLY), (HOSTILE_PROMPT, _hostile(port))):
            record = {"messages": [{"role": "user", "content": prompt}], "response": reply}
            fh.write(json.dumps(record) + "\n")
    args = [
        "--dev",
        "--host", "127.0.0.1",
        "--data-dir", str(tmp / "data"),
        "--database-url", f"sqlite:///{db}",
        "--model", "echo=replay:echo?delay_ms=15",
        "--model", "slow=replay:echo?tokens=400&delay_ms=25",
        "--model", f"md=replay:{recordings}?delay_ms=5",
        "--model", f"mdslow=replay:{recordings}?delay_ms=60",
    ]  # fmt: skip
    env = clean_env(WILDCHAT_RATE_LIMIT_PER_MINUTE="600")
    with serve_process(args, tmp / "server.log", port=port, cwd=tmp, env=env, timeout=90) as served:
        yield Server(url=served.url, db_path=db)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=BROWSER_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the chat page; page errors fail the test."""
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-GB")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.set_default_timeout(15_000)
    pg.goto(server.url + "/")
    try:
        yield pg
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


# ---------------------------------------------------------------------------
# helpers (a user's actions, in the page's own words)


def give_consent(pg: Any) -> None:
    from playwright.sync_api import expect

    pg.get_by_role("button", name="I agree").click()
    dialog = pg.get_by_role("dialog")
    expect(dialog).to_be_visible()
    pg.get_by_label("I understand and confirm").check()
    dialog.get_by_role("button", name="Confirm and start chatting").click()
    expect(pg.get_by_label("Message")).to_be_visible()


def send(pg: Any, text: str) -> None:
    pg.get_by_label("Message").fill(text)
    pg.get_by_role("button", name="Send").click()


def wait_idle(pg: Any) -> None:
    """Wait until no reply is streaming and the Send button is usable again."""
    pg.wait_for_function(
        "() => !document.querySelector('.msg.streaming') && !document.getElementById('send').disabled"
    )


def bubbles(pg: Any) -> list[tuple[str, str]]:
    items = pg.locator("#messages > li")
    out = []
    for i in range(items.count()):
        item = items.nth(i)
        role = "user" if "user" in (item.get_attribute("class") or "") else "assistant"
        out.append((role, item.locator(".content").text_content()))
    return out


def consent_cookie(pg: Any) -> dict[str, Any] | None:
    cookies = [c for c in pg.context.cookies() if c["name"] == "wildchat_consent"]
    return cookies[0] if cookies else None


# ---------------------------------------------------------------------------


def test_chat_unreachable_without_consent(page: Any, server: Server, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    shown = page.request.get(server.url + "/api/consent").json()
    assert shown["consented"] is False
    # The page shows the server's consent document (paragraphs, soft line breaks joined) and version.
    expect(page.locator("#consent-version")).to_have_text(shown["version"])
    paragraphs = [p for p in shown["text"].split("\n\n") if p.strip()]
    expect(page.locator("#consent-text p")).to_have_count(len(paragraphs))
    shown_text = page.locator("#consent-text").inner_text()
    assert " ".join(shown_text.split()) == " ".join(shown["text"].split())
    expect(page.get_by_label("Message")).to_be_hidden()
    expect(page.get_by_label("Model")).to_be_hidden()
    page.screenshot(path=str(artifacts_dir / "collect_consent.png"), full_page=True)

    # The API refuses chat without the cookie, and stores nothing.
    before = len(server.rows("SELECT id FROM turns"))
    resp = page.request.post(
        server.url + "/api/chat",
        data={"conversation_id": None, "message": "hi", "model": "echo", "parent_id": None},
    )
    assert resp.status == 403
    assert resp.json()["error"] == "consent_required"
    assert len(server.rows("SELECT id FROM turns")) == before

    # "I agree" alone is not consent: the confirmation needs its checkbox, and Cancel backs out.
    page.get_by_role("button", name="I agree").click()
    confirm = page.get_by_role("button", name="Confirm and start chatting")
    expect(confirm).to_be_disabled()
    page.screenshot(path=str(artifacts_dir / "collect_confirm_dialog.png"))
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.get_by_label("Message")).to_be_hidden()
    assert consent_cookie(page) is None

    # A reload still lands on the consent screen.
    page.reload()
    expect(page.get_by_role("button", name="I agree")).to_be_visible()
    expect(page.get_by_label("Message")).to_be_hidden()

    # If the consent document cannot be loaded, nothing can be agreed to and the failure is visible.
    page.route("**/api/consent", lambda route: route.abort())
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("Network error")
    expect(page.locator("#consent-agree")).to_be_disabled()
    expect(page.get_by_label("Message")).to_be_hidden()


def test_consent_stream_followup_regenerate_and_hostile_text(
    page: Any, server: Server, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    give_consent(page)
    cookie = consent_cookie(page)
    assert cookie is not None and cookie["httpOnly"] is True
    assert "wildchat_consent" not in page.evaluate("document.cookie")
    expect(page.get_by_label("Model")).to_have_value("echo")

    send(page, "hello there friend")
    expect(page.locator(".msg.assistant .content").last).to_have_text("You said: hello there friend")
    wait_idle(page)
    page.screenshot(path=str(artifacts_dir / "collect_first_reply.png"), full_page=True)

    send(page, "second message")
    expect(page.locator(".msg.assistant .content").last).to_have_text("You said: second message")
    wait_idle(page)
    page.get_by_role("button", name="Regenerate").click()
    wait_idle(page)
    assert bubbles(page) == [
        ("user", "hello there friend"),
        ("assistant", "You said: hello there friend"),
        ("user", "second message"),
        ("assistant", "You said: second message"),
    ]

    send(page, HOSTILE)
    expect(page.locator(".msg.assistant .content").last).to_have_text(f"You said: {HOSTILE}")
    wait_idle(page)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#messages img, #messages script").count() == 0
    assert page.locator(".msg.user .content").last.text_content() == HOSTILE
    page.screenshot(path=str(artifacts_dir / "collect_chat.png"), full_page=True)

    # Narrow screen: nothing overflows sideways.
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.screenshot(path=str(artifacts_dir / "collect_chat_narrow.png"))

    # The database holds every turn, the regenerate as a sibling branch, the markup verbatim.
    users = server.rows(
        "SELECT id, parent_id, conversation_id, content FROM turns "
        "WHERE role = 'user' AND content IN (?, ?, ?) ORDER BY id",
        ("hello there friend", "second message", HOSTILE),
    )
    assert [u["content"] for u in users] == [
        "hello there friend",
        "second message",
        "second message",
        HOSTILE,
    ]
    assert len({u["conversation_id"] for u in users}) == 1
    first, second, regen, hostile = users
    assert first["parent_id"] is None
    replies = {
        r["parent_id"]: r
        for r in server.rows(
            "SELECT id, parent_id, content, finish_reason FROM turns "
            "WHERE role = 'assistant' AND conversation_id = ?",
            (first["conversation_id"],),
        )
    }
    assert set(replies) == {first["id"], second["id"], regen["id"], hostile["id"]}
    assert all(r["finish_reason"] == "stop" for r in replies.values())
    assert second["parent_id"] == regen["parent_id"] == replies[first["id"]]["id"]
    assert hostile["parent_id"] == replies[regen["id"]]["id"], (
        "follow-up must continue the regenerated branch"
    )
    assert replies[hostile["id"]]["content"] == f"You said: {HOSTILE}"

    # "New chat" empties the view and starts a new conversation at the root.
    page.get_by_role("button", name="New chat").click()
    expect(page.locator("#messages > li")).to_have_count(0)
    expect(page.get_by_role("button", name="Regenerate")).to_be_disabled()
    send(page, "a fresh start")
    expect(page.locator(".msg.assistant .content").last).to_have_text("You said: a fresh start")
    assert len(bubbles(page)) == 2
    (fresh,) = server.rows("SELECT conversation_id, parent_id FROM turns WHERE content = 'a fresh start'")
    assert fresh["parent_id"] is None and fresh["conversation_id"] != first["conversation_id"]


def test_reply_streams_and_stop_is_stored_as_client_disconnect(page: Any, server: Server) -> None:
    from playwright.sync_api import expect

    give_consent(page)
    page.get_by_label("Model").select_option("slow")  # 400 words, 25 ms apart
    send(page, "tell me a long story")
    reply = page.locator(".msg.assistant").last
    expect(reply.locator(".content")).to_contain_text("You said:")
    # The reply is shown while it streams, and keeps growing.
    expect(reply).to_have_class(re.compile(r"\bstreaming\b"))
    first = len(reply.locator(".content").text_content())
    page.wait_for_function(
        "n => document.querySelector('.msg.assistant:last-child .content').textContent.length > n", arg=first
    )
    expect(reply).to_have_class(re.compile(r"\bstreaming\b"))
    page.get_by_role("button", name="Stop").click()
    wait_idle(page)
    expect(page.locator(".msg.assistant .note").last).to_have_text("Stopped.")

    def stored() -> list[sqlite3.Row]:
        return server.rows(
            "SELECT a.finish_reason, a.content FROM turns a JOIN turns u ON a.parent_id = u.id "
            "WHERE u.content = 'tell me a long story' AND a.role = 'assistant'"
        )

    deadline = time.monotonic() + 10
    while not stored() and time.monotonic() < deadline:
        time.sleep(0.1)
    (row,) = stored()
    assert row["finish_reason"] == "client_disconnect"
    assert 0 < len(row["content"].split()) < 400


def test_errors_are_shown_and_403_returns_to_consent(page: Any, server: Server, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    give_consent(page)
    # A model the server does not know: a 400 JSON error, shown in the banner; the text comes back.
    page.evaluate(
        """() => { const o = document.createElement('option'); o.value = o.textContent = 'nope';
        document.getElementById('model-select').append(o); }"""
    )
    page.get_by_label("Model").select_option("nope")
    send(page, "to an unknown model")
    banner = page.get_by_role("alert")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("unknown model")
    expect(page.get_by_label("Message")).to_have_value("to an unknown model")
    assert page.locator("#messages > li").count() == 0
    page.screenshot(path=str(artifacts_dir / "collect_error.png"), full_page=True)
    page.get_by_role("button", name="Dismiss error").click()
    expect(banner).to_be_hidden()

    # Consent gone (cookie cleared) mid-conversation: the next send lands on the consent screen.
    page.get_by_label("Model").select_option("echo")
    send(page, "before losing consent")
    expect(page.locator(".msg.assistant .content").last).to_have_text("You said: before losing consent")
    wait_idle(page)
    page.context.clear_cookies()
    send(page, "after losing consent")
    expect(page.get_by_role("button", name="I agree")).to_be_visible()
    expect(page.get_by_label("Message")).to_be_hidden()
    expect(banner).to_contain_text("consent")
    assert server.rows("SELECT id FROM turns WHERE content = 'after losing consent'") == []

    # Agreeing again brings the chat back, as a new conversation owned by the new consent.
    give_consent(page)
    send(page, "back again")
    expect(page.locator(".msg.assistant .content").last).to_have_text("You said: back again")
    wait_idle(page)
    assert bubbles(page) == [("user", "back again"), ("assistant", "You said: back again")]
    before, after = (
        server.rows("SELECT conversation_id, parent_id FROM turns WHERE content = ?", (text,))[0]
        for text in ("before losing consent", "back again")
    )
    assert after["parent_id"] is None
    assert after["conversation_id"] != before["conversation_id"]


# ---------------------------------------------------------------------------
# Markdown replies


def test_markdown_reply_renders_code_block_list_and_table(
    page: Any, server: Server, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    give_consent(page)
    page.get_by_label("Model").select_option("md")
    send(page, RICH_PROMPT)
    wait_idle(page)
    reply = page.locator(".msg.assistant .content").last
    expect(reply.locator("h1")).to_have_text("Heading one")
    expect(reply.locator("em")).to_have_text("emphasis")
    expect(reply.locator("strong")).to_have_text("bold")
    expect(reply.locator("p code")).to_have_text("inline <code>")  # inline code, its markup shown as text
    expect(reply.locator("ul > li")).to_have_text(["first item", "second item"])
    expect(reply.locator("ol > li")).to_have_text(["step one", "step two"])
    expect(reply.locator("table th")).to_have_text(["name", "value"])
    expect(reply.locator("table tbody tr")).to_have_count(2)
    expect(reply.locator("table tbody td")).to_have_text(["alpha", "1", "beta", "2"])
    code = reply.locator(".code-block pre code")
    expect(code).to_have_count(1)
    assert code.text_content() == 'def f(x):\n    return x < 3 and "<b>"\n'
    assert "monospace" in code.evaluate("e => getComputedStyle(e).fontFamily")
    expect(reply.locator(".code-block .code-lang")).to_have_text("python")
    link = reply.locator("a", has_text="the docs")
    assert link.get_attribute("href") == "https://example.org/docs"
    assert link.get_attribute("target") == "_blank" and "noopener" in (link.get_attribute("rel") or "")
    copy = reply.get_by_role("button", name="Copy python code")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == code.text_content()
    page.screenshot(path=str(artifacts_dir / "collect_markdown.png"), full_page=True)
    # the database keeps the Markdown source, verbatim
    (row,) = server.rows(
        "SELECT a.content FROM turns a JOIN turns u ON a.parent_id = u.id WHERE u.content = ? "
        "AND a.role = 'assistant' ORDER BY a.id DESC LIMIT 1",
        (RICH_PROMPT,),
    )
    assert row["content"] == RICH_REPLY
    # narrow screen: the table and the code block scroll inside the bubble, the page does not
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_markdown_renders_while_streaming(page: Any) -> None:
    give_consent(page)
    page.get_by_label("Model").select_option("mdslow")  # ~60 pieces, 60 ms apart
    send(page, RICH_PROMPT)
    # the list is already formatted while the reply is still streaming
    page.wait_for_selector(".msg.assistant.streaming .content.md ul > li")
    assert page.locator(".msg.assistant.streaming").count() == 1
    wait_idle(page)
    reply = page.locator(".msg.assistant .content").last
    assert reply.locator("table tbody tr").count() == 2 and reply.locator(".code-block").count() == 1


def test_hostile_markdown_stays_inert(page: Any, server: Server, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    give_consent(page)
    page.get_by_label("Model").select_option("md")
    send(page, HOSTILE_PROMPT)
    wait_idle(page)
    reply = page.locator(".msg.assistant .content").last
    expect(reply).to_contain_text("raw html")
    page.wait_for_timeout(300)  # give any injected handler or beacon a chance to fire
    assert page.evaluate("window.__pwned") is None
    active = "#messages img, #messages script, #messages iframe, #messages svg, #messages style"
    assert page.locator(active).count() == 0
    has_handlers = page.evaluate(
        """() => [...document.querySelectorAll('#messages *')].some(
             e => [...e.attributes].some(a => a.name.startsWith('on') || a.name === 'style'))"""
    )
    assert has_handlers is False
    hrefs = page.evaluate(
        "() => [...document.querySelectorAll('#messages a')].map(a => a.getAttribute('href'))"
    )
    assert hrefs and all(h.startswith(("http://", "https://", "mailto:")) for h in hrefs), hrefs
    assert not any("beacon" in url for url in requested)  # the image became a link; nothing was fetched
    # what is shown instead: the markup as text, the code block verbatim, the image as a plain link
    expect(reply).to_contain_text('<img src=x onerror="window.__pwned=5">')
    expect(reply).to_contain_text("<script>window.__pwned=9</script>")
    expect(reply.locator(".code-block code")).to_have_text(
        "<script>window.__pwned=10</script><img src=x onerror=window.__pwned=11>\n"
    )
    expect(reply.locator(".code-block .code-lang")).to_have_text("html")
    beacon = reply.locator("a", has_text="beacon")
    assert (beacon.get_attribute("href") or "").endswith("/beacon.gif?from=markdown")
    expect(reply.locator("table th").first).to_have_text("<img src=x onerror=window.__pwned=15>")
    expect(reply.locator("table td").first).to_have_text("[cell](javascript:window.__pwned=16)")
    page.screenshot(path=str(artifacts_dir / "collect_markdown_hostile.png"), full_page=True)
