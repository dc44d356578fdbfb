"""From judgments to scores: per-model per-turn medians and means, win/tie/loss.

Single grades: the repetitions of one (model, question, turn) are averaged
first, then means and medians are taken over questions with bootstrap 95%
intervals resampling questions (repetitions of one question are not
independent evidence).  ``repetition_sd`` is the mean standard deviation of a
question's grades across repetitions -- the judge's own noise.

Pairs: one outcome per (pair, question, turn, repetition) from the two
orders: the winner when both agree, a tie when they disagree (position bias
cancels out); an outcome with an unusable call in either order is skipped.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from typing import Any

from wildchat.evaluate.judge import Judgment
from wildchat.evaluate.stats import bootstrap_ci


def _estimates(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"questions": 0, "mean": None, "median": None}
    return {
        "questions": len(values),
        "mean": bootstrap_ci(values, "mean").to_dict(),
        "median": bootstrap_ci(values, "median").to_dict(),
    }


def summarize_single(judgments: list[Judgment], models: list[str]) -> dict[str, Any]:
    """Per model: ``turn_1``, ``turn_2``, … and ``overall`` score estimates."""
    per_unit: dict[tuple[str, int, str], list[float]] = defaultdict(list)
    turns: set[int] = set()
    for j in judgments:
        if j.kind == "single" and j.model is not None:
            turns.add(j.turn)
            if j.rating is not None:
                per_unit[(j.model, j.turn, j.question_id)].append(j.rating)
    out: dict[str, Any] = {}
    for model in models:
        entry: dict[str, Any] = {}
        overall: list[float] = []
        sds: list[float] = []
        for turn in sorted(turns):
            units = [v for (m, t, _), v in sorted(per_unit.items()) if m == model and t == turn]
            means = [statistics.fmean(v) for v in units]
            sds += [statistics.pstdev(v) for v in units if len(v) > 1]
            entry[f"turn_{turn}"] = _estimates(means)
            overall += means
        entry["overall"] = _estimates(overall)
        entry["repetition_sd"] = statistics.fmean(sds) if sds else None
        out[model] = entry
    return out


def pair_outcomes(judgments: list[Judgment]) -> tuple[list[dict[str, Any]], Counter[str]]:
    """One outcome per (ordered pair, question, turn, repetition) and skips by reason."""
    calls: dict[tuple[tuple[str, str], str, int, int], list[Judgment]] = defaultdict(list)
    for j in judgments:
        if j.kind == "pair" and j.model_a is not None and j.model_b is not None:
            key = tuple(sorted((j.model_a, j.model_b)))
            calls[((key[0], key[1]), j.question_id, j.turn, j.repetition)].append(j)
    outcomes: list[dict[str, Any]] = []
    skipped: Counter[str] = Counter()
    for (pair, qid, turn, rep), js in sorted(calls.items()):
        winners: list[str] = []
        for j in js:
            if j.verdict is None:
                skipped[f"pair_{j.skip_reason or 'incomplete'}"] += 1
                break
            winners.append(
                "tie" if j.verdict == "tie" else (j.model_a if j.verdict == "A" else j.model_b) or ""
            )
        else:
            if len(winners) == 2:
                winner = winners[0] if winners[0] == winners[1] else "tie"
                outcomes.append(
                    {
                        "models": list(pair),
                        "question_id": qid,
                        "turn": turn,
                        "repetition": rep,
                        "winner": winner,
                        "consistent": winners[0] == winners[1],
                    }
                )
            else:
                skipped["pair_incomplete"] += 1
    return outcomes, skipped


def summarize_pairs(judgments: list[Judgment], pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Win/tie/loss of ``model`` against ``opponent`` for each requested pair."""
    outcomes, _ = pair_outcomes(judgments)
    rows: list[dict[str, Any]] = []
    for model, opponent in pairs:
        mine = [o for o in outcomes if set(o["models"]) == {model, opponent}]
        counts = Counter(
            "win" if o["winner"] == model else "loss" if o["winner"] == opponent else "tie" for o in mine
        )
        n = len(mine)
        row: dict[str, Any] = {
            "model": model,
            "opponent": opponent,
            "win": counts["win"],
            "tie": counts["tie"],
            "loss": counts["loss"],
            "comparisons": n,
            "inconsistent_orders": sum(not o["consistent"] for o in mine),
        }
        for turn in sorted({o["turn"] for o in mine}):
            tc = Counter(
                "win" if o["winner"] == model else "loss" if o["winner"] == opponent else "tie"
                for o in mine
                if o["turn"] == turn
            )
            row[f"turn_{turn}"] = {"win": tc["win"], "tie": tc["tie"], "loss": tc["loss"]}
        if n:
            row["win_rate"] = bootstrap_ci([1.0 if o["winner"] == model else 0.0 for o in mine]).to_dict()
            row["loss_rate"] = bootstrap_ci([1.0 if o["winner"] == opponent else 0.0 for o in mine]).to_dict()
        rows.append(row)
    return rows


def usability(judgments: list[Judgment]) -> dict[str, Any]:
    """How many judgments were usable, and why the rest were not."""
    reasons = Counter(j.skip_reason for j in judgments if j.skip_reason is not None)
    by_kind: dict[str, dict[str, int]] = {}
    for kind in ("single", "pair"):
        ks = [j for j in judgments if j.kind == kind]
        by_kind[kind] = {"total": len(ks), "unusable": sum(j.skip_reason is not None for j in ks)}
    total = len(judgments)
    return {
        "total": total,
        "usable": total - sum(reasons.values()),
        "unusable": sum(reasons.values()),
        "unusable_by_reason": dict(sorted(reasons.items())),
        "by_kind": by_kind,
    }
