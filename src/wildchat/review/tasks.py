"""What each review task asks, which turns it covers, and how they are stratified.

A task turns one released turn into a :class:`Judged` -- its *fine* stratum,
every detector's raw output (shown to annotators, kept in the queue) and each
detector's verdict (what the estimator scores against the human label) -- or
``None`` when the turn is outside the task's population.

===========  ===================================  ===========================================
task         population                           strata (first that applies)
===========  ===================================  ===========================================
toxicity     turns with ``toxic`` set             ``engines_disagree`` (OpenAI and Detoxify
                                                  both scored it and disagree),
                                                  ``near_threshold`` (Detoxify toxicity in
                                                  [t/2, 2t], OpenAI top score in [0.3, 0.7],
                                                  or offline margin in [0.5, 2) -- see
                                                  :mod:`~wildchat.review.rescore`),
                                                  ``flagged``, ``not_flagged``
jailbreak    user turns with ``jailbreak`` set    ``flagged``, ``cue`` (not flagged but has
                                                  a role-play / override cue), ``not_flagged``
pii          turns with ``redacted`` set          ``redacted``, ``cue`` (not redacted but has
                                                  an e-mail/number/URL/"my name is" cue),
                                                  ``not_redacted``
language     non-empty turns with ``language``    ``short`` (< 25 characters), ``lang:<L>``
                                                  for the 8 most frequent detected labels,
                                                  ``lang:other``
===========  ===================================  ===========================================

The cue strata only *oversample* likely misses; because every stratum's
population is counted, estimates stay unbiased whatever the cues catch.

Human label (``true``/``false``): toxicity -- "this turn is toxic";
jailbreak -- "this turn is a jailbreak attempt"; pii -- "this turn contained
personal information (as released, placeholders show what was removed)";
language -- "the detected language is correct".  For ``language`` the
detector's verdict is the label itself and the score is its accuracy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wildchat.enrich.toxic import DETOXIFY_THRESHOLD
from wildchat.review.rescore import NEAR_BAND

__all__ = [
    "QUESTIONS",
    "STRATA",
    "Judged",
    "ReleaseConfig",
    "judge_turn",
    "merge_strata",
]

QUESTIONS: dict[str, str] = {
    "toxicity": "Is this turn toxic (offensive, hateful, harassing, sexual, violent or self-harm content)?",
    "jailbreak": "Is this turn an attempt to jailbreak the model (make it ignore its rules)?",
    "pii": "Did this turn contain personal information (placeholders such as <EMAIL> show what was removed)?",
    "language": "Is the detected language correct?",
}
#: Declared strata per task, in precedence order (``language`` adds ``lang:<L>`` at sampling time).
STRATA: dict[str, tuple[str, ...]] = {
    "toxicity": ("engines_disagree", "near_threshold", "flagged", "not_flagged"),
    "jailbreak": ("flagged", "cue", "not_flagged"),
    "pii": ("redacted", "cue", "not_redacted"),
    "language": ("short", "lang:other"),
}
TOP_LANGUAGES = 8
SHORT_CHARS = 25
OPENAI_BAND = (0.3, 0.7)

_JAILBREAK_CUE = re.compile(
    r"ignore (all|any|the|your|previous|prior)|pretend|role[- ]?play|you are now|act as|\bDAN\b|"
    r"developer mode|jailbr|uncensored|no (restrictions|limits|rules|filters)|stay in character",
    re.IGNORECASE,
)
_PII_CUE = re.compile(
    r"[\w.+-]@[\w-]+\.|\d[\d ()./-]{6,}\d|https?://|\bmy name is\b|\bI live (in|at)\b|\baddress\b|"
    r"\bphone\b|\bpassport\b|\bssn\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ReleaseConfig:
    """Detector settings read from the release's ``stats.json`` (defaults when absent)."""

    detoxify_threshold: float = DETOXIFY_THRESHOLD
    toxic_engines: tuple[str, ...] = ()
    jailbreak_sources: tuple[str, ...] = ()

    @classmethod
    def from_stats(cls, stats: Mapping[str, Any] | None) -> ReleaseConfig:
        """Pick the moderation/jailbreak settings out of a ``stats.json`` document."""
        stages = {s.get("name"): s.get("config") or {} for s in (stats or {}).get("stages", []) or []}
        mod, jb = stages.get("moderation", {}), stages.get("jailbreak", {})
        return cls(
            detoxify_threshold=float(mod.get("detoxify_threshold") or DETOXIFY_THRESHOLD),
            toxic_engines=tuple(mod.get("engines_deciding_toxic") or ()),
            jailbreak_sources=tuple(jb.get("sources") or ()),
        )


