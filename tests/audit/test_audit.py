"""`wildchat audit`: the contract from the CLI, bad input, locations without values, quasi-identifiers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.audit.audit_helpers import EMAIL, FAST, PHONE, SECRET, audit, conversation, curate, write_release
from wildchat.audit import AuditInputError, audit_release, open_release
from wildchat.audit.linkage import QuasiCounter


def _report(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_unredacted_release_fails_with_kinds_and_no_values(log_file: Path, tmp_path: Path) -> None:
    rel = tmp_path / "R"
    curate(log_file, rel, "k1", "--set", FAST, "--allow-unredacted")
    out = tmp_path / "audit.json"
    res = audit(str(rel), "--json", str(out), "--no-names")
    assert res.exit_code == 1, res.output
    doc = _report(out)
    for kind in ("secrets", "emails", "phones"):
        assert doc[kind]["blocking"] >= 2, (kind, doc[kind])  # once per split
        assert doc[kind]["by_split"] == {"full": doc[kind]["count"] // 2, "public": doc[kind]["count"] // 2}
        loc = doc[kind]["locations"][0]
        assert set(loc) >= {"split", "conversation_id", "turn", "field"} and loc["field"] == "content"
    assert doc["pii_redacted"] is False and doc["exit_code"] == 1
    text = out.read_text(encoding="utf-8") + res.output
    assert SECRET not in text and EMAIL not in text and PHONE not in text and SECRET[:12] not in text


def test_pii_stage_release_is_clean(log_file: Path, tmp_path: Path) -> None:
    rel = tmp_path / "R"
    stages = 'pipeline.stages=["consent", "roles", "empty", "privacy", "pii"]'
    curate(log_file, rel, "k1", "--set", stages)
    out = tmp_path / "audit.json"
    res = audit(str(rel), "--json", str(out))
    assert res.exit_code == 0, res.output
    doc = _report(out)
    assert doc["secrets"]["count"] == doc["emails"]["count"] == doc["phones"]["blocking"] == 0
    assert doc["status"] == "clean"


@pytest.mark.slow
def test_default_release_of_the_same_logs_is_clean(log_file: Path, tmp_path: Path) -> None:
    rel = tmp_path / "R"
    curate(log_file, rel, "k1")
    res = audit(str(rel), "--json", str(tmp_path / "a.json"))
    assert res.exit_code == 0, res.output


def test_releases_under_two_keys_share_nothing_but_one_key_twice_does(log_file: Path, tmp_path: Path) -> None:
    stages = 'pipeline.stages=["consent", "roles", "empty", "privacy", "pii"]'
    a, b, c = tmp_path / "A", tmp_path / "B", tmp_path / "C"
    curate(log_file, a, "key-one", "--set", stages)
    curate(log_file, b, "key-two", "--set", stages)
    res = audit(str(b), "--previous", str(a), "--json", str(tmp_path / "ab.json"), "--no-names")
    assert res.exit_code == 0, res.output
    shared = _report(tmp_path / "ab.json")["previous"][0]["ids"]
    assert {k: v["shared"] for k, v in shared.items()} == {
        "conversation_ids": 0,
        "turn_identifiers": 0,
        "hashed_ips": 0,
    }
    curate(log_file, c, "key-one", "--set", stages)
    res = audit(str(c), "--previous", str(a), "--json", str(tmp_path / "ac.json"), "--no-names")
    assert res.exit_code == 1
    shared = _report(tmp_path / "ac.json")["previous"][0]["ids"]
    assert shared["conversation_ids"]["shared"] == 12 and shared["hashed_ips"]["shared"] == 5


def test_every_text_field_is_scanned_system_turns_and_headers(tmp_path: Path) -> None:
    conv = conversation("c1", [("system", f"internal key {SECRET}"), ("user", "hi"), ("assistant", "hello")],
                        ua="Mozilla/5.0 (X11) Chrome/120.0.0.0 from 8.8.8.8")  # fmt: skip
    rel = write_release(tmp_path / "R", [conv])
    report = audit_release(rel, names=False).to_json()
    assert report["secrets"]["locations"][0] == {"split": "full", "conversation_id": "c1", "turn": 0,
                                                 "field": "content", "blocking": True}  # fmt: skip
    fields = {(loc["turn"], loc["field"]) for loc in report["ips"]["locations"]}
    assert (1, "header.user-agent") in fields and (None, "header.user-agent") in fields
    assert report["ips"]["count"] == 4  # user turn + conversation header, both splits; not Chrome/120.0.0.0


def test_private_ips_placeholder_emails_and_cueless_phones_do_not_block(tmp_path: Path) -> None:
    text = "server 192.168.1.10 and 10.0.0.2, write to test@example.com, order 555 867 5309"
    rel = write_release(tmp_path / "R", [conversation("c1", [("user", text), ("assistant", "ok")])])
    report = audit_release(rel, names=False)
    assert report.exit_code == 0, report.to_json()
    assert report.kinds["ips"].count == 0
    strict = audit_release(rel, names=False, strict=True)
    assert strict.kinds["emails"].blocking == 2 and strict.exit_code == 1


@pytest.mark.parametrize("breakage", ["no_stats", "old_format", "missing_split", "corrupt", "count_mismatch"])
def test_bad_input_exits_2_naming_the_file_and_writes_nothing(tmp_path: Path, breakage: str) -> None:
    rel = write_release(tmp_path / "R", [conversation("c1", [("user", "hi"), ("assistant", "yo")])])
    stats = json.loads((rel / "stats.json").read_text())
    named = rel / "stats.json"
    if breakage == "no_stats":
        named.unlink()
        named = rel
    elif breakage == "old_format":
        del stats["release_format"]
        named.write_text(json.dumps(stats))
    elif breakage == "missing_split":
        for f in (rel / "public").iterdir():
            f.unlink()
        (rel / "public").rmdir()
        named = rel / "public"
    elif breakage == "corrupt":
        named = rel / "public" / "part-00000.parquet"
        named.write_bytes(b"PAR1 not really parquet")
    else:
        stats["release"]["full"] = 5
        named.write_text(json.dumps(stats))
        named = rel / "full"
    out = tmp_path / "audit.json"
    res = audit(str(rel), "--json", str(out))
    assert res.exit_code == 2, res.output
    assert str(named) in res.output
    assert not out.exists()


def test_previous_release_is_validated_too(tmp_path: Path) -> None:
    rel = write_release(tmp_path / "R", [conversation("c1", [("user", "hi"), ("assistant", "yo")])])
    with pytest.raises(AuditInputError, match="not a release"):
        audit_release(rel, [tmp_path], names=False)
    assert open_release(rel).rows == {"full": 1, "public": 1}


def test_quasi_identifiers_unique_share_and_k_distribution(tmp_path: Path) -> None:
    convs = [
        conversation(f"c{i}", [("user", "hi"), ("assistant", "yo")], user=f"u{i}", ua="Chrome")
        for i in range(6)
    ]
    convs.append(conversation("x", [("user", "hi"), ("assistant", "yo")], user="lonely", ua="Rare/1.0"))
    convs.append(conversation("y", [("user", "hi"), ("assistant", "yo")], user="u0", ua="Chrome"))
    rel = write_release(tmp_path / "R", convs)
    q = audit_release(rel, names=False).quasi
    assert q["users"] == 7 and q["unique_users"] == 1
    assert q["k_distribution"] == {"1": 1, "2-4": 0, "5-9": 6, "10-49": 0, "50+": 0}
    assert q["warning"] is None  # 1/7 < 20 %
    counter = QuasiCounter()
    assert counter.report()["users"] == 0


def test_high_uniqueness_warns_and_recommends_headers_but_passes(tmp_path: Path) -> None:
    convs = [
        conversation(f"c{i}", [("user", "hi"), ("assistant", "yo")], user=f"u{i}", ua=f"UA/{i}")
        for i in range(5)
    ]
    rel = write_release(tmp_path / "R", convs)
    report = audit_release(rel, names=False)
    assert report.quasi["unique_share"] == 1.0 and report.exit_code == 0
    assert any("headers" in r for r in report.recommendations())


def test_unredacted_names_after_a_cue_block(tmp_path: Path) -> None:
    text = "Hello, my name is Margaret Hamilton and I need a cover letter for a software job."
    redacted = "Hello, my name is <PRESIDIO_ANONYMIZED_PERSON> and I need a cover letter for a software job."
    raw = write_release(tmp_path / "R", [conversation("c1", [("user", text), ("assistant", "Sure.")])])
    report = audit_release(raw)
    if report.names_skipped:
        pytest.skip(report.names_skipped)
    assert report.kinds["names"].blocking == 2 and report.exit_code == 1
    clean = write_release(tmp_path / "C", [conversation("c1", [("user", redacted), ("assistant", "Sure.")])])
    assert audit_release(clean).kinds["names"].count == 0
    assert "Margaret" not in json.dumps(report.to_json())


def test_public_rows_are_reused_only_when_identical(tmp_path: Path) -> None:
    """A public row equal to its full row counts the full row's findings; a changed one is rescanned."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from wildchat.schema import release_schema, to_row

    same = conversation("same", [("user", f"my key {SECRET}"), ("assistant", "ok")])
    full_b = conversation("b", [("user", "nothing here"), ("assistant", "ok")])
    public_b = conversation("b", [("user", f"write to {EMAIL}"), ("assistant", "ok")])  # same id, new text
    rel = write_release(tmp_path / "R", [same, full_b])
    table = pa.Table.from_pylist([to_row(c) for c in (same, public_b)], schema=release_schema())
    pq.write_table(table, rel / "public" / "part-00000.parquet", compression="gzip")  # not a byte copy
    doc = audit_release(rel, names=False).to_json()
    assert doc["secrets"]["by_split"] == {"full": 1, "public": 1}
    assert doc["emails"]["by_split"] == {"full": 0, "public": 1}
    assert doc["emails"]["locations"][0]["conversation_id"] == "b"


