from __future__ import annotations

import pytest

from wildchat.enrich.pii import ALL_ENTITIES, WILDCHAT_ENTITIES, pii_config


def test_policy_defaults_differ_where_the_paper_says() -> None:
    wc, st = pii_config("wildchat"), pii_config("strict")
    assert wc.cue_rules and not st.cue_rules
    assert set(wc.entities) == set(WILDCHAT_ENTITIES)
    assert set(st.entities) == set(ALL_ENTITIES)
    assert (wc.whitelist_min_users_person, wc.whitelist_min_users_other) == (50, 10)
    assert (st.whitelist_min_users_person, st.whitelist_min_users_other) == (0, 0)
    assert wc.ner_scope == "cues" and st.ner_scope == "capitalized"


def test_overrides_apply_and_lists_become_tuples() -> None:
    cfg = pii_config("wildchat", threshold=0.8, entities=["PERSON", "IBAN_CODE"], ner_languages=["en", "de"])
    assert cfg.threshold == 0.8
    assert cfg.entities == ("PERSON", "IBAN_CODE")
    assert cfg.ner_languages == ("en", "de")
    assert cfg.policy == "wildchat"


@pytest.mark.parametrize(
    ("policy", "overrides", "words"),
    [
        ("lenient", {}, "policy"),
        ("wildchat", {"treshold": 0.3}, "unknown"),
        ("wildchat", {"threshold": 1.5}, "threshold"),
        ("wildchat", {"entities": ["SSN"]}, "entities"),
        ("strict", {"whitelist_min_users_person": -1}, "whitelist"),
        ("strict", {"ner_scope": "everything"}, "ner_scope"),
        ("strict", {"chunk_chars": 10}, "chunk_chars"),
    ],
)
def test_bad_settings_are_refused_with_the_key_named(policy: str, overrides: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        pii_config(policy, **overrides)


def test_config_is_immutable() -> None:
    cfg = pii_config()
    with pytest.raises(AttributeError):
        cfg.threshold = 0.1  # type: ignore[misc]
