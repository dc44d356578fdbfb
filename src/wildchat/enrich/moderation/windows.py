"""Splitting long texts into windows and merging per-window results.

WildChat split a text in half when the Moderation API refused it and merged
the halves: flagged = OR, categories = OR, scores = max.  Splitting up front
into bounded windows gives the same merge with a bounded request size.
"""

from __future__ import annotations

from collections.abc import Sequence

from wildchat.schema import DETOXIFY_LABELS, DetoxifyScores, Moderation


def valid_utf8(text: str) -> str:
    """``text`` with lone surrogates replaced by ``?``: HTTP JSON and Rust tokenizers need valid UTF-8."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def split_windows(text: str, size: int, min_size: int) -> list[str]:
    """``text`` cut into consecutive windows of ``size`` characters.

    A last window shorter than ``min_size`` is appended to the one before
    (so no window is a useless scrap, and none exceeds ``size + min_size``).
    A text no longer than ``size`` is one window; ``""`` is ``[""]``.
    """
    if size <= 0 or min_size < 0 or min_size > size:
        raise ValueError("need 0 <= min_size <= size and size > 0")
    if len(text) <= size:
        return [text]
    windows = [text[i : i + size] for i in range(0, len(text), size)]
    if len(windows) > 1 and len(windows[-1]) < min_size:
        last = windows.pop()
        windows[-1] += last
    return windows


def merge_moderation(parts: Sequence[Moderation | None]) -> Moderation | None:
    """OR of flags and categories, max of scores; ``None`` if any part is missing.

    A text whose windows were not all judged has no trustworthy verdict:
    an unjudged window could be the flagged one.
    """
    if not parts or any(p is None for p in parts):
        return None
    present = [p for p in parts if p is not None]
    if len(present) == 1:
        return present[0]
    categories: dict[str, bool] = {}
    scores: dict[str, float] = {}
    for p in present:
        for k, v in p.categories.items():
            categories[k] = categories.get(k, False) or bool(v)
        for k, s in p.category_scores.items():
            scores[k] = max(scores.get(k, s), s)
    flags = [p.flagged for p in present]
    flagged = True if any(f is True for f in flags) else (None if any(f is None for f in flags) else False)
    return Moderation(categories=categories, category_scores=scores, flagged=flagged)


def merge_scores(parts: Sequence[dict[str, float]]) -> dict[str, float]:
    """Per-label maximum over windows (the most toxic window decides)."""
    out: dict[str, float] = {}
    for p in parts:
        for k, v in p.items():
            out[k] = max(out.get(k, v), v)
    return out


def detoxify_scores(scores: dict[str, float]) -> DetoxifyScores:
    """Label -> score mapping as the schema's :class:`DetoxifyScores` (unknown labels dropped)."""
    return DetoxifyScores(**{k: float(scores[k]) for k in DETOXIFY_LABELS if k in scores})
