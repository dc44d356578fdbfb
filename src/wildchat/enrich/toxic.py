"""The toxicity rule: which turns and conversations are ``toxic``.

Default (WildChat's): a turn is toxic iff it is non-empty and (OpenAI
Moderation flagged it, or Detoxify ``toxicity`` > 0.1).  Other engines join
the same OR: a local HF classifier's chosen label above its threshold.  When
none of those engines ran, the offline classifier's flag stands in.

Three-valued on purpose: an engine that ran but could not judge a turn
(moderation *missing* after the retry budget) makes the verdict unknown
(``None``) unless another engine already says toxic -- a failed call never
becomes "not toxic".  A conversation is toxic iff any turn is; it is
``False`` only if every turn is ``False``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wildchat.schema import DetoxifyScores, Moderation

#: WildChat's Detoxify rule: a turn is toxic when its ``toxicity`` score is above this.
#: The one definition: the curation stage, the analysis report and review read it from here.
DETOXIFY_THRESHOLD = 0.1


@dataclass(frozen=True)
class ToxicRule:
    """Thresholds of the rule (defaults are WildChat's)."""

    detoxify_threshold: float = DETOXIFY_THRESHOLD
    classifier_threshold: float = 0.5
    use_moderation: bool = True
    use_detoxify: bool = True


@dataclass(frozen=True)
class TurnEvidence:
    """What each engine said about one turn; ``ran_*`` False = engine not configured.

    ``moderation``/``detoxify``/``classifier`` may be ``None`` while the engine
    ran: it could not judge this turn (missing).
    """

    content: str
    ran_moderation: bool = False
    moderation: Moderation | None = None
    ran_detoxify: bool = False
    detoxify: DetoxifyScores | None = None
    ran_classifier: bool = False
    classifier: float | None = None
    offline: bool | None = None


def kleene_or(values: Sequence[bool | None]) -> bool | None:
    """True if any is True; False if all are False; otherwise unknown (None)."""
    if any(v is True for v in values):
        return True
    if all(v is False for v in values):
        return False
    return None


def turn_toxic(ev: TurnEvidence, rule: ToxicRule = ToxicRule()) -> bool | None:
    """The rule for one turn (see the module docstring)."""
    if not ev.content.strip():
        return False
    votes: list[bool | None] = []
    if ev.ran_moderation and rule.use_moderation:
        votes.append(
            None if ev.moderation is None or ev.moderation.flagged is None else ev.moderation.flagged
        )
    if ev.ran_detoxify and rule.use_detoxify:
        tox = None if ev.detoxify is None else ev.detoxify.toxicity
        votes.append(None if tox is None else tox > rule.detoxify_threshold)
    if ev.ran_classifier:
        votes.append(None if ev.classifier is None else ev.classifier > rule.classifier_threshold)
    if not votes:
        return ev.offline
    return kleene_or(votes)


def conversation_toxic(turns: Sequence[bool | None]) -> bool | None:
    """Any turn toxic -> True; all False -> False; else unknown.  No turns -> False."""
    return kleene_or(list(turns)) if turns else False
