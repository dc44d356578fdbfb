"""Name gazetteer and the strict policy's name finder: what it proposes, and what it leaves alone."""

from __future__ import annotations

import pytest

from wildchat.enrich.pii import Redactor, pii_config
from wildchat.enrich.pii.names import NameGazetteer, find_names, gazetteer_available, plausible_person
from wildchat.enrich.pii.spans import Span

GAZ = NameGazetteer(
    first=frozenset({"sigrid", "mary", "ariana", "isabel", "ivan", "иван", "leone", "rose", "paris", "may"}),
    last=frozenset({"nyström", "petrov", "петров", "cazares", "mazzi", "jones", "york"}),
)


def _found(text: str) -> dict[str, float]:
    return {text[s.start : s.end]: s.score for s in find_names(text, GAZ)}


def test_first_and_family_name_pairs() -> None:
    assert _found("Follow up with Sigrid Nyström in a couple of months") == {"Sigrid Nyström": 0.75}


def test_cyrillic_title_case_pairs() -> None:
    assert _found("Вчера Иван Петров сказал, что придёт") == {"Иван Петров": 0.75}


def test_one_known_part_and_a_plausible_unknown_one() -> None:
    assert _found("Have you been to a Calquín Cazares concert before?") == {"Calquín Cazares": 0.6}


def test_titles_name_whatever_follows() -> None:
    assert _found("Mr. Pálffy is a 19 year old man") == {"Pálffy": 0.8}


def test_lists_of_first_names() -> None:
    got = _found("They had 3: Mary, Ariana and Isabel.")
    assert got == {"Mary": 0.6, "Ariana": 0.6, "Isabel": 0.6}


def test_naming_cues_take_lower_case_known_names() -> None:
    assert _found("hello, my name is leone mazzi and I need help")["leone mazzi"] == 0.7


def test_common_words_places_and_streets_are_not_names() -> None:
    got = _found("May I visit Paris? New York is big. Rose Street is closed. The Jones Orchestra played.")
    assert all(score < 0.5 for score in got.values()), got


def test_single_known_word_without_context_stays_below_threshold() -> None:
    assert _found("Nothing here but Rose.").get("Rose", 0.0) < 0.5
    assert (
        _found("Dear Mary, thanks")["Mary"] >= 0.5
    )  # a greeting in the same run is a cue, not a longer noun


@pytest.mark.parametrize("value", ["Crown St", "Box 6031", "Williamson Orchestra", "Passauer Strasse"])
def test_ner_spans_that_are_addresses_or_organisations_are_dropped(value: str) -> None:
    text = f"It is at {value} now"
    assert not plausible_person(text, Span(9, 9 + len(value), "PERSON", 0.85, "ner"))


def test_bad_input_never_crashes() -> None:
    for text in ["", "😀" * 1000, "\x00\xff" * 500, "Ab " * 100_000, "Ǆ" * 50, "ǅungla Mary"]:
        find_names(text, GAZ)


def test_default_policy_never_loads_the_gazetteer(
    recording_ner: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: object) -> NameGazetteer:
        raise AssertionError("the default policy loaded the gazetteer")

    monkeypatch.setattr("wildchat.enrich.pii.engine.load_gazetteer", boom)
    assert not pii_config("wildchat").gazetteer and pii_config("strict").gazetteer
    red = Redactor(pii_config("wildchat"), ner=recording_ner())
    assert not red.redact("Follow up with Sigrid Nyström tomorrow").redacted


@pytest.mark.skipif(not gazetteer_available(), reason="names-dataset not installed")
def test_real_gazetteer_finds_multilingual_names(recording_ner: type) -> None:
    red = Redactor(pii_config("strict"), ner=recording_ner())
    for text, name in [
        ("I want to add Irenke Sörös as a beneficiary", "Irenke Sörös"),
        ("Follow up with Sigrid Nyström next week", "Sigrid Nyström"),
        ("Вчера Иван Петров позвонил", "Иван Петров"),
    ]:
        res = red.redact(text)
        assert name not in res.text and res.entities.get("PERSON") == 1, text
    assert not red.redact("The United States and France signed it in May.").redacted


@pytest.mark.skipif(not gazetteer_available(), reason="names-dataset not installed")
def test_strict_survives_bad_input_with_the_gazetteer(recording_ner: type) -> None:
    red = Redactor(pii_config("strict"), ner=recording_ner())
    texts = [
        "Mary Smith " * 100_000,  # ~1.1 MB of names
        bytes(range(256)) * 2000,  # binary junk
        "😀🎉" * 5000,  # emoji only
        "Иван Петров met 李雷 and Ὀδυσσεύς Παπαδόπουλος in Zürich",  # mixed scripts
        None,
        "",
    ]
    results = red.redact_many(texts)
    assert len(results) == len(texts)
    assert results[0].redacted and "Mary Smith" not in results[0].text[:1000]
    assert results[4].text == "" and not results[5].redacted
