"""Which conversations of a dataset the NLL matrix scores.

Held-out first: a conversation is held out when
:func:`wildchat.train.split.is_heldout` says so for its
:func:`~wildchat.train.split.heldout_key` -- the same rule ``export-sft``
uses to leave it out of training -- so a model trained on an export of the
dataset is scored on conversations it never saw.  Candidates are ordered by
``sha256(seed, key)`` (a seeded order that does not depend on file order or
on the tokenizer) and the first ``n`` are taken.

When fewer than ``n`` conversations are held out (small datasets), the rest
is filled with the first non-held-out conversations in the same seeded
order, and the selection records how many came from each pool -- those
scores may include training data.  ``use_all`` ignores the split: for
external datasets no model was trained on.

Conversations ``export-sft`` would reject for their structure (no
assistant turn, an empty one, roles out of order) are counted skips, never
candidates; an unanswered final user message is dropped, as in the export.

Memory stays bounded: only the ``n`` best candidates of each pool are kept
while streaming the dataset.
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wildchat.formats.inputs import dataset_name
from wildchat.skips import SkipReport

DEFAULT_SEED = "wildchat-nll-v1"


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """A named dataset: one or more files/folders/globs read by :mod:`wildchat.formats`."""

    name: str
    inputs: tuple[str, ...]


def parse_dataset(spec: str) -> DatasetSpec:
    """``NAME=PATH`` or ``PATH`` (name: :func:`~wildchat.formats.inputs.dataset_name`)."""
    head, sep, tail = spec.partition("=")
    if sep and head and "/" not in head and not Path(spec).exists():
        return DatasetSpec(head, (tail,))
    return DatasetSpec(dataset_name(spec) or spec, (spec,))


@dataclass(slots=True)
class Selection:
    """The conversations picked from one dataset, as message lists, with provenance."""

    spec: DatasetSpec
    messages: list[list[dict[str, str]]]
    keys: list[str]
    mode: str  # "heldout" | "heldout+fill" | "all"
    from_heldout: int
    from_rest: int
    fraction: float
    seed: str
    report: SkipReport = field(default_factory=SkipReport)

    def to_dict(self) -> dict[str, Any]:
        digest = hashlib.sha256("\n".join(self.keys).encode("utf-8")).hexdigest()
        return {
            "name": self.spec.name,
            "inputs": [str(Path(p).resolve()) if Path(p).exists() else p for p in self.spec.inputs],
            "selection": {
                "mode": self.mode,
                "conversations": len(self.keys),
                "from_heldout": self.from_heldout,
                "from_rest": self.from_rest,
                "heldout_fraction": self.fraction,
                "order_seed": self.seed,
                "keys_sha256": digest,
            },
            "read": self.report.to_dict(),
        }


def _order(seed: str, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}\0{key}".encode()).digest()[:8], "big")


class _Smallest:
    """The ``n`` items with the smallest order values seen so far (a bounded max-heap)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._heap: list[tuple[int, int, str, list[dict[str, str]]]] = []
        self._count = 0

    def offer(self, order: int, key: str, messages: list[dict[str, str]]) -> None:
        self._count += 1
        item = (-order, -self._count, key, messages)
        if len(self._heap) < self.n:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def sorted(self) -> list[tuple[str, list[dict[str, str]]]]:
        return [(k, m) for _, _, k, m in sorted(self._heap, reverse=True)]


def select_conversations(
    spec: DatasetSpec,
    n: int,
    *,
    fraction: float = 0.02,
    use_all: bool = False,
    seed: str = DEFAULT_SEED,
    fmt: str | None = None,
    split: str = "full",
) -> Selection:
    """Up to ``n`` conversations of ``spec`` (see the module doc for the rule).

    Unreadable records are counted in the selection's report by the format
    readers.  A release folder is read as its ``split``
    (:func:`wildchat.formats.release.resolve_inputs`).  Raises
    ``FileNotFoundError`` for an input that matches nothing and
    :class:`~wildchat.formats.release.ReleaseError` for a broken release.
    """
    from wildchat.formats import iter_conversations
    from wildchat.formats.release import resolve_inputs
    from wildchat.train.sft_data import conversation_messages, drop_trailing_user, structure_problem
    from wildchat.train.split import heldout_key, is_heldout

    report = SkipReport()
    held, rest = _Smallest(n), _Smallest(n)
    for conv in iter_conversations(resolve_inputs(spec.inputs, split), format=fmt, report=report):
        key = heldout_key(conv)
        messages = conversation_messages(conv)
        drop_trailing_user(messages)
        problem = structure_problem(messages)
        if problem is not None:  # the same rule export-sft applies: never a candidate
            report.skip(problem, "conversation not usable as a chat", ", ".join(spec.inputs))
            continue
        if not use_all and is_heldout(key, fraction):
            held.offer(_order(seed, key), key, messages)
        else:
            rest.offer(_order(seed, key), key, messages)
    picked_held = [] if use_all else held.sorted()
    picked_rest = rest.sorted()[: n - len(picked_held)]
    chosen = picked_held + picked_rest
    mode = "all" if use_all else "heldout" if not picked_rest else "heldout+fill"
    return Selection(
        spec=spec,
        messages=[m for _, m in chosen],
        keys=[k for k, _ in chosen],
        mode=mode,
        from_heldout=len(picked_held),
        from_rest=len(picked_rest),
        fraction=0.0 if use_all else fraction,
        seed=seed,
        report=report,
    )
