"""Streaming statistics of one dataset over release-schema record batches.

:class:`DatasetStats` is fed batch by batch (:meth:`DatasetStats.update`) and
keeps only bounded state: counters keyed by small vocabularies (languages,
models, countries, months, jailbreak families), mergeable moments and
histograms, 8-byte fingerprints of distinct users, and two fixed-size seeded
reservoirs of prompts (entropy and embedding samples).  :meth:`result`
returns the JSON-ready statistics; every definition is in docs/analysis.md.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wildchat.analyze.moments import LogHistogram, RunningMoments, TokenSample
from wildchat.analyze.sampling import Reservoir
from wildchat.analyze.toxicity import ToxicityStats
from wildchat.analyze.view import BatchView
from wildchat.text.tokenize import TokenCounter

__all__ = ["NOLANG", "DatasetStats", "shares"]

#: Language labels that do not count as a language (WildChat's blank label).
NOLANG = frozenset({"nolang", "unknown", "und", ""})


def shares(counts: Counter[str], total: int | None = None) -> dict[str, float]:
    """``counts`` as shares of ``total`` (default: their sum), largest first."""
    denom = total if total is not None else sum(counts.values())
    if not denom:
        return {}
    return {k: v / denom for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


def _value_counts(arr: pa.Array, into: Counter[str]) -> int:
    """Add the non-null values of ``arr`` to ``into``; return how many."""
    if pa.types.is_null(arr.type) or arr.null_count == len(arr):
        return 0
    vc = pc.value_counts(arr.drop_null())
    values = vc.field("values").to_pylist()
    counts = vc.field("counts").to_pylist()
    for v, c in zip(values, counts, strict=True):
        into[str(v)] += c
    return int(sum(counts))


class _Distinct:
    """Distinct strings, kept as 64-bit fingerprints (8 bytes each).

    Fingerprints use Python's per-process string hash: a collision among a
    million users has probability ~3e-8, and nothing is stored across runs.
    """

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []
        self._pending = 0
        self.seen = False

    def add(self, arr: pa.Array) -> None:
        if pa.types.is_null(arr.type) or arr.null_count == len(arr):
            return
        self.seen = True
        uniq = pc.unique(arr.drop_null()).to_pylist()
        self._parts.append(np.fromiter((hash(u) for u in uniq), dtype=np.int64, count=len(uniq)))
        self._pending += len(uniq)
        if self._pending > 1_000_000:
            self._parts = [np.unique(np.concatenate(self._parts))]
            self._pending = 0

    def count(self) -> int | None:
        if not self.seen:
            return None
        return int(np.unique(np.concatenate(self._parts)).size) if self._parts else 0


class DatasetStats:
    """All statistics of one dataset, accumulated over its batches.

    ``sample`` is the size of the user-prompt reservoir (entropy),
    ``embed_sample`` of the first-prompt reservoir (embedding map) and
    ``token_sample`` the number of messages per role whose tokens are counted
    (all of them when the dataset has no more; see :class:`TokenSample`).
    All are seeded by ``(seed, name)`` so reruns pick the same items.
    ``detect_language`` (see :mod:`wildchat.analyze.langid`) labels the
    conversations that have no language label.
    """

    def __init__(
        self,
        name: str,
        counter: TokenCounter,
        sample: int = 1000,
        embed_sample: int = 500,
        seed: int = 0,
        token_sample: int = 50_000,
        detect_language: Callable[[str], str | None] | None = None,
    ) -> None:
        self.name = name
        self.counter = counter
        self.n_conversations = 0
        self.turn_hist: Counter[int] = Counter()
        self.users = _Distinct()
        self.languages: Counter[str] = Counter()
        self.models: Counter[str] = Counter()
        self.countries: Counter[str] = Counter()
        self.known = Counter[str]()  # conversations with the field set
        self.tokens = {
            r: TokenSample(token_sample, f"{seed}:tokens:{name}:{r}") for r in ("user", "assistant")
        }
        self.empty = {"user": 0, "assistant": 0}
        self._expected = 0
        self.detect_language = detect_language
        self.detected_languages = 0
        self.prompts: Reservoir[str] = Reservoir(sample, f"{seed}:prompts:{name}")
        self.first_prompts: Reservoir[str] = Reservoir(embed_sample, f"{seed}:embed:{name}")
        self.toxicity = ToxicityStats()

    def expect(self, n_conversations: int) -> None:
        """Hint the dataset's size (known from Parquet metadata) before streaming.

        Lets the token samples pick their threshold from the first batch's
        messages per conversation (see :meth:`TokenSample.expect`).
        """
        self._expected = n_conversations

    def update(self, batch: pa.RecordBatch) -> None:
        """Fold one release-schema batch into the statistics."""
        view = BatchView(batch)
        if view.n == 0:
            return
        if self._expected and self.n_conversations == 0:
            for role, mask in (("user", view.is_user), ("assistant", view.is_assistant)):
                self.tokens[role].expect(mask.sum() / view.n * self._expected)
        self.n_conversations += view.n
        self.turn_hist.update(view.exchanges.tolist())
        users = view.conv_or_first_user("hashed_ip")
        self.users.add(users)
        self.known["hashed_ip"] += len(users) - users.null_count
        lang = view.conv_or_first_user("language")
        self.known["language"] += _value_counts(lang, self.languages)
        if self.detect_language is not None and lang.null_count:
            self._detect_languages(view, lang)
        self.known["model"] += _value_counts(view.col("model"), self.models)
        self.known["country"] += _value_counts(view.conv_or_first_user("country"), self.countries)
        ts = view.col("timestamp")
        self.known["timestamp"] += len(ts) - ts.null_count
        self._lengths(view)
        self._samples(view)
        self.toxicity.update(view, users)

    def _lengths(self, view: BatchView) -> None:
        content = view.turn("content")
        for role, mask in (("user", view.is_user), ("assistant", view.is_assistant)):
            if not mask.any():
                continue
            texts = content.filter(pa.array(mask))
            blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(texts.fill_null(""))), 0)
            self.empty[role] += int(pc.sum(blank).as_py() or 0)
            self.tokens[role].update(texts, self.counter.count)

    def _detect_languages(self, view: BatchView, lang: pa.Array) -> None:
        """Label conversations without a language from their first user prompt."""
        assert self.detect_language is not None
        rows, first = view.first_user
        unlabelled = np.asarray(lang.is_null().to_numpy(zero_copy_only=False), dtype=bool)[rows]
        idx = pa.array(first[unlabelled], type=pa.int64())
        for text in view.turn("content").take(idx).fill_null("").to_pylist():
            label = self.detect_language(text)
            if label is not None:
                self.languages[label] += 1
                self.detected_languages += 1

    def _samples(self, view: BatchView) -> None:
        content = view.turn("content")
        user_idx = np.flatnonzero(view.is_user)
        self.prompts.extend(len(user_idx), lambda i: str(content[int(user_idx[i])].as_py() or ""))
        _, first = view.first_user
        self.first_prompts.extend(len(first), lambda i: str(content[int(first[i])].as_py() or ""))

    def _token_meta(self, role: str, m: RunningMoments) -> dict[str, Any]:
        """How the token statistics of ``role`` were obtained (exact or sampled)."""
        ts = self.tokens[role]
        n, k = ts.n_seen, m.n
        se = None
        if not ts.exact and k > 1 and m.std is not None:  # standard error, finite-population corrected
            se = m.std / math.sqrt(k) * math.sqrt(max(0.0, 1 - k / n))
        return {"exact": ts.exact, "messages": n, "tokenized_sample": k, "mean_standard_error": se}

    def missing(self) -> list[str]:
        """Fields no conversation of this dataset carries."""
        out = [f for f in ("hashed_ip", "language", "model", "country", "timestamp") if not self.known[f]]
        if self.tokens["assistant"].n_seen == 0:
            out.append("assistant_turns")
        return out + self.toxicity.missing()

    def result(self) -> dict[str, Any]:
        """JSON-ready statistics (``None`` where a field is missing)."""
        n = self.n_conversations
        n_turns = sum(k * v for k, v in self.turn_hist.items())
        u, a = RunningMoments(), RunningMoments()
        hist = {"user": LogHistogram(), "assistant": LogHistogram()}
        for role, mom in (("user", u), ("assistant", a)):
            counts = self.tokens[role].counts()
            mom.update(counts)
            hist[role].update(counts)
        languages = Counter({k: v for k, v in self.languages.items() if k.strip().lower() not in NOLANG})
        labelled = self.known["language"] + self.detected_languages
        out: dict[str, Any] = {
            "n_conversations": n,
            "n_users": self.users.count(),
            "n_turns": n_turns,
            "mean_turns": n_turns / n if n else None,
            "multi_turn_share": sum(v for k, v in self.turn_hist.items() if k > 1) / n if n else None,
            "turn_distribution": {str(k): v for k, v in sorted(self.turn_hist.items())},
            "n_user_messages": self.tokens["user"].n_seen,
            "n_assistant_messages": self.tokens["assistant"].n_seen,
            "n_empty_user_messages": self.empty["user"],
            "n_empty_assistant_messages": self.empty["assistant"],
            "user_tokens_mean": u.mean_or_none,
            "user_tokens_std": u.std,
            "assistant_tokens_mean": a.mean_or_none,
            "assistant_tokens_std": a.std,
            "user_tokens_histogram": hist["user"].bins(),
            "assistant_tokens_histogram": hist["assistant"].bins(),
            "token_stats": {r: self._token_meta(r, m) for r, m in (("user", u), ("assistant", a))},
            "n_languages": len(languages) if labelled else None,
            "language_shares": shares(self.languages) if labelled else None,
            "language_known_share": labelled / n if n else None,
            "language_source": {"dataset": self.known["language"], "detected": self.detected_languages},
            "model_shares": shares(self.models) if self.known["model"] else None,
            "country_shares": shares(self.countries) if self.known["country"] else None,
        }
        out.update(self.toxicity.result())
        out["missing"] = self.missing()
        return out
