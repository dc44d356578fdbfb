"""The estimator against known answers: agreement statistics, the truth rule, and a simulated population.

The simulated population has a known precision and recall; sampling it with
the queue's own allocation many times checks that the Horvitz-Thompson point
estimate is unbiased and that the 95% interval (Jeffreys per stratum) covers the
truth about 95% of the time.
"""

from __future__ import annotations

import numpy as np
import pytest

from wildchat.review.estimate import (
    agreement,
    cohen_kappa,
    estimate_task,
    krippendorff_alpha,
    ratio_estimates,
    truth_labels,
)
from wildchat.review.sampling import allocate


def test_cohen_kappa_known_values() -> None:
    # 2x2 table a=20 (yes,yes), b=5, c=10, d=15 (Wikipedia's worked example): kappa = 0.4
    a = [True] * 25 + [False] * 25
    b = [True] * 20 + [False] * 5 + [True] * 10 + [False] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == 1.0
    assert cohen_kappa([True] * 5, [True] * 5) is None  # chance agreement 1: undefined, no division by zero
    assert cohen_kappa([], []) is None


def test_krippendorff_alpha_known_values() -> None:
    # Two coders, nominal, no missing values: alpha from the coincidence matrix by hand.
    units = [[1, 1], [1, 1], [0, 0], [0, 1], [1, 1], [0, 0]]
    # o(1,1)=6, o(0,0)=4, o(0,1)=o(1,0)=1; n1=7, n0=5, n=12; Do=2, De=2*7*5/11
    assert krippendorff_alpha(units) == pytest.approx(1 - 2 / (70 / 11), abs=1e-4)
    assert krippendorff_alpha([[1, 1], [1, 1]]) is None  # one value only: no expected disagreement
    assert krippendorff_alpha([[1], [0]]) is None  # no pairable unit
    # three coders with a missing value are fine
    assert krippendorff_alpha([[1, 1, 1], [0, 0], [1, 0, 1], [0, 0, 0]]) is not None


def test_truth_rule_majority_then_first_name_and_skips() -> None:
    rows = [
        {"item_id": 1, "annotator": "bob", "label": "true"},
        {"item_id": 1, "annotator": "alice", "label": "false"},  # tie: alice (first name) wins
        {"item_id": 2, "annotator": "bob", "label": "true"},
        {"item_id": 2, "annotator": "carol", "label": "true"},
        {"item_id": 2, "annotator": "alice", "label": "false"},  # majority true
        {"item_id": 3, "annotator": "alice", "label": "skip"},
        {"item_id": 3, "annotator": "bob", "label": "skip"},  # no truth
        {"item_id": 4, "annotator": "alice", "label": "skip"},
        {"item_id": 4, "annotator": "bob", "label": "true"},  # skip does not vote
    ]
    truth, stats = truth_labels(rows)
    assert truth == {1: False, 2: True, 4: True}
    assert stats == {"ties": 1, "disagreements": 2, "skipped_only": 1}


def test_agreement_two_and_three_annotators() -> None:
    two = [
        {"item_id": i, "annotator": a, "label": "true" if (i % 2 or a == "x") else "false"}
        for i in range(10)
        for a in ("x", "y")
    ]
    out = agreement(two)
    assert set(out) >= {"cohen_kappa", "n_items", "observed_agreement"} and "krippendorff_alpha" not in out
    assert out["n_items"] == 10 and out["observed_agreement"] == 0.5
    three = two + [{"item_id": i, "annotator": "z", "label": "true"} for i in range(10)]
    out3 = agreement(three)
    assert out3["krippendorff_alpha"] is not None and len(out3["pairwise"]) == 3
    assert agreement([{"item_id": 1, "annotator": "x", "label": "true"}])["cohen_kappa"] is None


STRATA = {  # name: (N_h, P(flagged), P(toxic | flagged), P(toxic | not flagged))
    "flagged": (1500, 1.0, 0.72, 0.0),
    "near_threshold": (900, 0.5, 0.6, 0.3),
    "not_flagged": (27000, 0.0, 0.0, 0.025),
    "empty": (0, 0.0, 0.0, 0.0),
}
#: the hard case: misses are rare in a huge "not flagged" stratum (few or none get sampled)
RARE_MISSES = {
    "flagged": (800, 1.0, 0.5, 0.0),
    "not_flagged": (60000, 0.0, 0.0, 0.004),
}


def _make_population(seed: int, spec: dict = STRATA) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = {}
    for name, (n, pf, pt_f, pt_n) in spec.items():
        pred = rng.random(n) < pf
        truth = np.where(pred, rng.random(n) < pt_f, rng.random(n) < pt_n)
        out[name] = (pred, truth)
    return out


