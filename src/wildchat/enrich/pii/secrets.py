"""Secrets: API keys, access tokens, private keys, JWTs, passwords in assignments.

People paste code with live credentials into chatbots, and a live key in a
public dataset is the worst leak a release can have, so every credential of
a known shape is matched by its documented prefix and layout (OpenAI,
Anthropic, AWS, GitHub, GitLab, Slack, Google, Stripe, Hugging Face, Groq,
Telegram, Discord, Twilio, SendGrid, Mailgun, npm, PyPI, JWT, PEM blocks; the
formats detect-secrets and gitleaks look for).  The randomness check covers
the *whole* token body (everything after the fixed prefix), never a tail.

A known prefix is strong evidence, so for those formats only obvious
placeholders are rejected (:func:`is_placeholder`: ``sk-xxxx...``,
``YOUR_API_KEY``, ``<token>``, ``...``, one repeated character, counting
sequences ``123456``/``abcdef``).  Formats without a distinctive prefix
(Telegram, Discord, AWS secret keys, keyword assignments such as
``password = "..."``) must also *look random* (:func:`looks_random`), which
keeps ordinary prose and code identifiers untouched.

Cost: a literal-substring pre-check gates each regex, so a turn without any
hint costs a few microseconds.  All spans are entity ``SECRET`` (marker
``<PRESIDIO_ANONYMIZED_SECRET>``); ``source`` names the format, for counting.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from wildchat.enrich.pii.spans import Span

__all__ = ["FORMATS", "find_secrets", "is_placeholder", "looks_random"]

_PLACEHOLDER = re.compile(
    r"(?i)x{4,}|\*{3,}|#{4,}|\.\.\.|…|<|>|\{|\}|\[|\]|your|example|placeholder|dummy|redacted|insert|"
    r"replace|changeme|fake|sample|here|token_?goes|put_?(?:your|key)|(?<![a-z])(?:api_?)?key_?here"
)
_REPEAT = re.compile(r"(.)\1{5,}")
_RUN = 5  # consecutive ascending/descending characters that count as a counting sequence


def _without_sequences(body: str) -> str:
    """``body`` minus runs like ``123456``, ``abcdef``, ``987654`` (>= :data:`_RUN` long)."""
    low = body.lower()
    keep = [True] * len(low)
    for step in (1, -1):
        start = 0
        for i in range(1, len(low) + 1):
            if i < len(low) and ord(low[i]) - ord(low[i - 1]) == step:
                continue
            if i - start >= _RUN:
                keep[start:i] = [False] * (i - start)
            start = i
    return "".join(c for c, k in zip(body, keep, strict=True) if k)


def is_placeholder(body: str) -> bool:
    """True for sample values: ``xxxx``, ``YOUR_KEY``, ``<token>``, ``...``, ``aaaaaa``, ``123456abcdef``.

    A counting sequence makes a value a placeholder only when little else is
    left (``sk-1234567890abcdef``), not when it sits beside random characters.
    """
    if _PLACEHOLDER.search(body) or _REPEAT.search(body):
        return True
    rest = _without_sequences(body)
    return len(rest) < len(body) and len(set(rest)) < 8


def _classes(value: str) -> int:
    return (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + any(not c.isalnum() for c in value)
    )


def _switches(value: str) -> int:
    """Changes between lower/upper/digit runs: ~0.6 per char when random, ~0 in words."""
    kinds = [0 if c.islower() else 1 if c.isupper() else 2 for c in value if c.isalnum()]
    return sum(a != b for a, b in pairwise(kinds))


def looks_random(value: str, min_len: int = 16) -> bool:
    """A value with no known prefix that is random enough to be a credential.

    Not a placeholder; at least ``min_len`` characters; varied characters;
    and either many class switches (``aB3x9Q``, not ``getAccessToken`` or
    ``MY_SECRET_NAME``) or, for shorter password-like values, >= 3 character
    classes, a digit and a case or digit switch inside.
    """
    if len(value) < min_len or is_placeholder(value):
        return False
    if len(set(value)) < min(10, len(value) // 2):
        return False
    has_digit = any(c.isdigit() for c in value)
    switches = _switches(value)
    if len(value) >= 16 and switches >= 0.25 * len(value) and (has_digit or switches >= 0.4 * len(value)):
        return True
    return len(value) < 24 and has_digit and _classes(value) >= 3 and switches >= 2


def _body_ok(min_distinct: int) -> Callable[[str], bool]:
    """Check for a known-prefix format: no placeholder, enough distinct characters."""

    def check(body: str) -> bool:
        return not is_placeholder(body) and len(set(body)) >= min_distinct

    return check


def _random(min_len: int) -> Callable[[str], bool]:
    return lambda body: looks_random(body, min_len)


def _openai_body(body: str) -> bool:
    """Keys mix digits or capitals in; ``sk-fading-circle-spinner`` (CSS) does not."""
    return _body_ok(10)(body) and any(c.isdigit() or c.isupper() for c in body)


def _telegram_body(body: str) -> bool:
    """Bot tokens' secret part starts ``AA``; otherwise it must look random."""
    return (body.startswith("AA") and _body_ok(10)(body)) or looks_random(body, 20)


