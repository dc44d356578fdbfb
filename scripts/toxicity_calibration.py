"""Calibrating the MiniLM engines against ordinary chat (used by ``train_toxicity.py --embedding``).

Why: the threshold with the best out-of-fold F1 on ToxicChat flagged 16-18 % of
ordinary WildChat turns (role-play and story requests look like ToxicChat's
sexual-content requests), far above WildChat's own ~10 % toxic user turns.
So every choice here is *max out-of-fold F1 on ToxicChat subject to a flag-rate
cap on ordinary chat*:

* ordinary chat = the user and assistant turns of the LMSYS, ShareGPT and
  WildChat samples (:func:`choose_offline_rule.normal_chat`), unlabelled, cut
  by a seeded hash of the text into a **dev half** (choices are made on it)
  and a **report half** (``eval_toxicity.py`` prints rates on it), at most
  ``per_set`` turns of each sample per half (2 cores: embedding is the cost);
* user threshold: best OOF F1 with every user sample's dev flag rate <= the
  user cap; assistant threshold: the smallest one >= the user threshold with
  every assistant sample's dev rate <= the assistant cap;
* two-tier: the band (on the hashed score) with the best OOF F1, at most
  ``max_sent`` of ToxicChat rows sent, and dev user rates under the cap; the
  assistant band keeps its low end and takes the smallest high end meeting the
  assistant cap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

GRID = [round(0.01 * k, 2) for k in range(5, 96)]
BAND_GRID = [round(0.02 * k, 2) for k in range(51)]


def role_of(sample: str) -> str:
    """``assistant`` for reply samples, else ``user``."""
    return "assistant" if ("assistant" in sample or "response" in sample) else "user"


def ordinary_halves(data: Path, per_set: int = 300) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(dev, report): each ordinary sample cut by ``sha256("ordinary-dev:" + text)``, capped per half."""
    from choose_offline_rule import normal_chat

    dev: dict[str, list[str]] = {}
    report: dict[str, list[str]] = {}
    for name, texts in normal_chat(data).items():
        is_dev = [hashlib.sha256(f"ordinary-dev:{t}".encode()).digest()[0] < 128 for t in texts]
        dev[name] = [t for t, d in zip(texts, is_dev, strict=True) if d][:per_set]
        report[name] = [t for t, d in zip(texts, is_dev, strict=True) if not d][:per_set]
    return dev, report


def window_embeddings(encoder: Any, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(owner index per window, unit-norm window embeddings) as the engine windows texts."""
    from wildchat.enrich.moderation.embedding import WINDOWS, embed
    from wildchat.enrich.moderation.offline import windows

    owners: list[int] = []
    pieces: list[str] = []
    for i, text in enumerate(texts):
        for w in windows(text.encode("utf-8", "replace").decode("utf-8"), WINDOWS):
            owners.append(i)
            pieces.append(w)
    return np.array(owners, dtype=np.int64), embed(encoder, pieces)


def head_scores(owned: tuple[np.ndarray, np.ndarray], n: int, coef: np.ndarray, icpt: float) -> np.ndarray:
    """Max over each text's windows of the head's P(toxic) (0 for a text without windows)."""
    owners, emb = owned
    probs = 1.0 / (1.0 + np.exp(-np.clip(emb @ coef + icpt, -50, 50)))
    out = np.zeros(n)
    np.maximum.at(out, owners, probs)
    return out


def _f1(pred: np.ndarray, gold: np.ndarray) -> float:
    tp = float((pred & gold).sum())
    return 2 * tp / max(1.0, float(pred.sum() + gold.sum()))


def thresholds(
    oof: np.ndarray, gold: np.ndarray, dev: dict[str, np.ndarray], user_cap: float, assistant_cap: float
) -> tuple[float, float]:
    """(user, assistant) thresholds of the embedding engine (module docstring)."""
    users = [s for k, s in dev.items() if role_of(k) == "user"]
    replies = [s for k, s in dev.items() if role_of(k) == "assistant"]
    ok = [t for t in GRID if all((s >= t).mean() <= user_cap for s in users)]
    if not ok:
        raise SystemExit("no embedding threshold meets the ordinary-chat user cap")
    user = max(ok, key=lambda t: (_f1(oof >= t, gold), -t))
    assistant = next(
        (t for t in GRID if t >= user and all((s >= t).mean() <= assistant_cap for s in replies)), 0.95
    )
    return user, assistant


def _two_tier(fast: np.ndarray, accurate: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    unsure = (fast >= band[0]) & (fast < band[1])
    return np.where(unsure, accurate, fast >= band[1])


def bands(
    fast_oof: np.ndarray,
    accurate_oof: np.ndarray,
    gold: np.ndarray,
    dev: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    max_sent: float,
    caps: tuple[float, float],
) -> tuple[tuple[float, float], tuple[float, float], float]:
    """(user band, assistant band, OOF F1 of the user band).

    ``accurate_oof`` = OOF embedding flags of ToxicChat rows at the user
    threshold; ``dev[sample]`` = (hashed scores, embedding flags at the user
    threshold, embedding flags at the assistant threshold) of its dev turns.
    """
    user_cap, assistant_cap = caps
    users = [v for k, v in dev.items() if role_of(k) == "user"]
    replies = [v for k, v in dev.items() if role_of(k) == "assistant"]
    best, best_f1 = (0.5, 0.5), -1.0
    for lo in BAND_GRID:
        for hi in (h for h in BAND_GRID if h >= lo):
            if ((fast_oof >= lo) & (fast_oof < hi)).mean() > max_sent:
                continue
            if any(_two_tier(f, a, (lo, hi)).mean() > user_cap for f, a, _ in users):
                continue
            f1 = _f1(_two_tier(fast_oof, accurate_oof, (lo, hi)), gold)
            if f1 > best_f1:
                best, best_f1 = (lo, hi), f1
    if best_f1 < 0:
        raise SystemExit("no two-tier band meets the ordinary-chat user cap")
    high = next(
        (
            h
            for h in BAND_GRID
            if h >= best[1]
            and all(_two_tier(f, a, (best[0], h)).mean() <= assistant_cap for f, _, a in replies)
        ),
        1.0,
    )
    return best, (best[0], high), best_f1
