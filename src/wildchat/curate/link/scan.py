"""First pass: each raw log -> a row of hashes and small metadata (no text).

:class:`ScanBuilder` turns validated :class:`~wildchat.schema.RawLog` records
into a :class:`ScanChunk`: numpy columns of 64-bit content-address keys,
timestamps and flags, plus an Arrow table of the short per-log metadata the
release needs later (IP, headers, geo, model).  Message text is hashed and
forgotten, so the link step's memory grows with the number of logs, not with
their size.  Validation is :func:`wildchat.schema.parse_raw_log` itself, so the
rules cannot drift from the schema.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from wildchat.curate.link.address import address_log, session_root
from wildchat.curate.link.fastparse import FastLog, fast_fields
from wildchat.curate.link.ingest import Unit, iter_unit
from wildchat.schema import RawLog, RecordError, parse_raw_log
from wildchat.skips import SkipReport

__all__ = [
    "CONSENT_AFTER",
    "CONSENT_MISSING",
    "CONSENT_OK",
    "META_FIELDS",
    "ScanBuilder",
    "ScanChunk",
    "scan_unit",
]

CONSENT_OK, CONSENT_MISSING, CONSENT_AFTER = 0, 1, 2
META_FIELDS = (
    "ip",
    "hashed_ip",
    "country",
    "state",
    "user_agent",
    "accept_language",
    "model",
    "conversation_id",
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def to_us(ts: datetime) -> int:
    return (ts - _EPOCH) // _US


@dataclass
class ScanChunk:
    """First-pass result of one unit (or of an in-memory stream of logs)."""

    unit: int
    pos: np.ndarray  # int64: where to read the log again
    line: np.ndarray  # int64: line/row number, for examples
    full: np.ndarray  # uint64 keys
    hist: np.ndarray
    first: np.ndarray
    rid: np.ndarray
    full16: np.ndarray  # V16: full internal address (keyed into conversation_id by linkplan)
    n_exch: np.ndarray  # int32
    ts: np.ndarray  # int64 microseconds
    consent: np.ndarray  # int8
    failed: np.ndarray  # bool
    inner: np.ndarray  # uint64, flat
    inner_off: np.ndarray  # int64, len n+1
    meta: pa.Table
    report: SkipReport = field(default_factory=SkipReport)

    def __len__(self) -> int:
        return len(self.pos)

    def head(self, n: int) -> ScanChunk:
        """The first ``n`` logs (for ``--limit``)."""
        cut = int(self.inner_off[n])
        return ScanChunk(
            self.unit,
            self.pos[:n],
            self.line[:n],
            self.full[:n],
            self.hist[:n],
            self.first[:n],
            self.rid[:n],
            self.full16[:n],
            self.n_exch[:n],
            self.ts[:n],
            self.consent[:n],
            self.failed[:n],
            self.inner[:cut],
            self.inner_off[: n + 1],
            self.meta.slice(0, n),
            self.report,
        )


class ScanBuilder:
    """Accumulates logs into a :class:`ScanChunk`."""

    def __init__(self, unit: int, failed_reasons: frozenset[str]) -> None:
        self.unit = unit
        self.failed_reasons = failed_reasons
        self.report = SkipReport()
        self._pos: list[int] = []
        self._line: list[int] = []
        self._keys: list[bytes] = []  # full, hist, first, rid keys packed per log
        self._full16: list[bytes] = []
        self._n: list[int] = []
        self._ts: list[int] = []
        self._consent: list[int] = []
        self._failed: list[bool] = []
        self._inner: list[bytes] = []
        self._inner_n: list[int] = []
        self._meta: list[list[str | None]] = [[] for _ in META_FIELDS]
        self._roots: dict[tuple[str | None, ...], bytes] = {}

    def __len__(self) -> int:
        return len(self._pos)

    def add(self, pos: int, log: RawLog, line: int = 0) -> None:
        """Add a validated :class:`RawLog`."""
        headers = log.headers or {}
        self._add(
            pos,
            line,
            FastLog(
                log.request_id,
                log.timestamp,
                log.model,
                [m.role for m in log.messages],
                [m.content for m in log.messages],
                log.response,
                log.finish_reason,
                log.conversation_id,
                log.ip,
                log.hashed_ip,
                log.country,
                log.state,
                headers.get("user-agent"),
                headers.get("accept-language"),
                log.consent.timestamp if log.consent is not None else None,
            ),
        )

    def _add(self, pos: int, line: int, f: FastLog) -> None:
        skey = (f.conversation_id, f.ip, f.hashed_ip, f.user_agent, f.accept_language, f.model)
        root = self._roots.get(skey)
        if root is None:
            if len(self._roots) > 200_000:
                self._roots.clear()
            root = self._roots[skey] = session_root(*skey)
        addr = address_log(root, f.roles, f.contents, f.response)
        rid = hashlib.blake2b(f.request_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        self._pos.append(pos)
        self._line.append(line)
        self._keys.append(addr.full[:8] + addr.hist[:8] + addr.first[:8] + rid)
        self._full16.append(addr.full)
        self._n.append(len(addr.inner) + 1)
        ts = to_us(f.ts)
        self._ts.append(ts)
        if f.consent_ts is None:
            self._consent.append(CONSENT_MISSING)
        else:
            self._consent.append(CONSENT_OK if to_us(f.consent_ts) <= ts else CONSENT_AFTER)
        self._failed.append(f.finish_reason in self.failed_reasons)
        self._inner.extend(h[:8] for h in addr.inner)
        self._inner_n.append(len(addr.inner))
        values = (
            f.ip,
            f.hashed_ip,
            f.country,
            f.state,
            f.user_agent,
            f.accept_language,
            f.model,
            f.conversation_id,
        )
        for col, value in zip(self._meta, values, strict=True):
            col.append(value)

    def add_object(self, pos: int, line: int, obj: object, source: str) -> bool:
        """Validate one decoded record and add it; count a skip if it is invalid.

        Validation is :func:`wildchat.schema.parse_raw_log` (the fast path of
        :mod:`wildchat.curate.link.fastparse` only ever declines to decide).
        """
        fast = fast_fields(obj)
        if fast is not None:
            self._add(pos, line, fast)
            return True
        try:
            log = parse_raw_log(obj)
        except RecordError as exc:
            self.report.skip(exc.reason, str(exc), source, line)
            return False
        except (TypeError, ValueError) as exc:  # shapes parse_raw_log does not anticipate
            self.report.skip("bad_type", f"record: {type(exc).__name__} while validating", source, line)
            return False
        self.add(pos, log, line)
        return True

    def finish(self) -> ScanChunk:
        keys = np.frombuffer(b"".join(self._keys), dtype="<u8").reshape(-1, 4)
        inner_off = np.zeros(len(self._pos) + 1, dtype=np.int64)
        np.cumsum(np.asarray(self._inner_n, dtype=np.int64), out=inner_off[1:])
        return ScanChunk(
            unit=self.unit,
            pos=np.asarray(self._pos, dtype=np.int64),
            line=np.asarray(self._line, dtype=np.int64),
            full=keys[:, 0].copy(),
            hist=keys[:, 1].copy(),
            first=keys[:, 2].copy(),
            rid=keys[:, 3].copy(),
            full16=np.frombuffer(b"".join(self._full16), dtype="V16").copy(),
            n_exch=np.asarray(self._n, dtype=np.int32),
            ts=np.asarray(self._ts, dtype=np.int64),
            consent=np.asarray(self._consent, dtype=np.int8),
            failed=np.asarray(self._failed, dtype=bool),
            inner=np.frombuffer(b"".join(self._inner), dtype="<u8").copy(),
            inner_off=inner_off,
            meta=pa.table(
                {name: pa.array(col, pa.string()) for name, col in zip(META_FIELDS, self._meta, strict=True)}
            ),
            report=self.report,
        )


def scan_unit(unit: Unit, failed_reasons: frozenset[str], limit: int | None = None) -> ScanChunk:
    """First pass over one unit.  Never raises for bad data: an unreadable
    unit becomes one ``unreadable_file`` skip and an empty chunk."""
    builder = ScanBuilder(unit.index, failed_reasons)
    try:
        for pos, line, obj in iter_unit(unit, builder.report):
            builder.add_object(pos, line, obj, unit.source)
            if limit is not None and len(builder) >= limit:
                break
    except Exception as exc:  # any failure to read the file: count it, keep going with other units
        report = builder.report
        builder = ScanBuilder(unit.index, failed_reasons)
        builder.report = report
        why = f": {exc.strerror}" if isinstance(exc, OSError) and exc.strerror else ""
        report.skip("unreadable_file", f"{type(exc).__name__}{why}: cannot read this input", unit.source)
    return builder.finish()
