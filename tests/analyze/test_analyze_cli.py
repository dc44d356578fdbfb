"""`wildchat analyze` end to end on small hand-made inputs (no embedding map)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.analyze.analyze_helpers import batch, month
from tests.builders.conversations import conversation as conv
from wildchat.cli.main import app
from wildchat.schema import Turn


def _parquet(path: Path, convs: list) -> Path:
    pq.write_table(pa.Table.from_batches([batch(convs)]), path)
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["analyze", *args])
    return result.exit_code, result.output


def test_tables_stats_and_report_by_hand(tmp_path: Path) -> None:
    # "hello world" is 2 cl100k tokens, "hi" is 1.
    a = _parquet(
        tmp_path / "alpha.parquet",
        [
            conv(
                [("user", "hello world"), ("assistant", "hi")], hashed_ip="h1", language="English", model="m"
            ),
            conv(
                [("user", "hello world"), ("assistant", "hi"), ("user", "hi"), ("assistant", "hello world")],
                hashed_ip="h2",
                language="French",
                model="m",
                timestamp=month(2024, 1),
            ),
        ],
    )
    p = tmp_path / "question.jsonl"
    p.write_text(json.dumps({"question_id": "1", "turns": [{"content": "hi"}]}) + "\n")
    code, out = _run(
        str(a), str(p), "--out", str(tmp_path / "r"), "--no-embed", "--sample", "5", "--no-detect-language"
    )
    assert code == 0, out
    stats = json.loads((tmp_path / "r" / "stats.json").read_text())
    assert list(stats) == ["alpha", "question"]
    s = stats["alpha"]
    assert (s["n_conversations"], s["n_users"], s["n_turns"]) == (2, 2, 3)
    assert s["user_tokens_mean"] == 5 / 3  # 2, 2, 1
    assert s["assistant_tokens_mean"] == 4 / 3  # 1, 1, 2
    assert s["entropy_sample_size"] == 1  # equal size: the prompts-only dataset has one prompt
    assert "assistant_turns" in stats["question"]["missing"]
    with (tmp_path / "r" / "tables" / "comparison.csv").open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["Dataset", "#Convs", "#Users", "#Turns", "#User Tok", "#Chatbot Tok", "#Langs"]
    assert rows[1] == ["alpha", "2", "2", "1.50", "1.67±0.47", "1.33±0.47", "2"]
    assert rows[2] == ["question", "1", "—", "1.00", "1.00±0.00", "—", "—"]
    prov = json.loads((tmp_path / "r" / "provenance.json").read_text())
    assert prov["tokenizer"] == "tiktoken:cl100k_base" and prov["seed"] == 0
    assert {i["name"] for i in prov["inputs"]} == {"alpha", "question"}
    figures = {f.name for f in (tmp_path / "r" / "figures").iterdir()}
    assert {"turns.png", "turns.svg", "languages.png", "lengths.svg"} <= figures
    html = (tmp_path / "r" / "report.html").read_text()
    assert "Comparison with other datasets" in html and "1.67±0.47" in html


def test_dataset_text_is_escaped_in_the_report(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script>"
    a = _parquet(
        tmp_path / "evil.parquet",
        [
            conv(
                [
                    Turn(
                        content="x", role="user", jailbreak_match="<img src=x onerror=alert(2)>", toxic=True
                    ),
                    Turn(content="y", role="assistant", toxic=False),
                ],
                model=evil,
                language="<b>bold</b>",
            ),
        ],
    )
    code, out = _run(str(a), "--out", str(tmp_path / "r"), "--no-embed", "--names", "n<i>1</i>")
    assert code == 0, out
    html = (tmp_path / "r" / "report.html").read_text()
    assert "<script" not in html and "<img src=x" not in html and "<i>1</i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "n&lt;i&gt;1&lt;/i&gt;" in html
    assert "http://" not in html and "https://" not in html


def test_unreadable_inputs_are_named_and_others_still_reported(tmp_path: Path) -> None:
    good = _parquet(tmp_path / "good.parquet", [conv([("user", "a"), ("assistant", "b")])])
    bad = tmp_path / "bad.json"
    bad.write_text("this is not a chat log")
    missing = tmp_path / "missing.jsonl"
    code, out = _run(str(good), str(bad), str(missing), "--out", str(tmp_path / "r"), "--no-embed")
    assert code == 0, out
    assert "bad.json" in out and "missing.jsonl" in out
    assert "this is not a chat log" not in out  # reasons never quote content
    stats = json.loads((tmp_path / "r" / "stats.json").read_text())
    assert list(stats) == ["good"]
    prov = json.loads((tmp_path / "r" / "provenance.json").read_text())
    assert {Path(e["path"]).name for e in prov["errors"]} == {"bad.json", "missing.jsonl"}
    html = (tmp_path / "r" / "report.html").read_text()
    assert "bad.json" in html and "missing.jsonl" in html


def test_exit_code_non_zero_only_when_nothing_is_readable(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{]")
    code, out = _run(str(bad), str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "r"), "--no-embed")
    assert code == 1
    assert "bad.json" in out and "nope.parquet" in out
    assert not (tmp_path / "r" / "report.html").exists()


def test_single_bare_conversation_says_what_is_missing(tmp_path: Path) -> None:
    a = _parquet(tmp_path / "one.parquet", [conv([("user", ""), ("assistant", "")])])
    code, out = _run(str(a), "--out", str(tmp_path / "r"), "--no-embed")
    assert code == 0, out
    s = json.loads((tmp_path / "r" / "stats.json").read_text())["one"]
    assert s["n_conversations"] == 1 and s["n_users"] is None and s["unigram_entropy"] is None
    for field in ("hashed_ip", "language", "timestamp", "toxic", "openai_moderation", "detoxify_moderation"):
        assert field in s["missing"]
    html = (tmp_path / "r" / "report.html").read_text()
    assert "hashed_ip" in html and "What is missing" in html


def test_bad_options(tmp_path: Path) -> None:
    a = _parquet(tmp_path / "one.parquet", [conv([("user", "x")])])
    code, out = _run(str(a), "--out", str(tmp_path / "r"), "--no-embed", "--names", "a,b")
    assert code == 2 and "--names" in out
    code, out = _run(str(a), "--out", str(tmp_path / "r"), "--no-embed", "--tokenizer", "gpt-9")
    assert code == 1 and "gpt-9" in out


def test_unlabelled_conversations_get_detected_languages(tmp_path: Path) -> None:
    a = _parquet(
        tmp_path / "mixed.parquet",
        [
            conv([("user", "Bonjour tout le monde, comment allez-vous aujourd'hui ?")]),
            conv([("user", "你好，请介绍一下你自己，谢谢")]),
            conv([("user", "whatever")], language="Klingon"),  # a dataset label is never replaced
        ],
    )
    code, out = _run(str(a), "--out", str(tmp_path / "r"), "--no-embed")
    assert code == 0, out
    s = json.loads((tmp_path / "r" / "stats.json").read_text())["mixed"]
    assert s["language_shares"] == pytest.approx({"Klingon": 1 / 3, "French": 1 / 3, "Chinese": 1 / 3})
    assert s["language_source"] == {"dataset": 1, "detected": 2}
    assert s["n_languages"] == 3
    prov = json.loads((tmp_path / "r" / "provenance.json").read_text())
    assert prov["language_detection"].startswith("unlabelled conversations only")
