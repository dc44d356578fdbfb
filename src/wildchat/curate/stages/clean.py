"""Cleaning rules: each a switchable stage with its own drop reason.

All of them only *tag* rows (``drop_reason``); the release writer leaves
tagged rows out and ``stats.json`` counts them per stage.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wildchat.curate.stages import register_stage
from wildchat.curate.stages.base import CONSENT, Stage, StageConfigError
from wildchat.curate.stages.batch import tag, turn_field, turn_offsets
from wildchat.privacy import normalize_ip
from wildchat.schema import parse_timestamp

__all__ = [
    "ConsentStage",
    "DateWindowStage",
    "DevAccountsStage",
    "EmptyStage",
    "HoldoutStage",
    "first_user_hash",
]


def first_user_hash(text: str) -> str:
    """Hold-out key of a conversation: SHA-256 hex of its first user message, exactly."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _first_user_messages(batch: pa.RecordBatch) -> list[str | None]:
    roles = turn_field(batch, "role").to_pylist()
    contents = turn_field(batch, "content").to_pylist()
    off = turn_offsets(batch).tolist()
    out: list[str | None] = []
    for i in range(len(batch)):
        found = None
        for k in range(off[i], off[i + 1]):
            if roles[k] == "user":
                found = contents[k]
                break
        out.append(found)
    return out


@register_stage
class ConsentStage(Stage):
    """Drop conversations with a log that had no consent record, or consent given after it."""

    name = "consent"
    process_dropped = True
    protects = CONSENT
    description = (
        "drop conversations with a log lacking consent (no_consent) or consented later (consent_after_log)"
    )
    reasons = ("no_consent", "consent_after_log")

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        consent = batch.column("_consent")
        batch = tag(batch, pc.fill_null(pc.equal(consent, "missing"), True), "no_consent")
        return tag(batch, pc.fill_null(pc.equal(consent, "after_log"), False), "consent_after_log")


@register_stage
class EmptyStage(Stage):
    """Drop conversations in which the user never said anything (blank user turns only)."""

    name = "empty"
    process_dropped = True
    description = "drop conversations whose user turns are all blank (empty); optionally blank replies too"
    defaults: ClassVar[dict[str, Any]] = {"require_reply": False}
    reasons = ("empty", "empty_reply")

    def _blank_by_role(self, batch: pa.RecordBatch, role: str) -> np.ndarray:
        content = turn_field(batch, "content")
        is_role = pc.equal(turn_field(batch, "role"), role)
        # utf8_is_space stops at the first non-space character: no copy of the text
        blank = pc.or_(pc.equal(pc.binary_length(content), 0), pc.utf8_is_space(content))
        said = pc.and_(is_role, pc.invert(blank))
        said_np = np.asarray(said.to_numpy(zero_copy_only=False), dtype=np.int64)
        counts = np.add.reduceat(np.append(said_np, 0), turn_offsets(batch)[:-1]) if len(batch) else said_np
        return np.asarray(counts == 0)

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        batch = tag(batch, self._blank_by_role(batch, "user"), "empty")
        if self.config["require_reply"]:
            batch = tag(batch, self._blank_by_role(batch, "assistant"), "empty_reply")
        return batch


@register_stage
class DateWindowStage(Stage):
    """Keep conversations whose every log lies in ``[start, end)`` (null bound = open)."""

    name = "date_window"
    process_dropped = True
    description = "drop conversations with a log outside [start, end) (outside_date_window)"
    defaults: ClassVar[dict[str, Any]] = {"start": None, "end": None}
    reasons = ("outside_date_window",)

    def _bound(self, key: str) -> pa.Scalar | None:
        value = self.config[key]
        if value is None or value == "":
            return None
        try:
            ts = parse_timestamp(value, f"date_window.{key}")
        except ValueError as exc:
            raise StageConfigError(str(exc)) from exc
        return pa.scalar(ts, pa.timestamp("us", tz="UTC"))

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        start, end = self._bound("start"), self._bound("end")
        outside = np.zeros(len(batch), dtype=bool)
        if start is not None:
            first = pc.fill_null(pc.less(batch.column("_first_timestamp"), start), True)
            outside |= np.asarray(first.to_numpy(zero_copy_only=False), dtype=bool)
        if end is not None:
            last = pc.fill_null(pc.greater_equal(batch.column("timestamp"), end), True)
            outside |= np.asarray(last.to_numpy(zero_copy_only=False), dtype=bool)
        return tag(batch, outside, "outside_date_window")


