"""Email, credit card, IBAN and Bitcoin: Presidio's patterns and checks, without its import.

These follow Presidio's recognizers (presidio-analyzer 2.2, MIT): the same
regular expressions and the same validation -- TLD check via tldextract's
bundled suffix list for emails, Luhn for cards, mod-97 for IBANs, base58check
and bech32/bech32m for Bitcoin -- and, as in Presidio, a validated match
scores 1.0 and a failed one is dropped.  They are re-stated here because ``import presidio_analyzer``
pulls in torch and transformers (~5 s CPU and ~300 MB per worker process),
which the pattern path does not need; Presidio itself is loaded only when a
text reaches NER.  ``tests/enrich/pii/test_pii_patterns.py`` checks that they
agree with Presidio's recognizers on real and synthetic text; cards go further than
Presidio (13-19 digits in any grouping, the 2-series Mastercard, JCB, UnionPay and
Mir prefixes, 12-digit Maestro).
"""

from __future__ import annotations

import os
import re
from functools import cache
from hashlib import sha256
from typing import Any

from wildchat.enrich.pii.spans import Span

__all__ = ["find_bitcoin", "find_cards", "find_emails", "find_ibans", "pattern_spans"]

# ---------------------------------------------------------------- email

_EMAIL = re.compile(
    r"\b((([!#$%&'*+\-/=?^_`{|}~\w])|([!#$%&'*+\-/=?^_`{|}~\w][!#$%&'*+\-/=?^_`{|}~\.\w]{0,}"
    r"[!#$%&'*+\-/=?^_`{|}~\w]))[@]\w+(?:-+\w+)*(?:\.\w+(?:-+\w+)*)+)\b"
)


@cache
def _tld_extractor() -> Any:
    # tldextract reads this when imported: never fetch the suffix list.
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def find_emails(text: str) -> list[Span]:
    """Emails whose domain ends in a public suffix (score 1.0); others are dropped, as in Presidio."""
    if "@" not in text:
        return []
    extract = _tld_extractor()
    out = []
    for m in _EMAIL.finditer(text):
        # the domain alone: on the whole match a URL path ("cdn.jsdelivr.net/npm/bootstrap@4.5.3")
        # would lend its host's suffix to a version number
        if extract(m.group().rsplit("@", 1)[1]).fqdn:
            out.append(Span(m.start(), m.end(), "EMAIL_ADDRESS", 1.0, "email"))
    return out


# ---------------------------------------------------------------- credit card

_CARD = re.compile(r"(?<![\w.+\-/])\d{2,19}(?:[ \-]\d{2,19}){0,7}(?![\w]|[.\-/]\d)")
#: Issuer prefixes (IIN) of the card schemes: Visa 4, Mastercard 51-55 / 2221-2720, Amex 34/37,
#: Diners 30/36/38/39, Discover 6011/64/65, JCB 35 / 1800 / 2131, UnionPay 62, Maestro 50/56-69,
#: Mir 2200-2204.
_IIN = re.compile(r"^(?:4|5[0-9]|2[2-7]|3[0-9]|6|1800|2131)")
_MAESTRO = re.compile(r"^(?:50|5[6-9]|6)")
CARD_MIN_DIGITS, CARD_MAX_DIGITS = 13, 19


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_DIGITS4 = re.compile(r"\d{4}")  # cheap pre-checks: most turns hold no candidate at all
_IBAN_START = re.compile(r"[A-Z]{2}[0-9]{2}")
_LONG_TOKEN = re.compile(r"[0-9A-Za-z]{26}")


def _card_score(digits: str) -> float:
    """1.0 for a 13-19 digit number with a card-scheme prefix that passes Luhn; 0.75 for a 12-digit
    Maestro-prefixed one (Maestro allows 12; above a cue-boosted bare-digit phone); 0 otherwise."""
    if not _IIN.match(digits) or not _luhn(digits):
        return 0.0
    if CARD_MIN_DIGITS <= len(digits) <= CARD_MAX_DIGITS:
        return 1.0
    return 0.75 if len(digits) == 12 and _MAESTRO.match(digits) else 0.0


def _card_in(value: str, offset: int) -> Span | None:
    """The longest run of leading digit groups of ``value`` that is a card number."""
    groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", value)]
    for n in range(len(groups), 0, -1):
        end = groups[n - 1][1]
        digits = "".join(value[a:b] for a, b in groups[:n])
        if len(digits) < 12:
            return None
        if len(digits) > CARD_MAX_DIGITS:
            continue
        score = _card_score(digits)
        if score:
            return Span(offset, offset + end, "CREDIT_CARD", score, "card")
    return None


