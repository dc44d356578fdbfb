"""Realistic fake credentials, planted in realistic chat requests.

Measures what the secret detector must guarantee: every credential of a
known shape is removed from a release.  Each generator builds a value in
the provider's documented layout (prefix, length, alphabet, fixed infixes
such as OpenAI's ``T3BlbkFJ`` or PyPI's macaroon header) from a seeded RNG,
so runs are reproducible and no real key is ever involved.  Each sample is
a sentence or snippet of the kind people paste into a chatbot (a stack
trace, a config file, a curl command, "why does my key not work").

Used by ``tests/enrich/pii/test_pii_secrets.py`` (one test per format) and
:mod:`wildchat.audit.secret_eval` (the recall table in docs/quality.md).
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable

__all__ = ["FORMATS", "PlantedSecret", "planted", "survives"]

_B62 = string.ascii_letters + string.digits
_B64URL = _B62 + "-_"
_B64 = _B62 + "+/"
_HEX = "0123456789abcdef"
_UPPER_DIGITS = string.ascii_uppercase + string.digits


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64url_json(obj: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")


def _jwt(rng: random.Random) -> str:
    head = _b64url_json({"alg": rng.choice(["HS256", "RS256"]), "typ": "JWT"})
    body = _b64url_json({"sub": _r(rng, _HEX, 24), "iat": rng.randrange(1_600_000_000, 1_800_000_000),
                         "role": rng.choice(["user", "admin", "service"])})  # fmt: skip
    return f"{head}.{body}.{_r(rng, _B64URL, 43)}"


def _pem(rng: random.Random) -> str:
    kind = rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY"])
    lines = [_r(rng, _B64, 64) for _ in range(rng.randint(4, 12))]
    return f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----"


def _password(rng: random.Random) -> str:
    n = rng.randint(10, 20)
    must = [rng.choice(string.ascii_uppercase), rng.choice(string.ascii_lowercase), rng.choice(string.digits),
            rng.choice("!@#$%^&*")]  # fmt: skip
    rest = [rng.choice(_B62 + "!@#$%") for _ in range(n - len(must))]
    chars = must + rest
    rng.shuffle(chars)
    if chars[0] in "$%":
        chars[0] = "Q"
    return "".join(chars)


def _discord(rng: random.Random) -> str:
    uid = str(rng.randrange(10**17, 10**19)).encode()
    return f"{base64.b64encode(uid).decode().rstrip('=')}.{_r(rng, _B64URL, 6)}.{_r(rng, _B64URL, 38)}"


#: format name -> generator of one fake value of that layout.
FORMATS: dict[str, Callable[[random.Random], str]] = {
    "openai": lambda g: f"sk-{_r(g, _B62, 20)}T3BlbkFJ{_r(g, _B62, 20)}",
    "openai_project": lambda g: f"sk-proj-{_r(g, _B64URL, 74)}T3BlbkFJ{_r(g, _B64URL, 74)}",
    "openai_svcacct": lambda g: f"sk-svcacct-{_r(g, _B64URL, 74)}T3BlbkFJ{_r(g, _B64URL, 74)}",
    "anthropic": lambda g: f"sk-ant-api03-{_r(g, _B64URL, 93)}AA",
    "aws_access_key_id": lambda g: "AKIA" + _r(g, string.ascii_uppercase + "234567", 16),
    "aws_secret_key": lambda g: _r(g, _B64, 40),
    "github_classic": lambda g: g.choice(["ghp_", "ghu_", "ghs_", "ghr_"]) + _r(g, _B62, 36),
    "github_fine_grained": lambda g: f"github_pat_{_r(g, _B62, 22)}_{_r(g, _B62, 59)}",
    "github_oauth": lambda g: "gho_" + _r(g, _B62, 36),
    "gitlab": lambda g: "glpat-" + _r(g, _B64URL, 20),
    "slack_token": lambda g: (
        f"xox{g.choice('abpr')}-{_r(g, string.digits, 11)}-{_r(g, string.digits, 13)}-" + _r(g, _B62, 24)
    ),
    "slack_webhook": lambda g: (
        "https://hooks.slack.com/services/T"
        + f"{_r(g, _UPPER_DIGITS, 8)}/B{_r(g, _UPPER_DIGITS, 10)}/"
        + _r(g, _B62, 24)
    ),
    "google_api": lambda g: "AIza" + _r(g, _B64URL, 35),
    "google_oauth_secret": lambda g: "GOCSPX-" + _r(g, _B64URL, 28),
    "stripe": lambda g: g.choice(["sk_live_", "rk_live_", "pk_live_"]) + _r(g, _B62, g.choice([24, 99])),
    "huggingface": lambda g: "hf_" + _r(g, string.ascii_letters, 34),
    "groq": lambda g: "gsk_" + _r(g, _B62, 52),
    "telegram_bot": lambda g: f"{g.randrange(10**8, 10**10)}:AA{_r(g, _B64URL, 33)}",
    "discord": _discord,
    "twilio": lambda g: g.choice(["AC", "SK"]) + _r(g, _HEX, 32),
    "sendgrid": lambda g: f"SG.{_r(g, _B64URL, 22)}.{_r(g, _B64URL, 43)}",
    "mailgun": lambda g: "key-" + _r(g, _HEX, 32),
    "npm": lambda g: "npm_" + _r(g, _B62, 36),
    "pypi": lambda g: "pypi-AgEIcHlwaS5vcmc" + _r(g, _B64URL, 70),
    "jwt": _jwt,
    "private_key": _pem,
    "password_assignment": _password,
    "api_key_assignment": lambda g: _r(g, _B62, 32),
    "token_assignment": lambda g: _r(g, _HEX, 40),
}

_ENV = {
    "openai": "OPENAI_API_KEY", "openai_project": "OPENAI_API_KEY", "openai_svcacct": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY", "google_api": "GOOGLE_API_KEY", "groq": "GROQ_API_KEY",
    "huggingface": "HF_TOKEN", "stripe": "STRIPE_KEY", "sendgrid": "SENDGRID_API_KEY", "npm": "NPM_TOKEN",
    "gitlab": "GITLAB_TOKEN", "mailgun": "MAILGUN_KEY", "telegram_bot": "BOT_TOKEN",
    "discord": "DISCORD_TOKEN",
}  # fmt: skip

#: Request templates; ``{k}`` is the key, ``{env}`` an environment variable name.
_TEMPLATES = (
    "I keep getting 401 Unauthorized with this key {k} even though I just created it. what am I doing wrong?",
    'here is my code:\n\nimport os\nclient = Client(api_key="{k}")\nresp = client.chat("hi")\n'
    "print(resp)\n\nit hangs",
    'export {env}={k}\npython app.py\n\nTraceback (most recent call last):\n  File "app.py", line 3',
    "curl -H 'Authorization: Bearer {k}' https://api.service.io/v1/models   -> why do I get 403?",
    'my config.json looks like this {{"token": "{k}", "timeout": 30}} but the bot never answers',
    "Can you fix this? headers = {{'X-Api-Key': '{k}', 'Content-Type': 'application/json'}}",
    "I pasted {k} into the settings page and it says invalid. Is the format right?",
    "hey, use my key {k}. write a python script that lists all my repos",
    ".env file:\n{env}={k}\nDEBUG=true\n\nnode index.js crashes on start",
    "The key is: {k}\nPlease explain why the request fails with 'quota exceeded'.",
    "翻译成英文：我的密钥是 {k}，为什么不能用？",
    "Помогите, ключ {k} не работает, пишет ошибку авторизации",
)
_PASSWORD_TEMPLATES = (
    "my database config: host=db.internal port=5432 user=admin password={k} - why can't I connect?",
    'DATABASES = {{"default": {{"USER": "app", "PASSWORD": "{k}", "HOST": "localhost"}}}}',
    "login fails with api_key={k} on the staging server, any idea?",
    "settings.yaml:\n  token: {k}\n  retries: 3\nthe job still fails",
    "I set secret_key = '{k}' in settings.py and Django still complains",
)
_AWS_TEMPLATES = (
    "[default]\naws_access_key_id = {id}\naws_secret_access_key = {k}\nregion = us-east-1\n\n"
    "boto3 says access denied",
    's3 = boto3.client("s3", aws_access_key_id="{id}", aws_secret_access_key="{k}")  # why NoSuchBucket?',
    "My AWS credentials are {id} / {k}, write me a script that uploads a file to S3",
)
_ASSIGNMENT = {"password_assignment", "api_key_assignment", "token_assignment"}


class PlantedSecret(tuple[str, str, str]):
    """``(format, secret value, text containing it)``."""

    __slots__ = ()

    @property
    def kind(self) -> str:
        return self[0]

    @property
    def value(self) -> str:
        return self[1]

    @property
    def text(self) -> str:
        return self[2]


def planted(kind: str, n: int = 40, seed: int = 0) -> list[PlantedSecret]:
    """``n`` realistic requests, each carrying one fresh fake value of format ``kind``."""
    rng = random.Random(f"{kind}:{seed}")
    make = FORMATS[kind]
    out = []
    for i in range(n):
        value = make(rng)
        if kind == "aws_secret_key":
            text = _AWS_TEMPLATES[i % len(_AWS_TEMPLATES)].format(
                id=FORMATS["aws_access_key_id"](rng), k=value
            )
        elif kind in _ASSIGNMENT:
            template = _PASSWORD_TEMPLATES[i % len(_PASSWORD_TEMPLATES)]
            if kind != "password_assignment":
                template = template.replace("password=", "api_key=").replace("PASSWORD", "api_key")
            text = template.format(k=value)
        else:
            text = _TEMPLATES[i % len(_TEMPLATES)].format(k=value, env=_ENV.get(kind, "API_TOKEN"))
        out.append(PlantedSecret((kind, value, text)))
    return out


def survives(value: str, redacted: str, window: int = 10) -> bool:
    """True if any ``window``-character piece of ``value`` is still in ``redacted``."""
    core = "".join(value.split())  # PEM bodies: ignore line breaks
    flat = "".join(redacted.split())
    if len(core) <= window:
        return core in flat
    return any(core[i : i + window] in flat for i in range(0, len(core) - window + 1))
