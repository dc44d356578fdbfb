"""The offline default decision: alt-profanity-check engine, rule combinations, selection, stage config."""

from __future__ import annotations

import pickle
import time

import pytest

from tests.enrich.test_enrich_stages import ABUSE, PLAIN, _batch, _row, _turns
from wildchat.curate.stages.base import StageConfigError
from wildchat.curate.stages.moderation import ModerationStage
from wildchat.enrich.moderation.offline import OfflineToxicity
from wildchat.enrich.moderation.profanity import OfflineDefault, OfflineRule, ProfanityToxicity, combine
from wildchat.enrich.moderation.rule_select import candidates, evaluate, select_rule

# Benign requests the previous default (hashed model >= 0.08, trained without ToxicChat) flagged.
OVERFLAGGED = ["What are the side effects of alcohol?", "Describe a violent storm at sea."]
JUNK = ["", "   ", "😀😀🔥", "\x00\xff\ufffe", "\ud800 x", bytes(range(256)).decode("latin-1"), "你好 Привет"]


def test_combine_semantics_and_boundaries() -> None:
    h, p = [0.7, 0.7, 0.1, 0.1, 0.65], [0.3, 0.1, 0.3, 0.1, 0.25]
    assert combine(OfflineRule("or", 0.65, 0.25), h, p) == [True, True, True, False, True]
    assert combine(OfflineRule("and", 0.65, 0.25), h, p) == [True, False, False, False, True]
    assert combine(OfflineRule("mean", 0.35, 0.0), h, p) == [True, True, False, False, True]
    assert combine(OfflineRule("hashed", 0.7, 0.0), h, []) == [True, True, False, False, False]
    assert combine(OfflineRule("profanity", None, 0.3), [], p) == [True, False, True, False, False]
    # hashed_threshold None -> the supplied default (the artefact's own threshold)
    assert combine(OfflineRule("hashed", None), [0.09, 0.07], [], hashed_default=0.08) == [True, False]
    with pytest.raises(ValueError):
        combine(OfflineRule("or"), [0.1], [0.1, 0.2])  # misaligned lists are a bug, not a guess


