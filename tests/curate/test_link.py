"""Linking and prefix dedup on hand-made logs with exactly known conversations."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders.conversations import Logs
from tests.curate.curate_helpers import read_full, texts
from wildchat.curate.link.logs import LinkOptions, conversations_from_logs
from wildchat.schema import Conversation
from wildchat.skips import SkipReport


def link(logs: Logs, **opts: str) -> tuple[list[Conversation], SkipReport]:
    report = SkipReport()
    convs = list(conversations_from_logs(logs.raw_logs(), report, LinkOptions(**opts) if opts else None))
    return convs, report


def pairs(c: Conversation) -> list[tuple[str, str]]:
    return [(t.role, t.content) for t in c.conversation]


def test_same_opener_from_many_users_stays_many_conversations(logs: Logs) -> None:
    for i in range(50):
        logs.add(["hi"], "Hello! How can I help?", ip=f"198.51.100.{i + 1}")
    convs, report = link(logs)
    assert len(convs) == 50
    assert all(pairs(c) == [("user", "hi"), ("assistant", "Hello! How can I help?")] for c in convs)
    assert len({c.conversation_id for c in convs}) == 50
    assert len({c.conversation[0].turn_identifier for c in convs}) == 50
    assert report.n_skipped == 0
    # same IP but different browsers are different sessions too
    logs2 = Logs()
    logs2.add(["hi"], "Hello", ua="Firefox")
    logs2.add(["hi"], "Hello", ua="Chrome")
    assert len(link(logs2)[0]) == 2


def test_prefix_dedup_within_a_session_keeps_the_longest_chain(logs: Logs) -> None:
    logs.add(["q1"], "a1", minute=1, ip="203.0.113.1")
    logs.add(["q1", "a1", "q2"], "a2", minute=2, ip="203.0.113.2", conversation_id="c-1")
    logs.rows[0]["conversation_id"] = "c-1"
    logs.add(["q1", "a1", "q2", "a2", "q3"], "a3", minute=3, ip="203.0.113.3", conversation_id="c-1")
    convs, report = link(logs)
    assert len(convs) == 1
    c = convs[0]
    assert pairs(c) == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("assistant", "a2"),
        ("user", "q3"),
        ("assistant", "a3"),
    ]
    assert c.turn == 3
    assert report.skipped["prefix_log"] == 2
    # each exchange keeps its own request's timestamp; both turns share one turn_identifier
    stamps = [t.timestamp.minute for t in c.conversation if t.role == "assistant"]  # type: ignore[union-attr]
    assert stamps == [1, 2, 3]
    ids = [t.turn_identifier for t in c.conversation]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[4] == ids[5] and len(set(ids)) == 3
    assert all(isinstance(i, int) and 0 <= i < 2**63 for i in ids)
    assert c.timestamp is not None and c.timestamp.minute == 3
    assert c.conversation_id is not None and len(c.conversation_id) == 32


def test_prefix_of_another_session_is_not_merged(logs: Logs) -> None:
    logs.add(["q1"], "a1", ip="203.0.113.1")
    logs.add(["q1", "a1", "q2"], "a2", ip="203.0.113.99")  # another user replays the same history
    convs, report = link(logs)
    assert sorted(len(c.conversation) for c in convs) == [2, 4]
    assert report.n_skipped == 0


@pytest.mark.parametrize(("policy", "expected"), [("keep", 2), ("longest", 1), ("drop", 0)])
def test_regenerations_are_branches(logs: Logs, policy: str, expected: int) -> None:
    logs.add(["tell me a joke"], "joke A", minute=1)
    logs.add(["tell me a joke"], "joke B", minute=2)  # regenerate
    logs.add(["tell me a joke", "joke B", "another"], "joke C", minute=3)  # continue branch B
    convs, report = link(logs, branches=policy)
    assert len(convs) == expected
    if policy == "keep":
        got = sorted(pairs(c)[1][1] for c in convs)
        assert got == ["joke A", "joke B"]
    if policy == "longest":
        assert pairs(convs[0])[-1] == ("assistant", "joke C")
        assert report.skipped["branch_shorter"] == 1
    if policy == "drop":
        assert report.skipped["branch"] == 2
    assert report.skipped["prefix_log"] == 1  # "joke B" alone is a prefix of the continued branch


@pytest.mark.parametrize("reason", ["error", "timeout", "client_disconnect"])
def test_failed_stream_then_retry_the_retry_wins(logs: Logs, reason: str) -> None:
    logs.add(["write a poem"], "Roses are", minute=1, finish_reason=reason)
    logs.add(["write a poem"], "Roses are red, violets are blue", minute=2)
    convs, report = link(logs)
    assert [pairs(c) for c in convs] == [
        [("user", "write a poem"), ("assistant", "Roses are red, violets are blue")]
    ]
    assert report.skipped["failed_retried"] == 1


def test_failed_stream_without_retry_is_kept_and_success_is_not_a_retry(logs: Logs) -> None:
    logs.add(["a"], "partial", minute=1, finish_reason="timeout")
    logs.add(["b"], "full answer", minute=2)
    logs.add(["b"], "another answer", minute=3)  # regeneration of a *successful* reply: a branch
    convs, report = link(logs)
    assert sorted(pairs(c)[1][1] for c in convs) == ["another answer", "full answer", "partial"]
    assert report.skipped["failed_retried"] == 0


def test_same_content_repeated_within_a_session_is_counted_once(logs: Logs) -> None:
    for minute in (1, 2, 3):
        logs.add(["ping"], "pong", minute=minute)
    convs, report = link(logs)
    assert len(convs) == 1
    assert report.skipped["duplicate_log"] == 2
    assert convs[0].conversation[1].timestamp.minute == 1  # type: ignore[union-attr]  # the earliest is kept


def test_conversation_id_links_across_ip_changes(logs: Logs) -> None:
    logs.add(["q1"], "a1", ip="203.0.113.1", conversation_id="X")
    logs.add(["q1", "a1", "q2"], "a2", ip="198.51.100.7", conversation_id="X")
    logs.add(["q1"], "a1", ip="203.0.113.1", conversation_id="Y")  # same text, another chat
    convs, _ = link(logs)
    assert sorted(len(c.conversation) for c in convs) == [2, 4]


def test_missing_link_takes_metadata_from_the_next_log(logs: Logs) -> None:
    logs.add(["q1", "a1", "q2"], "a2", minute=5)  # the log for exchange 1 was never stored
    convs, _ = link(logs)
    (c,) = convs
    assert [t.timestamp.minute for t in c.conversation if t.role == "assistant"] == [5, 5]  # type: ignore[union-attr]


def test_duplicate_request_ids_across_files_keep_the_first(logs: Logs, tmp_path: Path, curate) -> None:  # type: ignore[no-untyped-def]
    logs.add(["one"], "1")
    a = logs.write(tmp_path / "in" / "a.jsonl")
    logs.rows[0]["messages"][0]["content"] = "changed"
    b = logs.write(tmp_path / "in" / "b.jsonl")
    res = curate([a, b])
    assert res.stats["link"]["dropped"] == {"duplicate_request_id": 1}
    assert [texts(c) for c in read_full(res.out)] == [[("user", "one"), ("assistant", "1")]]
