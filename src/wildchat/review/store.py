"""The review queue: items, strata and labels in SQLite or PostgreSQL (SQLAlchemy Core).

Contracts:

* **No lost label.**  A label is one ``INSERT ... ON CONFLICT (item_id,
  annotator) DO UPDATE`` in its own transaction: concurrent annotators never
  overwrite each other, and a second label by the same annotator for the
  same item *replaces* the first (undo).  SQLite runs in WAL mode with a 30 s
  busy timeout so writers queue instead of failing.
* **Self-contained.**  Items keep the text as released, the detector
  outputs, the context turns and the stratum populations, so a report needs
  the queue alone -- the release may be deleted.
* **Order.**  Each annotator sees a task's items in their own random order
  (``blake2b(annotator, item_id)``) and never an item they labelled; two
  annotators therefore end up labelling the same items (full overlap).
* A SQLite queue file is created ``0600``: it holds released text.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wildchat.review.sampling import Sample
from wildchat.web.sqlite import sqlite_engine

__all__ = ["LABELS", "BadRequest", "QueueError", "ReviewStore", "UnknownItem", "queue_url"]

LABELS = ("true", "false", "skip")
metadata = sa.MetaData()
queues = sa.Table(
    "review_queues",
    metadata,
    sa.Column("task", sa.String(32), primary_key=True),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("split", sa.String(16), nullable=False),
    sa.Column("release", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("meta", sa.Text, nullable=False),
)
strata = sa.Table(
    "review_strata",
    metadata,
    sa.Column("task", sa.String(32), sa.ForeignKey("review_queues.task"), primary_key=True),
    sa.Column("stratum", sa.String(128), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("population", sa.BigInteger, nullable=False),
    sa.Column("sampled", sa.Integer, nullable=False),
)
items = sa.Table(
    "review_items",
    metadata,
    sa.Column("item_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("task", sa.String(32), sa.ForeignKey("review_queues.task"), nullable=False, index=True),
    sa.Column("stratum", sa.String(128), nullable=False),
    sa.Column("conversation_id", sa.Text, nullable=False),
    sa.Column("turn", sa.Integer, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("detectors", sa.Text, nullable=False),
    sa.Column("predictions", sa.Text, nullable=False),
    sa.Column("context", sa.Text, nullable=False),
    sa.Column("sample_key", sa.String(16), nullable=False),
)
labels = sa.Table(
    "review_labels",
    metadata,
    sa.Column("item_id", sa.Integer, sa.ForeignKey("review_items.item_id"), primary_key=True),
    sa.Column("annotator", sa.String(64), primary_key=True),
    sa.Column("task", sa.String(32), nullable=False, index=True),
    sa.Column("label", sa.String(8), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("revisions", sa.Integer, nullable=False),
)


class QueueError(ValueError):
    """The queue cannot be used as asked (missing, already holds the task, ...)."""


class UnknownItem(LookupError):
    """No such item in the queue (HTTP 404)."""


class BadRequest(ValueError):
    """A task the queue was not built for, a label that is not true/false/skip, ... (HTTP 400)."""


def queue_url(target: str | Path) -> str:
    """A SQLAlchemy URL for ``target``: a URL is kept, a path becomes ``sqlite:///ABS``."""
    s = str(target)
    return s if "://" in s else f"sqlite:///{Path(s).expanduser().resolve()}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _order(annotator: str, item_id: int) -> bytes:
    return hashlib.blake2b(f"{annotator}\x00{item_id}".encode(), digest_size=8).digest()


#: Run on every queue connection: readers never block a labeller's write; foreign keys enforced.
SQLITE_PRAGMAS = ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON")


