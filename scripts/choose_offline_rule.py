"""Choose (and report) the offline default toxicity rule on ToxicChat fold A.

Usage::

    .venv/bin/python scripts/choose_offline_rule.py [--data ../shared/data]

Scores every ToxicChat train prompt with the shipped hashed model and with
``alt-profanity-check``, runs :func:`wildchat.enrich.moderation.rule_select.select_rule`
on fold A and reports fold B, where A = the 70 % training fold of
scripts/train_toxicity.py (*in-sample* scores now that the hashed model
trains on it: the shipped rule is chosen there on out-of-fold scores
instead) and B = the held-out 30 %; and
prints, for the chosen rule and the best rule of each kind, precision /
recall / F1 / flag rate on folds A and B and the flag rate on real ordinary
chat (LMSYS, ShareGPT, WildChat samples).  Prints a Markdown table; writes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from train_toxicity import toxicchat  # noqa: E402

from wildchat.enrich.moderation.offline import load_offline  # noqa: E402
from wildchat.enrich.moderation.profanity import OfflineRule, combine, load_profanity  # noqa: E402
from wildchat.enrich.moderation.rule_select import candidates, evaluate, select_rule  # noqa: E402


def normal_chat(data: Path) -> dict[str, list[str]]:
    """Ordinary chat turns by sample and role (blank turns left out)."""
    import pyarrow.parquet as pq

    sets: dict[str, list[str]] = {"lmsys user": [], "lmsys assistant": []}
    for line in (
        (data / "lmsys_chat_1m_sample191" / "lmsys_1000.jsonl").read_text(encoding="utf-8").split("\n")
    ):
        if line.strip():
            for t in json.loads(line)["conversation"]:
                sets["lmsys user" if t["role"] == "user" else "lmsys assistant"].append(t["content"] or "")
    sg = json.loads((data / "sharegpt_v3_sample" / "sharegpt_v3_sample800.json").read_text(encoding="utf-8"))
    sets["sharegpt human"] = [c["value"] for r in sg for c in r["conversations"] if c["from"] == "human"]
    wc = pq.read_table(data / "wildchat_firstturn" / "wildchat_clean_1335rows.parquet").to_pydict()
    sets["wildchat prompt"] = [x or "" for x in wc["prompt"]]
    sets["wildchat response"] = [x or "" for x in wc["response"]]
    return {k: [x for x in v if x.strip()] for k, v in sets.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    hashed_model, prof = load_offline(), load_profanity()
    texts, labels, folds = toxicchat(args.data)
    h, p = hashed_model.scores(texts), prof.scores(texts)
    gold = [bool(y) for y in labels]
    idx = {f: [i for i, k in enumerate(folds) if k == f] for f in (0, 1)}

    def part(xs: list, f: int) -> list:  # type: ignore[type-arg]
        return [xs[i] for i in idx[f]]

    chosen = select_rule(part(h, 0), part(p, 0), part(gold, 0))
    best: dict[str, OfflineRule] = {}
    for kind in ("profanity", "hashed", "or", "and", "mean"):
        s = select_rule(
            part(h, 0), part(p, 0), part(gold, 0), rules=[r for r in candidates() if r.kind == kind]
        )
        if s:
            best[kind] = s.rule
    rows = [("previous default (hashed >= 0.08)", OfflineRule("hashed", hashed_model.threshold))]
    rows += [(f"best {k} on fold A", r) for k, r in best.items()]
    rows += [("profanity >= 0.3", OfflineRule("profanity", None, 0.3))]
    rows += [("profanity >= 0.5", OfflineRule("profanity", None, 0.5))]
    chat = normal_chat(args.data)
    chat_scores = {k: (hashed_model.scores(v), prof.scores(v)) for k, v in chat.items()}
    base = {f: sum(part(gold, f)) / len(idx[f]) for f in (0, 1)}
    print(
        f"chosen: {chosen}\nbase rate fold A {base[0]:.3f} (n={len(idx[0])}),"
        f" B {base[1]:.3f} (n={len(idx[1])})"
    )
    head = "| rule | A P/R/F1/rate | B P/R/F1/rate | " + " | ".join(chat) + " |"
    print(head + "\n" + "|---" * (3 + len(chat)) + "|")
    for name, rule in rows:
        cells = []
        for f in (0, 1):
            s = evaluate(rule, part(h, f), part(p, f), part(gold, f))
            cells.append(f"{s.precision:.3f} / {s.recall:.3f} / {s.f1:.3f} / {s.flag_rate:.3f}")
        for hs, ps in chat_scores.values():
            cells.append(f"{sum(combine(rule, hs, ps)) / len(hs):.3f}")
        desc = f"{rule.kind} h={rule.hashed_threshold} p={rule.profanity_threshold}"
        print(f"| {name}: {desc} | " + " | ".join(cells) + " |")
    print("n: " + ", ".join(f"{k} {len(v)}" for k, v in chat.items()))


if __name__ == "__main__":
    main()
