"""Cleaning stages and the stage contract, through the pipeline on hand-made logs."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pytest

from tests.builders.conversations import Logs
from tests.curate.curate_helpers import read_full, texts
from wildchat.curate.stages import available_stages, get_stage
from wildchat.curate.stages.base import Stage, StageConfigError
from wildchat.curate.stages.batch import tag
from wildchat.curate.stages.clean import first_user_hash


def run(curate: Any, logs: Logs, tmp_path: Path, *sets: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    res = curate([logs.write(tmp_path / "in.jsonl")], sets=sets)
    return read_full(res.out), {s["name"]: s for s in res.stats["stages"]}


def test_pre_consent_and_no_consent_logs_are_dropped(logs: Logs, tmp_path: Path, curate: Any) -> None:
    logs.add(["with consent"], "ok", ip="203.0.113.1")
    logs.add(["no consent"], "x", ip="203.0.113.2", consent=None)
    late = {"id": "c2", "version": "1", "timestamp": "2030-01-01T00:00:00+00:00"}
    logs.add(["before consent"], "x", ip="203.0.113.3", consent=late)
    # a consented continuation of a chat whose first log had no consent is dropped as a whole
    logs.add(["early"], "e1", ip="203.0.113.4", consent=None, minute=1)
    logs.add(["early", "e1", "later"], "e2", ip="203.0.113.4", minute=2)
    rows, stages = run(curate, logs, tmp_path)
    assert [texts(r)[0][1] for r in rows] == ["with consent"]
    assert stages["consent"]["dropped"] == {"consent_after_log": 1, "no_consent": 2}
    assert stages["consent"]["rows_in"] == 4 and stages["consent"]["rows_out"] == 1


def test_consent_stage_can_be_switched_off(logs: Logs, tmp_path: Path, curate: Any) -> None:
    logs.add(["no consent"], "x", consent=None)
    res = curate([logs.write(tmp_path / "in.jsonl")], sets=['pipeline.stages=["roles", "privacy"]'])
    assert len(read_full(res.out)) == 1
    assert any("consent stage did not run" in w for w in res.stats["warnings"])


def _bad_roles_logs(logs: Logs) -> None:
    logs.add(
        ["x"],
        "y",
        ip="203.0.113.9",
        messages=[{"role": "user", "content": "part 1"}, {"role": "user", "content": "part 2"}],
    )
    logs.add(["fine"], "ok", ip="203.0.113.8")
    logs.add(
        ["x"],
        "y",
        ip="203.0.113.7",
        messages=[{"role": "system", "content": "be nice"}, {"role": "user", "content": "hello"}],
    )
    logs.add(
        ["x"],
        "y",
        ip="203.0.113.6",
        messages=[
            {"role": "user", "content": "u"},
            {"role": "system", "content": "mid"},
            {"role": "user", "content": "v"},
        ],
    )


def test_non_alternating_roles_dropped_by_default(logs: Logs, tmp_path: Path, curate: Any) -> None:
    _bad_roles_logs(logs)
    rows, stages = run(curate, logs, tmp_path)
    assert sorted(texts(r)[0][1] for r in rows) == ["be nice", "fine"]  # leading system message is allowed
    assert stages["roles"]["dropped"] == {"bad_roles": 2}


def test_non_alternating_roles_repaired_by_merging(logs: Logs, tmp_path: Path, curate: Any) -> None:
    _bad_roles_logs(logs)
    rows, stages = run(curate, logs, tmp_path, 'roles.mode="repair"')
    merged = [r for r in rows if texts(r)[0][1].startswith("part 1")]
    assert texts(merged[0]) == [("user", "part 1\n\npart 2"), ("assistant", "y")]
    assert merged[0]["turn"] == 1
    assert stages["roles"]["dropped"] == {"bad_roles": 1}  # system in the middle cannot be repaired
    assert len(rows) == 3


def test_empty_conversations(logs: Logs, tmp_path: Path, curate: Any) -> None:
    logs.add(["   "], "What can I do for you?", ip="203.0.113.1")
    logs.add(["real"], "", ip="203.0.113.2")
    logs.add(["real"], "answer", ip="203.0.113.3")
    rows, stages = run(curate, logs, tmp_path)
    assert len(rows) == 2 and stages["empty"]["dropped"] == {"empty": 1}
    rows, stages = run(curate, logs, tmp_path, "empty.require_reply=true")
    assert [texts(r) for r in rows] == [[("user", "real"), ("assistant", "answer")]]
    assert stages["empty"]["dropped"] == {"empty": 1, "empty_reply": 1}


def test_date_window(logs: Logs, tmp_path: Path, curate: Any) -> None:
    logs.add(["early"], "a", minute=-120, ip="203.0.113.1")  # 10:00
    logs.add(["inside"], "b", minute=30, ip="203.0.113.2")  # 12:30
    logs.add(["spans"], "c", minute=50, ip="203.0.113.3")
    logs.add(["spans", "c", "more"], "d", minute=70, ip="203.0.113.3")  # ends 13:10, outside
    logs.add(["late"], "e", minute=60, ip="203.0.113.4")  # exactly 13:00: end is exclusive
    rows, stages = run(
        curate,
        logs,
        tmp_path,
        'date_window.start="2024-03-01T11:00:00Z"',
        'date_window.end="2024-03-01T13:00:00Z"',
    )
    assert [texts(r)[0][1] for r in rows] == ["inside"]
    assert stages["date_window"]["dropped"] == {"outside_date_window": 3}
    with pytest.raises(StageConfigError):
        run(curate, logs, tmp_path, 'date_window.start="2024-03-01 11:00"')  # no offset: refused


def test_holdout_by_id_and_first_user_hash(logs: Logs, tmp_path: Path, curate: Any) -> None:
    logs.add(["benchmark question 1"], "x", ip="203.0.113.1")
    logs.add(["keep me"], "x", ip="203.0.113.2", conversation_id="src-42")
    logs.add(["keep me too"], "x", ip="203.0.113.3")
    rows, _ = run(curate, logs, tmp_path)
    by_text = {texts(r)[0][1]: r["conversation_id"] for r in rows}
    h = first_user_hash("benchmark question 1")
    rows, stages = run(
        curate, logs, tmp_path, f'holdout.first_user_hashes=["{h}"]', 'holdout.conversation_ids=["src-42"]'
    )
    assert [texts(r)[0][1] for r in rows] == ["keep me too"]
    assert stages["holdout"]["dropped"] == {"holdout": 2}
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(by_text["keep me too"] + "\n")
    rows, _ = run(curate, logs, tmp_path, f'holdout.conversation_ids_file="{ids_file}"')
    assert sorted(texts(r)[0][1] for r in rows) == ["benchmark question 1", "keep me"]


def test_dev_accounts(logs: Logs, tmp_path: Path, curate: Any) -> None:
    logs.add(["real user"], "x", ip="203.0.113.1")
    logs.add(["from the office"], "x", ip="198.51.100.10")
    logs.add(["hashed dev"], "x", ip=None, hashed_ip="devhash")
    logs.add(["test test 123"], "x", ip="203.0.113.3")
    logs.add(["bot"], "x", ip="203.0.113.4", ua="curl/8.0")
    rows, stages = run(
        curate,
        logs,
        tmp_path,
        'dev_accounts.ips=["198.51.100.10"]',
        'dev_accounts.ip_hashes=["devhash"]',
        'dev_accounts.patterns=["^test test"]',
        'dev_accounts.user_agents=["^curl/"]',
    )
    assert [texts(r)[0][1] for r in rows] == ["real user"]
    assert stages["dev_accounts"]["dropped"] == {"dev_account": 4}
    assert stages["dev_accounts"]["config"]["ips"] == "<secret>"


class _Recorder(Stage):
    name = "test_recorder"
    defaults: ClassVar[dict[str, Any]] = {"word": "spam"}
    reasons = ("spam",)

    def setup(self) -> None:
        self.loaded = True

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        firsts = [c[0]["content"] for c in batch.column("conversation").to_pylist()]
        return tag(batch, [self.config["word"] in t for t in firsts], "spam")


class _Shrinker(Stage):
    name = "test_shrinker"

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return batch.slice(0, 1)


def _batch(logs: Logs) -> pa.RecordBatch:
    from wildchat.curate.link.assemble import assemble, log_text
    from wildchat.curate.link.logs import link_logs

    kept, res = link_logs(logs.raw_logs())
    plan = res.plans[0]
    return assemble(plan, [log_text(kept[p]) for p in plan.pos.tolist()])


def test_stage_contract_tags_counts_and_skips_dropped_rows(logs: Logs) -> None:
    for i, text in enumerate(["spam one", "ham", "spam two", "ham two"]):
        logs.add([text], "r", ip=f"203.0.113.{i + 1}")
    batch = _batch(logs)
    batch = tag(batch, [False, False, False, True], "earlier")
    stage = _Recorder()
    clone = pickle.loads(pickle.dumps(stage))  # picklable before setup
    assert clone.config == {"word": "spam"} and not hasattr(clone, "loaded")
    out = clone(batch)
    assert out.column("drop_reason").to_pylist() == ["spam", None, "spam", "earlier"]
    assert [c[0]["content"] for c in out.column("conversation").to_pylist()] == [
        "spam one",
        "ham",
        "spam two",
        "ham two",
    ]
    stats = clone.take_stats()
    assert (stats.rows_in, stats.rows_out, dict(stats.dropped)) == (3, 1, {"spam": 2})
    assert len(stats.examples["spam"]) == 2 and clone.stats.rows_in == 0
    with pytest.raises(RuntimeError, match="row count"):
        _Shrinker()(batch)
    with pytest.raises(StageConfigError, match="unknown config"):
        _Recorder(wrod="x")


def test_registry_lists_builtin_stages() -> None:
    names = set(available_stages())
    assert {"consent", "roles", "empty", "date_window", "holdout", "dev_accounts", "privacy"} <= names
    assert get_stage("roles").reasons == ("bad_roles",)
    with pytest.raises(KeyError, match="unknown stage"):
        get_stage("nope")
