"""Secrets: well-known token formats, cross-checked with detect-secrets' plugins."""

from __future__ import annotations

import pytest

from wildchat.enrich.pii.secrets import find_secrets

# Synthetic tokens in the documented formats (random characters, not real keys).
TOKENS = {
    "openai": "sk-proj-Q7c2Lm9Xa4Vt1Rb8Nk3Wp6Hs0Jd5Fg2Yu7Ei4Oz",
    "github": "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW2xY4",
    "aws_key_id": "AKIAZ7QJ3K5M2N4P6R8T",
    "slack": "xoxb-1234567890-0987654321-Zq8Lm3Xa9Vt1Rb",
    "stripe": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
}

DETECT_SECRETS = {
    "github": ("detect_secrets.plugins.github_token", "GitHubTokenDetector"),
    "aws_key_id": ("detect_secrets.plugins.aws", "AWSKeyDetector"),
    "slack": ("detect_secrets.plugins.slack", "SlackDetector"),
    "stripe": ("detect_secrets.plugins.stripe", "StripeDetector"),
    "jwt": ("detect_secrets.plugins.jwt", "JwtTokenDetector"),
}


@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_known_token_formats_are_found_whole(kind: str) -> None:
    token = TOKENS[kind]
    text = f'config = {{"token": "{token}"}}  # do not share'
    spans = find_secrets(text)
    assert any(text[s.start : s.end] == token and s.source == kind for s in spans), spans
    assert all(s.entity == "SECRET" for s in spans)


@pytest.mark.parametrize("kind", sorted(DETECT_SECRETS))
def test_detect_secrets_agrees_these_are_secrets(kind: str) -> None:
    module, cls = DETECT_SECRETS[kind]
    plugin = getattr(pytest.importorskip(module), cls)()
    found = list(plugin.analyze_line(filename="x.py", line=f'k = "{TOKENS[kind]}"', line_number=1))
    assert found, f"detect-secrets does not flag the {kind} sample: the sample format is wrong"


def test_private_key_block_is_one_span() -> None:
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n"
    text = f"key:\n-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----\nthanks"
    spans = find_secrets(text)
    assert len(spans) == 1
    assert text[spans[0].start : spans[0].end].endswith("-----END RSA PRIVATE KEY-----")


def test_keyword_assignment_with_a_random_value() -> None:
    text = 'db_password = "Zx81kLmq92PpQrT4vB"'
    spans = find_secrets(text)
    assert [text[s.start : s.end] for s in spans] == ["Zx81kLmq92PpQrT4vB"]


@pytest.mark.parametrize(
    "text",
    [
        'openai.api_key = "YOUR_API_KEY_HERE_123456"',
        "api_key = sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "AWS example key AKIAIOSFODNN7EXAMPLE",
        'password = "****************"',
        "the token count is 4096 and the key is pressed",
        "",
    ],
)
def test_placeholders_and_prose_are_not_secrets(text: str) -> None:
    assert find_secrets(text) == []
