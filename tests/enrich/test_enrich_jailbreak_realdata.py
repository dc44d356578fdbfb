"""Built-in jailbreak signatures on real labelled data (``make eval``; figures in docs/quality.md).

ToxicChat folds as in ``test_enrich_realdata.fold``: the signatures were written
and tuned looking only at fold A's prompts (0) and at the jailbreak_llms library;
fold B (1) is held out.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from wildchat.enrich.jailbreak import SignatureMatcher

pytestmark = pytest.mark.realdata


def _fold(conv_id: str) -> int:
    return int(hashlib.sha256(conv_id.encode()).hexdigest()[-1], 16) % 2


def _toxicchat(shared: Path) -> list[tuple[str, bool, int]]:
    doc = json.loads((shared / "toxicchat" / "toxic_chat_train.json").read_text(encoding="utf-8"))
    return [
        (r["instance"], r["annotations"]["jailbreaking"]["majority_human"] == "1", _fold(str(r["id"])))
        for r in doc["instances"]
    ]


def _pr(pred: list[str | None], gold: list[bool]) -> tuple[float, float, int]:
    tp = sum(1 for p, g in zip(pred, gold, strict=True) if p and g)
    flagged = sum(1 for p in pred if p)
    return tp / max(flagged, 1), tp / max(sum(gold), 1), flagged


def test_signatures_on_toxicchat_held_out_fold(shared_data: Path) -> None:
    rows = _toxicchat(shared_data)
    matcher = SignatureMatcher()
    # measured: fold B (held out) P 0.818 (36/44) R 0.643; both folds P 0.895 (85/95) R 0.752
    for fold, min_p, min_r in ((1, 0.80, 0.62), (None, 0.88, 0.73)):
        part = [r for r in rows if fold is None or r[2] == fold]
        p, r, flagged = _pr(matcher.match([t for t, _, _ in part]), [g for _, g, _ in part])
        print(f"signatures ToxicChat fold={fold} n={len(part)} P={p:.3f} R={r:.3f} flagged={flagged}")
        assert p >= min_p and r >= min_r


def _injections(shared: Path, name: str) -> list[tuple[str, bool]]:
    doc = json.loads((shared / "prompt_injection_labelled" / name).read_text(encoding="utf-8"))
    return [(r["text"], r["label"] == 1) for r in doc["rows"]]


def test_signatures_on_prompt_injection_sets(shared_data: Path) -> None:
    matcher = SignatureMatcher()
    gandalf = _injections(shared_data, "gandalf-ignore-instructions.json")
    _, recall, _ = _pr(matcher.match([t for t, _ in gandalf]), [g for _, g in gandalf])
    deepset = _injections(shared_data, "deepset-prompt-injections.json")
    pred = matcher.match([t for t, _ in deepset])
    false_pos = sum(1 for p, (_, g) in zip(pred, deepset, strict=True) if p and not g)
    found = sum(1 for p, (_, g) in zip(pred, deepset, strict=True) if p and g)
    print(f"gandalf R={recall:.3f}; deepset found={found}/{sum(g for _, g in deepset)} false_pos={false_pos}")
    assert recall >= 0.50  # "ignore previous instructions" family on real override attempts (0.527 measured)
    assert false_pos <= 2 and found >= 3  # benign role-play requests stay unflagged


def test_prefilter_agrees_on_real_text(shared_data: Path) -> None:
    texts = [t for t, _, _ in _toxicchat(shared_data)]
    texts += [t for t, _ in _injections(shared_data, "deepset-prompt-injections.json")]
    assert SignatureMatcher().match(texts) == SignatureMatcher(prefilter=False).match(texts)


def test_instruction_overrides_in_ordinary_sharegpt_tasks_stay_unflagged(shared_data: Path) -> None:
    doc = json.loads((shared_data / "sharegpt_v3_sample" / "sharegpt_v3_sample800.json").read_text("utf-8"))
    turns = [m["value"] for r in doc for m in r["conversations"] if m.get("from") == "human"]
    flagged = sum(1 for m in SignatureMatcher().match(turns) if m)
    print(f"ShareGPT human turns flagged {flagged}/{len(turns)}")
    assert flagged <= 2  # measured 1 (was 4: "ignore all previous instructions" SEO preambles)
