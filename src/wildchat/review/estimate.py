"""From human labels to detector quality for the whole release.

Method (stated in every report under ``method``):

* **Truth per item** -- the majority of the annotators' non-skip labels; a tie
  is broken by the annotator whose name sorts first among those who labelled
  the item (so with two annotators, disagreements go to the first name --
  add a third annotator to adjudicate).  Items with only skips have no truth
  and are left out (counted in ``n_skipped_only``).
* **Point estimate** -- Horvitz-Thompson: an item of stratum *h* stands for
  ``N_h / m_h`` turns (``N_h`` the stratum's population in the release,
  ``m_h`` its items with a truth, i.e. skips are taken as missing at random
  inside a stratum).  Weighted confusion totals give precision
  ``TP/(TP+FP)`` and recall ``TP/(TP+FN)``; for ``language`` the label *is*
  "the detected language is correct", so precision = recall = weighted
  accuracy.
* **95% interval** -- per stratum, Jeffreys posteriors (``Beta(k + 1/2,
  m - k + 1/2)``, the Jeffreys interval's construction) of the flagged share
  and of ``P(truth | flagged)`` / ``P(truth | not flagged)``; 4000 simulated
  draws of the weighted totals (fixed seed) give the percentile interval of
  precision and recall.  A plain stratified bootstrap was tried first: with
  few or no misses sampled from the big "not flagged" stratum it collapses
  and under-covers recall; the Jeffreys draws keep that uncertainty.
  Draws whose denominator is zero are dropped.
* **Agreement** -- Cohen's kappa over items both annotators labelled (mean
  of pairwise kappas when there are more than two, plus Krippendorff's
  alpha, nominal).
* Never divides by zero: an undefined figure is ``null``; empty strata
  (``N_h = 0``) and strata with no labelled item are listed and warned about.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["METHOD", "cohen_kappa", "estimate_task", "krippendorff_alpha", "ratio_estimates", "truth_labels"]

DRAWS = 4000
METHOD = {
    "truth": (
        "majority of non-skip labels; ties go to the annotator whose name sorts first; "
        "skip-only items excluded"
    ),
    "estimator": "Horvitz-Thompson with stratum weights N_h / m_h (m_h = items with a truth)",
    "interval": (
        "95% percentile interval of simulated totals: per stratum, Jeffreys Beta(k + 1/2, m - k + 1/2) "
        f"posteriors of the flagged share and of P(truth | flagged / not flagged), combined with N_h "
        f"({DRAWS} draws, seed 0)"
    ),
    "agreement": "Cohen's kappa (mean pairwise when > 2 annotators); Krippendorff's alpha (nominal) when > 2",
}


def truth_labels(labels: Iterable[Mapping[str, Any]]) -> tuple[dict[int, bool], dict[str, int]]:
    """Truth per item from ``{"item_id", "annotator", "label"}`` rows (see :data:`METHOD`)."""
    by_item: dict[int, dict[str, bool | None]] = defaultdict(dict)
    for r in labels:
        by_item[int(r["item_id"])][str(r["annotator"])] = (
            None if r["label"] == "skip" else r["label"] == "true"
        )
    truth: dict[int, bool] = {}
    stats = Counter({"ties": 0, "disagreements": 0, "skipped_only": 0})
    for item_id, votes in by_item.items():
        real = {a: v for a, v in votes.items() if v is not None}
        if not real:
            stats["skipped_only"] += 1
            continue
        yes = sum(real.values())
        no = len(real) - yes
        stats["disagreements"] += int(yes > 0 and no > 0)
        if yes == no:
            stats["ties"] += 1
            truth[item_id] = bool(real[min(real)])
        else:
            truth[item_id] = yes > no
    return truth, dict(stats)


def _percentile_ci(values: np.ndarray) -> list[float] | None:
    ok = values[~np.isnan(values)]
    if ok.size == 0:
        return None
    lo, hi = np.percentile(ok, [2.5, 97.5])
    return [round(float(lo), 4), round(float(hi), 4)]


def _beta(rng: np.random.Generator, yes: int, no: int) -> np.ndarray:
    """Draws from the Jeffreys posterior Beta(yes + 1/2, no + 1/2) of a proportion."""
    return rng.beta(yes + 0.5, no + 0.5, size=DRAWS)


def ratio_estimates(
    strata: Mapping[str, tuple[int, np.ndarray, np.ndarray]], seed: int = 0
) -> dict[str, Any]:
    """HT precision/recall with 95% intervals (see :data:`METHOD`).

    ``strata`` maps a name to ``(N_h, pred, truth)`` (boolean arrays of the
    labelled items).  Per stratum, the share of flagged turns ``q_h`` (fixed
    when the stratum is all flagged or all not flagged), ``P(truth | flagged)``
    and ``P(truth | not flagged)`` get Jeffreys posteriors; simulated totals
    ``TP = sum N_h q_h a_h`` ... give the interval.  Unlike a plain bootstrap,
    a stratum with few or no positives in the sample still carries its
    uncertainty (the rare misses in a big "not flagged" stratum decide recall).
    """
    rng = np.random.default_rng(seed)
    tot = dict.fromkeys(("tp", "fp", "fn", "tn"), 0.0)
    sim = {k: np.zeros(DRAWS) for k in ("tp", "fp", "fn")}
    for population, pred, truth in strata.values():
        m = len(pred)
        if m == 0 or population == 0:
            continue
        w = population / m
        cells = {"tp": pred & truth, "fp": pred & ~truth, "fn": ~pred & truth, "tn": ~pred & ~truth}
        c = {k: int(v.sum()) for k, v in cells.items()}
        for k in tot:
            tot[k] += w * c[k]
        pos, neg = c["tp"] + c["fp"], c["fn"] + c["tn"]
        q = _beta(rng, pos, neg) if pos and neg else np.full(DRAWS, 1.0 if pos else 0.0)
        if pos:
            a = _beta(rng, c["tp"], c["fp"])
            sim["tp"] += population * q * a
            sim["fp"] += population * q * (1 - a)
        if neg:
            sim["fn"] += population * (1 - q) * _beta(rng, c["fn"], c["tn"])
    with np.errstate(invalid="ignore", divide="ignore"):
        bp = sim["tp"] / (sim["tp"] + sim["fp"])
        br = sim["tp"] / (sim["tp"] + sim["fn"])
    p_den, r_den = tot["tp"] + tot["fp"], tot["tp"] + tot["fn"]
    return {
        "precision": round(tot["tp"] / p_den, 4) if p_den > 0 else None,
        "precision_ci": _percentile_ci(bp) if p_den > 0 else None,
        "recall": round(tot["tp"] / r_den, 4) if r_den > 0 else None,
        "recall_ci": _percentile_ci(br) if r_den > 0 else None,
        "confusion_weighted": {k: round(v, 2) for k, v in tot.items()},
    }


def _accuracy(strata: Mapping[str, tuple[int, np.ndarray]], seed: int = 0) -> tuple[float | None, Any]:
    """HT mean of ``correct``; interval from per-stratum Jeffreys posteriors (as :func:`ratio_estimates`)."""
    rng = np.random.default_rng(seed)
    num, den = 0.0, 0.0
    snum = np.zeros(DRAWS)
    for population, correct in strata.values():
        m = len(correct)
        if m == 0 or population == 0:
            continue
        k = int(correct.sum())
        num, den = num + population * k / m, den + population
        snum += population * _beta(rng, k, m - k)
    if den == 0:
        return None, None
    return round(num / den, 4), _percentile_ci(snum / den)


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float | None:
    """Cohen's kappa of two paired label lists; None when undefined (no items, or chance agreement 1)."""
    n = len(a)
    if n == 0 or n != len(b):
        return None
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    return None if pe >= 1 else round((po - pe) / (1 - pe), 4)


