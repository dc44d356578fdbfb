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


@pytest.mark.parametrize(
    "number",
    [
        "+1 (212) 736-4190",  # US
        "+7 495 739-21-84",  # RU
        "8 (495) 739-21-84",  # RU, national with trunk 8
        "+86 138 0013 8000",  # CN mobile
        "010-62751938",  # CN landline
        "+44 161 496 0738",  # GB
        "0161 496 0738",
        "+49 30 901820",  # DE
        "030 9018 2077",
        "+33 1 42 68 53 07",  # FR
        "01 42 68 53 07",
        "+91 98450 27361",  # IN
        "098450 27361",
        "+55 11 97358-2461",  # BR
        "(11) 97358-2461",
    ],
)
def test_phone_formats_of_the_top_countries_reach_the_threshold(number: str) -> None:
    text = f"my number is {number}, thanks"
    spans = find_phones(text)
    assert _values(text, spans) == [number]
    assert spans[0].score >= 0.5


def test_phone_extensions_and_trailing_labels() -> None:
    text = "Fax: 345-899-3560x4587 or 082 490 1693-Office"
    assert _values(text, find_phones(text)) == ["345-899-3560x4587", "082 490 1693"]


def test_bare_chinese_mobile_numbers_reach_the_threshold() -> None:
    spans = find_phones("加我 13812947365 谢谢")
    assert len(spans) == 1 and spans[0].score >= 0.5


def test_a_date_with_an_hour_is_not_a_phone() -> None:
    assert find_phones("When: 2000-04-16 11:30") == []


def test_ip_ports_cidr_and_ipv6_forms() -> None:
    text = (
        "ssh root@45.33.32.156:22, net 45.33.0.0/16, [2001:4860:4860::8888]:443, "
        "2a03:2880:f10c:83:face:b00c:0:25de:443"
    )
    got = _values(text, [s for s in find_ips(text) if s.score >= 0.5])
    assert got == ["45.33.32.156", "45.33.0.0", "2001:4860:4860::8888", "2a03:2880:f10c:83:face:b00c:0:25de"]


def test_is_global_ip_ranges() -> None:
    from wildchat.enrich.pii.recognizers import is_global_ip

    assert is_global_ip("8.8.8.8") and is_global_ip("2606:4700:4700::1111")
    for ip in ("10.1.2.3", "100.64.0.1", "192.0.2.1", "198.51.100.1", "203.0.113.1", "2001:db8::5", "fe80::1",
               "169.254.0.1", "127.0.0.1", "224.0.0.1", "not an ip", ""):  # fmt: skip
        assert not is_global_ip(ip), ip
