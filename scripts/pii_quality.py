"""Print the PII quality figures of docs/quality.md ("PII"): ``.venv/bin/python scripts/pii_quality.py``.

Reads the public samples at run time (``--data``, default ``../shared/data``;
nothing is copied into the repository):

* Presidio synthetic sentences, split into seeded dev/test folds
  (:func:`wildchat.enrich.pii.evaluation.split_folds`, seed 14, half each):
  rules were tuned on ``dev``; ``test`` is the held-out figure;
* WNUT-17 (train + dev) for name recall on noisy text;
* ordinary chat turns (WildChat first turns, LMSYS-Chat-1M, ShareGPT) for the
  share of turns each policy touches (over-redaction).

Prints Markdown tables; ``--json FILE`` also writes the numbers.  Lives in
``scripts/`` so that ``wildchat.enrich`` imports nothing from ``curate``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

ENTITIES = ("PERSON", "CREDIT_CARD", "PHONE_NUMBER", "IP_ADDRESS", "EMAIL_ADDRESS", "IBAN_CODE")


def ordinary_turns(data: Path) -> dict[str, list[str]]:
    """Real chat turns per source (user and assistant)."""
    import pyarrow.parquet as pq

    wild = pq.read_table(data / "wildchat_firstturn" / "wildchat_clean_1335rows.parquet").to_pylist()
    lines = (data / "lmsys_chat_1m_sample191" / "lmsys_1000.jsonl").read_bytes().split(b"\n")
    lmsys = [
        m["content"]
        for line in lines
        if line.strip()
        for m in json.loads(line)["conversation"]
        if m["content"]
    ]
    share = json.loads(
        (data / "sharegpt_v3_sample" / "sharegpt_v3_sample800.json").read_text(encoding="utf-8")
    )
    return {
        "WildChat": [t for r in wild for t in (r["prompt"], r["response"]) if t],
        "LMSYS": lmsys,
        "ShareGPT": [m["value"] for r in share for m in r["conversations"] if m.get("value")],
    }


def _fmt(x: float) -> str:
    return "–" if x != x else f"{x:.3f}"


def main() -> None:
    from wildchat.enrich.pii import Redactor, pii_config
    from wildchat.enrich.pii.evaluation import load_presidio_synth, load_wnut_persons, score, split_folds

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    golds = load_presidio_synth(args.data / "presidio_synth_pii" / "synth_dataset_v2_dev1000.json")
    dev, test = split_folds(golds)
    wnut = []
    for name in ("wnut17train.conll", "emerging.dev.conll"):
        wnut.extend(load_wnut_persons(args.data / "wnut17" / name))
    chat = ordinary_turns(args.data)
    out: dict[str, Any] = {}
    print(f"Presidio synthetic: dev {len(dev)} / test {len(test)} records (seed 14)\n")
    print("| policy | fold | " + " | ".join(f"{e} R / P" for e in ENTITIES) + " |")
    print("|---|---|" + "---|" * len(ENTITIES))
    for policy in ("strict", "wildchat"):
        red = Redactor(pii_config(policy))
        for fold_name, fold in (("dev", dev), ("test", test)):
            sc = score(fold, red.redact_many([g.text for g in fold]))
            cells = [f"{_fmt(sc.recall(e))} / {_fmt(sc.precision(e))}" for e in ENTITIES]
            out[f"{policy}/{fold_name}"] = {
                e: {"recall": sc.recall(e), "precision": sc.precision(e),
                    "precision_any": sc.precision_any(e),
                    "gold": sc.gold[e], "found": sc.found[e], "predicted": sc.predicted[e]}
                for e in ENTITIES
            }  # fmt: skip
            print(f"| {policy} | {fold_name} | " + " | ".join(cells) + " |")
        sc = score(wnut, red.redact_many([g.text for g in wnut]))
        out[f"{policy}/wnut17"] = {"recall": sc.recall("PERSON"), "precision": sc.precision("PERSON"),
                                   "gold": sc.gold["PERSON"]}  # fmt: skip
        print(f"| {policy} | WNUT-17 ({sc.gold['PERSON']} names) | PERSON R {_fmt(sc.recall('PERSON'))} "
              f"P {_fmt(sc.precision('PERSON'))} |")  # fmt: skip
    print("\n| policy | " + " | ".join(f"{k} ({len(v)} turns)" for k, v in chat.items()) + " |")
    print("|---|" + "---|" * len(chat))
    for policy in ("wildchat", "strict"):
        red = Redactor(pii_config(policy))
        shares = {}
        for src, turns in chat.items():
            res = red.redact_many(turns)
            shares[src] = sum(r.redacted for r in res) / len(turns)
        out[f"{policy}/touched"] = shares
        print(f"| {policy} | " + " | ".join(f"{v:.2%}" for v in shares.values()) + " |")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
