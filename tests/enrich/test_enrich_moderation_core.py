"""Windows, merging, the SQLite cache, the toxicity rule and the offline classifier."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from wildchat.enrich.moderation.cache import ModerationCache, text_key
from wildchat.enrich.moderation.offline import DEFAULT_MODEL, FeatureSpec, OfflineToxicity, windows
from wildchat.enrich.moderation.windows import detoxify_scores, merge_moderation, merge_scores, split_windows
from wildchat.enrich.toxic import ToxicRule, TurnEvidence, conversation_toxic, kleene_or, turn_toxic
from wildchat.schema import DetoxifyScores, Moderation


def test_split_windows_min_size_and_bounds() -> None:
    assert split_windows("", 10, 3) == [""]
    assert split_windows("abc", 10, 3) == ["abc"]
    assert split_windows("a" * 25, 10, 3) == ["a" * 10, "a" * 10, "a" * 5]
    assert split_windows("a" * 22, 10, 3) == ["a" * 10, "a" * 12]  # scrap of 2 joins the previous
    with pytest.raises(ValueError):
        split_windows("x", 10, 11)


def test_merge_moderation_or_max_and_missing() -> None:
    a = Moderation(
        categories={"hate": False, "sexual": True}, category_scores={"hate": 0.2, "sexual": 0.9}, flagged=True
    )
    b = Moderation(
        categories={"hate": True, "sexual": False},
        category_scores={"hate": 0.7, "sexual": 0.1},
        flagged=False,
    )
    m = merge_moderation([a, b])
    assert m is not None and m.flagged is True
    assert m.categories == {"hate": True, "sexual": True}
    assert m.category_scores == {"hate": 0.7, "sexual": 0.9}
    assert merge_moderation([a, None]) is None
    assert merge_moderation([]) is None


def test_merge_scores_and_detoxify_mapping() -> None:
    assert merge_scores([{"toxicity": 0.1, "insult": 0.5}, {"toxicity": 0.4}]) == {
        "toxicity": 0.4,
        "insult": 0.5,
    }
    d = detoxify_scores({"toxicity": 0.3, "male": 0.9})
    assert d.toxicity == 0.3 and d.insult is None


def test_cache_roundtrip_text_opt_in(tmp_path: Path) -> None:
    c = ModerationCache(tmp_path / "c.sqlite")
    k = text_key("hello")
    c.put_many({k: ("hello", {"flagged": True})}, "m1")
    assert c.get_many([k, text_key("other")], "m1") == {k: {"flagged": True}}
    assert c.get_many([k], "m2") == {}  # another model is another entry
    row = c._connect().execute("SELECT text FROM moderation").fetchone()
    assert row == (None,)
    c2 = ModerationCache(tmp_path / "d.sqlite", store_text=True)
    c2.put_many({k: ("hello", {})}, "m1")
    assert c2._connect().execute("SELECT text FROM moderation").fetchone() == ("hello",)
    assert text_key("\ud800 junk")  # lone surrogates do not crash hashing


def test_cache_parallel_writers(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            cache = ModerationCache(path, busy_timeout_s=30)
            for i in range(40):
                cache.put_many({text_key(f"{w}-{i}"): ("", {"i": i})}, "m")
                cache.get_many([text_key(f"{w}-{i}")], "m")
            cache.close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    n = ModerationCache(path)._connect().execute("SELECT COUNT(*) FROM moderation").fetchone()[0]
    assert n == 160
    assert ModerationCache(path)._connect().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_kleene_and_turn_rule() -> None:
    assert (
        kleene_or([False, None]) is None and kleene_or([True, None]) is True and kleene_or([False]) is False
    )
    flagged = Moderation(flagged=True)
    clean = Moderation(flagged=False)
    assert (
        turn_toxic(TurnEvidence("  ", ran_moderation=True, moderation=flagged)) is False
    )  # empty never toxic
    assert turn_toxic(TurnEvidence("x", ran_moderation=True, moderation=flagged)) is True
    assert (
        turn_toxic(
            TurnEvidence(
                "x",
                ran_moderation=True,
                moderation=clean,
                ran_detoxify=True,
                detoxify=DetoxifyScores(toxicity=0.11),
            )
        )
        is True
    )
    assert (
        turn_toxic(
            TurnEvidence(
                "x",
                ran_moderation=True,
                moderation=clean,
                ran_detoxify=True,
                detoxify=DetoxifyScores(toxicity=0.1),
            )
        )
        is False
    )  # strictly greater
    # missing moderation is never "not toxic"
    assert (
        turn_toxic(
            TurnEvidence(
                "x",
                ran_moderation=True,
                moderation=None,
                ran_detoxify=True,
                detoxify=DetoxifyScores(toxicity=0.01),
            )
        )
        is None
    )
    # offline stands in only when no other engine ran
    assert turn_toxic(TurnEvidence("x", offline=True)) is True
    assert turn_toxic(TurnEvidence("x", ran_moderation=True, moderation=clean, offline=True)) is False
    assert turn_toxic(TurnEvidence("x", ran_classifier=True, classifier=0.7)) is True
    assert (
        turn_toxic(
            TurnEvidence("x", ran_detoxify=True, detoxify=DetoxifyScores(toxicity=0.3)),
            ToxicRule(detoxify_threshold=0.5),
        )
        is False
    )
    assert conversation_toxic([False, True, None]) is True
    assert conversation_toxic([False, None]) is None
    assert conversation_toxic([]) is False


def test_offline_artefact_is_small_and_loads() -> None:
    assert DEFAULT_MODEL.stat().st_size < 5_000_000
    model = OfflineToxicity()
    assert 0.0 < model.threshold < 1.0
    assert "davidson" in model.info["trained_on"]


def test_offline_ranks_abuse_above_benign_requests() -> None:
    model = OfflineToxicity()
    abusive = ["you are a stupid fucking idiot", "shut up you worthless bitch"]
    benign = ["What is the capital of France?", "Please help me write a cover letter for a job."]
    s = model.scores(abusive + benign)
    assert min(s[:2]) > max(s[2:])
    assert model.flags(abusive) == [True, True]
    assert model.flags(benign) == [False, False]


def test_offline_bad_input_and_bounded_cost() -> None:
    model = OfflineToxicity()
    junk = ["", "   ", "😀😀", "\x00\xff\ufffe", "\ud800 x", "```py\nprint(1)\n```", "你好 Привет"]
    s = model.scores(junk)
    assert s[0] == s[1] == 0.0 and all(0.0 <= v <= 1.0 for v in s)
    t = time.perf_counter()
    (big,) = model.scores(["word " * 200_000])
    assert 0.0 <= big <= 1.0 and time.perf_counter() - t < 5
    spec = FeatureSpec(window_chars=10, max_windows=3)
    ws = windows("0123456789" * 10, spec)
    assert len(ws) == 3 and ws[0] == "0123456789"


def test_offline_rejects_mismatched_artefact(tmp_path: Path) -> None:
    import json

    import numpy as np

    bad = tmp_path / "bad.npz"
    info = {
        "spec": {
            "word_features": 8,
            "char_features": 0,
            "char_ngrams": [3, 5],
            "window_chars": 100,
            "max_windows": 2,
        },
        "threshold": 0.5,
        "intercept": 0.0,
    }
    np.savez_compressed(bad, coef=np.zeros(4, dtype=np.float16), info=np.array(json.dumps(info)))
    with pytest.raises(ValueError, match="do not match"):
        OfflineToxicity(bad)


# --- the accurate engine (MiniLM head) and the two-tier mode, on a fake encoder ---


class FakeEncoder:
    """Deterministic 4-d 'embeddings': (has 'idiot', has 'kill', length bucket, 1), unit-normed."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: list[str], **_: object) -> list[list[float]]:
        import numpy as np

        self.seen.extend(texts)
        rows = []
        for t in texts:
            v = np.array([float("idiot" in t), float("kill" in t), min(len(t), 100) / 100, 1.0])
            rows.append((v / np.linalg.norm(v)).tolist())
        return rows


