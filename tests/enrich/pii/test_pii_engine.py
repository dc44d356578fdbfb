"""Engine: where NER runs (cost), bad input, long input, batching, pickling."""

from __future__ import annotations

import logging
import pickle
import time

import pytest

from wildchat.enrich.pii import Redactor, language_code, pii_config

NAME = "Margaret Hamilton"


def test_no_cue_no_ner_call(recording_ner: type) -> None:
    ner = recording_ner([NAME])
    red = Redactor(pii_config("wildchat"), ner=ner)
    texts = ["how do I sort a list in python?", "Write about Margaret Hamilton.", ""]
    res = red.redact_many(texts)
    assert ner.calls == []
    assert [r.text for r in res] == texts


def test_ner_sees_short_windows_around_cues_only(recording_ner: type) -> None:
    ner = recording_ner([NAME])
    red = Redactor(pii_config("wildchat"), ner=ner)
    filler = "lorem ipsum dolor sit amet " * 400  # ~11k chars of text without names
    text = filler + f"Best regards,\n{NAME}\n" + filler
    res = red.redact(text)
    assert res.entities == {"PERSON": 1}
    assert ner.chars < 300  # one window, not the 22k-char turn
    assert res.text.count("<PRESIDIO_ANONYMIZED_PERSON>") == 1 and NAME not in res.text


def test_one_ner_call_per_language_per_batch(recording_ner: type) -> None:
    ner = recording_ner([NAME], languages=("en", "de"))
    cfg = pii_config("wildchat", ner_languages=("en", "de"), ner_models={"en": "x", "de": "y"})
    red = Redactor(cfg, ner=ner)
    texts = [f"my name is {NAME}", f"ich heiße {NAME}", f"Dear {NAME},", f"我叫 {NAME}"]
    res = red.redact_many(texts, ["English", "German", "English", "Chinese"])
    assert sorted(lang for lang, _ in ner.calls) == ["de", "en"]
    assert [r.redacted for r in res] == [True, True, True, False]  # no Chinese model: not scanned by NER


def test_language_codes() -> None:
    assert language_code("English") == "en" and language_code("en") == "en"
    assert (
        language_code("Nolang") is None and language_code(None) is None and language_code("Klingon") is None
    )


def test_unknown_language_uses_the_script(recording_ner: type) -> None:
    ner = recording_ner([NAME])
    red = Redactor(pii_config("wildchat"), ner=ner)
    assert red.redact(f"thanks, {NAME}").redacted  # Latin script, no label: English model
    assert not red.redact(f"спасибо, {NAME} и всем остальным друзьям в Москве").redacted


def test_ner_budget_caps_cost_of_a_long_turn(recording_ner: type) -> None:
    ner = recording_ner([])
    red = Redactor(pii_config("strict", ner_max_chars=2000), ner=ner)
    red.redact("Dear Ada Lovelace and Alan Turing, " * 30_000)  # ~1 MB, a name pair every 35 chars
    assert 0 < ner.chars <= 2000 + 60  # + snapping to whole words


@pytest.mark.parametrize(
    "value",
    [
        "",
        "😀🎉🔥" * 50,
        "\x00\x01\x02\x7f\u200b\ufeff junk \udcff",
        "Привет! 你好 مرحبا שלום नमस्ते — mixed scripts 12:30",
        "```python\nimport os\nAPI_URL = 'https://api.example.com/v1'\nprint(os.getenv('HOME'))\n```",
        "Dear " * 5000,  # cue storm, nothing after it
    ],
)
@pytest.mark.parametrize("policy", ["wildchat", "strict"])
def test_odd_text_without_pii_comes_back_unchanged(
    wildchat_redactor: Redactor, strict_redactor: Redactor, policy: str, value: str
) -> None:
    red = wildchat_redactor if policy == "wildchat" else strict_redactor
    res = red.redact(value)
    assert res.text == value and not res.redacted and res.entities == {}


def test_none_is_empty_text(wildchat_redactor: Redactor) -> None:
    res = wildchat_redactor.redact(None)
    assert (res.text, res.redacted) == ("", False)


def test_bytes_are_decoded_and_redacted(wildchat_redactor: Redactor) -> None:
    res = wildchat_redactor.redact(b"my name is Ada Lovelace")
    assert res.text == "my name is <PRESIDIO_ANONYMIZED_PERSON>"


