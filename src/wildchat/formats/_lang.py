"""ISO 639-1 codes -> the language names WildChat uses (lingua's English names, title case).

Sources such as OpenAssistant label languages by code (``en``, ``pt-BR``);
the release schema uses names (``English``, ``Portuguese``).  Unknown codes
are kept unchanged rather than guessed.
"""

from __future__ import annotations

__all__ = ["language_name"]

_NAMES = {
    "af": "Afrikaans", "ar": "Arabic", "az": "Azerbaijani", "be": "Belarusian", "bg": "Bulgarian",
    "bn": "Bengali", "bs": "Bosnian", "ca": "Catalan", "cs": "Czech", "cy": "Welsh", "da": "Danish",
    "de": "German", "el": "Greek", "en": "English", "eo": "Esperanto", "es": "Spanish", "et": "Estonian",
    "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French", "ga": "Irish", "gl": "Galician",
    "gu": "Gujarati", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian",
    "hy": "Armenian", "id": "Indonesian", "is": "Icelandic", "it": "Italian", "ja": "Japanese",
    "ka": "Georgian", "kk": "Kazakh", "ko": "Korean", "la": "Latin", "lt": "Lithuanian",
    "lv": "Latvian", "mi": "Maori", "mk": "Macedonian", "mn": "Mongolian", "mr": "Marathi",
    "ms": "Malay", "nb": "Bokmal", "nl": "Dutch", "nn": "Nynorsk", "pa": "Punjabi", "pl": "Polish",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "sl": "Slovene",
    "so": "Somali", "sq": "Albanian", "sr": "Serbian", "st": "Sotho", "sv": "Swedish",
    "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "th": "Thai", "tl": "Tagalog", "tn": "Tswana",
    "tr": "Turkish", "ts": "Tsonga", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese",
    "xh": "Xhosa", "yo": "Yoruba", "zh": "Chinese", "zu": "Zulu",
}  # fmt: skip


def language_name(code: str | None) -> str | None:
    """``"pt-BR"`` -> ``"Portuguese"``; unknown codes unchanged; ``None`` stays ``None``."""
    if not code:
        return None
    return _NAMES.get(code.split("-")[0].split("_")[0].lower(), code)
