"""`wildchat convert` end to end through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import Result
from typer.testing import CliRunner

from wildchat.cli.main import app
from wildchat.schema import release_schema

runner = CliRunner()


def _output(result: Result) -> str:
    """stdout and stderr together (click >= 8.2 already mixes stderr into ``output``)."""
    return result.output


def _lmsys(path: Path, n: int, bad: int = 0) -> Path:
    lines = [
        json.dumps(
            {
                "conversation_id": f"c{i}",
                "conversation": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
            }
        )
        for i in range(n)
    ]
    lines += ["{broken"] * bad
    path.write_text("\n".join(lines) + "\n")
    return path


def test_convert_with_skips(tmp_path: Path) -> None:
    src = _lmsys(tmp_path / "in.jsonl", 3, bad=2)
    out = tmp_path / "out.parquet"
    result = runner.invoke(app, ["convert", str(src), "--out", str(out), "--batch-size", "2"])
    text = _output(result)
    assert result.exit_code == 0, text
    assert "read 5, wrote 3, skipped 2" in text
    assert "bad_json: 2" in text and f"{src}:4" in text
    assert pq.read_schema(out).equals(release_schema())
    assert pq.read_table(out).column("conversation_id").to_pylist() == ["c0", "c1", "c2"]


def test_convert_forced_format(tmp_path: Path) -> None:
    src = tmp_path / "d.jsonl"
    src.write_text(json.dumps({"instruction": "i", "context": "c", "response": "r", "output": "o"}) + "\n")
    out = tmp_path / "out.parquet"
    result = runner.invoke(app, ["convert", str(src), "--out", str(out), "--format", "dolly"])
    assert result.exit_code == 0, _output(result)
    (row,) = pq.read_table(out).to_pylist()
    assert row["conversation"][0]["content"] == "i\n\nc" and row["conversation"][1]["content"] == "r"


def test_convert_nothing_readable_fails(tmp_path: Path) -> None:
    src = tmp_path / "junk.jsonl"
    src.write_bytes(b"{broken\n\xff\xfe\n")
    out = tmp_path / "out.parquet"
    result = runner.invoke(app, ["convert", str(src), "--out", str(out), "--format", "lmsys"])
    assert result.exit_code == 1
    text = _output(result)
    assert "nothing could be read" in text and "bad_utf8: 1" in text
    assert not out.exists()


def test_convert_usage_errors(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    missing = runner.invoke(app, ["convert", str(tmp_path / "missing.jsonl"), "--out", str(out)])
    assert missing.exit_code == 2 and "no such file" in _output(missing)
    src = _lmsys(tmp_path / "in.jsonl", 1)
    bad_fmt = runner.invoke(app, ["convert", str(src), "--out", str(out), "--format", "csv"])
    assert bad_fmt.exit_code == 2 and "unknown format" in _output(bad_fmt)
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text('{"foo": 1}\n')
    undetected = runner.invoke(app, ["convert", str(unknown), "--out", str(out)])
    assert undetected.exit_code == 1 and "unknown_format: 1" in _output(undetected)


def test_help_lists_every_format() -> None:
    from wildchat.formats import FORMATS

    result = runner.invoke(app, ["convert", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert all(name in result.output for name in FORMATS)
