"""Linkage between releases and quasi-identifiers inside one.

**Shared ids** (:func:`shared_ids`): two releases of overlapping logs must
not be joinable: no ``conversation_id``, ``turn_identifier`` or
``hashed_ip`` of the newer release may occur in an older one (with
per-release keys they never do; a leak means ids are unkeyed).  Ids are
reduced to 64-bit digests held in sorted numpy arrays (8 bytes per id,
~50 MB for a million conversations with five turns each) and the new
release is streamed against them batch by batch.

**Quasi-identifiers** (:class:`QuasiCounter`): even without an IP, the
tuple (country, state, user-agent, accept-language) can single a user out.
Each user (``hashed_ip``) is assigned the tuple of most of their
conversations; a user is *unique* when no other user has their tuple, and
the k-anonymity distribution says how many users sit in groups of each
size.  WildChat publishes these headers in full, so high uniqueness is a
warning with a recommendation (the ``headers`` stage), not a failure.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wildchat.audit.release import SPLITS, Release

__all__ = ["K_BUCKETS", "QuasiCounter", "id_digests", "shared_ids"]

ID_KINDS: tuple[str, ...] = ("conversation_ids", "turn_identifiers", "hashed_ips")
K_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("1", 1, 1), ("2-4", 2, 4), ("5-9", 5, 9), ("10-49", 10, 49), ("50+", 50, 1 << 62),
)  # fmt: skip
UNIQUE_WARN = 0.2
EXAMPLES = 3


def _digest(values: Iterable[str | None]) -> np.ndarray:
    out = [
        int.from_bytes(hashlib.blake2b(v.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
        for v in values
        if v
    ]
    return np.asarray(out, dtype=np.uint64)


def _batch_ids(batch: pa.RecordBatch) -> dict[str, tuple[np.ndarray, list[str | None]]]:
    conv = batch.column("conversation")
    flat = pc.list_flatten(conv)
    tids = flat.field("turn_identifier")
    tids = tids.filter(pc.is_valid(tids)).to_numpy(zero_copy_only=False).astype(np.int64).view(np.uint64)
    cids = batch.column("conversation_id").to_pylist()
    hips = [*batch.column("hashed_ip").to_pylist(), *flat.field("hashed_ip").to_pylist()]
    return {
        "conversation_ids": (_digest(cids), cids),
        "turn_identifiers": (tids, []),
        "hashed_ips": (_digest(hips), []),
    }


_ID_COLUMNS = ["conversation_id", "hashed_ip", "conversation"]


def id_digests(release: Release) -> dict[str, np.ndarray]:
    """Sorted unique 64-bit digests of every id kind over both splits."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ID_KINDS}
    for split in SPLITS:
        for batch in release.batches(split, _ID_COLUMNS):
            for kind, (digests, _) in _batch_ids(batch).items():
                parts[kind].append(digests)
    return {k: np.unique(np.concatenate(v)) if v else np.zeros(0, np.uint64) for k, v in parts.items()}


def shared_ids(release: Release, older: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """Distinct ids of ``release`` also in ``older`` (from :func:`id_digests`), per kind."""
    shared: dict[str, set[int]] = {k: set() for k in ID_KINDS}
    examples: list[str] = []
    for split in SPLITS:
        for batch in release.batches(split, _ID_COLUMNS):
            for kind, (digests, raw) in _batch_ids(batch).items():
                hit = np.isin(digests, older[kind], assume_unique=False)
                if hit.any():
                    shared[kind].update(int(x) for x in digests[hit])
                    if kind == "conversation_ids" and len(examples) < EXAMPLES:
                        ok = [v for v in raw if v]
                        examples.extend(ok[i] for i in np.flatnonzero(hit)[: EXAMPLES - len(examples)])
    out: dict[str, dict[str, Any]] = {k: {"shared": len(v)} for k, v in shared.items()}
    out["conversation_ids"]["examples"] = examples
    return out


class QuasiCounter:
    """Streams conversations; reports uniqueness of users on the quasi-identifier tuple."""

    FIELDS = ("country", "state", "user-agent", "accept-language")

    def __init__(self) -> None:
        self._tuples: dict[tuple[str | None, ...], int] = {}
        self._users: dict[str, Any] = {}  # user -> tuple id, or Counter of tuple ids once it has several

    def add(self, batch: pa.RecordBatch) -> None:
        header = batch.column("header")
        rows = zip(
            batch.column("hashed_ip").to_pylist(),
            batch.column("country").to_pylist(),
            batch.column("state").to_pylist(),
            header.field("user-agent").to_pylist(),
            header.field("accept-language").to_pylist(),
            strict=True,
        )
        for user, *values in rows:
            if not user:
                continue
            tid = self._tuples.setdefault(tuple(values), len(self._tuples))
            seen = self._users.get(user)
            if seen is None:
                self._users[user] = tid
            elif isinstance(seen, Counter):
                seen[tid] += 1
            elif seen != tid:
                self._users[user] = Counter({seen: 1, tid: 1})

    def report(self) -> dict[str, Any]:
        per_user = [v if isinstance(v, int) else v.most_common(1)[0][0] for v in self._users.values()]
        sizes = Counter(per_user)
        ks = [sizes[t] for t in per_user]
        dist = {name: sum(1 for k in ks if lo <= k <= hi) for name, lo, hi in K_BUCKETS}
        users = len(per_user)
        unique = dist["1"]
        share = unique / users if users else 0.0
        warning = None
        if users and share > UNIQUE_WARN:
            warning = (
                f"{100 * share:.1f}% of users are unique on (country, state, user-agent, accept-language): "
                "consider the `headers` stage (coarser user-agent and accept-language) before publishing"
            )
        return {
            "tuple": list(self.FIELDS),
            "users": users,
            "distinct_tuples": len(sizes),
            "unique_users": unique,
            "unique_share": round(share, 4),
            "k_distribution": dist,
            "warning": warning,
        }
