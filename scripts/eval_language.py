"""Language identification on real and written data: every figure of docs/quality.md's language section.

Usage::

    .venv/bin/python scripts/eval_language.py [--data ../shared/data] [--per-cell 60]

Prints a Markdown table comparing the default configuration (short-text
fallback + conversation context) with the previous behaviour
(``short_letters = 0``: lingua's uniform prior on short texts):

* WildChat first turns (``wildchat_firstturn``, WildChat's own labels), split
  into two folds by SHA-256 of the prompt (fold B held out; nothing was tuned
  on either): agreement for prompts WildChat labels English / Russian /
  overall, prompt alone and as a conversation with its reply (the stage);
* lingua's test data by length (sentences, word pairs, single words), all 75
  languages and the 18 languages of the prior;
* short English openers written for this project: the tuning list, a
  held-out list written after the first parameters were chosen (used to
  choose ``few_letters``), and a second held-out list written before that
  change and never tuned on;
* how the stage decided each turn of those openers answered by nothing
  (``decided:`` engine / fallback / script) and per label.

``--before`` compares with another configuration (``key=value`` pairs,
e.g. ``--before few_letters=0``) instead of ``short_letters = 0``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from wildchat.enrich.language import (  # noqa: E402
    LanguageConfig,
    build_detector,
    conversation_language,
    decide_conversation,
    iso_label,
)
from wildchat.enrich.language_short import PRIOR  # noqa: E402

OPENERS = ROOT / "scripts" / "data" / "short_english_openers.txt"
OPENERS_HELDOUT = ROOT / "scripts" / "data" / "short_english_openers_heldout.txt"
OPENERS_HELDOUT2 = ROOT / "scripts" / "data" / "short_english_openers_heldout2.txt"
OPENER_LISTS = (("tuning", OPENERS), ("held-out", OPENERS_HELDOUT), ("held-out 2", OPENERS_HELDOUT2))


def read_lines(path: Path) -> list[str]:
    """Non-comment, non-blank lines."""
    lines = path.read_text(encoding="utf-8").split("\n")
    return [x.strip() for x in lines if x.strip() and not x.startswith("#")]


def wildchat_rows(data: Path) -> list[tuple[str, str, str, int]]:
    """(prompt, response, WildChat label, fold) with fold = last hex digit of sha256(prompt) parity."""
    import pyarrow.parquet as pq

    t = pq.read_table(data / "wildchat_firstturn" / "wildchat_clean_1335rows.parquet").to_pydict()
    out = []
    for p, r, lang in zip(t["prompt"], t["response"], t["language"], strict=True):
        fold = int(hashlib.sha256((p or "").encode()).hexdigest()[-1], 16) % 2
        out.append((p or "", r or "", str(lang), fold))
    return out


def lid_rows(data: Path, per_cell: int) -> list[tuple[str, str, str]]:
    """(gold label, unit, text): the first ``per_cell`` lines per (language, unit)."""
    seen: dict[tuple[str, str], int] = defaultdict(int)
    rows = []
    with open(data / "lingua_lid_testdata" / "lingua_testdata_300per.tsv", encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            key = (r["lang_iso639_1"], r["unit"])
            if seen[key] < per_cell:
                seen[key] += 1
                rows.append((iso_label(r["lang_iso639_1"]), r["unit"], r["text"]))
    return rows


def conversation_labels(config: LanguageConfig, prompt: str, response: str) -> tuple[str, str]:
    """(prompt's turn label, conversation label) as the ``language`` stage sets them."""
    det = build_detector(config)
    decisions = decide_conversation(det, [prompt, response], ["user", "assistant"], config.short_letters > 0)
    labels = [d.label for d in decisions]
    return labels[0], conversation_language(labels)


def rate(hits: list[bool]) -> float:
    return sum(hits) / len(hits) if hits else float("nan")


def wildchat_figures(config: LanguageConfig, rows: list[tuple[str, str, str, int]]) -> dict[str, float]:
    """Agreement with WildChat's label per fold and gold language (prompt alone / conversation)."""
    det = build_detector(config)
    hits: dict[str, list[bool]] = defaultdict(list)
    for prompt, response, gold, fold in rows:
        alone = det.decide(prompt).label
        _, conv = conversation_labels(config, prompt, response)
        group = "English" if gold == "English" else "other"
        for key in (f"fold {'AB'[fold]} {group}", f"fold {'AB'[fold]} all", f"all {group}", "all all"):
            hits[f"{key} prompt"].append(alone == gold)
            hits[f"{key} conversation"].append(conv == gold)
    return {k: rate(v) for k, v in hits.items()}


def lid_figures(config: LanguageConfig, rows: list[tuple[str, str, str]]) -> dict[str, float]:
    """Accuracy per unit on lingua's test data: all languages and the prior's 18."""
    labels = build_detector(config).detect([t for _, _, t in rows])
    hits: dict[str, list[bool]] = defaultdict(list)
    for (gold, unit, _), got in zip(rows, labels, strict=True):
        hits[f"{unit} all"].append(got == gold)
        if gold in PRIOR:
            hits[f"{unit} common"].append(got == gold)
        if gold in ("English", "Russian", "Chinese"):
            hits[f"{unit} {gold}"].append(got == gold)
    return {k: rate(v) for k, v in hits.items()}


def opener_figures(config: LanguageConfig) -> dict[str, float]:
    """Share of each openers list labelled English (no context) and how the labels were decided."""
    det = build_detector(config)
    out: dict[str, float] = {}
    for name, path in OPENER_LISTS:
        decisions = [det.decide(t) for t in read_lines(path)]
        out[name] = rate([d.label == "English" for d in decisions])
        for d in decisions:
            key = f"{name} decided:{d.how} -> {d.label}"
            out[key] = out.get(key, 0) + 1
    return out


def parse_config(pairs: list[str]) -> LanguageConfig:
    """``["few_letters=0", ...]`` -> a :class:`LanguageConfig` (values parsed as int, float or text)."""
    kwargs: dict[str, object] = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        value: object = raw
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
        kwargs[key] = value
    return LanguageConfig(**kwargs)  # type: ignore[arg-type]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--per-cell", type=int, default=60)
    ap.add_argument("--before", nargs="*", default=None, help="key=value pairs of the compared configuration")
    args = ap.parse_args()
    before = "before (" + " ".join(args.before) + ")" if args.before else "previous (short_letters=0)"
    configs = {
        "default": LanguageConfig(),
        before: parse_config(args.before) if args.before else LanguageConfig(short_letters=0),
    }
    wc, lid = wildchat_rows(args.data), lid_rows(args.data, args.per_cell)
    results = {
        name: {
            **{f"wildchat {k}": v for k, v in wildchat_figures(cfg, wc).items()},
            **{f"lingua {k}": v for k, v in lid_figures(cfg, lid).items()},
            **{f"openers {k}": v for k, v in opener_figures(cfg).items()},
        }
        for name, cfg in configs.items()
    }
    counts: dict[str, int] = defaultdict(int)
    for _, _, gold, fold in wc:
        counts[f"{'AB'[fold]} {gold}"] += 1
    print("WildChat rows per fold/label:", dict(sorted(counts.items())))
    print("| check | " + " | ".join(configs) + " |\n|---" * 1 + "|---" * len(configs) + "|")
    for key in results["default"]:
        fmt = "{:.0f}" if "decided" in key else "{:.4f}"
        print(f"| {key} | " + " | ".join(fmt.format(results[n].get(key, 0)) for n in configs) + " |")


if __name__ == "__main__":
    main()
