"""``wildchat audit``: scan a release before publication and say whether it is safe.

Reads every split (``full/``, ``public/``) batch by batch -- memory is
bounded by one batch plus the id digests of ``--previous`` releases and one
entry per user for the quasi-identifier count -- and scans every text field:
each turn's ``content`` (all roles, ``system`` included), its
``header.user-agent`` / ``header.accept-language``, ``jailbreak_match``,
and the conversation's ``model`` and header.  What is looked for and what
blocks publication: :mod:`wildchat.audit.detect`; linkage and
quasi-identifiers: :mod:`wildchat.audit.linkage`.

How shards are scanned (public rows identical to their full row are not
scanned twice): :mod:`wildchat.audit.scan`; shards run in ``workers``
processes.  Quasi-identifiers come from a separate pass over the four small
columns they need.

Contract: :attr:`AuditReport.exit_code` is 0 when nothing blocks and no id is
shared with a previous release, else 1; bad input raises
:class:`~wildchat.audit.release.AuditInputError` before anything is
scanned.  Reports hold counts and locations (split, conversation id, turn
index, field), never a matched value.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wildchat import __version__
from wildchat.audit.detect import Detector
from wildchat.audit.linkage import QuasiCounter, id_digests, shared_ids
from wildchat.audit.release import SPLITS, open_release
from wildchat.audit.scan import KindTally, run_jobs, shard_jobs

__all__ = ["AuditReport", "audit_release", "summary_line"]


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
            out.append(
                "stats.json says this release is NOT PII-redacted (--allow-unredacted): do not publish it"
            )
        if self.blocking:
            out.append(
                "re-curate with the `pii` stage (see docs/curate.md); never publish with --allow-unredacted"
            )
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
            doc[kind] = {
                "count": t.count,
                "blocking": t.blocking,
                "by_split": t.by_split,
                "locations": t.locations,
            }
        doc["names"]["skipped"] = self.names_skipped
        doc["previous"] = self.previous
        doc["quasi_identifiers"] = self.quasi
        doc["recommendations"] = self.recommendations()
        return doc


def audit_release(
    root: str | Path,
    previous: Sequence[str | Path] = (),
    *,
    strict: bool = False,
    names: bool = True,
    batch_size: int = 1024,
    workers: int = 1,
    detector: Detector | None = None,
    progress: Callable[[str], None] | None = None,
) -> AuditReport:
    """Audit the release at ``root`` (and its linkage to ``previous`` releases).

    ``workers`` > 1 scans shards in that many processes (each loads its own
    detectors); results do not depend on it.
    """
    release = open_release(root)
    older = [open_release(p) for p in previous]  # validate every input before scanning any
    say = progress or (lambda _m: None)
    det = detector or Detector(strict=strict, names=names)
    jobs = shard_jobs(release.shards["full"], release.shards["public"])
    kinds = run_jobs(jobs, det, (strict, names, batch_size), workers, say)
    quasi = QuasiCounter()
    for batch in release.batches("full", ["hashed_ip", "country", "state", "header"], batch_size * 8):
        quasi.add(batch)
    links = []
    for old in older:
        say(f"comparing ids with {old.root}")
        links.append({"release": str(old.root), "ids": shared_ids(release, id_digests(old))})
    return AuditReport(
        release=str(release.root),
        stats_version=str(release.stats.get("wildchat_version")),
        kinds=kinds,
        splits={s: {"conversations": release.rows[s], "shards": len(release.shards[s])} for s in SPLITS},
        quasi=quasi.report(),
        previous=links,
        names_skipped=det.names_skipped,
        strict=strict,
        pii_redacted=release.stats.get("pii_redacted") is not False,
    )


def summary_line(release_dir: str | Path, workers: int | None = None) -> str:
    """One line for the end of ``wildchat curate``: blocking findings per kind, quasi-identifier share.

    ``workers`` defaults to the CPU count (at most 4), as the audit reads the whole release again.
    """
    report = audit_release(release_dir, workers=workers or min(4, os.cpu_count() or 1))
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