def test_workers_give_the_same_report(tmp_path: Path) -> None:
    convs = [conversation(f"c{i}", [("user", f"mail {i}: {EMAIL}"), ("assistant", "ok")]) for i in range(4)]
    rel = tmp_path / "R"
    write_release(rel, convs[:2])
    import shutil

    for split in ("full", "public"):  # a second shard in each split
        shutil.copy(rel / split / "part-00000.parquet", rel / split / "part-00001.parquet")
    stats = json.loads((rel / "stats.json").read_text())
    stats["release"] = {"full": 4, "public": 4}
    (rel / "stats.json").write_text(json.dumps(stats))
    one = audit_release(rel, names=False, workers=1).to_json()
    two = audit_release(rel, names=False, workers=2).to_json()
    assert one["emails"]["count"] == two["emails"]["count"] == 8
    assert one == two


def test_curate_prints_the_audit_summary_line(log_file: Path, tmp_path: Path) -> None:
    unsafe = curate(log_file, tmp_path / "U", "k1", "--set", FAST, "--allow-unredacted")
    line = next(x for x in unsafe.splitlines() if x.startswith("audit: "))
    assert "to fix" in line and "secrets 2" in line and SECRET not in unsafe
    stages = 'pipeline.stages=["consent", "roles", "empty", "privacy", "pii"]'
    safe = curate(log_file, tmp_path / "S", "k1", "--set", stages)
    assert any(x.startswith("audit: clean") for x in safe.splitlines()), safe
