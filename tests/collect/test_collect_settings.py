"""Settings: sources and precedence, unsafe values refused, the dev key kept with mode 0600."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from wildchat.collect.settings import load_settings, parse_model_spec

KEY = "k" * 40
IP_KEY = "i" * 40


def test_model_spec_syntax() -> None:
    spec = parse_model_spec("gpt=openai:gpt-4o-mini?base_url=http://h:1/v1&api_key_env=K&max_tokens=99")
    assert (spec.name, spec.backend, spec.arg, spec.max_tokens) == ("gpt", "openai", "gpt-4o-mini", 99)
    assert spec.options == {"base_url": "http://h:1/v1", "api_key_env": "K"}
    assert parse_model_spec("smol=local").arg is None
    assert parse_model_spec("r=replay:/tmp/a.jsonl").arg == "/tmp/a.jsonl"
    for bad in ["nobackend", "=replay", "x=unknown", "x=", "bad name=replay", "x=replay?novalue"]:
        with pytest.raises(ValueError):
            parse_model_spec(bad)


def test_missing_or_short_key_is_refused_outside_dev(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="secret_key is required"):
        load_settings(None, data_dir=tmp_path, models=["e=replay"])
    with pytest.raises(ValidationError, match="at least 32"):
        load_settings(None, data_dir=tmp_path, models=["e=replay"], secret_key="short")
    with pytest.raises(ValidationError, match="at least one model"):
        load_settings(None, data_dir=tmp_path, secret_key=KEY)
    with pytest.raises(ValidationError, match="unique"):
        load_settings(None, data_dir=tmp_path, secret_key=KEY, models=["e=replay", "e=replay"])
    with pytest.raises(ValidationError, match="trusted_proxies"):
        load_settings(None, secret_key=KEY, models=["e=replay"], trusted_proxies=["not-an-ip"])
    with pytest.raises(ValidationError, match="database_url"):
        load_settings(None, secret_key=KEY, models=["e=replay"], database_url="mysql://x")


def test_ip_key_is_required_separate_and_long_outside_dev(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="ip_key is required"):
        load_settings(None, data_dir=tmp_path, models=["e=replay"], secret_key=KEY)
    with pytest.raises(ValidationError, match="ip_key must be at least 32"):
        load_settings(None, data_dir=tmp_path, models=["e=replay"], secret_key=KEY, ip_key="short")
    with pytest.raises(ValidationError, match="ip_key must differ"):
        load_settings(None, data_dir=tmp_path, models=["e=replay"], secret_key=KEY, ip_key=KEY)
    s = load_settings(None, data_dir=tmp_path, models=["e=replay"], secret_key=KEY, ip_key=IP_KEY)
    assert s.ip_key_bytes == IP_KEY.encode() and s.key_bytes == KEY.encode()
    assert IP_KEY not in repr(s)
    assert not (tmp_path / "ip.key").exists()  # nothing generated outside dev


def test_cookie_secure_defaults_to_true_outside_dev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = {"data_dir": tmp_path, "models": ["e=replay"], "secret_key": KEY, "ip_key": IP_KEY}
    assert load_settings(None, **base).cookie_secure is True
    assert load_settings(None, **base, cookie_secure=False).cookie_secure is False
    assert load_settings(None, **base, dev=True).cookie_secure is False
    assert load_settings(None, **base, dev=True, cookie_secure=True).cookie_secure is True
    monkeypatch.setenv("WILDCHAT_DEV", "true")
    assert load_settings(None, **base).cookie_secure is False


def test_dev_key_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    one = load_settings(None, dev=True, data_dir=tmp_path, models=["e=replay"])
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    two = load_settings(None, dev=True, data_dir=tmp_path, models=["e=replay"])
    assert one.key_bytes == two.key_bytes and len(one.key_bytes) >= 32
    assert one.resolved_database_url == f"sqlite:///{(tmp_path / 'wildchat.db').resolve()}"


def test_toml_env_and_overrides_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "wildchat.toml"
    cfg.write_text(
        f'secret_key = "{KEY}"\n'
        f'ip_key = "{IP_KEY}"\n'
        "rate_limit_per_minute = 5\n"
        "turns_per_day = 7\n"
        'trusted_proxies = ["10.0.0.0/8"]\n'
        '[[models]]\nname = "gpt"\nbackend = "openai"\narg = "gpt-4o-mini"\n'
        '[models.options]\nbase_url = "http://localhost:11434/v1"\n'
        '[[models]]\nname = "echo"\nbackend = "replay"\n'
    )
    monkeypatch.setenv("WILDCHAT_TURNS_PER_DAY", "9")
    monkeypatch.setenv("WILDCHAT_MODERATION_BLOCKLIST", "foo, bar baz")
    s = load_settings(cfg, rate_limit_per_minute=11)
    assert s.rate_limit_per_minute == 11  # override > file
    assert s.turns_per_day == 9  # env > file
    assert s.moderation_blocklist == ["foo", "bar baz"]
    assert [m.name for m in s.models] == ["gpt", "echo"]
    assert s.models[0].options["base_url"] == "http://localhost:11434/v1"
    assert s.trusted_proxies == ["10.0.0.0/8"]
    assert s.store_raw_ip is False and s.secret_key is not None
    assert "k" * 40 not in repr(s) and IP_KEY not in repr(s)  # keys never show in reprs or logs
    monkeypatch.setenv("WILDCHAT_MODELS", "a=replay,b=replay:echo?tokens=3")
    assert [m.name for m in load_settings(cfg).models] == ["a", "b"]
    cfg.write_text("unknown_key = 1\n")
    with pytest.raises(ValidationError):
        load_settings(cfg, secret_key=KEY)


def test_sample_config_in_the_docs_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "collect.md").read_text()
    sample = doc.split("## Sample `wildchat.toml`", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    cfg = tmp_path / "wildchat.toml"
    cfg.write_text(sample)
    monkeypatch.setenv("WILDCHAT_SECRET_KEY", KEY)
    monkeypatch.setenv("WILDCHAT_IP_KEY", IP_KEY)
    s = load_settings(cfg)
    assert [m.name for m in s.models] == ["gpt-4o-mini", "llama"]
    assert s.store_raw_ip is False and s.cookie_secure is True and s.redis_url == "redis://127.0.0.1:6379/0"
    assert s.rate_limit_ipv6_prefix == 64 and s.consents_per_hour == 20 and s.redis_timeout_s == 0.5
    assert s.resolved_database_url.startswith("postgresql+psycopg://")
