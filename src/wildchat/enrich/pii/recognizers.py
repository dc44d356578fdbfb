"""Phone, IP, profile-URL and Ethereum recognizers: every language, every turn.

Presidio's email / card / IBAN / Bitcoin logic lives in :mod:`.patterns`.
The three recognizers here replace Presidio's, which cost most of the budget
on real chat turns (measured on real turns, see docs/benchmarks.md "PII"):

* phone -- Presidio runs ``phonenumbers.PhoneNumberMatcher`` once per region
  over the whole text (~1.4 ms/turn); here one regex finds candidates and
  ``phonenumbers`` only validates those (a few per turn at most);
* URL -- Presidio matches every URL (~0.9 ms/turn) while only personal
  profile URLs are PII; here one regex matches profile URLs directly;
* IP -- Presidio's IPv6 pattern costs ~160 us/turn; here a cheap candidate
  regex plus :mod:`ipaddress` validation, and only globally routable
  addresses score above the threshold (:func:`is_global_ip`).

Every recognizer returns :class:`~.spans.Span` objects with a score in
[0, 1]; cue-based score boosts and policy rules live in :mod:`.policies`.
"""

from __future__ import annotations

import ipaddress
import re

from wildchat.enrich.pii.spans import Span

__all__ = [
    "PHONE_REGIONS",
    "find_crypto_eth",
    "find_ips",
    "find_personal_urls",
    "find_phones",
    "is_global_ip",
]

# ---------------------------------------------------------------- phone

_PHONE = re.compile(
    r"(?<![\w+./\-])(\+?\(?\d[\d \t().\-]{5,22}\d)"
    r"((?:[ \t]?(?:x|ext\.?|extension)[ \t]?\d{1,5})?)(?!\w|-\d|\.\d)",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$"
    r"|^\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}$"  # a date and the hour of a time: 2000-04-16 11:30
)
_GROUPS = re.compile(r"\d+")
_DOTTED_QUAD = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
#: The most frequent WildChat countries first (US, RU, CN, GB, DE, FR, IN, BR), then other common ones.
PHONE_REGIONS = ("US", "RU", "CN", "GB", "DE", "FR", "IN", "BR", "CA", "AU", "ES", "IT", "NL", "BE")
_MAX_VALIDATED = 64  # per text: bounds phonenumbers calls on number-heavy turns


_ASCENDING = "01234567890123456789"
_DESCENDING = "98765432109876543210"


def _placeholder_phone(digits: str) -> bool:
    """1234567890, 0000000, 555-01xx (reserved for fiction), 555-1234 (the film and textbook exchange,
    written without an area code, or as a North American number with exchange 555): sample data, not PII."""
    tail = digits[-7:]
    nanp = digits[1:] if len(digits) == 11 and digits[0] == "1" else digits
    return (
        len(set(digits)) <= 2
        or tail in _ASCENDING
        or tail in _DESCENDING
        or (len(digits) >= 7 and digits[-7:-2] == "55501")
        or (len(digits) == 7 and digits.startswith("555"))
        or (len(nanp) == 10 and nanp[3:6] == "555")
    )


def _not_phone_shape(cand: str, groups: list[str]) -> bool:
    """Year ranges (1942-1943), round ranges (4000-5000), dotted decimals (1024.01024.0)."""
    if len(groups) == 2 and all(len(g) == 4 for g in groups):
        a, b = int(groups[0]), int(groups[1])
        if (1000 <= a <= 2100 and 1000 <= b <= 2100) or (a % 100 == 0 and b % 100 == 0):
            return True
    seps = {c for c in cand if not c.isdigit()} - {"+"}
    return seps == {"."} and any(len(g) > 4 for g in groups)


def _national_score(cand: str, groups: list[str]) -> float:
    """Valid in a listed region: 0.6; possible there and written in >= 3 groups: 0.5; else 0.4."""
    import phonenumbers

    possible = False
    for region in PHONE_REGIONS:
        try:
            num = phonenumbers.parse(cand, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return 0.6
        possible = possible or phonenumbers.is_possible_number(num)
    return 0.5 if possible and len(groups) >= 3 else 0.4


def _phone_score(cand: str, validate: bool) -> float:
    import phonenumbers

    digits = sum(c.isdigit() for c in cand)
    groups = _GROUPS.findall(cand)
    if not 7 <= digits <= 15 or _DATE.match(cand) or _DOTTED_QUAD.match(cand):
        return 0.0
    if len(groups) > 6 or max(len(g) for g in groups) < 2 or cand.count("(") != cand.count(")"):
        return 0.0
    if _placeholder_phone("".join(groups)) or _not_phone_shape(cand, groups):
        return 0.0
    if len(groups) == 2 and "." in cand and not cand.startswith("+"):
        return 0.0  # a decimal number
    if cand.startswith("+"):
        if not validate:
            return 0.4
        try:
            num = phonenumbers.parse(cand, None)
        except phonenumbers.NumberParseException:
            return 0.4
        if phonenumbers.is_valid_number(num):
            return 0.85
        return 0.6 if phonenumbers.is_possible_number(num) else 0.4
    if len(groups) == 1:
        if _CN_MOBILE.match(cand):
            return 0.5  # a bare 11-digit Chinese mobile number: how they are written
        return 0.3 if digits >= 10 else 0.0  # bare digit runs: ids, timestamps
    return _national_score(cand, groups) if validate else 0.4


def find_phones(text: str) -> list[Span]:
    """Phone-number candidates scored by shape and ``phonenumbers`` validity.

    International (``+``): valid -> 0.85, possible length -> 0.6, else 0.4.
    National formats are tried in :data:`PHONE_REGIONS`: valid in one ->
    0.6; a possible number written in >= 3 groups -> 0.5; other phone shapes
    -> 0.4; a bare run of 10-15 digits -> 0.3.  Extensions (``x123``,
    ``ext. 12``) belong to the span.  Dates, decimals, IPs and lists of
    single digits are not phones.
    """
    out: list[Span] = []
    for i, m in enumerate(_PHONE.finditer(text)):
        cand = m.group(1).rstrip(" \t(.-")
        score = _phone_score(cand, validate=i < _MAX_VALIDATED)
        if score > 0:
            end = m.end(2) if m.group(2) and len(cand) == len(m.group(1)) else m.start(1) + len(cand)
            out.append(Span(m.start(1), end, "PHONE_NUMBER", score, "phone"))
    return out


# ---------------------------------------------------------------- IP

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d|\w)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,8}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:.])"
)
_VERSION_CUE = re.compile(r"(?i)(?:\b(?:version|ver|release|build|firmware)\.?|(?<!\w)v)\s*$")

