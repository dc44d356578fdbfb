"""Quality of the enrichment engines on real public data (``make eval``).

Thresholds sit a little under the figures measured when they were set (see
docs/quality.md), so a regression fails while run-to-run noise does not.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from wildchat.enrich.jailbreak import JailbreakMatcher, load_library
from wildchat.enrich.language import LanguageConfig, build_detector, iso_label
from wildchat.enrich.language_short import PRIOR
from wildchat.enrich.moderation.offline import OfflineToxicity

pytestmark = pytest.mark.realdata
PER_CELL = 60  # lines per (language, unit) of the 300 available: bounds the run to ~13.5k texts


def prf(pred: list[bool], gold: list[bool]) -> tuple[float, float, float]:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    p = tp / max(1, sum(pred))
    r = tp / max(1, sum(gold))
    return p, r, 2 * p * r / max(1e-9, p + r)


def lid_rows(shared: Path) -> list[tuple[str, str, str]]:
    seen: dict[tuple[str, str], int] = defaultdict(int)
    rows = []
    path = shared / "lingua_lid_testdata" / "lingua_testdata_300per.tsv"
    with open(path, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            key = (r["lang_iso639_1"], r["unit"])
            if seen[key] < PER_CELL:
                seen[key] += 1
                rows.append((iso_label(r["lang_iso639_1"]), r["unit"], r["text"]))
    return rows


def _lid_accuracy(rows: list[tuple[str, str, str]], config: LanguageConfig) -> tuple[dict, dict, dict, float]:
    labels = build_detector(config).detect([t for _, _, t in rows])
    by_unit: dict[str, list[bool]] = defaultdict(list)
    by_lang: dict[str, list[bool]] = defaultdict(list)
    common: dict[str, list[bool]] = defaultdict(list)
    for (gold, unit, _), got in zip(rows, labels, strict=True):
        by_unit[unit].append(got == gold)
        if gold in PRIOR:
            common[unit].append(got == gold)
        if unit == "sentences":
            by_lang[gold].append(got == gold)
    acc = {u: sum(v) / len(v) for u, v in by_unit.items()}
    acc_common = {u: sum(v) / len(v) for u, v in common.items()}
    overall = sum(sum(v) for v in by_unit.values()) / len(rows)
    return acc, acc_common, {k: sum(v) / len(v) for k, v in by_lang.items()}, overall


def test_language_accuracy_lingua_testdata(shared_data: Path) -> None:
    """Default (short-text fallback) and the uniform-prior mode (``short_letters = 0``).

    The short-text fallback deliberately trades exotic languages' single words
    for chat's common languages (the issue's contract: no confident exotic
    labels on short texts), so the default's floors for all 75 languages on
    word pairs / single words are lower than the uniform mode's, and the 18
    common languages' are higher; the uniform mode keeps the previous floors.
    """
    rows = lid_rows(shared_data)
    acc, acc_common, per_lang, overall = _lid_accuracy(rows, LanguageConfig())
    print("lid accuracy", {k: round(v, 4) for k, v in acc.items()}, "common", acc_common, "overall", overall)
    assert acc["sentences"] >= 0.94  # measured 0.955
    assert acc["word-pairs"] >= 0.76  # measured 0.788 (uniform prior 0.870)
    assert acc["single-words"] >= 0.62  # measured 0.644 (uniform prior 0.730)
    assert acc_common["word-pairs"] >= 0.90  # measured 0.927 (uniform prior 0.906)
    assert acc_common["single-words"] >= 0.77  # measured 0.791 (uniform prior 0.747)
    assert overall >= 0.77
    # Near-identical pairs are lingua's known weak spots (Malay -> Indonesian,
    # Bosnian -> Croatian/Serbian, Bokmal <-> Nynorsk, Urdu <-> Hindi): 4 languages are
    # under 0.80 on all 300 sentences; allow 5 at this sample size, none may vanish,
    # and the typical language must be near perfect.
    weak = sorted(k for k, v in per_lang.items() if v < 0.80)
    assert len(weak) <= 5, weak
    assert sorted(per_lang.values())[len(per_lang) // 2] >= 0.95
    assert min(per_lang.values()) >= 0.15
    print("Russian", per_lang["Russian"], "English", per_lang["English"])
    assert min(per_lang["Russian"], per_lang["English"]) >= 0.96  # measured >= 0.983 (60 sentences each)
    uniform, _, _, overall_u = _lid_accuracy(rows, LanguageConfig(short_letters=0))
    assert uniform["sentences"] >= 0.94
    assert uniform["word-pairs"] >= 0.85
    assert uniform["single-words"] >= 0.70
    assert overall_u >= 0.83


def test_short_english_openers(shared_data: Path) -> None:
    """Openers written for this project: alone (fallback) and answered by an English reply (context)."""
    from eval_language import OPENERS, OPENERS_HELDOUT, OPENERS_HELDOUT2, conversation_labels, read_lines

    config = LanguageConfig()
    det = build_detector(config)
    reply = "Sure! Here is what you asked for, written out in full below."
    # measured alone: 1.000 (tuning list), 0.990 (held-out list), 0.992 (second held-out list, never tuned on)
    for path, floor in ((OPENERS, 0.99), (OPENERS_HELDOUT, 0.97), (OPENERS_HELDOUT2, 0.97)):
        texts = read_lines(path)
        alone = sum(x == "English" for x in det.detect(texts)) / len(texts)
        in_chat = sum(conversation_labels(config, t, reply)[0] == "English" for t in texts) / len(texts)
        print(path.name, "alone", round(alone, 4), "with reply", round(in_chat, 4))
        assert alone >= floor
        assert in_chat >= 0.99  # measured 1.000 on all three
    previous = build_detector(LanguageConfig(short_letters=0)).detect(read_lines(OPENERS))
    assert sum(x == "English" for x in previous) / len(previous) < 0.8  # the failure this fixes (0.713)


def test_language_agrees_with_wildchat_labels(shared_data: Path) -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(shared_data / "wildchat_firstturn" / "wildchat_clean_1335rows.parquet")
    prompts, gold = table.column("prompt").to_pylist(), table.column("language").to_pylist()
    got = build_detector(LanguageConfig()).detect(prompts)
    agree = sum(a == b for a, b in zip(got, gold, strict=True)) / len(gold)
    print("wildchat agreement", round(agree, 4))
    assert agree >= 0.96  # WildChat's label is per conversation; ours here is the first prompt's


def toxicchat(shared: Path) -> list[dict]:
    doc = json.loads((shared / "toxicchat" / "toxic_chat_train.json").read_text(encoding="utf-8"))
    return list(doc["instances"])


def fold(conv_id: str) -> int:
    """ToxicChat fold as scripts/train_toxicity.py assigns it (A = 0 chose the threshold)."""
    return int(hashlib.sha256(conv_id.encode()).hexdigest()[-1], 16) % 2


def test_offline_toxicity_on_toxicchat_heldout(shared_data: Path) -> None:
    """The hashed model alone at its out-of-fold threshold, on the 30 % never trained on."""
    from train_toxicity import heldout

    rows = [r for r in toxicchat(shared_data) if heldout(str(r["id"]))]
    gold = [r["annotations"]["toxicity"]["majority_human"] == "1" for r in rows]
    pred = OfflineToxicity().flags([r["instance"] for r in rows])
    p, r, f1 = prf(pred, gold)
    base = sum(gold) / len(gold)
    print(f"offline toxicity held-out n={len(rows)} P={p:.3f} R={r:.3f} F1={f1:.3f} base={base:.3f}")
    assert p >= 1.1 * base  # better than flagging at random
    assert p >= 0.59  # measured 0.621
    assert r >= 0.66  # measured 0.699
    assert f1 >= 0.62  # measured 0.658


def test_jailbreak_library_on_toxicchat(shared_data: Path) -> None:
    lib = load_library(shared_data / "jailbreak_llms" / "jailbreak_prompts_2023_05_07.csv")
    assert len(lib) == 666
    rows = toxicchat(shared_data)
    gold = [r["annotations"]["jailbreaking"]["majority_human"] == "1" for r in rows]
    found = JailbreakMatcher(lib, threshold=0.3).match([r["instance"] for r in rows])
    p, r, _ = prf([f is not None for f in found], gold)
    print(f"jailbreak P={p:.3f} R={r:.3f} flagged={sum(f is not None for f in found)}")
    assert p >= 0.9
    assert r >= 0.25
