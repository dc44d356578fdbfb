"""Re-score turns with the offline toxicity engine, so an offline release has a "near threshold" stratum.

A release curated with the offline default stores only the ``toxic`` flag, not
the scores behind it, so the toxicity task could not tell a borderline turn
from a clear one.  When the release's ``stats.json`` says the offline
(or profanity) engine alone decided ``toxic``, :class:`OfflineRescorer`
recomputes the two scores with the same rule and thresholds and gives each
turn its *margin*: the rule's score over its threshold (flag iff margin >= 1).

* ``or``: ``max(h / t_h, p / t_p)``; ``and``: ``min(...)``; ``mean``:
  ``(h + p) / 2 / t``; ``hashed`` / ``profanity``: one ratio.
* Turns with margin in [0.5, 2) form the ``near_threshold`` stratum.
* The rescore is checked against the released flag (``agreement`` in the
  queue meta); if the engine's model changed since curation the strata are
  still valid partitions -- only less sharp -- because every stratum's
  population is counted.

Needs the ``enrich`` extra (scikit-learn, alt-profanity-check); without it
sampling goes on without the stratum and says so.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["NEAR_BAND", "OfflineRescorer"]

NEAR_BAND = (0.5, 2.0)


class OfflineRescorer:
    """Margins of the offline rule for release turns (see the module docstring)."""

    def __init__(
        self,
        kind: str,
        hashed_threshold: float | None,
        profanity_threshold: float,
        model_path: str | None = None,
        assistant_threshold: float | None = None,
    ) -> None:
        from wildchat.enrich.moderation.offline import load_offline
        from wildchat.enrich.moderation.profanity import load_profanity

        self.kind = kind
        self.hashed = load_offline(model_path) if kind != "profanity" else None
        self.profanity = load_profanity() if kind != "hashed" else None
        self.t_hashed = float(
            hashed_threshold if hashed_threshold is not None else getattr(self.hashed, "threshold", 0.5)
        )
        self.t_profanity = float(profanity_threshold)
        # the stage's role-aware default: a stricter hashed threshold for assistant turns
        self.t_hashed_assistant = (
            float(assistant_threshold) if assistant_threshold is not None else self.t_hashed
        )
        self.checked = 0
        self.agree = 0

    @classmethod
    def for_release(cls, stats: Mapping[str, Any] | None) -> tuple[OfflineRescorer | None, str]:
        """A rescorer when a fallback engine alone decided ``toxic``; else None and the reason."""
        stages = {s.get("name"): s.get("config") or {} for s in (stats or {}).get("stages", []) or []}
        mod = stages.get("moderation")
        if mod is None:
            return None, "no moderation stage in stats.json"
        deciding = list(mod.get("engines_deciding_toxic") or [])
        if deciding not in (["offline"], ["profanity"], ["offline", "profanity"]):
            return None, f"engines {deciding} store their own scores"
        if any(importlib.util.find_spec(m) is None for m in ("sklearn", "profanity_check")):
            return None, "the enrich extra (scikit-learn, alt-profanity-check) is not installed"
        from wildchat.enrich.moderation.profanity import HASHED_DEFAULTS, OfflineRule

        kind = "profanity" if deciding == ["profanity"] else str(mod.get("offline_rule") or "or")
        cut = mod.get("offline_threshold")
        hashed = HASHED_DEFAULTS.get(kind) if cut is None else float(cut)
        role_aware = "offline" in deciding and kind != "profanity"
        assistant = mod.get("offline_assistant_threshold") if role_aware else None
        profanity = float(mod.get("profanity_threshold", OfflineRule().profanity_threshold))
        return cls(kind, hashed, profanity, mod.get("offline_model_path"), assistant), "ok"

    def margins(
        self, texts: Sequence[str], roles: Sequence[str | None] | None = None
    ) -> list[dict[str, float]]:
        """Scores and margin per text (blank text: margin 0); ``roles`` pick the hashed threshold."""
        h = self.hashed.scores(texts) if self.hashed else [0.0] * len(texts)
        p = self.profanity.scores(texts) if self.profanity else [0.0] * len(texts)
        roles = list(roles) if roles is not None else ["user"] * len(texts)
        out = []
        for text, hs, ps, role in zip(texts, h, p, roles, strict=True):
            t_h = self.t_hashed_assistant if role == "assistant" else self.t_hashed
            rh, rp = hs / t_h, ps / self.t_profanity
            m = {
                "or": max(rh, rp),
                "and": min(rh, rp),
                "mean": (hs + ps) / 2 / t_h,
                "hashed": rh,
                "profanity": rp,
            }[self.kind]
            out.append(
                {
                    "hashed": round(hs, 4),
                    "profanity": round(ps, 4),
                    "margin": round(m, 4) if text.strip() else 0.0,
                }
            )
        return out

    def annotate(self, rows: list[dict[str, Any]]) -> None:
        """Add ``row["_offline"]`` (one entry per turn, None outside the toxicity population)."""
        where: list[tuple[int, int]] = []
        texts: list[str] = []
        roles: list[str | None] = []
        for r, row in enumerate(rows):
            conv = row["conversation"] or []
            row["_offline"] = [None] * len(conv)
            for i, turn in enumerate(conv):
                if turn.get("toxic") is not None:
                    where.append((r, i))
                    texts.append(turn.get("content") or "")
                    roles.append(turn.get("role"))
        if not texts:
            return
        for (r, i), m in zip(where, self.margins(texts, roles), strict=True):
            rows[r]["_offline"][i] = m
            self.checked += 1
            self.agree += (m["margin"] >= 1) == bool(rows[r]["conversation"][i]["toxic"])

    def summary(self) -> dict[str, Any]:
        """What the queue meta records: the rule and how often the rescore matched the released flag."""
        return {
            "rule": self.kind,
            "hashed_threshold": self.t_hashed,
            "hashed_assistant_threshold": self.t_hashed_assistant,
            "profanity_threshold": self.t_profanity,
            "near_band": list(NEAR_BAND),
            "turns": self.checked,
            "agreement": round(self.agree / self.checked, 4) if self.checked else None,
        }
