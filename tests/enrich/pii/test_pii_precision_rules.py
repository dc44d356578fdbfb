"""Rules that keep the default policy off ordinary chat: each one a false positive read on real turns."""

from __future__ import annotations

import pytest

from wildchat.enrich.pii import Redactor
from wildchat.enrich.pii.cues import NAME_CUE, cue_leads_to
from wildchat.enrich.pii.patterns import find_emails
from wildchat.enrich.pii.policies import is_placeholder_email
from wildchat.enrich.pii.recognizers import find_phones


def test_a_name_cue_must_lead_straight_to_the_name() -> None:
    def leads(text: str, name: str) -> bool:
        return cue_leads_to(text, text.index(name), NAME_CUE, 60)

    assert leads("Dear Chief Minister Y.S. Jaganmohan Reddy,", "Y.S.")
    assert leads("Best regards,\nDT Badley", "DT Badley")
    assert leads("Hello, my name is Margaret Hamilton.", "Margaret")
    assert not leads("I'm ChatGPT with Developer Mode enabled", "Developer Mode")
    assert not leads("I'm Larry, your humble Gym Leader, specializing in", "Gym Leader")


@pytest.mark.parametrize(
    "text",
    [
        "Hi there! I'm ChatGPT with Developer Mode enabled, and I'm here to help.",
        '"Well, well. I\'m Larry, your humble Gym Leader, specializing in Normal types."',
        "This is Clause 35 (Dispute Resolution) of the NSW HIA Lump Sum contract.",
    ],
)
def test_wildchat_keeps_titles_and_roles_after_a_distant_cue(wildchat_redactor: Redactor, text: str) -> None:
    res = wildchat_redactor.redact(text, "English")
    assert res.entities.get("PERSON") is None, res.text


def test_an_at_sign_in_a_url_path_is_not_an_email() -> None:
    text = '<link href="https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/css/bootstrap.min.css">'
    assert find_emails(text) == []
    assert find_emails("cdn.jsdelivr.net/gh/skipmiller/vexchords@1.2.0/dist") == []
    real = "write to jaydang@berkeley.edu today"
    assert [real[s.start : s.end] for s in find_emails(real)] == ["jaydang@berkeley.edu"]


def test_555_numbers_are_sample_data() -> None:
    for text in ("$table->phone = '555-1234';", "call (212) 555-7890 now", "phone: 1-800-555-0199"):
        assert find_phones(text) == [], text
    kept = "contact me at 647-717-5780 please"
    assert [kept[s.start : s.end] for s in find_phones(kept)] == ["647-717-5780"]


def test_placeholder_email_domain() -> None:
    assert is_placeholder_email("olivia@emailaddress.com")
    assert not is_placeholder_email("olivia@gmail.com")
