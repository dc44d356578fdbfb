"""'Use from another app' in Chromium: create a key, copy it, use it on /v1, revoke it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import serve_process

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    args = ["--dev", "--database-url", f"sqlite:///{tmp_path / 'x.db'}", "--data-dir", str(tmp_path / "data"),
            "--model", "echo=replay"]  # fmt: skip
    with serve_process(args, tmp_path / "server.log", cwd=tmp_path, timeout=90) as served:
        yield served.url


def test_keys_panel_creates_copies_and_revokes(chromium_path: str, server: str, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=BROWSER_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-GB")
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.set_default_timeout(15_000)
        pg.goto(server + "/")
        pg.get_by_role("button", name="I agree").click()
        pg.get_by_label("I understand and confirm").check()
        pg.get_by_role("button", name="Confirm and start chatting").click()
        pg.get_by_role("button", name="My conversations").click()
        expect(pg.locator("#keys-base")).to_have_text(server + "/v1")
        pg.get_by_role("button", name="Create API key").click()
        key_box = pg.get_by_label("Your new key")
        expect(key_box).to_have_value(re.compile(r"^wc-[0-9a-f]{12}-"))
        key: str = key_box.input_value()
        pg.get_by_role("button", name="Copy").click()
        expect(pg.locator("#keys-status")).to_have_text(re.compile(r"Copied|copy it"))
        items = pg.locator("#keys-list > li")
        expect(items).to_have_count(1)
        expect(items.first).to_contain_text(key[: len("wc-") + 12])
        assert key not in pg.locator("#keys-list").inner_text()
        pg.screenshot(path=str(artifacts_dir / "collect_gateway_keys.png"), full_page=True)
        auth = {"Authorization": f"Bearer {key}"}
        assert httpx.get(server + "/v1/models", headers=auth).status_code == 200
        items.first.get_by_role("button", name="Revoke").click()
        expect(items.first).to_contain_text("revoked")
        assert httpx.get(server + "/v1/models", headers=auth).status_code == 401
        browser.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