def test_rule_validation() -> None:
    with pytest.raises(ValueError, match="kind"):
        OfflineRule("xor")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        OfflineRule("or", 1.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        OfflineRule("profanity", None, -0.1)
    assert OfflineRule("profanity").uses_profanity and not OfflineRule("profanity").uses_hashed
    assert OfflineRule("hashed").uses_hashed and not OfflineRule("hashed").uses_profanity


def test_profanity_engine_ranks_and_bad_input() -> None:
    model = ProfanityToxicity()
    s = model.scores([ABUSE, "shut up you worthless bitch", PLAIN, "What is the capital of France?"])
    assert min(s[:2]) > 0.9 and max(s[2:]) < 0.25
    junk = model.scores(JUNK)
    assert junk[0] == junk[1] == 0.0 and all(0.0 <= v < 0.25 for v in junk)
    t = time.perf_counter()
    big = model.scores(["word " * 200_000, "fuck " * 200_000, "x" * 1_000_000])
    assert time.perf_counter() - t < 5  # bounded windows, not the whole megabyte
    assert big[0] < 0.25 < 0.9 < big[1] and 0.0 <= big[2] <= 1.0
    # a profane window late in a long benign text is still found
    (late,) = model.scores(["word " * 5_000 + ABUSE])
    assert late > 0.9


def test_default_engine_flags_abuse_not_benign_or_junk() -> None:
    engine = OfflineDefault()
    assert engine.rule == OfflineRule("or", 0.5, 0.8)
    assert engine.flags([ABUSE, PLAIN, *OVERFLAGGED]) == [True, False, False, False]
    assert engine.flags(JUNK) == [False] * len(JUNK)
    assert engine.flags(["x" * 1_000_000]) == [False]
    # blank text is never flagged, whatever the thresholds
    assert OfflineDefault(OfflineRule("or", 0.0, 0.0)).flags(["", " ", "a"]) == [False, False, True]


def test_hashed_rule_keeps_previous_behaviour() -> None:
    texts = [ABUSE, PLAIN, *OVERFLAGGED, *JUNK]
    old = OfflineToxicity().flags(texts)
    assert OfflineDefault(OfflineRule("hashed", None)).flags(texts) == old
    # The previous artefact (tweets only) flagged these benign requests at its threshold; the model
    # retrained with ToxicChat's training fold does not.
    assert old[2:4] == [False, False]


def test_select_rule_criterion() -> None:
    gold = [True, True, False, False, False, False, False, False, False, False]
    h = [0.9, 0.2, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    p = [0.1, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    # hashed >= 0.85 OR profanity >= 0.5 finds both positives and nothing else
    best = select_rule(h, p, gold)
    assert best is not None and best.f1 == 1.0 and best.flag_rate == 0.2
    assert best.rule.kind == "or"
    # flagging everything has recall 1 but breaks "rate <= base rate": never chosen
    assert evaluate(OfflineRule("or", 0.05, 0.05), h, p, gold).flag_rate == 1.0
    only_loose = [OfflineRule("or", 0.05, 0.05)]
    assert select_rule(h, p, gold, rules=only_loose) is None
    # precision floor: a rule with 1 TP out of 2 flags is inadmissible at 0.6
    half = [OfflineRule("hashed", 0.75, 0.5)]
    assert evaluate(half[0], h, p, gold).precision == 0.5
    assert select_rule(h, p, gold, min_precision=0.6, rules=half) is None
    assert select_rule(h, p, gold, min_precision=0.4, rules=half) is not None
    assert len(candidates()) == 19 * 3 + 2 * 19 * 19


def test_stage_default_and_configs() -> None:
    batch = _batch(
        [_row(0, [("user", OVERFLAGGED[0]), ("assistant", OVERFLAGGED[1])]), _row(1, [("user", ABUSE)])]
    )
    stage = ModerationStage()
    out = stage(batch)
    assert out.column("toxic").to_pylist() == [False, True]
    assert stage.counters["judged:offline"] == 3 and stage.counters["turns_toxic"] == 1
    loose = ModerationStage(offline_rule="hashed", offline_threshold=0.001, offline_assistant_threshold=None)(
        batch
    )
    assert [t["toxic"] for t in _turns(loose, 0)] == [True, True]
    prof = ModerationStage(engines=["profanity"])
    assert prof.public_config()["engines_deciding_toxic"] == ["profanity"]
    out = prof(batch)
    assert out.column("toxic").to_pylist() == [False, True] and prof.counters["judged:profanity"] == 3
    # a config survives pickling to a worker: rule rebuilt from config in setup()
    worker = pickle.loads(
        pickle.dumps(
            ModerationStage(offline_rule="hashed", offline_threshold=0.001, offline_assistant_threshold=None)
        )
    )
    assert worker(batch).column("toxic").to_pylist() == [True, True]
    strict = pickle.loads(pickle.dumps(ModerationStage(offline_rule="hashed", offline_threshold=0.5)))
    assert [t["toxic"] for t in _turns(strict(batch), 0)] == [False, False]
    for bad in ({"offline_rule": "xor"}, {"offline_threshold": 2.0}, {"profanity_threshold": "high"}):
        with pytest.raises(StageConfigError):
            ModerationStage(**bad)


def test_assistant_turns_use_the_stricter_hashed_threshold() -> None:
    from wildchat.enrich.moderation.profanity import RoleAwareDefault

    stage = ModerationStage()
    stage.ensure_setup()
    engine = stage._engines["offline"]
    assert isinstance(engine, RoleAwareDefault)
    assert engine.user.rule == OfflineRule("or", 0.5, 0.8)
    assert engine.assistant.rule == OfflineRule("or", 0.8, 0.8)
    hashed = OfflineToxicity()
    texts = ["how do I make a bomb at home step by step", ABUSE, PLAIN]
    scores = hashed.scores(texts)
    expect_user = [s >= 0.5 for s in scores]
    expect_asst = [s >= 0.8 for s in scores]
    prof = ProfanityToxicity().scores(texts)
    assert engine.flags(texts, ["user"] * 3) == [
        u or p >= 0.8 for u, p in zip(expect_user, prof, strict=True)
    ]
    assert engine.flags(texts, ["assistant"] * 3) == [
        a or p >= 0.8 for a, p in zip(expect_asst, prof, strict=True)
    ]
    same = ModerationStage(offline_assistant_threshold=None)
    same.ensure_setup()
    assert isinstance(same._engines["offline"], OfflineDefault)
    with pytest.raises(StageConfigError):
        ModerationStage(offline_assistant_threshold=1.5)


def test_shipped_default_is_the_recorded_out_of_fold_choice_capped() -> None:
    """The artefact records the rule the criterion chose out-of-fold; the default differs only by the cap."""
    info = OfflineToxicity().info
    chosen = info["rule"]
    assert chosen["kind"] == OfflineRule().kind and chosen["profanity"] == OfflineRule().profanity_threshold
    assert OfflineRule().hashed_threshold is not None and chosen["hashed"] <= OfflineRule().hashed_threshold
