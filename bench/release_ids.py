"""Cost of keyed release ids (``wildchat.curate.link.address.release_ids``) per conversation and per exchange.

Curation publishes keyed ids instead of the linker's content addresses; the
keying runs in the workers that assemble each unit.  This measures that cost
alone (process CPU time, best of ``--repeat``), keyed and unkeyed, for a
WildChat-like shape (``--exchanges`` per conversation on average), so it can
be set against the ~72 CPU-us per raw log the whole pipeline costs
(docs/benchmarks.md).  Prints one JSON line.

Usage::

    .venv/bin/python bench/release_ids.py --conversations 600000 --exchanges 1.7
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from wildchat.curate.link.address import ids_key, release_ids


def _best(fn: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()  # type: ignore[operator]
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--conversations", type=int, default=600_000)
    ap.add_argument("--exchanges", type=float, default=1.7, help="mean exchanges per conversation")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    addrs = [os.urandom(16) for _ in range(args.conversations)]
    turns = rng.integers(0, 2**63, size=int(args.conversations * args.exchanges), dtype=np.uint64)
    key = ids_key("bench-key")
    keyed = _best(lambda: release_ids(key, addrs, turns), args.repeat)
    plain = _best(lambda: release_ids(None, addrs, turns), args.repeat)
    print(
        json.dumps(
            {
                "conversations": args.conversations,
                "exchanges": len(turns),
                "keyed_cpu_s": round(keyed, 3),
                "unkeyed_cpu_s": round(plain, 3),
                "added_cpu_s": round(keyed - plain, 3),
                "added_us_per_conversation": round((keyed - plain) / args.conversations * 1e6, 2),
                "load_avg": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
