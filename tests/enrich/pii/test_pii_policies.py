"""The two policies on hand-written turns, with the real spaCy model."""

from __future__ import annotations

import pytest

from wildchat.enrich.pii import Redactor
from wildchat.enrich.pii.policies import is_placeholder_email

P = "<PRESIDIO_ANONYMIZED_PERSON>"


@pytest.mark.parametrize(
    "text",
    [
        "Hello, my name is Margaret Hamilton and I need help with my resume.",
        "Dear Margaret Hamilton,\nthank you for your order.",
        "Please fix this letter.\n\nBest regards,\nMargaret Hamilton",
    ],
)
def test_wildchat_redacts_names_after_a_cue(wildchat_redactor: Redactor, text: str) -> None:
    res = wildchat_redactor.redact(text, "English")
    assert "Margaret Hamilton" not in res.text and P in res.text
    assert res.entities == {"PERSON": 1} and res.redacted


@pytest.mark.parametrize(
    "text",
    [
        "Write an essay about Margaret Hamilton and the Apollo program.",  # no cue: a public figure
        "Hello, my name is Margaret.",  # one capitalised word
        'Dear "Margaret Hamilton", the character in my novel, is brave.',  # quoted
        "Best regards,\nMargaret\n\nHamilton Street is closed today.",  # words on two lines
    ],
)
def test_wildchat_keeps_names_without_the_rules(wildchat_redactor: Redactor, text: str) -> None:
    res = wildchat_redactor.redact(text, "English")
    assert res.text == text and not res.redacted


def test_strict_redacts_names_without_cues(strict_redactor: Redactor) -> None:
    res = strict_redactor.redact("Write an essay about Margaret Hamilton and the Apollo program.", "English")
    assert "Margaret Hamilton" not in res.text and res.entities.get("PERSON") == 1


@pytest.mark.parametrize(
    ("text", "wildchat_redacts"),
    [
        ("My phone is (415) 867-5309, call after 6.", True),
        ("WhatsApp: 07700 900 461", True),
        ("Try +44 20 7946 0958 from abroad.", True),  # leading +
        ("The code (415) 867-5309 appears in the log.", False),  # no cue, no +
    ],
)
def test_phone_needs_a_cue_or_plus_under_wildchat_only(
    wildchat_redactor: Redactor, strict_redactor: Redactor, text: str, wildchat_redacts: bool
) -> None:
    assert wildchat_redactor.redact(text).redacted is wildchat_redacts
    strict = strict_redactor.redact(text)
    assert strict.entities.get("PHONE_NUMBER") == 1


def test_placeholder_emails(wildchat_redactor: Redactor, strict_redactor: Redactor) -> None:
    for value in ("john.doe@example.com", "test@gmail.com", "user123@yourdomain.com", "me@localhost"):
        assert is_placeholder_email(value), value
    assert not is_placeholder_email("margaret.h@mit.edu")
    text = "send it to test@example.com and margaret.h@mit.edu"
    wc = wildchat_redactor.redact(text)
    assert wc.text == "send it to test@example.com and <PRESIDIO_ANONYMIZED_EMAIL_ADDRESS>"
    assert strict_redactor.redact(text).entities == {"EMAIL_ADDRESS": 2}


def test_credit_card_needs_card_nearby_under_wildchat(wildchat_redactor: Redactor) -> None:
    with_cue = wildchat_redactor.redact("my visa card: 4111 1111 1111 1111")
    without = wildchat_redactor.redact("the id 4111 1111 1111 1111 is in the table")
    assert with_cue.entities == {"CREDIT_CARD": 1}
    assert not without.redacted


def test_urls_linkedin_only_under_wildchat(wildchat_redactor: Redactor, strict_redactor: Redactor) -> None:
    text = "me: linkedin.com/in/margaret-hamilton-1936 and instagram.com/mhamilton_real"
    assert wildchat_redactor.redact(text).entities == {"URL": 1}
    assert strict_redactor.redact(text).entities == {"URL": 2}


