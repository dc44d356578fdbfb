"""Stage ``jailbreak``: mark user turns that use a known jailbreak prompt.

Two sources, combined by :class:`wildchat.enrich.jailbreak.CombinedMatcher`:

* **library** (``library_path``; this project ships none): a
  jailbreak_llms-style CSV or a ``---``-separated text file, matched by
  MinHash LSH (``threshold`` = estimated Jaccard of word 3-shingles,
  ``num_perm`` permutations, user turns under ``min_words`` words skipped);
* **built-in signatures** (``signatures = true``, default): short cue regexes
  written for this project per well-known public family (DAN, Developer
  Mode, AIM, "ignore previous instructions", role-play locks, refusal
  suppression, hypothetical framing, token smuggling, ...) plus one family
  that needs several weak cues at once, in
  ``wildchat/enrich/jailbreak_signatures.toml``.

``wildchat jailbreaks discover RELEASE --out DIR`` finds a release's own
recurring templates and writes a library file for ``library_path``.

A library match wins; signatures fill in where the library found nothing.

**Output contract.** ``jailbreak`` describes *user* turns: a user turn gets
``True`` (``jailbreak_match`` = the family / library entry name) or
``False`` (also when it is empty or too short); every other turn
(assistant) gets ``False`` and a null match, so the field is filled on every
turn.  Only with ``signatures = false`` and no ``library_path`` is nothing
checked: then ``jailbreak`` stays null ("not checked", never "not a
jailbreak") and ``public_config()`` says ``checked: false``.  Never drops a
row.  ``public_config()["sources"]`` lists the sources that ran (card,
``stats.json``).

Counters: ``turns_checked`` (user turns), ``turns_jailbreak``,
``source:library`` / ``source:signature``, ``match:<family>``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from wildchat.curate.stages import register_stage
from wildchat.curate.stages.base import Stage, StageConfigError
from wildchat.curate.stages.batch import turn_field, with_turn_fields

__all__ = ["JailbreakStage"]


@register_stage
class JailbreakStage(Stage):
    """Mark user turns matching built-in jailbreak signatures and/or a prompt library."""

    name: ClassVar[str] = "jailbreak"
    description: ClassVar[str] = (
        "mark user turns using a known jailbreak (built-in family signatures + optional MinHash library)"
    )
    defaults: ClassVar[dict[str, Any]] = {
        "library_path": None,
        "signatures": True,
        "threshold": 0.3,
        "min_words": 20,
        "num_perm": 128,
    }
    requires: ClassVar[tuple[str, ...]] = ()  # datasketch only with a library: checked in __init__
    card_counters: ClassVar[tuple[str, ...]] = ("turns_checked", "turns_jailbreak", "source:", "match:")

    @classmethod
    def card_engines(cls, config: Mapping[str, Any]) -> str:
        srcs = config.get("sources") or []
        return (
            "sources " + ", ".join(f"`{x}`" for x in srcs)
            if srcs
            else "**not checked** (`jailbreak` is null)"
        )

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        path = self.config["library_path"]
        if path is not None and not Path(path).is_file():
            raise StageConfigError(f"stage 'jailbreak': library_path {path!r} is not a file")
        if path is not None and importlib.util.find_spec("datasketch") is None:
            raise StageConfigError(f"stage 'jailbreak': a library needs datasketch: {self.install_hint}")
        if not 0.0 < float(self.config["threshold"]) <= 1.0:
            raise StageConfigError("stage 'jailbreak': threshold must be in (0, 1]")
        if not isinstance(self.config["signatures"], bool):
            raise StageConfigError("stage 'jailbreak': signatures must be true or false")
        self._fresh()

    def _fresh(self) -> None:
        """Per-process state: empty until :meth:`setup` (also after unpickling)."""
        self._matcher: Any = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._fresh()

    @property
    def sources(self) -> list[str]:
        """The sources this config runs, in priority order."""
        out = ["library"] if self.config["library_path"] is not None else []
        return out + (["signature"] if self.config["signatures"] else [])

    def setup(self) -> None:
        from wildchat.enrich.jailbreak import (
            CombinedMatcher,
            JailbreakMatcher,
            SignatureMatcher,
            load_library,
        )

        if not self.sources:
            return
        library = None
        if self.config["library_path"] is not None:
            library = JailbreakMatcher(
                load_library(self.config["library_path"]),
                threshold=float(self.config["threshold"]),
                num_perm=int(self.config["num_perm"]),
                min_words=int(self.config["min_words"]),
            )
        signatures = SignatureMatcher() if self.config["signatures"] else None
        self._matcher = CombinedMatcher(library, signatures)

    def public_config(self) -> dict[str, Any]:
        return {**super().public_config(), "checked": bool(self.sources), "sources": self.sources}

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if self._matcher is None:
            return batch
        roles = turn_field(batch, "role").to_pylist()
        contents = turn_field(batch, "content").to_pylist()
        users = [i for i, r in enumerate(roles) if r == "user"]
        found = self._matcher.match_sources([contents[i] or "" for i in users])
        flags: list[bool] = [False] * len(roles)
        names: list[str | None] = [None] * len(roles)
        for i, hit in zip(users, found, strict=True):
            if hit is not None:
                flags[i], names[i] = True, hit[0]
                self.count(f"source:{hit[1]}")
                self.count(f"match:{hit[0]}")
        self.count("turns_checked", len(users))
        self.count("turns_jailbreak", sum(1 for h in found if h is not None))
        return with_turn_fields(
            batch, {"jailbreak": pa.array(flags, pa.bool_()), "jailbreak_match": pa.array(names, pa.string())}
        )
