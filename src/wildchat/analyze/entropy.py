"""Unigram (vocabulary) entropy of user prompts, on equal-size samples.

Entropy grows with sample size (more text shows more rare words), so it is
only comparable between datasets on samples of the same size: each dataset
keeps a seeded uniform reservoir of user prompts while streaming, and the
report subsamples every reservoir to the size of the smallest one.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence

from wildchat.text.tokenize import unigram_words

__all__ = ["equal_size_samples", "unigram_entropy"]


def unigram_entropy(texts: Iterable[str]) -> float | None:
    """Shannon entropy (bits) of the unigram distribution over ``texts``.

    ``H = -sum_w p(w) log2 p(w)`` with ``p(w)`` the share of word ``w`` among
    all words (see :func:`~wildchat.text.tokenize.unigram_words`).
    ``None`` when the texts hold no word.
    """
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(unigram_words(text))
    total = sum(counts.values())
    if total == 0:
        return None
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def equal_size_samples(
    samples: dict[str, Sequence[str]], size: int | None, seed: int
) -> tuple[int, dict[str, list[str]]]:
    """Cut every sample to the same size (at most ``size``), seeded per dataset.

    A uniform subset of a uniform reservoir is a uniform sample of the
    stream, so fairness is kept.  Datasets without prompts stay empty (and
    do not shrink the others).  Returns ``(n, samples)``.
    """
    n = min((len(s) for s in samples.values() if s), default=0)
    if size is not None:
        n = min(n, size)
    out = {}
    for name, items in samples.items():
        rng = random.Random(f"{seed}:entropy:{name}")
        out[name] = rng.sample(list(items), min(n, len(items)))  # empty stays empty
    return n, out
