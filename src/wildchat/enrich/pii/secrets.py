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

from wildchat.enrich.pii.spans import Span

__all__ = ["FORMATS", "find_secrets", "is_placeholder", "looks_random"]

_PLACEHOLDER = re.compile(
    r"(?i)x{4,}|\*{3,}|#{4,}|\.\.\.|…|<|>|\{|\}|\[|\]|your|example|placeholder|dummy|redacted|insert|"
    r"replace|changeme|fake|sample|here|token_?goes|put_?(?:your|key)|(?<![a-z])(?:api_?)?key_?here"
)
_REPEAT = re.compile(r"(.)\1{5,}")
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz")


def is_placeholder(body: str) -> bool:
    """True for sample values: ``xxxx``, ``YOUR_KEY``, ``<token>``, ``...``, ``aaaaaa``, ``123456``."""
    if _PLACEHOLDER.search(body) or _REPEAT.search(body):
        return True
    low = body.lower()
    return any(seq[i : i + 6] in low for seq in _SEQUENCES for i in range(len(seq) - 5))


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
    return sum(a != b for a, b in zip(kinds, kinds[1:], strict=False))


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

#: Every known format, most specific first (overlaps resolve to the earlier, longer span).
FORMATS: tuple[SecretFormat, ...] = (
    _fmt("private_key", r"-----BEGIN[A-Z ]{0,30}PRIVATE KEY(?: BLOCK)?-----(?P<body>"
         r"[\s\S]{0,20000}?-----END[A-Z ]{0,30}PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s]{0,20000})",
         ("PRIVATE KEY",), lambda body: True),
    _fmt("anthropic", rf"(?<![\w-])sk-ant-(?:[a-z]+\d*-)?(?P<body>{_B}{{20,}}){_END}", ("sk-ant-",), _body_ok(10)),
    _fmt("openai", rf"(?<![\w-])sk-(?:proj-|svcacct-|admin-|None-)?(?P<body>{_B}{{20,}}){_END}", ("sk-",),
         _openai_body),
    _fmt("github", r"(?<!\w)(?:gh[pousr]_(?P<body>[A-Za-z0-9]{30,255})|github_pat_(?P<body2>[A-Za-z0-9_]{40,255}))"
         r"(?![A-Za-z0-9])", ("gh", "github_pat_"), _body_ok(10)),
    _fmt("gitlab", rf"(?<![\w-])gl(?:pat|dt|rt|ptt|cbt|oas|soat|ft|agent|imt)-(?P<body>{_B}{{20,}}){_END}",
         ("gl",), _body_ok(8)),
    _fmt("aws_key_id", r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)"
         r"(?P<body>[0-9A-Z]{16})(?![A-Za-z0-9])", ("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA",
                                                     "AIPA", "ANPA", "ANVA", "APKA"), _body_ok(6)),
    _fmt("slack_webhook", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/(?P<body>[A-Za-z0-9/_]{20,})",
         ("hooks.slack.com",), _body_ok(8)),
    _fmt("slack", r"(?<![\w-])xox[abposre]-(?P<body>[0-9A-Za-z\-]{10,})(?![\w-])", ("xox",), _body_ok(8)),
    _fmt("google_api", r"(?<![\w-])AIza(?P<body>[0-9A-Za-z\-_]{35})", ("AIza",), _body_ok(10)),
    _fmt("google_oauth_secret", rf"(?<![\w-])GOCSPX-(?P<body>{_B}{{24,}}){_END}", ("GOCSPX-",), _body_ok(10)),
    _fmt("google_oauth_token", rf"(?<![\w-])ya29\.(?P<body>{_B}{{30,}}){_END}", ("ya29.",), _body_ok(10)),
    _fmt("stripe", r"(?<!\w)(?:sk|rk|pk)_(?:live|test)_(?P<body>[0-9A-Za-z]{16,})(?![A-Za-z0-9])", ("_live_", "_test_"),
         _body_ok(8)),
    _fmt("stripe_webhook", r"(?<!\w)whsec_(?P<body>[0-9A-Za-z]{24,})(?![A-Za-z0-9])", ("whsec_",), _body_ok(10)),
    _fmt("huggingface", r"(?<!\w)(?:hf_|api_org_)(?P<body>[A-Za-z0-9]{30,})(?![A-Za-z0-9])", ("hf_", "api_org_"),
         _body_ok(10)),
    _fmt("groq", r"(?<!\w)gsk_(?P<body>[A-Za-z0-9]{40,})(?![A-Za-z0-9])", ("gsk_",), _body_ok(10)),
    _fmt("npm", r"(?<!\w)npm_(?P<body>[A-Za-z0-9]{36})(?![A-Za-z0-9])", ("npm_",), _body_ok(10)),
    _fmt("pypi", rf"(?<![\w-])pypi-(?P<body>AgE{_B}{{50,}}){_END}", ("pypi-AgE",), _body_ok(10)),
    _fmt("sendgrid", rf"(?<![\w-])SG\.(?P<body>{_B}{{16,32}}\.{_B}{{30,50}}){_END}", ("SG.",), _body_ok(10)),
    _fmt("mailgun", r"(?<![\w-])key-(?P<body>[0-9a-f]{32})(?![\w-])", ("key-",), _body_ok(8)),
    _fmt("twilio", r"(?<![A-Za-z0-9])(?:AC|SK)(?P<body>[0-9a-f]{32})(?![A-Za-z0-9])", ("AC", "SK"), _body_ok(8)),
    _fmt("jwt", r"(?<![\w-])eyJ(?P<body>[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})",
         ("eyJ",), _body_ok(10)),
    _fmt("telegram_bot", rf"(?<![\w:])\d{{6,12}}:(?P<body>{_B}{{35}}){_END}", (":",), _telegram_body),
    _fmt("discord", r"(?<![\w.-])[MNO](?P<body>[A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40})"
         r"(?![\w-])", (".",), _random(20)),
    _fmt("discord_webhook", r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/(?P<body>[\w-]{40,})",
         ("/api/webhooks/",), _body_ok(10)),
    _fmt("url_password", r"(?i)\b[a-z][a-z0-9+.\-]{1,20}://[^\s:/@\"'<>]{1,64}:(?P<body>[^\s:/@\"'<>]{6,128})@",
         ("://",), lambda body: looks_random(body, 8)),
)  # fmt: skip

