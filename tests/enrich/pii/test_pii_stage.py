"""Stage ``pii`` on pipeline batches: in-place redaction, flags, hash, whitelist pass."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wildchat.curate.stages import get_stage
from wildchat.curate.stages.base import StageConfigError
from wildchat.curate.stages.batch import pipeline_schema, tag
from wildchat.curate.stages.pii import PiiStage, build_whitelist, whitelist_counts
from wildchat.enrich.pii import Whitelist
from wildchat.formats.hashing import conversation_hash
from wildchat.schema import Conversation, Turn, release_schema, to_row

NAME_TURN = "Hi, my name is Margaret Hamilton. Can you check my cover letter?"
PLAIN = "How do I reverse a list in Python?"


def _conv(i: int, turns: list[tuple[str, str | None]], user: str | None = "u1", hashed: bool = False) -> dict:
    tl = [Turn(content=c, role=r, hashed_ip=user if r == "user" else None) for r, c in turns]  # type: ignore[arg-type]
    h = conversation_hash([{"content": t.content or "", "role": t.role} for t in tl]) if hashed else ""
    conv = Conversation(
        conversation_hash=h,
        model="m",
        timestamp=None,
        conversation=tl,
        turn=len(tl) // 2 or 1,
        hashed_ip=user,
        conversation_id=f"c{i}",
        language="English",
    )
    row = to_row(conv)
    row["conversation_hash"] = h or None
    return row


def _batch(rows: list[dict]) -> pa.RecordBatch:
    base = pa.RecordBatch.from_pylist(rows, schema=release_schema())
    cols = list(base.columns) + [
        pa.nulls(len(rows), f.type) for f in list(pipeline_schema())[len(base.schema) :]
    ]
    return pa.RecordBatch.from_arrays(cols, schema=pipeline_schema())


def _turns(batch: pa.RecordBatch, row: int) -> list[dict]:
    return batch.column("conversation")[row].as_py()


def test_registered_under_its_name() -> None:
    assert get_stage("pii") is PiiStage


def test_redacts_in_place_and_sets_flags_and_hash() -> None:
    rows = [
        _conv(
            0,
            [("user", NAME_TURN), ("assistant", "Sure, Margaret Hamilton. Call +44 20 7946 0958.")],
            hashed=True,
        ),
        _conv(1, [("user", PLAIN), ("assistant", "Use reversed().")], hashed=True),
        _conv(2, [("user", None), ("assistant", "")]),
    ]
    stage = PiiStage()
    out = stage(_batch(rows))
    assert out.num_rows == 3 and out.schema == pipeline_schema()
    t0 = _turns(out, 0)
    assert t0[0]["content"] == "Hi, my name is <PRESIDIO_ANONYMIZED_PERSON>. Can you check my cover letter?"
    assert "+44" not in t0[1]["content"] and t0[1]["redacted"] is True  # phone with a leading +
    assert "Hamilton" not in t0[1]["content"]  # no cue there: redacted because the user turn was
    assert [t["redacted"] for t in t0] == [True, True]
    assert out.column("redacted").to_pylist() == [True, False, False]
    assert [t["redacted"] for t in _turns(out, 1)] == [False, False]
    assert [t["content"] for t in _turns(out, 1)] == [PLAIN, "Use reversed()."]
    assert [t["content"] for t in _turns(out, 2)] == [None, ""]
    hashes = out.column("conversation_hash").to_pylist()
    assert hashes[0] == conversation_hash([{"content": t["content"], "role": t["role"]} for t in t0])
    assert hashes[0] != rows[0]["conversation_hash"]
    assert hashes[1] == rows[1]["conversation_hash"]  # unchanged text, unchanged hash
    assert hashes[2] is None  # left to the writer
    assert stage.stats.rows_in == 3 and stage.stats.rows_out == 3


def test_dropped_rows_are_untouched_and_roles_are_configurable() -> None:
    rows = [_conv(0, [("user", NAME_TURN)]), _conv(1, [("user", NAME_TURN), ("assistant", NAME_TURN)])]
    batch = tag(_batch(rows), np.array([True, False]), "some_reason")
    out = PiiStage(roles=["assistant"])(batch)
    assert _turns(out, 0)[0]["content"] == NAME_TURN and out.column("redacted")[0].as_py() is None
    user, assistant = _turns(out, 1)
    assert user["content"] == NAME_TURN and "Hamilton" not in assistant["content"]


def test_existing_redacted_flags_are_kept() -> None:
    row = _conv(0, [("user", PLAIN)])
    row["redacted"] = True
    row["conversation"][0]["redacted"] = True
    out = PiiStage()(_batch([row]))
    assert out.column("redacted").to_pylist() == [True] and _turns(out, 0)[0]["redacted"] is True


@pytest.mark.parametrize(
    ("config", "words"),
    [({"policy": "lax"}, "policy"), ({"treshold": 0.2}, "unknown"), ({"entities": ["SSN"]}, "entities")],
)
def test_bad_config_fails_at_construction(config: dict, words: str) -> None:
    with pytest.raises(StageConfigError, match=words):
        PiiStage(**config)


def test_missing_ner_model_fails_loudly_at_setup() -> None:
    stage = PiiStage(languages=["de"])
    with pytest.raises(StageConfigError, match="NER model"):
        stage.setup()
    PiiStage(languages=["de"], ner=False).setup()  # explicit opt-out is fine


def test_bad_whitelist_path_fails_at_setup(tmp_path: Path) -> None:
    with pytest.raises(StageConfigError, match="whitelist"):
        PiiStage(whitelist_path=str(tmp_path / "nope.json")).setup()


def test_stage_pickles_before_and_after_setup() -> None:
    stage = PiiStage(policy="strict", threshold=0.6)
    clone = pickle.loads(pickle.dumps(stage))
    assert clone.config == stage.config
    stage.setup()
    clone = pickle.loads(pickle.dumps(stage))
    out = clone(_batch([_conv(0, [("user", "mail me: margaret.h@mit.edu")])]))
    assert _turns(out, 0)[0]["content"] == "mail me: <PRESIDIO_ANONYMIZED_EMAIL_ADDRESS>"


def _support_rows(n_users: int, start: int = 0) -> list[dict]:
    text = "Thanks, Jane Porter. Write to support@bigbank.com, my own is jane.p@gmail.com"
    return [_conv(start + i, [("user", text)], user=f"user-{i}") for i in range(n_users)]


def test_whitelist_pass_counts_distinct_users(tmp_path: Path) -> None:
    same_user = [_conv(i, [("user", "write to support@bigbank.com")], user="u-same") for i in range(20)]
    wl = build_whitelist([_batch(same_user)], whitelist_min_users_other=3)
    assert ("EMAIL_ADDRESS", "support@bigbank.com") not in wl  # 20 conversations, one user

    wl = build_whitelist(
        [_batch(_support_rows(3))], whitelist_min_users_other=3, whitelist_min_users_person=4
    )
    assert ("EMAIL_ADDRESS", "support@bigbank.com") in wl
    assert ("PERSON", "Jane Porter") not in wl  # names need more users
    shard_a = whitelist_counts([_batch(_support_rows(2))], whitelist_min_users_person=4)
    shard_b = whitelist_counts([_batch(_support_rows(4, start=10))], whitelist_min_users_person=4)
    assert ("PERSON", "Jane Porter") in shard_a.merge(shard_b).build()

    path = tmp_path / "wl.json"
    wl.save(path)
    out = PiiStage(whitelist_path=str(path))(_batch(_support_rows(1)))
    text = _turns(out, 0)[0]["content"]
    assert "support@bigbank.com" in text  # public: kept
    assert "<PRESIDIO_ANONYMIZED_PERSON>" in text  # name below its threshold: redacted


def test_turns_without_a_user_are_not_counted() -> None:
    rows = [_conv(i, [("user", "write to support@bigbank.com")], user=None) for i in range(30)]
    assert len(build_whitelist([_batch(rows)], whitelist_min_users_other=2)) == 0


def test_command_line_first_pass(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from wildchat.cli.main import app

    src = tmp_path / "conv.parquet"
    table = pa.Table.from_pylist(_support_rows(12), schema=release_schema())
    pq.write_table(table, src)
    out = tmp_path / "wl.json"
    runner = CliRunner()
    result = runner.invoke(app, ["pii", "whitelist", str(src), "-o", str(out), "--no-ner"])
    assert result.exit_code == 0, result.output
    wl = Whitelist.load(out)
    assert ("EMAIL_ADDRESS", "support@bigbank.com") in wl and ("EMAIL_ADDRESS", "jane.p@gmail.com") in wl
    assert "bigbank" not in result.output and "2 public" in result.output
    missing = runner.invoke(app, ["pii", "whitelist", str(tmp_path / "missing.parquet"), "-o", str(out)])
    assert missing.exit_code == 2


def test_propagation_stays_inside_a_conversation_and_can_be_off() -> None:
    echo = "Sure, Margaret Hamilton, here it is."
    rows = [_conv(0, [("user", NAME_TURN), ("assistant", echo)]), _conv(1, [("user", echo)])]
    out = PiiStage()(_batch(rows))
    assert _turns(out, 0)[1]["content"] == "Sure, <PRESIDIO_ANONYMIZED_PERSON>, here it is."
    assert _turns(out, 1)[0]["content"] == echo  # another conversation: no cue, not redacted
    off = PiiStage(propagate=False)(_batch(rows))
    assert _turns(off, 0)[1]["content"] == echo
