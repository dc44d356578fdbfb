"""Jailbreak prompts: matching a known library, and discovering new templates.

**Library.** A user-supplied file (this project ships no third-party
prompts): the CSV of the public *jailbreak_llms* collection (columns
``prompt`` and optionally ``jailbreak``, ``community_name``, ``platform``,
``source``; rows with ``jailbreak`` false are skipped) or a plain text file
of prompts separated by lines holding only ``---``, each optionally starting
with a ``name: <family>`` line.  An entry's family name is its
``community_name``, else ``<platform>/<source>``, else ``entry-<n>``.

**Matching.** Word 3-shingles (lower-cased, punctuation-insensitive) ->
MinHash (datasketch) -> LSH candidates -> the candidate with the highest
estimated Jaccard similarity at or above ``threshold`` wins.  Jaccard on
shingles survives the edits users make to templates (a filled-in question, a
renamed persona, trimmed lines).  Texts under ``min_words`` words are not
compared (no template is that short) and get ``False``.

**Discovery.** :func:`discover_templates` clusters long user prompts by the
same MinHash LSH and returns groups reused by many distinct users -- the
way new jailbreak templates show up in a log before anyone names them.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_CHARS = 50_000  # cost bound per text; templates are far shorter


@dataclass(frozen=True)
class LibraryEntry:
    """One known jailbreak prompt and its family name."""

    name: str
    text: str


def shingles(text: str, k: int = 3) -> set[str]:
    """Lower-cased word k-shingles (a short text gives its words as one shingle)."""
    words = _WORD.findall(text[:MAX_CHARS].lower())
    if len(words) < k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def _truthy(value: str | None) -> bool:
    return (value or "true").strip().lower() in ("true", "1", "yes")


def load_library(path: str | Path) -> list[LibraryEntry]:
    """Entries of a jailbreak_llms-style CSV or a ``---``-separated text file."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        csv.field_size_limit(10**8)
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or "prompt" not in reader.fieldnames:
                raise ValueError(f"jailbreak library {path.name}: a CSV needs a 'prompt' column")
            out = []
            for n, row in enumerate(reader):
                text = (row.get("prompt") or "").strip()
                if not text or not _truthy(row.get("jailbreak")):
                    continue
                name = (row.get("community_name") or "").strip().replace("\n", " ")
                if not name and (row.get("platform") or row.get("source")):
                    name = f"{(row.get('platform') or '').strip()}/{(row.get('source') or '').strip()}"
                out.append(LibraryEntry(name or f"entry-{n}", text))
            return out
    out = []
    blocks = re.split(r"(?m)^---\s*$", path.read_text(encoding="utf-8"))
    for n, block in enumerate(b.strip() for b in blocks):
        if not block:
            continue
        name = f"entry-{n}"
        first, _, rest = block.partition("\n")
        if first.lower().startswith("name:"):
            name, block = first[5:].strip() or name, rest.strip()
        if block:
            out.append(LibraryEntry(name, block))
    return out


def _minhash(sh: set[str], num_perm: int) -> Any:
    from datasketch import MinHash

    m = MinHash(num_perm=num_perm)
    m.update_batch([s.encode("utf-8") for s in sh])
    return m


class JailbreakMatcher:
    """MinHash-LSH index over a library; :meth:`match` names the family per text."""

    def __init__(
        self,
        entries: Sequence[LibraryEntry],
        *,
        threshold: float = 0.5,
        num_perm: int = 128,
        min_words: int = 20,
    ) -> None:
        from datasketch import MinHashLSH

        self.threshold = threshold
        self.num_perm = num_perm
        self.min_words = min_words
        self.entries = list(entries)
        self._lsh = MinHashLSH(threshold=threshold * 0.8, num_perm=num_perm)
        self._hashes: list[Any] = []
        for i, entry in enumerate(self.entries):
            m = _minhash(shingles(entry.text), num_perm)
            self._hashes.append(m)
            self._lsh.insert(i, m)

    def match_one(self, text: str) -> str | None:
        """Family name of the best library match, or ``None``."""
        if len(_WORD.findall(text[:MAX_CHARS])) < self.min_words:
            return None
        m = _minhash(shingles(text), self.num_perm)
        best, best_sim = None, self.threshold
        for i in self._lsh.query(m):
            sim = float(m.jaccard(self._hashes[i]))
            if sim >= best_sim:
                best, best_sim = self.entries[i].name, sim
        return best

    def match(self, texts: Sequence[str]) -> list[str | None]:
        return [self.match_one(t) for t in texts]


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
