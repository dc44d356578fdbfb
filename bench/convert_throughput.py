"""`wildchat convert` throughput and peak memory on generated inputs of growing size.

Generates LMSYS-style JSONL and ShareGPT-style JSON arrays (3 exchanges per
conversation, ~1 KB per message, ShareGPT split into 2 chunks each) in a temp
folder, then converts each in a fresh subprocess and reports conversations/s,
input MB/s and the subprocess's peak RSS, which should stay flat as the input
grows (streaming).  Prints a Markdown table for docs/benchmarks.md ("Formats").

    .venv/bin/python bench/convert_throughput.py [--sizes 5000,20000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

TEXT = "The quick brown fox jumps over the lazy dog; " * 22  # ~1 KB

CHILD = """
import json, resource, sys, time
from pathlib import Path
from wildchat.formats import iter_batches, write_parquet
from wildchat.skips import SkipReport
src, out = Path(sys.argv[1]), Path(sys.argv[2])
report = SkipReport()
t0 = time.perf_counter()
n = write_parquet(iter_batches([src], report=report), out)
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": n, "read": report.read, "skipped": report.n_skipped, "seconds": dt, "rss_mb": rss}))
"""


def _conv(i: int) -> list[tuple[str, str]]:
    out = []
    for k in range(3):
        out += [("user", f"{i}.{k} {TEXT}"), ("assistant", TEXT)]
    return out


def write_lmsys(path: Path, n: int) -> None:
    with path.open("w") as fh:
        for i in range(n):
            conv = [{"role": r, "content": c} for r, c in _conv(i)]
            fh.write(json.dumps({"conversation_id": f"c{i}", "model": "m", "conversation": conv}) + "\n")


def write_sharegpt(path: Path, n: int) -> None:
    role = {"user": "human", "assistant": "gpt"}
    with path.open("w") as fh:
        fh.write("[\n")
        for i in range(n):
            msgs = [{"from": role[r], "value": c} for r, c in _conv(i)]
            for k, chunk in enumerate((msgs[:2], msgs[2:])):
                sep = ",\n" if i or k else ""
                fh.write(sep + json.dumps({"id": f"s{i}_{k}", "conversations": chunk}))
        fh.write("\n]\n")


FORMATS = (("lmsys", write_lmsys, "jsonl"), ("sharegpt", write_sharegpt, "json"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="5000,20000", help="conversations per input, comma-separated")
    args = ap.parse_args()
    print("| input | conversations | input MB | seconds | conv/s | MB/s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.sizes.split(",")):
            for name, writer, suffix in FORMATS:
                src = Path(tmp) / f"{name}-{n}.{suffix}"
                writer(src, n)
                mb = src.stat().st_size / 1e6
                res = subprocess.run(
                    [sys.executable, "-c", CHILD, str(src), str(Path(tmp) / "out.parquet")],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                r = json.loads(res.stdout.strip().splitlines()[-1])
                assert r["rows"] == n and r["skipped"] == 0, r
                s = r["seconds"]
                cells = [f"{name} {suffix}", f"{n:,}", f"{mb:.0f}", f"{s:.1f}", f"{n / s:,.0f}"]
                print("| " + " | ".join([*cells, f"{mb / s:.1f}", f"{r['rss_mb']:.0f}"]) + " |")
                src.unlink()


if __name__ == "__main__":
    main()
