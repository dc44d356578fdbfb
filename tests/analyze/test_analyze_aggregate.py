"""Per-dataset statistics on tiny hand-made datasets (expected values by hand)."""

from __future__ import annotations

import math

import pytest

from tests.analyze.analyze_helpers import WordCounter, batch, month
from tests.builders.conversations import conversation as conv
from wildchat.analyze.aggregate import DatasetStats
from wildchat.schema import Turn


def _dataset() -> list:
    a = conv(
        [("user", "one two three"), ("assistant", "four five"), ("user", "six"), ("assistant", "")],
        hashed_ip="u1",
        model="gpt-4",
        language="English",
        country="France",
        timestamp=month(2023, 4),
    )
    b = conv(
        [
            Turn(content="a b", role="user", hashed_ip="u2", language="Chinese", country=None),
            Turn(content="c d e f", role="assistant"),
        ],
        model="gpt-3.5",
    )
    c = conv([("user", "hi")], hashed_ip="u1", model="gpt-4", language="English", country="Germany")
    return [a, b, c]


def _stats(batches: list) -> dict:
    s = DatasetStats("t", WordCounter(), sample=10, embed_sample=10, seed=3)
    for b in batches:
        s.update(b)
    return s.result()


def test_core_statistics_by_hand() -> None:
    r = _stats([batch(_dataset())])
    assert r["n_conversations"] == 3
    assert r["n_users"] == 2  # u1 (twice, once via conversation field) and u2 (via the user turn)
    assert r["n_turns"] == 4  # 2 + 1 + 1 exchanges
    assert r["mean_turns"] == pytest.approx(4 / 3)
    assert r["multi_turn_share"] == pytest.approx(1 / 3)
    assert r["turn_distribution"] == {"1": 2, "2": 1}
    # user messages 3, 1, 2, 1 words: mean 1.75, population variance 0.6875
    assert r["n_user_messages"] == 4
    assert r["user_tokens_mean"] == pytest.approx(1.75)
    assert r["user_tokens_std"] == pytest.approx(math.sqrt(0.6875))
    # assistant messages 2, 0, 4: mean 2, variance 8/3; one is empty
    assert r["assistant_tokens_mean"] == pytest.approx(2.0)
    assert r["assistant_tokens_std"] == pytest.approx(math.sqrt(8 / 3))
    assert r["n_empty_assistant_messages"] == 1 and r["n_empty_user_messages"] == 0
    assert r["n_languages"] == 2
    assert r["language_shares"] == pytest.approx({"English": 2 / 3, "Chinese": 1 / 3})
    assert r["model_shares"] == pytest.approx({"gpt-4": 2 / 3, "gpt-3.5": 1 / 3})
    assert r["country_shares"] == pytest.approx({"France": 0.5, "Germany": 0.5})
    assert set(r["missing"]) == {"openai_moderation", "detoxify_moderation", "toxic", "jailbreak"}
    assert r["toxic_user_share"] is None and r["jailbreak_table"] is None


def test_batch_boundaries_do_not_change_results() -> None:
    data = _dataset()
    whole = _stats([batch(data)])
    split = _stats([batch(data[:1]), batch(data[1:2]), batch(data[2:])])
    assert split["n_users"] == whole["n_users"]
    for key in ("n_turns", "turn_distribution", "language_shares", "model_shares", "user_tokens_histogram"):
        assert split[key] == whole[key]
    assert split["user_tokens_std"] == pytest.approx(whole["user_tokens_std"])


def test_everything_missing_is_reported_not_fatal() -> None:
    r = _stats([batch([conv([("user", "only a prompt")])])])
    assert r["n_conversations"] == 1 and r["n_turns"] == 1 and r["multi_turn_share"] == 0.0
    assert r["n_users"] is None and r["n_languages"] is None and r["model_shares"] is None
    assert r["assistant_tokens_mean"] is None and r["assistant_tokens_std"] is None
    assert set(r["missing"]) == {
        "hashed_ip",
        "language",
        "model",
        "country",
        "timestamp",
        "assistant_turns",
        "openai_moderation",
        "detoxify_moderation",
        "toxic",
        "jailbreak",
    }


def test_empty_turns_and_empty_batches() -> None:
    s = DatasetStats("t", WordCounter())
    s.update(batch([]))
    s.update(batch([conv([]), conv([("user", ""), ("assistant", "  ")])]))
    r = s.result()
    assert r["n_conversations"] == 2
    assert r["turn_distribution"] == {"0": 1, "1": 1}
    assert r["n_empty_user_messages"] == 1 and r["n_empty_assistant_messages"] == 1
    assert r["user_tokens_mean"] == 0.0


def test_nolang_labels_do_not_count_as_languages() -> None:
    r = _stats([batch([conv([("user", "x")], language="Nolang"), conv([("user", "y")], language="French")])])
    assert r["n_languages"] == 1
    assert r["language_shares"] == pytest.approx({"Nolang": 0.5, "French": 0.5})


def test_reservoirs_hold_user_prompts_and_first_prompts() -> None:
    s = DatasetStats("t", WordCounter(), sample=10, embed_sample=10)
    s.update(batch(_dataset()))
    assert sorted(s.prompts.items) == sorted(["one two three", "six", "a b", "hi"])
    assert sorted(s.first_prompts.items) == sorted(["one two three", "a b", "hi"])
