"""Quality of the enrichment engines on real public data (``make eval``).

Thresholds sit a little under the figures measured when they were set (see
docs/quality.md), so a regression fails while run-to-run noise does not.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from pathlib import Path

import pytest

from wildchat.enrich.jailbreak import JailbreakMatcher, load_library
from wildchat.enrich.language import LanguageConfig, build_detector, iso_label
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


def test_language_accuracy_lingua_testdata(shared_data: Path) -> None:
    rows = lid_rows(shared_data)
    labels = build_detector(LanguageConfig()).detect([t for _, _, t in rows])
    by_unit: dict[str, list[bool]] = defaultdict(list)
    by_lang: dict[str, list[bool]] = defaultdict(list)
    for (gold, unit, _), got in zip(rows, labels, strict=True):
        by_unit[unit].append(got == gold)
        if unit == "sentences":
            by_lang[gold].append(got == gold)
    acc = {u: sum(v) / len(v) for u, v in by_unit.items()}
    overall = sum(sum(v) for v in by_unit.values()) / len(rows)
    print("lid accuracy", {k: round(v, 4) for k, v in acc.items()}, "overall", round(overall, 4))
    assert acc["sentences"] >= 0.94
    assert acc["word-pairs"] >= 0.85
    assert acc["single-words"] >= 0.70
    assert overall >= 0.83
    per_lang = {k: sum(v) / len(v) for k, v in by_lang.items()}
    # Near-identical pairs are lingua's known weak spots (Malay -> Indonesian,
    # Bosnian -> Croatian/Serbian, Bokmal <-> Nynorsk, Urdu <-> Hindi): 4 languages are
    # under 0.80 on all 300 sentences; allow 5 at this sample size, none may vanish,
    # and the typical language must be near perfect.
    weak = sorted(k for k, v in per_lang.items() if v < 0.80)
    assert len(weak) <= 5, weak
    assert sorted(per_lang.values())[len(per_lang) // 2] >= 0.95
    assert min(per_lang.values()) >= 0.15


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


def test_offline_toxicity_on_toxicchat_fold_b(shared_data: Path) -> None:
    rows = [r for r in toxicchat(shared_data) if fold(str(r["id"])) == 1]
    gold = [r["annotations"]["toxicity"]["majority_human"] == "1" for r in rows]
    pred = OfflineToxicity().flags([r["instance"] for r in rows])
    p, r, f1 = prf(pred, gold)
    base = sum(gold) / len(gold)
    print(f"offline toxicity fold B n={len(rows)} P={p:.3f} R={r:.3f} F1={f1:.3f} base={base:.3f}")
    assert p >= 1.1 * base  # better than flagging at random
    assert r >= 0.40
    assert f1 >= 0.20


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
