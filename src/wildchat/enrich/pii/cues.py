"""Cue phrases and the cheap pre-filter that decides where NER runs.

NER is the expensive step (~60 turns/s on whole real turns with spaCy's
small English model), so it never sees whole texts.  It runs only on short
*windows*:

* ``cues`` scope: around a name cue ("my name is", "dear", "regards", ...)
  that is followed closely by a capitalised word -- the only places the
  ``wildchat`` rules can keep a PERSON anyway;
* ``pairs`` scope: also around every pair of capitalised words ("Ada
  Lovelace"), where most written full names are;
* ``capitalized`` scope (``strict``): also around single capitalised words
  inside a sentence ("... asked Ada"), close to the model's own recall at
  ~2x the cost of ``pairs``.

Overlapping windows are merged; the total per text is capped, so a 1 MB turn
costs no more NER than ``ner_max_chars`` characters.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import regex

__all__ = [
    "CARD_CUE",
    "CRYPTO_CUE",
    "NAME_CUE",
    "PHONE_CUE",
    "cue_before",
    "name_windows",
]

# Lowercase-insensitive; multilingual where a cue is a fixed phrase, so a NER
# model added for another language finds its cues already here.
NAME_CUE = regex.compile(
    r"(?i)(?<!\w)(?:my\s+name\s+is|my\s+name's|name\s*:|i\s+am|i'm|i’m|this\s+is|call\s+me|dear|"
    r"regards|sincerely|thanks|thank\s+you|cheers|yours\s+truly|yours|best\s+wishes|signed|"
    r"me\s+llamo|je\s+m'appelle|je\s+suis|ich\s+heiße|ich\s+bin|mi\s+chiamo|меня\s+зовут|"
    r"我叫|我的名字是)(?!\w)"
)
PHONE_CUE = regex.compile(
    r"(?i)(?<!\w)(?:tel|tél|phone|telephone|mobile|cell|call|whatsapp|wechat|viber|telegram|contact|fax|"
    r"sms|text\s+me|number|no\.|nr\.|móvil|teléfono|telefone|telefon|handy|телефон|тел|"
    r"电话|手机|联系|微信)(?!\w)|电话|手机|微信"
)
CARD_CUE = regex.compile(r"(?i)card|visa|mastercard|amex|karte|tarjeta|carte|cartão|carta|карт|卡")
CRYPTO_CUE = regex.compile(r"(?i)wallet|bitcoin|btc|eth|ether|usdt|crypto|钱包|кошел")

# A capitalised word: an uppercase letter then lowercase letters (any script).
_CAP_PAIR = regex.compile(r"\p{Lu}[\p{Ll}'’\-]+(?:\s+\p{Lu}\.)?[ \t]+\p{Lu}[\p{Ll}'’\-]+")
# A capitalised word inside a sentence (after a lowercase word or a comma).
_CAP_INNER = regex.compile(r"(?<=[\p{Ll}\d,;:][ \t]{1,3})\p{Lu}\p{Ll}{2,}")
_CAP_AFTER = regex.compile(r"[\s,:;\-–—]{0,12}(?:\p{Lu}\.\s*)?\p{Lu}\p{L}")

CUE_REACH = 60  # chars between the end of a cue and the start of the name


def cue_before(text: str, start: int, cue: regex.Pattern[str], reach: int) -> bool:
    """Whether ``cue`` occurs in the ``reach`` characters before ``start``."""
    return cue.search(text, max(0, start - reach), start) is not None


_LOWER_WORD = regex.compile(r"(?<![\p{L}\d])\p{Ll}")


def cue_leads_to(text: str, start: int, cue: regex.Pattern[str], reach: int) -> bool:
    """Whether a ``cue`` within ``reach`` characters before ``start`` leads straight to it.

    Straight: only capitalised words (titles, other name parts), digits and
    punctuation between them -- "Dear Chief Minister Y.S. Reddy", "regards,\nJay
    Dang" -- not running text: in "I'm ChatGPT with Developer Mode" or "I'm
    Larry, your humble Gym Leader" the cue introduces someone else.
    """
    cues = cue.finditer(text, max(0, start - reach), start)
    return any(_LOWER_WORD.search(text, m.end(), start) is None for m in cues)


def cue_after_or_before(text: str, start: int, end: int, cue: regex.Pattern[str], reach: int) -> bool:
    """Whether ``cue`` occurs within ``reach`` characters around ``[start, end)``."""
    return cue.search(text, max(0, start - reach), min(len(text), end + reach)) is not None


def _cue_windows(text: str) -> Iterator[tuple[int, int]]:
    for m in NAME_CUE.finditer(text):
        if _CAP_AFTER.match(text, m.end()):
            yield max(0, m.start() - 20), min(len(text), m.end() + 120)


def _cap_windows(text: str, inner: bool) -> Iterator[tuple[int, int]]:
    for m in _CAP_PAIR.finditer(text):
        yield max(0, m.start() - 60), min(len(text), m.end() + 40)
    if inner:
        for m in _CAP_INNER.finditer(text):
            yield max(0, m.start() - 60), min(len(text), m.end() + 40)


def _snap(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a window to whitespace so no word is cut (at most 30 chars)."""
    s = start
    while s > 0 and start - s < 30 and not text[s - 1].isspace():
        s -= 1
    e = end
    while e < len(text) and e - end < 30 and not text[e].isspace():
        e += 1
    return s, e


def name_windows(text: str, scope: str, max_chars: int) -> list[tuple[int, int]]:
    """Merged ``(start, end)`` windows of ``text`` to run NER on.

    Cue windows come first (they are what the ``wildchat`` rules need), then
    for scope ``pairs`` windows around pairs of capitalised words, and for
    ``capitalized`` also around single capitalised words inside a sentence;
    windows are added
    in that order until ``max_chars`` is reached.  Sorted by start.
    """
    if max_chars <= 0 or not text:
        return []
    extra = _cap_windows(text, inner=scope == "capitalized") if scope in ("pairs", "capitalized") else ()
    raw = itertools.chain(_cue_windows(text), extra)
    chosen: list[tuple[int, int]] = []
    budget = max_chars
    for start, end in raw:
        s, e = _snap(text, start, end)
        merged = _merged_list(chosen, s, e)
        cost = sum(b - a for a, b in merged) - sum(b - a for a, b in chosen)
        if cost > budget:
            break
        chosen, budget = merged, budget - cost
    return chosen


def _merged_list(spans: list[tuple[int, int]], s: int, e: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted([*spans, (s, e)]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
