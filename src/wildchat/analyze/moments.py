"""Streaming summaries with bounded memory: moments and log-binned histograms.

Both are mergeable, so a dataset can be aggregated batch by batch (or by
parallel workers) and combined without keeping the values.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = ["LogHistogram", "RunningMoments", "TokenSample"]


@dataclass
class RunningMoments:
    """Count, mean and population variance, merged with Chan et al.'s formula.

    Numerically stable (no sum of squares), exact up to float64 rounding.
    """

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def update(self, values: npt.ArrayLike) -> None:
        """Add a batch of values."""
        x = np.asarray(values, dtype=np.float64)
        if x.size == 0:
            return
        b_mean = float(x.mean())
        b_m2 = float(((x - b_mean) ** 2).sum())
        self.merge(RunningMoments(int(x.size), b_mean, b_m2))

    def merge(self, other: RunningMoments) -> RunningMoments:
        """Fold ``other`` into self (in place) and return self."""
        if other.n == 0:
            return self
        n = self.n + other.n
        delta = other.mean - self.mean
        self.mean += delta * other.n / n
        self.m2 += other.m2 + delta * delta * self.n * other.n / n
        self.n = n
        return self

    @property
    def std(self) -> float | None:
        """Population standard deviation (``None`` when empty)."""
        return math.sqrt(self.m2 / self.n) if self.n else None

    @property
    def mean_or_none(self) -> float | None:
        return self.mean if self.n else None


@dataclass
class LogHistogram:
    """Counts of non-negative integers in power-of-two bins.

    Bin 0 holds 0; bin ``b >= 1`` holds ``[2**(b-1), 2**b - 1]``.  Enough to
    draw a length distribution on a log axis from a billion values in a few
    hundred bytes.
    """

    counts: list[int] = field(default_factory=list)

    def update(self, values: npt.ArrayLike) -> None:
        x = np.asarray(values, dtype=np.int64)
        if x.size == 0:
            return
        _, exp = np.frexp(np.maximum(x, 0).astype(np.float64))
        bins = np.where(x > 0, exp, 0)
        add = np.bincount(bins)
        if len(add) > len(self.counts):
            self.counts.extend([0] * (len(add) - len(self.counts)))
        for i, c in enumerate(add.tolist()):
            self.counts[i] += c

    def merge(self, other: LogHistogram) -> LogHistogram:
        self.update([])
        for i, c in enumerate(other.counts):
            if i >= len(self.counts):
                self.counts.append(0)
            self.counts[i] += c
        return self

    def bins(self) -> list[tuple[int, int, int]]:
        """``(low, high, count)`` per bin, inclusive bounds."""
        out = []
        for b, c in enumerate(self.counts):
            low, high = (0, 0) if b == 0 else (2 ** (b - 1), 2**b - 1)
            out.append((low, high, c))
        return out


class TokenSample:
    """Token counts of a uniform random sample of at most ``k`` messages.

    Exact tokenisation of every message of a million-conversation dataset
    costs tens of minutes on two cores, so lengths are measured on a
    *bottom-k* sample: each message draws a seeded uniform key and the ``k``
    messages with the smallest keys are kept -- a uniform sample without
    replacement.  A message is tokenised only if its key beats the current
    k-th smallest key, so the cost is about ``k * (1 + ln(n / k))`` messages,
    and memory is ``k`` (key, count) pairs plus one batch.  With ``n <= k`` every
    message is kept and the statistics are exact.
    """

    def __init__(self, k: int, seed: int | str) -> None:
        if k < 1:
            raise ValueError("token sample size must be >= 1")
        self.k = k
        self.n_seen = 0
        digest = hashlib.sha256(str(seed).encode()).digest()  # stable across processes
        self._rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
        self._keys = np.empty(0, dtype=np.float64)
        self._counts = np.empty(0, dtype=np.int64)
        self._threshold = 1.0

    def update(self, texts: pa.Array, count: Callable[[Sequence[str]], list[int]]) -> None:
        """Offer a batch of message texts; ``count`` tokenises the chosen ones."""
        m = len(texts)
        if m == 0:
            return
        self.n_seen += m
        keys = self._rng.random(m)
        chosen = np.flatnonzero(keys < self._threshold)
        if chosen.size == 0:
            return
        picked = texts if chosen.size == m else texts.take(pa.array(chosen, type=pa.int64()))
        counts = np.asarray(count(picked.fill_null("").to_pylist()), dtype=np.int64)
        self._keys = np.concatenate([self._keys, keys[chosen]])
        self._counts = np.concatenate([self._counts, counts])
        if self._keys.size > self.k:
            self._prune()

    def expect(self, n_total: float) -> None:
        """Hint the stream's total size, known in advance (e.g. Parquet metadata).

        Lowers the key threshold to ``1.5 k / n_total`` so about ``1.5 k``
        messages are tokenised instead of ``k (1 + ln(n/k))``.  The keys are
        independent of the data, so the sample stays uniform; if the hint is
        too low the sample is simply smaller than ``k`` (still uniform).
        """
        if n_total > 1.5 * self.k:
            self._threshold = min(self._threshold, 1.5 * self.k / n_total)

    def _prune(self) -> None:
        keep = np.argpartition(self._keys, self.k - 1)[: self.k]
        self._keys, self._counts = self._keys[keep], self._counts[keep]
        self._threshold = float(self._keys.max())

    @property
    def exact(self) -> bool:
        """True when every message was kept (no sampling happened)."""
        return int(self.counts().size) == self.n_seen

    def counts(self) -> npt.NDArray[np.int64]:
        """Token counts of the final sample (all messages when exact)."""
        if self._keys.size > self.k:
            self._prune()
        return self._counts
