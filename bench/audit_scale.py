"""Scale benchmark for `wildchat audit`: conversations/s and peak memory on a synthetic release.

Writes a release folder in the release schema (deterministic from
``--seed``), shaped like WildChat-1M: 1 + Geometric(0.4) exchanges per
conversation (mean ~2.5), prompts log-normal (median ~150 chars), replies
log-normal (median ~900 chars), a pool of real-looking user-agents and
accept-language values, 2,000 users per 10,000 conversations, and 0.5 % of
prompts carrying an e-mail, a phone number, a private IP or a code snippet
with ``password = ...`` so the heavier checks run as often as in real logs.
``public/`` is written as a separate copy of each shard with 5 % of rows
removed (so it is scanned, not recognised as a byte-identical copy).

Then runs ``wildchat audit RELEASE --json --workers W`` as a subprocess,
sampling the summed RSS of its process tree every 100 ms and reading the
CPU seconds of the whole tree; a second run on ``100 x W`` conversations
(one small shard per worker) measures the fixed cost (imports, the NER model
in each worker).  Prints one JSON line: conversations (both splits), wall
seconds and rate, peak RSS, CPU seconds, the marginal CPU per conversation,
and two extrapolations to 1M conversations (``full`` 1M + ``public`` 0.95M):
at the wall rate measured here (a shared machine: other jobs steal cycles),
and ``(fixed + 1.95M x marginal CPU) / W`` -- what W dedicated cores take.

Usage::

    .venv/bin/python bench/audit_scale.py --conversations 20000 --seed 1 [--workers 2]
    .venv/bin/python bench/audit_scale.py --conversations 20000 --real-text ../shared/data   # real turns

``--real-text`` draws every turn from the real public samples (WildChat first
turns, LMSYS, ShareGPT, ToxicChat: code, URLs, numbers, many languages), read
at run time and written only to the temporary release.

Releases are cached under ``--data-dir`` (default ``/tmp/wildchat-bench``).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SHARD = 10_000
_VOCAB = (
    "the of and to in is you that it for was on are as with his they at be this have from or one had by "
    "word but not what all were we when your can said there use an each which she do how their if will "
    "up other about out many then them these so some her would make like him into time has look two more "
    "write go see number no way could people my than first water been call who oil its now find long "
    "down day did get come made may part function return value error python code list table data "
    "model train loss test user file"
)
WORDS = _VOCAB.split()
UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v}.1 "
    "Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/{v}.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
]
LANGS = ["en-US,en;q=0.9", "zh-CN,zh;q=0.9,en;q=0.8", "ru-RU,ru;q=0.9", "fr-FR,fr;q=0.9,en-US;q=0.8", "en-GB"]
PLANTS = [
    "write to anna.k{n}@gmail.com about it", "my phone number is +1 415 555 {n:04d}", "server at 10.0.{n}.7",
    "db = connect(user='app', password='Xk{n}pQ7vLm2Rt')",
]  # fmt: skip


REAL: list[str] = []  # real turns to draw texts from (--real-text), read at run time, never stored


def _text(rng: random.Random, median: float) -> str:
    if REAL:
        return rng.choice(REAL)
    n = max(1, int(math.exp(rng.gauss(math.log(median), 0.9)) / 6))
    words = rng.choices(WORDS, k=n)
    return " ".join(words).capitalize() + "."


def _conversation(rng: random.Random, i: int, t0: datetime) -> dict[str, Any]:
    user = f"{rng.randrange(i // 5 + 1):064x}"
    header = {
        "accept-language": rng.choice(LANGS),
        "user-agent": rng.choice(UAS).format(v=rng.randint(100, 125)),
    }
    country, state = rng.choice([("United States", "California"), ("China", "Beijing"), ("Russia", "Moscow"),
                                 ("France", None), ("Germany", "Bavaria")])  # fmt: skip
    turns = []
    exchanges = 1
    while rng.random() < 0.6 and exchanges < 20:
        exchanges += 1
    for _ in range(exchanges):
        prompt = _text(rng, 150)
        if rng.random() < 0.005:
            prompt += " " + rng.choice(PLANTS).format(n=rng.randrange(255))
        base = {"language": "English", "toxic": False, "redacted": False, "timestamp": t0, "jailbreak": False,
                "jailbreak_match": None}  # fmt: skip
        turns.append({**base, "content": prompt, "role": "user", "turn_identifier": rng.getrandbits(62) + 1,
                      "country": country, "state": state, "hashed_ip": user, "header": header})  # fmt: skip
        turns.append({**base, "content": _text(rng, 900), "role": "assistant",
                      "turn_identifier": rng.getrandbits(62) + 1, "country": None, "state": None,
                      "hashed_ip": None, "header": None})  # fmt: skip
    return {"conversation_hash": f"{i:032x}", "model": "gpt-4", "timestamp": t0 + timedelta(seconds=i),
            "conversation": turns, "turn": exchanges, "language": "English", "toxic": False,
            "redacted": False,
            "state": state, "country": country, "hashed_ip": user, "header": header,
            "conversation_id": f"{rng.getrandbits(128):032x}"}  # fmt: skip


def make_release(root: Path, n: int, seed: int, shard_rows: int) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from wildchat.schema import release_schema

    if (root / "stats.json").exists():
        return root
    rng = random.Random(seed)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    counts = {"full": 0, "public": 0}
    for shard, start in enumerate(range(0, n, shard_rows)):
        rows = [_conversation(rng, i, t0) for i in range(start, min(n, start + shard_rows))]
        table = pa.Table.from_pylist(rows, schema=release_schema())
        public = table.filter(pa.array([rng.random() >= 0.05 for _ in rows]))
        for split, part in (("full", table), ("public", public)):
            (root / split).mkdir(parents=True, exist_ok=True)
            pq.write_table(part, root / split / f"part-{shard:05d}.parquet", compression="zstd")
            counts[split] += len(part)
    doc = {"release_format": 2, "wildchat_version": "bench", "pii_redacted": True, "release": counts}
    (root / "stats.json").write_text(json.dumps(doc))
    return root


def _rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
    except psutil.Error:
        return 0


def _run_audit(root: Path, workers: int) -> dict[str, Any]:
    """One ``wildchat audit`` subprocess: wall seconds, CPU seconds of its whole tree, peak RSS."""
    out = root.parent / f"{root.name}.audit.json"
    cmd = [
        sys.executable,
        "-m",
        "wildchat",
        "audit",
        str(root),
        "--json",
        str(out),
        "--workers",
        str(workers),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _rss(proc.pid))
        time.sleep(0.1)
    secs = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    stats = json.loads((root / "stats.json").read_text())["release"]
    doc = json.loads(out.read_text())
    return {
        "conversations": stats["full"] + stats["public"], "seconds": secs, "cpu": cpu, "peak": peak,
        "exit_code": proc.returncode,
        "findings": {k: doc[k]["count"] for k in ("emails", "phones", "ips", "secrets", "names")},
    }  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/wildchat-bench"))
    ap.add_argument("--real-text", type=Path, help="draw turn texts from the public samples in this folder")
    args = ap.parse_args()
    tag = "real" if args.real_text else "synth"
    if args.real_text:
        from wildchat.audit.secret_eval import real_turns

        REAL.extend(t for texts in real_turns(args.real_text).values() for t in texts)
    base = args.data_dir / f"audit-{tag}"
    # fixed cost (imports, model loads in each worker): the same run on one small shard per worker
    small = make_release(Path(f"{base}-fixed-{args.workers}-{args.seed}"), 100 * args.workers, args.seed, 100)
    big = make_release(Path(f"{base}-{args.conversations}-{args.seed}"), args.conversations, args.seed, SHARD)
    fixed, run = _run_audit(small, args.workers), _run_audit(big, args.workers)
    marginal = (run["cpu"] - fixed["cpu"]) / (run["conversations"] - fixed["conversations"])
    n_1m = 1.95e6  # full 1M + public 0.95M
    dedicated = (fixed["cpu"] + n_1m * marginal) / args.workers
    print(json.dumps({
        "text": tag, "conversations": run["conversations"], "workers": args.workers,
        "exit_code": run["exit_code"], "seconds": round(run["seconds"], 1),
        "conversations_per_s_wall": round(run["conversations"] / run["seconds"], 1),
        "peak_rss_mb": round(run["peak"] / 2**20), "cpu_seconds": round(run["cpu"], 1),
        "fixed_cpu_seconds": round(fixed["cpu"], 1),
        "marginal_cpu_ms_per_conversation": round(1000 * marginal, 3),
        "extrapolated_1M_minutes_wall_here": round(n_1m * run["seconds"] / run["conversations"] / 60, 1),
        "extrapolated_1M_minutes_dedicated_cores": round(dedicated / 60, 1),
        "findings": run["findings"],
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
