"""Building the moderation stage's engines from its config (kept apart so the stage reads in one sitting).

:func:`load_engine` raises ``FileNotFoundError`` for a missing model file and
``ValueError`` for a corrupt one (the stage counts both as ``unavailable``),
and :class:`StageConfigError` naming the extra to install when one is missing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wildchat.curate.stages.base import StageConfigError

__all__ = ["FALLBACK", "load_engine", "offline_rule"]

FALLBACK = ("offline", "profanity", "embedding", "two-tier")


def offline_rule(engine: str, c: Mapping[str, Any]) -> Any:
    """The :class:`OfflineRule` of fallback ``engine`` from the config."""
    from wildchat.enrich.moderation.profanity import HASHED_DEFAULTS, OfflineRule

    kind = "profanity" if engine == "profanity" else str(c["offline_rule"])
    cut = c["offline_threshold"]
    return OfflineRule(
        kind=kind,
        hashed_threshold=HASHED_DEFAULTS.get(kind) if cut is None else float(cut),
        profanity_threshold=float(c["profanity_threshold"]),
    )


def load_engine(name: str, c: Mapping[str, Any]) -> Any:
    """Build engine ``name``: a missing file raises FileNotFoundError, a corrupt one ValueError."""
    if name in ("embedding", "two-tier"):
        return _load_embedding(name, c)
    if name in FALLBACK:
        from wildchat.enrich.moderation.profanity import OfflineDefault

        rule = offline_rule(name, c)
        if rule.uses_profanity and importlib.util.find_spec("profanity_check") is None:
            raise StageConfigError(
                f"stage 'moderation': {name} rule {rule.kind!r} needs alt-profanity-check: "
                "pip install 'wildchat[enrich]' (or offline_rule = 'hashed')"
            )
        path = c["offline_model_path"]
        if path and not Path(path).is_file():
            raise FileNotFoundError(f"offline model {Path(path).name} not found")
        cut = c["offline_assistant_threshold"]
        if name != "offline" or cut is None or not rule.uses_hashed:
            return OfflineDefault(rule, path)
        from dataclasses import replace

        from wildchat.enrich.moderation.profanity import RoleAwareDefault

        strict = replace(rule, hashed_threshold=float(cut))
        return RoleAwareDefault(OfflineDefault(rule, path), OfflineDefault(strict, path))
    if name == "openai":
        from wildchat.enrich.moderation.openai_engine import OpenAIModeration, OpenAIModerationConfig

        return OpenAIModeration(
            OpenAIModerationConfig(
                model=c["openai_model"],
                base_url=c["openai_base_url"],
                api_key_env=c["openai_api_key_env"],
                batch_size=int(c["openai_batch_size"]),
                window_chars=int(c["openai_window_chars"]),
                min_window_chars=int(c["openai_min_window_chars"]),
                max_attempts=int(c["openai_max_attempts"]),
                max_wait_s=float(c["openai_max_wait_s"]),
                cache_path=c["openai_cache_path"],
                store_text=bool(c["openai_store_text"]),
            )
        )
    from wildchat.enrich.moderation.transformer import load_detoxify, load_hf_classifier

    if name == "detoxify":
        return load_detoxify(
            c["detoxify_checkpoint"], c["detoxify_config_dir"], max_windows=int(c["detoxify_max_windows"])
        )
    return load_hf_classifier(c["hf_model_dir"], max_windows=int(c["hf_max_windows"]))


def _load_embedding(name: str, c: Mapping[str, Any]) -> Any:
    from wildchat.enrich.moderation.embedding import (
        EmbeddingUnavailable,
        TwoTier,
        load_embedding,
        two_tier_band,
    )
    from wildchat.enrich.moderation.offline import load_offline

    head = c["embedding_head_path"]
    if head and not Path(head).is_file():
        raise FileNotFoundError(f"embedding head {Path(head).name} not found")
    try:
        accurate = load_embedding(head)
        if name == "embedding":
            from wildchat.enrich.moderation.embedding import WithProfanity
            from wildchat.enrich.moderation.profanity import load_profanity

            if importlib.util.find_spec("profanity_check") is None:
                raise StageConfigError(
                    "stage 'moderation': embedding needs alt-profanity-check: pip install 'wildchat[enrich]'"
                )
            return WithProfanity(accurate, load_profanity(), float(c["profanity_threshold"]))
        return TwoTier(
            load_offline(c["offline_model_path"]),
            accurate,
            two_tier_band(accurate),
            two_tier_band(accurate, "assistant"),
        )
    except EmbeddingUnavailable as exc:
        raise ValueError(str(exc)) from exc
