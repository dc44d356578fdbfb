"""The toxicity engines on real data (``make eval``): held-out ToxicChat, ordinary chat.

Since the models train on ToxicChat's train split, the figures come from the
seeded 30 % of it that training never saw (``scripts/train_toxicity.py``,
:func:`heldout`); ordinary chat (LMSYS, ShareGPT, WildChat) checks the
default does not over-flag.  Floors sit a couple of points under the figures
measured when they were set (``scripts/eval_toxicity.py``, docs/quality.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.enrich.test_enrich_realdata import prf, toxicchat
from wildchat.curate.stages.moderation import ModerationStage
from wildchat.enrich.moderation.offline import load_offline
from wildchat.enrich.moderation.profanity import OfflineDefault

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from train_toxicity import heldout

pytestmark = pytest.mark.realdata
# thresholds capped by the ordinary-chat flag rate (scripts/toxicity_calibration.py); measured by
# scripts/eval_toxicity.py: embedding F1 0.652, two-tier 0.753 (goal >= 0.55)
EMBEDDING_F1_FLOOR = 0.62
TWO_TIER_F1_FLOOR = 0.73
# highest flag rate over the ordinary samples' report half, per role (measured: docs/quality.md)
USER_RATE_CAP = {"embedding": 0.07, "two-tier": 0.08}  # measured 0.057, 0.070
ASSISTANT_RATE_CAP = {"embedding": 0.08, "two-tier": 0.08}  # measured 0.077, 0.067


def _heldout(shared: Path) -> tuple[list[str], list[bool]]:
    rows = [r for r in toxicchat(shared) if heldout(str(r["id"]))]
    return [r["instance"] for r in rows], [
        r["annotations"]["toxicity"]["majority_human"] == "1" for r in rows
    ]


def test_heldout_fold_is_the_seeded_30_percent(shared_data: Path) -> None:
    texts, _ = _heldout(shared_data)
    assert 800 <= len(texts) <= 880  # 843 of 2,801
    assert "toxicchat-heldout" in load_offline().info["heldout"]


def test_default_rule_on_heldout_toxicchat(shared_data: Path) -> None:
    texts, gold = _heldout(shared_data)
    stage = ModerationStage()
    stage.ensure_setup()
    pred = stage._engines["offline"].flags(texts, ["user"] * len(texts))
    p, r, f1 = prf(pred, gold)
    base, rate = sum(gold) / len(gold), sum(pred) / len(pred)
    print(f"default held-out n={len(texts)} P={p:.3f} R={r:.3f} F1={f1:.3f} rate={rate:.3f} base={base:.3f}")
    assert rate <= base * 1.1  # no over-flagging (measured 0.109 vs 0.122)
    assert p >= 0.66  # measured 0.685
    assert r >= 0.58  # measured 0.612
    assert f1 >= 0.62  # measured 0.646 (goal >= 0.40; previous default 0.257)


def test_embedding_and_two_tier_on_heldout_toxicchat(shared_data: Path) -> None:
    pytest.importorskip("sentence_transformers")
    texts, gold = _heldout(shared_data)
    measured = {}
    for engine in ("embedding", "two-tier"):
        stage = ModerationStage(engine=engine)
        stage.ensure_setup()
        model = stage._engines[engine]
        pred = model.flags(texts)
        measured[engine] = prf(pred, gold)
        if engine == "two-tier":
            share = model.sent / len(texts)
            print(f"two-tier sent share {share:.3f}")
            assert share <= 0.30  # measured 0.249; band chosen for <= 30 % out-of-fold
    print({k: tuple(round(x, 3) for x in v) for k, v in measured.items()})
    assert measured["embedding"][2] >= EMBEDDING_F1_FLOOR
    assert measured["two-tier"][2] >= TWO_TIER_F1_FLOOR


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
    stage = ModerationStage()
    stage.ensure_setup()
    engine = stage._engines["offline"]
    assert isinstance(engine.user, OfflineDefault)

    def role(key: str) -> str:
        return "assistant" if "assistant" in key or "response" in key else "user"

    chat = _normal_chat(shared_data)
    rates = {k: sum(engine.flags(v, [role(k)] * len(v))) / len(v) for k, v in chat.items()}
    print({k: round(v, 3) for k, v in rates.items()})
    assert all(len(v) >= 900 for v in _normal_chat(shared_data).values())
    # WildChat itself found ~10 % toxic user turns; the previous default flagged 33-45 %.
    # Measured (retrained model, user 0.5 / replies 0.8): see docs/quality.md.
    assert max(rates["lmsys user"], rates["sharegpt human"], rates["wildchat prompt"]) <= 0.08
    assert max(rates["lmsys assistant"], rates["wildchat response"]) <= 0.05


def test_minilm_engines_flag_rate_on_ordinary_chat(shared_data: Path) -> None:
    """On the report half of ordinary chat (thresholds were capped on the other, dev half)."""
    pytest.importorskip("sentence_transformers")
    from toxicity_calibration import ordinary_halves, role_of

    chat = ordinary_halves(shared_data, 300)[1]
    for engine in ("embedding", "two-tier"):
        stage = ModerationStage(engine=engine)
        stage.ensure_setup()
        model = stage._engines[engine]
        rates = {k: sum(model.flags(v, [role_of(k)] * len(v))) / len(v) for k, v in chat.items()}
        print(engine, {k: round(v, 3) for k, v in rates.items()})
        # before the cap: 11-18 % of ordinary user turns, 7-16 % of replies (docs/quality.md)
        assert max(v for k, v in rates.items() if role_of(k) == "user") <= USER_RATE_CAP[engine]
        assert max(v for k, v in rates.items() if role_of(k) == "assistant") <= ASSISTANT_RATE_CAP[engine]
