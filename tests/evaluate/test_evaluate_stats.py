"""Bootstrap intervals: they contain the estimate, narrow with more data, are seeded."""

from __future__ import annotations

import random

import pytest

from wildchat.evaluate.stats import bootstrap_ci, bootstrap_ratio_ci


def test_median_ci_contains_median_and_is_reproducible() -> None:
    rng = random.Random(1)
    values = [float(rng.randint(1, 10)) for _ in range(40)]
    est = bootstrap_ci(values, "median")
    assert est.low <= est.value <= est.high
    assert est.value == sorted(values)[19] / 2 + sorted(values)[20] / 2
    assert bootstrap_ci(values, "median") == est
    assert est.n == 40


def test_mean_ci_narrows_with_more_data() -> None:
    rng = random.Random(2)
    small = [rng.gauss(5, 2) for _ in range(10)]
    large = [rng.gauss(5, 2) for _ in range(1000)]
    s, big = bootstrap_ci(small), bootstrap_ci(large)
    assert s.low <= s.value <= s.high and big.low <= big.value <= big.high
    assert (big.high - big.low) < (s.high - s.low)
    assert 4.7 < big.value < 5.3


def test_single_value_and_errors() -> None:
    one = bootstrap_ci([7.0], "median")
    assert (one.value, one.low, one.high) == (7.0, 7.0, 7.0)
    with pytest.raises(ValueError):
        bootstrap_ci([])
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], confidence=1.5)


def test_ratio_ci_weights_by_denominator() -> None:
    # two conversations: 10 nats over 5 tokens and 2 nats over 20 tokens -> 12/25, not mean(2, 0.1)
    est = bootstrap_ratio_ci([10.0, 2.0, 6.0], [5.0, 20.0, 6.0])
    assert est.value == pytest.approx(18.0 / 31.0)
    assert est.low <= est.value <= est.high
    with pytest.raises(ValueError):
        bootstrap_ratio_ci([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        bootstrap_ratio_ci([1.0], [0.0])
