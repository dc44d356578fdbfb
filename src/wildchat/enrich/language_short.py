"""Short and noisy turns: a prior-weighted fallback and the conversation's context.

Why: on a text of a few letters (``hi``, ``thanks``, ``ok``, ``continue``) a
language detector has almost no evidence, and lingua -- which treats all 75
languages as equally likely -- then answers Maori, Sotho, Tswana or Xhosa
with full confidence.  In real chat logs those languages are vanishingly rare
while English, Chinese and Russian make up ~80 % of WildChat-1M, so a
uniform prior is the wrong one.  Two remedies, both documented in
docs/quality.md:

1. **Fallback** (per text, no context needed): a text with fewer than
   ``short_letters`` letters -- after removing URLs, e-mail addresses and
   fenced/inline code, which carry letters but no language -- is labelled by
   the posterior ``lingua confidence x prior ** prior_weight`` over all
   languages, where the prior is WildChat-1M's language share
   (:data:`PRIOR`; every other language gets :data:`PRIOR_FLOOR`).  The hybrid
   engine first keeps fastText's English when its probability is at least
   ``short_fast_accept`` (0.2).  A tempered prior (weight 0.35, not 1) keeps
   short texts of common languages (``hola``, ``merci``, ``danke``) right:
   see the trade-off table in docs/quality.md.  Below that, *no evidence*:
   a text of fewer than ``few_letters`` (5) letters, unaccented if Latin
   (``k``, ``ok``, ``thx``, ``hiya``; not ``où``), takes its script's most
   common language (:data:`SCRIPT_DEFAULT`) without asking a detector.
2. **Context** (stage ``language``): a short turn of a conversation that also
   has long ("reliable") turns in the same script takes the label those turns
   agree on -- the other user turns first, else the assistant's replies --
   so ``hi`` answered by an English reply is English and ``ок`` in a Russian
   conversation is Russian, whatever the fallback said alone.  The stage
   resolves context first and runs the fallback only for the short turns
   context did not decide (:meth:`Decision.pending`), which keeps the
   fallback's lingua calls off most short turns.

Labels stay WildChat's (lingua names, ``Nolang``, ``Unknown``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

#: Approximate share of each language among WildChat-1M conversations (rounded
#: from the dataset's published language distribution); the fallback's prior.
PRIOR: dict[str, float] = {
    "English": 0.53,
    "Chinese": 0.14,
    "Russian": 0.12,
    "French": 0.025,
    "Spanish": 0.024,
    "Portuguese": 0.022,
    "German": 0.02,
    "Arabic": 0.015,
    "Italian": 0.012,
    "Turkish": 0.01,
    "Japanese": 0.008,
    "Korean": 0.006,
    "Polish": 0.005,
    "Vietnamese": 0.005,
    "Indonesian": 0.005,
    "Ukrainian": 0.004,
    "Persian": 0.004,
    "Dutch": 0.003,
}
#: Prior of every language not in :data:`PRIOR`.
PRIOR_FLOOR = 1e-4

#: Non-Latin scripts of labels (everything else is Latin), for context compatibility.
LABEL_SCRIPT: dict[str, str] = {
    **dict.fromkeys(
        ("Russian", "Ukrainian", "Belarusian", "Bulgarian", "Macedonian", "Serbian", "Kazakh", "Mongolian"),
        "CYRILLIC",
    ),
    **dict.fromkeys(("Arabic", "Persian", "Urdu"), "ARABIC"),
    **dict.fromkeys(("Hindi", "Marathi"), "DEVANAGARI"),
    "Chinese": "CJK",
    "Japanese": "KANA",
    "Korean": "HANGUL",
    "Greek": "GREEK",
    "Hebrew": "HEBREW",
    "Thai": "THAI",
    "Georgian": "GEORGIAN",
    "Armenian": "ARMENIAN",
    "Bengali": "BENGALI",
    "Gujarati": "GUJARATI",
    "Punjabi": "GURMUKHI",
    "Tamil": "TAMIL",
    "Telugu": "TELUGU",
}


def _script_defaults() -> dict[str, str]:
    """Per script, its most common language under :data:`PRIOR` (Latin: English).

    A script shared by languages none of which the prior knows (Devanagari:
    Hindi and Marathi) has no default: guessing there would be a coin toss.
    """
    by_script: dict[str, list[str]] = {}
    for label, script in LABEL_SCRIPT.items():
        by_script.setdefault(script, []).append(label)
    out = {"LATIN": "English"}
    for script, labels in by_script.items():
        best = max(labels, key=lambda x: PRIOR.get(x, 0.0))
        if best in PRIOR or len(labels) == 1:
            out[script] = best
    return out


#: What a text in a script most likely is when its letters carry no other evidence (Latin -> English,
#: Cyrillic -> Russian, Han -> Chinese, Arabic -> Arabic ...): the low-evidence fallback's answer.
SCRIPT_DEFAULT: dict[str, str] = _script_defaults()
_SCRIPT_ALIASES = {"HIRAGANA": "KANA", "KATAKANA": "KANA", "HALFWIDTH": "KANA", "FULLWIDTH": "LATIN"}

# Letters that say nothing about the language: links, addresses, code.
_NOISE = re.compile(
    r"```.*?(?:```|$)|`[^`\n]{1,200}`|\b(?:https?://|www\.)\S+|\b[\w.+-]+@[\w-]+\.[\w.-]+",
    re.DOTALL | re.IGNORECASE,
)
_LETTERS = re.compile(r"[^\W\d_]")

#: How a turn's final label was decided (stage counters ``decided:<how>``); ``script``: too few letters
#: for any detector, the script's most common language.
HOW_ENGINE, HOW_FALLBACK, HOW_CONTEXT, HOW_NOLANG = "engine", "fallback", "context", "nolang"
HOW_SCRIPT = "script"


@dataclass(frozen=True)
class Decision:
    """One turn's label and how it was reached (``short``: decided from few letters).

    ``pending`` holds the prepared text of a short turn whose fallback was
    deferred (``label`` is then empty): the conversation's context may
    decide it for free; :meth:`~wildchat.enrich.language._Detector.settle`
    runs the fallback otherwise.  Settled decisions have ``pending = None``.
    """

    label: str
    how: str
    short: bool = False
    script: str = "LATIN"
    pending: str | None = field(default=None, repr=False)


def strip_noise(text: str) -> str:
    """``text`` without URLs, e-mail addresses and fenced/inline code (bounded by its length)."""
    return _NOISE.sub(" ", text)


def letter_count(text: str) -> int:
    """Number of letters (word characters that are not digits or ``_``)."""
    return len(_LETTERS.findall(text))


def dominant_script(text: str) -> str:
    """Most frequent script among the letters of (a short) ``text``: ``LATIN``, ``CYRILLIC``, ``CJK`` ..."""
    counts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha():
            head = unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]
            counts[_SCRIPT_ALIASES.get(head, head)] += 1
    return counts.most_common(1)[0][0] if counts else "LATIN"


def plain_letters(text: str, script: str) -> bool:
    """Whether ``text``'s letters carry no mark of a particular language: for Latin, all unaccented ASCII.

    ``ok``, ``thx``, ``k`` could be any Latin-script language (so the prior
    decides), but ``où``, ``sí``, ``ça``, ``ß`` say French, Spanish, German;
    other scripts are their own evidence (the script default already follows it).
    """
    return script != "LATIN" or all(ch.isascii() for ch in text if ch.isalpha())


def script_default(script: str) -> str | None:
    """The language a text in ``script`` most likely is when nothing else is known (``None``: no guess)."""
    return SCRIPT_DEFAULT.get(script)


def label_script(label: str) -> str:
    """The script a label's language is written in (Latin unless listed in :data:`LABEL_SCRIPT`)."""
    return LABEL_SCRIPT.get(label, "LATIN")


