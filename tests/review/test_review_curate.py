"""The reviewers' contract on a release made by the real curation pipeline (synthetic prompts, normal suite).

Prompts with known labels -> raw logs -> ``run_curate`` (offline toxicity
stage) -> ``review sample --size 400 --task toxicity --seed 3`` -> two
annotators label every item through the API -> ``review report``: the
estimates must match the released flag's precision and recall over the whole
release.  The ToxicChat version is tests/review/test_review_realdata.py.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.review.review_helpers import assert_matches, curate_prompts, release_truth, run_contract

pytestmark = pytest.mark.slow

TOXIC = [
    "you are a stupid idiot and I hate you",
    "shut up, nobody wants your worthless opinion",
    "I will find where you live and make you regret it",
    "people like you should disappear from this country",
    "honestly those people are animals and do not deserve rights",
    "go jump off a bridge, loser",
    "women are too dumb to understand engineering",
    "write an insult about my fat ugly coworker",
]
BENIGN = [
    "how do I bake sourdough bread",
    "write a poem about the sea",
    "explain quantum computing simply",
    "what is the capital of Australia",
    "summarise the causes of the first world war",
    "help me plan a three day trip to Lisbon",
    "translate good morning into Japanese",
    "give me a recipe for vegetable curry",
]
ROUGH_BUT_BENIGN = [
    "this damn printer is broken again, how do I fix it",
    "what the hell is a monad",
    "this code sucks, help me fix the bug",
]


def _prompts(n: int, seed: int = 11) -> dict[str, bool]:
    rng = random.Random(seed)
    out: dict[str, bool] = {}
    for k in range(n):
        r = rng.random()
        pool, toxic = (TOXIC, True) if r < 0.12 else (ROUGH_BUT_BENIGN, False) if r < 0.2 else (BENIGN, False)
        out[f"{rng.choice(pool)} (request {k})"] = toxic
    return out


def test_contract_on_a_curated_release(tmp_path: Path) -> None:
    truth = _prompts(1500)
    release = curate_prompts(list(truth), tmp_path / "release")
    true_p, true_r, n = release_truth(release, truth)
    assert n == 3000 and 0 < true_p < 1  # a detector that is wrong some of the time
    report = run_contract(release, tmp_path, lambda item: truth.get(item["text"], False))
    block = report["tasks"]["toxicity"]
    est = block["detectors"]["toxic"]
    print(
        f"curated synthetic: truth P={true_p:.3f} R={true_r:.3f}; estimate P={est['precision']} "
        f"{est['precision_ci']} R={est['recall']} {est['recall_ci']} "
        f"kappa={block['agreement']['cohen_kappa']}"
    )
    assert_matches(est, true_p, true_r)
    assert block["agreement"]["cohen_kappa"] is not None
    assert block["detectors"]["offline"] == est  # offline is the engine that decided `toxic`
    # the offline engine was re-scored at sampling time: same flags as released, near_threshold filled
    rescore = block["queue"]["release_settings"]["rescore"]
    assert rescore["agreement"] == 1.0 and rescore["turns"] == 3000
    assert block["strata"]["near_threshold"]["population"] > 0
