"""Content addresses: how raw logs are linked without comparing texts.

The canonical form (a contract: changing it changes every id):

* A *session root* is ``blake2b-128("cid\\0" + conversation_id)`` when the log
  carries a ``conversation_id``; otherwise
  ``blake2b-128("anon\\0" + ip_key + US + user_agent + US + accept_language + US + model)``
  with ``ip_key`` = ``"ip:" + normalize_ip(ip)``, else ``"h:" + hashed_ip``,
  else empty, and ``US`` = ``\\x1f`` -- the authors' fingerprint, keyed by
  IP, headers and model.
* Each message extends its parent's address:
  ``addr = blake2b-128(parent_addr + role_code + utf8(content))`` with role
  codes ``S``/``U``/``A``.  The reply is one more ``A`` message.

Because the root is the session, identical text from two sessions has two
addresses (a thousand users saying "hi" stay a thousand conversations), and
a log is a prefix of a longer log of its session exactly when its full
address appears among the longer log's addresses after an assistant message:
a set lookup.  Linking compares 64-bit keys (the first 8 bytes, little
endian); the chance of any collision among 10 million addresses is ~3e-6.

**These addresses never leave curation.**  They are unkeyed functions of the
raw IP (via the root) and of pre-redaction text, so publishing them would let
anyone link two releases, confirm a guessed prompt or enumerate an IPv4 /16.
What a release publishes is :func:`release_ids`: a keyed BLAKE2b (a PRF,
RFC 7693) of the internal address under :func:`ids_key` of the release key,
so the same input and key give the same ids and different keys give
unrelated ones.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wildchat.privacy import normalize_ip

__all__ = [
    "ROLE_CODES",
    "LogAddress",
    "address_log",
    "ids_key",
    "release_ids",
    "session_root",
    "turn_id",
]

ROLE_CODES = {"system": b"S", "user": b"U", "assistant": b"A"}
_US = "\x1f"


def _h(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def session_root(
    conversation_id: str | None,
    ip: str | None,
    hashed_ip: str | None,
    user_agent: str | None,
    accept_language: str | None,
    model: str,
) -> bytes:
    """The 16-byte root address of a log's session (see the module docstring)."""
    if conversation_id:
        return _h(b"cid\0" + conversation_id.encode("utf-8", "surrogatepass"))
    ip_key = ""
    if ip:
        norm = normalize_ip(ip)
        ip_key = "ip:" + (norm if norm is not None else ip.strip())
    elif hashed_ip:
        ip_key = "h:" + hashed_ip
    text = _US.join((ip_key, user_agent or "", accept_language or "", model))
    return _h(b"anon\0" + text.encode("utf-8", "surrogatepass"))


def turn_id(key: int) -> int:
    """``turn_identifier`` of the exchange ending at an address: its key as a non-negative int64."""
    return key & 0x7FFF_FFFF_FFFF_FFFF


@dataclass(slots=True)
class LogAddress:
    """Addresses of one log.

    ``full`` -- after the reply; ``hist`` -- after the last history message
    (same history = a retry or a regeneration); ``first`` -- after the first
    user message (the branch family); ``inner`` -- after each assistant
    message of the history (exchange boundaries before the last).
    """

    full: bytes
    hist: bytes
    first: bytes
    inner: list[bytes]


def address_log(root: bytes, roles: list[str], contents: list[str], response: str) -> LogAddress:
    """Addresses of a validated log (roles in ``ROLE_CODES``, last role ``user``)."""
    h = root
    first = b""
    inner: list[bytes] = []
    blake = hashlib.blake2b
    for role, content in zip(roles, contents, strict=True):
        code = ROLE_CODES[role]
        h = blake(h + code + content.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if code == b"A":
            inner.append(h)
        elif code == b"U" and not first:
            first = h
    full = blake(h + b"A" + response.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    return LogAddress(full=full, hist=h, first=first or h, inner=inner)


_IDS_LABEL = b"wildchat/release-ids/v1"
_INT63 = np.uint64(0x7FFF_FFFF_FFFF_FFFF)


def ids_key(release_key: str | bytes) -> bytes:
    """The 32-byte id key of a release: HMAC-SHA256(release key, label).

    A separate key from the one IPs are HMAC'd with (domain separation):
    knowing ids never helps with ``hashed_ip`` and the other way round.
    """
    raw = release_key.encode("utf-8") if isinstance(release_key, str) else bytes(release_key)
    return hmac.new(raw, _IDS_LABEL, hashlib.sha256).digest()


def release_ids(
    key: bytes | None, conv_addrs: Sequence[bytes], turn_keys: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Published ``conversation_id`` (32 hex) and ``turn_identifier`` (int64 > 0).

    ``conv_addrs``: 16-byte internal addresses of conversation-ending logs;
    ``turn_keys``: uint64 boundary keys of their exchanges.  With ``key``
    (from :func:`ids_key`): keyed BLAKE2b-128 of the address (personalised
    ``"conversation"``) and keyed BLAKE2b-64 of the 8-byte key (personalised
    ``"turn"``), the latter masked
    to 63 bits (0 becomes 1).  A turn shared by two branches of a session
    keeps one identifier, as in WildChat.  ``key=None`` gives the unkeyed
    internal form -- only for local conversions that are not releases
    (``wildchat convert`` of raw logs), never for ``wildchat curate``.
    """
    keys = np.ascontiguousarray(turn_keys, dtype="<u8")
    if key is None:
        return [a.hex() for a in conv_addrs], (keys & _INT63).astype(np.int64)
    conv_base = hashlib.blake2b(key=key, digest_size=16, person=b"conversation")
    cnew = conv_base.copy
    conv_ids = []
    for a in conv_addrs:
        h = cnew()
        h.update(a)
        conv_ids.append(h.hexdigest())
    turn_base = hashlib.blake2b(key=key, digest_size=8, person=b"turn")
    tnew = turn_base.copy
    raw = keys.tobytes()
    parts = []
    for i in range(0, len(raw), 8):
        h = tnew()
        h.update(raw[i : i + 8])
        parts.append(h.digest())
    tids = np.frombuffer(b"".join(parts), dtype="<u8") & _INT63
    tids[tids == 0] = 1
    return conv_ids, tids.astype(np.int64)
