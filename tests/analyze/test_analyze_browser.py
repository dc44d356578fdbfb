"""report.html renders in headless Chromium with no network request at all."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.analyze.analyze_helpers import batch, month
from tests.builders.conversations import conversation as conv
from wildchat.cli.main import app
from wildchat.schema import DetoxifyScores, Moderation, Turn

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

PROMPTS = [
    "Write a poem about the sea",
    "How do I sort a list in Python?",
    "你好，请介绍一下你自己",
    "Расскажи анекдот",
    "Explain quantum computing simply",
    "<b>not bold</b> & friends",
]


def _conversations(n: int, seed: int, toxic: bool) -> list:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        turns, mods, dets = [], [], []
        for _ in range(rng.choice([1, 1, 2, 3])):
            flag = toxic and rng.random() < 0.3
            jb = "DAN" if toxic and rng.random() < 0.1 else None
            turns.append(
                Turn(
                    content=rng.choice(PROMPTS),
                    role="user",
                    toxic=flag,
                    jailbreak_match=jb,
                    hashed_ip=f"u{rng.randrange(8)}",
                )
            )
            turns.append(
                Turn(content="Sure! " * rng.randrange(1, 60), role="assistant", toxic=flag and jb is not None)
            )
            mods += [Moderation(flagged=flag, categories={"harassment": flag}), Moderation(flagged=False)]
            dets += [DetoxifyScores(toxicity=0.5 if flag else 0.01), DetoxifyScores(toxicity=0.01)]
        out.append(
            conv(
                turns,
                model=rng.choice(["gpt-4", "gpt-3.5-turbo"]),
                timestamp=month(2023, 4 + i % 6),
                language=rng.choice(["English", "Chinese", "Russian"]),
                openai_moderation=mods if toxic else None,
                detoxify_moderation=dets if toxic else None,
            )
        )
    return out


def test_report_renders_offline_in_chromium(tmp_path: Path, chromium_path: str, artifacts_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    a, b = tmp_path / "wild.parquet", tmp_path / "plain.parquet"
    pq.write_table(pa.Table.from_batches([batch(_conversations(60, 1, True))]), a)
    pq.write_table(pa.Table.from_batches([batch(_conversations(25, 2, False))]), b)
    out = tmp_path / "r"
    result = CliRunner().invoke(app, ["analyze", str(a), str(b), "--out", str(out), "--embed-sample", "20"])
    assert result.exit_code == 0, result.output
    requests: list[str] = []
    failed: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto((out / "report.html").as_uri())
        page.wait_for_load_state("load")
        assert page.locator("h1").inner_text() == "Chat dataset analysis"
        assert page.locator("table").first.is_visible()
        header = page.locator("table").first.locator("th").all_inner_texts()
        assert header == ["Dataset", "#Convs", "#Users", "#Turns", "#User Tok", "#Chatbot Tok", "#Langs"]
        assert page.locator("table").first.locator("tbody tr").count() == 2
        titles = page.locator("figure h3").all_inner_texts()
        assert {
            "Conversation depth",
            "Toxicity per month",
            "Detector overlap",
            "Embedding map of user prompts",
        } <= set(titles)
        widths = page.eval_on_selector_all("figure img", "els => els.map(e => e.naturalWidth)")
        assert widths and all(w > 100 for w in widths)  # every embedded figure decoded
        page.screenshot(path=str(artifacts_dir / "analyze_report.png"), full_page=True)
        browser.close()
    assert not failed
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    html = (out / "report.html").read_text()
    assert "<b>not bold</b>" not in html
