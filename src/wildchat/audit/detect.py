"""What the audit looks for in one text, and whether a finding blocks publication.

Detection uses the PII package's strict detectors (:mod:`wildchat.enrich.pii`,
``strict`` policy, pattern recognizers; names as below).  Every strict
finding is *counted*; a finding *blocks* (makes ``wildchat audit`` exit 1)
when the release should not contain it whatever its policy:

* ``secrets`` and globally routable ``ips``: always (both policies redact
  them; private, loopback, CGNAT and documentation ranges are not reported);
* ``emails``, ``phones``, ``credit_cards``: when the ``wildchat`` policy's
  rules would redact them too (a real-looking address; a phone with a cue
  or a leading ``+``; a Luhn-valid number near "card") -- so a default
  release audits clean while a release that skipped PII does not;
* ``ibans``: counted for review only (the ``wildchat`` policy keeps them);
* ``names``: NER on the windows after a name cue followed by two
  capitalised words ("my name is Ada Lovelace"), with the ``wildchat``
  rules -- what a release promises to have redacted.  Strict's
  every-capitalised-word NER is far too slow for a million conversations.

With ``strict=True`` every counted finding blocks.  A :class:`Finding` holds
positions and a kind, never the matched text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import regex

from wildchat.enrich.pii import Redactor, Span, pii_config
from wildchat.enrich.pii.cues import NAME_CUE
from wildchat.enrich.pii.patterns import find_cards, find_emails, find_ibans
from wildchat.enrich.pii.policies import select_spans
from wildchat.enrich.pii.recognizers import find_ips, find_phones, is_global_ip
from wildchat.enrich.pii.secrets import find_secrets
from wildchat.enrich.pii.spans import resolve_overlaps

__all__ = ["KINDS", "Detector", "Finding"]

#: Report kind (plural, JSON key) per PII entity type.
KINDS: dict[str, str] = {
    "IP_ADDRESS": "ips",
    "EMAIL_ADDRESS": "emails",
    "PHONE_NUMBER": "phones",
    "CREDIT_CARD": "credit_cards",
    "IBAN_CODE": "ibans",
    "SECRET": "secrets",
    "PERSON": "names",
}
_PATTERN_ENTITIES = ("IP_ADDRESS", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "SECRET")
_ALWAYS_BLOCK = frozenset({"IP_ADDRESS", "SECRET"})
_POLICY_BLOCK = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD")
_DIGITS = "0123456789"
_PHONE_RUN = re.compile(r"\d[\d \t().\-]{5,}\d")  # the recognizer's candidates need this much
_HEX_COLONS = re.compile(r":[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:")  # IPv6 without "::"
_DOTTED = re.compile(r"\.\d{1,3}\.\d{1,3}\.")  # the middle of a dotted quad, literal-led (fast)
_CUE_GAP = 12  # at most this many characters (", ", ": ", " - ") between a name cue and the name
_CAP_PAIR = regex.compile(r"\p{Lu}\p{Ll}+[ \t]+(?:\p{Lu}\.\s*)?\p{Lu}\p{Ll}+")


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected value: its report kind, whether it blocks, and where (never what)."""

    kind: str
    blocking: bool
    start: int
    end: int


def _is_global_ip(text: str, s: Span) -> bool:
    """Globally routable, and not a version number (``Chrome/120.0.0.0``)."""
    if s.start >= 2 and text[s.start - 1] == "/" and text[s.start - 2].isalnum():
        return False
    return is_global_ip(text[s.start : s.end])


class Detector:
    """Strict pattern detectors plus cue-gated name NER, over batches of texts.

    ``names``: run the name check (needs the spaCy model of the ``pii``
    extra; :attr:`names_available` says whether it could run).
    """

    def __init__(self, *, strict: bool = False, names: bool = True, ner: Any = None) -> None:
        self.strict = strict
        self._strict = pii_config("strict", ner=False, entities=_PATTERN_ENTITIES)
        self._policy = pii_config("wildchat", entities=_POLICY_BLOCK)
        self._names: Redactor | None = None
        self.names_skipped: str | None = None
        if names:
            red = Redactor(pii_config("wildchat", entities=("PERSON",), ner_scope="cues"), ner=ner)
            if red.ner.supports("en"):
                self._names = red
            else:
                self.names_skipped = "no NER model installed (pip install 'wildchat[enrich]')"
        else:
            self.names_skipped = "disabled (--no-names)"

    @property
    def names_available(self) -> bool:
        return self._names is not None

    def pattern_spans(self, text: str) -> list[Span]:
        """The strict policy's pattern spans, each recognizer behind a cheap necessary condition.

        Phones need >= 7 digits in a run, cards >= 12, IBANs >= 8, IPv4 a dotted quad
        (IPv6 ``::`` or hex groups between colons), e-mails an
        ``@``: these tests run at C speed, the recognizers' regexes do not.
        Secrets have their own gates.
        """
        digits = sum(map(text.count, _DIGITS))
        spans = find_secrets(text)
        if "@" in text:
            spans += find_emails(text)
        if digits >= 7 and _PHONE_RUN.search(text):
            spans += find_phones(text)
        if (digits >= 4 and _DOTTED.search(text)) or "::" in text or _HEX_COLONS.search(text):
            spans += find_ips(text)
        if digits >= 12:
            spans += find_cards(text)
        if digits >= 8:
            spans += find_ibans(text)
        return resolve_overlaps(select_spans(text, spans, self._strict)) if spans else []

    def _classify(self, text: str, spans: list[Span]) -> list[Finding]:
        out = []
        policy_keeps = {(s.start, s.end) for s in select_spans(text, spans, self._policy)}
        for s in spans:
            if s.entity == "IP_ADDRESS" and not _is_global_ip(text, s):
                continue
            blocking = self.strict or s.entity in _ALWAYS_BLOCK or (s.start, s.end) in policy_keeps
            out.append(Finding(KINDS[s.entity], blocking, s.start, s.end))
        return out

    def scan(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> list[list[Finding]]:
        """Findings per text (same order)."""
        found = [self._classify(t, self.pattern_spans(t)) if t else [] for t in texts]
        if self._names is None:
            return found
        idx = [i for i, t in enumerate(texts) if t and _name_candidate(t)]
        if idx:
            langs = [languages[i] if languages is not None else None for i in idx]
            for i, spans in zip(idx, self._names.detect_many([texts[i] for i in idx], langs), strict=True):
                found[i].extend(Finding("names", True, s.start, s.end) for s in spans)
        return found


def _name_candidate(text: str) -> bool:
    """A name cue right before two capitalised words ("my name is Ada Lovelace").

    Where the ``wildchat`` name rule can fire (it needs the cue and >= 2
    capitalised words); only these texts go to NER.
    """
    for m in _CAP_PAIR.finditer(text):
        lo = max(0, m.start() - _CUE_GAP - 30)
        if any(c.end() >= m.start() - _CUE_GAP for c in NAME_CUE.finditer(text, lo, m.start())):
            return True
    return False
