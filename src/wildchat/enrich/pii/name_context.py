"""Contexts that say a capitalised name-like word is *not* a person (``strict`` policy's precision).

The gazetteer and the small English NER model both propose every title-cased
word that is also somebody's name; three kinds of context reliably say it is
something else, and :func:`not_a_person` drops such candidates:

* **a firm named after its partners**: family names alone joined as a list
  ("Davis, Reynolds and Williamson", "Marks & Spencer, Clark and Hall"):
  people in running text are written with first names or titles; a list
  of three or more bare family names is a law firm, an agency, an
  orchestra -- unless it follows a colon (an enumeration: "our founders:
  Kónya, Becker and Vasquez");
* **a thing owned**: a single capitalised word right after a capitalised
  possessive ("Yefremova's Cautionary Tales", "Tolkien's Silmarillion"):
  the owner may be a person, what follows is a title or an object (a first
  and family name stays: "Google's Sundar Pichai"; "Here's Matej" is "is");
* **a place**: a single capitalised word right after "in" or "near"
  ("I'm in Hernani", "near Fortaleza"), or on the line right above a line
  that starts with a country name (the city line of a postal address).

Each rule only removes candidates; none adds one.  Pure functions of the
text and a span; the firm rule needs the gazetteer (family names).
"""

from __future__ import annotations

import regex

from wildchat.enrich.pii.names import NameGazetteer, _places
from wildchat.enrich.pii.spans import Span

__all__ = ["firm_names", "not_a_person"]

_CAP = r"\p{Lu}\p{Ll}+(?:-\p{Lu}\p{Ll}+)?"
# Two or more ", Name" then "and"/"&" Name: at least three parts.
_FIRM = regex.compile(
    rf"(?<![\p{{L}}\-]){_CAP}(?:,[ \t]+{_CAP})+,?[ \t]+(?:and|&)[ \t]+{_CAP}(?![\p{{L}}\-])"
)
_PART = regex.compile(_CAP)
# "Yefremova's Cautionary Tales": a capitalised owner (not "Here's", "That's": those are "is").
_POSSESSIVE = regex.compile(
    r"(?<!\p{L})(?!(?i:here|there|that|what|who|it|let|he|she|where|how|when)['’])"
    r"\p{Lu}\p{L}*['’]s[ \t]+(?:\p{Lu}[\p{L}'’\-]*[ \t]+){0,3}$"
)
_PLACE_PREPOSITION = regex.compile(r"(?i)(?<!\w)(?:in|near)[ \t]+$")


def firm_names(text: str, gaz: NameGazetteer) -> list[tuple[int, int]]:
    """Spans of "Surname, Surname and Surname" lists (every part a known family name)."""
    out = []
    for m in _FIRM.finditer(text):
        if text[max(0, m.start() - 3) : m.start()].rstrip().endswith(":"):
            continue  # an enumeration ("our 3 founders: Kónya, Becker and Vasquez") lists people
        parts = _PART.findall(m.group())
        if len(parts) >= 3 and all(gaz.is_last(p) for p in parts):
            out.append((m.start(), m.end()))
    return out


def _after_possessive(text: str, span: Span) -> bool:
    """One word after "Owner's" (a title, an object); "Google's Sundar Pichai" (two words) stays a person."""
    if " " in text[span.start : span.end].strip():
        return False
    return _POSSESSIVE.search(text, max(0, span.start - 80), span.start) is not None


def _place(text: str, span: Span) -> bool:
    value = text[span.start : span.end]
    if " " not in value.strip() and _PLACE_PREPOSITION.search(text, max(0, span.start - 8), span.start):
        return True
    line_end = text.find("\n", span.end)
    if line_end < 0 or text[span.end : line_end].strip(" ,\t"):
        return False  # the candidate is not the end of its line
    next_line = text[line_end + 1 : line_end + 80].lstrip(" \t>")
    first = regex.match(r"\p{L}+", next_line)
    return first is not None and first.group().casefold() in _places()


def not_a_person(text: str, span: Span, firms: list[tuple[int, int]]) -> bool:
    """Whether a PERSON candidate sits in a firm name, after a possessive or in a place context."""
    if any(a <= span.start and span.end <= b for a, b in firms):
        return True
    return _after_possessive(text, span) or _place(text, span)
