"""Toxicity, moderation categories and jailbreak table on a hand-made dataset."""

from __future__ import annotations

import pytest

from tests.analyze.analyze_helpers import WordCounter, batch, month
from tests.builders.conversations import conversation as conv
from wildchat.analyze.aggregate import DatasetStats
from wildchat.schema import DetoxifyScores, Moderation, Turn


def _mod(flagged: bool, **cats: bool) -> Moderation:
    return Moderation(categories={k.replace("__", "/"): v for k, v in cats.items()}, flagged=flagged)


def _dx(t: float) -> DetoxifyScores:
    return DetoxifyScores(toxicity=t)


def _data() -> list:
    t1 = conv(
        [
            Turn(content="u1", role="user", toxic=True, jailbreak=True, jailbreak_match="DAN"),
            Turn(content="a1", role="assistant", toxic=True),
            Turn(content="u2", role="user", toxic=False, jailbreak=False),
            Turn(content="a2", role="assistant", toxic=True),
        ],
        hashed_ip="u1",
        timestamp=month(2023, 4),
        openai_moderation=[_mod(True, harassment_threatening=True), _mod(False), _mod(False), _mod(False)],
        detoxify_moderation=[_dx(0.05), _dx(0.5), _dx(0.0), _dx(0.2)],
    )
    t2 = conv(  # no turn-level toxic: the union is derived from the detectors
        [
            Turn(content="u", role="user", jailbreak_match="DAN", hashed_ip="u2"),
            Turn(content="a", role="assistant"),
        ],
        timestamp=month(2023, 5),
        openai_moderation=[_mod(True, violence=True), _mod(False)],
        detoxify_moderation=[_dx(0.05), _dx(0.05)],
    )
    t3 = conv(  # moderation list length != turn count: unknown; jailbreak without reply
        [Turn(content="u", role="user", jailbreak=True, jailbreak_match="NsfwGPT")],
        hashed_ip="u3",
        timestamp=month(2023, 5),
        openai_moderation=[_mod(True), _mod(True)],
    )
    return [t1, t2, t3]


@pytest.fixture
def result() -> dict:
    s = DatasetStats("t", WordCounter())
    s.update(batch(_data()))
    return s.result()


def test_shares_per_detector_and_union(result: dict) -> None:
    # user turns scored: t1u1 (flagged), t1u2, t2u (flagged); t3 unknown (mismatched list)
    assert result["toxic_user_share"] == pytest.approx(
        {"openai_moderation": 2 / 3, "detoxify": 0.0, "union": 2 / 3}
    )
    # assistant: Detoxify .5, .2, .05 -> 2 of 3; union = toxic fields T, T + derived False
    assert result["toxic_assistant_share"] == pytest.approx(
        {"openai_moderation": 0.0, "detoxify": 2 / 3, "union": 2 / 3}
    )
    assert result["toxicity_counts"]["user"]["union"] == {"known": 3, "toxic": 2}
    assert "toxic" not in result["missing"] and "openai_moderation" not in result["missing"]


def test_detector_overlap(result: dict) -> None:
    assert result["detector_overlap"]["user"] == {
        "both": 0,
        "openai_only": 2,
        "detoxify_only": 0,
        "neither": 1,
    }
    assert result["detector_overlap"]["assistant"] == {
        "both": 0,
        "openai_only": 0,
        "detoxify_only": 2,
        "neither": 1,
    }


def test_toxicity_by_month(result: dict) -> None:
    by = result["toxicity_by_month"]
    assert list(by) == ["2023-04", "2023-05"]
    assert by["2023-04"] == {"user": 0.5, "assistant": 1.0, "n_user": 2, "n_assistant": 2}
    assert by["2023-05"] == {"user": 1.0, "assistant": 0.0, "n_user": 1, "n_assistant": 1}


def test_moderation_categories_merge_spellings(result: dict) -> None:
    user = result["moderation_category_shares"]["user"]
    assert user["harassment/threatening"] == pytest.approx(1 / 3)  # stored as harassment_threatening
    assert user["violence"] == pytest.approx(1 / 3)
    assert user["hate"] == 0.0 and "harassment_threatening" not in user
    assert set(result["moderation_category_shares"]["assistant"].values()) == {0.0}


def test_jailbreak_table(result: dict) -> None:
    table = result["jailbreak_table"]
    assert [r["family"] for r in table] == ["DAN", "NsfwGPT"]
    dan, nsfw = table
    # DAN: t1 (user u1 from the conversation) and t2 (user u2 on the turn); replies toxic, not toxic
    assert dan == {"family": "DAN", "occurrences": 2, "users": 2, "replies_evaluated": 2, "success_rate": 0.5}
    assert nsfw == {
        "family": "NsfwGPT",
        "occurrences": 1,
        "users": 1,
        "replies_evaluated": 0,
        "success_rate": None,
    }
    assert result["jailbreak_share"] == pytest.approx(3 / 4)


def test_detoxify_rule_is_the_curation_rule() -> None:
    """The report's Detoxify detector and the curation rule call the same scores toxic."""
    from wildchat.enrich.toxic import DETOXIFY_THRESHOLD, ToxicRule, TurnEvidence, turn_toxic

    scores = [DETOXIFY_THRESHOLD / 2, DETOXIFY_THRESHOLD, DETOXIFY_THRESHOLD + 1e-6, 0.9]
    turns = [Turn(content=f"u{k}", role="user") for k in range(len(scores))]
    data = conv(turns, hashed_ip="u1", timestamp=month(2023, 4), detoxify_moderation=[_dx(s) for s in scores])
    stats = DatasetStats("t", WordCounter())
    stats.update(batch([data]))
    report = stats.result()["toxicity_counts"]["user"]["detoxify"]
    rule = [
        turn_toxic(TurnEvidence(t.content, ran_detoxify=True, detoxify=_dx(t_score)))
        for t, t_score in zip(turns, scores, strict=True)
    ]
    assert rule == [False, False, True, True]
    assert report == {"known": len(scores), "toxic": sum(rule)}
    assert ToxicRule().detoxify_threshold == DETOXIFY_THRESHOLD
