"""The reviewers' contract on ToxicChat (``make eval``): real prompts with known human toxicity labels.

ToxicChat's 2,801 human-annotated training prompts become raw logs, the real
curation pipeline tags them (offline toxicity default), and
``review sample --size 400 --task toxicity --seed 3`` + two annotators who
answer with ToxicChat's majority label (one of them with 10% slips) +
``review report`` must recover the released flag's precision and recall over
the whole release.  No prompt text is copied into the repository.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.review.review_helpers import assert_matches, curate_prompts, release_truth, run_contract

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def _toxicchat(shared: Path) -> dict[str, bool]:
    doc = json.loads((shared / "toxicchat" / "toxic_chat_train.json").read_text(encoding="utf-8"))
    votes: dict[str, list[bool]] = {}
    for r in doc["instances"]:
        text = r["instance"]
        if text.strip():
            votes.setdefault(text, []).append(r["annotations"]["toxicity"]["majority_human"] == "1")
    return {t: sum(v) * 2 > len(v) for t, v in votes.items()}  # repeated prompts: majority of their labels


def test_contract_on_toxicchat(shared_data: Path, tmp_path: Path) -> None:
    truth = _toxicchat(shared_data)
    release = curate_prompts(list(truth), tmp_path / "release")
    true_p, true_r, n = release_truth(release, truth)
    assert n >= 2 * 2700
    report = run_contract(release, tmp_path, lambda item: truth.get(item["text"], False))
    block = report["tasks"]["toxicity"]
    est = block["detectors"]["toxic"]
    print(
        f"ToxicChat release ({n} turns): truth P={true_p:.3f} R={true_r:.3f}; estimate from 400 items "
        f"P={est['precision']} {est['precision_ci']} R={est['recall']} {est['recall_ci']}; "
        f"kappa={block['agreement']['cohen_kappa']}; "
        f"sampled per stratum={ {k: v['sampled'] for k, v in block['strata'].items()} }"
    )
    assert_matches(est, true_p, true_r)
    assert block["agreement"]["cohen_kappa"] is not None and block["n_labelled"] == 400


def test_estimates_over_seeds_are_unbiased_and_cover(shared_data: Path, tmp_path: Path) -> None:
    """Ten labelling rounds (seeds 0-9) on one ToxicChat release, labels straight into the queue."""
    from wildchat.review.card import build_report
    from wildchat.review.sampling import draw_sample
    from wildchat.review.store import ReviewStore

    truth = _toxicchat(shared_data)
    release = curate_prompts(list(truth), tmp_path / "release")
    true_p, true_r, _n = release_truth(release, truth)
    ps, rs, cover = [], [], 0
    for seed in range(10):
        store = ReviewStore(tmp_path / f"q{seed}.db", create=True)
        store.add_sample(draw_sample(release, "toxicity", 400, seed), str(release))
        for it in store.items("toxicity"):
            t = truth.get(it["text"], False) if it["role"] == "user" else False
            store.put_label(it["item_id"], "alice", "toxicity", "true" if t else "false")
        est = build_report(store)["tasks"]["toxicity"]["detectors"]["toxic"]
        store.close()
        ps.append(est["precision"])
        rs.append(est["recall"])
        cover += est["precision_ci"][0] <= true_p <= est["precision_ci"][1]
        cover += est["recall_ci"][0] <= true_r <= est["recall_ci"][1]
    mean_p, mean_r = sum(ps) / len(ps), sum(rs) / len(rs)
    print(
        f"10 seeds: truth P={true_p:.3f} R={true_r:.3f}; mean estimate P={mean_p:.3f} R={mean_r:.3f}; "
        f"{cover}/20 intervals cover"
    )
    assert (
        abs(mean_p - true_p) < 0.04 and abs(mean_r - true_r) < 0.04
    )  # measured 0.401 / 0.222 vs 0.386 / 0.203
    assert cover >= 17  # nominal 19/20; measured 19/20
