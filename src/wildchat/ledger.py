"""The takedown ledger: keyed hashes that recognise deleted conversations, never their text.

Shared by the collection server (which writes tombstones when a participant
deletes a conversation or withdraws, an operator takes something down, or
retention purges old data) and curation (which drops every conversation the
ledger recognises -- also in raw exports made *before* the deletion).

Everything in a ledger is ``HMAC-SHA256(ledger_key, label + value)``:

* ``conversation_hash`` -- of the collector's ``conversation_id`` (the
  ``conversation_id`` of raw log v1 records);
* ``exchange_hashes`` -- of each exchange's *content identity* as a raw log
  v1 record holds it: every message of the history (role and text), the
  user turn's ``hashed_ip`` and the response; a conversation in an old export
  whose exchange has the same identity is the deleted one or a copy of its
  prefix by the same person;
* ``ip_hash`` -- of an IP pseudonym (``hashed_ip``), for takedowns of
  everything one client sent.

The ledger key is derived from the deployment's secret key with a label of
its own (:func:`derive_ledger_key`), so it is not the cookie-signing key and
can be handed to whoever curates (``WILDCHAT_LEDGER_KEY``) without the
secret.  Its fingerprint is stored with every entry and in every exported
file, and a ledger made under another key is refused (:class:`LedgerError`):
its hashes could never match, so using it would silently drop nothing.

Exported ledger files are JSON lines: a header ``{"wildchat_takedown_ledger":
1, "key_fingerprint": ...}`` then one entry per line (no text, no raw IP).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "LEDGER_FORMAT",
    "ExchangeHasher",
    "LedgerEntry",
    "LedgerError",
    "LedgerKey",
    "LedgerSet",
    "derive_ledger_key",
    "read_ledger",
    "resolve_ledger_key",
    "write_ledger",
]

LEDGER_FORMAT = 1
_LABEL = b"wildchat/takedown-ledger/v1"
_ROLE = {"system": b"S", "user": b"U", "assistant": b"A"}
KINDS = ("conversation", "hashed_ip")


class LedgerError(ValueError):
    """A ledger or ledger key that cannot be used (the message says why; never holds data)."""


def derive_ledger_key(secret: bytes) -> bytes:
    """The ledger key of a deployment: ``HMAC-SHA256(secret, label)`` (not the secret itself)."""
    return hmac.new(secret, _LABEL, hashlib.sha256).digest()


@dataclass(frozen=True)
class LedgerKey:
    """A ledger key and the keyed hashes made with it."""

    key: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> LedgerKey:
        return cls(derive_ledger_key(secret))

    @property
    def fingerprint(self) -> str:
        """32 hex chars naming the key (an HMAC of a constant: reveals nothing about it)."""
        return hmac.new(self.key, b"fingerprint", hashlib.sha256).hexdigest()[:32]

    def _mac(self, label: bytes, data: bytes) -> str:
        return hmac.new(self.key, label + b"\0" + data, hashlib.sha256).hexdigest()

    def conversation_hash(self, conversation_id: str) -> str:
        return self._mac(b"cid", conversation_id.encode("utf-8", "surrogatepass"))

    def ip_hash(self, hashed_ip: str) -> str:
        return self._mac(b"ip", hashed_ip.encode("utf-8", "surrogatepass"))

    def exchange_hash(
        self, hashed_ip: str | None, roles: Sequence[str], contents: Sequence[str], response: str
    ) -> str:
        """Content identity of one raw-log exchange (history ending in the user message, and reply)."""
        hasher = self.exchange_hasher()
        for role, content in zip(roles, contents, strict=True):
            hasher.add(role, content)
        return hasher.exchange(hashed_ip, response)

    def exchange_hasher(self) -> ExchangeHasher:
        """An incremental :meth:`exchange_hash` over one conversation (linear, not quadratic)."""
        return ExchangeHasher(hmac.new(self.key, b"ex\0", hashlib.sha256))


class ExchangeHasher:
    """Feeds a conversation's messages once; :meth:`exchange` is the identity after the current prefix.

    Encoding (length-prefixed, so no two different exchanges encode alike):
    each message ``role code + len + utf8``, then ``H + len + hashed_ip``,
    then ``R + len + response``.
    """

    def __init__(self, mac: Any) -> None:
        self._mac = mac

    def add(self, role: str, content: str) -> None:
        self._mac.update(_ROLE.get(role, b"?") + _field(content.encode("utf-8", "surrogatepass")))

    def exchange(self, hashed_ip: str | None, response: str) -> str:
        mac = self._mac.copy()
        mac.update(b"H" + _field((hashed_ip or "").encode("utf-8", "surrogatepass")))
        mac.update(b"R" + _field(response.encode("utf-8", "surrogatepass")))
        return str(mac.hexdigest())


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


@dataclass
class LedgerEntry:
    """One tombstone (see the module docstring); ``reason`` is operator text, never content."""

    kind: str
    cause: str
    created_at: str
    key_fingerprint: str
    conversation_hash: str | None = None
    exchange_hashes: list[str] = field(default_factory=list)
    ip_hash: str | None = None
    reason: str | None = None
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "kind": self.kind,
            "cause": self.cause,
            "reason": self.reason,
            "conversation_hash": self.conversation_hash,
            "exchange_hashes": list(self.exchange_hashes),
            "ip_hash": self.ip_hash,
        }


@dataclass
class LedgerSet:
    """What curation matches against: three hash sets and where each entry came from."""

    key_fingerprint: str
    conversations: dict[str, str] = field(default_factory=dict)  # hash -> cause
    exchanges: dict[str, str] = field(default_factory=dict)
    ips: dict[str, str] = field(default_factory=dict)

    def add(self, entry: LedgerEntry) -> None:
        if entry.key_fingerprint != self.key_fingerprint:
            raise LedgerError(_mismatch())
        if entry.conversation_hash:
            self.conversations[entry.conversation_hash] = entry.cause
        for h in entry.exchange_hashes:
            self.exchanges[h] = entry.cause
        if entry.ip_hash:
            self.ips[entry.ip_hash] = entry.cause

    def __len__(self) -> int:
        return len(self.conversations) + len(self.exchanges) + len(self.ips)


def _mismatch() -> str:
    return (
        "takedown ledger key mismatch: this ledger was made under another deployment's key "
        "(its key_fingerprint differs from the key in use), so none of its hashes could match; "
        "use the ledger key of the deployment that wrote it (WILDCHAT_LEDGER_KEY)"
    )


def write_ledger(path: Path, entries: Iterable[LedgerEntry], fingerprint: str) -> int:
    """Write a ledger file (0600, replaced atomically); returns the number of entries."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    n = 0
    with os.fdopen(fd, "wb") as fh:
        fh.write(orjson.dumps({"wildchat_takedown_ledger": LEDGER_FORMAT, "key_fingerprint": fingerprint}))
        fh.write(b"\n")
        for entry in entries:
            if entry.key_fingerprint != fingerprint:
                raise LedgerError(_mismatch())
            fh.write(orjson.dumps(entry.to_json()) + b"\n")
            n += 1
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return n


