"""One table of language labels: readers, the detector, the report and the PII stage agree."""

from __future__ import annotations

import pytest

from wildchat.schema.languages import (
    CODE_ALIASES,
    LANGUAGE_NAMES,
    language_code,
    language_label,
    language_name,
)


def test_table_is_linguas_languages() -> None:
    lingua = pytest.importorskip("lingua")
    expected = {lang.iso_code_639_1.name.lower(): lang.name.title() for lang in lingua.Language.all()}
    assert expected == LANGUAGE_NAMES
    assert all(target in LANGUAGE_NAMES for target in CODE_ALIASES.values())


def test_codes_to_labels_and_back() -> None:
    assert language_label("pt-BR") == "Portuguese" and language_label("zh_Hans") == "Chinese"
    assert language_label("no") == "Bokmal" and language_label("xx") is None
    assert language_name("EN") == "English" and language_name("gl") == "gl"  # unknown codes kept
    assert language_name(None) is None and language_name("") is None
    assert all(language_code(label) == code for code, label in LANGUAGE_NAMES.items())
    assert language_code("en") == "en" and language_code(" english ") == "en"
    assert language_code("Nolang") is None and language_code("Unknown") is None
    assert language_code(None) is None


def test_every_user_reads_the_same_table() -> None:
    from wildchat.enrich.language import UNKNOWN, iso_label
    from wildchat.enrich.pii import language_code as pii_language_code
    from wildchat.formats import oasst

    for code, label in LANGUAGE_NAMES.items():
        assert iso_label(f"__label__{code}") == label
        assert pii_language_code(label) == code
    assert iso_label("xx") == UNKNOWN
    assert oasst.language_name is language_name
