"""Seeded uniform reservoir sampling over a stream of unknown length.

Vitter/Li's *Algorithm L*: after the reservoir fills, it draws how many items
to skip, so the cost is O(k log(n/k)) random draws and only the chosen items
are ever materialised -- a batch of a million prompts costs nothing unless
some of them are picked.  Every subset of size ``k`` of the ``n`` items seen is
equally likely, and the same seed over the same stream gives the same sample.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Reservoir"]

T = TypeVar("T")


class Reservoir(Generic[T]):
    """Keep a uniform random sample of at most ``k`` items of a stream."""

    def __init__(self, k: int, seed: int | str) -> None:
        if k < 0:
            raise ValueError("reservoir size must be >= 0")
        self.k = k
        self.seen = 0
        self.items: list[T] = []
        self._rng = random.Random(seed)
        self._w = 1.0
        self._next = 0  # 0-based stream index of the next item to take once full

    def _u(self) -> float:
        return 1.0 - self._rng.random()  # in (0, 1]: safe for log

    def _advance(self) -> None:
        self._w *= math.exp(math.log(self._u()) / self.k)
        if self._w >= 1.0:  # pragma: no cover - only with float underflow
            self._next += 1
            return
        skip = math.floor(math.log(self._u()) / math.log1p(-self._w))
        self._next += skip + 1

    def extend(self, m: int, get: Callable[[int], T]) -> None:
        """Offer the next ``m`` items of the stream; ``get(i)`` returns item ``i``.

        ``get`` is only called for the items that enter the reservoir.
        """
        if self.k == 0:
            self.seen += m
            return
        start, end = self.seen, self.seen + m
        i = start
        while i < end and len(self.items) < self.k:
            self.items.append(get(i - start))
            i += 1
            if len(self.items) == self.k:
                self._next = self.k - 1  # 0-based index of the last item taken
                self._advance()
        while len(self.items) == self.k and self._next < end:
            self.items[self._rng.randrange(self.k)] = get(self._next - start)
            self._advance()
        self.seen = end
