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
from review_helpers import assert_matches, curate_prompts, release_truth, run_contract

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
