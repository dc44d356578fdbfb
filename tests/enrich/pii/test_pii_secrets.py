"""Secrets: well-known token formats, cross-checked with detect-secrets' plugins."""

from __future__ import annotations

from pathlib import Path

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


# ---------------------------------------------------------------- every known format, planted in requests

from wildchat.audit.planted import FORMATS as PLANTED_FORMATS  # noqa: E402
from wildchat.audit.planted import planted, survives  # noqa: E402
from wildchat.enrich.pii import Redactor, pii_config  # noqa: E402
from wildchat.enrich.pii.secrets import is_placeholder, looks_random  # noqa: E402

_REDACTORS = {p: Redactor(pii_config(p, ner=False)) for p in ("wildchat", "strict")}


@pytest.mark.parametrize("kind", sorted(PLANTED_FORMATS))
def test_every_planted_key_is_found_whole(kind: str) -> None:
    """40 realistic requests per format: the detector covers every character of every key."""
    for sample in planted(kind, 40):
        spans = find_secrets(sample.text)
        start = sample.text.index(sample.value)
        end = start + len(sample.value)
        assert any(s.start <= start and s.end >= end for s in spans), (kind, sample.text)


@pytest.mark.parametrize("policy", ["wildchat", "strict"])
@pytest.mark.parametrize("kind", sorted(PLANTED_FORMATS))
def test_every_planted_key_is_redacted_under_both_policies(kind: str, policy: str) -> None:
    samples = planted(kind, 40)
    outs = _REDACTORS[policy].redact_many([s.text for s in samples])
    left = [s.text for s, o in zip(samples, outs, strict=True) if survives(s.value, o.text)]
    assert left == [], f"{len(left)}/40 {kind} keys survive the {policy} policy"
    assert all(o.entities.get("SECRET") for o in outs)


@pytest.mark.parametrize(
    "text",
    [
        "client = OpenAI(api_key=<token>)",
        'api_key = "sk-..."',
        "export OPENAI_API_KEY=sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "GROQ_API_KEY=gsk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "token: YOUR_TELEGRAM_BOT_TOKEN_GOES_HERE",
        "password = input('Password: ')",
        "token = tokenizer.encode(text, return_tensors='pt')",
        'secret_key = os.environ["DJANGO_SECRET_KEY"]',
        "access_token = response.json()['access_token']",
        "the password: must be at least eight characters long",
        "use sk-learn or scikit-learn-intelex for this",
        "api_key = getApiKeyFromSettingsManager",
        "hf_hub_download(repo_id=repo, filename=name)",
        "Authorization: Bearer ${TOKEN}",
    ],
)
def test_placeholders_and_code_are_not_secrets(text: str) -> None:
    assert find_secrets(text) == [], [(s.source, text[s.start : s.end]) for s in find_secrets(text)]


def test_placeholder_and_randomness_rules() -> None:
    assert is_placeholder("xxxxxxxxxxxx") and is_placeholder("YOUR_API_KEY") and is_placeholder("aaaaaaaaaa")
    assert is_placeholder("1234567890abcdef") and is_placeholder("<token>") and is_placeholder("abc...xyz")
    assert not is_placeholder("Zq8Lm3Xa9Vt1RbQ7c2Lm")
    assert looks_random("Zx81kLmq92PpQrT4vB") and looks_random("P@ssw0rd!2024x", 8)
    assert not looks_random("ACCESS_TOKEN_SECRET") and not looks_random("getAccessTokenFromServer")


def test_the_whole_body_is_checked_not_a_tail() -> None:
    """A random head with a word tail is still a key (the old check looked only after the last ``_``)."""
    text = "GROQ_API_KEY=gsk_Q7c2Lm9Xa4Vt1Rb8Nk3Wp6Hs0Jd5Fg2Yu7Ei4Oz8Kq1Pw3_readme"
    spans = find_secrets(text)
    assert spans and text[spans[0].start : spans[0].end].startswith("gsk_Q7c2")


@pytest.mark.realdata
def test_ordinary_real_turns_are_rarely_touched(shared_data: Path) -> None:
    """<= 0.1 % of real turns (WildChat, LMSYS, ShareGPT, ToxicChat); measured 0.052 % (docs/quality.md)."""
    from wildchat.audit.secret_eval import MAX_TOUCH_RATE, touch_rate

    tr = touch_rate(shared_data)
    assert sum(tr.turns.values()) > 13_000
    assert tr.rate <= MAX_TOUCH_RATE, (tr.touched, tr.formats)
