"""The language labels of the release schema, and their ISO 639-1 codes -- defined once.

A release's ``language`` fields hold what WildChat-1M writes: lingua's
English language name in title case (``English``, ``Chinese``, ``Bokmal``),
or one of the detector's two non-answers (``Nolang``, ``Unknown``, see
:mod:`wildchat.enrich.language`).  Everything that turns a code into a label
or back reads this table: the readers (OpenAssistant labels turns ``en``,
``pt-BR``), the language detector (fastText answers codes), the analysis
report's detector for unlabelled datasets, and the PII stage (NER models are
chosen by code).  The table equals lingua's 75 languages; a test checks it
against lingua itself.
"""

from __future__ import annotations

__all__ = ["CODE_ALIASES", "LANGUAGE_NAMES", "language_code", "language_label", "language_name"]

#: ISO 639-1 code -> release label (lingua's name, title case).
LANGUAGE_NAMES: dict[str, str] = {
    "af": "Afrikaans", "ar": "Arabic", "az": "Azerbaijani", "be": "Belarusian", "bg": "Bulgarian",
    "bn": "Bengali", "bs": "Bosnian", "ca": "Catalan", "cs": "Czech", "cy": "Welsh", "da": "Danish",
    "de": "German", "el": "Greek", "en": "English", "eo": "Esperanto", "es": "Spanish", "et": "Estonian",
    "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French", "ga": "Irish", "gu": "Gujarati",
    "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "hy": "Armenian",
    "id": "Indonesian", "is": "Icelandic", "it": "Italian", "ja": "Japanese", "ka": "Georgian",
    "kk": "Kazakh", "ko": "Korean", "la": "Latin", "lg": "Ganda", "lt": "Lithuanian", "lv": "Latvian",
    "mi": "Maori", "mk": "Macedonian", "mn": "Mongolian", "mr": "Marathi", "ms": "Malay", "nb": "Bokmal",
    "nl": "Dutch", "nn": "Nynorsk", "pa": "Punjabi", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "sk": "Slovak", "sl": "Slovene", "sn": "Shona", "so": "Somali", "sq": "Albanian",
    "sr": "Serbian", "st": "Sotho", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu",
    "th": "Thai", "tl": "Tagalog", "tn": "Tswana", "tr": "Turkish", "ts": "Tsonga", "uk": "Ukrainian",
    "ur": "Urdu", "vi": "Vietnamese", "xh": "Xhosa", "yo": "Yoruba", "zh": "Chinese", "zu": "Zulu",
}  # fmt: skip

#: Codes other tools write for a language the table spells differently
#: (fastText: ``no`` for Norwegian, which lingua calls Bokmal; old ``iw``/``in``; ``fil``).
CODE_ALIASES: dict[str, str] = {"no": "nb", "iw": "he", "in": "id", "fil": "tl"}

_CODES = {label.lower(): code for code, label in LANGUAGE_NAMES.items()}


def language_label(code: str) -> str | None:
    """``"pt-BR"``/``"pt_br"`` -> ``"Portuguese"``, ``"no"`` -> ``"Bokmal"``; an unknown code -> ``None``."""
    base = code.strip().split("-")[0].split("_")[0].lower()
    return LANGUAGE_NAMES.get(CODE_ALIASES.get(base, base))


def language_name(code: str | None) -> str | None:
    """The readers' rule: a code's label; an unknown code unchanged (never guessed); no code -> ``None``."""
    if not code:
        return None
    return language_label(code) or code


def language_code(language: str | None) -> str | None:
    """``"English"``/``"en"`` -> ``"en"``; ``None``, ``"Nolang"``, ``"Unknown"``, an unknown name -> ``None``.

    A two-letter input is taken to be a code already (lowercased, not checked).
    """
    if not language:
        return None
    low = language.strip().lower()
    if len(low) == 2 and low.isalpha():
        return low
    return _CODES.get(low)
