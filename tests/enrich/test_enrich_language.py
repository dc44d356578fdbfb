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
    decide_conversation,
    iso_label,
    lingua_label,
    prepare,
    prepare_checked,
    sample,
)
from wildchat.enrich.language_short import (
    HOW_CONTEXT,
    HOW_ENGINE,
    HOW_FALLBACK,
    HOW_NOLANG,
    HOW_SCRIPT,
    PRIOR,
    SCRIPT_DEFAULT,
    Decision,
    dominant_script,
    plain_letters,
    prior_argmax,
    resolve_conversation,
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
    # With fast_accept_other = 1.0 only English is kept from fastText (the default's change is tested below).
    det = HybridDetector(LanguageConfig(fast_accept_other=1.0))
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


# --- short and mixed turns: the prior-weighted fallback and the conversation's context ---


OPENERS = ["hi", "hello there", "thanks", "continue", "ok", "hey", "what?", "write more", "thank you so much"]


@pytest.mark.parametrize("engine", ENGINES)
def test_short_english_openers_are_english_without_context(engine: str) -> None:
    det = build_detector(LanguageConfig(engine=engine))  # type: ignore[arg-type]
    labels = det.detect(OPENERS)
    assert sum(x == "English" for x in labels) >= len(OPENERS) - 1, dict(zip(OPENERS, labels, strict=True))
    assert all(x in PRIOR for x in labels)  # never a confident exotic label (Maori, Sotho, ...)


def test_short_text_goes_to_the_fallback_and_long_text_does_not() -> None:
    det = build_detector(LanguageConfig())
    assert det.decide("hello there") == Decision("English", HOW_FALLBACK, True, "LATIN")
    assert det.decide("hi") == Decision("English", HOW_SCRIPT, True, "LATIN")  # too few letters to ask
    assert det.decide(CLEAR["English"]).how == HOW_ENGINE
    assert det.decide("").how == HOW_NOLANG
    assert det.decide("привет").label == "Russian" and det.decide("привет").script == "CYRILLIC"
    assert det.decide("谢谢").label == "Chinese"
    # Off switch: the uniform-prior engine answers short texts itself.
    assert build_detector(LanguageConfig(short_letters=0)).decide("hi").how == HOW_ENGINE


def test_urls_and_code_do_not_count_as_language() -> None:
    cfg = LanguageConfig()
    cut, short = prepare_checked("see https://example.com/some/very/long/path/with/many/letters ok", cfg)
    assert short and cut == "see ok"
    cut, short = prepare_checked(
        "```python\ndef function_with_long_name(argument): return argument\n```", cfg
    )
    assert short and cut is not None  # only code: short, and the code is kept to judge something
    assert prepare_checked(CLEAR["French"], cfg) == (CLEAR["French"], False)
    assert build_detector(cfg).decide("fix https://github.com/acme/widgets/issues").label == "English"


def test_prior_argmax_weights_and_shares() -> None:
    # Equal evidence: the prior decides; overwhelming evidence beats the prior.
    assert prior_argmax([("Maori", 0.5), ("English", 0.5)], 0.35)[0] == "English"
    assert prior_argmax([("Maori", 0.999), ("English", 0.001)], 0.35)[0] == "Maori"
    label, share = prior_argmax([("French", 1.0)], 0.35)
    assert (label, share) == ("French", 1.0)
    assert prior_argmax([], 0.35) == (None, 0.0)


def test_dominant_script() -> None:
    assert dominant_script("ok") == "LATIN"
    assert dominant_script("ок да") == "CYRILLIC"
    assert dominant_script("好的") == "CJK"
    assert dominant_script("はい") == "KANA"
    assert dominant_script("123 !!") == "LATIN"


def test_context_decides_short_turns_of_the_same_script() -> None:
    long_ru = Decision("Russian", HOW_ENGINE)
    long_zh = Decision("Chinese", HOW_ENGINE)
    short_ok = Decision("English", HOW_FALLBACK, True, "LATIN")
    short_ru = Decision("Bulgarian", HOW_FALLBACK, True, "CYRILLIC")
    out = resolve_conversation([short_ru, long_ru], ["user", "assistant"])
    assert out[0] == Decision("Russian", HOW_CONTEXT, True, "CYRILLIC") and out[1] == long_ru
    # A Latin "ok" in a Chinese conversation keeps its own (fallback) label.
    assert resolve_conversation([short_ok, long_zh], ["user", "assistant"])[0] == short_ok
    # User turns outrank the assistant's replies; no reliable turn = no change.
    long_de = Decision("German", HOW_ENGINE)
    long_en = Decision("English", HOW_ENGINE)
    out = resolve_conversation([short_ok, long_de, long_en], ["user", "user", "assistant"])
    assert out[0].label == "German" and out[0].how == HOW_CONTEXT
    assert resolve_conversation([short_ok, short_ok], ["user", "assistant"]) == [short_ok, short_ok]
    nolang = Decision(NOLANG, HOW_NOLANG)
    assert resolve_conversation([short_ok, nolang], ["user", "assistant"]) == [short_ok, nolang]


def test_new_config_keys_are_validated() -> None:
    with pytest.raises(ValueError):
        LanguageConfig(short_letters=-1)
    with pytest.raises(ValueError):
        LanguageConfig(short_letters=600)
    with pytest.raises(ValueError):
        LanguageConfig(prior_weight=-0.1)
    with pytest.raises(ValueError):
        LanguageConfig(short_fast_accept=1.5)


@pytest.mark.parametrize("engine", ENGINES)
def test_bad_input_short_and_mixed_never_crash(engine: str) -> None:
    det = build_detector(LanguageConfig(engine=engine))  # type: ignore[arg-type]
    junk = ["\x00\x01 a \x02", "😀 ok 😀", "ok " * 400_000, "Ok привет 你好", "a", "\ud800"]
    decisions = [det.decide(t) for t in junk]
    assert all(d.label and d.label[0].isupper() for d in decisions)
    assert decisions[2].how == HOW_ENGINE  # a 1.2 MB turn is long, judged from its sample


# --- no evidence (too few letters) and context before the fallback ---


def test_script_defaults_follow_the_prior() -> None:
    assert SCRIPT_DEFAULT["LATIN"] == "English" and SCRIPT_DEFAULT["CYRILLIC"] == "Russian"
    assert SCRIPT_DEFAULT["CJK"] == "Chinese" and SCRIPT_DEFAULT["ARABIC"] == "Arabic"
    assert SCRIPT_DEFAULT["KANA"] == "Japanese" and SCRIPT_DEFAULT["GREEK"] == "Greek"
    assert "DEVANAGARI" not in SCRIPT_DEFAULT  # Hindi or Marathi: the prior knows neither, no guess
    assert plain_letters("thx ok!", "LATIN") and not plain_letters("où", "LATIN")
    assert plain_letters("да", "CYRILLIC")


@pytest.mark.parametrize("engine", ENGINES)
def test_too_few_letters_take_the_script_language(engine: str) -> None:
    det = build_detector(LanguageConfig(engine=engine))  # type: ignore[arg-type]
    for text, label in (("k", "English"), ("hiya", "English"), ("thx!!", "English"), ("да", "Russian")):
        d = det.decide(text)
        assert (d.label, d.how) == (label, HOW_SCRIPT), text
    # Accents are evidence: a short accented word goes to the detector, not the default.
    assert det.decide("où").how == HOW_FALLBACK
    assert det.decide("hello").how == HOW_FALLBACK  # five letters: enough to ask
    # Off switches: few_letters = 0, or a confidence floor (it asks for Unknown over guesses).
    assert build_detector(LanguageConfig(engine=engine, few_letters=0)).decide("k").how == HOW_FALLBACK  # type: ignore[arg-type]
    floor = build_detector(LanguageConfig(engine=engine, min_confidence=0.99))  # type: ignore[arg-type]
    assert floor.decide("k").how == HOW_FALLBACK


def test_low_share_rule_takes_the_script_language() -> None:
    # An accented pair of words lingua is unsure about: with the rule at its maximum it is English.
    d = build_detector(LanguageConfig(low_share=1.0)).decide("vous êtes")
    assert (d.label, d.how) == ("English", HOW_SCRIPT)
    assert build_detector(LanguageConfig()).decide("vous êtes").label == "French"
    with pytest.raises(ValueError):
        LanguageConfig(few_letters=-1)
    with pytest.raises(ValueError):
        LanguageConfig(low_share=1.5)


def test_deferred_short_turns_take_context_before_any_detector() -> None:
    det = build_detector(LanguageConfig())
    pending = det.decide("hello there", defer=True)
    assert pending.label == "" and pending.pending == "hello there" and pending.short
    assert det.settle(pending) == Decision("English", HOW_FALLBACK, True, "LATIN")
    assert det.settle(Decision("German", HOW_ENGINE)) == Decision("German", HOW_ENGINE)
    hybrid = build_detector(LanguageConfig())
    assert isinstance(hybrid, HybridDetector)
    before = hybrid.fast_answers + hybrid.lingua_answers
    out = decide_conversation(hybrid, ["hola amigo", CLEAR["French"]], ["user", "assistant"])
    # The French reply decides the short turn; only the long turn asked a detector.
    assert [(d.label, d.how) for d in out] == [("French", HOW_CONTEXT), ("French", HOW_ENGINE)]
    assert hybrid.fast_answers + hybrid.lingua_answers == before + 1
    # No reliable turn, or context off: every short turn is settled by the fallback.
    alone = decide_conversation(det, ["hello there", "ok"], ["user", "assistant"])
    assert [(d.label, d.how, d.pending) for d in alone] == [
        ("English", HOW_FALLBACK, None),
        ("English", HOW_SCRIPT, None),
    ]
    off = decide_conversation(det, ["hola amigo", CLEAR["French"]], ["user", "assistant"], use_context=False)
    assert off[0].how == HOW_FALLBACK and off[0].pending is None


def test_hybrid_keeps_a_confident_fast_answer_in_any_language() -> None:
    on = build_detector(LanguageConfig())
    off = build_detector(LanguageConfig(fast_accept_other=1.0))
    assert isinstance(on, HybridDetector) and isinstance(off, HybridDetector)
    for label in ("Russian", "Chinese", "French"):
        fast_label, score = on._fast.top(CLEAR[label])
        assert (fast_label, score >= 0.9) == (label, True)
        before = (on.fast_answers, on.lingua_answers, off.fast_answers, off.lingua_answers)
        assert on.detect_one(CLEAR[label]) == label == off.detect_one(CLEAR[label])
        # the default kept fastText's answer; fast_accept_other = 1.0 asked lingua
        assert (on.fast_answers - before[0], on.lingua_answers - before[1]) == (1, 0)
        assert (off.fast_answers - before[2], off.lingua_answers - before[3]) == (0, 1)
    with pytest.raises(ValueError):
        LanguageConfig(fast_accept_other=1.5)
