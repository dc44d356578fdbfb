"""Who is asking: client IP resolution, pseudonymisation and geolocation.

The raw IP is only a local variable here.  It is taken from the socket, or
from ``X-Forwarded-For`` only when the socket peer is a configured trusted
proxy (otherwise anyone could claim any address).  What leaves this module
is the HMAC pseudonym, country and state, and -- only when the deployer set
``store_raw_ip = true`` -- the raw IP.  Pseudonyms use the ``ip_key``, never
the cookie-signing key.

Rate limits key IPv6 clients by network (``rate_limit_ipv6_prefix``, /64 by
default): one subscriber usually holds a whole /64, so a per-address key
would let a single client rotate through 2**64 fresh budgets.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from starlette.requests import Request

from wildchat.collect.settings import Settings
from wildchat.privacy import GeoLocator, Location, hmac_ip, normalize_ip

__all__ = ["ClientInfo", "ClientInspector", "network_pseudonym", "resolve_client_ip"]

log = logging.getLogger(__name__)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_UA = 512
MAX_LANG = 256


def _clean_header(value: str | None, limit: int) -> str | None:
    """A header value safe to store: bounded, without NUL (PostgreSQL text refuses it)."""
    return value.replace("\x00", "")[:limit] if value is not None else None


def _in(ip: str, networks: Sequence[Network]) -> bool:
    addr = ipaddress.ip_address(ip)
    return any(addr in net for net in networks)


def resolve_client_ip(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]
) -> str | None:
    """The client's IP: the socket peer, unless the peer is a trusted proxy.

    Behind trusted proxies, ``X-Forwarded-For`` is read right to left and the
    first address that is not itself a trusted proxy is the client (the
    left-most entries are whatever the client claimed and are not trusted).
    Malformed entries stop the walk: the last good hop is used.
    """
    peer_ip = normalize_ip(peer) if peer else None
    if peer_ip is None or not trusted or not _in(peer_ip, trusted):
        return peer_ip
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
    client = peer_ip
    for hop in reversed(hops):
        ip = normalize_ip(hop)
        if ip is None:
            break
        client = ip
        if not _in(ip, trusted):
            break
    return client


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """What is stored about the client of one request."""

    hashed_ip: str | None
    ip: str | None  # raw IP: None unless store_raw_ip
    country: str | None
    state: str | None
    user_agent: str | None
    accept_language: str | None
    #: Keyed pseudonym of the client's IPv6 network (``None``: key by ``hashed_ip``).
    network_key: str | None = None

    @property
    def rate_key(self) -> str:
        """Rate-limit key: a pseudonym (of the IPv6 network), so no raw IP reaches the limiter."""
        return self.network_key or self.hashed_ip or "unknown"


def network_pseudonym(key: bytes, ip: str, ipv6_prefix: int) -> str | None:
    """Keyed pseudonym of the ``/ipv6_prefix`` network of an IPv6 ``ip``; ``None`` for IPv4."""
    addr = ipaddress.ip_address(ip)
    if not isinstance(addr, ipaddress.IPv6Address) or addr.ipv4_mapped is not None:
        return None
    net = ipaddress.IPv6Network((addr, ipv6_prefix), strict=False)
    return hmac.new(key, b"net:" + net.compressed.encode("ascii"), hashlib.sha256).hexdigest()


class ClientInspector:
    """Turns a request into :class:`ClientInfo` under the deployment's settings."""

    def __init__(self, settings: Settings) -> None:
        self._key = settings.ip_key_bytes
        self._ipv6_prefix = settings.rate_limit_ipv6_prefix
        self._store_raw = settings.store_raw_ip
        self._trusted: list[Network] = [
            ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies
        ]
        self._geo: GeoLocator | None = None
        if settings.geoip_enabled:
            try:
                self._geo = GeoLocator(settings.geoip_mmdb)
            except FileNotFoundError as exc:
                log.warning("geolocation disabled: %s", exc)

    def locate(self, ip: str | None) -> Location:
        if self._geo is None or ip is None:
            return Location()
        try:
            return self._geo.lookup(ip)
        except Exception:  # a broken database must not break chat
            log.exception("geolocation failed")
            return Location()

    def inspect(self, request: Request) -> ClientInfo:
        peer = request.client.host if request.client else None
        ip = resolve_client_ip(peer, request.headers.getlist("x-forwarded-for"), self._trusted)
        loc = self.locate(ip)
        ua = request.headers.get("user-agent")
        lang = request.headers.get("accept-language")
        return ClientInfo(
            hashed_ip=hmac_ip(self._key, ip) if ip else None,
            ip=ip if self._store_raw else None,
            country=loc.country,
            state=loc.state,
            user_agent=_clean_header(ua, MAX_UA),
            accept_language=_clean_header(lang, MAX_LANG),
            network_key=network_pseudonym(self._key, ip, self._ipv6_prefix) if ip else None,
        )
