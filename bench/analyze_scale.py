"""Time `wildchat analyze` on a generated release of N conversations.

Generates (once, cached under --work) a release-schema Parquet file shaped like
WildChat-1M: 59% single-exchange conversations and 2.5 exchanges on average,
200K pseudonymous users, 50+ languages weighted like the paper, two models,
per-turn OpenAI Moderation + Detoxify entries, ~10% toxic user turns,
jailbreak matches on 0.5% of user turns, 13 months of timestamps.  Message
texts are drawn from a pool of *real* user prompts and replies read at run
time from ../shared/data (never copied into the repository); without it,
from generated word salad.  The pool is sampled with replacement, so the
tokenizer and the embedding model see realistic text lengths and scripts.

The report itself runs in a fresh subprocess (`wildchat analyze`), timed, with
its peak RSS taken from ``ru_maxrss`` of the child.

Usage: .venv/bin/python bench/analyze_scale.py --sizes 100000,1000000 [--work /tmp/wc_bench]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wildchat.schema import DETOXIFY_LABELS, OPENAI_MODERATION_CATEGORIES, release_schema

SHARED = Path(os.environ.get("WILDCHAT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
LANGS = {
    "English": 52.9,
    "Chinese": 13.4,
    "Russian": 11.6,
    "French": 3.0,
    "Spanish": 2.5,
    "Portuguese": 2.3,
    "German": 2.2,
    "Arabic": 1.5,
    "Italian": 1.3,
    "Turkish": 1.1,
    "Japanese": 1.0,
    "Korean": 0.9,
}
LANGS.update({f"Lang{i:02d}": 0.1 for i in range(45)})
COUNTRIES = ["United States", "China", "Russia", "Hong Kong", "United Kingdom", "Germany", "France", "Japan"]
JAILBREAKS = ["Narotica", "DAN", "NsfwGPT", "JailMommy"]


def text_pool(rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """Real user prompts and assistant replies, or word salad without the shared data."""
    users: list[str] = []
    bots: list[str] = []
    lmsys = SHARED / "lmsys_chat_1m_sample191" / "lmsys_1000.jsonl"
    wild = SHARED / "wildchat_firstturn" / "wildchat_clean_1335rows.parquet"
    if lmsys.exists():
        for line in lmsys.read_text().split("\n"):
            if line.strip():
                for m in json.loads(line)["conversation"]:
                    (users if m["role"] == "user" else bots).append(m["content"])
    if wild.exists():
        t = pq.read_table(wild, columns=["prompt", "response"]).to_pydict()
        users += t["prompt"]
        bots += t["response"]
    if not users:
        words = ["data", "model", "write", "story", "你好", "привет", "code", "please", "explain", "why"]
        users = [" ".join(rng.choice(words, size=int(rng.lognormal(3.5, 1.2)) + 1)) for _ in range(3000)]
        bots = [" ".join(rng.choice(words, size=int(rng.lognormal(5.0, 0.8)) + 1)) for _ in range(3000)]
    return users, bots


def _struct(fields: dict[str, pa.Array], type_: pa.DataType) -> pa.StructArray:
    return pa.StructArray.from_arrays(
        [fields[type_.field(i).name] for i in range(type_.num_fields)], fields=list(type_)
    )


def chunk(n: int, start: int, rng: np.random.Generator, pool: tuple[list[str], list[str]]) -> pa.RecordBatch:
    """One batch of ``n`` synthetic conversations, built column-wise."""
    schema = release_schema()
    single = rng.random(n) < 0.59
    k = np.where(single, 1, 2 + rng.geometric(1 / 3.76, n) - 1).clip(1, 50).astype(np.int64)
    n_turns = 2 * k
    offsets = np.concatenate([[0], np.cumsum(n_turns)]).astype(np.int32)
    total = int(offsets[-1])
    parent = np.repeat(np.arange(n), n_turns)
    is_user = (np.arange(total) - offsets[:-1][parent]) % 2 == 0
    users, bots = pool
    ui = rng.integers(0, len(users), total)
    bi = rng.integers(0, len(bots), total)
    content = [
        users[u] if iu else bots[b]
        for u, b, iu in zip(ui.tolist(), bi.tolist(), is_user.tolist(), strict=True)
    ]
    lang_names = list(LANGS)
    p = np.array(list(LANGS.values()))
    lang = np.array(lang_names, dtype=object)[rng.choice(len(lang_names), n, p=p / p.sum())]
    ip = np.array([f"{h:064x}" for h in rng.zipf(1.3, n) % 200_000], dtype=object)
    country = np.array(COUNTRIES, dtype=object)[rng.integers(0, len(COUNTRIES), n)]
    t0 = datetime(2023, 4, 9, tzinfo=UTC).timestamp()
    ts = (t0 + rng.random(n) * 390 * 86400) * 1e6
    toxic = np.where(is_user, rng.random(total) < 0.105, rng.random(total) < 0.066)
    flagged = toxic & (rng.random(total) < 0.6)
    detox = np.where(toxic, 0.1 + rng.random(total) * 0.9, rng.random(total) * 0.1)
    jb = is_user & (rng.random(total) < 0.005)
    jb_match = np.where(jb, np.array(JAILBREAKS, dtype=object)[rng.integers(0, 4, total)], None)
    turn_type = schema.field("conversation").type.value_type
    header_t = turn_type.field("header").type
    tsa = pa.array(ts.astype(np.int64), pa.timestamp("us", tz="UTC"))
    turn = _struct(
        {
            "content": pa.array(content, pa.string()),
            "role": pa.array(np.where(is_user, "user", "assistant"), pa.string()),
            "language": pa.array(lang[parent], pa.string()),
            "toxic": pa.array(toxic),
            "redacted": pa.array(np.zeros(total, dtype=bool)),
            "turn_identifier": pa.array(start * 10 + parent, pa.int64()),
            "timestamp": pc.if_else(pa.array(is_user), pa.scalar(None, tsa.type), tsa.take(pa.array(parent))),
            "country": pa.array(np.where(is_user, country[parent], None), pa.string()),
            "state": pa.nulls(total, pa.string()),
            "hashed_ip": pa.array(np.where(is_user, ip[parent], None), pa.string()),
            "header": pa.nulls(total, header_t),
            "jailbreak": pa.array(jb),
            "jailbreak_match": pa.array(jb_match, pa.string()),
        },
        turn_type,
    )
    mod_t = schema.field("openai_moderation").type.value_type
    cats_t = mod_t.field("categories").type
    scores_t = mod_t.field("category_scores").type
    cat_flags = {c: pa.array(flagged & (rng.random(total) < 0.3)) for c in OPENAI_MODERATION_CATEGORIES}
    cat_scores = {c: pa.array(rng.random(total) * 0.01) for c in OPENAI_MODERATION_CATEGORIES}
    mod = _struct(
        {
            "categories": _struct(cat_flags, cats_t),
            "category_scores": _struct(cat_scores, scores_t),
            "flagged": pa.array(flagged),
        },
        mod_t,
    )
    det_t = schema.field("detoxify_moderation").type.value_type
    det = _struct(
        {lab: pa.array(detox if lab == "toxicity" else detox * 0.3) for lab in DETOXIFY_LABELS}, det_t
    )
    off = pa.array(offsets)
    conv_toxic = np.bincount(parent, weights=toxic, minlength=n) > 0
    cols = {
        "conversation_hash": pa.array([f"{start + i:032x}" for i in range(n)]),
        "model": pa.array(np.where(rng.random(n) < 0.25, "gpt-4-0314", "gpt-3.5-turbo-0301"), pa.string()),
        "timestamp": pa.array(ts.astype(np.int64), pa.timestamp("us", tz="UTC")),
        "conversation": pa.ListArray.from_arrays(off, turn),
        "turn": pa.array(k),
        "language": pa.array(lang, pa.string()),
        "openai_moderation": pa.ListArray.from_arrays(off, mod),
        "detoxify_moderation": pa.ListArray.from_arrays(off, det),
        "toxic": pa.array(conv_toxic),
        "redacted": pa.array(np.zeros(n, dtype=bool)),
        "state": pa.nulls(n, pa.string()),
        "country": pa.array(country, pa.string()),
        "hashed_ip": pa.array(ip, pa.string()),
        "header": pa.nulls(n, schema.field("header").type),
        "conversation_id": pa.array([f"c{start + i}" for i in range(n)]),
    }
    return pa.RecordBatch.from_arrays([cols[f.name].cast(f.type) for f in schema], schema=schema)


def generate(path: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    pool = text_pool(rng)
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, release_schema(), compression="zstd") as writer:
        for start in range(0, n, 20_000):
            writer.write_batch(chunk(min(20_000, n - start), start, rng, pool), row_group_size=20_000)
    tmp.rename(path)


def run_report(path: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    cmd = [str(Path(sys.executable).with_name("wildchat")), "analyze", str(path), "--out", str(out), *extra]
    started = time.monotonic()
    subprocess.run(cmd, check=True)
    seconds = time.monotonic() - started
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, rss_mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000")
    ap.add_argument("--work", type=Path, default=Path("/tmp/wc_analyze_bench"))
    ap.add_argument("--extra", default="", help="extra arguments for wildchat analyze")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    for n in (int(s) for s in args.sizes.split(",")):
        path = args.work / f"release_{n}.parquet"
        if not path.exists():
            t = time.monotonic()
            generate(path, n)
            print(
                f"generated {n:,} conversations in {time.monotonic() - t:.0f}s "
                f"({path.stat().st_size / 1e6:.0f} MB)",
                flush=True,
            )
        load = os.getloadavg()[0]
        seconds, rss = run_report(path, args.work / f"report_{n}", args.extra.split())
        print(
            json.dumps(
                {
                    "conversations": n,
                    "seconds": round(seconds, 1),
                    "peak_rss_mb": round(rss),
                    "load_avg_1m_before": round(load, 1),
                    "cpus": os.cpu_count(),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
