"""Secrets: API keys, access tokens, private keys, JWTs.

People paste code with live credentials into chatbots; WildChat's later
release redacted such secrets.  Well-known token formats are matched by
their documented prefixes (the same formats detect-secrets' plugins look
for), which costs a few microseconds per turn; a keyword rule catches
``api_key = "..."`` assignments whose value looks random.  Obvious
placeholders (``sk-xxxx...``, ``YOUR_API_KEY``) are not secrets.

All spans are entity ``SECRET`` (marker ``<PRESIDIO_ANONYMIZED_SECRET>``);
``source`` names the format, for counting only.
"""

from __future__ import annotations

import re

from wildchat.enrich.pii.spans import Span

__all__ = ["find_secrets"]

_TOKENS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("openai", re.compile(r"(?<![\w-])sk-(?:proj-|svcacct-|admin-|ant-[a-z0-9]+-)?[A-Za-z0-9_\-]{20,}")),
    ("github", re.compile(r"(?<!\w)(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})")),
    ("aws_key_id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Z0-9])")),
    ("google_api", re.compile(r"(?<!\w)AIza[0-9A-Za-z\-_]{35}")),
    ("slack", re.compile(r"(?<!\w)xox[abposr]-[0-9A-Za-z\-]{10,}")),
    ("slack_webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/_]{20,}")),
    ("stripe", re.compile(r"(?<!\w)(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}")),
    ("huggingface", re.compile(r"(?<!\w)hf_[A-Za-z0-9]{30,}")),
    ("telegram_bot", re.compile(r"(?<!\d)\d{8,10}:AA[0-9A-Za-z_\-]{33}")),
    ("jwt", re.compile(r"(?<![\w-])eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")),
    (
        "private_key",
        re.compile(
            r"-----BEGIN[A-Z ]{0,30}PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]{0,20000}?-----END[A-Z ]{0,30}PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s]{0,20000})"
        ),
    ),
)

_KEYWORD = re.compile(
    r"(?i)(?:api[_-]?key|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|password|passwd|"
    r"aws_secret_access_key|bearer)[\"']?\s*[:=]?\s*[\"']?([A-Za-z0-9_\-+/=.]{16,200})"
)
_PLACEHOLDER = re.compile(r"(?i)x{4,}|\*{4,}|your|example|dummy|placeholder|here|sample|test|<|\.\.\.")


def _looks_random(value: str) -> bool:
    """Mixed letters and digits, varied characters, not a placeholder."""
    if _PLACEHOLDER.search(value):
        return False
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    return has_digit and has_alpha and len(set(value)) >= 10


#: literal substrings a token must contain: a cheap pre-check before each regex.
_HINTS: dict[str, tuple[str, ...]] = {
    "openai": ("sk-",),
    "github": ("gh", "github_pat_"),
    "aws_key_id": ("AKIA", "ASIA", "ABIA", "ACCA"),
    "google_api": ("AIza",),
    "slack": ("xox",),
    "slack_webhook": ("hooks.slack.com",),
    "stripe": ("_live_", "_test_"),
    "huggingface": ("hf_",),
    "telegram_bot": (":AA",),
    "jwt": ("eyJ",),
    "private_key": ("PRIVATE KEY",),
}
_KEYWORD_HINTS = ("key", "secret", "token", "passw", "bearer")


def find_secrets(text: str) -> list[Span]:
    """Spans of secrets in ``text`` (score 0.95 for known formats, 0.7 keyword)."""
    out: list[Span] = []
    for name, pattern in _TOKENS:
        if not any(h in text for h in _HINTS[name]):
            continue
        for m in pattern.finditer(text):
            value = m.group()
            if name == "private_key" or _looks_random(value.split("_")[-1] if name != "jwt" else value):
                out.append(Span(m.start(), m.end(), "SECRET", 0.95, name))
    lowered = text.lower()
    if not any(h in lowered for h in _KEYWORD_HINTS):
        return out
    for m in _KEYWORD.finditer(text):
        if _looks_random(m.group(1)):
            out.append(Span(m.start(1), m.end(1), "SECRET", 0.7, "keyword"))
    return out
