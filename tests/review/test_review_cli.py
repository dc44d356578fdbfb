"""`wildchat review` end to end on a synthetic release with known truth (the reviewers' contract).

Also: re-runs give the same items, the report works after the release is
deleted, ``--card`` writes the card section and ``stats.json`` key, export
with and without text, and bad input exits 2 with one line.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.review.review_helpers import assert_matches, make_release, run_contract
from wildchat.cli.review import review_app
from wildchat.review.card import CARD_BEGIN, STATS_KEY
from wildchat.review.store import ReviewStore

runner = CliRunner()


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict, object]:
    tmp = tmp_path_factory.mktemp("contract")
    release = tmp / "release"
    truth = make_release(release, n=3000)
    report = run_contract(release, tmp, lambda item: truth.toxic[(item["conversation_id"], item["turn"])])
    return tmp, release, report, truth


def test_contract_precision_recall_match_the_whole_release(contract) -> None:
    _tmp, _rel, report, truth = contract
    block = report["tasks"]["toxicity"]
    true_p, true_r = truth.precision_recall("toxic")
    est = block["detectors"]["toxic"]
    print(
        f"truth P={true_p:.3f} R={true_r:.3f}; estimate {est['precision']} {est['precision_ci']} "
        f"{est['recall']} {est['recall_ci']}; kappa {block['agreement']['cohen_kappa']}"
    )
    assert_matches(est, true_p, true_r)
    assert est["n_labelled"] == 400 and sum(est["confusion"].values()) == 400
    assert block["detectors"]["offline"]["precision"] == est["precision"]  # the sole deciding engine
    kappa = block["agreement"]["cohen_kappa"]
    assert kappa is not None and 0.5 < kappa < 0.95  # bob flips 10%
    assert "krippendorff_alpha" not in block["agreement"]
    assert block["n_labelled"] == 400 and block["warnings"] == []
    assert set(block["detectors"]) == {"toxic", "offline", "openai", "detoxify"}


def test_same_seed_same_queue(contract, tmp_path: Path) -> None:
    tmp, release, _report, _truth = contract
    out = tmp_path / "again.db"
    res = runner.invoke(
        review_app,
        ["sample", str(release), "--out", str(out), "--task", "toxicity", "--size", "400", "--seed", "3"],
    )
    assert res.exit_code == 0, res.output
    a, b = ReviewStore(tmp / "Q.db"), ReviewStore(out)
    key = lambda it: (it["item_id"], it["conversation_id"], it["turn"], it["stratum"], it["text"])  # noqa: E731
    assert [key(x) for x in a.items("toxicity")] == [key(x) for x in b.items("toxicity")]
    assert a.strata("toxicity") == b.strata("toxicity")
    a.close()
    b.close()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # holds released text


def test_report_from_the_queue_alone_after_the_release_is_deleted(contract, tmp_path: Path) -> None:
    tmp, release, report, _truth = contract
    gone = tmp_path / "copy"
    shutil.copytree(release, gone)
    queue = tmp_path / "q.db"
    assert (
        runner.invoke(
            review_app,
            ["sample", str(gone), "--out", str(queue), "--task", "toxicity", "--size", "400", "--seed", "3"],
        ).exit_code
        == 0
    )
    store = ReviewStore(queue)
    src = ReviewStore(tmp / "Q.db")
    for row in src.labels("toxicity"):  # same items, same ids: copy the contract's labels over
        store.put_label(row["item_id"], row["annotator"], "toxicity", row["label"])
    src.close()
    store.close()
    shutil.rmtree(gone)
    res = runner.invoke(review_app, ["report", str(queue), "--out", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    again = json.loads((tmp_path / "r.json").read_text())
    assert again["tasks"]["toxicity"]["detectors"] == report["tasks"]["toxicity"]["detectors"]


def test_card_section_and_stats(contract, tmp_path: Path) -> None:
    tmp, release, _report, _truth = contract
    rel = tmp_path / "rel"
    shutil.copytree(release, rel)
    before = (rel / "README.md").read_text()
    for _ in range(2):  # re-running replaces the section instead of adding a second one
        res = runner.invoke(
            review_app, ["report", str(tmp / "Q.db"), "--out", str(tmp_path / "r.json"), "--card", str(rel)]
        )
        assert res.exit_code == 0, res.output
    card = (rel / "README.md").read_text()
    assert card.startswith(before.rstrip("\n")) and card.count(CARD_BEGIN) == 1
    assert "## Measured detector quality" in card and "Cohen's kappa" in card and "| `toxic` |" in card
    stats = json.loads((rel / "stats.json").read_text())
    assert stats["stages"][0]["name"] == "moderation"  # the rest is kept
    assert stats[STATS_KEY]["toxicity"]["detectors"]["toxic"]["precision_ci"]
    assert "synthetic prompt" not in card + json.dumps(stats)  # no text in the card
    bad = runner.invoke(
        review_app,
        ["report", str(tmp / "Q.db"), "--out", str(tmp_path / "x.json"), "--card", str(tmp_path / "nowhere")],
    )
    assert bad.exit_code == 2 and not (tmp_path / "x.json").exists()


def test_export_with_and_without_text(contract, tmp_path: Path) -> None:
    tmp, _release, _report, _truth = contract
    plain, full = tmp_path / "labels.jsonl", tmp_path / "labels_text.jsonl"
    assert runner.invoke(review_app, ["export", str(tmp / "Q.db"), "--out", str(plain)]).exit_code == 0
    rows = [json.loads(x) for x in plain.read_text().splitlines()]
    assert len(rows) == 800 and {r["annotator"] for r in rows} == {"alice", "bob"}
    assert all("text" not in r and isinstance(r["label"], bool) for r in rows)
    assert {"item_id", "conversation_id", "turn", "stratum", "detectors"} <= set(rows[0])
    assert (
        runner.invoke(review_app, ["export", str(tmp / "Q.db"), "--out", str(full), "--with-text"]).exit_code
        == 0
    )
    rows = [json.loads(x) for x in full.read_text().splitlines()]
    assert all(r["text"].startswith("synthetic prompt") or r["text"].startswith("reply") for r in rows)
    assert stat.S_IMODE(full.stat().st_mode) == 0o600


def test_bad_input_exits_2(contract, tmp_path: Path) -> None:
    tmp, release, _report, _truth = contract
    cases = [
        ["sample", str(release), "--out", str(tmp_path / "a.db"), "--task", "sentiment"],
        ["sample", str(release), "--out", str(tmp_path / "a.db"), "--task", "toxicity", "--split", "secret"],
        ["sample", str(release), "--out", str(tmp_path / "a.db"), "--task", "toxicity", "--size", "0"],
        ["sample", str(tmp_path / "missing"), "--out", str(tmp_path / "a.db"), "--task", "toxicity"],
        ["sample", str(release), "--out", str(tmp / "Q.db"), "--task", "toxicity"],  # already holds the task
        ["report", str(tmp_path / "missing.db"), "--out", str(tmp_path / "r.json")],
        ["export", str(tmp_path / "missing.db"), "--out", str(tmp_path / "l.jsonl")],
        ["serve", str(tmp_path / "missing.db")],
    ]
    for args in cases:
        res = runner.invoke(review_app, args)
        assert res.exit_code == 2, (args, res.output)
        assert "wildchat review:" in res.output and "Traceback" not in res.output
    not_queue = tmp_path / "notes.txt"
    not_queue.write_text("hello")
    res = runner.invoke(review_app, ["report", str(not_queue), "--out", str(tmp_path / "r.json")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert not (tmp_path / "a.db").exists() or ReviewStore(tmp_path / "a.db").tasks() == []


def test_more_tasks_in_one_queue_and_an_empty_stratum(contract, tmp_path: Path) -> None:
    _tmp, release, _report, _truth = contract
    queue = tmp_path / "multi.db"
    for task, split in (("toxicity", "public"), ("jailbreak", "full")):
        res = runner.invoke(
            review_app,
            ["sample", str(release), "--out", str(queue), "--task", task, "--size", "50", "--split", split],
        )
        assert res.exit_code == 0, res.output
    assert (
        "stratum 'flagged' is empty"
        in runner.invoke(
            review_app,
            [
                "sample",
                str(release),
                "--out",
                str(tmp_path / "p.db"),
                "--task",
                "toxicity",
                "--size",
                "50",
                "--split",
                "public",
            ],
        ).output
    )
    res = runner.invoke(review_app, ["report", str(queue), "--out", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "r.json").read_text())
    assert set(doc["tasks"]) == {"toxicity", "jailbreak"}
    tox = doc["tasks"]["toxicity"]
    assert tox["strata"]["flagged"]["empty"] is True and tox["detectors"]["toxic"]["precision"] is None


def test_registered_in_main() -> None:
    from wildchat.cli.main import app

    res = runner.invoke(app, ["review", "--help"])
    assert res.exit_code == 0 and all(c in res.output for c in ("sample", "serve", "report", "export"))


def test_three_annotators_add_krippendorff_alpha(contract, tmp_path: Path) -> None:
    tmp, _release, _report, truth = contract
    queue = tmp_path / "q3.db"
    shutil.copy(tmp / "Q.db", queue)
    store = ReviewStore(queue)
    for it in store.items(
        "toxicity", with_text=False
    ):  # carol agrees with the truth except on every 7th item
        t = truth.toxic[(it["conversation_id"], it["turn"])]
        store.put_label(
            it["item_id"], "carol", "toxicity", "skip" if it["item_id"] % 7 == 0 else str(t).lower()
        )
    store.close()
    assert runner.invoke(review_app, ["report", str(queue), "--out", str(tmp_path / "r.json")]).exit_code == 0
    agr = json.loads((tmp_path / "r.json").read_text())["tasks"]["toxicity"]["agreement"]
    assert agr["annotators"] == ["alice", "bob", "carol"] and len(agr["pairwise"]) == 3
    assert agr["pairwise"]["alice|carol"]["cohen_kappa"] == 1.0  # skips are not compared
    assert 0.5 < agr["krippendorff_alpha"] < 1 and 0.5 < agr["cohen_kappa"] < 1


@pytest.mark.postgres
def test_postgresql_queue_by_url(contract, pg_url: str, tmp_path: Path) -> None:
    _tmp, release, _report, _truth = contract
    res = runner.invoke(
        review_app, ["sample", str(release), "--out", pg_url, "--task", "jailbreak", "--size", "30"]
    )
    assert res.exit_code == 0, res.output
    store = ReviewStore(pg_url)
    first = store.items("jailbreak", with_text=False)[0]
    store.put_label(first["item_id"], "alice", "jailbreak", "false")
    store.close()
    res = runner.invoke(review_app, ["report", pg_url, "--out", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "r.json").read_text())["tasks"]["jailbreak"]["n_labelled"] == 1


def test_serve_command_runs_the_app(contract) -> None:
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.live_server import free_port

    tmp, _release, _report, _truth = contract
    port = free_port()
    code = "from wildchat.cli.main import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "review", "serve", str(tmp / "Q.db"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline, body = time.monotonic() + 60, None
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/review/tasks", timeout=2) as resp:
                    body = json.loads(resp.read())
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                time.sleep(0.3)
        assert (
            body is not None and body["tasks"][0]["task"] == "toxicity" and body["tasks"][0]["items"] == 400
        )
    finally:
        proc.terminate()
        proc.wait(timeout=20)
