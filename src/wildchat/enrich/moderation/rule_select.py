"""Choosing the offline default's decision rule from labelled scores (pure).

The criterion (docs/quality.md): among the candidate rules, maximise F1 on
the selection fold subject to *no over-flagging* -- predicted-positive rate
<= the fold's base rate -- and precision >= ``min_precision`` (0.4).  Ties
go to the earlier candidate (simpler kinds first, lower thresholds first).
Used by ``scripts/choose_offline_rule.py`` and by the real-data test that
checks the shipped default is what the criterion picks on ToxicChat fold A.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wildchat.enrich.moderation.profanity import OfflineRule, combine

GRID = tuple(round(0.05 * k, 2) for k in range(1, 20))  # 0.05 .. 0.95


@dataclass(frozen=True)
class RuleScore:
    """Precision, recall, F1 and predicted-positive rate of one rule on labelled data."""

    rule: OfflineRule
    precision: float
    recall: float
    f1: float
    flag_rate: float


def candidates(grid: Sequence[float] = GRID) -> list[OfflineRule]:
    """Profanity alone, hashed alone, then OR / AND / mean of the two, over ``grid``."""
    out = [OfflineRule("profanity", None, tp) for tp in grid]
    out += [OfflineRule("hashed", th, 0.5) for th in grid]
    for kind in ("or", "and"):
        out += [OfflineRule(kind, th, tp) for th in grid for tp in grid]
    out += [OfflineRule("mean", th, 0.5) for th in grid]
    return out


def evaluate(
    rule: OfflineRule, hashed: Sequence[float], profane: Sequence[float], gold: Sequence[bool]
) -> RuleScore:
    """Score ``rule`` against ``gold`` (all lists aligned)."""
    pred = combine(rule, hashed, profane)
    tp = sum(1 for p, g in zip(pred, gold, strict=True) if p and g)
    n_pred, n_gold = sum(pred), sum(gold)
    prec = tp / n_pred if n_pred else 0.0
    rec = tp / n_gold if n_gold else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return RuleScore(rule, prec, rec, f1, n_pred / len(gold) if gold else 0.0)


def select_rule(
    hashed: Sequence[float],
    profane: Sequence[float],
    gold: Sequence[bool],
    min_precision: float = 0.4,
    rules: Sequence[OfflineRule] | None = None,
) -> RuleScore | None:
    """The admissible rule with the best F1 (see module docstring); None if none is admissible."""
    base = sum(gold) / len(gold) if gold else 0.0
    best: RuleScore | None = None
    for rule in rules if rules is not None else candidates():
        s = evaluate(rule, hashed, profane, gold)
        if s.flag_rate <= base and s.precision >= min_precision and (best is None or s.f1 > best.f1):
            best = s
    return best