@register_stage
class HoldoutStage(Stage):
    """Remove reserved conversations (e.g. an evaluation set) by id or first-user-message hash.

    ``conversation_ids`` match the release ``conversation_id`` or the id the
    logs carried; ``first_user_hashes`` are :func:`first_user_hash` values.
    ``*_file`` options name text files with one value per line (read in setup).
    """

    name = "holdout"
    process_dropped = True
    description = (
        "drop conversations on a hold-out list, by conversation id or first-user-message SHA-256 (holdout)"
    )
    defaults: ClassVar[dict[str, Any]] = {
        "conversation_ids": [],
        "first_user_hashes": [],
        "conversation_ids_file": None,
        "first_user_hashes_file": None,
    }
    reasons = ("holdout",)
    #: published as counts: unkeyed first-message hashes would let anyone test a prompt for membership
    count_keys = ("conversation_ids", "first_user_hashes", "conversation_ids_file", "first_user_hashes_file")

    def setup(self) -> None:
        def load(key: str, file_key: str) -> set[str]:
            values = {str(v).strip() for v in self.config[key]}
            if self.config[file_key]:
                with open(self.config[file_key], encoding="utf-8") as fh:
                    values |= {line.strip() for line in fh if line.strip()}
            return values

        self._ids = load("conversation_ids", "conversation_ids_file")
        self._hashes = {h.lower() for h in load("first_user_hashes", "first_user_hashes_file")}

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if not self._ids and not self._hashes:
            return batch
        ids = pa.array(sorted(self._ids), pa.string())
        hit = pc.is_in(batch.column("conversation_id"), value_set=ids)
        hit = pc.or_(
            pc.fill_null(hit, False),
            pc.fill_null(pc.is_in(batch.column("_source_conversation_id"), value_set=ids), False),
        )
        mask = np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
        if self._hashes:
            firsts = _first_user_messages(batch)
            mask |= np.array(
                [t is not None and first_user_hash(t) in self._hashes for t in firsts], dtype=bool
            )
        return tag(batch, mask, "holdout")


@register_stage
class DevAccountsStage(Stage):
    """Drop developer/test traffic: by the source's hashed IP, raw IP, or patterns.

    ``ip_hashes`` match the ``hashed_ip`` the logs carried (before the privacy
    stage re-keys it, so run this stage first); ``ips`` match raw IPs;
    ``patterns`` are regexes searched in the first user message;
    ``user_agents`` regexes searched in any user turn's user-agent.
    """

    name = "dev_accounts"
    process_dropped = True
    description = (
        "drop developer/test accounts by IP hash, IP, first-message or user-agent pattern (dev_account)"
    )
    defaults: ClassVar[dict[str, Any]] = {"ip_hashes": [], "ips": [], "patterns": [], "user_agents": []}
    reasons = ("dev_account",)
    secret_keys = ("ips",)
    count_keys = ("ip_hashes", "patterns", "user_agents")  # published as counts, never the values

    def setup(self) -> None:
        self._hashes = {str(h) for h in self.config["ip_hashes"]}
        self._ips = {normalize_ip(str(ip)) or str(ip) for ip in self.config["ips"]}
        try:
            self._patterns = [re.compile(p) for p in self.config["patterns"]]
            self._agents = [re.compile(p) for p in self.config["user_agents"]]
        except re.error as exc:
            raise StageConfigError(f"dev_accounts: bad regex: {exc}") from exc

    def _is_dev(self, hips: list[Any], ips: list[Any], agents: list[Any], first: str | None) -> bool:
        if self._hashes and any(h in self._hashes for h in hips if h):
            return True
        if self._ips and any((normalize_ip(ip) or ip) in self._ips for ip in ips if ip):
            return True
        if self._agents and any(p.search(a) for a in agents if a for p in self._agents):
            return True
        return first is not None and any(p.search(first) for p in self._patterns)

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if not (self._hashes or self._ips or self._patterns or self._agents):
            return batch
        off = turn_offsets(batch).tolist()
        hips = turn_field(batch, "hashed_ip").to_pylist()
        agents = turn_field(batch, "header").field("user-agent").to_pylist()
        ips = batch.column("_ip").flatten().to_pylist()
        firsts = _first_user_messages(batch) if self._patterns else [None] * len(batch)
        mask = np.zeros(len(batch), dtype=bool)
        for i in range(len(batch)):
            mask[i] = self._is_dev(
                hips[off[i] : off[i + 1]], ips[off[i] : off[i + 1]], agents[off[i] : off[i + 1]], firsts[i]
            )
        return tag(batch, mask, "dev_account")