@dataclass(frozen=True)
class SecretFormat:
    """One credential layout: ``pattern`` group ``body`` is what the check sees."""

    name: str
    pattern: re.Pattern[str]
    hints: tuple[str, ...]  # literal substrings one of which must occur (() = always run)
    check: Callable[[str], bool]
    score: float = 0.95


def _fmt(name: str, rx: str, hints: tuple[str, ...], check: Callable[[str], bool]) -> SecretFormat:
    return SecretFormat(name, re.compile(rx), hints, check)


_B = r"[A-Za-z0-9_\-]"  # url-safe base64 body characters
_END = r"(?![A-Za-z0-9_\-])"

_NA = r"(?![A-Za-z0-9])"  # not followed by an alphanumeric
_AWS_PREFIXES = ("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "APKA")
_GITLAB = ("pat", "dt", "rt", "ptt", "cbt", "oas", "soat", "ft", "agent", "imt")
_PEM_END = r"-----END[A-Z ]{0,30}PRIVATE KEY(?: BLOCK)?-----"

#: Every known format, most specific first (overlaps resolve to the earlier, longer span).
FORMATS: tuple[SecretFormat, ...] = (
    _fmt("private_key",
         rf"-----BEGIN[A-Z ]{{0,30}}PRIVATE KEY(?: BLOCK)?-----(?P<body>[\s\S]{{0,20000}}?{_PEM_END}"
         r"|[A-Za-z0-9+/=\s]{0,20000})",
         ("PRIVATE KEY",), lambda body: True),
    _fmt("anthropic", rf"(?<![\w-])sk-ant-(?:[a-z]+\d*-)?(?P<body>{_B}{{20,}}){_END}", ("sk-ant-",),
         _body_ok(10)),
    _fmt("openai", rf"(?<![\w-])sk-(?:proj-|svcacct-|admin-|None-)?(?P<body>{_B}{{20,}}){_END}", ("sk-",),
         _openai_body),
    _fmt("github",
         rf"(?<!\w)(?:gh[pousr]_(?P<body>[A-Za-z0-9]{{30,255}})|github_pat_(?P<body2>\w{{40,255}})){_NA}",
         ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), _body_ok(10)),
    _fmt("gitlab", rf"(?<![\w-])gl(?:{'|'.join(_GITLAB)})-(?P<body>{_B}{{20,}}){_END}",
         tuple(f"gl{k}-" for k in _GITLAB), _body_ok(8)),
    _fmt("aws_key_id", rf"(?<![A-Za-z0-9])(?:{'|'.join(_AWS_PREFIXES)})(?P<body>[0-9A-Z]{{16}}){_NA}",
         _AWS_PREFIXES, _body_ok(6)),
    _fmt("slack_webhook",
         r"https://hooks\.slack\.com/(?:services|workflows|triggers)/(?P<body>[A-Za-z0-9/_]{20,})",
         ("hooks.slack.com",), _body_ok(8)),
    _fmt("slack", r"(?<![\w-])xox[abposre]-(?P<body>[0-9A-Za-z\-]{10,})(?![\w-])", ("xox",), _body_ok(8)),
    _fmt("google_api", r"(?<![\w-])AIza(?P<body>[0-9A-Za-z\-_]{35})", ("AIza",), _body_ok(10)),
    _fmt("google_oauth_secret", rf"(?<![\w-])GOCSPX-(?P<body>{_B}{{24,}}){_END}", ("GOCSPX-",),
         _body_ok(10)),
    _fmt("google_oauth_token", rf"(?<![\w-])ya29\.(?P<body>{_B}{{30,}}){_END}", ("ya29.",), _body_ok(10)),
    _fmt("stripe", rf"(?<!\w)(?:sk|rk|pk)_(?:live|test)_(?P<body>[0-9A-Za-z]{{16,}}){_NA}",
         ("_live_", "_test_"), _body_ok(8)),
    _fmt("stripe_webhook", rf"(?<!\w)whsec_(?P<body>[0-9A-Za-z]{{24,}}){_NA}", ("whsec_",), _body_ok(10)),
    _fmt("huggingface", rf"(?<!\w)(?:hf_|api_org_)(?P<body>[A-Za-z0-9]{{30,}}){_NA}", ("hf_", "api_org_"),
         _body_ok(10)),
    _fmt("groq", rf"(?<!\w)gsk_(?P<body>[A-Za-z0-9]{{40,}}){_NA}", ("gsk_",), _body_ok(10)),
    _fmt("npm", rf"(?<!\w)npm_(?P<body>[A-Za-z0-9]{{36}}){_NA}", ("npm_",), _body_ok(10)),
    _fmt("pypi", rf"(?<![\w-])pypi-(?P<body>AgE{_B}{{50,}}){_END}", ("pypi-AgE",), _body_ok(10)),
    _fmt("sendgrid", rf"(?<![\w-])SG\.(?P<body>{_B}{{16,32}}\.{_B}{{30,50}}){_END}", ("SG.",), _body_ok(10)),
    _fmt("mailgun", r"(?<![\w-])key-(?P<body>[0-9a-f]{32})(?![\w-])", ("key-",), _body_ok(8)),
    _fmt("twilio", rf"(?<![A-Za-z0-9])(?:AC|SK)(?P<body>[0-9a-f]{{32}}){_NA}", ("AC", "SK"), _body_ok(8)),
    _fmt("jwt", r"(?<![\w-])eyJ(?P<body>[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})",
         ("eyJ",), _body_ok(10)),
    _fmt("telegram_bot", rf"(?<![\w:])\d{{6,12}}:(?P<body>{_B}{{35}}){_END}", (":",), _telegram_body),
    _fmt("discord", rf"(?<![\w.-])[MNO](?P<body>{_B}{{23,27}}\.{_B}{{6}}\.{_B}{{27,40}})(?![\w-])", (".",),
         _random(20)),
    _fmt("discord_webhook",
         r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/(?P<body>[\w-]{40,})",
         ("/api/webhooks/",), _body_ok(10)),
    _fmt("url_password",
         r"(?i)\b[a-z][a-z0-9+.\-]{1,20}://[^\s:/@\"'<>]{1,64}:(?P<body>[^\s:/@\"'<>]{6,128})@",
         ("://",), lambda body: looks_random(body, 8)),
)  # fmt: skip
FORMATS_BY_NAME = {f.name: f for f in FORMATS}

