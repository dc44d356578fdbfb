"""Print the jailbreak figures of docs/quality.md ("Jailbreak"): `python scripts/jailbreak_quality.py`.

Reads the public samples at run time (``--data``, default ``../shared/data``;
nothing is copied into the repository):

* ToxicChat train (``jailbreaking`` label), folds by the SHA-256 of the
  conversation id (last hex digit even = fold A): the signatures were written
  reading fold A and the jailbreak_llms library only; fold B is held out;
* prompt-injection sets (Gandalf: all positive; deepset: mixed; JBB: harmful
  requests and benign twins, neither a jailbreak template) as extra checks;
* ordinary chat user turns (LMSYS, ShareGPT, Alpaca, Arena-Hard): flag rates;
* the jailbreak_llms 2023-05-07 CSV as a user-supplied library, alone and
  combined with the signatures, at a few MinHash thresholds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path


def _fold(conv_id: str) -> int:
    return int(hashlib.sha256(conv_id.encode()).hexdigest()[-1], 16) % 2


def _pr(pred: Sequence[str | None], gold: Sequence[bool]) -> str:
    tp = sum(1 for p, g in zip(pred, gold, strict=True) if p and g)
    flagged = sum(1 for p in pred if p)
    pos = sum(gold)
    return f"P {tp / max(flagged, 1):.3f} ({tp}/{flagged}) R {tp / max(pos, 1):.3f} ({tp}/{pos})"


def main() -> None:
    from wildchat.enrich.jailbreak import CombinedMatcher, JailbreakMatcher, SignatureMatcher, load_library

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
    args = ap.parse_args()
    d = args.data
    doc = json.loads((d / "toxicchat" / "toxic_chat_train.json").read_text(encoding="utf-8"))
    rows = [
        (r["instance"], r["annotations"]["jailbreaking"]["majority_human"] == "1", _fold(str(r["id"])))
        for r in doc["instances"]
    ]
    sig = SignatureMatcher()
    print(f"signatures: {len(sig.signatures)} family blocks")
    pred = sig.match([t for t, _, _ in rows])
    for name, fold in (("fold A (tuned on)", 0), ("fold B (held out)", 1), ("both folds", None)):
        idx = [i for i, r in enumerate(rows) if fold is None or r[2] == fold]
        print(f"ToxicChat {name} n={len(idx)}: {_pr([pred[i] for i in idx], [rows[i][1] for i in idx])}")
    for name in ("gandalf-ignore-instructions.json", "deepset-prompt-injections.json", "jbb-behaviors.json"):
        inj = json.loads((d / "prompt_injection_labelled" / name).read_text(encoding="utf-8"))["rows"]
        p = sig.match([r["text"] for r in inj])
        print(f"{name} n={len(inj)}: {_pr(p, [r['label'] == 1 for r in inj])}")
    lines = (d / "lmsys_chat_1m_sample191" / "lmsys_1000.jsonl").read_bytes().split(b"\n")
    ordinary = {
        "LMSYS user": [
            m["content"]
            for ln in lines
            if ln.strip()
            for m in json.loads(ln)["conversation"]
            if m["role"] == "user"
        ],
        "ShareGPT human": [
            m["value"]
            for r in json.loads((d / "sharegpt_v3_sample" / "sharegpt_v3_sample800.json").read_text("utf-8"))
            for m in r["conversations"]
            if m.get("from") == "human"
        ],
        "Alpaca": [
            r["instruction"] + " " + r.get("input", "")
            for r in json.loads((d / "alpaca_gpt4_en_demo" / "alpaca_en_demo.json").read_text("utf-8"))
        ],
        "Arena-Hard": [
            json.loads(ln)["turns"][0]["content"]
            for ln in (d / "lmsys_arena_hard_v0.1" / "question.jsonl").read_text("utf-8").splitlines()
            if ln.strip()
        ],
    }
    for name, texts in ordinary.items():
        print(f"{name}: flagged {sum(1 for p in sig.match(texts) if p)} / {len(texts)}")
    library = load_library(d / "jailbreak_llms" / "jailbreak_prompts_2023_05_07.csv")
    found = sum(1 for p in sig.match([e.text for e in library]) if p)
    print(f"jailbreak_llms prompts found by the signatures alone: {found} / {len(library)}")
    texts, gold = [t for t, _, _ in rows], [g for _, g, _ in rows]
    fold_b = [i for i, r in enumerate(rows) if r[2] == 1]
    for threshold in (0.15, 0.3, 0.5):
        lib = JailbreakMatcher(library, threshold=threshold)
        alone, both = lib.match(texts), CombinedMatcher(lib, sig).match(texts)
        print(
            f"library {len(library)} prompts, threshold {threshold}: alone all {_pr(alone, gold)}; "
            f"+signatures fold B {_pr([both[i] for i in fold_b], [gold[i] for i in fold_b])}"
        )


if __name__ == "__main__":
    main()
