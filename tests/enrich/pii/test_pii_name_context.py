"""Contexts that veto a PERSON candidate under the strict policy: firm names, possessives, places."""

from __future__ import annotations

import pytest

from wildchat.enrich.pii import Redactor, pii_config
from wildchat.enrich.pii.name_context import firm_names, not_a_person
from wildchat.enrich.pii.names import NameGazetteer, gazetteer_available
from wildchat.enrich.pii.spans import Span

GAZ = NameGazetteer(
    first=frozenset({"mary", "sundar", "irena", "matej"}),
    last=frozenset({"davis", "reynolds", "williamson", "becker", "vasquez", "konya", "pichai", "bílá"}),
)


def _span(text: str, value: str) -> Span:
    start = text.index(value)
    return Span(start, start + len(value), "PERSON", 0.85, "ner")


def _vetoed(text: str, value: str) -> bool:
    return not_a_person(text, _span(text, value), firm_names(text, GAZ))


def test_a_list_of_bare_family_names_is_a_firm() -> None:
    text = "The Davis, Reynolds and Williamson Orchestra was founded in 1977."
    assert firm_names(text, GAZ) == [(4, 34)]
    assert all(_vetoed(text, w) for w in ("Davis", "Reynolds", "Williamson"))
    assert firm_names("Davis, Reynolds & Williamson LLP", GAZ)


def test_an_enumeration_after_a_colon_and_unknown_parts_stay_people() -> None:
    founders = "It is the brainchild of our 3 founders: Konya, Becker and Vasquez."
    assert firm_names(founders, GAZ) == [] and not _vetoed(founders, "Becker")
    # a part that is not a known family name: not a firm of partners
    assert firm_names("We met Davis, Mary and Reynolds at lunch", GAZ) == []


def test_one_word_after_a_capitalised_possessive_is_a_thing() -> None:
    assert _vetoed("verses from Faina Yefremova's Cautionary Tales. Is there", "Tales")
    # a first and family name after a possessive is a person; "Here's" is "here is"
    assert not _vetoed("and Pave's Irena Bílá.", "Irena Bílá")
    assert not _vetoed("As promised, here's Matej's address", "Matej")
    assert not _vetoed("Here's Matej, my colleague", "Matej")


def test_a_single_word_after_in_or_above_a_country_line_is_a_place() -> None:
    assert _vetoed("I'm in Hernani, at the conference", "Hernani")
    assert _vetoed("Suite 084\n María Albina\n Uruguay 77212", "María Albina")
    assert not _vetoed("I'm with Mary at the conference", "Mary")
    assert not _vetoed("in Mary Davis we trust", "Mary Davis")  # two words: not the single-word rule
    assert not _vetoed("Mary Davis\n12 Main Street", "Mary Davis")  # a street, not a country, follows


@pytest.mark.skipif(not gazetteer_available(), reason="names-dataset not installed")
def test_the_strict_policy_applies_the_vetoes() -> None:
    red = Redactor(pii_config("strict"))
    firm = red.redact("Aristóteles spent a year at Jones, Mitchell and Williams as the assistant.")
    assert "Jones" in firm.text and "Williams" in firm.text
    person = red.redact("Please forward the invoice to Mary Johnson before Friday.")
    assert "Mary Johnson" not in person.text and person.entities.get("PERSON") == 1