def krippendorff_alpha(units: Iterable[Sequence[Any]]) -> float | None:
    """Krippendorff's alpha (nominal) over units of values; units with < 2 values do not count."""
    o: defaultdict[tuple[Any, Any], float] = defaultdict(float)
    for values in units:
        m = len(values)
        if m < 2:
            continue
        for i, j in itertools.permutations(range(m), 2):
            o[(values[i], values[j])] += 1 / (m - 1)
    n_c: defaultdict[Any, float] = defaultdict(float)
    for (c, _k), v in o.items():
        n_c[c] += v
    n = sum(n_c.values())
    if n <= 1:
        return None
    d_o = sum(v for (c, k), v in o.items() if c != k)
    d_e = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k) / (n - 1)
    return None if d_e == 0 else round(1 - d_o / d_e, 4)


def agreement(labels: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Cohen's kappa (pairwise mean when > 2 annotators) and, for > 2, Krippendorff's alpha."""
    votes: dict[str, dict[int, bool]] = defaultdict(dict)
    for r in labels:
        if r["label"] != "skip":
            votes[str(r["annotator"])][int(r["item_id"])] = r["label"] == "true"
    names = sorted(votes)
    out: dict[str, Any] = {"annotators": names, "cohen_kappa": None}
    pairs: dict[str, Any] = {}
    for a, b in itertools.combinations(names, 2):
        common = sorted(set(votes[a]) & set(votes[b]))
        k = cohen_kappa([votes[a][i] for i in common], [votes[b][i] for i in common])
        agree = sum(votes[a][i] == votes[b][i] for i in common)
        pairs[f"{a}|{b}"] = {
            "cohen_kappa": k,
            "n_items": len(common),
            "observed_agreement": round(agree / len(common), 4) if common else None,
        }
    defined = [p["cohen_kappa"] for p in pairs.values() if p["cohen_kappa"] is not None]
    if len(names) == 2:
        out.update(next(iter(pairs.values())))
    elif len(names) > 2:
        out["cohen_kappa"] = round(sum(defined) / len(defined), 4) if defined else None
        out["pairwise"] = pairs
        items = {i for v in votes.values() for i in v}
        out["krippendorff_alpha"] = krippendorff_alpha(
            [[votes[a][i] for a in names if i in votes[a]] for i in sorted(items)]
        )
    else:
        out["note"] = "fewer than two annotators: no agreement figure"
    return out


def estimate_task(
    task: str,
    items: Sequence[Mapping[str, Any]],
    strata: Sequence[Mapping[str, Any]],
    labels: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The report block of one task (the layout :func:`wildchat.review.card.build_report` documents)."""
    truth, tstats = truth_labels(labels)
    by_stratum: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for it in items:
        by_stratum[it["stratum"]].append(it)
    pop = {s["stratum"]: int(s["population"]) for s in strata}
    strata_out: dict[str, Any] = {}
    warnings: list[str] = []
    for s in strata:
        name, labelled = s["stratum"], sum(1 for it in by_stratum[s["stratum"]] if it["item_id"] in truth)
        strata_out[name] = {
            "population": pop[name],
            "sampled": int(s["sampled"]),
            "labelled": labelled,
            "weight": round(pop[name] / labelled, 4) if labelled else None,
            "empty": pop[name] == 0,
        }
        if pop[name] == 0:
            warnings.append(f"stratum {name!r} is empty in the release")
        elif labelled == 0:
            warnings.append(f"stratum {name!r} ({pop[name]} turns) has no labelled item: not covered")
    engines = sorted({d for it in items for d in (it["predictions"] or {})})
    detectors = {d: _detector(task, d, by_stratum, pop, truth) for d in engines}
    return {
        "n_items": len(items),
        "n_labelled": len(truth),
        "n_skipped_only": tstats["skipped_only"],
        "ties": tstats["ties"],
        "disagreements": tstats["disagreements"],
        "strata": strata_out,
        "warnings": warnings,
        "detectors": detectors,
        "agreement": agreement(labels),
        "method": METHOD,
    }


def _language(rows: Mapping[str, list[tuple[Any, bool]]], pop: Mapping[str, int], n: int) -> dict[str, Any]:
    """The ``language`` block: the label says "detected language correct", so the figure is accuracy."""
    acc, ci = _accuracy(
        {s: (pop.get(s, 0), np.array([y for _, y in v], dtype=bool)) for s, v in rows.items()}
    )
    per_label: dict[str, list[bool]] = defaultdict(list)
    for v in rows.values():
        for p, y in v:
            per_label[str(p)].append(y)
    return {
        "metric": "accuracy",
        "precision": acc,
        "precision_ci": ci,
        "recall": acc,
        "recall_ci": ci,
        "accuracy": acc,
        "accuracy_ci": ci,
        "n_labelled": n,
        "confusion": {
            "correct": sum(y for v in rows.values() for _, y in v),
            "incorrect": sum(not y for v in rows.values() for _, y in v),
        },
        "by_label": {k: {"n_labelled": len(v), "correct": sum(v)} for k, v in sorted(per_label.items())},
    }


def _detector(
    task: str,
    name: str,
    by_stratum: Mapping[str, Sequence[Mapping[str, Any]]],
    pop: Mapping[str, int],
    truth: Mapping[int, bool],
) -> dict[str, Any]:
    rows = {
        s: [
            (it["predictions"].get(name), truth[it["item_id"]])
            for it in its
            if it["item_id"] in truth and it["predictions"].get(name) is not None
        ]
        for s, its in by_stratum.items()
    }
    n = sum(len(v) for v in rows.values())
    if task == "language":
        return _language(rows, pop, n)
    arrays = {
        s: (
            pop.get(s, 0),
            np.array([bool(p) for p, _ in v], dtype=bool),
            np.array([y for _, y in v], dtype=bool),
        )
        for s, v in rows.items()
    }
    est = ratio_estimates(arrays)
    raw: Counter[str] = Counter()
    for v in rows.values():
        for p, y in v:
            raw["tp" if p and y else "fp" if p else "fn" if y else "tn"] += 1
    return {
        "precision": est["precision"],
        "precision_ci": est["precision_ci"],
        "recall": est["recall"],
        "recall_ci": est["recall_ci"],
        "n_labelled": n,
        "confusion": {k: raw[k] for k in ("tp", "fp", "fn", "tn")},
        "confusion_weighted": est["confusion_weighted"],
    }
