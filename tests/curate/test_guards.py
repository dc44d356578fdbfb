"""Publication guards: no public/ without PII redaction unless asked, counts-only card and stats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.builders.conversations import Logs
from tests.curate.curate_helpers import read_full
from wildchat.cli.main import app
from wildchat.curate.stages.clean import first_user_hash

runner = CliRunner()
NO_PII = 'pipeline.stages=["consent","roles","empty","privacy"]'


def test_no_pii_stage_is_refused_and_nothing_is_written(logs: Logs, tmp_path: Path) -> None:
    logs.add(["write to jane.doe@example.com"], "ok")
    src = logs.write(tmp_path / "logs.jsonl")
    out = tmp_path / "R"
    res = runner.invoke(app, ["curate", str(src), "--out", str(out), "--set", NO_PII])
    assert res.exit_code == 2, res.output
    assert "--allow-unredacted" in res.output and "'pii'" in res.output
    assert not out.exists() and not (tmp_path / "R.ip-key").exists()  # nothing written, not even a key


def test_allow_unredacted_writes_a_release_that_says_so(logs: Logs, tmp_path: Path) -> None:
    logs.add(["write to jane.doe@example.com"], "ok")
    src = logs.write(tmp_path / "logs.jsonl")
    out = tmp_path / "R"
    res = runner.invoke(
        app, ["curate", str(src), "--out", str(out), "--set", NO_PII, "--allow-unredacted", "--workers", "1"]
    )
    assert res.exit_code == 0, res.output
    assert len(read_full(out, "public")) == 1
    card = (out / "README.md").read_text().splitlines()
    assert any("NOT PII-redacted" in line for line in card[:3])  # inside the YAML header, as a comment
    body = [line for line in card[card.index("---", 1) + 1 :] if line.strip()]
    assert "NOT PII-redacted" in body[0]  # and the first line of the card's text
    stats_lines = (out / "stats.json").read_text().splitlines()
    assert "NOT PII-redacted" in stats_lines[1]  # the first key
    stats = json.loads("\n".join(stats_lines))
    assert stats["pii_redacted"] is False and next(iter(stats)) == "notice"


def test_missing_privacy_stage_is_refused_too(logs: Logs, tmp_path: Path) -> None:
    logs.add(["q"], "a")
    src = logs.write(tmp_path / "logs.jsonl")
    res = runner.invoke(
        app, ["curate", str(src), "--out", str(tmp_path / "R"), "--set", 'pipeline.stages=["consent","pii"]']
    )
    assert res.exit_code == 2 and "'privacy'" in res.output and "--allow-unredacted" in res.output


def test_card_and_stats_publish_counts_not_lists(logs: Logs, tmp_path: Path, curate: Any) -> None:
    logs.add(["the held out prompt"], "a", ip="203.0.113.1")
    logs.add(["ordinary"], "b", ip="203.0.113.2", ua="DevBot/7 internal")
    logs.add(["xyzzy-dev-marker please"], "c", ip="203.0.113.3")
    logs.add(["kept"], "d", ip="203.0.113.4")
    secret_hash = first_user_hash("the held out prompt")
    holdout_file = tmp_path / "private" / "holdout-ids.txt"
    holdout_file.parent.mkdir()
    holdout_file.write_text("no-such-id\n")
    res = curate(
        [logs.write(tmp_path / "in.jsonl")],
        sets=[
            f'holdout.first_user_hashes=["{secret_hash}"]',
            f'holdout.conversation_ids_file="{holdout_file}"',
            'dev_accounts.patterns=["xyzzy-dev-marker"]',
            'dev_accounts.user_agents=["DevBot/7"]',
            'dev_accounts.ip_hashes=["0123456789abcdef0123456789abcdef"]',
        ],
    )
    assert [r["conversation"][0]["content"] for r in read_full(res.out)] == ["kept"]
    by = {s["name"]: s for s in res.stats["stages"]}
    assert by["holdout"]["dropped"] == {"holdout": 1} and by["dev_accounts"]["dropped"] == {"dev_account": 2}
    assert by["holdout"]["config"]["first_user_hashes"] == "<1 values>"
    assert by["dev_accounts"]["config"]["patterns"] == "<1 values>"
    for published in ("stats.json", "README.md"):
        text = (res.out / published).read_text()
        for leaked in (secret_hash, "xyzzy", "DevBot", "0123456789abcdef", str(tmp_path), "holdout-ids"):
            assert leaked not in text, (published, leaked)
        assert '"examples"' not in text


@pytest.mark.slow
def test_pii_stage_scans_system_turns_and_user_agents(logs: Logs, tmp_path: Path, curate: Any) -> None:
    pytest.importorskip("presidio_analyzer")
    chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    chrome += "Chrome/120.0.0.0 Safari/537.36"
    row = logs.add(
        ["what is my mail?"], "no idea", ip="203.0.113.1", ua="MyClient/1.0 (ops.team@acme-robotics.io)"
    )
    row["messages"].insert(0, {"role": "system", "content": "The user is reachable at jane.roe@posteo.net."})
    logs.add(["plain"], "text", ip="203.0.113.2", ua=chrome)
    res = curate(
        [logs.write(tmp_path / "in.jsonl")],
        sets=['pipeline.stages=["consent","roles","empty","privacy","pii"]', "pii.ner=false"],
        allow_unredacted=False,
    )
    rows = read_full(res.out)
    first = rows[0]
    system = first["conversation"][0]
    assert system["role"] == "system" and "jane.roe@posteo.net" not in system["content"]
    assert system["redacted"] is True and "EMAIL" in system["content"]
    agents = [first["header"]["user-agent"]] + [
        t["header"]["user-agent"] for t in first["conversation"] if t["header"]
    ]
    assert agents and all("ops.team@acme-robotics.io" not in a for a in agents)
    assert all(a.startswith("MyClient/1.0") for a in agents)
    assert rows[1]["header"]["user-agent"] == chrome  # version numbers are not IP addresses
    counters = {s["name"]: s["counters"] for s in res.stats["stages"]}["pii"]
    assert counters["headers_redacted"] >= 2 and counters["headers_scanned"] >= 2
