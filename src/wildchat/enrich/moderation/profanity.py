"""The offline default toxicity decision: ``alt-profanity-check`` and/or the hashed model.

``alt-profanity-check`` (PyPI, MIT) is a maintained, pip-installable linear
SVM over word n-grams trained on profanity/offensive text; it is
precision-oriented (it rarely fires on ordinary chat).  The hashed model of
:mod:`wildchat.enrich.moderation.offline` is trained on ToxicChat's training
fold too, so it knows harmful *requests*.  :class:`OfflineRule` combines the
two scores; ``scripts/train_toxicity.py`` chooses the rule on out-of-fold
scores by the criterion in docs/quality.md (max F1 subject to flag rate <=
base rate and precision >= 0.4) and records it in the artefact
(``info["rule"]``): ``hashed >= 0.4 OR profanity >= 0.8``.  The shipped
default raises the hashed threshold to 0.5 (0.8 on assistant turns,
:class:`RoleAwareDefault`) to keep ordinary chat's flag rate under the
project's caps (docs/quality.md).

Both scores are the max over the same bounded windows of each text
(:func:`~wildchat.enrich.moderation.offline.windows`), so a 1 MB turn costs
at most 8 windows; blank text scores 0.0 and is never flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from wildchat.enrich.moderation.offline import FeatureSpec, load_offline, windows

RULE_KINDS = ("or", "and", "mean", "hashed", "profanity")
#: The hashed-model threshold per rule kind when a config leaves it unset (None = the artefact's own).
HASHED_DEFAULTS: dict[str, float | None] = {"or": 0.5, "and": 0.5, "mean": 0.3, "hashed": None}


@dataclass(frozen=True)
class OfflineRule:
    """How the offline default turns two scores into a flag.

    ``kind``: ``or``/``and`` -- hashed >= ``hashed_threshold`` or/and
    profanity >= ``profanity_threshold``; ``mean`` -- their average >=
    ``hashed_threshold``; ``hashed`` / ``profanity`` -- one score alone.
    ``hashed_threshold=None`` means the artefact's own tuned threshold (with
    ``kind="hashed"`` that is the previous default, 0.08).
    """

    kind: str = "or"
    hashed_threshold: float | None = 0.5
    profanity_threshold: float = 0.8

    def __post_init__(self) -> None:
        if self.kind not in RULE_KINDS:
            raise ValueError(f"offline rule kind must be one of {RULE_KINDS}")
        for t in (self.hashed_threshold, self.profanity_threshold):
            if t is not None and not 0.0 <= t <= 1.0:
                raise ValueError("offline rule thresholds must lie in [0, 1]")

    @property
    def uses_hashed(self) -> bool:
        return self.kind != "profanity"

    @property
    def uses_profanity(self) -> bool:
        return self.kind != "hashed"


def combine(
    rule: OfflineRule, hashed: Sequence[float], profane: Sequence[float], hashed_default: float = 0.5
) -> list[bool]:
    """Pure: the flags of ``rule`` for aligned score lists (an unused list may be empty).

    ``hashed_default`` replaces ``rule.hashed_threshold`` when that is None.
    """
    th = hashed_default if rule.hashed_threshold is None else rule.hashed_threshold
    tp = rule.profanity_threshold
    if rule.kind == "hashed":
        return [h >= th for h in hashed]
    if rule.kind == "profanity":
        return [p >= tp for p in profane]
    pairs = list(zip(hashed, profane, strict=True))
    if rule.kind == "or":
        return [h >= th or p >= tp for h, p in pairs]
    if rule.kind == "and":
        return [h >= th and p >= tp for h, p in pairs]
    return [(h + p) / 2 >= th for h, p in pairs]


class ProfanityToxicity:
    """P(profane) per text from ``alt-profanity-check`` (max over bounded windows)."""

    def __init__(self, spec: FeatureSpec | None = None) -> None:
        try:
            from profanity_check import predict_prob
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "the offline toxicity default needs alt-profanity-check: pip install 'wildchat[enrich]'"
            ) from exc
        self._predict: Any = predict_prob
        self.spec = spec or FeatureSpec()

    def scores(self, texts: Sequence[str]) -> list[float]:
        """Max over each text's windows of P(profane); blank text -> 0.0."""
        owners: list[int] = []
        pieces: list[str] = []
        for i, text in enumerate(texts):
            if text.strip():
                # Lone surrogates cannot be encoded by every tokenizer path; drop them.
                clean = text.encode("utf-8", "replace").decode("utf-8")
                for w in windows(clean, self.spec):
                    owners.append(i)
                    pieces.append(w)
        out = [0.0] * len(texts)
        if not pieces:
            return out
        for i, p in zip(owners, self._predict(pieces).tolist(), strict=True):
            out[i] = max(out[i], float(p))
        return out


class OfflineDefault:
    """The offline default engine: ``flags(texts)`` under an :class:`OfflineRule`."""

    def __init__(self, rule: OfflineRule | None = None, model_path: str | None = None) -> None:
        self.rule = rule or OfflineRule()
        self.hashed = load_offline(model_path) if self.rule.uses_hashed else None
        self.profanity = load_profanity() if self.rule.uses_profanity else None

    def flags(self, texts: Sequence[str]) -> list[bool]:
        """One flag per text (blank -> False)."""
        hashed = self.hashed.scores(texts) if self.hashed else []
        profane = self.profanity.scores(texts) if self.profanity else []
        default = self.hashed.threshold if self.hashed else 0.5
        flags = combine(self.rule, hashed, profane, default)
        return [f and bool(t.strip()) for f, t in zip(flags, texts, strict=True)]


class RoleAwareDefault:
    """The offline default with a stricter hashed threshold for assistant turns.

    The hashed model learnt from user prompts; long assistant replies carry
    many more n-grams and were over-flagged (13.5 % of LMSYS replies at the
    user threshold), so assistant turns use ``assistant`` -- the same rule
    with its own hashed threshold.  ``flags(texts, roles)``: one flag per text.
    """

    by_role = True

    def __init__(self, user: OfflineDefault, assistant: OfflineDefault) -> None:
        self.user, self.assistant = user, assistant

    def flags(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> list[bool]:
        roles = list(roles) if roles is not None else ["user"] * len(texts)
        out = [False] * len(texts)
        for engine, pick in ((self.assistant, True), (self.user, False)):
            idx = [i for i, r in enumerate(roles) if (r == "assistant") == pick]
            if idx:
                for i, f in zip(idx, engine.flags([texts[i] for i in idx]), strict=True):
                    out[i] = f
        return out


@cache
def load_profanity() -> ProfanityToxicity:
    """The profanity model, loaded once per process."""
    return ProfanityToxicity()