@pytest.mark.slow
def test_one_megabyte_turn_is_bounded_and_chunk_edges_are_covered(wildchat_redactor: Redactor) -> None:
    size = pii_config().chunk_chars
    text = "x " * (size // 2 - 10) + "mail me: ada.l@mit.edu " + "word " * 180_000
    assert len(text) > 1_000_000 and text.index("ada.l") < size < text.index("ada.l") + 20
    res = wildchat_redactor.redact(text)
    assert res.entities == {"EMAIL_ADDRESS": 1}
    assert len(res.text) == len(text) - len("ada.l@mit.edu") + len("<PRESIDIO_ANONYMIZED_EMAIL_ADDRESS>")


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["wildchat", "strict"])
def test_pii_dense_megabyte_turn_stays_linear(
    wildchat_redactor: Redactor, strict_redactor: Redactor, policy: str
) -> None:
    red = wildchat_redactor if policy == "wildchat" else strict_redactor
    unit = "Dear Ada Lovelace, call +1 415 867 5309 or card 4111-1111-1111-1111, mail ada.l@mit.edu. "
    text = unit * (1_000_000 // len(unit))
    start = time.process_time()
    res = red.redact(text)
    elapsed = time.process_time() - start
    n = text.count(unit)
    assert res.entities["EMAIL_ADDRESS"] == n and res.entities["PHONE_NUMBER"] == n
    assert res.entities["CREDIT_CARD"] == n
    assert elapsed < 20  # ~0.85 s CPU; a quadratic step (overlaps, propagation) would take minutes


def test_languages_length_must_match(recording_ner: type) -> None:
    with pytest.raises(ValueError, match="languages"):
        Redactor(pii_config(), ner=recording_ner()).redact_many(["a", "b"], ["en"])


def test_redactor_pickles_without_the_model(wildchat_redactor: Redactor) -> None:
    wildchat_redactor.redact("my name is Ada Lovelace")  # model loaded
    blob = pickle.dumps(wildchat_redactor)
    assert len(blob) < 50_000
    clone = pickle.loads(blob)
    assert clone.redact("my name is Ada Lovelace").text == "my name is <PRESIDIO_ANONYMIZED_PERSON>"


def test_pii_never_reaches_the_logs(
    wildchat_redactor: Redactor, strict_redactor: Redactor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_bits = ["Ada Lovelace", "ada.l@mit.edu", "867-5309"]
    for red in (wildchat_redactor, strict_redactor):
        red.redact_many(["my name is Ada Lovelace, ada.l@mit.edu, phone (415) 867-5309"])
    Redactor(pii_config(ner_languages=("en", "xx"), ner_models={"en": "x_missing", "xx": "y_missing"}))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not any(bit in logged for bit in secret_bits)
    assert "x_missing" in logged  # the missing-model warning itself is logged


def test_propagation_whole_words_same_group_only(recording_ner: type) -> None:
    red = Redactor(pii_config("wildchat"), ner=recording_ner([NAME]))
    texts = [f"my name is {NAME}", f"{NAME} wrote this; {NAME}son did not", f"{NAME} again"]
    res = red.redact_many(texts, groups=[0, 0, 1])
    assert res[1].text == "<PRESIDIO_ANONYMIZED_PERSON> wrote this; Margaret Hamiltonson did not"
    assert res[1].entities == {"PERSON": 1} and res[1].spans[0].source == "propagated"
    assert res[2].text == texts[2]
    plain = red.redact_many(texts)  # no groups: no propagation
    assert plain[1].text == texts[1]
    with pytest.raises(ValueError, match="groups"):
        red.redact_many(texts, groups=[0])


@pytest.mark.slow
def test_import_is_light_and_presidio_is_kept_offline() -> None:
    """Importing loads no Presidio/spaCy; patterns never do (Presidio imports torch: ~5 s CPU);
    first use sets tldextract's offline switch itself."""
    import os
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "from wildchat.enrich.pii import Redactor, pii_config\n"
        "import wildchat.curate.stages.pii\n"
        "heavy = [m for m in sys.modules if m.startswith(('presidio', 'spacy', 'tldextract'))]\n"
        "assert not heavy, heavy\n"
        "r = Redactor(pii_config('wildchat', ner=False)).redact('mail ada.l@mit.edu')\n"
        "assert r.entities == {'EMAIL_ADDRESS': 1}, r.entities\n"
        "assert os.environ['TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS'] == ''\n"
        "r = Redactor(pii_config('strict')).redact('call +44 20 7946 0958, card 4111 1111 1111 1111')\n"
        "assert r.entities == {'PHONE_NUMBER': 1, 'CREDIT_CARD': 1}, r.entities\n"
        "assert not [m for m in sys.modules if m.startswith(('presidio', 'torch'))], 'no Presidio'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
