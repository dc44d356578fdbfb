"""ShareGPT chunk joining and role rules; OASST tree flattening."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wildchat.formats import iter_conversations
from wildchat.formats.sharegpt import split_id
from wildchat.schema import Conversation
from wildchat.skips import SkipReport

Writer = Callable[[str, list[Any]], Path]


def _read(path: Path) -> tuple[list[Conversation], SkipReport]:
    report = SkipReport()
    return list(iter_conversations([path], report=report)), report


def _sg(rid: str, *turns: tuple[str, str]) -> dict[str, Any]:
    return {"id": rid, "conversations": [{"from": f, "value": v} for f, v in turns]}


def _texts(c: Conversation) -> list[str]:
    return [t.content for t in c.conversation]


# ---------------------------------------------------------------- sharegpt


def test_split_id() -> None:
    assert split_id("abc_12") == ("abc", 12)
    assert split_id("a_b_3") == ("a_b", 3)
    assert split_id("abc") == ("abc", None)
    assert split_id("abc_") == ("abc_", None)


def test_sharegpt_roles(json_array: Writer) -> None:
    path = json_array(
        "sg.json",
        [
            _sg("x", ("system", "s"), ("Human", "q"), ("chatgpt", "a"), ("user", "q2"), ("bard", "a2")),
            _sg("y", ("human", "q"), ("bing", "a"), ("assistant", "a again")),
            _sg("z", ("human", "q"), ("robot", "a")),
            _sg("w"),
        ],
    )
    convs, report = _read(path)
    assert len(convs) == 1
    assert [t.role for t in convs[0].conversation] == ["system", "user", "assistant", "user", "assistant"]
    assert convs[0].conversation_id == "x" and convs[0].turn == 2
    assert dict(report.skipped) == {"non_alternating_roles": 1, "bad_role": 1, "empty_conversation": 1}
    assert (
        report.examples["non_alternating_roles"][0]
        == f"{path}:2: message 2: expected role user, got assistant"
    )


def test_sharegpt_chunk_joining(json_array: Writer) -> None:
    records = [
        _sg("a_0", ("human", "a-q1"), ("gpt", "a-a1")),
        _sg("a_1", ("human", "a-q2"), ("gpt", "a-a2")),
        _sg("a_2", ("human", "a-q3"), ("gpt", "a-a3")),
        _sg("b_0", ("human", "b-q1"), ("gpt", "b-a1")),
        _sg("a_3", ("human", "a-q4"), ("gpt", "a-a4")),  # a again, but not adjacent: a fragment of its own
        _sg("c_0", ("human", "c-q1"), ("gpt", "c-a1")),
        _sg("c_2", ("human", "c-q3"), ("gpt", "c-a3")),  # gap (c_1 absent): not joined
        _sg("d_1", ("gpt", "d-a1"), ("human", "d-q2"), ("gpt", "d-a2")),  # start missing: repaired
        _sg("e_0", ("human", "e-q1"), ("gpt", "e-a1")),
        {"id": "e_1", "conversations": "broken"},  # bad chunk ends the run
        _sg("e_2", ("human", "e-q3"), ("gpt", "e-a3")),
    ]
    convs, report = _read(json_array("sg.json", records))
    assert report.read == len(records)
    got = {c.conversation_id: _texts(c) for c in convs}
    assert got == {
        "a": ["a-q1", "a-a1", "a-q2", "a-a2", "a-q3", "a-a3"],
        "b": ["b-q1", "b-a1"],
        "a_3": ["a-q4", "a-a4"],
        "c": ["c-q1", "c-a1"],
        "c_2": ["c-q3", "c-a3"],
        "d_1": ["d-q2", "d-a2"],
        "e": ["e-q1", "e-a1"],
        "e_2": ["e-q3", "e-a3"],
    }
    assert [c.conversation_id for c in convs] == ["a", "b", "a_3", "c", "c_2", "d_1", "e", "e_2"]
    assert dict(report.skipped) == {"bad_type": 1}
    assert dict(report.repaired) == {"dropped_leading_assistant": 1}


def test_sharegpt_joined_conversation_must_alternate(jsonl: Writer) -> None:
    path = jsonl(
        "sg.jsonl",
        [
            _sg("a_0", ("human", "q1"), ("gpt", "a1"), ("human", "q2")),
            _sg("a_1", ("gpt", "a2"), ("human", "q3"), ("gpt", "a3")),  # joins into a valid conversation
            _sg("d_1", ("gpt", "d-a1"), ("gpt", "d-a1b")),  # start missing, only assistant messages
            _sg("f_0", ("human", "q1"), ("gpt", "a1")),
            _sg("f_1", ("gpt", "a1 again"), ("human", "q2"), ("gpt", "a2")),  # joined: gpt, gpt
        ],
    )
    convs, report = _read(path)
    assert [c.conversation_id for c in convs] == ["a"]
    assert _texts(convs[0]) == ["q1", "a1", "q2", "a2", "q3", "a3"] and convs[0].turn == 3
    assert dict(report.skipped) == {"missing_earlier_chunk": 1, "non_alternating_roles": 1}
    assert report.examples["missing_earlier_chunk"][0].startswith(f"{path}:3:")
    assert report.examples["non_alternating_roles"][0].startswith(f"{path}:4:")  # reported at the run start
    assert report.n_repaired == 0  # nothing valid remained after dropping d_1's assistant messages


def test_sharegpt_leading_assistant_messages_dropped(jsonl: Writer) -> None:
    path = jsonl(
        "sg.jsonl",
        [
            _sg("p_3", ("gpt", "p-a0"), ("human", "p-q1"), ("gpt", "p-a1")),
            _sg("q_2", ("gpt", "q-a0")),  # only an assistant message: nothing left
            _sg("r_1", ("gpt", "r-a0"), ("bard", "r-a0b"), ("human", "r-q1"), ("gpt", "r-a1")),
            _sg("s", ("gpt", "s-a0"), ("human", "s-q1"), ("gpt", "s-a1")),  # no chunk suffix: same repair
            _sg("t_4", ("gpt", "t-a0"), ("human", "t-q1")),  # rest ends with an unanswered question
            _sg("u", ("gpt", "u-a0")),  # no suffix, nothing left: the as-written reason
        ],
    )
    convs, report = _read(path)
    got = {c.conversation_id: (_texts(c), c.turn) for c in convs}
    assert got == {
        "p_3": (["p-q1", "p-a1"], 1),
        "r_1": (["r-q1", "r-a1"], 1),
        "s": (["s-q1", "s-a1"], 1),
    }
    assert all(c.conversation[0].role == "user" for c in convs)
    assert dict(report.repaired) == {"dropped_leading_assistant": 3}
    assert report.repair_examples["dropped_leading_assistant"][0].startswith(f"{path}:1: dropped 1 ")
    assert report.repair_examples["dropped_leading_assistant"][1].startswith(f"{path}:3: dropped 2 ")
    assert dict(report.skipped) == {"missing_earlier_chunk": 2, "non_alternating_roles": 1}
    assert [e.split(":")[1] for e in report.examples["missing_earlier_chunk"]] == ["2", "5"]
    assert report.n_skipped + len(convs) == report.read == 6
    assert "repaired 3 (kept)" in report.summary()


# ---------------------------------------------------------------- oasst


def _msg(mid: str, role: str, text: str, *replies: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"message_id": mid, "role": role, "text": text, "lang": "en", "replies": list(replies), **kw}


def _tree() -> dict[str, Any]:
    """p0 -> (a1 -> (p2 -> (a3, a4[deleted]), p5), a6, a7[deleted] -> p8 -> a9)."""
    return _msg(
        "p0",
        "prompter",
        "root?",
        _msg(
            "a1",
            "assistant",
            "one",
            _msg(
                "p2",
                "prompter",
                "more?",
                _msg("a3", "assistant", "three", model_name="m-3"),
                _msg("a4", "assistant", "gone", deleted=True),
            ),
            _msg("p5", "prompter", "unanswered"),
        ),
        _msg("a6", "assistant", "six", lang="de", created_date="2023-02-01T10:00:00.5+00:00"),
        _msg(
            "a7",
            "assistant",
            "deleted",
            _msg("p8", "prompter", "x", _msg("a9", "assistant", "y")),
            deleted=True,
        ),
    )


def test_oasst_tree_paths(jsonl: Writer) -> None:
    path = jsonl("trees.jsonl", [{"message_tree_id": "p0", "tree_state": "ready", "prompt": _tree()}])
    convs, report = _read(path)
    assert [(c.conversation_id, _texts(c)) for c in convs] == [
        ("a3", ["root?", "one", "more?", "three"]),
        ("a6", ["root?", "six"]),
    ]
    assert report.read == 1
    assert dict(report.skipped) == {"deleted_message": 2, "unanswered_path": 1}
    a3, a6 = convs
    assert a3.model == "m-3" and a3.turn == 2 and a3.language == "English"
    assert a6.model is None and a6.conversation[1].language == "German"
    assert a6.timestamp is not None and a6.timestamp.microsecond == 500000
    assert a6.conversation[1].timestamp == a6.timestamp
    # Exchanges are identified by their assistant message: paths sharing "p0 -> a1" agree.
    assert a3.conversation[0].turn_identifier == a3.conversation[1].turn_identifier
    assert a3.conversation[0].turn_identifier != a6.conversation[0].turn_identifier


def test_oasst_flat_messages(jsonl: Writer) -> None:
    def flat(mid: str, parent: str | None, role: str, tree: str) -> dict[str, Any]:
        return {"message_id": mid, "parent_id": parent, "message_tree_id": tree, "role": role, "text": mid}

    path = jsonl(
        "messages.jsonl",
        [
            flat("t1", None, "prompter", "t1"),
            flat("t1a", "t1", "assistant", "t1"),
            flat("t1b", "t1", "assistant", "t1"),
            flat("t2", None, "prompter", "t2"),
            flat("t2a", "t2", "assistant", "t2"),
            flat("t2x", "nowhere", "assistant", "t2"),
            b"not json",
        ],
    )
    convs, report = _read(path)
    assert [(c.conversation_id, _texts(c)) for c in convs] == [
        ("t1a", ["t1", "t1a"]),
        ("t1b", ["t1", "t1b"]),
        ("t2a", ["t2", "t2a"]),
    ]
    assert dict(report.skipped) == {"orphan_message": 1, "bad_json": 1}
    assert report.examples["orphan_message"][0].startswith(f"{path}:6:")


def test_oasst_bad_trees(jsonl: Writer) -> None:
    bad_role = _msg("p0", "prompter", "q", _msg("a1", "moderator", "x"))
    no_text = _msg("p0", "prompter", "q", {"message_id": "a1", "role": "assistant", "replies": []})
    two_prompters = _msg("p0", "prompter", "q", _msg("p1", "prompter", "q2", _msg("a", "assistant", "a")))
    path = jsonl(
        "t.jsonl",
        [{"message_tree_id": "1", "prompt": t} for t in (bad_role, no_text, two_prompters)] + [["x"]],
    )
    convs, report = _read(path)
    assert convs == []
    assert dict(report.skipped) == {
        "bad_role": 1,
        "missing_field": 1,
        "non_alternating_roles": 1,
        "bad_type": 1,
    }


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 3)), max_size=12))
def test_sharegpt_joining_matches_reference(chunks: list[tuple[str, int]]) -> None:
    """Streaming joiner == a plain reference: group adjacent same-base records with k + 1."""
    import json
    import tempfile

    records = [_sg(f"{b}_{k}", ("human", f"{i}q"), ("gpt", f"{i}a")) for i, (b, k) in enumerate(chunks)]
    expected: list[tuple[str, list[str]]] = []
    prev: tuple[str, int] | None = None
    for i, (b, k) in enumerate(chunks):
        if prev is not None and prev[0] == b and k == prev[1] + 1:
            expected[-1][1].extend([f"{i}q", f"{i}a"])
        else:
            expected.append((b if k == 0 else f"{b}_{k}", [f"{i}q", f"{i}a"]))
        prev = (b, k)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sg.json"
        path.write_text(json.dumps(records))
        convs, report = _read(path) if records else ([], SkipReport())
    assert [(c.conversation_id, _texts(c)) for c in convs] == expected
    assert report.n_skipped == 0
