"""``wildchat audit``: scan a release before publication and say whether it is safe.

Reads every split (``full/``, ``public/``) batch by batch -- memory is
bounded by one batch plus the id digests of ``--previous`` releases and one
entry per user for the quasi-identifier count -- and scans every text field:
each turn's ``content`` (all roles, ``system`` included), its
``header.user-agent`` / ``header.accept-language``, ``jailbreak_match``,
and the conversation's ``model`` and header.  What is looked for and what
blocks publication: :mod:`wildchat.audit.detect`; linkage and
quasi-identifiers: :mod:`wildchat.audit.linkage`.

A ``public`` shard that is byte-identical to its ``full`` shard (the writer
copies it when every row is public) is not scanned twice: its findings are
the ``full`` shard's, counted again under ``public``.

Contract: :attr:`AuditReport.exit_code` is 0 when nothing blocks and no id is
shared with a previous release, else 1; bad input raises
:class:`~wildchat.audit.release.AuditInputError` before anything is
scanned.  Reports hold counts and locations (split, conversation id, turn
index, field), never a matched value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from wildchat import __version__
from wildchat.audit.detect import KINDS, Detector, Finding
from wildchat.audit.linkage import QuasiCounter, id_digests, shared_ids
from wildchat.audit.release import SPLITS, Release, open_release

__all__ = ["AuditReport", "audit_release", "summary_line"]

MAX_LOCATIONS = 5
_COLUMNS = ["conversation_id", "model", "conversation", "hashed_ip", "country", "state", "header"]
_HEADER_FIELDS = ("user-agent", "accept-language")


@dataclass
class KindTally:
    """Findings of one kind: counts per split and the first few locations."""

    count: int = 0
    blocking: int = 0
    by_split: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    locations: list[dict[str, Any]] = field(default_factory=list)

    def add(self, f: Finding, where: dict[str, Any]) -> None:
        self.count += 1
        self.blocking += f.blocking
        self.by_split[where["split"]] += 1
        if len(self.locations) < MAX_LOCATIONS and (f.blocking or self.blocking == 0):
            self.locations.append({**where, "blocking": f.blocking})


@dataclass
class AuditReport:
    """Everything ``wildchat audit`` found; :meth:`to_json` is the CI format."""

    release: str
    stats_version: str
    kinds: dict[str, KindTally]
    splits: dict[str, dict[str, int]]
    quasi: dict[str, Any]
    previous: list[dict[str, Any]]
    names_skipped: str | None
    strict: bool
    pii_redacted: bool = True

    @property
    def blocking(self) -> int:
        """Findings to fix (a release that says it is not PII-redacted counts as one)."""
        return sum(t.blocking for t in self.kinds.values()) + (not self.pii_redacted)

    @property
    def shared(self) -> int:
        return sum(v["shared"] for p in self.previous for v in p["ids"].values())

    @property
    def exit_code(self) -> int:
        return 1 if self.blocking or self.shared else 0

    def recommendations(self) -> list[str]:
        out = []
        if not self.pii_redacted:
            out.append("stats.json says this release is NOT PII-redacted (--allow-unredacted): do not publish it")
        if self.blocking:
            out.append("re-curate with the `pii` stage (see docs/curate.md); never publish with --allow-unredacted")
        if self.shared:
            out.append("ids are shared with a previous release: curate with a new release key (--ip-key)")
        if self.quasi.get("warning"):
            out.append("add the `headers` stage to coarsen user-agent and accept-language (docs/curate.md)")
        return out

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "release": self.release,
            "status": "clean" if self.exit_code == 0 else "findings",
            "exit_code": self.exit_code,
            "strict": self.strict,
            "pii_redacted": self.pii_redacted,
            "release_wildchat_version": self.stats_version,
            "audited_with": __version__,
            "splits": self.splits,
        }
        for kind, t in self.kinds.items():
            doc[kind] = {"count": t.count, "blocking": t.blocking, "by_split": t.by_split, "locations": t.locations}
        doc["names"]["skipped"] = self.names_skipped
        doc["previous"] = self.previous
        doc["quasi_identifiers"] = self.quasi
        doc["recommendations"] = self.recommendations()
        return doc


def _texts(batch: pa.RecordBatch) -> tuple[list[str], list[str | None], list[tuple[int, int | None, str]]]:
    """Every non-empty text field of a batch with its (row, turn, field) and language."""
    conv = batch.column("conversation")
    flat = pc.list_flatten(conv)
    offs = conv.offsets.to_pylist()
    base = offs[0]
    cols = {
        "content": flat.field("content").to_pylist(),
        "jailbreak_match": flat.field("jailbreak_match").to_pylist(),
        **{f"header.{h}": flat.field("header").field(h).to_pylist() for h in _HEADER_FIELDS},
    }
    langs = flat.field("language").to_pylist()
    texts: list[str] = []
    tlangs: list[str | None] = []
    where: list[tuple[int, int | None, str]] = []
    for row in range(len(batch)):
        for k in range(offs[row] - base, offs[row + 1] - base):
            for name, values in cols.items():
                if values[k]:
                    texts.append(values[k])
                    tlangs.append(langs[k] if name == "content" else None)
                    where.append((row, k - (offs[row] - base), name))
    conv_cols = {"model": batch.column("model").to_pylist()}
    conv_cols.update({f"header.{h}": batch.column("header").field(h).to_pylist() for h in _HEADER_FIELDS})
    for name, values in conv_cols.items():
        for row, v in enumerate(values):
            if v:
                texts.append(v)
                tlangs.append(None)
                where.append((row, None, name))
    return texts, tlangs, where


class _Scanner:
    """Scans shards; short repeated fields (headers, model names) are scanned once per value."""

    def __init__(self, detector: Detector, batch_size: int) -> None:
        self.detector = detector
        self.batch_size = batch_size
        self._cache: dict[str, list[Finding]] = {}

    def _scan(self, texts: list[str], langs: list[str | None], where: list[tuple[int, int | None, str]]) -> list[list[Finding]]:
        out: list[list[Finding] | None] = [None] * len(texts)
        todo = []
        for i, (text, (_, _, name)) in enumerate(zip(texts, where, strict=True)):
            if name != "content" and name != "jailbreak_match" and text in self._cache:
                out[i] = self._cache[text]
            else:
                todo.append(i)
        results = self.detector.scan([texts[i] for i in todo], [langs[i] for i in todo])
        for i, res in zip(todo, results, strict=True):
            out[i] = res
            if where[i][2] not in ("content", "jailbreak_match"):
                if len(self._cache) > 100_000:
                    self._cache.clear()
                self._cache[texts[i]] = res
        return [r or [] for r in out]

    def shard(self, release: Release, path: Path, split: str, quasi: QuasiCounter | None) -> list[tuple[Finding, dict[str, Any]]]:
        import pyarrow.parquet as pq

        from wildchat.audit.release import AuditInputError

        found: list[tuple[Finding, dict[str, Any]]] = []
        try:
            batches = pq.ParquetFile(path).iter_batches(batch_size=self.batch_size, columns=_COLUMNS)
            for batch in batches:
                if quasi is not None:
                    quasi.add(batch)
                texts, langs, where = _texts(batch)
                ids = batch.column("conversation_id").to_pylist()
                for (row, turn, name), findings in zip(where, self._scan(texts, langs, where), strict=True):
                    for f in findings:
                        found.append((f, {"split": split, "conversation_id": ids[row], "turn": turn, "field": name}))
        except (OSError, pa.ArrowException) as exc:
            raise AuditInputError(f"{path}: corrupt Parquet ({type(exc).__name__})") from exc
        return found


def _digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def audit_release(
    root: str | Path,
    previous: Sequence[str | Path] = (),
    *,
    strict: bool = False,
    names: bool = True,
    batch_size: int = 1024,
    detector: Detector | None = None,
    progress: Callable[[str], None] | None = None,
) -> AuditReport:
    """Audit the release at ``root`` (and its linkage to ``previous`` releases)."""
    release = open_release(root)
    older = [open_release(p) for p in previous]  # validate every input before scanning any
    say = progress or (lambda _m: None)
    det = detector or Detector(strict=strict, names=names)
    scanner = _Scanner(det, batch_size)
    kinds = {k: KindTally() for k in dict.fromkeys(KINDS.values())}
    quasi = QuasiCounter()
    full_digests: dict[str, tuple[str, list[tuple[Finding, dict[str, Any]]]]] = {}
    splits: dict[str, dict[str, int]] = {}
    for split in SPLITS:
        splits[split] = {"conversations": release.rows[split], "shards": len(release.shards[split])}
        for path in release.shards[split]:
            say(f"scanning {split}/{path.name}")
            same = full_digests.get(path.name) if split == "public" else None
            if same is not None and same[0] == _digest(path):
                found = [(f, {**w, "split": split}) for f, w in same[1]]
            else:
                found = scanner.shard(release, path, split, quasi if split == "full" else None)
                if split == "full":
                    full_digests[path.name] = (_digest(path), found)
            for f, where in found:
                kinds[f.kind].add(f, where)
    links = []
    for old in older:
        say(f"comparing ids with {old.root}")
        links.append({"release": str(old.root), "ids": shared_ids(release, id_digests(old))})
    return AuditReport(
        release=str(release.root),
        stats_version=str(release.stats.get("wildchat_version")),
        kinds=kinds,
        splits=splits,
        quasi=quasi.report(),
        previous=links,
        names_skipped=det.names_skipped,
        strict=strict,
        pii_redacted=release.stats.get("pii_redacted") is not False,
    )


def summary_line(release_dir: str | Path) -> str:
    """One line for the end of ``wildchat curate``: blocking findings per kind, quasi-identifier share."""
    report = audit_release(release_dir)
    found = ", ".join(f"{k} {t.blocking}" for k, t in report.kinds.items() if t.blocking)
    if not report.pii_redacted:
        found = ", ".join(x for x in ("NOT PII-redacted", found) if x)
    status = "clean" if report.exit_code == 0 else f"{report.blocking} finding(s) to fix: {found}"
    review = sum(t.count - t.blocking for t in report.kinds.values())
    q = report.quasi
    return (
        f"audit: {status}; {review} for review; "
        f"{100 * q['unique_share']:.1f}% of {q['users']} users unique on quasi-identifiers "
        f"(run `wildchat audit {release_dir}` for details)"
    )