def _entry(obj: Any, fingerprint: str, lineno: int) -> LedgerEntry:
    if not isinstance(obj, dict) or obj.get("kind") not in KINDS:
        raise LedgerError(f"ledger line {lineno}: not a ledger entry")
    hashes = obj.get("exchange_hashes") or []
    if not isinstance(hashes, list) or not all(isinstance(h, str) and len(h) == 64 for h in hashes):
        raise LedgerError(f"ledger line {lineno}: exchange_hashes must be a list of 64-hex hashes")
    for name in ("conversation_hash", "ip_hash"):
        value = obj.get(name)
        if value is not None and (not isinstance(value, str) or len(value) != 64):
            raise LedgerError(f"ledger line {lineno}: {name} must be a 64-hex hash")
    return LedgerEntry(
        kind=obj["kind"],
        cause=str(obj.get("cause") or "takedown"),
        created_at=str(obj.get("created_at") or ""),
        key_fingerprint=fingerprint,
        conversation_hash=obj.get("conversation_hash"),
        exchange_hashes=list(hashes),
        ip_hash=obj.get("ip_hash"),
        reason=obj.get("reason"),
        id=obj.get("id"),
    )


def iter_ledger(path: Path) -> Iterator[tuple[str, LedgerEntry]]:
    """``(file fingerprint, entry)`` for each entry of a ledger file; :class:`LedgerError` if malformed."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise LedgerError(f"cannot read ledger {path}: {exc.strerror or type(exc).__name__}") from exc
    with fh:
        try:
            header = orjson.loads(fh.readline() or b"null")
        except orjson.JSONDecodeError as exc:
            raise LedgerError(f"{path} is not a takedown ledger (bad header)") from exc
        if not isinstance(header, dict) or header.get("wildchat_takedown_ledger") != LEDGER_FORMAT:
            raise LedgerError(f"{path} is not a takedown ledger (export one with `wildchat takedown export`)")
        fingerprint = str(header.get("key_fingerprint") or "")
        for lineno, raw in enumerate(fh, 2):
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise LedgerError(f"ledger line {lineno}: invalid JSON") from exc
            yield fingerprint, _entry(obj, fingerprint, lineno)


def read_ledger(paths: Sequence[Path], key: LedgerKey) -> LedgerSet:
    """Load ledger files for matching under ``key``; a file made under another key is refused."""
    out = LedgerSet(key.fingerprint)
    for path in paths:
        checked = False
        for fingerprint, entry in iter_ledger(path):
            if not checked and fingerprint != key.fingerprint:
                raise LedgerError(f"{path}: {_mismatch()}")
            checked = True
            out.add(entry)
        if not checked:  # an empty ledger still has to be ours
            header = orjson.loads(path.read_bytes().splitlines()[0])
            if header.get("key_fingerprint") != key.fingerprint:
                raise LedgerError(f"{path}: {_mismatch()}")
    return out


def _config_values(config: Path | None) -> Mapping[str, Any]:
    if config is None:
        return {}
    try:
        with open(config, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LedgerError(f"cannot read config {config}: {type(exc).__name__}") from exc
    merged = dict(data.get("server", {}) or {})
    merged.update({k: v for k, v in data.items() if k != "server"})
    return merged


def resolve_ledger_key(config: Path | None = None, env: Mapping[str, str] | None = None) -> LedgerKey:
    """The deployment's ledger key, for command-line tools (the server derives it from its settings).

    Sources, first found wins: ``WILDCHAT_LEDGER_KEY`` (64 hex: the derived
    key, what an operator gives an outside curator), ``WILDCHAT_SECRET_KEY``,
    ``secret_key`` in ``config``, then the dev-mode key file
    ``<data_dir>/secret.key`` (``data_dir`` from the config,
    ``WILDCHAT_DATA_DIR`` or ``data``).  :class:`LedgerError` if none.
    """
    env = os.environ if env is None else env
    ledger_hex = env.get("WILDCHAT_LEDGER_KEY", "").strip()
    if ledger_hex:
        try:
            raw = bytes.fromhex(ledger_hex)
        except ValueError as exc:
            raise LedgerError("WILDCHAT_LEDGER_KEY must be 64 hex characters") from exc
        if len(raw) != 32:
            raise LedgerError("WILDCHAT_LEDGER_KEY must be 64 hex characters")
        return LedgerKey(raw)
    values = _config_values(config)
    secret = env.get("WILDCHAT_SECRET_KEY", "").strip() or str(values.get("secret_key") or "").strip()
    if not secret:
        data_dir = Path(str(values.get("data_dir") or env.get("WILDCHAT_DATA_DIR") or "data"))
        key_file = data_dir / "secret.key"
        if key_file.exists():
            secret = key_file.read_text(encoding="ascii").strip()
    if not secret:
        raise LedgerError(
            "no ledger key: set WILDCHAT_LEDGER_KEY (from `wildchat takedown key`), WILDCHAT_SECRET_KEY, "
            "or --config with the server's secret_key (dev mode: run where data/secret.key is)"
        )
    return LedgerKey.from_secret(secret.encode("utf-8"))
