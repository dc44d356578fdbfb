"""Settings sources and the database-URL rule shared by the web apps.

Settings are objects built by a loading function (never at import time).
Sources, highest priority first: keyword overrides (the command line; ``None``
means "not given"), environment variables under the model's ``env_prefix``,
values read from a file by the caller (the collection server's TOML), then
the model's defaults.  pydantic-settings' own ``.env`` and secrets-directory
sources are switched off: a server started from another working directory
must not silently pick up other values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

__all__ = ["DATABASE_URL_HELP", "ArgsEnvSettings", "DatabaseUrl", "database_url", "layered_values"]

DATABASE_URL_HELP = "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
_SQLITE = "sqlite:///"
_PSYCOPG = "postgresql+psycopg://"
_PLAIN_PG = "postgresql://"

S = TypeVar("S", bound=BaseSettings)


def database_url(value: str) -> str:
    """``value`` checked and normalised, or ``ValueError`` naming the accepted forms.

    Accepted: ``sqlite:///PATH`` (a file path after the three slashes; a bare
    ``sqlite://`` is an in-memory database that each pooled connection would
    see empty) and ``postgresql+psycopg://...``; ``postgresql://...`` is read
    as psycopg 3, the driver the project installs.  Anything else (another
    driver, another database) is refused here rather than failing at the first
    connection.
    """
    if value.startswith(_PLAIN_PG):
        value = _PSYCOPG + value[len(_PLAIN_PG) :]
    if value.startswith(_PSYCOPG) or (value.startswith(_SQLITE) and len(value) > len(_SQLITE)):
        return value
    raise ValueError(f"database_url: {DATABASE_URL_HELP}")


def _optional_url(value: str | None) -> str | None:
    return None if value is None else database_url(value)


#: A settings field holding an optional database URL, checked by :func:`database_url`.
DatabaseUrl = Annotated[str | None, AfterValidator(_optional_url)]


class ArgsEnvSettings(BaseSettings):
    """Base of the apps' settings: only keyword arguments and the environment are read."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


def layered_values(
    cls: type[S],
    overrides: Mapping[str, Any],
    file_values: Mapping[str, Any] | None = None,
    *,
    blank_env_is_unset: bool = False,
) -> dict[str, Any]:
    """The keyword arguments to build ``cls`` with, so sources keep the module's priority order.

    ``overrides`` whose value is ``None`` are dropped; a ``file_values`` entry
    is dropped when its environment variable is set (the environment wins over
    the file).  With ``blank_env_is_unset`` a variable set to ``""`` counts as
    absent: the file value or the field's default is passed explicitly, so the
    blank string never reaches validation.
    """
    prefix = str(cls.model_config.get("env_prefix") or "")
    env = {name: os.environ.get(f"{prefix}{name.upper()}") for name in cls.model_fields}
    present = {n for n, raw in env.items() if raw is not None and not (blank_env_is_unset and raw == "")}
    values = {k: v for k, v in (file_values or {}).items() if k not in present}
    values.update({k: v for k, v in overrides.items() if v is not None})
    if blank_env_is_unset:
        for name, raw in env.items():
            if raw == "" and name not in values:
                values[name] = cls.model_fields[name].get_default(call_default_factory=True)
    return values
