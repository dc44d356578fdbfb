"""The public-entity whitelist: distinct users, exact merges, no raw values stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wildchat.enrich.pii import Redactor, Whitelist, WhitelistBuilder, pii_config
from wildchat.enrich.pii.whitelist import entity_key


def test_counts_distinct_users_not_occurrences() -> None:
    b = WhitelistBuilder(min_users_person=3, min_users_other=2)
    for _ in range(100):
        b.add("PERSON", "Ada Lovelace", "user-1")
    assert ("PERSON", "Ada Lovelace") not in b.build()
    b.add("PERSON", "Ada Lovelace", "user-2")
    b.add("PERSON", "ada  lovelace", "user-3")  # normalised: same value
    assert ("PERSON", "Ada Lovelace") in b.build()


def test_thresholds_are_per_type_and_none_users_do_not_count() -> None:
    b = WhitelistBuilder(min_users_person=3, min_users_other=2)
    b.add("EMAIL_ADDRESS", "help@bank.com", "u1")
    b.add("EMAIL_ADDRESS", "HELP@bank.com", "u2")
    b.add("PERSON", "Grace Hopper", "u1")
    b.add("PERSON", "Grace Hopper", "u2")
    b.add("PERSON", "Grace Hopper", None)
    wl = b.build()
    assert ("EMAIL_ADDRESS", "help@bank.com") in wl
    assert ("PERSON", "Grace Hopper") not in wl


def test_phone_formatting_variants_are_one_value() -> None:
    assert entity_key("PHONE_NUMBER", "+1 (415) 867-5309") == entity_key("PHONE_NUMBER", "+1.415.867.5309")
    assert entity_key("PHONE_NUMBER", "4158675309") != entity_key("PERSON", "4158675309")


def test_merge_is_exact_across_shards() -> None:
    a, b = WhitelistBuilder(3, 3), WhitelistBuilder(3, 3)
    a.add("PERSON", "Alan Turing", "u1")
    a.add("PERSON", "Alan Turing", "u2")
    b.add("PERSON", "Alan Turing", "u2")  # same user in both shards: counted once
    assert ("PERSON", "Alan Turing") not in a.build() and ("PERSON", "Alan Turing") not in b.build()
    merged = WhitelistBuilder(3, 3).merge(a).merge(b)
    assert ("PERSON", "Alan Turing") not in merged.build()
    c = WhitelistBuilder(3, 3)
    c.add("PERSON", "Alan Turing", "u3")
    assert ("PERSON", "Alan Turing") in merged.merge(c).build()
    with pytest.raises(ValueError, match="thresholds"):
        merged.merge(WhitelistBuilder(50, 10))


def test_save_load_round_trip_holds_no_raw_values(tmp_path: Path) -> None:
    b = WhitelistBuilder(1, 1)
    b.add("PERSON", "Katherine Johnson", "u1")
    b.add("EMAIL_ADDRESS", "kj@nasa.gov", "u1")
    path = tmp_path / "wl.json"
    b.build().save(path)
    raw = path.read_text()
    assert "Katherine" not in raw and "nasa" not in raw.lower()
    loaded = Whitelist.load(path)
    assert ("EMAIL_ADDRESS", "kj@nasa.gov") in loaded and len(loaded) == 2
    assert json.loads(raw)["min_users_person"] == 1


@pytest.mark.parametrize("content", ["not json", '{"version": 2, "keys": []}', '{"version": 1, "keys": [1]}'])
def test_load_refuses_other_files(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match="whitelist"):
        Whitelist.load(path)
    with pytest.raises(ValueError, match="whitelist"):
        Whitelist.load(tmp_path / "missing.json")


def test_redactor_keeps_whitelisted_values_only(recording_ner: type) -> None:
    cfg = pii_config("wildchat", whitelist_min_users_other=2)
    texts = ["mail support@bigbank.com or me at jo.private@gmail.com"]
    b = WhitelistBuilder(50, 2)
    red = Redactor(cfg, ner=recording_ner())
    red.observe(texts * 3, ["u1", "u2", "u2"], b)
    red.observe(["only jo.private@gmail.com"], ["u1"], b)
    wl = b.build()
    out = Redactor(cfg, whitelist=wl, ner=recording_ner()).redact(
        "write to support@bigbank.com, cc jo.private@gmail.com"
    )
    # both were seen by 2 users -> public; a value seen by one user stays private
    assert "support@bigbank.com" in out.text and "jo.private@gmail.com" in out.text
    solo = Redactor(cfg, whitelist=wl, ner=recording_ner()).redact("ping x.solo@gmail.com")
    assert solo.text == "ping <PRESIDIO_ANONYMIZED_EMAIL_ADDRESS>"
    with pytest.raises(ValueError, match="user_ids"):
        red.observe(["a", "b"], ["u1"], b)
