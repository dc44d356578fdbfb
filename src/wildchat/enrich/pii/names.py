"""A gazetteer of first and family names, and the name finder of the ``strict`` policy.

The names come from the maintained ``names-dataset`` package (MIT/Apache-2.0;
first and last names of 106 countries with per-country popularity ranks, in
Latin and native scripts).  Its own loader keeps every statistic in memory
(~900 MB and ~6 s per list), so this module reads its two pickles once,
keeps only names ranked within ``max_rank`` in at least one country as two
``frozenset``s of case-folded strings, and caches them in
``$WILDCHAT_CACHE`` (default ``~/.cache/wildchat``): later processes load
the compact file in well under a second.  Loaded lazily, on the first
:func:`find_names` call of a policy that enables it (``strict``); the
default ``wildchat`` policy never loads it.

:func:`find_names` proposes PERSON spans from title-cased words (any cased
script: Latin, Cyrillic, Greek, ...), scored by evidence:

* a title (``Mr.``, ``Dr.``, ``Frau``, ``господин`` ...) before capitalised
  words -> 0.8;
* up to three words after an explicit naming cue ("my name is", "call me",
  "maiden name is", "меня зовут"), lower-case ones only if known -> 0.7;
* a capitalised first name followed by a capitalised family name (initials
  allowed between) -> 0.75;
* a single gazetteer name in a person context -- a name cue before it,
  a list of other names around it, a possessive, a speaker colon, or a verb
  of speech/being after it -> 0.6;
* a single gazetteer name without context -> 0.45 (below the default
  threshold: a capitalised "Rose" or "Paris" alone is not enough).

Common words that are also names ("May", "Will", "The") are excluded by a
multilingual stop list, and the engine drops candidates that the NER model
labels as a place or organisation.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import logging
import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import regex

from wildchat.enrich.pii.spans import Span

__all__ = [
    "NameGazetteer",
    "find_names",
    "gazetteer_available",
    "load_gazetteer",
    "plausible_ner_person",
    "plausible_person",
]

log = logging.getLogger(__name__)

FIRST_MAX_RANK = 2000
LAST_MAX_RANK = 2000
_CACHE_VERSION = 1

# A title-cased word in any cased script, or an initial ("J", "J.").
_TOKEN = regex.compile(r"\p{Lu}\p{Ll}+(?:['’\-]\p{Lu}?\p{Ll}+)*|\p{Lu}\.?(?!\w)")
_TITLE = regex.compile(
    r"(?i)(?<!\w)(?:mr|mrs|ms|miss|mx|dr|prof|sir|madam|mme|mlle|herr|frau|sr|sra|srta|sig|sig\.ra|"
    r"señor|señora|monsieur|madame|господин|госпожа|г-н|г-жа)\.?\s+$"
)
_CUE_BEFORE = regex.compile(
    r"(?i)(?:\b(?:my name is|name is|name:|i am|i'm|call me|dear|hi|hello|hey|thanks|thank you|regards|"
    r"sincerely|cheers|love|yours|signed|by|with|to|from|and|met|meet|ask|asked|told|tell|for|about|"
    r"named|called|меня зовут|зовут|je m'appelle|ich heiße|me llamo|mi chiamo)[,:]?\s+|[,:]\s*|^)$"
)
_CONTEXT_AFTER = regex.compile(
    r"(?i)^(?:['’]s\b|:\s|,\s*(?:and\s+)?\p{Lu}|\s+and\s+\p{Lu}|\s+(?:is|was|said|says|told|asked|shouted|"
    r"spent|will|would|has|had|went|wrote|called|replied|answered|lives|works|sang|sings|directed|"
    r"сказал|сказала|говорит)\b)"
)

#: Capitalised words that are names in the dataset but far more often something else.
_STOP = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me
    more most my myself no nor not now of off on once only or other our ours out over own same she
    should so some such than that the their theirs them then there these they this those through to
    too under until up very was we were what when where which while who whom why will with would you
    your yours yourself hello hi hey dear thanks thank please yes okay ok sorry welcome good great
    best happy new old big little young love hope faith grace joy may june april august january
    february march july september october november december monday tuesday wednesday thursday friday
    saturday sunday today tomorrow god lord king queen prince princess sir mr mrs ms dr prof
    president chief captain doctor north south east west street road avenue lane city state states
    united kingdom republic america english french german spanish russian chinese american british
    europe asia africa apple google amazon microsoft python java windows android chat gpt ai user
    assistant bot robot phone mobile fax email date time address battery fuse box patient kids cool
    wisdom customer client agent manager doctor nurse teacher student boss mom dad mother father
    brother sister baby mill hill fort marina park parks bay beach island lake river valley mount
    ocean sea summer winter spring autumn fall day night morning evening time world home house write
    tell give make show list create explain describe translate answer question story title name
    first last part chapter section note step table figure example der die das und oder nicht ein
    eine le la les et de du des un une el los las y o del al il lo gli e di da per non sono che à в
    и на не что это я он она мы вы они
    """.split()  # noqa: SIM905
)

