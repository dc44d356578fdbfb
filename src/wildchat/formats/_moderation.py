"""Moderation results from sources: OpenAI Moderation lists and Detoxify scores.

Both are lists with one entry per turn.  OpenAI categories are kept under the
WildChat category names (:data:`OPENAI_MODERATION_CATEGORIES`); categories a
source lacks stay null and unknown ones are dropped, never invented.
"""

from __future__ import annotations

from typing import Any

from wildchat.formats._build import req_dict
from wildchat.schema import (
    DETOXIFY_LABELS,
    OPENAI_MODERATION_CATEGORIES,
    DetoxifyScores,
    Moderation,
    RecordError,
)

__all__ = ["parse_detoxify", "parse_moderation"]


def _keyed(value: Any, kind: type, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError("bad_type", f"{where}: expected an object")
    out = {}
    for k in OPENAI_MODERATION_CATEGORIES:
        v = value.get(k)
        if v is None:
            continue
        if kind is float and isinstance(v, int | float) and not isinstance(v, bool):
            out[k] = float(v)
        elif kind is bool and isinstance(v, bool):
            out[k] = v
        else:
            raise RecordError("bad_type", f"{where}.{k}: expected a {kind.__name__}")
    return out


def parse_moderation(value: Any, n_turns: int) -> list[Moderation] | None:
    """LMSYS/OpenAI moderation list -> one :class:`Moderation` per turn (or ``None``)."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != n_turns:
        raise RecordError("bad_type", "openai_moderation: expected one entry per message")
    out = []
    for i, m in enumerate(value):
        where = f"openai_moderation[{i}]"
        m = req_dict(m, where)
        flagged = m.get("flagged")
        if flagged is not None and not isinstance(flagged, bool):
            raise RecordError("bad_type", f"{where}.flagged: expected a boolean")
        out.append(
            Moderation(
                categories=_keyed(m.get("categories"), bool, f"{where}.categories"),
                category_scores=_keyed(m.get("category_scores"), float, f"{where}.category_scores"),
                flagged=flagged,
            )
        )
    return out


def _score(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise RecordError("bad_type", f"{where}: expected a number")


def parse_detoxify(value: Any, n_turns: int) -> list[DetoxifyScores] | None:
    """Detoxify list (one ``{label: score}`` per turn) -> :class:`DetoxifyScores` list."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != n_turns:
        raise RecordError("bad_type", "detoxify_moderation: expected one entry per turn")
    out = []
    for i, d in enumerate(value):
        d = req_dict(d, f"detoxify_moderation[{i}]")
        out.append(
            DetoxifyScores(**{k: _score(d.get(k), f"detoxify_moderation[{i}].{k}") for k in DETOXIFY_LABELS})
        )
    return out