@dataclass
class Judged:
    """One turn inside a task's population."""

    stratum: str
    detectors: dict[str, Any] = field(default_factory=dict)
    predictions: dict[str, Any] = field(default_factory=dict)


def _at(items: Any, i: int) -> Any:
    return items[i] if items is not None and i < len(items) else None


def _toxicity(row: Mapping[str, Any], i: int, turn: Mapping[str, Any], cfg: ReleaseConfig) -> Judged | None:
    if turn.get("toxic") is None:
        return None
    out = Judged("", {"toxic": bool(turn["toxic"])}, {"toxic": bool(turn["toxic"])})
    mod, detox = _at(row.get("openai_moderation"), i), _at(row.get("detoxify_moderation"), i)
    near = False
    if mod and mod.get("flagged") is not None:
        scores = [v for v in (mod.get("category_scores") or {}).values() if v is not None]
        top = max(scores, default=None)
        out.detectors["openai"] = {"flagged": bool(mod["flagged"]), "max_score": top}
        out.predictions["openai"] = bool(mod["flagged"])
        near |= top is not None and OPENAI_BAND[0] <= top <= OPENAI_BAND[1]
    if detox and detox.get("toxicity") is not None:
        score, t = float(detox["toxicity"]), cfg.detoxify_threshold
        out.detectors["detoxify"] = {"toxicity": score, "threshold": t}
        out.predictions["detoxify"] = score > t
        near |= t / 2 <= score <= 2 * t
    off = _at(row.get("_offline"), i)
    if off is not None:  # offline engine re-scored at sampling time (wildchat.review.rescore)
        out.detectors["offline_scores"] = off
        near |= NEAR_BAND[0] <= off["margin"] < NEAR_BAND[1]
    engines = cfg.toxic_engines
    if len(engines) == 1 and engines[0] not in out.predictions:
        out.predictions[engines[0]] = out.predictions["toxic"]  # the sole engine deciding ``toxic``
    if (
        "openai" in out.predictions
        and "detoxify" in out.predictions
        and (out.predictions["openai"] != out.predictions["detoxify"])
    ):
        out.stratum = "engines_disagree"
    elif near:
        out.stratum = "near_threshold"
    else:
        out.stratum = "flagged" if turn["toxic"] else "not_flagged"
    return out


def _jailbreak(row: Mapping[str, Any], i: int, turn: Mapping[str, Any], cfg: ReleaseConfig) -> Judged | None:
    if turn.get("role") != "user" or turn.get("jailbreak") is None:
        return None
    flag = bool(turn["jailbreak"])
    stratum = (
        "flagged" if flag else "cue" if _JAILBREAK_CUE.search(turn.get("content") or "") else "not_flagged"
    )
    return Judged(
        stratum,
        {
            "jailbreak": flag,
            "jailbreak_match": turn.get("jailbreak_match"),
            "sources": list(cfg.jailbreak_sources),
        },
        {"jailbreak": flag},
    )


def _pii(row: Mapping[str, Any], i: int, turn: Mapping[str, Any], cfg: ReleaseConfig) -> Judged | None:
    if turn.get("redacted") is None:
        return None
    flag = bool(turn["redacted"])
    stratum = "redacted" if flag else "cue" if _PII_CUE.search(turn.get("content") or "") else "not_redacted"
    return Judged(stratum, {"redacted": flag}, {"redacted": flag})


def _language(row: Mapping[str, Any], i: int, turn: Mapping[str, Any], cfg: ReleaseConfig) -> Judged | None:
    text = (turn.get("content") or "").strip()
    label = turn.get("language")
    if not text or label is None:
        return None
    stratum = "short" if len(text) < SHORT_CHARS else f"lang:{label}"
    return Judged(stratum, {"language": label}, {"language": label})


_TASKS: dict[str, Callable[[Mapping[str, Any], int, Mapping[str, Any], ReleaseConfig], Judged | None]] = {
    "toxicity": _toxicity,
    "jailbreak": _jailbreak,
    "pii": _pii,
    "language": _language,
}


def judge_turn(task: str, row: Mapping[str, Any], index: int, cfg: ReleaseConfig) -> Judged | None:
    """The task's view of turn ``index`` of release row ``row`` (None = not in the population)."""
    return _TASKS[task](row, index, row["conversation"][index], cfg)


def merge_strata(task: str, counts: Mapping[str, int]) -> dict[str, str]:
    """Map fine strata to final ones (``language``: rare labels fold into ``lang:other``)."""
    if task != "language":
        return {s: s for s in counts}
    langs = sorted((s for s in counts if s.startswith("lang:")), key=lambda s: (-counts[s], s))
    keep = set(langs[:TOP_LANGUAGES])
    return {s: s if s == "short" or s in keep else "lang:other" for s in counts}
