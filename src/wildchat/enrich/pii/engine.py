"""The redaction engine: texts in, redacted texts and counts out.

Pure with respect to its inputs: no I/O, no logging of text.  Steps per
batch of texts:

1. pattern recognizers (every language; long texts in overlapping chunks
   of ``chunk_chars``, so cost stays linear and bounded per regex call);
2. NER for PERSON on short cue windows only (:mod:`.cues`), batched over the
   whole batch per language, for languages with a model; NER spans that look
   like an address or an organisation are dropped; with ``gazetteer``
   (``strict``) also the name gazetteer's candidates (:mod:`.names`) that the
   model did not label as a place or organisation, and no candidate in a
   firm name, after a possessive or in a place context (:mod:`.name_context`);
3. the policy's rules and threshold (:mod:`.policies`), then overlap
   resolution (higher score, then longer span wins);
4. the public-entity whitelist (:mod:`.whitelist`), then replacement with
   ``<PRESIDIO_ANONYMIZED_{ENTITY}>``.

Bad input has a defined answer: ``None`` is treated as ``""``, ``bytes`` are
decoded as UTF-8 with replacement; empty, emoji-only or binary-junk text
comes back unchanged unless a recognizer matches.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from functools import partial
from typing import Any

from wildchat.enrich.pii.config import PiiConfig, pii_config
from wildchat.enrich.pii.cues import name_windows
from wildchat.enrich.pii.name_context import firm_names, not_a_person
from wildchat.enrich.pii.names import find_names, load_gazetteer, plausible_ner_person, plausible_person
from wildchat.enrich.pii.ner import NerBackend, PresidioSpacyNer
from wildchat.enrich.pii.patterns import pattern_spans
from wildchat.enrich.pii.policies import select_spans
from wildchat.enrich.pii.propagate import propagate
from wildchat.enrich.pii.recognizers import find_crypto_eth, find_ips, find_personal_urls, find_phones
from wildchat.enrich.pii.secrets import find_secrets
from wildchat.enrich.pii.spans import RedactionResult, Span, apply_spans, resolve_overlaps
from wildchat.enrich.pii.whitelist import Whitelist, WhitelistBuilder
from wildchat.schema.languages import language_code

__all__ = ["Redactor", "language_code"]

CHUNK_OVERLAP = 2000
#: Types the public-entity whitelist never keeps: redacted under every policy, whatever their count.
NEVER_PUBLIC = frozenset({"SECRET", "IP_ADDRESS"})


def _latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isascii() for c in letters) >= 0.8 * len(letters)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)


class Redactor:
    """Detect and redact PII in texts under one :class:`PiiConfig`.

    ``whitelist``: public values to keep (from a first pass; default none).
    ``ner``: a :class:`NerBackend`; by default Presidio + spaCy, loaded on
    first use.  Instances are picklable (the model reloads in the worker).
    """

    def __init__(
        self,
        config: PiiConfig | None = None,
        whitelist: Whitelist | None = None,
        ner: NerBackend | None = None,
    ) -> None:
        self.config = config or pii_config()
        self.whitelist = whitelist or Whitelist()
        models = {k: v for k, v in self.config.ner_models.items() if k in self.config.ner_languages}
        self.ner: NerBackend = ner or PresidioSpacyNer(models)
        self._entities = frozenset(self.config.entities)
        self._finders = self._pattern_finders()

    def _pattern_finders(self) -> list[Callable[[str], list[Span]]]:
        want = self._entities
        finders: list[Callable[[str], list[Span]]] = []
        if want & {"EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "CRYPTO"}:
            finders.append(partial(pattern_spans, entities=want))
        table: list[tuple[str, Callable[[str], list[Span]]]] = [
            ("PHONE_NUMBER", find_phones),
            ("IP_ADDRESS", find_ips),
            ("URL", find_personal_urls),
            ("CRYPTO", find_crypto_eth),
            ("SECRET", find_secrets),
        ]
        finders.extend(fn for entity, fn in table if entity in want)
        return finders

    # ------------------------------------------------------------ detection

    def _patterns(self, text: str) -> list[Span]:
        size = self.config.chunk_chars
        out: list[Span] = []
        start = 0
        while True:
            chunk = text[start : start + size]
            for find in self._finders:
                out.extend(s.shifted(start) for s in find(chunk))
            if start + size >= len(text):
                return out
            start += size - CHUNK_OVERLAP

    def _ner_language(self, text: str, language: str | None) -> str | None:
        code = language_code(language)
        if code is None and language is None and _latin(text[:2000]):
            code = "en"  # unknown language, Latin script: the English model is the best guess
        if code is None or code not in self.config.ner_languages or not self.ner.supports(code):
            return None
        return code

    def _ner_windows(
        self, texts: list[str], languages: Sequence[str | None]
    ) -> tuple[list[list[Span]], list[list[Span]]]:
        """NER on cue windows, batched per language: (PERSON spans, other-label spans) per text."""
        found: list[list[Span]] = [[] for _ in texts]
        others: list[list[Span]] = [[] for _ in texts]
        if not self.config.ner:
            return found, others
        jobs: dict[str, list[tuple[int, int, str]]] = {}
        for i, text in enumerate(texts):
            windows = name_windows(text, self.config.ner_scope, self.config.ner_max_chars)
            if not windows:
                continue
            code = self._ner_language(text, languages[i])
            if code is None:
                continue
            jobs.setdefault(code, []).extend((i, s, text[s:e]) for s, e in windows)
        both = getattr(self.ner, "persons_and_others", None)
        for code, items in jobs.items():
            windows_text = [w for _, _, w in items]
            results = (
                both(windows_text, code) if both else [(p, []) for p in self.ner.persons(windows_text, code)]
            )
            for (i, offset, _), (persons, other) in zip(items, results, strict=True):
                found[i].extend(s.shifted(offset) for s in persons)
                others[i].extend(s.shifted(offset) for s in other)
        return found, others

    def _persons(self, texts: list[str], languages: Sequence[str | None]) -> list[list[Span]]:
        """PERSON spans per text: NER on cue windows, plus the name gazetteer when enabled."""
        if "PERSON" not in self._entities:
            return [[] for _ in texts]
        found, others = self._ner_windows(texts, languages)
        found = [
            [s for s in spans if plausible_person(text, s)] for text, spans in zip(texts, found, strict=True)
        ]
        if not self.config.gazetteer:
            return found
        gaz = load_gazetteer()
        found = [
            [s for s in spans if plausible_ner_person(text, s, gaz)]
            for text, spans in zip(texts, found, strict=True)
        ]
        for i, text in enumerate(texts):
            blocked = others[i]
            for s in find_names(text, gaz):  # linear in the text: no cap needed
                if not any(b.start < s.end and s.start < b.end for b in blocked):
                    found[i].append(s)
            if found[i]:
                firms = firm_names(text, gaz)
                found[i] = [s for s in found[i] if not not_a_person(text, s, firms)]
        return found

    def detect_many(
        self, texts: Sequence[Any], languages: Sequence[str | None] | None = None
    ) -> list[list[Span]]:
        """Spans the policy redacts, per text, before the whitelist.

        ``languages`` (optional, per text): WildChat label or ISO code; it
        decides whether NER runs (``None`` = guess from the script).
        """
        clean = [_as_text(t) for t in texts]
        langs = list(languages) if languages is not None else [None] * len(clean)
        if len(langs) != len(clean):
            raise ValueError("languages must have one entry per text")
        persons = self._persons(clean, langs)
        out = []
        for text, names in zip(clean, persons, strict=True):
            spans = self._patterns(text) + names if text else []
            out.append(resolve_overlaps(select_spans(text, spans, self.config)))
        return out

    # ------------------------------------------------------------ public API

    def redact_many(
        self,
        texts: Sequence[Any],
        languages: Sequence[str | None] | None = None,
        groups: Sequence[Hashable] | None = None,
    ) -> list[RedactionResult]:
        """Redact each text; see :class:`~.spans.RedactionResult` for the contract.

        ``groups`` (optional, per text, e.g. a conversation index): with
        ``config.propagate``, a value redacted in one text is also redacted
        wherever it occurs in the other texts of its group (:mod:`.propagate`).
        """
        clean = [_as_text(t) for t in texts]
        wl = self.whitelist
        kept = [
            # a credential or a typed global IP is never "public", however many users pasted it
            [s for s in spans if s.entity in NEVER_PUBLIC or (s.entity, text[s.start : s.end]) not in wl]
            for text, spans in zip(clean, self.detect_many(clean, languages), strict=True)
        ]
        if groups is not None and self.config.propagate:
            if len(groups) != len(clean):
                raise ValueError("groups must have one entry per text")
            kept = propagate(clean, kept, groups)
        return [apply_spans(text, spans) for text, spans in zip(clean, kept, strict=True)]

    def redact(self, text: Any, language: str | None = None) -> RedactionResult:
        """Redact one text (batching with :meth:`redact_many` is faster)."""
        return self.redact_many([text], [language])[0]

    def observe(
        self,
        texts: Sequence[Any],
        user_ids: Sequence[str | None],
        builder: WhitelistBuilder,
        languages: Sequence[str | None] | None = None,
    ) -> None:
        """First pass: count each detected value once per distinct user."""
        if len(user_ids) != len(texts):
            raise ValueError("user_ids must have one entry per text")
        clean = [_as_text(t) for t in texts]
        for text, user, spans in zip(clean, user_ids, self.detect_many(clean, languages), strict=True):
            for s in spans:
                builder.add(s.entity, text[s.start : s.end], user)
