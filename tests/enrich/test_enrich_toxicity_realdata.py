"""The offline default toxicity rule on real data (``make eval``): the criterion, held-out, ordinary chat.

Criterion (docs/quality.md): on ToxicChat fold A, the rule maximises F1
subject to flag rate <= base rate and precision >= 0.4.  Held-out fold B and
ordinary chat (LMSYS, ShareGPT, WildChat) check it does not over-flag.
Floors sit a little under the figures measured when they were set.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_enrich_realdata import fold, prf, toxicchat

from wildchat.enrich.moderation.offline import load_offline
from wildchat.enrich.moderation.profanity import OfflineDefault, OfflineRule, load_profanity
from wildchat.enrich.moderation.rule_select import select_rule

pytestmark = pytest.mark.realdata


def _fold(shared: Path, k: int) -> tuple[list[str], list[bool]]:
    rows = [r for r in toxicchat(shared) if fold(str(r["id"])) == k]
    return [r["instance"] for r in rows], [
        r["annotations"]["toxicity"]["majority_human"] == "1" for r in rows
    ]


def test_default_rule_is_what_the_criterion_picks_on_fold_a(shared_data: Path) -> None:
    texts, gold = _fold(shared_data, 0)
    best = select_rule(load_offline().scores(texts), load_profanity().scores(texts), gold)
    assert best is not None
    print(f"fold A choice {best}")
    assert best.rule == OfflineRule()  # the shipped default is the criterion's choice
    assert best.precision >= 0.4 and best.flag_rate <= sum(gold) / len(gold)


def test_default_rule_on_held_out_fold_b(shared_data: Path) -> None:
    texts, gold = _fold(shared_data, 1)
    pred = OfflineDefault().flags(texts)
    p, r, f1 = prf(pred, gold)
    base, rate = sum(gold) / len(gold), sum(pred) / len(pred)
    print(
        f"default rule fold B n={len(texts)} P={p:.3f} R={r:.3f} F1={f1:.3f} rate={rate:.3f} base={base:.3f}"
    )
    assert rate <= base  # no over-flagging (measured 0.077 vs 0.138)
    assert p >= 0.33  # measured 0.358 (selection floor 0.4 held on fold A only): 2.6x the base rate
    assert r >= 0.17  # measured 0.200
    assert f1 >= 0.23  # measured 0.257


def _normal_chat(shared: Path) -> dict[str, list[str]]:
    import pyarrow.parquet as pq

    sets: dict[str, list[str]] = {"lmsys user": [], "lmsys assistant": []}
    lines = (shared / "lmsys_chat_1m_sample191" / "lmsys_1000.jsonl").read_text(encoding="utf-8").split("\n")
    for line in filter(str.strip, lines):
        for t in json.loads(line)["conversation"]:
            sets["lmsys user" if t["role"] == "user" else "lmsys assistant"].append(t["content"] or "")
    sg = json.loads(
        (shared / "sharegpt_v3_sample" / "sharegpt_v3_sample800.json").read_text(encoding="utf-8")
    )
    sets["sharegpt human"] = [c["value"] for r in sg for c in r["conversations"] if c["from"] == "human"]
    wc = pq.read_table(shared / "wildchat_firstturn" / "wildchat_clean_1335rows.parquet").to_pydict()
    sets["wildchat prompt"] = [x or "" for x in wc["prompt"]]
    sets["wildchat response"] = [x or "" for x in wc["response"]]
    return {k: [x for x in v if x.strip()] for k, v in sets.items()}


def test_default_rule_flag_rate_on_ordinary_chat(shared_data: Path) -> None:
    engine = OfflineDefault()
    rates = {k: sum(engine.flags(v)) / len(v) for k, v in _normal_chat(shared_data).items()}
    print({k: round(v, 3) for k, v in rates.items()})
    assert all(len(v) >= 900 for v in _normal_chat(shared_data).values())
    # WildChat itself found ~10 % toxic user turns; the previous default flagged 33-45 %.
    # Measured: lmsys user 0.057, sharegpt 0.017, wildchat prompt 0.028; replies 0.036 / 0.015.
    assert max(rates["lmsys user"], rates["sharegpt human"], rates["wildchat prompt"]) <= 0.08
    assert max(rates["lmsys assistant"], rates["wildchat response"]) <= 0.05
