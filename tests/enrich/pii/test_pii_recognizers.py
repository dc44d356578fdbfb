"""Pattern recognizers: what each finds and, as important, what it leaves alone."""

from __future__ import annotations

import pytest

from wildchat.enrich.pii.recognizers import (
    find_crypto_eth,
    find_ips,
    find_personal_urls,
    find_phones,
)


def _values(text: str, spans: list) -> list[str]:
    return [text[s.start : s.end] for s in spans]


@pytest.mark.parametrize(
    ("number", "min_score"),
    [
        ("+44 20 7946 0958", 0.85),  # UK, international form, valid
        ("+1 (415) 867-5309", 0.85),
        ("(415) 867-5309", 0.6),  # valid US without prefix
        ("07700 900 461", 0.6),  # UK mobile
    ],
)
def test_phone_numbers_are_found_with_a_score_by_validity(number: str, min_score: float) -> None:
    text = f"reach me at {number} tomorrow"
    spans = find_phones(text)
    assert _values(text, spans) == [number]
    assert spans[0].score >= min_score and spans[0].entity == "PHONE_NUMBER"


@pytest.mark.parametrize(
    "text",
    [
        "released on 2023-01-15 in Paris",  # a date
        "the years 1942-1943 were hard",  # a year range
        "write 4000-5000 words",  # a round range
        "server at 192.168.100.200 is down",  # an IP, not a phone
        "call 1234567890 for a demo",  # a placeholder sequence
        "pi is 3.14159265358",  # a decimal
        "items 1 2 3 4 5 6 7 8",  # single digits
        "ratio (1024.01024.0)",  # dotted decimals
        "x = 555-0142",  # too short and fictional
    ],
)
def test_number_shapes_that_are_not_phones(text: str) -> None:
    assert find_phones(text) == []


def test_bare_digit_runs_score_low_so_only_a_cue_can_lift_them() -> None:
    spans = find_phones("order 4158675309 shipped")
    assert len(spans) == 1 and spans[0].score < 0.5


def test_ips_are_validated_and_private_ones_score_low() -> None:
    text = "public 8.8.4.4, private 10.0.0.7, bad 999.1.1.1, v6 2001:4860:4860::8888, loop ::1"
    spans = find_ips(text)
    got = {text[s.start : s.end]: s.score for s in spans}
    assert got["8.8.4.4"] >= 0.5 and got["2001:4860:4860::8888"] >= 0.5
    assert got["10.0.0.7"] < 0.5 and got["::1"] < 0.5
    assert "999.1.1.1" not in got


def test_times_and_cpp_scopes_are_not_ipv6() -> None:
    assert find_ips("at 12:30:45 we call std::vector<int>::size") == []


def test_profile_urls_only() -> None:
    text = (
        "see https://www.linkedin.com/in/ada-lovelace-42/ and twitter.com/adal99, "
        "not https://example.com/in/x, netflix.com/browse, twitter.com/search or facebook.com/groups/x"
    )
    spans = find_personal_urls(text)
    values = _values(text, spans)
    assert values[0].startswith("https://www.linkedin.com/in/ada-lovelace-42")
    assert spans[0].score == 0.9 and spans[0].source == "linkedin"
    assert values[1] == "twitter.com/adal99" and spans[1].score < 0.9
    assert len(spans) == 2


def test_eth_addresses_score_below_default_threshold_without_a_cue() -> None:
    addr = "0x" + "ab12" * 10
    spans = find_crypto_eth(f"send to {addr} now")
    assert len(spans) == 1 and spans[0].score < 0.5
    assert find_crypto_eth("hash 0xdeadbeef") == []
