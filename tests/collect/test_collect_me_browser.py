"""'My conversations' in Chromium: list, reopen and continue, delete (asked twice), withdraw (confirmed).

A real ``wildchat serve --dev`` (SQLite, replay echo model); every step is
checked in the page and in the database the server wrote.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import clean_env, serve_process

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@dataclass(frozen=True)
class Server:
    url: str
    db_path: Path

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return list(conn.execute(sql, params))
        finally:
            conn.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("serve-me")
    db = tmp / "x.db"
    args = ["--dev", "--database-url", f"sqlite:///{db}", "--data-dir", str(tmp / "data"),
            "--model", "echo=replay:echo?delay_ms=5"]  # fmt: skip
    env = clean_env(WILDCHAT_RATE_LIMIT_PER_MINUTE="600")
    with serve_process(args, tmp / "server.log", cwd=tmp, env=env, timeout=90) as served:
        yield Server(served.url, db)


@pytest.fixture
def page(chromium_path: str, server: Server) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=BROWSER_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-GB")
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.set_default_timeout(15_000)
        pg.goto(server.url + "/")
        try:
            yield pg
        finally:
            browser.close()
        assert not errors, f"JavaScript errors on the page: {errors}"


def _consent(pg: Any) -> None:
    from playwright.sync_api import expect

    pg.get_by_role("button", name="I agree").click()
    pg.get_by_label("I understand and confirm").check()
    pg.get_by_role("button", name="Confirm and start chatting").click()
    expect(pg.get_by_label("Message")).to_be_visible()


def _send(pg: Any, text: str) -> None:
    pg.get_by_label("Message").fill(text)
    pg.get_by_role("button", name="Send").click()
    pg.wait_for_function(
        "() => !document.querySelector('.msg.streaming') && !document.getElementById('send').disabled"
    )


def test_my_conversations_reopen_delete_withdraw(page: Any, server: Server, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    pg = page
    consent_text = pg.locator("#consent-text").inner_text()
    assert "My conversations" in consent_text and "Withdraw consent" in consent_text
    _consent(pg)
    _send(pg, "first browser chat about owls")
    pg.get_by_role("button", name="New chat").click()
    _send(pg, "second browser chat about bees")

    pg.get_by_role("button", name="My conversations").click()
    items = pg.locator("#me-list > li")
    expect(items).to_have_count(2)
    expect(items.nth(0).locator(".me-title")).to_have_text("second browser chat about bees")
    expect(items.nth(1).locator(".me-title")).to_have_text("first browser chat about owls")
    expect(pg.get_by_label("Message")).to_be_hidden()
    pg.screenshot(path=str(artifacts_dir / "collect_my_conversations.png"), full_page=True)

    # reopen the older one and continue it: the new message follows its last reply
    items.nth(1).get_by_role("button", name="Open").click()
    expect(pg.locator("#messages > li")).to_have_count(2)
    expect(pg.locator("#messages > li.user .content")).to_have_text(["first browser chat about owls"])
    _send(pg, "continued after reopening")
    (first,) = server.rows(
        "SELECT conversation_id, id FROM turns WHERE content = ?", ("first browser chat about owls",)
    )
    (cont,) = server.rows(
        "SELECT t.conversation_id, p.role, p.parent_id FROM turns t JOIN turns p ON p.id = t.parent_id "
        "WHERE t.content = ?",
        ("continued after reopening",),
    )
    assert cont["conversation_id"] == first["conversation_id"]
    assert cont["role"] == "assistant" and cont["parent_id"] == first["id"]

    # delete the other one: the first click only arms the button
    pg.get_by_role("button", name="My conversations").click()
    expect(items).to_have_count(2)
    bees = items.filter(has_text="bees")
    bees.get_by_role("button", name="Delete").click()
    expect(bees.get_by_role("button", name="Really delete?")).to_be_visible()
    assert server.rows("SELECT id FROM turns WHERE content LIKE '%bees%'")
    bees.get_by_role("button", name="Really delete?").click()
    expect(items).to_have_count(1)
    expect(pg.locator("#me-status")).to_have_text("Conversation deleted.")
    assert server.rows("SELECT id FROM turns WHERE content LIKE '%bees%'") == []
    assert len(server.rows("SELECT id FROM takedown_ledger")) == 1

    # withdraw: a confirmation step, then everything is gone and the consent screen is back
    pg.get_by_role("button", name="Withdraw consent…").click()
    dialog = pg.get_by_role("dialog", name="Withdraw your consent?")
    expect(dialog).to_be_visible()
    submit = dialog.get_by_role("button", name="Withdraw and delete everything")
    expect(submit).to_be_disabled()
    dialog.get_by_role("button", name="Cancel").click()
    assert len(server.rows("SELECT id FROM turns")) == 4  # cancelled: nothing deleted
    pg.get_by_role("button", name="Withdraw consent…").click()
    dialog.get_by_label("I understand that all my conversations will be deleted.").check()
    submit.click()
    expect(pg.get_by_role("button", name="I agree")).to_be_visible()
    expect(pg.locator("#error-text")).to_contain_text("withdrew your consent")
    assert server.rows("SELECT id FROM turns") == []
    (row,) = server.rows("SELECT withdrawn_at, hashed_ip FROM consents")
    assert row["withdrawn_at"] is not None and row["hashed_ip"] is None
    assert not [c for c in pg.context.cookies() if c["name"] == "wildchat_consent"]
    pg.screenshot(path=str(artifacts_dir / "collect_withdrawn.png"), full_page=True)
