"""Which detected spans are redacted: the ``wildchat`` and ``strict`` rules.

Both policies first adjust scores by context the way Presidio's context
enhancer does (a phone cue before a number, "wallet" near an address: +0.35)
and drop spans below ``threshold``.  ``strict`` stops there.  ``wildchat``
then applies the release's rules (Zhao et al., 2024, section on PII):

* PERSON: a name cue ("my name is", "dear", "regards", ...) at most
  ``CUE_REACH`` characters before it with no lower-case word in between
  (:func:`.cues.cue_leads_to`: "I'm ChatGPT with Developer Mode" names
  no one), >= 2 capitalised words on one line, not quoted;
* PHONE_NUMBER: a phone cue ("tel", "phone", "whatsapp", "电话", ...) just
  before it, or a leading ``+``;
* EMAIL_ADDRESS: not a placeholder (``@example.com``, ``test@``, ...);
* CREDIT_CARD: "card" (or a translation / brand) nearby;
* URL: LinkedIn profiles only;
* IP_ADDRESS: globally routable addresses only (the recognizer scores every
  other range below any sensible threshold; :func:`.recognizers.is_global_ip`);
  the same rule as ``wildchat audit``, so a default release audits clean;
* SECRET and any type a deployer adds: threshold only.

The whitelist of public entities is applied afterwards, by the engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from wildchat.enrich.pii.config import PiiConfig
from wildchat.enrich.pii.cues import (
    CARD_CUE,
    CRYPTO_CUE,
    CUE_REACH,
    NAME_CUE,
    PHONE_CUE,
    cue_after_or_before,
    cue_before,
    cue_leads_to,
)
from wildchat.enrich.pii.recognizers import is_global_ip
from wildchat.enrich.pii.spans import Span

__all__ = ["is_placeholder_email", "select_spans"]

BOOST = 0.35

QUOTES = frozenset("\"'`“”‘’«»「」『』„")

_PLACEHOLDER_DOMAIN = re.compile(
    r"@(?:[\w-]+\.)*(?:example|test|domain|yourdomain|your-domain|email|emailaddress|company|mycompany|sample|"
    r"acme|foo|bar|localhost|invalid|mail\.test)\.[a-z.]+$|@(?:localhost|example)$"
)
_PLACEHOLDER_LOCAL = re.compile(
    r"^(?:test|testing|user|username|your|yourname|your\.name|youremail|your\.email|name|email|"
    r"someone|somebody|john\.?doe|jane\.?doe|johndoe|janedoe|foo|bar|example|sample|noreply|no-reply|"
    r"me|abc|xyz|admin)\d*@"
)


def is_placeholder_email(value: str) -> bool:
    """``@example.com``, ``test@...``, ``john.doe@...``: sample data, not PII."""
    v = value.lower()
    return bool(_PLACEHOLDER_DOMAIN.search(v) or _PLACEHOLDER_LOCAL.match(v))


def _boosted(text: str, s: Span) -> Span:
    if s.entity == "PHONE_NUMBER" and cue_before(text, s.start, PHONE_CUE, 40):
        return Span(s.start, s.end, s.entity, min(1.0, s.score + BOOST), s.source)
    if s.entity == "CRYPTO" and cue_after_or_before(text, s.start, s.end, CRYPTO_CUE, 60):
        return Span(s.start, s.end, s.entity, min(1.0, s.score + BOOST), s.source)
    return s


def _capitalised_words(value: str) -> int:
    return sum(1 for w in value.split() if w[:1].isupper())


def _quoted(text: str, s: Span) -> bool:
    before = text[s.start - 1] if s.start > 0 else ""
    after = text[s.end] if s.end < len(text) else ""
    return before in QUOTES or after in QUOTES


def _wildchat_keeps(text: str, s: Span) -> bool:
    value = text[s.start : s.end]
    if s.entity == "PERSON":
        return (
            cue_leads_to(text, s.start, NAME_CUE, CUE_REACH)
            and _capitalised_words(value) >= 2
            and "\n" not in value.strip()  # "Regards, Alex\n\nJarvis, can you": two things
            and not _quoted(text, s)
        )
    if s.entity == "PHONE_NUMBER":
        return value.startswith("+") or cue_before(text, s.start, PHONE_CUE, 40)
    if s.entity == "EMAIL_ADDRESS":
        return not is_placeholder_email(value)
    if s.entity == "CREDIT_CARD":
        return cue_after_or_before(text, s.start, s.end, CARD_CUE, 60)
    if s.entity == "URL":
        return s.source == "linkedin"
    if s.entity == "IP_ADDRESS":
        return is_global_ip(value)
    return True


def select_spans(text: str, spans: Iterable[Span], cfg: PiiConfig) -> list[Span]:
    """Spans of ``text`` that ``cfg``'s policy redacts (before the whitelist)."""
    wanted = set(cfg.entities)
    out: list[Span] = []
    for raw in spans:
        if raw.entity not in wanted:
            continue
        s = _boosted(text, raw)
        if s.score < cfg.threshold:
            continue
        if cfg.cue_rules and not _wildchat_keeps(text, s):
            continue
        out.append(s)
    return out
