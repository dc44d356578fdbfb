"""Measuring redaction quality against labelled data (used by ``make eval``).

Matching rule (documented in docs/quality.md, "PII"):

* recall, per *gold* type: a gold span counts as found if any redaction
  overlaps it by at least one character, whatever type we gave it -- a
  covered value is hidden;
* precision, per *our* type: a redaction is correct if it overlaps a gold span
  of a type that ours maps to (:data:`GOLD_TYPES`); ``precision_any`` also
  accepts any gold PII span (a phone rule hitting an SSN still hides PII).

Loaders read the public files at run time (never copied into the repo):
the Presidio synthetic set (``full_text`` + ``spans``) and WNUT-17 CoNLL
(``B-person``/``I-person`` tags; tokens joined by single spaces).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wildchat.enrich.pii.spans import RedactionResult

__all__ = [
    "GOLD_TYPES",
    "SPLIT_SEED",
    "Gold",
    "Scores",
    "load_presidio_synth",
    "load_wnut_persons",
    "score",
    "split_folds",
]

#: our entity type -> the gold types (Presidio synthetic set) it stands for.
GOLD_TYPES: dict[str, frozenset[str]] = {
    "PERSON": frozenset({"PERSON"}),
    "EMAIL_ADDRESS": frozenset({"EMAIL_ADDRESS"}),
    "PHONE_NUMBER": frozenset({"PHONE_NUMBER"}),
    "CREDIT_CARD": frozenset({"CREDIT_CARD"}),
    "IBAN_CODE": frozenset({"IBAN_CODE"}),
    "IP_ADDRESS": frozenset({"IP_ADDRESS"}),
    "URL": frozenset({"DOMAIN_NAME"}),
    "CRYPTO": frozenset(),
    "SECRET": frozenset(),
}


@dataclass(frozen=True, slots=True)
class Gold:
    """One labelled text: spans are ``(start, end, gold_type)``."""

    text: str
    spans: tuple[tuple[int, int, str], ...]


@dataclass
class Scores:
    """Counts behind recall (per gold type) and precision (per our type)."""

    gold: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    predicted: Counter[str] = field(default_factory=Counter)
    correct: Counter[str] = field(default_factory=Counter)
    correct_any: Counter[str] = field(default_factory=Counter)

    def recall(self, gold_type: str) -> float:
        return self.found[gold_type] / self.gold[gold_type] if self.gold[gold_type] else float("nan")

    def precision(self, our_type: str) -> float:
        """Share of our redactions of this type on a gold span of a mapped type."""
        n = self.predicted[our_type]
        return self.correct[our_type] / n if n else float("nan")

    def precision_any(self, our_type: str) -> float:
        """Share of our redactions of this type on *any* gold PII span (privacy view)."""
        n = self.predicted[our_type]
        return self.correct_any[our_type] / n if n else float("nan")


def _overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    return a0 < b1 and b0 < a1


def score(golds: Sequence[Gold], results: Sequence[RedactionResult]) -> Scores:
    """Compare redactions (spans in input coordinates) with gold spans."""
    out = Scores()
    for g, r in zip(golds, results, strict=True):
        for start, end, gtype in g.spans:
            out.gold[gtype] += 1
            if any(_overlaps(start, end, s.start, s.end) for s in r.spans):
                out.found[gtype] += 1
        for s in r.spans:
            out.predicted[s.entity] += 1
            mapped = GOLD_TYPES.get(s.entity, frozenset())
            if any(t in mapped and _overlaps(s.start, s.end, a, b) for a, b, t in g.spans):
                out.correct[s.entity] += 1
            if any(_overlaps(s.start, s.end, a, b) for a, b, _ in g.spans):
                out.correct_any[s.entity] += 1
    return out


def load_presidio_synth(path: str | Path) -> list[Gold]:
    """Records of presidio-research's ``synth_dataset_v2.json``."""
    records = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for rec in records:
        spans = tuple(
            (int(s["start_position"]), int(s["end_position"]), str(s["entity_type"])) for s in rec["spans"]
        )
        out.append(Gold(str(rec["full_text"]), spans))
    return out


def _sentences(lines: Iterable[str]) -> Iterable[list[tuple[str, str]]]:
    sent: list[tuple[str, str]] = []
    for line in lines:
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 2 or not parts[0]:
            if sent:
                yield sent
            sent = []
            continue
        sent.append((parts[0], parts[-1]))
    if sent:
        yield sent


def load_wnut_persons(path: str | Path) -> list[Gold]:
    """WNUT-17 sentences, tokens joined by spaces; gold = person mentions."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for sent in _sentences(fh):
            text_parts: list[str] = []
            spans: list[tuple[int, int, str]] = []
            pos, prev = 0, "O"
            for token, tag in sent:
                start = pos
                text_parts.append(token)
                pos += len(token) + 1
                if tag == "B-person" or (tag == "I-person" and not prev.endswith("-person")):
                    spans.append((start, start + len(token), "PERSON"))
                elif tag == "I-person":
                    spans[-1] = (spans[-1][0], start + len(token), "PERSON")
                prev = tag
            out.append(Gold(" ".join(text_parts), tuple(spans)))
    return out


SPLIT_SEED = 14


def split_folds(
    golds: Sequence[Gold], seed: int = SPLIT_SEED, test_share: float = 0.5
) -> tuple[list[Gold], list[Gold]]:
    """``(dev, test)``: a seeded random split of ``golds`` (same seed -> same folds).

    Rules and thresholds are tuned on ``dev`` only; figures are reported on
    ``test`` (docs/quality.md).  ``test_share`` of the records go to ``test``.
    """
    if not 0.0 < test_share < 1.0:
        raise ValueError("test_share must be in (0, 1)")
    order = list(range(len(golds)))
    random.Random(seed).shuffle(order)
    cut = round(len(order) * (1.0 - test_share))
    return [golds[i] for i in sorted(order[:cut])], [golds[i] for i in sorted(order[cut:])]
