"""Throughput of the enrichment engines and stages on real chat turns.

Reads real conversations from ../shared/data at run time (LMSYS sample,
ShareGPT sample, WildChat first turns; nothing is copied), then times each
engine over the flat list of turns and each stage over pipeline batches.
One process, one core; each figure is the best of 3 runs after a warm-up.  Usage::

    .venv/bin/python bench/enrich_throughput.py [--data ../shared/data] [--convs 600] [--accurate 100]

Prints one line per step: turns/s, conversations/s, ms per conversation.
``--accurate N`` also times the accurate toxicity engines (``embedding``,
``two-tier``; ``embed`` extra) on the first N conversations (they are
~10x slower: a smaller N keeps the run short).  The language stage's
decision counters (engine / context / fallback / nolang) are printed too.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa

from wildchat.curate.stages.base import Stage
from wildchat.curate.stages.batch import pipeline_schema
from wildchat.schema import Conversation, Turn, release_schema, to_row

ROOT = Path(__file__).resolve().parents[1]


def load_conversations(data: Path, limit: int) -> list[list[tuple[str, str]]]:
    """Real multi-turn conversations as (role, content) lists."""
    convs: list[list[tuple[str, str]]] = []
    lmsys = data / "lmsys_chat_1m_sample191" / "lmsys_1000.jsonl"
    for line in lmsys.read_text(encoding="utf-8").split("\n"):
        if line.strip():
            convs.append([(t["role"], t["content"]) for t in json.loads(line)["conversation"]])
    roles = {"human": "user", "gpt": "assistant"}
    sharegpt = data / "sharegpt_v3_sample" / "sharegpt_v3_sample800.json"
    for rec in json.loads(sharegpt.read_text(encoding="utf-8")):
        turns = [(roles.get(t["from"], "user"), t["value"]) for t in rec["conversations"]]
        if turns:
            convs.append(turns)
    import pyarrow.parquet as pq

    wc = pq.read_table(data / "wildchat_firstturn" / "wildchat_clean_1335rows.parquet")
    for p, r in zip(wc.column("prompt").to_pylist(), wc.column("response").to_pylist(), strict=True):
        convs.append([("user", p), ("assistant", r)])
    # interleave sources so any prefix is a mix
    return convs[::3][:limit] if len(convs) // 3 >= limit else convs[:limit]


def to_batch(convs: list[list[tuple[str, str]]]) -> pa.RecordBatch:
    rows = [
        to_row(
            Conversation(
                conversation_hash="",
                model="m",
                timestamp=None,
                conversation=[Turn(content=c, role=r) for r, c in turns],
                turn=max(1, len(turns) // 2),
                conversation_id=f"c{i}",
            )
        )
        for i, turns in enumerate(convs)
    ]
    base = pa.RecordBatch.from_pylist(rows, schema=release_schema())
    extra = [pa.nulls(len(rows), f.type) for f in list(pipeline_schema())[len(base.schema) :]]
    return pa.RecordBatch.from_arrays(list(base.columns) + extra, schema=pipeline_schema())


REPEAT = 3


def timed(label: str, fn: Callable[[], Any], n_turns: int, n_convs: int) -> float:
    """Best of ``REPEAT`` timed runs after one warm-up (the machine is shared: best = least disturbed)."""
    fn()  # warm-up (model loading, lazy lingua models)
    el = float("inf")
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        el = min(el, time.perf_counter() - start)
    rate = f"{n_turns / el:>9.0f} turns/s {n_convs / el:>8.0f} conv/s"
    print(f"{label:<34} {rate} {1000 * el / n_convs:>7.2f} ms/conv")
    return el


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--convs", type=int, default=600)
    ap.add_argument("--accurate", type=int, default=0, help="time embedding/two-tier on N conversations")
    args = ap.parse_args()

    from wildchat.curate.stages.jailbreak import JailbreakStage
    from wildchat.curate.stages.language import LanguageStage
    from wildchat.curate.stages.moderation import ModerationStage
    from wildchat.enrich.jailbreak import JailbreakMatcher, load_library
    from wildchat.enrich.language import LanguageConfig, build_detector
    from wildchat.enrich.moderation.offline import load_offline

    convs = load_conversations(args.data, args.convs)
    texts = [c for turns in convs for _, c in turns]
    nt, nc = len(texts), len(convs)
    chars = sum(map(len, texts))
    print(f"{nc} conversations, {nt} turns, mean {chars / nt:.0f} chars/turn")
    for engine in ("fast", "hybrid", "lingua"):
        det = build_detector(LanguageConfig(engine=engine))  # type: ignore[arg-type]
        timed(f"language engine={engine}", partial(det.detect, texts), nt, nc)
    offline = load_offline()
    timed("toxicity offline", lambda: offline.scores(texts), nt, nc)
    lib_path = args.data / "jailbreak_llms" / "jailbreak_prompts_2023_05_07.csv"
    matcher = JailbreakMatcher(load_library(lib_path), threshold=0.3)
    users = [c for turns in convs for r, c in turns if r == "user"]
    timed("jailbreak match (user turns only)", lambda: matcher.match(users), nt, nc)
    batch = to_batch(convs)
    stages: list[Stage] = [LanguageStage(), ModerationStage(), JailbreakStage(library_path=str(lib_path))]
    for stage in stages:
        stage.ensure_setup()
        timed(f"stage {stage.name}", partial(stage, batch), nt, nc)
    decided = {k: v for k, v in sorted(stages[0].counters.items()) if k.startswith("decided:")}
    print("language decisions (all runs):", decided)
    if args.accurate:
        few = convs[: args.accurate]
        small = to_batch(few)
        n_small = sum(len(c) for c in few)
        for engine in ("embedding", "two-tier"):
            stage = ModerationStage(engine=engine)
            stage.ensure_setup()
            timed(f"stage moderation engine={engine}", partial(stage, small), n_small, len(few))
            sent = stage.counters.get("two_tier:sent", 0)
            if sent:
                print(f"  two-tier sent {sent} of {stage.counters['turns_judged']} turns to the embedding")


if __name__ == "__main__":
    main()
