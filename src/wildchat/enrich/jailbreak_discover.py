"""Discovering jailbreak templates: long prompts reused by many distinct users.

:func:`discover_templates` clusters long user prompts by the MinHash LSH and
word shingles of :mod:`wildchat.enrich.jailbreak` and returns groups reused by
many distinct users -- the way new jailbreak templates show up in a log
before anyone names them (``wildchat jailbreaks discover``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wildchat.enrich.jailbreak import _minhash, shingles

__all__ = ["TemplateCluster", "discover_templates"]


@dataclass(frozen=True)
class TemplateCluster:
    """Near-duplicate long prompts: positions in the input, distinct users, a representative."""

    members: tuple[int, ...]
    n_users: int
    representative: int


def discover_templates(
    texts: Sequence[str],
    users: Sequence[str | None],
    *,
    min_chars: int = 500,
    min_users: int = 3,
    threshold: float = 0.6,
    num_perm: int = 128,
) -> list[TemplateCluster]:
    """Clusters of long prompts reused by at least ``min_users`` distinct users.

    ``users`` are pseudonymous ids (``hashed_ip``); ``None`` counts as one
    anonymous user per prompt.  Clusters are connected components of the LSH
    "similar" relation, sorted by users then size (largest first).  The
    representative is the member most similar to the others (a medoid by
    estimated Jaccard), returned as an index: the caller decides whether any
    text may be shown (prompts can hold PII).
    """
    from datasketch import MinHashLSH

    if len(texts) != len(users):
        raise ValueError("texts and users must have the same length")
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    hashes: dict[int, Any] = {}
    for i, text in enumerate(texts):
        if len(text) >= min_chars:
            hashes[i] = _minhash(shingles(text), num_perm)
            lsh.insert(i, hashes[i])
    parent = {i: i for i in hashes}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, m in hashes.items():
        for j in lsh.query(m):
            parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in hashes:
        groups.setdefault(find(i), []).append(i)
    clusters = []
    for members in groups.values():
        distinct = Counter(users[i] if users[i] is not None else f"\0anon{i}" for i in members)
        if len(distinct) < min_users:
            continue
        sample = members[:50]
        rep = max(sample, key=lambda i: sum(float(hashes[i].jaccard(hashes[j])) for j in sample))
        clusters.append(TemplateCluster(tuple(sorted(members)), len(distinct), rep))
    return sorted(clusters, key=lambda c: (-c.n_users, -len(c.members), c.members[0]))