#: Capitalised words that may stand right before a name in one run ("Dear Mary", "Hi Ivan").
_GREETINGS = frozenset("dear hi hello hey thanks thank welcome bye goodbye congratulations sorry".split())  # noqa: SIM905

_STREETISH = regex.compile(
    r"(?i)\b(?:st|street|rd|road|ave|avenue|lane|ln|blvd|drive|dr|terrace|pass|square|sq|apt|suite|box|"
    r"strasse|straße|str|platz|weg|gasse|rue|calle|via|viale|plaza|orchestra|band|inc|incorporated|ltd|llc|"
    r"gmbh|corp|corporation|company|group|union|university|college|school|hotel|bank|church|park|bridge|"
    r"station|bypass|point|rua|igreja|ulica|ul|close|flat|flats|way|row|court|ct|place|pl|crescent|gardens|"
    r"grove|walk|mews|wharf|heights|view|wei|laan|straat|vej|gatan|katu|tie|utca|ulice)\.?$"
)


@dataclass(frozen=True)
class NameGazetteer:
    """Case-folded first and family names (``max_rank`` filter applied when built)."""

    first: frozenset[str]
    last: frozenset[str]

    def is_first(self, word: str) -> bool:
        w = word.casefold()
        return w in self.first and w not in _STOP and w not in _places()

    def is_last(self, word: str) -> bool:
        w = word.casefold()
        return w in self.last and w not in _STOP and w not in _places()


@cache
def _places() -> frozenset[str]:
    """Country names (``pycountry``, a dependency of ``names-dataset``): "France" is no one's name here."""
    try:
        import pycountry
    except ImportError:
        return frozenset()
    out: set[str] = set()
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(c, attr, None)
            if value and " " not in value:
                out.add(value.casefold())
    return frozenset(out)


def gazetteer_available() -> bool:
    """Whether ``names-dataset`` is installed (the gazetteer can be built)."""
    return importlib.util.find_spec("names_dataset") is not None


def _cache_dir() -> Path:
    return Path(os.environ.get("WILDCHAT_CACHE") or Path.home() / ".cache" / "wildchat")


def _ranked(path: Path, max_rank: int) -> frozenset[str]:
    with gzip.open(path, "rb") as fh:
        table = pickle.load(fh)
    out = frozenset(
        name.casefold()
        for name, info in table.items()
        if " " not in name and info.get("rank") and min(info["rank"].values()) <= max_rank
    )
    del table
    return out


def _build(first_max_rank: int, last_max_rank: int) -> NameGazetteer:
    spec = importlib.util.find_spec("names_dataset")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("the name gazetteer needs names-dataset: pip install 'wildchat[enrich]'")
    root = Path(spec.origin).parent / "v3"
    return NameGazetteer(
        _ranked(root / "first_names.pkl.gz", first_max_rank),
        _ranked(root / "last_names.pkl.gz", last_max_rank),
    )


