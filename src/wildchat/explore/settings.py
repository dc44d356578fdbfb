"""Explorer web-app settings: one validated object, built by :func:`load_explore_settings`.

Sources, highest priority first: keyword overrides (the command line), then
``WILDCHAT_EXPLORE_*`` environment variables (one set to ``""`` counts as
unset), then defaults (:mod:`wildchat.web.settings`).  Nothing is read at
import time.  The defaults are the safe ones: listen on loopback only, cap
what one request may ask for (map points, hit ids, user pages), so a public
deployment has to opt in to anything bigger.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from wildchat.web.settings import ArgsEnvSettings, DatabaseUrl, layered_values

__all__ = ["DEFAULT_INDEX_DIR", "ExploreSettings", "load_explore_settings"]

#: Where ``wildchat explore`` keeps ``index.db`` unless ``--index`` says otherwise.
DEFAULT_INDEX_DIR = Path(".wildchat-explore")


class ExploreSettings(ArgsEnvSettings):
    """Everything the explorer app needs; see ``docs/explore.md``.

    ``index_dir`` / ``database_url`` say where the index lives (a PostgreSQL
    URL wins over the directory).  ``map_max_points`` and ``map_hits_limit``
    bound the two big map responses; ``map_cache_s`` keeps the encoded map
    in memory that long (the index is read-only while served, but a team
    server may rebuild it underneath, so the cache expires).
    """

    model_config = SettingsConfigDict(env_prefix="WILDCHAT_EXPLORE_", extra="forbid", validate_default=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8766, ge=1, le=65535)
    index_dir: Path = DEFAULT_INDEX_DIR
    database_url: DatabaseUrl = None
    map_max_points: int = Field(default=500_000, ge=1)
    map_hits_limit: int = Field(default=500_000, ge=1)
    map_cache_s: float = Field(default=300.0, ge=0)
    map_decimals: int = Field(default=4, ge=1, le=8)

    @property
    def index_url(self) -> str:
        """The index URL: ``database_url`` or ``sqlite:///<index_dir>/index.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.index_dir / 'index.db').resolve()}"


def load_explore_settings(**overrides: Any) -> ExploreSettings:
    """Settings from the environment and ``overrides`` (``None`` values are ignored).

    Raises ``pydantic.ValidationError`` (a ``ValueError``) with a readable
    message on invalid values.
    """
    # an environment variable set to "" means "unset", not "invalid"
    return ExploreSettings(**layered_values(ExploreSettings, overrides, blank_env_is_unset=True))