#: 40 base64-ish characters close to an AWS key id or an AWS secret keyword.
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])(?P<body>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")
_AWS_CONTEXT = re.compile(r"(?i)AKIA|ASIA|aws|secret")
_AWS_REACH = 300

_KEYWORD = re.compile(
    r"(?i)(?<![a-z])(?:[a-z]+[_-])*(?:api[_-]?key|apikey|secret(?:[_-]?key)?|client[_-]?secret|"
    r"(?:access|auth|bearer|refresh|bot|api|session)[_-]?token|token|password|passwd|pwd|pass|"
    r"private[_-]?key|credentials?)[\"']?\s*(?:[:=]|=>|:=)\s*[\"'`]?(?P<body>[A-Za-z0-9_\-+/=.!@#$%^&*~?]{8,200})"
    r"|(?i:authorization)[\"']?\s*[:=]\s*[\"']?(?:bearer|token|basic)\s+(?P<auth>[A-Za-z0-9_\-+/=.~]{16,})"
)
_KEYWORD_HINTS = ("key", "secret", "token", "pass", "pwd", "credential", "authorization")


def _aws_secrets(text: str) -> list[Span]:
    if not _AWS_CONTEXT.search(text):
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


def _keyword_values(text: str) -> list[Span]:
    lowered = text.lower()
    if not any(h in lowered for h in _KEYWORD_HINTS):
        return []
    out = []
    for m in _KEYWORD.finditer(text):
        group = "body" if m.group("body") is not None else "auth"
        value = m.group(group).rstrip(".")
        if value[:1] in "$%" or not looks_random(value, 8):
            continue
        start = m.start(group)
        out.append(Span(start, start + len(value), "SECRET", 0.7, "keyword"))
    return out


def find_secrets(text: str) -> list[Span]:
    """Spans of secrets in ``text`` (score 0.95 known formats, 0.9 AWS secret keys, 0.7 keyword).

    Spans may overlap (a keyword value that is also a known token); the
    engine's overlap resolution keeps the higher-scored one.
    """
    out: list[Span] = []
    for fmt in FORMATS:
        if fmt.hints and not any(h in text for h in fmt.hints):
            continue
        for m in fmt.pattern.finditer(text):
            groups = m.groupdict()
            body = groups.get("body") or groups.get("body2") or m.group()
            if fmt.check(body):
                out.append(Span(m.start(), m.end(), "SECRET", fmt.score, fmt.name))
    out.extend(_aws_secrets(text))
    out.extend(_keyword_values(text))
    return out
