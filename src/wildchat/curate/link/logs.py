"""Linking raw logs into conversations, as a plain iterator API.

:func:`read_conversations` is the one way raw-log files become conversations
outside ``wildchat curate``: :data:`RAWLOG_FORMAT` registers it as the
``rawlog`` format of :mod:`wildchat.formats` (entry point
``wildchat.formats: rawlog`` in ``pyproject.toml``, ``reads_together``), so
``wildchat convert``, the explorer, export and evaluation read raw logs
through it.  :func:`conversations_from_logs` does the same first pass, link
rules and assembly as ``wildchat curate`` (see
:mod:`wildchat.curate.link.linkplan` for the rules) with default options and
no cleaning or privacy stages.  It keeps the logs in memory; for large inputs
use ``wildchat curate``, which reads them twice instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from wildchat.curate.link.assemble import assemble, log_text
from wildchat.curate.link.linkplan import BRANCH_POLICIES, DEFAULT_FAILED, LinkOptions, LinkResult, link
from wildchat.curate.link.scan import ScanBuilder
from wildchat.curate.release.writer import finalize
from wildchat.formats._io import guard
from wildchat.formats.rawlog import iter_raw_logs
from wildchat.formats.registry import Format
from wildchat.schema import Conversation, RawLog, from_row
from wildchat.skips import SkipReport

__all__ = [
    "BRANCH_POLICIES",
    "RAWLOG_FORMAT",
    "LinkOptions",
    "conversations_from_logs",
    "link_logs",
    "read_conversations",
]

_DROP_MESSAGES = {
    "duplicate_request_id": "request_id repeats an earlier record",
    "duplicate_log": "same session and content as an earlier log (counted once)",
    "prefix_log": "merged: a prefix of a longer log of the same session",
    "failed_retried": "failed reply that the session retried with the same history",
    "branch": "conversation branched (link.branches = drop)",
    "branch_shorter": "shorter branch of a conversation (link.branches = longest)",
}


def link_logs(logs: Iterable[RawLog], options: LinkOptions | None = None) -> tuple[list[RawLog], LinkResult]:
    """All ``logs`` (kept in memory) and their link result, as one unit."""
    options = options or LinkOptions()
    builder = ScanBuilder(0, frozenset(options.failed_finish_reasons))
    kept: list[RawLog] = []
    for log in logs:
        builder.add(len(kept), log, len(kept) + 1)
        kept.append(log)
    return kept, link([builder.finish()], options, ["<logs>"])


def conversations_from_logs(
    logs: Iterable[RawLog], report: SkipReport, options: LinkOptions | None = None
) -> Iterator[Conversation]:
    """Link and prefix-dedup validated raw logs into release conversations.

    Logs merged away are counted in ``report`` under the link reasons
    (``prefix_log``, ``duplicate_log``, ``failed_retried``, ...).  Output
    order: by the position of each conversation's last log in ``logs``.
    ``conversation_hash`` is computed; ``hashed_ip`` is the source's (no
    release key here), and raw IPs are never part of a conversation.
    """
    kept, result = link_logs(logs, options or LinkOptions(failed_finish_reasons=DEFAULT_FAILED))
    for reason, n in sorted(result.dropped.items()):
        report.count(reason, n, f"{n} log(s): {_DROP_MESSAGES.get(reason, reason)}", "<logs>")
    plan = result.plans.get(0)
    if plan is None:
        return
    table = finalize(assemble(plan, [log_text(kept[p]) for p in plan.pos.tolist()]))
    for batch in table.to_batches(max_chunksize=1024):
        for row in batch.to_pylist():
            yield from_row(Conversation, row)


def read_conversations(paths: Sequence[Path], report: SkipReport) -> Iterator[Conversation]:
    """Conversations rebuilt from raw logs of *all* ``paths`` together.

    Linking follows requests across files (a conversation may span two
    exports), so the files are one stream into :func:`conversations_from_logs`.
    A file that cannot be read any further is one ``unreadable_file`` skip;
    the others still link.
    """

    def logs() -> Iterator[RawLog]:
        for p in paths:
            yield from guard(p, report, iter_raw_logs(p, report))

    yield from conversations_from_logs(logs(), report)


#: the ``rawlog`` format, registered into :data:`wildchat.formats.FORMATS` by entry point
RAWLOG_FORMAT = Format(read=read_conversations, reads_together=True)
