"""Toxicity, moderation categories and jailbreaks, per turn, streaming.

Detectors (WildChat's definitions):

* ``openai_moderation``: the turn's OpenAI Moderation entry is ``flagged``;
* ``detoxify``: the turn's Detoxify ``toxicity`` score is above
  :data:`wildchat.enrich.toxic.DETOXIFY_THRESHOLD` (0.1);
* ``union``: the turn's ``toxic`` field; where a reader left it null but a
  detector result exists, the same rule (either detector) is applied to it.

A turn counts for a detector only where that detector's result is known;
shares are toxic / known.  Moderation lists must hold one entry per turn --
a conversation whose list length differs from its turn count is unknown.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wildchat.analyze.view import BatchView, BoolArr
from wildchat.enrich.toxic import DETOXIFY_THRESHOLD
from wildchat.schema import OPENAI_MODERATION_CATEGORIES

__all__ = ["DETECTORS", "ToxicityStats", "canonical_category"]

DETECTORS = ("openai_moderation", "detoxify", "union")
ROLES = ("user", "assistant")


def canonical_category(name: str) -> str:
    """Merge the slash and underscore spellings the Moderation API returned."""
    return name.replace("self_harm", "self-harm").replace("_", "/")


CATEGORIES = tuple(dict.fromkeys(canonical_category(c) for c in OPENAI_MODERATION_CATEGORIES))


def _np_bool(arr: pa.Array) -> BoolArr:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _detector(view: BatchView, column: str, field: str) -> tuple[BoolArr, BoolArr, pa.Array]:
    """``(known, toxic, entries)`` per turn for one moderation column."""
    aligned, entries = view.aligned(column)
    known = np.zeros(view.n_turns, dtype=bool)
    toxic = np.zeros(view.n_turns, dtype=bool)
    if len(entries) == 0 or entries.type.get_field_index(field) < 0:
        return known, toxic, entries
    score = pc.struct_field(entries, field)
    value = pc.greater(score, DETOXIFY_THRESHOLD) if field == "toxicity" else score
    known[aligned] = _np_bool(pc.is_valid(score))
    toxic[aligned] = _np_bool(value)
    return known, toxic, entries


class ToxicityStats:
    """Counts behind every toxicity and jailbreak figure of the report."""

    def __init__(self) -> None:
        # counts[role][detector] = [known, toxic]
        self.counts = {r: {d: [0, 0] for d in DETECTORS} for r in ROLES}
        self.overlap = {r: Counter[str]() for r in ROLES}
        self.months: dict[str, dict[str, list[int]]] = defaultdict(lambda: {r: [0, 0] for r in ROLES})
        self.categories = {r: Counter[str]() for r in ROLES}
        self.category_known = dict.fromkeys(ROLES, 0)
        self.jb_known = 0
        self.jb_turns = 0
        self.jb_user_turns = 0
        self.jb_occ: Counter[str] = Counter()
        self.jb_users: dict[str, set[str]] = defaultdict(set)
        self.jb_eval: Counter[str] = Counter()
        self.jb_success: Counter[str] = Counter()

    def update(self, view: BatchView, users: pa.Array) -> None:
        """Fold one batch; ``users`` is the per-conversation user pseudonym."""
        if view.n_turns == 0:
            return
        om_k, om_t, om_entries = _detector(view, "openai_moderation", "flagged")
        dx_k, dx_t, _ = _detector(view, "detoxify_moderation", "toxicity")
        turn_toxic = view.turn("toxic")
        un_k = _np_bool(pc.is_valid(turn_toxic))
        un_t = _np_bool(turn_toxic)
        derive = ~un_k & (om_k | dx_k)
        un_t = np.where(derive, (om_k & om_t) | (dx_k & dx_t), un_t)
        un_k = un_k | derive
        flags = {"openai_moderation": (om_k, om_t), "detoxify": (dx_k, dx_t), "union": (un_k, un_t)}
        roles = {"user": view.is_user, "assistant": view.is_assistant}
        for role, mask in roles.items():
            for det, (k, t) in flags.items():
                self.counts[role][det][0] += int((mask & k).sum())
                self.counts[role][det][1] += int((mask & k & t).sum())
            both = mask & om_k & dx_k
            self.overlap[role]["both"] += int((both & om_t & dx_t).sum())
            self.overlap[role]["openai_only"] += int((both & om_t & ~dx_t).sum())
            self.overlap[role]["detoxify_only"] += int((both & ~om_t & dx_t).sum())
            self.overlap[role]["neither"] += int((both & ~om_t & ~dx_t).sum())
        self._months(view, roles, un_k, un_t)
        self._categories(view, roles, om_k, om_entries)
        self._jailbreaks(view, users, un_k, un_t)

    def _months(self, view: BatchView, roles: dict[str, BoolArr], known: BoolArr, toxic: BoolArr) -> None:
        ts = view.col("timestamp")
        if not pa.types.is_timestamp(ts.type) or ts.null_count == len(ts):
            return
        month = pc.strftime(ts, format="%Y-%m").fill_null("")
        codes = pc.dictionary_encode(month)
        per_turn = np.asarray(codes.indices.to_numpy(zero_copy_only=False), dtype=np.int64)[view.parent]
        for code, label in enumerate(codes.dictionary.to_pylist()):
            if not label:
                continue
            in_month = per_turn == code
            for role, mask in roles.items():
                sel = in_month & mask & known
                n_sel = int(sel.sum())
                if n_sel:
                    cell = self.months[label][role]
                    cell[0] += n_sel
                    cell[1] += int((sel & toxic).sum())

    def _categories(
        self, view: BatchView, roles: dict[str, BoolArr], om_k: BoolArr, entries: pa.Array
    ) -> None:
        if not om_k.any() or entries.type.get_field_index("categories") < 0:
            return
        aligned, _ = view.aligned("openai_moderation")
        cats = pc.struct_field(entries, "categories")
        present = {cats.type.field(i).name for i in range(cats.type.num_fields)}
        per_canon: dict[str, BoolArr] = {}
        for name in OPENAI_MODERATION_CATEGORIES:
            if name not in present:
                continue
            flag = np.zeros(view.n_turns, dtype=bool)
            flag[aligned] = _np_bool(pc.struct_field(cats, name))
            canon = canonical_category(name)
            per_canon[canon] = per_canon.get(canon, flag) | flag
        for role, mask in roles.items():
            sel = mask & om_k
            self.category_known[role] += int(sel.sum())
            for canon, flag in per_canon.items():
                self.categories[role][canon] += int((sel & flag).sum())

    def _jailbreaks(self, view: BatchView, users: pa.Array, un_k: BoolArr, un_t: BoolArr) -> None:
        jb, match = view.turn("jailbreak"), view.turn("jailbreak_match")
        is_user = view.is_user
        known = (_np_bool(pc.is_valid(jb)) | _np_bool(pc.is_valid(match))) & is_user
        self.jb_known += int(known.sum())
        self.jb_user_turns += int(is_user.sum())
        self.jb_turns += int((is_user & (_np_bool(jb) | _np_bool(pc.is_valid(match)))).sum())
        hit = np.flatnonzero(is_user & _np_bool(pc.is_valid(match)))
        if hit.size == 0:
            return
        idx = pa.array(hit, type=pa.int64())
        families = match.take(idx).to_pylist()
        turn_ip = view.turn("hashed_ip").take(idx).to_pylist()
        conv_ip = users.take(pa.array(view.parent[hit], type=pa.int64())).to_pylist()
        for k, fam, tip, cip in zip(hit.tolist(), families, turn_ip, conv_ip, strict=True):
            self.jb_occ[fam] += 1
            if tip or cip:
                self.jb_users[fam].add(str(tip or cip))
            nxt = k + 1
            replied = nxt < view.n_turns and view.parent[nxt] == view.parent[k] and view.is_assistant[nxt]
            if replied and un_k[nxt]:
                self.jb_eval[fam] += 1
                self.jb_success[fam] += int(un_t[nxt])

    def missing(self) -> list[str]:
        """Toxicity-related fields this dataset never carries."""
        out = []
        for det, field in (("openai_moderation", "openai_moderation"), ("detoxify", "detoxify_moderation")):
            if not any(self.counts[r][det][0] for r in ROLES):
                out.append(field)
        if not any(self.counts[r]["union"][0] for r in ROLES):
            out.append("toxic")
        if not self.jb_known:
            out.append("jailbreak")
        return out

    def _shares(self, role: str) -> dict[str, float] | None:
        out = {d: t / k for d, (k, t) in self.counts[role].items() if k}
        return out or None

    def result(self) -> dict[str, Any]:
        """JSON-ready toxicity statistics (``None`` where unknown)."""
        months = {
            m: {
                **{r: (c[r][1] / c[r][0] if c[r][0] else None) for r in ROLES},
                **{f"n_{r}": c[r][0] for r in ROLES},
            }
            for m, c in sorted(self.months.items())
        }
        table = [
            {
                "family": fam,
                "occurrences": occ,
                "users": len(self.jb_users[fam]) if self.jb_users[fam] else None,
                "replies_evaluated": self.jb_eval[fam],
                "success_rate": self.jb_success[fam] / self.jb_eval[fam] if self.jb_eval[fam] else None,
            }
            for fam, occ in sorted(self.jb_occ.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        cats = {
            r: {c: self.categories[r][c] / self.category_known[r] for c in CATEGORIES}
            for r in ROLES
            if self.category_known[r]
        }
        return {
            "toxic_user_share": self._shares("user"),
            "toxic_assistant_share": self._shares("assistant"),
            "toxicity_counts": {
                r: {d: {"known": k, "toxic": t} for d, (k, t) in self.counts[r].items()} for r in ROLES
            },
            "detector_overlap": {r: dict(self.overlap[r]) for r in ROLES if sum(self.overlap[r].values())}
            or None,
            "toxicity_by_month": months or None,
            "moderation_category_shares": cats or None,
            "jailbreak_share": self.jb_turns / self.jb_user_turns
            if self.jb_known and self.jb_user_turns
            else None,
            "jailbreak_table": table if self.jb_known else None,
        }