@pytest.mark.parametrize("spec", [STRATA, RARE_MISSES], ids=["typical", "rare-misses"])
def test_estimator_is_unbiased_and_intervals_cover_on_a_simulated_population(spec: dict) -> None:
    pop = _make_population(0, spec)
    pred = np.concatenate([p for p, _ in pop.values()])
    truth = np.concatenate([t for _, t in pop.values()])
    true_p = (pred & truth).sum() / pred.sum()
    true_r = (pred & truth).sum() / truth.sum()
    alloc = allocate({k: len(v[0]) for k, v in pop.items()}, 400)
    reps, cover_p, cover_r, est_p, est_r = 150, 0, 0, [], []
    for seed in range(reps):
        rng = np.random.default_rng(1000 + seed)
        strata = {}
        for name, (p, t) in pop.items():
            idx = rng.choice(len(p), size=alloc[name], replace=False)
            strata[name] = (len(p), p[idx], t[idx])
        est = ratio_estimates(strata, seed=seed)
        est_p.append(est["precision"])
        est_r.append(est["recall"])
        lo, hi = est["precision_ci"]
        cover_p += lo <= true_p <= hi
        lo, hi = est["recall_ci"]
        cover_r += lo <= true_r <= hi
    print(
        f"true P={true_p:.3f} R={true_r:.3f}; mean est P={np.mean(est_p):.3f} R={np.mean(est_r):.3f}; "
        f"coverage P={cover_p / reps:.3f} R={cover_r / reps:.3f}"
    )
    # unbiased (ratio estimators: bias O(1/n)); the mean over 150 draws sits within ~3 standard errors
    assert abs(np.mean(est_p) - true_p) < 3 * np.std(est_p) / np.sqrt(reps) + 0.01
    assert abs(np.mean(est_r) - true_r) < 3 * np.std(est_r) / np.sqrt(reps) + 0.01
    # roughly nominal coverage (binomial sd of a 0.95 rate over 150 draws is 0.018)
    assert 0.88 <= cover_p / reps <= 0.995
    assert 0.88 <= cover_r / reps <= 0.995


def test_naive_unweighted_estimate_would_be_biased() -> None:
    """Guard for the weights themselves: the plain sample recall is far off, the weighted one is not."""
    pop = _make_population(0)
    pred = np.concatenate([p for p, _ in pop.values()])
    truth = np.concatenate([t for _, t in pop.values()])
    true_r = (pred & truth).sum() / truth.sum()
    alloc = allocate({k: len(v[0]) for k, v in pop.items()}, 400)
    rng = np.random.default_rng(5)
    strata = {}
    for name, (p, t) in pop.items():
        idx = rng.choice(len(p), size=alloc[name], replace=False)
        strata[name] = (len(p), p[idx], t[idx])
    sp = np.concatenate([s[1] for s in strata.values()])
    st = np.concatenate([s[2] for s in strata.values()])
    naive_r = (sp & st).sum() / st.sum()
    assert abs(naive_r - true_r) > 0.15  # oversampled flagged strata inflate plain recall
    assert abs(ratio_estimates(strata)["recall"] - true_r) < 0.15


def _items(strata: dict[str, list[tuple[bool, bool]]]) -> tuple[list, list, list]:
    items, labels, k = [], [], 0
    for name, rows in strata.items():
        for pred, truth in rows:
            k += 1
            items.append({"item_id": k, "stratum": name, "predictions": {"toxic": pred}})
            labels.append({"item_id": k, "annotator": "a", "label": "true" if truth else "false"})
    return items, labels, k


def test_empty_and_unlabelled_strata_are_reported_without_division_by_zero() -> None:
    items, labels, _ = _items({"flagged": [(True, True), (True, False)], "not_flagged": [(False, False)] * 3})
    strata = [
        {"stratum": "engines_disagree", "population": 0, "sampled": 0},
        {"stratum": "near_threshold", "population": 50, "sampled": 0},
        {"stratum": "flagged", "population": 20, "sampled": 2},
        {"stratum": "not_flagged", "population": 300, "sampled": 3},
    ]
    block = estimate_task("toxicity", items, strata, labels)
    assert block["strata"]["engines_disagree"] == {
        "population": 0,
        "sampled": 0,
        "labelled": 0,
        "weight": None,
        "empty": True,
    }
    assert block["strata"]["near_threshold"]["weight"] is None
    assert any("engines_disagree" in w and "empty" in w for w in block["warnings"])
    assert any("near_threshold" in w and "not covered" in w for w in block["warnings"])
    d = block["detectors"]["toxic"]
    assert d["precision"] == 0.5 and d["recall"] == 1.0  # no positive in not_flagged: recall 1
    assert d["confusion"] == {"tp": 1, "fp": 1, "fn": 0, "tn": 3} and d["n_labelled"] == 5
    assert block["agreement"]["cohen_kappa"] is None  # one annotator


def test_no_positive_at_all_gives_null_not_an_error() -> None:
    items, labels, _ = _items({"not_flagged": [(False, False)] * 4})
    block = estimate_task(
        "toxicity", items, [{"stratum": "not_flagged", "population": 9, "sampled": 4}], labels
    )
    d = block["detectors"]["toxic"]
    assert d["precision"] is None and d["precision_ci"] is None
    assert d["recall"] is None and d["recall_ci"] is None


def test_language_is_weighted_accuracy() -> None:
    items = [
        {"item_id": 1, "stratum": "lang:English", "predictions": {"language": "English"}},
        {"item_id": 2, "stratum": "lang:English", "predictions": {"language": "English"}},
        {"item_id": 3, "stratum": "short", "predictions": {"language": "Latin"}},
        {"item_id": 4, "stratum": "short", "predictions": {"language": "English"}},
    ]
    labels = [
        {"item_id": i, "annotator": "a", "label": lab}
        for i, lab in ((1, "true"), (2, "true"), (3, "false"), (4, "true"))
    ]
    strata = [
        {"stratum": "lang:English", "population": 90, "sampled": 2},
        {"stratum": "short", "population": 10, "sampled": 2},
    ]
    d = estimate_task("language", items, strata, labels)["detectors"]["language"]
    assert d["metric"] == "accuracy"
    assert d["accuracy"] == pytest.approx(0.95)  # 90 * 1.0 + 10 * 0.5
    assert d["precision"] == d["recall"] == d["accuracy"]
    assert d["by_label"]["Latin"] == {"n_labelled": 1, "correct": 0}
