"""Bootstrap confidence intervals shared by the NLL matrix and the judge summary.

Percentile bootstrap with a fixed seed, so a summary written twice from the
same judgments is byte-identical.  Resampling is over the independent unit
(conversations for NLL, questions for judge scores), never over tokens or
repetitions, which are correlated within a unit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

N_RESAMPLES = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its bootstrap interval (``low == high`` for one value)."""

    value: float
    low: float
    high: float
    n: int

    def to_dict(self) -> dict[str, float | int]:
        return {"value": self.value, "ci_low": self.low, "ci_high": self.high, "n": self.n}


def bootstrap_ci(
    values: Sequence[float],
    stat: Literal["mean", "median"] = "mean",
    *,
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Estimate:
    """``stat`` of ``values`` with a percentile-bootstrap ``confidence`` interval.

    Raises ``ValueError`` for no values or a confidence outside (0, 1).
    """
    import numpy as np

    if not values:
        raise ValueError("bootstrap_ci needs at least one value")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    arr = np.asarray(values, dtype=np.float64)
    fn = np.mean if stat == "mean" else np.median
    point = float(fn(arr))
    if arr.size == 1:
        return Estimate(point, point, point, 1)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(n_resamples, arr.size))
    stats = fn(arr[idx], axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return Estimate(point, float(low), float(high), int(arr.size))


def bootstrap_ratio_ci(
    numerators: Sequence[float],
    denominators: Sequence[float],
    *,
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Estimate:
    """``sum(num) / sum(den)`` with a bootstrap interval resampling (num, den) pairs.

    The NLL per token of a set of conversations is such a ratio (summed NLL
    over summed tokens); resampling whole conversations keeps each one's
    tokens together.  Raises ``ValueError`` for mismatched or empty input or a
    zero total denominator.
    """
    import numpy as np

    if len(numerators) != len(denominators):
        raise ValueError("numerators and denominators differ in length")
    if not numerators:
        raise ValueError("bootstrap_ratio_ci needs at least one pair")
    num = np.asarray(numerators, dtype=np.float64)
    den = np.asarray(denominators, dtype=np.float64)
    if den.sum() <= 0:
        raise ValueError("total denominator must be positive")
    point = float(num.sum() / den.sum())
    if num.size == 1:
        return Estimate(point, point, point, 1)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, num.size, size=(n_resamples, num.size))
    dens = den[idx].sum(axis=1)
    ratios = num[idx].sum(axis=1) / np.where(dens > 0, dens, math.nan)
    ratios = ratios[~np.isnan(ratios)]
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(ratios, [alpha, 1.0 - alpha])
    return Estimate(point, float(low), float(high), int(num.size))
