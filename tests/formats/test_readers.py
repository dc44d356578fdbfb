"""Per-format readers on small hand-made inputs, including every bad-input case."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from wildchat.formats import iter_conversations
from wildchat.schema import Conversation
from wildchat.skips import SkipReport

Writer = Callable[[str, list[Any]], Path]


def _read(path: Path, fmt: str | None = None) -> tuple[list[Conversation], SkipReport]:
    report = SkipReport()
    return list(iter_conversations([path], format=fmt, report=report)), report


def _msgs(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"role": r, "content": c} for r, c in pairs]


def _hash(pairs: list[tuple[str, str]]) -> str:
    text = json.dumps([{"content": c, "role": r} for r, c in pairs])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# ---------------------------------------------------------------- lmsys


def test_lmsys_fields_and_moderation(jsonl: Writer) -> None:
    mod = {
        "categories": {"harassment": False, "hate/threatening": True, "not-a-category": True},
        "category_scores": {"harassment": 0.25, "hate/threatening": 1},
        "flagged": True,
    }
    rec = {
        "conversation_id": "abc123",
        "model": "vicuna-13b",
        "turn": 99,  # wrong on purpose: recomputed
        "language": "English",
        "conversation": _msgs(("user", "q1"), ("assistant", "a1"), ("user", "q2"), ("assistant", "a2")),
        "openai_moderation": [mod] * 4,
        "redacted": True,
    }
    (conv,), report = _read(jsonl("lmsys.jsonl", [rec]))
    assert report.read == 1 and report.n_skipped == 0
    assert conv.conversation_id == "abc123"
    assert conv.model == "vicuna-13b" and conv.language == "English" and conv.redacted is True
    assert conv.turn == 2
    assert [(t.role, t.content) for t in conv.conversation] == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("assistant", "a2"),
    ]
    assert conv.conversation_hash == _hash(
        [("user", "q1"), ("assistant", "a1"), ("user", "q2"), ("assistant", "a2")]
    )
    assert conv.openai_moderation is not None and len(conv.openai_moderation) == 4
    m = conv.openai_moderation[0]
    assert m.categories == {"harassment": False, "hate/threatening": True}
    assert m.category_scores == {"harassment": 0.25, "hate/threatening": 1.0}
    assert m.flagged is True
    # Both turns of an exchange share a turn_identifier; exchanges differ.
    ids = [t.turn_identifier for t in conv.conversation]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]
    assert conv.timestamp is None and conv.toxic is None and conv.detoxify_moderation is None


def test_lmsys_bad_records(jsonl: Writer) -> None:
    good = {"conversation_id": "ok", "conversation": _msgs(("user", "q"), ("assistant", "a"))}
    path = jsonl(
        "lmsys.jsonl",
        [
            good,
            b'{"conversation_id": "x", "conversation": [',  # invalid JSON
            {"conversation_id": "t", "conversation": "not a list"},  # wrong type
            {"conversation_id": "m"},  # missing field
            b'{"conversation_id": "u", "conversation": [{"role": "user", "content": "\xc3\x28"}]}',
            {"conversation_id": "r", "conversation": _msgs(("user", "q"), ("user", "q"), ("assistant", "a"))},
            {"conversation_id": "e", "conversation": _msgs(("user", "q"))},  # unanswered
            {"conversation_id": "o", "conversation": _msgs(("user", "q"), ("assistant", "a")), "model": 3},
            {"conversation_id": "k", "conversation": [{"role": "tool", "content": "x"}]},
            {
                **good,
                "conversation_id": "mm",
                "openai_moderation": [{"flagged": True}],
            },  # 1 entry for 2 turns
        ],
    )
    convs, report = _read(path)
    assert [c.conversation_id for c in convs] == ["ok"]
    assert report.read == 10
    assert dict(report.skipped) == {
        "bad_json": 1,
        "bad_type": 3,
        "missing_field": 1,
        "bad_utf8": 1,
        "non_alternating_roles": 2,
        "bad_role": 1,
    }
    assert report.examples["bad_json"][0].startswith(f"{path}:2:")
    assert report.examples["bad_utf8"][0].startswith(f"{path}:5:")
    assert report.examples["missing_field"][0] == f"{path}:4: conversation: required"


# ---------------------------------------------------------------- openai


def test_openai_messages(jsonl: Writer) -> None:
    path = jsonl(
        "ft.jsonl",
        [
            {"messages": _msgs(("system", "be nice"), ("user", "hi"), ("assistant", "hello"))},
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                    },
                    {"role": "assistant", "content": "ok"},
                ]
            },
            {"messages": [{"role": "user", "content": "x"}, {"role": "tool", "content": "y"}]},
            {"messages": [{"role": "user", "content": None}, {"role": "assistant", "content": "y"}]},
            {"messages": _msgs(("assistant", "first"), ("user", "q"))},
        ],
    )
    convs, report = _read(path)
    assert len(convs) == 2
    first = convs[0]
    assert [t.role for t in first.conversation] == ["system", "user", "assistant"]
    assert first.turn == 1
    # A leading system turn belongs to the first exchange.
    assert first.conversation[0].turn_identifier == first.conversation[1].turn_identifier is not None
    assert first.conversation_id == "ft.jsonl-1" and convs[1].conversation_id == "ft.jsonl-2"
    assert convs[1].conversation[0].content == "a\nb"
    assert dict(report.skipped) == {"bad_role": 1, "missing_field": 1, "non_alternating_roles": 1}


# ---------------------------------------------------------------- alpaca / dolly


def test_alpaca_with_and_without_input(json_array: Writer) -> None:
    path = json_array(
        "alpaca.json",
        [
            {"instruction": "Translate.", "input": "bonjour", "output": "hello"},
            {"instruction": "Say hi.", "input": "", "output": "hi"},
            {"instruction": "Say hi.", "input": "   ", "output": "hi"},
            {"instruction": "No output."},
            {"instruction": "", "input": "", "output": "x"},
            {"instruction": 5, "input": "", "output": "x"},
            ["not", "an", "object"],
        ],
    )
    convs, report = _read(path)
    assert [c.conversation[0].content for c in convs] == ["Translate.\n\nbonjour", "Say hi.", "Say hi."]
    assert [c.conversation[1].content for c in convs] == ["hello", "hi", "hi"]
    assert all(c.turn == 1 and c.model is None for c in convs)
    assert [c.conversation_id for c in convs] == ["alpaca.json-1", "alpaca.json-2", "alpaca.json-3"]
    assert report.read == 7
    assert dict(report.skipped) == {"missing_field": 1, "empty_content": 1, "bad_type": 2}
    assert report.examples["missing_field"][0].startswith(f"{path}:4:")


def test_json_array_invalid_utf8_skips_only_that_element(tmp_path: Path) -> None:
    path = tmp_path / "alpaca.json"
    items = [b'{"instruction": "a", "input": "", "output": "o"}'] * 3
    items[1] = items[1].replace(b'"a"', b'"\xe9t\xe9"')  # Latin-1 bytes, not UTF-8
    path.write_bytes(b"[" + b",\n".join(items) + b"]")
    convs, report = _read(path)
    assert [c.conversation_id for c in convs] == ["alpaca.json-1", "alpaca.json-3"]
    assert report.read == 3 and dict(report.skipped) == {"bad_utf8": 1}
    assert report.examples["bad_utf8"] == [f"{path}:2: invalid UTF-8 in this element"]


def test_alpaca_jsonl_and_forced_format(jsonl: Writer) -> None:
    path = jsonl("a.jsonl", [{"instruction": "i", "input": "x", "output": "o"}])
    (conv,), _ = _read(path, "alpaca")
    assert conv.conversation[0].content == "i\n\nx"


def test_dolly(jsonl: Writer) -> None:
    path = jsonl(
        "dolly.jsonl",
        [
            {
                "instruction": "Who?",
                "context": "Ada wrote notes.",
                "response": "Ada",
                "category": "closed_qa",
            },
            {"instruction": "Name a colour.", "context": "", "response": "Blue", "category": "brainstorming"},
            {"instruction": "Broken", "context": "", "category": "x"},
        ],
    )
    convs, report = _read(path)
    assert [c.conversation[0].content for c in convs] == ["Who?\n\nAda wrote notes.", "Name a colour."]
    assert [c.conversation[1].content for c in convs] == ["Ada", "Blue"]
    assert dict(report.skipped) == {"missing_field": 1}


# ---------------------------------------------------------------- wildchat


def _firstturn_table(n: int) -> pa.Table:
    return pa.table(
        {
            "prompt": [f"p{i}" for i in range(n)],
            "response": [f"r{i}" for i in range(n)],
            "model": ["gpt-4-0314"] * n,
            "timestamp": pa.array([datetime(2023, 4, 9, 0, 4, i) for i in range(n)], pa.timestamp("us")),
            "language": ["Russian"] * n,
        }
    )


def test_wildchat_firstturn(tmp_path: Path) -> None:
    path = tmp_path / "first.parquet"
    pq.write_table(_firstturn_table(3), path)
    convs, report = _read(path)
    assert report.read == 3 and len(convs) == 3
    c = convs[2]
    assert [(t.role, t.content) for t in c.conversation] == [("user", "p2"), ("assistant", "r2")]
    assert c.language == "Russian" and all(t.language == "Russian" for t in c.conversation)
    assert c.timestamp == datetime(2023, 4, 9, 0, 4, 2, tzinfo=UTC)
    assert c.conversation[1].timestamp == c.timestamp and c.conversation[0].timestamp is None
    assert c.model == "gpt-4-0314" and c.turn == 1
    assert c.conversation_hash == _hash([("user", "p2"), ("assistant", "r2")])


def test_wildchat_release_jsonl(jsonl: Writer) -> None:
    user = {
        "content": "hi",
        "role": "user",
        "language": "English",
        "country": "France",
        "state": "Île-de-France",
        "hashed_ip": "h1",
        "header": {"accept-language": "fr", "user-agent": "UA"},
        "turn_identifier": 42,
        "toxic": False,
        "redacted": False,
    }
    bot = {"content": "hello", "role": "assistant", "turn_identifier": 42, "timestamp": 1682000000000}
    rec = {
        "conversation_hash": "0" * 32,
        "model": "gpt-3.5-turbo",
        "timestamp": "2023-04-20T14:13:20Z",
        "conversation": [user, bot],
        "turn": 1,
        "detoxify_moderation": [{"toxicity": 0.5, "insult": 0.1}, {"toxicity": 0.0}],
        "toxic": True,
        "header": {"accept-language": "fr", "user-agent": "UA"},
    }
    bad_turn = {**rec, "conversation": [{**user, "turn_identifier": "x"}, bot]}
    (conv,), report = _read(jsonl("wc.jsonl", [rec, bad_turn, {"model": "m"}]))
    assert conv.conversation_hash == "0" * 32  # kept from the source
    assert conv.conversation_id == "wc.jsonl-1"
    assert conv.timestamp == datetime(2023, 4, 20, 14, 13, 20, tzinfo=UTC)
    assert conv.conversation[1].timestamp == datetime(2023, 4, 20, 14, 13, 20, tzinfo=UTC)  # epoch ms
    u = conv.conversation[0]
    assert (u.country, u.state, u.hashed_ip, u.turn_identifier) == ("France", "Île-de-France", "h1", 42)
    assert u.header is not None and u.header.accept_language == "fr" and u.header.user_agent == "UA"
    assert conv.detoxify_moderation is not None and conv.detoxify_moderation[0].toxicity == 0.5
    assert conv.detoxify_moderation[1].insult is None
    assert conv.toxic is True
    assert dict(report.skipped) == {"bad_type": 1, "missing_field": 1}


def test_wildchat_release_parquet_round_trip(tmp_path: Path, jsonl: Writer) -> None:
    """Our own release Parquet reads back as the same conversations."""
    from wildchat.formats import iter_batches, write_parquet

    src = jsonl(
        "l.jsonl",
        [
            {
                "conversation_id": "a",
                "conversation": _msgs(("user", "q"), ("assistant", "a")),
                "redacted": False,
            },
            {"conversation_id": "b", "conversation": _msgs(("user", "é"), ("assistant", "ü"))},
        ],
    )
    first, _ = _read(src)
    out = tmp_path / "release" / "full"
    out.mkdir(parents=True)
    assert write_parquet(iter_batches([src]), out / "part-0.parquet") == 2
    again, report = _read(tmp_path / "release")  # a release folder resolves to full/*.parquet
    assert again == first and report.n_skipped == 0