def prior_argmax(confidences: Sequence[tuple[str, float]], weight: float) -> tuple[str | None, float]:
    """(label maximising ``confidence x prior ** weight``, its share of all such scores).

    ``(None, 0.0)`` when nothing scores above zero.  The share is the
    posterior's confidence, compared with ``min_confidence`` by the engines.
    """
    best, best_score, total = None, 0.0, 0.0
    for label, conf in confidences:
        score = conf * PRIOR.get(label, PRIOR_FLOOR) ** weight
        total += score
        if score > best_score:
            best, best_score = label, score
    return best, (best_score / total if total > 0 else 0.0)


def context_label(decisions: Sequence[Decision], roles: Sequence[str | None]) -> str | None:
    """The label reliable (non-short) turns agree on: user turns first, else assistant turns.

    Most frequent label among them (ties: first seen); ``None`` when no turn
    is reliable or the reliable turns have no language (``Nolang``/``Unknown``).
    """
    for wanted in ("user", "assistant"):
        labels = [
            d.label
            for d, r in zip(decisions, roles, strict=True)
            if not d.short and d.how != HOW_NOLANG and d.label not in ("Unknown", "") and r == wanted
        ]
        if labels:
            counts = Counter(labels)
            best = max(counts.values())
            return next(x for x in labels if counts[x] == best)
    return None


def resolve_conversation(decisions: Sequence[Decision], roles: Sequence[str | None]) -> list[Decision]:
    """Short turns take the conversation's context label when its script matches (pure).

    Reliable turns and ``Nolang`` turns are unchanged; a short turn whose
    script differs from the context language's (``ok`` in a Chinese
    conversation) keeps its fallback label.
    """
    if not any(d.short for d in decisions):
        return list(decisions)
    ctx = context_label(decisions, roles)
    if ctx is None:
        return list(decisions)
    script = label_script(ctx)
    return [
        Decision(ctx, HOW_CONTEXT, True, d.script) if d.short and d.script == script else d for d in decisions
    ]
