"""Language ID engines: labels, sampling, bad input, conversation rule."""

from __future__ import annotations

import pytest

from wildchat.enrich.language import (
    NOLANG,
    UNKNOWN,
    HybridDetector,
    LanguageConfig,
    build_detector,
    conversation_language,
    iso_label,
    lingua_label,
    prepare,
    sample,
)

ENGINES = ("lingua", "fast", "hybrid")
CLEAR = {
    "English": "The weather is lovely today and I would like to go for a long walk in the park.",
    "Russian": "Сегодня прекрасная погода, и я хотел бы долго гулять в парке с друзьями.",
    "Chinese": "今天天气很好，我想和朋友们一起去公园散步，然后吃晚饭。",
    "French": "Il fait très beau aujourd'hui et je voudrais faire une longue promenade dans le parc.",
}
BAD = [
    "",
    "   \n\t ",
    "😀😀🎉🎉",
    "1234 5678 !!! ???",
    "\x00\x01\x02\xff\ufffe binary \x00 junk \x07",
    "x" * 1_000_000,
    "Hello 你好 Привет مرحبا こんにちは",
    "```python\ndef f(x):\n    return x ** 2\n```",
    "\ud800 lone surrogate",
]


def test_labels_are_wildchat_spelling() -> None:
    assert lingua_label("ENGLISH") == "English"
    assert lingua_label("BOKMAL") == "Bokmal"
    assert iso_label("en") == "English"
    assert iso_label("__label__zh") == "Chinese"
    assert iso_label("no") == "Bokmal"  # fastText's Norwegian -> lingua's Bokmal
    assert iso_label("xx") == UNKNOWN


def test_prepare_bounds_cost_and_cleans() -> None:
    assert prepare("", 500) is None
    assert prepare("  \n ", 500) is None
    assert prepare("😀 123 !!", 500) is None
    cut = prepare("a\x00b\nc" + "word " * 10_000, 500)
    assert cut is not None and "\x00" not in cut and "\n" not in cut
    assert len(cut) <= 500 + 3


def test_sample_spreads_windows_over_long_text() -> None:
    text = "A" * 1000 + "B" * 1000 + "C" * 1000
    s = sample(text, 400)
    assert len(s) <= 400 + 3
    assert s.startswith("A") and s.endswith("C") and "B" in s
    assert sample("short", 400) == "short"


@pytest.mark.parametrize("engine", ENGINES)
def test_clear_sentences(engine: str) -> None:
    det = build_detector(LanguageConfig(engine=engine))  # type: ignore[arg-type]
    assert det.detect(list(CLEAR.values())) == list(CLEAR)


@pytest.mark.parametrize("engine", ENGINES)
def test_bad_input_gets_defined_labels(engine: str) -> None:
    det = build_detector(LanguageConfig(engine=engine))  # type: ignore[arg-type]
    labels = det.detect(BAD)
    assert len(labels) == len(BAD)
    assert labels[0] == labels[1] == labels[2] == labels[3] == NOLANG
    assert all(isinstance(x, str) and x and x[0].isupper() for x in labels)
    assert labels[5] != NOLANG  # a 1 MB turn of letters is identified (from a sample)


def test_hybrid_sends_only_unsure_or_non_english_to_lingua() -> None:
    det = HybridDetector(LanguageConfig())
    det.detect([CLEAR["English"]])
    assert (det.fast_answers, det.lingua_answers) == (1, 0)
    det.detect([CLEAR["Russian"]])
    assert det.lingua_answers == 1


def test_confidence_floor_gives_unknown() -> None:
    strict = build_detector(LanguageConfig(engine="lingua", min_confidence=0.99))
    assert strict.detect(["ok no"]) == [UNKNOWN]
    assert strict.detect([CLEAR["Chinese"]]) == ["Chinese"]  # unique script: confidence 1


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        LanguageConfig(engine="nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        LanguageConfig(max_chars=5)
    with pytest.raises(ValueError):
        LanguageConfig(min_confidence=2.0)


def test_conversation_language_rule() -> None:
    assert conversation_language(["English", "Nolang", "Chinese", "Chinese"]) == "Chinese"
    assert conversation_language(["Nolang", "Nolang"]) == NOLANG
    assert conversation_language([]) == NOLANG
    assert conversation_language(["Unknown", "Unknown", "French"]) == "French"
    assert conversation_language(["Unknown", "Nolang"]) == UNKNOWN
    assert conversation_language(["German", "English"]) == "German"  # tie: first seen
