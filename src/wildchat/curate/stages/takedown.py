"""Takedowns: drop every conversation the takedown ledger recognises (reason ``takedown``).

The ledger (:mod:`wildchat.ledger`) holds keyed hashes of conversations a
participant deleted or withdrew, an operator took down, or retention purged.
This stage recognises them in any raw export, including exports made before
the deletion, by raw-log properties only (never by release ids, which are
keyed per release):

* the collector ``conversation_id`` the logs carried (``_source_conversation_id``);
* any exchange whose content identity -- history, the user turn's source
  ``hashed_ip`` and the reply -- is a deleted exchange's (a copy of a deleted
  conversation's prefix by the same person);
* any user turn whose source ``hashed_ip`` was taken down.

It must run before anything rewrites text or pseudonyms (``privacy``,
``pii``): ``wildchat curate --takedowns`` and ``--db`` put it first.  The hash
sets travel in the stage config (so a changed ledger changes the run's
fingerprint); the card and ``stats.json`` show only their sizes.
Counters: ``matched:conversation|exchange|hashed_ip`` and ``cause:<why>``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from wildchat.curate.stages import register_stage
from wildchat.curate.stages.base import Stage, StageConfigError
from wildchat.curate.stages.batch import tag, turn_field, turn_offsets
from wildchat.ledger import LedgerKey

__all__ = ["TakedownStage"]


@register_stage
class TakedownStage(Stage):
    name = "takedown"
    description = (
        "drop conversations recognised by the takedown ledger (deleted, withdrawn, taken down, purged)"
    )
    defaults: ClassVar[dict[str, Any]] = {
        "ledger_key": "",
        "conversations": {},
        "exchanges": {},
        "ips": {},
    }
    reasons = ("takedown",)
    secret_keys = ("ledger_key",)

    def setup(self) -> None:
        raw = self.config["ledger_key"]
        try:
            key = bytes.fromhex(raw) if isinstance(raw, str) else bytes(raw)
        except ValueError as exc:
            raise StageConfigError("takedown: ledger_key must be hex") from exc
        if len(key) != 32:
            raise StageConfigError("takedown: no ledger key (use wildchat curate --takedowns)")
        self._key = LedgerKey(key)
        self._convs: dict[str, str] = dict(self.config["conversations"])
        self._exchanges: dict[str, str] = dict(self.config["exchanges"])
        self._ips: dict[str, str] = dict(self.config["ips"])

    def public_config(self) -> dict[str, Any]:
        return {
            "conversations": len(self.config["conversations"]),
            "exchanges": len(self.config["exchanges"]),
            "ips": len(self.config["ips"]),
            "ledger_key": "<secret>" if self.config["ledger_key"] else "",
        }

    def _match(
        self, source_id: str | None, roles: list[str], contents: list[str], hips: list[str | None]
    ) -> tuple[str, str] | None:
        """``(what matched, cause)`` or ``None``."""
        key = self._key
        if source_id:
            cause = self._convs.get(key.conversation_hash(source_id))
            if cause is not None:
                return "conversation", cause
        if self._ips:
            for role, hip in zip(roles, hips, strict=True):
                if role == "user" and hip:
                    cause = self._ips.get(key.ip_hash(hip))
                    if cause is not None:
                        return "hashed_ip", cause
        if self._exchanges:
            hasher = key.exchange_hasher()
            user_ip: str | None = None
            for role, content, hip in zip(roles, contents, hips, strict=True):
                if role == "assistant" and user_ip is not None:
                    cause = self._exchanges.get(hasher.exchange(user_ip, content))
                    if cause is not None:
                        return "exchange", cause
                if role == "user":
                    user_ip = hip or ""
                hasher.add(role, content)
        return None

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        sources = batch.column("_source_conversation_id").to_pylist()
        roles = turn_field(batch, "role").to_pylist()
        contents = turn_field(batch, "content").to_pylist()
        hips = turn_field(batch, "hashed_ip").to_pylist()
        off = turn_offsets(batch).tolist()
        hit = [False] * len(batch)
        for i in range(len(batch)):
            lo, hi = off[i], off[i + 1]
            found = self._match(sources[i], roles[lo:hi], contents[lo:hi], hips[lo:hi])
            if found is not None:
                hit[i] = True
                self.count(f"matched:{found[0]}")
                self.count(f"cause:{found[1]}")
        return tag(batch, np.asarray(hit, dtype=bool), "takedown")
