"""Stage ``jailbreak``: mark user turns that reuse a known jailbreak prompt.

Wraps :class:`wildchat.enrich.jailbreak.JailbreakMatcher`.  User turns get
``jailbreak`` (bool) and ``jailbreak_match`` (the matched family name, else
null); other turns stay null.  Never drops a row.

Config (``[stages.jailbreak]``): ``library_path`` (a jailbreak_llms-style
CSV or a ``---``-separated text file; this project ships none),
``threshold`` (estimated Jaccard of word 3-shingles, default 0.3),
``min_words`` (shorter user turns are not compared -> ``False``),
``num_perm`` (MinHash permutations).

**No library -> not checked.**  Without ``library_path`` the stage changes
nothing: ``jailbreak`` stays null, which means "not checked", never "not a
jailbreak".  ``public_config()`` says ``checked: false`` so the card tells.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from wildchat.curate.batch import turn_field, with_turn_fields
from wildchat.curate.stage import Stage, StageConfigError
from wildchat.curate.stages import register_stage

__all__ = ["JailbreakStage"]


@register_stage
class JailbreakStage(Stage):
    """Match user turns against a jailbreak prompt library (MinHash LSH)."""

    name: ClassVar[str] = "jailbreak"
    description: ClassVar[str] = "mark user turns matching a known jailbreak prompt library (MinHash LSH)"
    defaults: ClassVar[dict[str, Any]] = {
        "library_path": None,
        "threshold": 0.3,
        "min_words": 20,
        "num_perm": 128,
    }
    requires: ClassVar[tuple[str, ...]] = ("datasketch",)

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        path = self.config["library_path"]
        if path is not None and not Path(path).is_file():
            raise StageConfigError(f"stage 'jailbreak': library_path {path!r} is not a file")
        if not 0.0 < float(self.config["threshold"]) <= 1.0:
            raise StageConfigError("stage 'jailbreak': threshold must be in (0, 1]")

        self._fresh()

    def _fresh(self) -> None:
        """Per-process state: empty until :meth:`setup` (also after unpickling)."""
        self._matcher: Any = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._fresh()

    def setup(self) -> None:
        if self.config["library_path"] is None:
            return
        from wildchat.enrich.jailbreak import JailbreakMatcher, load_library

        self.check_requirements()
        entries = load_library(self.config["library_path"])
        self._matcher = JailbreakMatcher(
            entries,
            threshold=float(self.config["threshold"]),
            num_perm=int(self.config["num_perm"]),
            min_words=int(self.config["min_words"]),
        )

    def public_config(self) -> dict[str, Any]:
        return {**super().public_config(), "checked": self.config["library_path"] is not None}

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if self._matcher is None:
            return batch
        roles = turn_field(batch, "role").to_pylist()
        contents = turn_field(batch, "content").to_pylist()
        users = [i for i, r in enumerate(roles) if r == "user"]
        found = self._matcher.match([contents[i] or "" for i in users])
        flags: list[bool | None] = [None] * len(roles)
        names: list[str | None] = [None] * len(roles)
        for i, name in zip(users, found, strict=True):
            flags[i], names[i] = name is not None, name
        return with_turn_fields(
            batch, {"jailbreak": pa.array(flags, pa.bool_()), "jailbreak_match": pa.array(names, pa.string())}
        )