def _head(tmp_path: Path, band: list[float] | None = None) -> Path:
    import numpy as np

    from wildchat.enrich.moderation.embedding import save_head

    path = tmp_path / "head.npz"
    meta = {"two_tier_band": band} if band else {}
    save_head(path, np.array([8.0, 6.0, 0.0, -2.0]), -1.0, 0.5, meta)
    return path


def test_embedding_engine_scores_with_its_head_and_windows(tmp_path: Path) -> None:
    import math

    from wildchat.enrich.moderation.embedding import EmbeddingToxicity

    enc = FakeEncoder()
    engine = EmbeddingToxicity(_head(tmp_path), encoder=enc)
    s = engine.scores(["you idiot", "hello", "", "   "])
    v = [1.0, 0.0, 0.09, 1.0]
    norm = math.sqrt(sum(x * x for x in v))
    expect = 1 / (1 + math.exp(-((8 * v[0] - 2 * v[3]) / norm - 1)))
    assert s[0] == pytest.approx(expect, abs=1e-5) and s[1] < 0.5
    assert s[2] == s[3] == 0.0 and "" not in enc.seen  # blank text is never embedded
    assert engine.flags(["you idiot", "hello"]) == [True, False]
    # a toxic window late in a long text counts (max over at most 4 windows)
    before = len(enc.seen)
    (late,) = engine.scores(["word " * 2_000 + "idiot"])
    assert late > 0.5 and len(enc.seen) - before == 4
    junk = engine.scores(["\x00\xff", "\ud800 lone", "😀" * 10])
    assert all(0.0 <= x <= 1.0 for x in junk)


