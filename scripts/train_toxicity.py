"""Train the offline default toxicity classifier shipped in src/wildchat/enrich/models/.

Deterministic: fixed data order, fixed solver, no random sampling.  Usage::

    .venv/bin/python scripts/train_toxicity.py [--data ../shared/data] [--out PATH]

Training data (all licences allow shipping derived weights):

* ``davidson_hate_offensive`` (MIT): hate (class 0) and offensive (class 1)
  tweets are toxic, ``neither`` (class 2) is not;
* ``jigsaw_toxic_detoxify_dummy`` train + scored test rows (CC0 / CC-BY-SA
  text): the ``toxic`` column;
* chatbot-style non-toxic prompts, so ordinary requests are not flagged for
  looking unlike tweets: OpenAssistant sample prompts and messages
  (Apache-2.0) and Arena-Hard questions (Apache-2.0), all labelled 0.

ToxicChat (CC-BY-NC-4.0) is **not** trained on.  It is used only to choose
the decision threshold -- on fold A (ids whose SHA-256 ends in an even hex
digit) -- and the script reports precision/recall/F1 on fold B, which the
threshold never saw, and on the whole split for reference.  Only weights
indexed by hash bucket are written: no training text is stored.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from wildchat.enrich.moderation.offline import DEFAULT_MODEL, FeatureSpec, featurize, save_model  # noqa: E402


def davidson(data: Path) -> tuple[list[str], list[int]]:
    with open(data / "davidson_hate_offensive" / "labeled_data.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["tweet"] for r in rows], [int(r["class"] != "2") for r in rows]


def jigsaw(data: Path) -> tuple[list[str], list[int]]:
    texts, labels = [], []
    for name in ("train.csv", "test.csv"):
        with open(data / "jigsaw_toxic_detoxify_dummy" / name, newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                if r.get("toxic") in ("0", "1"):
                    texts.append(r["comment_text"])
                    labels.append(int(r["toxic"]))
    return texts, labels


def benign_prompts(data: Path) -> list[str]:
    out: list[str] = []
    base = data / "oasst_sample_en100"
    for line in (base / "prompt_lottery_en_250_text.jsonl").read_text(encoding="utf-8").split("\n"):
        if line.strip():
            out.append(json.loads(line))

    def walk(node: dict[str, Any]) -> None:
        out.append(node["text"])
        for child in node.get("replies") or []:
            walk(child)

    for line in (base / "en_100_tree.jsonl").read_text(encoding="utf-8").split("\n"):
        if line.strip():
            walk(json.loads(line)["prompt"])
    for line in (data / "lmsys_arena_hard_v0.1" / "question.jsonl").read_text(encoding="utf-8").split("\n"):
        if line.strip():
            out.extend(t["content"] for t in json.loads(line)["turns"])
    return out


def harmful_requests(data: Path) -> tuple[list[str], list[int]]:
    """Requests for harmful content: forbidden questions (1) and JBB behaviours (1 harmful, 0 benign twin)."""
    with open(data / "jailbreak_llms" / "forbidden_question_set.csv", newline="", encoding="utf-8") as f:
        texts = [r["question"] for r in csv.DictReader(f)]
    labels = [1] * len(texts)
    jbb = json.loads((data / "prompt_injection_labelled" / "jbb-behaviors.json").read_text(encoding="utf-8"))
    for row in jbb["rows"]:
        texts.append(row["text"])
        labels.append(int(row["label"]))
    return texts, labels


def toxicchat(data: Path) -> tuple[list[str], list[int], list[int]]:
    """(texts, labels, fold) with fold 0 = A (threshold choice), 1 = B (report)."""
    doc = json.loads((data / "toxicchat" / "toxic_chat_train.json").read_text(encoding="utf-8"))
    texts, labels, folds = [], [], []
    for inst in doc["instances"]:
        texts.append(inst["instance"])
        labels.append(int(inst["annotations"]["toxicity"]["majority_human"]))
        folds.append(int(hashlib.sha256(str(inst["id"]).encode()).hexdigest()[-1], 16) % 2)
    return texts, labels, folds


def prf(pred: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    tp = int((pred & gold).sum())
    p = tp / max(1, int(pred.sum()))
    r = tp / max(1, int(gold.sum()))
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / max(1e-9, p + r), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--C", type=float, default=16.0)
    ap.add_argument("--chat-weight", type=float, default=1.0)
    ap.add_argument("--tweet-weight", type=float, default=1.0)
    ap.add_argument("--char-features", type=int, default=0, help="0 = word n-grams only (fast)")
    args = ap.parse_args()

    from sklearn.linear_model import LogisticRegression

    spec = FeatureSpec(char_features=args.char_features)
    d_x, d_y = davidson(args.data)
    j_x, j_y = jigsaw(args.data)
    h_x, h_y = harmful_requests(args.data)
    b_x = benign_prompts(args.data)
    texts = d_x + j_x + h_x + b_x
    labels = np.array(d_y + j_y + h_y + [0] * len(b_x))
    # The chatbot-style rows are few next to 25k tweets; weight them up so
    # the model learns what requests (harmful or not) look like.
    weights = np.ones(len(texts))
    weights[len(d_x) + len(j_x) :] = args.chat_weight
    weights[: len(d_x)] = args.tweet_weight
    model = LogisticRegression(C=args.C, class_weight="balanced", solver="liblinear", max_iter=2000)
    model.fit(featurize(texts, spec), labels, sample_weight=weights)
    coef, intercept = model.coef_[0].astype(np.float32), float(model.intercept_[0])

    tc_x, tc_y, tc_fold = toxicchat(args.data)
    logits = featurize(tc_x, spec) @ coef + intercept
    probs = 1.0 / (1.0 + np.exp(-logits))
    gold, fold = np.array(tc_y, dtype=bool), np.array(tc_fold)
    grid = [round(t, 2) for t in np.arange(0.05, 0.96, 0.01)]
    fold_a = fold == 0
    best = max(grid, key=lambda t: (prf(probs[fold_a] >= t, gold[fold_a])["f1"], t))
    report = {
        "train_rows": {
            "davidson": len(d_x),
            "jigsaw": len(j_x),
            "harmful_requests": len(h_x),
            "benign_prompts": len(b_x),
        },
        "threshold": best,
        "toxicchat_fold_b": prf(probs[~fold_a] >= best, gold[~fold_a]) | {"n": int((~fold_a).sum())},
        "toxicchat_all": prf(probs >= best, gold) | {"n": len(gold)},
        "toxicchat_all_at_0.5": prf(probs >= 0.5, gold),
    }
    meta = {
        "trained_on": "davidson_hate_offensive (MIT), jigsaw dummy (CC0/CC-BY-SA), forbidden questions (MIT),"
        " JBB-Behaviors (MIT), oasst + arena-hard prompts (Apache-2.0) as negatives",
        "threshold_from": "ToxicChat train split, fold A (sha256(id) even)",
        "C": args.C,
        "chat_weight": args.chat_weight,
        "tweet_weight": args.tweet_weight,
    }
    save_model(args.out, coef, intercept, best, spec, meta)
    print(json.dumps(report, indent=2))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