GLOBAL_IP_SCORE = 0.9
LOCAL_IP_SCORE = 0.2


def is_global_ip(value: str) -> bool:
    """Whether ``value`` is a globally routable unicast address (``ipaddress.is_global``).

    Private (10/8, 172.16/12, 192.168/16, fc00::/7), loopback, link-local,
    CGNAT (100.64/10), documentation (192.0.2/24, 198.51.100/24,
    203.0.113/24, 2001:db8::/32), multicast, reserved and unspecified
    addresses are not: they identify no one.  Invalid text -> ``False``.
    """
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return False
    return bool(ip.is_global) and not ip.is_multicast


def _ip_score(value: str) -> float:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return 0.0
    return GLOBAL_IP_SCORE if is_global_ip(value) else LOCAL_IP_SCORE


def find_ips(text: str) -> list[Span]:
    """IPv4/IPv6 addresses validated by :mod:`ipaddress`.

    Globally routable ones score 0.9 (redacted under both policies), every
    other valid address 0.2 (kept: configuration, not a person).  The span is
    the address alone: a port (``:8080``, ``[v6]:443``) or CIDR suffix
    (``/24``) around it stays readable.  A dotted quad right after a version
    cue ("version 1.2.3.4") is a version number, not an address.
    """
    out: list[Span] = []
    if "." in text:
        for m in _IPV4.finditer(text):
            if _VERSION_CUE.search(text, max(0, m.start() - 12), m.start()):
                continue
            score = _ip_score(m.group())
            if score:
                out.append(Span(m.start(), m.end(), "IP_ADDRESS", score, "ip"))
    if "::" in text or text.count(":") >= 7:
        for m in _IPV6.finditer(text):
            value = m.group()
            if value.count(":") >= 2 and any(c.isalnum() for c in value):
                score = _ip_score(value)
                if not score and value.count(":") >= 3:  # "2a03:...:25de:443": an address and a port
                    value = value.rsplit(":", 1)[0]
                    score = _ip_score(value)
                if score:
                    out.append(Span(m.start(), m.start() + len(value), "IP_ADDRESS", score, "ip"))
    return out


# ---------------------------------------------------------------- personal URLs

_NOT_PROFILE = (
    "share|sharer|groups|pages|watch|events|login|signup|search|home|hashtag|explore|intent|i|"
    "help|about|legal|privacy|policies|settings|p|reel|reels|stories|status|tv|jobs|company|school|feed"
)
_PROFILE_URL = re.compile(
    r"(?:https?://)?(?:[a-z]{2,3}\.)?(?:www\.)?"
    r"(?P<site>linkedin\.com/(?:in|pub)|facebook\.com|fb\.com|instagram\.com|twitter\.com|x\.com|"
    r"t\.me|vk\.com|tiktok\.com/@?)"
    r"/?(?P<user>(?!(?:" + _NOT_PROFILE + r")(?:[/?#\s]|$))[\w\-.%]{2,100})/?",
    re.IGNORECASE,
)


def find_personal_urls(text: str) -> list[Span]:
    """Profile URLs that name a person (``linkedin.com/in/<name>`` ...).

    LinkedIn profiles (what WildChat redacted) score 0.9, other social
    profiles 0.7.  Generic URLs are not PII and are not matched at all.
    """
    lowered = text.lower()
    if not any(
        k in lowered
        for k in (
            "linkedin",
            "facebook",
            "fb.com",
            "instagram",
            "twitter",
            "x.com",
            "t.me",
            "vk.com",
            "tiktok",
        )
    ):
        return []
    out: list[Span] = []
    for m in _PROFILE_URL.finditer(text):
        if m.start() > 0 and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "._-"):
            continue  # part of another domain: netflix.com, box.com
        score = 0.9 if m.group("site").lower().startswith("linkedin") else 0.7
        out.append(Span(m.start(), m.end(), "URL", score, "linkedin" if score == 0.9 else "profile_url"))
    return out


# ---------------------------------------------------------------- crypto

_ETH = re.compile(r"(?<![\w])0x[0-9a-fA-F]{40}(?![\w])")


def find_crypto_eth(text: str) -> list[Span]:
    """Ethereum-style addresses: 0.45 (no checksum check; hashes look alike)."""
    if "0x" not in text:
        return []
    return [Span(m.start(), m.end(), "CRYPTO", 0.45, "eth") for m in _ETH.finditer(text)]