class ReviewStore:
    """One review queue (see the module docstring for the contracts)."""

    def __init__(self, target: str | Path, *, create: bool = False) -> None:
        self.url = queue_url(target)
        sqlite = self.url.startswith("sqlite")
        if sqlite:
            path = Path(self.url.split(":///", 1)[1])
            if not create and not path.exists():
                raise QueueError(f"queue not found: {path}")
            # the queue holds flagged turns (raw text): created 0600 (a new folder 0700)
            self.engine: Engine = sqlite_engine(self.url, SQLITE_PRAGMAS, timeout_s=30, private=True)
        else:
            self.engine = sa.create_engine(self.url, pool_pre_ping=True)
        if create:
            metadata.create_all(self.engine)
        elif not sa.inspect(self.engine).has_table("review_items"):
            self.engine.dispose()
            raise QueueError(f"not a review queue: {self.url.split('@')[-1]}")
        self._ids: dict[str, list[int]] = {}

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ building

    def add_sample(self, sample: Sample, release: str) -> int:
        """Store ``sample`` as the queue of its task; returns the number of items."""
        with self.engine.begin() as conn:
            if conn.execute(sa.select(queues.c.task).where(queues.c.task == sample.task)).first():
                raise QueueError(f"the queue already holds task {sample.task!r}; use a new queue file")
            start = conn.execute(sa.select(sa.func.coalesce(sa.func.max(items.c.item_id), 0))).scalar_one()
            conn.execute(
                queues.insert().values(
                    task=sample.task,
                    seed=sample.seed,
                    size=sample.size,
                    split=sample.split,
                    release=release,
                    created_at=_now(),
                    meta=json.dumps(sample.meta, sort_keys=True),
                )
            )
            conn.execute(
                strata.insert(),
                [
                    {
                        "task": sample.task,
                        "stratum": s.name,
                        "position": k,
                        "population": s.population,
                        "sampled": s.sampled,
                    }
                    for k, s in enumerate(sample.strata)
                ],
            )
            rows = [
                {
                    "item_id": start + 1 + k,
                    "task": sample.task,
                    "stratum": it.stratum,
                    "conversation_id": it.conversation_id,
                    "turn": it.turn,
                    "role": it.role,
                    "text": it.text,
                    "detectors": json.dumps(it.detectors, sort_keys=True),
                    "predictions": json.dumps(it.predictions, sort_keys=True),
                    "context": json.dumps(it.context),
                    "sample_key": f"{it.key:016x}",
                }
                for k, it in enumerate(sample.items)
            ]
            if rows:
                conn.execute(items.insert(), rows)
        return len(sample.items)

    # ------------------------------------------------------------------ reading

    def tasks(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(queues.c.task).order_by(queues.c.task)).scalars())

    def queue_info(self, task: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(queues).where(queues.c.task == task)).mappings().first()
        if row is None:
            raise BadRequest(
                f"this queue was not built for task {task!r} (it holds: {', '.join(self.tasks())})"
            )
        return {**dict(row), "meta": json.loads(row["meta"])}

    def strata(self, task: str) -> list[dict[str, Any]]:
        q = sa.select(strata).where(strata.c.task == task).order_by(strata.c.position)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def _decode(self, row: Any) -> dict[str, Any]:
        out = dict(row)
        for k in ("detectors", "predictions", "context"):
            if k in out:
                out[k] = json.loads(out[k])
        return out

    def item(self, item_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(items).where(items.c.item_id == item_id)).mappings().first()
        if row is None:
            raise UnknownItem(f"no item {item_id} in this queue")
        return self._decode(row)

    def items(self, task: str, *, with_text: bool = True) -> list[dict[str, Any]]:
        cols = [c for c in items.c if with_text or c.name not in ("text", "context")]
        q = sa.select(*cols).where(items.c.task == task).order_by(items.c.item_id)
        with self.engine.connect() as conn:
            return [self._decode(r) for r in conn.execute(q).mappings()]

    def labels(self, task: str | None = None) -> list[dict[str, Any]]:
        q = sa.select(labels).order_by(labels.c.item_id, labels.c.annotator)
        if task is not None:
            q = q.where(labels.c.task == task)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def _item_ids(self, task: str) -> list[int]:
        if task not in self._ids:
            q = sa.select(items.c.item_id).where(items.c.task == task)
            with self.engine.connect() as conn:
                self._ids[task] = list(conn.execute(q).scalars())
        return self._ids[task]

    def next_item(self, annotator: str, task: str) -> dict[str, Any] | None:
        """The annotator's next unlabelled item of ``task`` in their own order, or None when done."""
        self.queue_info(task)
        q = sa.select(labels.c.item_id).where(labels.c.annotator == annotator, labels.c.task == task)
        with self.engine.connect() as conn:
            done = set(conn.execute(q).scalars())
        todo = [i for i in self._item_ids(task) if i not in done]
        if not todo:
            return None
        return self.item(min(todo, key=lambda i: _order(annotator, i)))

    # ------------------------------------------------------------------ labelling

    def put_label(self, item_id: int, annotator: str, task: str, label: str) -> None:
        """Record (or replace) ``annotator``'s label for ``item_id``; see the module contract."""
        if label not in LABELS:
            raise BadRequest(f"label must be true, false or 'skip', not {label!r}")
        info = self.item(item_id)
        self.queue_info(task)
        if info["task"] != task:
            raise BadRequest(f"item {item_id} belongs to task {info['task']!r}, not {task!r}")
        now = _now()
        values = {
            "item_id": item_id,
            "annotator": annotator,
            "task": task,
            "label": label,
            "created_at": now,
            "updated_at": now,
            "revisions": 1,
        }
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
        stmt = dialect_insert(labels).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[labels.c.item_id, labels.c.annotator],
            set_={"label": label, "updated_at": now, "revisions": labels.c.revisions + 1},
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def progress(self) -> dict[str, Any]:
        """Items per task and stratum; labels per annotator, task and stratum."""
        with self.engine.connect() as conn:
            item_rows = conn.execute(sa.select(items.c.task, items.c.stratum, items.c.item_id)).all()
            label_rows = conn.execute(sa.select(labels.c.annotator, labels.c.item_id, labels.c.label)).all()
        where = {r.item_id: (r.task, r.stratum) for r in item_rows}
        tasks: dict[str, Any] = {}
        for r in item_rows:
            t = tasks.setdefault(r.task, {"items": 0, "strata": defaultdict(int)})
            t["items"] += 1
            t["strata"][r.stratum] += 1
        ann: dict[str, Any] = {}
        for r in label_rows:
            task, stratum = where[r.item_id]
            a = ann.setdefault(r.annotator, {}).setdefault(
                task, {"labelled": 0, "skipped": 0, "true": 0, "false": 0, "strata": defaultdict(int)}
            )
            a["labelled"] += 1
            a["skipped" if r.label == "skip" else r.label] += 1
            a["strata"][stratum] += 1
        for a in ann.values():
            for task, t in a.items():
                t["remaining"] = tasks[task]["items"] - t["labelled"]
                t["strata"] = dict(t["strata"])
        for t in tasks.values():
            t["strata"] = dict(t["strata"])
        return {"tasks": tasks, "annotators": ann}
