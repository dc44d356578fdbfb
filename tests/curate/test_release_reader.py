"""One reader for release folders: analyze/explore/export-sft/eval read one split, never both."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.builders.conversations import Logs
from tests.curate.curate_helpers import read_full
from wildchat.cli.main import app
from wildchat.formats.release import (
    ReleaseError,
    is_release,
    iter_release_batches,
    raw_log_inputs,
    resolve_inputs,
    split_files,
)

runner = CliRunner()
ANALYZE = ["--no-embed", "--no-detect-language", "--sample", "5"]


def _release(logs: Logs, tmp_path: Path, curate: Any, n: int = 12) -> Path:
    for i in range(n):
        logs.add([f"question number {i}"], f"answer {i}", ip=f"203.0.113.{i + 1}")
    return curate([logs.write(tmp_path / "logs.jsonl")], tmp_path / "R").out


def _shrink_public(release: Path, keep: int) -> None:
    """Make public/ a strict subset (as a toxicity rule would) and say so in stats.json."""
    table = pa.concat_tables([pq.read_table(f) for f in sorted((release / "public").glob("*.parquet"))])
    for f in (release / "public").glob("*.parquet"):
        f.unlink()
    pq.write_table(table.slice(0, keep), release / "public" / "part-00000.parquet")
    stats = json.loads((release / "stats.json").read_text())
    stats["release"]["public"] = keep
    (release / "stats.json").write_text(json.dumps(stats))


def _analyze(tmp_path: Path, *args: str) -> tuple[int, str, dict[str, Any]]:
    out = tmp_path / "report"
    res = runner.invoke(app, ["analyze", *args, "--out", str(out), *ANALYZE])
    stats = json.loads((out / "stats.json").read_text()) if res.exit_code == 0 else {}
    return res.exit_code, res.output, stats


def test_analyze_counts_each_conversation_once(logs: Logs, tmp_path: Path, curate: Any) -> None:
    rel = _release(logs, tmp_path, curate)
    _shrink_public(rel, 5)
    counts = json.loads((rel / "stats.json").read_text())["release"]
    code, out, stats = _analyze(tmp_path, str(rel))
    assert code == 0, out
    assert stats["R"]["n_conversations"] == counts["full"] == 12
    code, out, stats = _analyze(tmp_path, str(rel), "--split", "public")
    assert code == 0, out
    assert stats["R"]["n_conversations"] == counts["public"] == 5


@pytest.mark.parametrize("damage", ["missing_split", "corrupt_parquet", "count_mismatch", "bad_stats"])
def test_broken_releases_are_exit_2_naming_the_file(
    logs: Logs, tmp_path: Path, curate: Any, damage: str
) -> None:
    rel = _release(logs, tmp_path, curate)
    shard = sorted((rel / "full").glob("*.parquet"))[0]
    if damage == "missing_split":
        shutil.rmtree(rel / "full")
        named = str(rel / "full")
    elif damage == "corrupt_parquet":
        shard.write_bytes(b"PAR1 not really parquet PAR1")
        named = str(shard)
    elif damage == "count_mismatch":
        stats = json.loads((rel / "stats.json").read_text())
        stats["release"]["full"] += 1
        (rel / "stats.json").write_text(json.dumps(stats))
        named = str(rel / "full")
    else:
        (rel / "stats.json").write_text("{not json")
        named = str(rel / "stats.json")
    code, out, _ = _analyze(tmp_path, str(rel))
    assert code == 2 and named in out.replace("\n", ""), out
    assert not (tmp_path / "report").exists()  # nothing written
    res = runner.invoke(app, ["export-sft", str(rel), "--out", str(tmp_path / "sft.jsonl")])
    assert res.exit_code == 2 and named in res.output.replace("\n", ""), res.output
    assert not (tmp_path / "sft.jsonl").exists()
    ix = tmp_path / "ix"
    res = runner.invoke(
        app, ["explore", str(rel), "--index", str(ix), "--build-only", "--no-map", "--split", "full"]
    )
    assert res.exit_code == 2 and named in res.output.replace("\n", ""), res.output
    assert not ix.exists()


def test_resolve_and_split_files(logs: Logs, tmp_path: Path, curate: Any) -> None:
    rel = _release(logs, tmp_path, curate)
    other = tmp_path / "x.jsonl"
    other.write_text("{}\n")
    assert is_release(rel) and not is_release(tmp_path / "nope") and not is_release(other)
    assert resolve_inputs([rel, other], "public") == [*sorted((rel / "public").glob("*.parquet")), other]
    assert split_files(rel, "full") == sorted((rel / "full").glob("*.parquet"))
    with pytest.raises(ReleaseError, match="unknown split"):
        resolve_inputs([rel], "both")
    with pytest.raises(ReleaseError, match="not a release folder"):
        split_files(tmp_path / "nowhere", "full")
    plain = tmp_path / "plain"
    plain.mkdir()
    assert resolve_inputs([plain], "full") == [plain]  # the default split: a plain folder reads as it is
    with pytest.raises(ReleaseError, match=f"{plain}: not a release folder.*--split public"):
        resolve_inputs([plain], "public")  # a non-default split of something with no splits
    rows = sum(b.num_rows for b in iter_release_batches(split_files(rel, "full"), 4))
    assert rows == 12
    # an empty split that stats.json declares empty is fine
    for f in (rel / "public").glob("*.parquet"):
        f.unlink()
    stats = json.loads((rel / "stats.json").read_text())
    stats["release"]["public"] = 0
    (rel / "stats.json").write_text(json.dumps(stats))
    assert split_files(rel, "public") == []


def test_export_sft_and_nll_use_the_split(logs: Logs, tmp_path: Path, curate: Any) -> None:
    from wildchat.evaluate.nll_data import parse_dataset, select_conversations

    rel = _release(logs, tmp_path, curate)
    _shrink_public(rel, 5)
    counts = {}
    for split in ("full", "public"):
        out = tmp_path / f"sft-{split}.jsonl"
        res = runner.invoke(
            app, ["export-sft", str(rel), "--out", str(out), "--split", split, "--holdout", "0"]
        )
        assert res.exit_code == 0, res.output
        counts[split] = len(out.read_text().splitlines())
        sel = select_conversations(parse_dataset(str(rel)), 100, use_all=True, split=split)
        assert len(sel.keys) == counts[split]
    assert counts == {"full": 12, "public": 5}


def test_explore_indexes_public_by_default_and_drops_the_other_split(
    logs: Logs, tmp_path: Path, curate: Any
) -> None:
    pytest.importorskip("sqlalchemy")
    from wildchat.explore.build import build_index

    rel = _release(logs, tmp_path, curate)
    _shrink_public(rel, 5)
    url = f"sqlite:///{tmp_path / 'index.db'}"
    assert build_index([rel], url, map=False).totals == {"R": 5}
    assert build_index([rel], url, map=False, split="full").totals == {"R": 12}
    assert build_index([rel], url, map=False).totals == {"R": 5}  # full/ rows left the index again


def test_split_of_a_plain_folder_is_exit_2(logs: Logs, tmp_path: Path) -> None:
    logs.add(["q"], "a")
    logs.write(tmp_path / "plain" / "logs.jsonl")
    code, out, _ = _analyze(tmp_path, str(tmp_path / "plain"), "--split", "public")
    assert code == 2 and "not a release folder" in out and not (tmp_path / "report").exists()
    res = runner.invoke(
        app, ["export-sft", str(tmp_path / "plain"), "--out", str(tmp_path / "s.jsonl"), "--split", "public"]
    )
    assert res.exit_code == 2 and "not a release folder" in res.output


def test_raw_logs_warn_once(logs: Logs, tmp_path: Path, curate: Any) -> None:
    logs.add(["q"], "a")
    src = logs.write(tmp_path / "raw" / "logs.jsonl")
    assert raw_log_inputs([src]) == [src] and raw_log_inputs([tmp_path / "raw"]) == [src]
    rel = _release(Logs(), tmp_path, curate)
    assert raw_log_inputs([rel]) == []
    res = runner.invoke(app, ["convert", str(src), "--out", str(tmp_path / "c.parquet")])
    assert res.exit_code == 0, res.output
    assert res.output.count("reading raw logs") == 1
    code, out, _ = _analyze(tmp_path, str(src))
    assert code == 0 and out.count("reading raw logs") == 1, out
    code, out, _ = _analyze(tmp_path, str(rel))
    assert "reading raw logs" not in out
    assert len(read_full(rel)) == 12
