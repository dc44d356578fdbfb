"""The two records that flow through wildchat, defined once.

Layout: ``records`` (the dataclasses), ``arrow`` (schema derivation and
row conversion), ``validate`` (untrusted raw-log input).

Every other part of the toolkit (readers, the collection server's export, the
curation pipeline, the analysis report) imports its record shapes from here:

* :class:`RawLog` -- *raw log, format v1*: one record per chat request, as a
  collector or any LLM gateway writes it.  Input of ``wildchat curate``.
* :class:`Conversation` -- *release conversation*: one record per
  conversation in exactly the WildChat-1M schema, plus three documented
  extensions (``conversation_id`` and the turn-level ``jailbreak`` /
  ``jailbreak_match``).

The record classes are plain dataclasses.  Their Arrow schemas are *derived*
from the dataclass type hints by :func:`arrow_schema`, so the Python shape and
the Parquet shape cannot drift apart.  Field metadata carries the two things a
type hint cannot say:

* ``name`` -- the on-disk field name where it is not a Python identifier
  (``accept-language``, ``harassment/threatening``);
* ``keys`` -- for ``dict`` fields stored as an Arrow *struct* with a fixed set
  of keys (moderation categories and scores, Detoxify scores);
* ``json`` -- for free-form objects (``params``, ``usage``) stored as a JSON
  string, because their keys vary by backend.

Conversion between records and Arrow-ready rows is done by :func:`to_row` and
:func:`from_row`; validation of untrusted raw-log input by
:func:`parse_raw_log`, which raises :class:`RecordError` with a short machine
reason and a human message.
"""

from wildchat.schema.arrow import arrow_schema, from_row, raw_log_schema, release_schema, to_row
from wildchat.schema.records import (
    DETOXIFY_LABELS,
    OPENAI_MODERATION_CATEGORIES,
    ROLE_ALIASES,
    ROLES,
    Consent,
    Conversation,
    DetoxifyScores,
    Header,
    Message,
    Moderation,
    RawLog,
    Turn,
)
from wildchat.schema.validate import RecordError, parse_raw_log, parse_timestamp

__all__ = [
    "DETOXIFY_LABELS",
    "OPENAI_MODERATION_CATEGORIES",
    "ROLES",
    "ROLE_ALIASES",
    "Consent",
    "Conversation",
    "DetoxifyScores",
    "Header",
    "Message",
    "Moderation",
    "RawLog",
    "RecordError",
    "Turn",
    "arrow_schema",
    "from_row",
    "parse_raw_log",
    "parse_timestamp",
    "raw_log_schema",
    "release_schema",
    "to_row",
]