def test_two_tier_sends_only_the_uncertain_band(tmp_path: Path) -> None:
    from wildchat.enrich.moderation.embedding import EmbeddingToxicity, TwoTier

    class Fast:
        def scores(self, texts: list[str]) -> list[float]:
            return [{"a": 0.05, "b": 0.5, "c": 0.95, "d idiot": 0.3, "": 0.4}[t] for t in texts]

    enc = FakeEncoder()
    tier = TwoTier(Fast(), EmbeddingToxicity(_head(tmp_path), encoder=enc), (0.2, 0.8))  # type: ignore[arg-type]
    assert tier.flags(["a", "b", "c", "d idiot", ""]) == [False, False, True, True, False]
    assert sorted(enc.seen) == ["b", "d idiot"] and tier.sent == 2
    with pytest.raises(ValueError):
        TwoTier(Fast(), tier.accurate, (0.9, 0.1))  # type: ignore[arg-type]


def test_embedding_head_missing_or_corrupt_is_named(tmp_path: Path) -> None:
    from wildchat.enrich.moderation.embedding import EmbeddingUnavailable, read_head, two_tier_band

    with pytest.raises(EmbeddingUnavailable, match="no head file"):
        read_head(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 junk")
    with pytest.raises(EmbeddingUnavailable, match="corrupt"):
        read_head(bad)
    from wildchat.enrich.moderation.embedding import EmbeddingToxicity

    no_band = EmbeddingToxicity(_head(tmp_path), encoder=FakeEncoder())
    with pytest.raises(EmbeddingUnavailable, match="band"):
        two_tier_band(no_band)
    assert two_tier_band(EmbeddingToxicity(_head(tmp_path, [0.1, 0.6]), encoder=FakeEncoder())) == (0.1, 0.6)


def test_shipped_embedding_head_is_small_and_carries_its_band() -> None:
    from wildchat.enrich.moderation.embedding import DEFAULT_HEAD, read_head

    coef, info = read_head(DEFAULT_HEAD)
    assert DEFAULT_HEAD.stat().st_size < 20_000 and coef.shape == (384,)
    low, high = info["two_tier_band"]
    assert 0.0 <= low <= high <= 1.0 and 0.0 < info["threshold"] < 1.0