#: 40 base64-ish characters close to an AWS key id or an AWS secret keyword.
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])(?P<body>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")
_AWS_CONTEXT = re.compile(r"(?i)AKIA|ASIA|aws|secret")
_AWS_REACH = 300

_KEYWORD = re.compile(
    r"(?i)(?<![a-z0-9])(?:api[_-]?key|apikey|secret(?:[_-]?key)?|client[_-]?secret|"
    r"(?:access|auth|bearer|refresh|bot|api|session)[_-]?token|token|password|passwd|pwd|pass|"
    r"private[_-]?key|credentials?)[\"']?\s*(?:[:=]|=>|:=)\s*[\"'`]?(?P<body>[A-Za-z0-9_\-+/=.!@#$%^&*~?]{8,200})"
    r"|authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|token|basic)\s+(?P<auth>[A-Za-z0-9_\-+/=.~]{16,})"
)
_KEYWORD_HINTS = ("key", "secret", "token", "pass", "pwd", "credential", "authorization")
_ASSIGN = ("=", ":")
_KEYWORD_BACK, _KEYWORD_AHEAD = 20, 240  # window around a keyword: its prefix, then "= value"
_KEYWORD_GAP = 24  # "=" or ":" must follow a keyword within this many characters
_AWS_HINTS = ("aws", "akia", "asia")  # a secret key is only looked for in an AWS context
_MIN_TOKEN = 20  # the shortest known-format token (an AWS access key id)


def _aws_secrets(text: str, lowered: str) -> list[Span]:
    if not any(h in lowered for h in _AWS_HINTS) or max(map(len, text.split()), default=0) < 40:
        return []
    out = []
    for m in _AWS_SECRET.finditer(text):
        lo = max(0, m.start() - _AWS_REACH)
        if not _AWS_CONTEXT.search(text, lo, m.end() + _AWS_REACH):
            continue
        body = m.group("body")
        mixed = any(c.isupper() for c in body) and any(c.islower() for c in body)
        if mixed and not is_placeholder(body) and len(set(body)) >= 15 and _switches(body) >= 8:
            out.append(Span(m.start(), m.end(), "SECRET", 0.9, "aws_secret_key"))
    return out


_WORD = r"(?:_*[A-Za-z][a-z]*(?:[A-Z][a-z]+|_[a-z]+)*\d{0,3})"
_CODE_REF = re.compile(rf"{_WORD}(?:\.{_WORD})+|[A-Za-z_]\w*\.[A-Za-z_]\w*\(")


def _code_like(text: str, value: str, end: int) -> bool:
    """``textBox2.Text``, ``self.password``, ``getPass1(``: a reference, not a value."""
    return bool(_CODE_REF.fullmatch(value)) or text[end : end + 1] == "("


def _keyword_matches(text: str, lowered: str) -> list[re.Match[str]]:
    """Keyword-rule matches, searched only in windows around each keyword occurrence."""
    found: dict[int, re.Match[str]] = {}
    for hint in _KEYWORD_HINTS:
        pos = lowered.find(hint)
        while pos != -1:
            after = text[pos + len(hint) : pos + len(hint) + _KEYWORD_GAP]
            if "=" not in after and ":" not in after:
                pos = lowered.find(hint, pos + len(hint))
                continue
            m = _KEYWORD.search(text, max(0, pos - _KEYWORD_BACK), pos + len(hint) + _KEYWORD_AHEAD)
            if m is not None:
                found.setdefault(m.start(), m)
            pos = lowered.find(hint, pos + len(hint))
    return [found[k] for k in sorted(found)]


def _keyword_values(text: str, lowered: str) -> list[Span]:
    if not any(a in text for a in _ASSIGN) or not any(h in lowered for h in _KEYWORD_HINTS):
        return []
    out = []
    for m in _keyword_matches(text, lowered):
        group = "body" if m.group("body") is not None else "auth"
        value = m.group(group).rstrip(".")
        start = m.start(group)
        if value[:1] in "$%" or not looks_random(value, 8) or _code_like(text, value, start + len(value)):
            continue
        out.append(Span(start, start + len(value), "SECRET", 0.7, "keyword"))
    return out


#: formats matched on the whole text (they may contain spaces or be shorter than a chunk)
_WHOLE_TEXT = frozenset({"private_key", "url_password"})
#: Necessary conditions for the known formats, each a regex led by a literal (which ``re``
#: scans for at C speed): a 16+ character run after ``-`` or ``_`` (``sk-``, ``glpat-``,
#: ``ghp_``, ``gsk_`` ...), Telegram's ``:`` + 35, Discord's dotted segments, or a fixed
#: prefix (``AKIA``, ``AIza``, ``eyJ``, ``SG.``, webhook hosts).  Only a text passing one
#: runs the per-format regexes.
_GATES = tuple(
    re.compile(rx)
    for rx in (
        r"-[A-Za-z0-9_-]{16}", r"_[A-Za-z0-9]{16}", r":[A-Za-z0-9_-]{30}",
        r"\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27}",
        r"A(?:KIA|SIA|BIA|CCA|GPA|IDA|ROA|IPA|NPA|NVA|PKA|Iza)", r"AC[0-9a-f]{32}", r"SK[0-9a-f]{32}",
        r"eyJ", r"SG\.", r"ya29\.", r"hooks\.slack\.com/", r"/api/webhooks/",
    )
)  # fmt: skip


def _match(fmt: SecretFormat, text: str, offset: int, out: list[Span]) -> None:
    if fmt.hints and not any(h in text for h in fmt.hints):
        return
    for m in fmt.pattern.finditer(text):
        groups = m.groupdict()
        body = groups.get("body") or groups.get("body2") or m.group()
        if fmt.check(body):
            out.append(Span(offset + m.start(), offset + m.end(), "SECRET", fmt.score, fmt.name))


def _tokens(text: str, long_run: bool) -> list[Span]:
    """Known formats; the per-format regexes run only when one of :data:`_GATES` matches."""
    out: list[Span] = []
    if "PRIVATE KEY" in text:
        _match(FORMATS_BY_NAME["private_key"], text, 0, out)
    if "@" in text:
        _match(FORMATS_BY_NAME["url_password"], text, 0, out)
    if long_run and any(g.search(text) for g in _GATES):
        for fmt in FORMATS:
            if fmt.name not in _WHOLE_TEXT:
                _match(fmt, text, 0, out)
    return out


def find_secrets(text: str) -> list[Span]:
    """Spans of secrets in ``text`` (score 0.95 known formats, 0.9 AWS secret keys, 0.7 keyword).

    Spans may overlap (a keyword value that is also a known token); the
    engine's overlap resolution keeps the higher-scored one.  Cheap gates
    first (literal-led regexes and substring tests, C speed): token formats
    only run on a text passing one of :data:`_GATES`, PEM blocks only with
    ``PRIVATE KEY``, URL passwords only with ``@``, keyword rules only with
    ``=``/``:`` and a keyword.
    """
    if not text:
        return []
    out = _tokens(text, len(text) >= _MIN_TOKEN)
    lowered = text.lower()
    out.extend(_aws_secrets(text, lowered))
    out.extend(_keyword_values(text, lowered))
    return out
