"""Tokenisation shared by both index backends, at index time and at query time.

Neither SQLite's ``unicode61`` nor PostgreSQL's ``simple`` configuration
segments scripts written without spaces (Chinese, Japanese, Thai), and the
two split other text differently (PostgreSQL's parser knows URLs, e-mails,
hyphenated words).  So:

* runs of Han, Hiragana, Katakana, Hangul and Thai characters become
  overlapping character bigrams (the approach of Lucene's CJKBigramFilter):
  ``你好世界`` -> ``你好 好世 世界``; a run of one character is itself a token.
  A query run is searched as the *phrase* of its bigrams, so ``ありがとう``
  matches exactly that sequence.  A single-character query matches only a
  single-character run (no unigrams are indexed: they would double the index).
* SQLite indexes the text with its CJK runs expanded (:func:`cjk_expand`) and
  lets FTS5's C tokenizer (``unicode61 remove_diacritics 2``) do the rest --
  tokenising a million conversations in Python would cost minutes.  Queries
  pass each chunk, CJK-expanded, as one double-quoted FTS5 string (quotes
  doubled), so FTS5 tokenises query and document the same way.
* PostgreSQL gets tokens from :func:`index_text` (lower-case, Latin/Greek/
  Cyrillic diacritics removed, runs of letters and digits -- ``unicode61``'s
  rule) written as a tsvector literal with positions, so PostgreSQL's parser
  never re-splits them; queries are tsquery literals of the same tokens.

Free text is the AND of its whitespace-separated chunks, each chunk the
phrase of its tokens (``e-mail`` = phrase ``e mail``); phrase search is all
tokens adjacent.  User text never reaches FTS syntax raw: FTS5 strings are
quoted, tsquery lexemes are quoted and contain only letters and digits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

__all__ = [
    "MAX_QUERY_TERMS",
    "MAX_TOKEN_CHARS",
    "SNIPPET_CHARS",
    "Terms",
    "cjk_expand",
    "fold",
    "highlight",
    "index_text",
    "make_snippet",
    "parse_terms",
]

#: Longest token kept (characters); longer ones are truncated identically everywhere.
MAX_TOKEN_CHARS = 64
#: Most highlighted tokens located per text (snippets show a few; long code pastes have thousands).
MAX_HIGHLIGHTS = 200
#: Most tokens one query may have (a longer query is a ``QueryError`` upstream).
MAX_QUERY_TERMS = 64

_CJK = (
    "\u0e00-\u0e7f"  # Thai
    "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"  # Hangul
    "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"  # Hiragana, Katakana (incl. half-width)
    "\u3005\u3007\u3021-\u3029\u3038-\u303b"  # ideographic iteration marks and numerals
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"  # Han
)
_CJK_RUN = re.compile(f"[{_CJK}]+")
_DIACRITICS = re.compile("[\u0300-\u036f]+")


_WORD = re.compile(r"[^\W_]+")


def _word_re() -> re.Pattern[str]:
    """Runs of letters and digits (``unicode61``'s default token characters, minus CJK handling).

    Only ever applied to text between CJK runs.  Combining marks split
    tokens, as in ``unicode61``; that costs no precision because every query
    chunk is searched as the phrase of its tokens.
    """
    return _WORD


def fold(text: str) -> str:
    """Lower-case and strip Latin/Greek/Cyrillic diacritics (NFD, drop U+0300-036F, NFC)."""
    text = text.lower()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", _DIACRITICS.sub("", decomposed))


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _groups(folded: str) -> list[list[str]]:
    """Token groups of folded text: each word alone, each CJK run as its bigram list."""
    if not _CJK_RUN.search(folded):
        return [[w[:MAX_TOKEN_CHARS]] for w in _word_re().findall(folded)]
    out: list[list[str]] = []
    pos = 0
    word_re = _word_re()
    for m in _CJK_RUN.finditer(folded):
        out.extend([w[:MAX_TOKEN_CHARS]] for w in word_re.findall(folded, pos, m.start()))
        out.append(_bigrams(m.group()))
        pos = m.end()
    out.extend([w[:MAX_TOKEN_CHARS]] for w in word_re.findall(folded, pos))
    return out


def cjk_expand(text: str) -> str:
    """``text`` with every CJK run replaced by its space-separated bigrams (SQLite documents)."""
    if not _CJK_RUN.search(text):
        return text
    return _CJK_RUN.sub(lambda m: " " + " ".join(_bigrams(m.group())) + " ", text)


def index_text(text: str) -> str:
    """The document as the index stores it: folded tokens joined by single spaces."""
    folded = fold(text)
    if not _CJK_RUN.search(folded):
        words = _word_re().findall(folded)
        if any(len(w) > MAX_TOKEN_CHARS for w in words):
            words = [w[:MAX_TOKEN_CHARS] for w in words]
        return " ".join(words)
    return " ".join(tok for group in _groups(folded) for tok in group)


@dataclass(frozen=True, slots=True)
class Terms:
    """A parsed query: AND of ``groups``; each group is a phrase (adjacent tokens).

    ``chunks[i]`` is the source text of ``groups[i]`` with CJK runs expanded
    (what FTS5 tokenises).  For ``phrase=True`` there is exactly one group.
    """

    groups: tuple[tuple[str, ...], ...]
    chunks: tuple[str, ...] = ()

    @property
    def tokens(self) -> frozenset[str]:
        return frozenset(t for g in self.groups for t in g)

    def __bool__(self) -> bool:
        return bool(self.groups)


def parse_terms(text: str, phrase: bool = False) -> Terms:
    """Query text -> :class:`Terms`.

    Free text: every whitespace-separated chunk is one group (``e-mail`` is
    the phrase ``e mail``; a CJK run is the phrase of its bigrams), all groups
    must match (AND).  ``phrase``: all tokens adjacent, in order.  Text with
    no tokens at all (only punctuation) gives empty ``Terms``.  Raises
    ``ValueError`` beyond :data:`MAX_QUERY_TERMS` tokens.
    """
    if phrase:
        parts = [(tuple(t for g in _groups(fold(ch)) for t in g), ch) for ch in text.split()]
        tokens = tuple(t for toks, _ in parts for t in toks)
        if len(tokens) > MAX_QUERY_TERMS:
            raise ValueError(f"query has more than {MAX_QUERY_TERMS} terms")
        chunk = " ".join(cjk_expand(ch).strip() for toks, ch in parts if toks)
        return Terms((tokens,), (chunk,)) if tokens else Terms(())
    pairs: dict[tuple[str, ...], str] = {}
    for chunk in text.split():
        toks = tuple(t for g in _groups(fold(chunk)) for t in g)
        if toks and toks not in pairs:  # identical groups add nothing to an AND
            pairs[toks] = cjk_expand(chunk).strip()
    if sum(len(g) for g in pairs) > MAX_QUERY_TERMS:
        raise ValueError(f"query has more than {MAX_QUERY_TERMS} terms")
    return Terms(tuple(pairs), tuple(pairs.values()))


def _spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, token)`` of every token of ``text`` at its original offsets."""
    out: list[tuple[int, int, str]] = []
    pos = 0
    word_re = _word_re()
    for m in _CJK_RUN.finditer(text):
        out.extend(
            (w.start(), w.end(), fold(w.group())[:MAX_TOKEN_CHARS])
            for w in word_re.finditer(text, pos, m.start())
        )
        run = fold(m.group())
        if len(run) == len(m.group()):
            if len(run) == 1:
                out.append((m.start(), m.end(), run))
            else:
                out.extend((m.start() + i, m.start() + i + 2, run[i : i + 2]) for i in range(len(run) - 1))
        pos = m.end()
    out.extend((w.start(), w.end(), fold(w.group())[:MAX_TOKEN_CHARS]) for w in word_re.finditer(text, pos))
    return out


@lru_cache(maxsize=256)
def _terms_re(tokens: frozenset[str]) -> re.Pattern[str]:
    """One regex finding the query's tokens in *folded* text (CJK bigrams may overlap)."""
    words = sorted((t for t in tokens if not _CJK_RUN.fullmatch(t)), key=len, reverse=True)
    cjk = sorted((t for t in tokens if _CJK_RUN.fullmatch(t)), key=len, reverse=True)
    parts = []
    if words:
        # no look-behind here (it defeats the regex engine's first-character scan,
        # ~15x slower); :func:`highlight` drops a word match preceded by a letter or digit
        parts.append("(" + "|".join(map(re.escape, words)) + r")(?![^\W_])")
    if cjk:
        parts.append("(?=(" + "|".join(map(re.escape, cjk)) + "))")
    return re.compile("|".join(parts) or "(?!)")


def _whole_words(found: Iterator[re.Match[str]], folded: str) -> Iterator[re.Match[str]]:
    """Matches of :func:`_terms_re` whose word (group 1) starts a word: not after a letter or digit.

    A dropped match spans only letters and digits, so no valid match could
    start inside it: the result equals a look-behind in the pattern.
    """
    for m in found:
        start = m.start(1)
        if start <= 0 or not folded[start - 1].isalnum():
            yield m


def highlight(text: str, terms: Terms) -> list[tuple[int, int]]:
    """Merged ``(start, end)`` offsets in ``text`` of tokens that belong to ``terms``.

    Best effort and plain-text only: the database decided the match; this
    only marks where the query's tokens occur (overlapping bigrams merge).
    Fast path: one regex over the folded text when folding keeps its length
    (almost always); otherwise every token is located and folded one by one.
    """
    if not terms.tokens:
        return []
    folded = fold(text)
    if len(folded) == len(text):
        found_all = _terms_re(terms.tokens).finditer(folded)
        if any(not _CJK_RUN.fullmatch(t) for t in terms.tokens):  # group 1 is the words' group
            found_all = _whole_words(found_all, folded)
        found = islice(found_all, MAX_HIGHLIGHTS)
        hits = [m.span(1) if m.group(1) is not None else m.span(m.lastindex or 1) for m in found]
    else:
        wanted = terms.tokens
        hits = [(s, e) for s, e, tok in _spans(text) if tok in wanted]
    merged: list[tuple[int, int]] = []
    for s, e in hits:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


#: Characters of context shown in a result snippet.
SNIPPET_CHARS = 240
_BLANKS = str.maketrans({"\n": " ", "\r": " ", "\t": " ", "\x0b": " ", "\x0c": " "})


def make_snippet(
    texts: list[str], terms: Terms, width: int = SNIPPET_CHARS
) -> tuple[str, list[tuple[int, int]]]:
    """Plain-text snippet around the query's tokens, with highlight offsets into it.

    The turn with the most highlighted tokens wins (first one on ties); the
    window starts a little before its first highlight, at a space when one is
    near.  Without terms (or hits) it is the start of the first text.  Line
    breaks become spaces (one for one, so offsets hold); cut ends get ``…``.
    """
    best: tuple[str, list[tuple[int, int]]] | None = None
    if terms:
        for text in texts:
            spans = highlight(text, terms)
            if spans and (best is None or len(spans) > len(best[1])):
                best = (text, spans)
    if best is None:
        text = texts[0] if texts else ""
        piece = text[:width]
        return piece.translate(_BLANKS) + ("…" if len(text) > width else ""), []
    text, spans = best
    start = max(0, spans[0][0] - width // 4)
    if start > 0:
        space = text.rfind(" ", max(0, start - 20), spans[0][0])
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + width)
    prefix = "…" if start > 0 else ""
    piece = prefix + text[start:end].translate(_BLANKS) + ("…" if end < len(text) else "")
    shift = len(prefix) - start
    offsets = [(s + shift, e + shift) for s, e in spans if s >= start and e <= end]
    return piece, offsets
