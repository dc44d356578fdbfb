"""``python -m wildchat.enrich.pii whitelist IN.parquet... -o whitelist.json``.

The first pass of the public-entity whitelist (see
:mod:`wildchat.enrich.pii.whitelist`): reads release-schema Parquet files
(WildChat format, not yet redacted), counts detected values per distinct
user and writes the digests of the public ones.  Prints counts only, never
values.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["main"]


def _batches(paths: Sequence[Path], batch_size: int) -> Iterator[object]:
    import pyarrow.parquet as pq

    for path in paths:
        yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m wildchat.enrich.pii")
    sub = ap.add_subparsers(dest="command", required=True)
    wl = sub.add_parser("whitelist", help="first pass: count entities per distinct user")
    wl.add_argument("inputs", nargs="+", type=Path, help="release-schema Parquet files")
    wl.add_argument("-o", "--out", type=Path, required=True, help="whitelist JSON to write")
    wl.add_argument("--policy", default="wildchat", choices=["wildchat", "strict"])
    wl.add_argument("--min-users-person", type=int, default=50)
    wl.add_argument("--min-users-other", type=int, default=10)
    wl.add_argument("--no-ner", action="store_true", help="skip NER (names are then never counted)")
    wl.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args(argv)

    from wildchat.curate.stages.pii import build_whitelist

    missing = [str(p) for p in args.inputs if not p.is_file()]
    if missing:
        print(f"not a file: {', '.join(missing)}", file=sys.stderr)
        return 2
    whitelist = build_whitelist(
        _batches(args.inputs, args.batch_size),  # type: ignore[arg-type]
        policy=args.policy,
        ner=not args.no_ner,
        whitelist_min_users_person=args.min_users_person,
        whitelist_min_users_other=args.min_users_other,
    )
    whitelist.save(args.out)
    print(f"{len(whitelist)} public entity values -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