@cache
def load_gazetteer(first_max_rank: int = FIRST_MAX_RANK, last_max_rank: int = LAST_MAX_RANK) -> NameGazetteer:
    """The gazetteer, from the compact cache or built from ``names-dataset`` (then cached).

    Raises ``ModuleNotFoundError`` naming the extra when the package is missing.
    """
    path = _cache_dir() / f"names-v{_CACHE_VERSION}-{first_max_rank}-{last_max_rank}.json.gz"
    try:
        doc = json.loads(gzip.decompress(path.read_bytes()))
        return NameGazetteer(frozenset(doc["first"]), frozenset(doc["last"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    gaz = _build(first_max_rank, last_max_rank)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(
            gzip.compress(json.dumps({"first": sorted(gaz.first), "last": sorted(gaz.last)}).encode())
        )
        tmp.replace(path)
    except OSError as exc:  # a read-only home: rebuild next time, still correct
        log.warning("pii: could not cache the name gazetteer (%s)", type(exc).__name__)
    return gaz


MAX_RUN = 4  # tokens: longer title-cased runs are cut (a name has at most ~4 parts)


def _runs(text: str) -> Iterator[tuple[list[regex.Match[str]], bool]]:
    """Runs of title-cased tokens separated by single spaces (one line), at most :data:`MAX_RUN` long,
    each with whether it is a piece of a longer run (a heading, a title: weaker evidence of a name)."""
    run: list[regex.Match[str]] = []
    cut = False
    for m in _TOKEN.finditer(text):
        adjacent = bool(run) and text[run[-1].end() : m.start()] == " "
        if run and (len(run) >= MAX_RUN or not adjacent):
            yield run, cut or adjacent
            run, cut = [], adjacent
        run.append(m)
    if run:
        yield run, cut


def _name_like(words: list[str]) -> bool:
    """No stop word, place or street word among ``words``."""
    return not any(w.casefold() in _STOP or w.casefold() in _places() or _STREETISH.search(w) for w in words)


def _sentence_start(text: str, pos: int) -> bool:
    before = text[max(0, pos - 3) : pos].rstrip()
    return not before or before[-1] in '.!?\n>"“«:'


def _is_initial(tok: str) -> bool:
    return len(tok.rstrip(".")) == 1


def _score_run(text: str, run: list[regex.Match[str]], gaz: NameGazetteer) -> float:
    words = [m.group() for m in run]
    if _STREETISH.search(words[-1]) and len(words) > 1:
        return 0.0
    before = text[max(0, run[0].start() - 40) : run[0].start()]
    full = [w for w in words if not _is_initial(w)]
    if not full:
        return 0.0
    if len(full) >= 2 and gaz.is_first(full[0]) and gaz.is_last(full[-1]):
        return 0.75
    if len(full) in (2, 3) and (gaz.is_first(full[0]) or gaz.is_last(full[-1])) and _name_like(full):
        return 0.6  # "Calquín Cazares": one part known, the other a plausible unknown name
    if len(full) == 1 and (gaz.is_first(full[0]) or gaz.is_last(full[0])):
        after = text[run[-1].end() : run[-1].end() + 30]
        sentence_start = not before.strip() or before.rstrip()[-1:] in '.!?\n>"“'
        if _CONTEXT_AFTER.match(after) or (_CUE_BEFORE.search(before) and not sentence_start):
            return 0.6
        return 0.45
    return 0.0


_STRONG_CUE = regex.compile(
    r"(?i)(?<!\w)(?:my name is|(?:first|last|maiden|full|family|user)?\s?name is|name's|name:|"
    r"named(?: (?:him|her))?|call me|calls me|called me|name\?\s*(?:user:)?|says|signed,?|меня зовут|"
    r"je m'appelle|ich heiße|me llamo|mi chiamo)[ \t]+"
)
_WORD = regex.compile(r"\p{L}[\p{L}'’\-]*\.?")


def _cued_names(text: str, gaz: NameGazetteer) -> Iterator[Span]:
    """Up to three words right after an explicit naming cue ("my name is leone mazzi"): 0.7.

    Capitalised words are taken whatever they are (a name cue says so);
    lower-case ones only when the gazetteer knows them (chat is often typed
    in lower case).
    """
    for cue in _STRONG_CUE.finditer(text):
        pos, start, end = cue.end(), -1, -1
        for _ in range(3):
            m = _WORD.match(text, pos)
            if m is None:
                break
            word = m.group().rstrip(".")
            known = gaz.is_first(word) or gaz.is_last(word)
            if word.casefold() in _STOP or not (word[:1].isupper() or known):
                break
            start = m.start() if start < 0 else start
            end = m.start() + len(word)
            pos = m.end()
            if pos >= len(text) or text[pos] not in " \t":
                break
            pos += 1
        if start >= 0:
            yield Span(start, end, "PERSON", 0.7, "gazetteer")


def find_names(text: str, gaz: NameGazetteer | None = None) -> list[Span]:
    """PERSON candidates of ``text`` from the gazetteer (see the module docstring for scores)."""
    if not text:
        return []
    gaz = gaz or load_gazetteer()
    out: list[Span] = list(_cued_names(text, gaz))
    for run, piece in _runs(text):
        if _TITLE.search(text, max(0, run[0].start() - 40), run[0].start()) and not _is_initial(
            run[0].group()
        ):
            out.append(Span(run[0].start(), run[-1].end(), "PERSON", 0.8, "gazetteer"))
            continue
        for part in _split_run(run, gaz):
            score = _score_run(text, part, gaz)
            trimmed = [
                m.group().casefold()
                for k, m in enumerate(run)
                if (m.start() < part[0].start() or m.end() > part[-1].end())
                # a sentence's first word is capitalised anyway ("Вчера Иван Петров"), unless it is a
                # word that starts proper nouns ("New York")
                and not (k == 0 and _sentence_start(text, m.start()) and m.group().casefold() not in _STOP)
            ]
            if any(w not in _GREETINGS for w in trimmed) or (piece and score < 0.75):
                score = min(score, 0.45)  # "New York", "Jones Orchestra": part of a longer proper noun
            span = Span(part[0].start(), part[-1].end(), "PERSON", score, "gazetteer")
            if score > 0 and not in_address(text, span):
                out.append(span)
    return out


def _split_run(run: list[regex.Match[str]], gaz: NameGazetteer) -> Iterator[list[regex.Match[str]]]:
    """Drop leading/trailing words that are not names ("Follow Sigrid Nyström" -> "Sigrid Nyström")."""
    words = [m.group() for m in run]
    lo, hi = 0, len(run)
    while lo < hi and not (gaz.is_first(words[lo]) or gaz.is_last(words[lo])):
        lo += 1
    while hi > lo and not (gaz.is_first(words[hi - 1]) or gaz.is_last(words[hi - 1])):
        hi -= 1
    if lo < hi and hi - lo == 1:  # one known word: keep one unknown neighbour that looks like a name
        if hi < len(words) and _name_like(words[hi : hi + 1]) and not _is_initial(words[hi]):
            hi += 1
        elif lo > 0 and _name_like(words[lo - 1 : lo]) and not _is_initial(words[lo - 1]):
            lo -= 1
    if lo < hi and not (lo == hi - 1 and _is_initial(words[lo])):
        yield run[lo:hi]


_DIGIT = regex.compile(r"\d")
# A house number right before or after: "3378 Lovers Lane", "Jana Nerudy 12" -- an address, not a person.
_NUMBER_BEFORE = regex.compile(r"(?:^|\s)\d{1,5}[a-zA-Z]?,?[ \t]+$")
_NUMBER_AFTER = regex.compile(r"^,?[ \t]+\d{1,4}[a-zA-Z]?(?!\d|[ \t\-.]?\d)")


def in_address(text: str, span: Span) -> bool:
    """Whether ``span`` sits next to a house number, as street names do."""
    before = text[max(0, span.start - 8) : span.start]
    return bool(_NUMBER_BEFORE.search(before) or _NUMBER_AFTER.match(text, span.end))


def plausible_person(text: str, span: Span) -> bool:
    """Whether an NER PERSON span can be a name: no digits, not ending in a street or company word.

    The small English model labels "Crown St", "Box 6031" or "Williamson
    Orchestra" PERSON; these are addresses and organisations.
    """
    value = text[span.start : span.end]
    words = value.split()
    return (
        bool(words)
        and not _DIGIT.search(value)
        and not (len(words) > 1 and _STREETISH.search(words[-1]))
        and not in_address(text, span)
    )


def plausible_ner_person(text: str, span: Span, gaz: NameGazetteer) -> bool:
    """With a gazetteer: an NER PERSON span needs a known name in it, or two capitalised words.

    Single unknown words the small model calls PERSON ("Salesperson",
    "Metallica", "Discipline") are mostly not people.
    """
    if not plausible_person(text, span):
        return False
    words = [w.strip(".,;:!?'’\"()") for w in text[span.start : span.end].split()]
    if any(gaz.is_first(w) or gaz.is_last(w) for w in words):
        return True
    return sum(1 for w in words if w[:1].isupper() and len(w) > 1) >= 2 and _name_like(words)