def test_secrets_are_redacted_under_both(wildchat_redactor: Redactor, strict_redactor: Redactor) -> None:
    text = "client = OpenAI(api_key='sk-proj-Q7c2Lm9Xa4Vt1Rb8Nk3Wp6Hs0Jd5Fg2Yu7Ei4Oz')"
    for red in (wildchat_redactor, strict_redactor):
        res = red.redact(text)
        assert "sk-proj" not in res.text and res.entities == {"SECRET": 1}


def test_strict_only_types(wildchat_redactor: Redactor, strict_redactor: Redactor) -> None:
    text = "IBAN GB82 WEST 1234 5698 7654 32, server 8.8.4.4, lan 192.168.1.1"
    res_wc = wildchat_redactor.redact(text)
    assert res_wc.entities == {"IP_ADDRESS": 1}  # global IPs: both policies; IBANs: strict only
    assert "GB82 WEST" in res_wc.text and "192.168.1.1" in res_wc.text
    res = strict_redactor.redact(text)
    assert res.entities == {"IBAN_CODE": 1, "IP_ADDRESS": 1}
    assert "192.168.1.1" in res.text  # private address: below the threshold


GLOBAL_IPS = ["81.2.69.142", "45.33.32.156", "2a00:1450:4001:82a::200e", "2a03:2880:f10c:83:face:b00c:0:25de"]
NON_GLOBAL_IPS = [
    "10.0.0.7",  # private
    "172.16.5.4",
    "192.168.1.1",
    "127.0.0.1",  # loopback
    "::1",
    "169.254.10.20",  # link-local
    "fe80::1ff:fe23:4567:890a",
    "100.64.12.34",  # CGNAT
    "192.0.2.15",  # documentation
    "198.51.100.23",
    "203.0.113.7",
    "2001:db8::1",
    "fc00::5",  # unique local
    "224.0.0.251",  # multicast
    "0.0.0.0",  # unspecified
]


@pytest.mark.parametrize("ip", GLOBAL_IPS)
def test_global_ips_are_redacted_under_both_policies(
    ip: str, wildchat_redactor: Redactor, strict_redactor: Redactor
) -> None:
    for text in (
        f"my server is {ip} and it is slow",
        f"ssh to {ip}:2222 fails",
        f"allow {ip}/32 in the firewall",
    ):
        for red in (wildchat_redactor, strict_redactor):
            res = red.redact(text)
            assert ip not in res.text and res.entities == {"IP_ADDRESS": 1}, (red.config.policy, text)
    bracketed = f"curl http://[{ip}]:8080/" if ":" in ip else f"curl http://{ip}:8080/"
    assert ip not in wildchat_redactor.redact(bracketed).text


@pytest.mark.parametrize("ip", NON_GLOBAL_IPS)
def test_private_loopback_cgnat_and_documentation_ranges_stay(
    ip: str, wildchat_redactor: Redactor, strict_redactor: Redactor
) -> None:
    text = f"set the gateway to {ip} and restart"
    for red in (wildchat_redactor, strict_redactor):
        res = red.redact(text)
        assert res.text == text and not res.redacted, (red.config.policy, ip)


def test_every_global_address_counts_even_public_resolvers(
    wildchat_redactor: Redactor, strict_redactor: Redactor
) -> None:
    # the rule is "globally routable", the same as `wildchat audit`: no list of well-known exceptions
    text = "set DNS to 8.8.8.8 or 1.1.1.1 or 2606:4700:4700::1111, then block 1.2.3.4 in iptables"
    for red in (wildchat_redactor, strict_redactor):
        assert red.redact(text).entities == {"IP_ADDRESS": 4}


def test_version_numbers_are_not_addresses(wildchat_redactor: Redactor) -> None:
    text = "upgrade to version 4.2.1.7 or v 2.0.0.1, build 1.1.1.3"
    assert wildchat_redactor.redact(text).text == text


def test_whitelist_never_keeps_a_global_ip(recording_ner: type) -> None:
    from wildchat.enrich.pii import Whitelist, pii_config
    from wildchat.enrich.pii.whitelist import entity_key

    wl = Whitelist(frozenset({entity_key("IP_ADDRESS", "81.2.69.142")}))
    red = Redactor(pii_config("wildchat"), whitelist=wl, ner=recording_ner())
    assert red.redact("ping 81.2.69.142 now").entities == {"IP_ADDRESS": 1}
