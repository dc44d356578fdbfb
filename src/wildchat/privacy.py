"""IP pseudonymisation and geolocation, shared by the collection server and curation.

WildChat hashed IPs as SHA-256(salt + IP) with one salt for every release: with
~4 billion IPv4 addresses, anyone who learns the salt reverses every hash in
minutes.  Here the pseudonym is a keyed HMAC-SHA256, and the key is chosen per
deployment (server) or per release (curation), so releases can be made
unlinkable.  Raw IPs are only ever arguments to these functions: nothing here
logs or stores them, and error messages never echo them.

Geolocation reads a MaxMind GeoLite2-City ``.mmdb``.  The default is the file
shipped in the ``maxminddb-geolite2`` package, which is **2018 data**: good
enough for country shares, stale for fine-grained state/city work -- point
``mmdb_path`` at a current GeoLite2-City file for production.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

__all__ = ["GeoLocator", "Location", "default_mmdb_path", "hmac_ip", "normalize_ip", "rekey_hash"]


def normalize_ip(ip: str) -> str | None:
    """Canonical text form of an IP (``None`` if it is not one).

    Canonicalising first means ``::ffff:1.2.3.4``, ``1.2.3.4`` and ``1.2.3.4 ``
    pseudonymise to the same value.
    """
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.compressed


def hmac_ip(key: bytes, ip: str) -> str | None:
    """HMAC-SHA256 of the canonical IP under ``key``, as 64 hex chars.

    Returns ``None`` for text that is not an IP address, so junk in a log
    cannot become a pseudonym that looks real.
    """
    canonical = normalize_ip(ip)
    if canonical is None:
        return None
    return hmac.new(key, canonical.encode("ascii"), hashlib.sha256).hexdigest()


def rekey_hash(key: bytes, hashed_ip: str) -> str:
    """Re-key an already pseudonymised IP for a release (HMAC over the old hash).

    Used when logs arrive with ``hashed_ip`` instead of ``ip``: the release
    still gets per-release pseudonyms, unlinkable to the source's.
    """
    return hmac.new(key, b"rekey:" + hashed_ip.encode("utf-8"), hashlib.sha256).hexdigest()


def default_mmdb_path() -> Path | None:
    """The GeoLite2-City file shipped by ``maxminddb-geolite2`` (2018), if installed."""
    try:
        import _maxminddb_geolite2  # type: ignore[import-not-found]
    except ImportError:
        return None
    path = Path(_maxminddb_geolite2.__file__).parent / "GeoLite2-City.mmdb"
    return path if path.exists() else None


@dataclass(frozen=True, slots=True)
class Location:
    """English country and most-specific subdivision names, as WildChat writes them."""

    country: str | None = None
    state: str | None = None


class GeoLocator:
    """Looks IPs up in a GeoLite2-City database, opened lazily.

    Private, loopback and unknown addresses give an empty :class:`Location`.
    Safe to pickle before first use (the reader opens in each process).
    """

    def __init__(self, mmdb_path: str | os.PathLike[str] | None = None) -> None:
        path = Path(mmdb_path) if mmdb_path else default_mmdb_path()
        if path is None or not path.exists():
            raise FileNotFoundError(
                "no GeoLite2-City .mmdb found: install `maxminddb-geolite2` or pass the path of a "
                "GeoLite2-City database"
            )
        self.path = path

    @cached_property
    def _reader(self) -> Any:
        import maxminddb

        return maxminddb.open_database(str(self.path))

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]

    def lookup(self, ip: str | None) -> Location:
        if not ip:
            return Location()
        canonical = normalize_ip(ip)
        if canonical is None:
            return Location()
        try:
            rec = self._reader.get(canonical)
        except ValueError:
            return Location()
        if not rec:
            return Location()
        country = (rec.get("country") or rec.get("registered_country") or {}).get("names", {}).get("en")
        subs = rec.get("subdivisions") or []
        state = subs[-1].get("names", {}).get("en") if subs else None
        return Location(country=country, state=state)
