"""Public entities: values seen for many distinct users are not personal.

WildChat kept names found in >= 50 conversations and other entities in
>= 10 (famous people, company hotlines, support addresses).  Here the count
is over DISTINCT USERS (``hashed_ip``), not conversations, so one person
pasting their own signature into 200 conversations cannot make it "public".

Counting needs a first pass over the data before redacting:

1. pass 1: ``Redactor.observe(texts, user_ids, builder)`` for every batch
   (or :func:`wildchat.curate.stages.pii.build_whitelist` over a dataset);
   :class:`WhitelistBuilder` objects from parallel workers add up with
   :meth:`WhitelistBuilder.merge`;
2. ``builder.build()`` -> :class:`Whitelist`, saved with :meth:`Whitelist.save`;
3. pass 2: ``Redactor(config, whitelist=...)`` keeps whitelisted values.

Privacy: values are never stored, only a BLAKE2b digest of the normalised
value; a saved whitelist holds digests of frequent (public) values only,
with the thresholds used.  Turns without a user id are not counted, which
can only make fewer values public (the safe direction).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Whitelist", "WhitelistBuilder", "entity_key"]

_SPACES = re.compile(r"\s+")
_URL_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?")


def _normalise(entity: str, value: str) -> str:
    v = _SPACES.sub(" ", value.strip()).casefold()
    if entity == "PHONE_NUMBER":
        return "".join(c for c in v if c.isdigit())
    if entity in ("CREDIT_CARD", "IBAN_CODE"):
        return "".join(c for c in v if c.isalnum())
    if entity == "URL":
        return _URL_PREFIX.sub("", v).rstrip("/")
    return v


def entity_key(entity: str, value: str) -> str:
    """Digest identifying a normalised entity value (the raw value is not kept)."""
    norm = _normalise(entity, value)
    return hashlib.blake2b(f"{entity}\x1f{norm}".encode(), digest_size=16).hexdigest()


def _user_key(user: str) -> int:
    return int.from_bytes(hashlib.blake2b(user.encode(), digest_size=8).digest(), "big")


@dataclass
class WhitelistBuilder:
    """Distinct-user counts per entity value, for the first pass.

    A value's user set is dropped as soon as it reaches its threshold (it is
    public from then on), which bounds memory and keeps :meth:`merge` exact:
    a value public in one shard is public overall; otherwise the sets union.
    ``pending`` maps digest -> (entity type, hashed user ids).
    """

    min_users_person: int = 50
    min_users_other: int = 10
    pending: dict[str, tuple[str, set[int]]] = field(default_factory=dict)
    public: set[str] = field(default_factory=set)

    def _threshold(self, entity: str) -> int:
        return self.min_users_person if entity == "PERSON" else self.min_users_other

    def _promote(self, key: str, entity: str, seen: set[int]) -> None:
        if len(seen) >= self._threshold(entity):
            self.public.add(key)
            del self.pending[key]

    def add(self, entity: str, value: str, user: str | None) -> None:
        """Count ``value`` (of type ``entity``) as seen by ``user`` (``None``: not counted)."""
        if user is None or self._threshold(entity) <= 0:
            return
        key = entity_key(entity, value)
        if key in self.public:
            return
        _, seen = self.pending.setdefault(key, (entity, set()))
        seen.add(_user_key(user))
        self._promote(key, entity, seen)

    def merge(self, other: WhitelistBuilder) -> WhitelistBuilder:
        """Add ``other``'s counts into this builder (same thresholds) and return self."""
        if (other.min_users_person, other.min_users_other) != (self.min_users_person, self.min_users_other):
            raise ValueError("cannot merge whitelist counts built with different thresholds")
        self.public |= other.public
        for key in [k for k in self.pending if k in self.public]:
            del self.pending[key]
        for key, (entity, seen) in other.pending.items():
            if key in self.public:
                continue
            _, mine = self.pending.setdefault(key, (entity, set()))
            mine |= seen
            self._promote(key, entity, mine)
        return self

    def build(self) -> Whitelist:
        """The public values found so far."""
        return Whitelist(frozenset(self.public), self.min_users_person, self.min_users_other)


@dataclass(frozen=True)
class Whitelist:
    """Digests of public entity values; see the module docstring."""

    keys: frozenset[str] = frozenset()
    min_users_person: int = 50
    min_users_other: int = 10

    def __contains__(self, item: tuple[str, str]) -> bool:
        entity, value = item
        return bool(self.keys) and entity_key(entity, value) in self.keys

    def __len__(self) -> int:
        return len(self.keys)

    def save(self, path: str | Path) -> None:
        """Write JSON: version, thresholds, sorted digests (no raw values)."""
        doc = {
            "version": 1,
            "min_users_person": self.min_users_person,
            "min_users_other": self.min_users_other,
            "keys": sorted(self.keys),
        }
        Path(path).write_text(json.dumps(doc, indent=0) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Whitelist:
        """Read a file written by :meth:`save`; ``ValueError`` if it is not one."""
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
            keys = doc["keys"]
            if doc.get("version") != 1 or not all(isinstance(k, str) and len(k) == 32 for k in keys):
                raise ValueError("bad version or keys")
            return cls(frozenset(keys), int(doc["min_users_person"]), int(doc["min_users_other"]))
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a pii whitelist file: {path}") from exc
