"""Published ids are keyed: releases under two keys share no id and no hashed_ip; one key is reproducible."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from typer.testing import CliRunner

from tests.builders.conversations import Logs
from tests.curate.curate_helpers import STAGES, read_full
from wildchat.cli.main import app
from wildchat.curate.link.address import ids_key, release_ids
from wildchat.curate.link.logs import link_logs

runner = CliRunner()
PIPE = f"pipeline.stages={list(STAGES)!r}"


def corpus(logs: Logs) -> None:
    """Sessions with and without collector ids, multi-turn, branches, shared greetings, system prompts."""
    minute = 0.0
    for u in range(30):
        ip = f"198.51.100.{u + 1}" if u % 3 else None
        extra: dict[str, Any] = {} if ip else {"hashed_ip": f"{u:064x}"}
        cid = {"conversation_id": f"collector-{u}"} if u % 2 else {}
        first = "hi" if u % 5 == 0 else f"question {u} about rivers"
        minute += 1
        logs.add([first], f"answer {u}", minute=minute, ip=ip, **extra, **cid)
        if u % 4 == 0:
            minute += 1
            logs.add([first, f"answer {u}", "and then?"], f"more {u}", minute=minute, ip=ip, **extra, **cid)
        if u % 7 == 0:  # a regeneration: a branch sharing the first exchange
            minute += 1
            logs.add([first], f"other answer {u}", minute=minute, ip=ip, **extra, **cid)


def _ids(out: Path) -> tuple[set[str], set[int], set[str]]:
    conv_ids: set[str] = set()
    turn_ids: set[int] = set()
    hashed: set[str] = set()
    for sub in ("full", "public"):
        for row in read_full(out, sub):
            conv_ids.add(row["conversation_id"])
            hashed.update(h for h in [row["hashed_ip"]] + [t["hashed_ip"] for t in row["conversation"]] if h)
            turn_ids.update(t["turn_identifier"] for t in row["conversation"])
    return conv_ids, turn_ids, hashed


def _curate(src: Path, out: Path, key: str, *extra: str) -> None:
    res = runner.invoke(
        app,
        ["curate", str(src), "--out", str(out), "--ip-key", key, "--workers", "1", *extra],
    )
    assert res.exit_code == 0, res.output


def test_two_keys_share_no_id_and_no_hashed_ip(logs: Logs, tmp_path: Path) -> None:
    corpus(logs)
    src = logs.write(tmp_path / "logs.jsonl")
    a, b = tmp_path / "A", tmp_path / "B"
    unsafe = ["--set", PIPE, "--allow-unredacted"]
    _curate(src, a, "K1", *unsafe)
    _curate(src, b, "K2", *unsafe)
    ca, ta, ha = _ids(a)
    cb, tb, hb = _ids(b)
    n_rows = len(read_full(a))
    assert n_rows >= 30 and len(ca) == n_rows and len(cb) == n_rows  # one id per conversation
    assert ca.isdisjoint(cb)
    assert ta.isdisjoint(tb)
    assert ha and hb and ha.isdisjoint(hb)  # hashed_ip columns do not join either
    assert all(0 < t < 2**63 for t in ta | tb)
    # published ids are not the linker's internal addresses nor the collector's ids
    _, linked = link_logs(logs.raw_logs())
    internal_conv, internal_turn = linked.plans[0].conv_addr, linked.plans[0].turn_keys
    unkeyed_c, unkeyed_t = release_ids(None, internal_conv, internal_turn)
    assert ca.isdisjoint(unkeyed_c) and ta.isdisjoint(set(unkeyed_t.tolist()))
    assert not any(c.startswith("collector-") for c in ca)
    assert all("collector-" not in (a / f).read_text() for f in ("README.md", "stats.json"))


def test_same_key_twice_gives_identical_files(logs: Logs, tmp_path: Path) -> None:
    corpus(logs)
    src = logs.write(tmp_path / "logs.jsonl")
    a, b = tmp_path / "A", tmp_path / "B"
    unsafe = ["--set", PIPE, "--allow-unredacted"]
    _curate(src, a, "K1", *unsafe)
    _curate(src, b, "K1", *unsafe)
    assert _ids(a) == _ids(b)
    for sub in ("full", "public"):
        fa, fb = sorted((a / sub).glob("*.parquet")), sorted((b / sub).glob("*.parquet"))
        assert [f.name for f in fa] == [f.name for f in fb] and fa
        assert all(x.read_bytes() == y.read_bytes() for x, y in zip(fa, fb, strict=True))
    sa, sb = (json.loads((d / "stats.json").read_text()) for d in (a, b))
    for s in (sa, sb):  # timings are the only run-dependent values
        s.pop("run")
        for st in s["stages"]:
            st.pop("seconds")
    assert sa == sb
    assert (a / "README.md").read_bytes() == (b / "README.md").read_bytes()


def test_turn_ids_are_shared_by_branches_and_exchanges(logs: Logs, tmp_path: Path, curate: Any) -> None:
    logs.add(["tell me a story"], "once", minute=1, ip="203.0.113.9")
    logs.add(["tell me a story"], "long ago", minute=2, ip="203.0.113.9")  # regeneration: a branch
    res = curate([logs.write(tmp_path / "in.jsonl")])
    rows = read_full(res.out)
    assert len(rows) == 2 and rows[0]["conversation_id"] != rows[1]["conversation_id"]
    # both turns of an exchange share one id; the two branches' first exchanges differ (different replies)
    for row in rows:
        ids = {t["turn_identifier"] for t in row["conversation"]}
        assert len(ids) == 1
    assert rows[0]["conversation"][0]["turn_identifier"] != rows[1]["conversation"][0]["turn_identifier"]


def test_release_ids_unit() -> None:
    key1, key2 = ids_key("k1"), ids_key(b"k2")
    assert len(key1) == 32 and key1 != key2 and ids_key("k1") == key1
    addrs = [bytes([i]) * 16 for i in range(50)]
    turns = np.arange(1, 200, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    c1, t1 = release_ids(key1, addrs, turns)
    c2, t2 = release_ids(key2, addrs, turns)
    assert release_ids(key1, addrs, turns)[0] == c1 and (release_ids(key1, addrs, turns)[1] == t1).all()
    assert set(c1).isdisjoint(c2) and set(t1.tolist()).isdisjoint(t2.tolist())
    assert all(len(c) == 32 for c in c1) and t1.dtype == np.int64 and (t1 > 0).all()
    plain_c, plain_t = release_ids(None, addrs, turns)
    assert plain_c[0] == addrs[0].hex() and (plain_t == (turns & np.uint64(2**63 - 1)).astype(np.int64)).all()
    empty_c, empty_t = release_ids(key1, [], np.zeros(0, np.uint64))
    assert empty_c == [] and len(empty_t) == 0


def test_release_parquet_is_keyed_with_default_key_file(logs: Logs, tmp_path: Path) -> None:
    """Without --ip-key a key is generated beside OUT; a second folder gets another key and other ids."""
    corpus(logs)
    src = logs.write(tmp_path / "logs.jsonl")
    a, b = tmp_path / "A", tmp_path / "B"
    for out in (a, b):
        res = runner.invoke(app, ["curate", str(src), "--out", str(out), "--set", PIPE, "--allow-unredacted"])
        assert res.exit_code == 0, res.output
    assert (tmp_path / "A.ip-key").exists() and not (a / "A.ip-key").exists()
    ids_a = set(
        pq.read_table(sorted((a / "full").glob("*.parquet"))[0]).column("conversation_id").to_pylist()
    )
    ids_b = set(
        pq.read_table(sorted((b / "full").glob("*.parquet"))[0]).column("conversation_id").to_pylist()
    )
    assert ids_a and ids_a.isdisjoint(ids_b)
