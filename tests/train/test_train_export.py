"""`wildchat export-sft`: the output contract per format, counted drops, the held-out split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.builders.releases import write_release
from tests.train.train_helpers import conversation
from wildchat.cli.main import app
from wildchat.formats import iter_conversations
from wildchat.skips import SkipReport
from wildchat.train.sft_data import SftDataError, read_sft_file
from wildchat.train.split import heldout_key, is_heldout

runner = CliRunner()


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _export(*args: str) -> None:
    result = runner.invoke(app, ["export-sft", *args])
    assert result.exit_code == 0, result.output


@pytest.fixture
def release(tmp_path: Path) -> Path:
    good = [conversation(f"c{i}", [f"question {i}?", f"answer {i}."]) for i in range(6)]
    multi = conversation("m1", ["hi", "hello", "and then?", "then this."])
    bad = [
        conversation("dup", ["question 0?", "another answer."]),  # same first prompt as c0
        conversation("fr", ["bonjour ?", "salut."], language="French"),
        conversation("tox", ["rude question", "reply"], toxic=True),
        conversation("empty", ["question", "   "]),
        # the release reader itself refuses these (its own counted skip, same report)
        conversation("noreply", ["only a question"]),
        conversation("same", ["q1", "q2", "a"], roles=["user", "user", "assistant"]),
    ]
    return write_release(tmp_path / "rel", [*good, multi, *bad], [*good, multi])


def test_messages_format_and_drops_with_reasons(release: Path, tmp_path: Path) -> None:
    out = tmp_path / "sft.jsonl"
    _export(
        str(release),
        "--out",
        str(out),
        "--format",
        "messages",
        "--holdout",
        "0",
        "--language",
        "English",
        "--dedup-prompts",
        "--drop-toxic",
    )
    rows = _lines(out)
    assert all(set(r) == {"messages"} for r in rows)
    assert all(set(m) == {"role", "content"} for r in rows for m in r["messages"])
    firsts = [r["messages"][0]["content"] for r in rows]
    assert firsts == [*(f"question {i}?" for i in range(6)), "hi"]
    assert rows[-1]["messages"][2] == {"role": "user", "content": "and then?"}
    stats = json.loads((tmp_path / "sft.jsonl.stats.json").read_text())
    assert stats["read"] == 13 and stats["written"] == 7
    assert stats["skipped_by_reason"] == {
        "duplicate_prompt": 1,
        "empty_assistant": 1,
        "language": 1,
        "non_alternating_roles": 2,
        "toxic": 1,
    }


def test_sharegpt_and_openai_formats(release: Path, tmp_path: Path) -> None:
    sg, oa = tmp_path / "sg.jsonl", tmp_path / "oa.jsonl"
    _export(str(release), "--public-only", "--out", str(sg), "--format", "sharegpt", "--holdout", "0")
    _export(str(release), "--public-only", "--out", str(oa), "--format", "openai", "--holdout", "0")
    sg_rows, oa_rows = _lines(sg), _lines(oa)
    assert len(sg_rows) == len(oa_rows) == 7  # the public split only
    assert [r["id"] for r in sg_rows] == [*(f"c{i}" for i in range(6)), "m1"]
    assert sg_rows[-1]["conversations"] == [
        {"from": "human", "value": "hi"},
        {"from": "gpt", "value": "hello"},
        {"from": "human", "value": "and then?"},
        {"from": "gpt", "value": "then this."},
    ]
    for row in oa_rows:
        assert set(row) == {"messages"}
        assert {m["role"] for m in row["messages"]} <= {"system", "user", "assistant"}
        assert row["messages"][-1]["role"] == "assistant"
    # ShareGPT written by us reads back as the same messages
    report = SkipReport()
    assert list(read_sft_file(sg, report)) == [r["messages"] for r in oa_rows]
    assert report.read == 7 and report.n_skipped == 0


def test_min_turns_and_max_tokens(release: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    _export(str(release), "--public-only", "--out", str(out), "--min-turns", "2", "--holdout", "0")
    assert [r["messages"][0]["content"] for r in _lines(out)] == ["hi"]
    # cl100k: "question 3?" + "answer 3." = 8 tokens; "hi" + "hello" + "and then?" + "then this." = 8
    _export(str(release), "--public-only", "--out", str(out), "--max-tokens", "8", "--holdout", "0")
    assert len(_lines(out)) == 7
    result = runner.invoke(
        app,
        [
            "export-sft",
            str(release),
            "--public-only",
            "--out",
            str(out),
            "--max-tokens",
            "7",
            "--holdout",
            "0",
        ],
    )
    assert result.exit_code == 1 and "nothing was kept" in result.output
    stats = json.loads((tmp_path / "x.jsonl.stats.json").read_text())
    assert stats["length_measure"] == "tiktoken:cl100k_base"
    assert stats["skipped_by_reason"] == {"too_long": 7} and stats["written"] == 0


def test_max_tokens_with_a_model_tokenizer_counts_the_chat_template(release: Path, tmp_path: Path) -> None:
    from tests.builders.models import bpe_tokenizer

    tok = bpe_tokenizer()
    tok.save_pretrained(str(tmp_path / "tok"))
    sizes = []
    for i in range(6):
        chat = [
            {"role": "user", "content": f"question {i}?"},
            {"role": "assistant", "content": f"answer {i}."},
        ]
        text = tok.apply_chat_template(chat, tokenize=False)
        sizes.append(len(tok(text, add_special_tokens=False)["input_ids"]))
    limit = max(sizes)  # every single-exchange chat fits, the two-exchange one does not
    out = tmp_path / "t.jsonl"
    _export(str(release), "--public-only", "--out", str(out), "--holdout", "0",
            "--max-tokens", str(limit), "--tokenizer", str(tmp_path / "tok"))  # fmt: skip
    stats = json.loads((tmp_path / "t.jsonl.stats.json").read_text())
    assert stats["length_measure"] == f"chat-template:{tmp_path / 'tok'}"
    assert stats["written"] == 6 and stats["skipped_by_reason"] == {"too_long": 1}


def test_holdout_is_deterministic_and_excluded(tmp_path: Path) -> None:
    convs = [conversation(f"k{i}", [f"prompt {i}", f"reply {i}"]) for i in range(300)]
    rel = write_release(tmp_path / "rel", convs, convs)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _export(str(rel), "--out", str(a), "--holdout", "0.1")
    _export(str(rel), "--out", str(b), "--holdout", "0.1")
    assert a.read_bytes() == b.read_bytes()
    # the split key is content-based (conversation_hash as stored, + first prompt): use the records as read
    convs = list(iter_conversations([rel]))
    held = {c.conversation_id for c in convs if is_heldout(heldout_key(c), 0.1)}
    assert 10 <= len(held) <= 60  # ~30 expected
    kept = {r["messages"][0]["content"].split()[1] for r in _lines(a)}
    assert kept == {c.conversation_id[1:] for c in convs if c.conversation_id not in held}
    stats = json.loads((tmp_path / "a.jsonl.stats.json").read_text())
    assert stats["skipped_by_reason"] == {"held_out": len(held)}
    # a larger fraction holds out a superset
    assert held <= {c.conversation_id for c in convs if is_heldout(heldout_key(c), 0.2)}


def test_bad_inputs_are_clear_errors(tmp_path: Path) -> None:
    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"messages": [{"role": "user", "content": "q"}]}) + "\n")
    result = runner.invoke(
        app, ["export-sft", str(plain), "--out", str(tmp_path / "o.jsonl"), "--public-only"]
    )
    assert result.exit_code == 2 and "not a curated release folder" in result.output
    result = runner.invoke(app, ["export-sft", str(tmp_path / "missing"), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and "no such file" in result.output
    result = runner.invoke(
        app, ["export-sft", str(plain), "--out", str(tmp_path / "o.jsonl"), "--format", "alpaca"]
    )
    assert result.exit_code == 2 and "unknown --format" in result.output


def test_read_sft_file_counts_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(
                    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
                ),
                "{not json",
                json.dumps({"text": "no messages"}),
                json.dumps(
                    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}]}
                ),
                json.dumps(
                    {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}
                ),
            ]
        )
    )
    report = SkipReport()
    got = list(read_sft_file(path, report))
    assert len(got) == 2 and report.read == 5
    assert dict(report.skipped) == {"bad_record": 2, "empty_assistant": 1}
    notjson = tmp_path / "data.parquet"
    notjson.write_bytes(b"PAR1\x00\x00garbage")
    with pytest.raises(SftDataError, match="not a JSONL training file"):
        list(read_sft_file(notjson, SkipReport()))


def test_sharegpt_roles_read_like_the_sharegpt_reader(tmp_path: Path) -> None:
    """Training files and the dataset readers map role spellings with one table (schema.ROLE_ALIASES)."""
    from wildchat.schema import ROLE_ALIASES

    users = [k for k, v in ROLE_ALIASES.items() if v == "user"]
    bots = [k for k, v in ROLE_ALIASES.items() if v == "assistant"]
    pairs = [(u, b) for u in users for b in bots]
    path = tmp_path / "roles.jsonl"
    rows = [
        {"id": f"c{k}", "conversations": [{"from": u.upper(), "value": "q"}, {"from": b, "value": "a"}]}
        for k, (u, b) in enumerate(pairs)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = SkipReport()
    got = list(read_sft_file(path, report))
    readers = [[t.role for t in c.conversation] for c in iter_conversations([path], format="sharegpt")]
    assert report.n_skipped == 0 and len(got) == len(pairs)
    assert [[m["role"] for m in msgs] for msgs in got] == readers == [["user", "assistant"]] * len(pairs)