def find_cards(text: str) -> list[Span]:
    """Card numbers: 13-19 digits (12 for Maestro), plain or grouped by spaces or dashes, with a
    card-scheme prefix and a valid Luhn check digit (1.0; a 12-digit Maestro number 0.75).

    A run of groups longer than a card (a card followed by its expiry or CVV)
    is cut to its longest leading part that is a card.  Numbers failing Luhn
    are dropped, as in Presidio.
    """
    if not _DIGITS4.search(text):
        return []
    out = []
    for m in _CARD.finditer(text):
        found = _card_in(m.group(), m.start())
        if found is not None:
            out.append(found)
    return out


# ---------------------------------------------------------------- IBAN

_IBAN = re.compile(
    r"(?<![A-Z0-9])([A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]{4}){2,6})"
    r"((?:[ -]?[A-Z0-9]{4})?)((?:[ -]?[A-Z0-9]{1,3})?)(?![A-Z0-9])"
)
#: IBAN length per country (SWIFT IBAN registry).
_IBAN_LENGTHS = dict(
    (entry[:2], int(entry[2:]))
    for entry in [
        "AD24",
        "AE23",
        "AL28",
        "AT20",
        "AZ28",
        "BA20",
        "BE16",
        "BG22",
        "BH22",
        "BR29",
        "BY28",
        "CH21",
        "CR22",
        "CY28",
        "CZ24",
        "DE22",
        "DK18",
        "DO28",
        "EE20",
        "EG29",
        "ES24",
        "FI18",
        "FO18",
        "FR27",
        "GB22",
        "GE22",
        "GI23",
        "GL18",
        "GR27",
        "GT28",
        "HR21",
        "HU28",
        "IE22",
        "IL23",
        "IQ23",
        "IS26",
        "IT27",
        "JO30",
        "KW30",
        "KZ20",
        "LB28",
        "LC32",
        "LI21",
        "LT20",
        "LU20",
        "LV21",
        "MC27",
        "MD24",
        "ME22",
        "MK19",
        "MR27",
        "MT31",
        "MU30",
        "NL18",
        "NO15",
        "PK24",
        "PL28",
        "PS29",
        "PT25",
        "QA29",
        "RO24",
        "RS22",
        "SA24",
        "SC31",
        "SE24",
        "SI19",
        "SK24",
        "SM27",
        "ST25",
        "SV28",
        "TL23",
        "TN24",
        "TR26",
        "UA29",
        "VA22",
        "VG24",
        "XK20",
    ]
)


def _iban_valid(value: str) -> bool:
    iban = value.replace(" ", "").replace("-", "")
    if _IBAN_LENGTHS.get(iban[:2]) != len(iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def find_ibans(text: str) -> list[Span]:
    """IBANs with a valid country length and mod-97 check digits (score 1.0)."""
    if not _IBAN_START.search(text):
        return []
    out = []
    for m in _IBAN.finditer(text):
        if _iban_valid(m.group()):
            out.append(Span(m.start(), m.end(), "IBAN_CODE", 1.0, "iban"))
    return out


# ---------------------------------------------------------------- Bitcoin

_BTC = re.compile(r"(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,59}")
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _base58check(value: str) -> bool:
    n = 0
    for c in value:
        i = _B58.find(c)
        if i < 0:
            return False
        n = n * 58 + i
    raw = n.to_bytes(25, "big") if n < 1 << 200 else b""
    return len(raw) == 25 and sha256(sha256(raw[:-4]).digest()).digest()[:4] == raw[-4:]


def _bech32(value: str) -> bool:
    v = value.lower()
    if value not in (v, value.upper()) or any(c not in _B32 for c in v[3:]):
        return False
    values = [ord(c) >> 5 for c in "bc"] + [0] + [ord(c) & 31 for c in "bc"] + [_B32.index(c) for c in v[3:]]
    chk = 1
    for x in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ x
        for i, g in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            chk ^= g if (top >> i) & 1 else 0
    return chk in (1, 0x2BC830A3)  # bech32, bech32m


def find_bitcoin(text: str) -> list[Span]:
    """Bitcoin addresses with a valid checksum (score 1.0)."""
    if not _LONG_TOKEN.search(text):
        return []
    out = []
    for m in _BTC.finditer(text):
        value = m.group()
        if _bech32(value) if value.startswith("bc1") else _base58check(value):
            out.append(Span(m.start(), m.end(), "CRYPTO", 1.0, "bitcoin"))
    return out


_FINDERS = (("EMAIL_ADDRESS", find_emails), ("CREDIT_CARD", find_cards), ("IBAN_CODE", find_ibans),
            ("CRYPTO", find_bitcoin))  # fmt: skip


def pattern_spans(text: str, entities: frozenset[str]) -> list[Span]:
    """Spans of the four types above that are in ``entities``."""
    return [s for entity, find in _FINDERS if entity in entities for s in find(text)]
