"""Toxicity engines on the held-out ToxicChat fold: the figures of docs/quality.md's toxicity section.

Usage::

    .venv/bin/python scripts/eval_toxicity.py [--data ../shared/data] [--no-embedding]

For each offline engine as the ``moderation`` stage runs it -- the default
(hashed OR profanity, user-turn thresholds), the hashed model alone,
``alt-profanity-check`` alone, ``embedding`` (MiniLM head) and ``two-tier``
-- prints precision / recall / F1 / flag rate on the seeded 30 % of
ToxicChat's train split that training never saw (:func:`train_toxicity.heldout`),
the flag rate on ordinary chat -- the *report half* of the LMSYS, ShareGPT and
WildChat samples (:func:`toxicity_calibration.ordinary_halves`; thresholds were
capped on the other, dev half), at most 300 turns each, the same turns for
every engine, user turns with the user rule and assistant turns with the
assistant rule -- and the scoring cost in ms per turn on the held-out texts.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from toxicity_calibration import ordinary_halves, role_of  # noqa: E402
from train_toxicity import prf, toxicchat  # noqa: E402

CHAT_SAMPLE = 300  # ordinary-chat turns per sample and half (2 cores: minutes per 1,000 for MiniLM)
Flagger = Callable[[Sequence[str], str], list[bool]]


def engines(with_embedding: bool) -> dict[str, Flagger]:
    """Engine name -> ``flags(texts, role)``, each built as the stage builds it."""
    from wildchat.curate.stages.moderation import ModerationStage
    from wildchat.enrich.moderation.offline import load_offline
    from wildchat.enrich.moderation.profanity import load_profanity

    default = ModerationStage()
    default.ensure_setup()
    role_aware = default._engines["offline"]
    hashed, prof = load_offline(), load_profanity()
    out: dict[str, Flagger] = {
        "default (hashed >= 0.5 OR profanity >= 0.8; replies 0.8)": lambda t, r: role_aware.flags(
            t, [r] * len(t)
        ),
        f"hashed alone >= {hashed.threshold} (out-of-fold F1 threshold)": lambda t, r: hashed.flags(t),
        "profanity alone >= 0.8": lambda t, r: [s >= 0.8 for s in prof.scores(t)],
    }
    if with_embedding:
        for name in ("embedding", "two-tier"):
            stage = ModerationStage(engine=name)
            stage.ensure_setup()
            engine = stage._engines[name]
            out[name] = lambda t, r, e=engine: e.flags(t, [r] * len(t))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--no-embedding", action="store_true", help="skip the MiniLM engines (slow on 2 cores)")
    ap.add_argument("--only", default="", help="comma-separated name prefixes of the engines to run")
    args = ap.parse_args()
    import numpy as np

    texts, labels, held = toxicchat(args.data)
    test = [t for t, h in zip(texts, held, strict=True) if h]
    gold = np.array([y for y, h in zip(labels, held, strict=True) if h], dtype=bool)
    chat = ordinary_halves(args.data, CHAT_SAMPLE)[1]
    print(f"held-out ToxicChat rows {len(test)}, base rate {gold.mean():.3f}")
    print("| engine | P | R | F1 | flag rate | ms/turn | " + " | ".join(chat) + " |")
    print("|---" * (6 + len(chat)) + "|")
    only = [x for x in args.only.split(",") if x]
    for name, flags in engines(not args.no_embedding).items():
        if only and not any(name.startswith(x) for x in only):
            continue
        start = time.perf_counter()
        pred = np.array(flags(test, "user"), dtype=bool)
        ms = 1000 * (time.perf_counter() - start) / len(test)
        s = prf(pred, gold)
        rates = []
        for key, turns in chat.items():
            rates.append(f"{sum(flags(turns, role_of(key))) / len(turns):.3f}")
        cells = f"{s['precision']:.3f} | {s['recall']:.3f} | **{s['f1']:.3f}** | {pred.mean():.3f} | {ms:.2f}"
        print(f"| {name} | {cells} | " + " | ".join(rates) + " |", flush=True)


if __name__ == "__main__":
    main()
