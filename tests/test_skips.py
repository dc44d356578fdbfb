"""Skip accounting adds up across workers and keeps bounded examples."""

from __future__ import annotations

from wildchat.skips import MAX_EXAMPLES, SkipReport


def test_skip_counts_and_examples_with_location() -> None:
    rep = SkipReport(read=3)
    rep.skip("bad_json", "invalid JSON", source="a.jsonl", line=2)
    rep.skip("bad_json", "invalid JSON", source="a.jsonl", line=9)
    rep.skip("bad_role", "messages[0].role")
    assert rep.n_skipped == 3
    assert rep.skipped["bad_json"] == 2
    assert rep.examples["bad_json"] == ["a.jsonl:2: invalid JSON", "a.jsonl:9: invalid JSON"]
    assert rep.examples["bad_role"] == ["<input>: messages[0].role"]
    d = rep.to_dict()
    assert d["skipped"] == 3 and d["skipped_by_reason"] == {"bad_json": 2, "bad_role": 1}


def test_merge_sums_counts_and_caps_examples() -> None:
    a, b = SkipReport(read=10, written=8), SkipReport(read=5, written=5)
    for i in range(MAX_EXAMPLES):
        a.skip("x", "m", line=i)
        b.skip("x", "m", line=100 + i)
    a.merge(b)
    assert (a.read, a.written, a.skipped["x"]) == (15, 13, 2 * MAX_EXAMPLES)
    assert len(a.examples["x"]) == MAX_EXAMPLES


def test_summary_mentions_every_reason() -> None:
    rep = SkipReport(read=2, written=1)
    rep.skip("missing_field", "timestamp: required", source="f", line=1)
    text = rep.summary()
    assert "read 2, wrote 1, skipped 1" in text
    assert "missing_field: 1" in text and "f:1" in text


def test_repairs_are_counted_apart_from_skips() -> None:
    rep = SkipReport(read=2, written=2)
    assert "repaired" not in rep.summary()  # no line while there are none
    rep.repair("dropped_leading_assistant", "dropped 1 message", source="s.json", line=4)
    assert rep.n_skipped == 0 and rep.n_repaired == 1 and not rep.examples
    assert rep.repair_examples == {"dropped_leading_assistant": ["s.json:4: dropped 1 message"]}
    d = rep.to_dict()
    assert d["skipped"] == 0 and d["skipped_by_reason"] == {}
    assert d["repaired"] == 1 and d["repaired_by_reason"] == {"dropped_leading_assistant": 1}
    text = rep.summary()
    assert "skipped 0" in text and "repaired 1" in text and "dropped_leading_assistant: 1" in text
    assert "s.json:4" in text


def test_merge_adds_repairs_and_caps_their_examples() -> None:
    a, b = SkipReport(), SkipReport()
    for i in range(MAX_EXAMPLES):
        a.repair("r", "m", line=i)
        b.repair("r", "m", line=100 + i)
    b.skip("x", "m")
    a.merge(b)
    assert a.repaired["r"] == 2 * MAX_EXAMPLES and a.skipped["x"] == 1
    assert len(a.repair_examples["r"]) == MAX_EXAMPLES
    assert a.to_dict()["repaired_by_reason"] == {"r": 2 * MAX_EXAMPLES}
    assert SkipReport().merge(b).repair_examples["r"][0] == "<input>:100: m"


def test_count_adds_n_skips_with_one_example_each_call() -> None:
    rep = SkipReport()
    rep.count("prefix_log", 3, "3 log(s): merged into a longer log", "<logs>")
    rep.count("prefix_log", 2, "2 log(s): merged into a longer log", "<logs>")
    rep.count("duplicate_log", 0, "never kept", "<logs>")
    assert rep.skipped == {"prefix_log": 5} and rep.n_skipped == 5
    merged = ["<logs>: 3 log(s): merged into a longer log", "<logs>: 2 log(s): merged into a longer log"]
    assert rep.examples == {"prefix_log": merged}
    for _ in range(MAX_EXAMPLES + 3):
        rep.count("prefix_log", 1, "m")
    assert rep.skipped["prefix_log"] == 5 + MAX_EXAMPLES + 3
    assert len(rep.examples["prefix_log"]) == MAX_EXAMPLES


def test_from_dict_reads_back_what_to_dict_wrote() -> None:
    rep = SkipReport(read=7, written=4)
    rep.skip("bad_json", "line is not JSON", source="a.jsonl", line=3)
    rep.skip("bad_json", "line is not JSON", source="a.jsonl", line=5)
    rep.skip("bad_role", "messages[0].role")
    rep.repair("dropped_leading_assistant", "dropped 1 message", source="s.json", line=4)
    back = SkipReport.from_dict(rep.to_dict())
    assert back == rep
    assert back.to_dict() == rep.to_dict()
    assert back.summary() == rep.summary()
    assert SkipReport.from_dict({}) == SkipReport()
    assert SkipReport.from_dict({"read": "2", "skipped_by_reason": {"x": "3"}}).skipped == {"x": 3}
