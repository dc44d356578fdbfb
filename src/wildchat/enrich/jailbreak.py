"""Jailbreak prompts: matching a known library, and discovering new templates.

**Library.** A user-supplied file (this project ships no third-party
prompts): the CSV of the public *jailbreak_llms* collection (columns
``prompt`` and optionally ``jailbreak``, ``community_name``, ``platform``,
``source``; rows with ``jailbreak`` false are skipped) or a plain text file
of prompts separated by lines holding only ``---``, each optionally starting
with a ``name: <family>`` line.  An entry's family name is its
``community_name``, else ``<platform>/<source>``, else ``entry-<n>``.

**Matching.** Word 3-shingles (lower-cased, punctuation-insensitive) ->
MinHash (datasketch) -> LSH candidates -> the candidate with the highest
estimated Jaccard similarity at or above ``threshold`` wins; payload slots of
library templates ("[INSERT PROMPT HERE]", ``{question}``) are removed before
shingling (:func:`strip_slots`).  Jaccard on
shingles survives the edits users make to templates (a filled-in question, a
renamed persona, trimmed lines).  Texts under ``min_words`` words are not
compared (no template is that short) and get ``False``.

**Built-in signatures.** :class:`SignatureMatcher` needs no library: short
cue regexes written for this project, one or a few per well-known public
jailbreak family (DAN, Developer Mode, AIM, "ignore previous instructions",
role-play locks, refusal suppression, hypothetical framing, token smuggling
...), in ``jailbreak_signatures.toml`` next to this module (reviewed data, no
third-party prompt text).  Precision first: a family cue, not "sounds edgy";
the one exception is a family with ``min_matches = N``, which fires only when
N of its weak cues co-occur (persona + "from now on" + "no restrictions" +
"explicit" ...), each harmless alone.
:class:`CombinedMatcher` asks the library first and lets signatures fill in.

**Discovery** (:mod:`wildchat.enrich.jailbreak_discover`) clusters long user
prompts by the same MinHash LSH and shingles defined here.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

_WORD = re.compile(r"\w+", re.UNICODE)
#: Payload slots in published templates: "[INSERT PROMPT HERE]", "{question}", "<your request>".
_SLOT = re.compile(r"\[[^\]\n]{0,60}\]|\{[^}\n]{0,60}\}|<[^>\n]{0,60}>")
SLOT_MARK = "[PAYLOAD]"
MAX_CHARS = 50_000  # cost bound per text; templates are far shorter


@dataclass(frozen=True)
class LibraryEntry:
    """One known jailbreak prompt and its family name."""

    name: str
    text: str


def shingles(text: str, k: int = 3) -> set[str]:
    """Lower-cased word k-shingles (a short text gives its words as one shingle)."""
    words = _WORD.findall(text[:MAX_CHARS].lower())
    if len(words) < k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def _truthy(value: str | None) -> bool:
    return (value or "true").strip().lower() in ("true", "1", "yes")


def load_library(path: str | Path) -> list[LibraryEntry]:
    """Entries of a jailbreak_llms-style CSV or a ``---``-separated text file."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        csv.field_size_limit(10**8)
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or "prompt" not in reader.fieldnames:
                raise ValueError(f"jailbreak library {path.name}: a CSV needs a 'prompt' column")
            out = []
            for n, row in enumerate(reader):
                text = (row.get("prompt") or "").strip()
                if not text or not _truthy(row.get("jailbreak")):
                    continue
                name = (row.get("community_name") or "").strip().replace("\n", " ")
                if not name and (row.get("platform") or row.get("source")):
                    name = f"{(row.get('platform') or '').strip()}/{(row.get('source') or '').strip()}"
                out.append(LibraryEntry(name or f"entry-{n}", text))
            return out
    out = []
    blocks = re.split(r"(?m)^---\s*$", path.read_text(encoding="utf-8"))
    for n, block in enumerate(b.strip() for b in blocks):
        if not block:
            continue
        name = f"entry-{n}"
        first, _, rest = block.partition("\n")
        if first.lower().startswith("name:"):
            name, block = first[5:].strip() or name, rest.strip()
        if block:
            out.append(LibraryEntry(name, block))
    return out


def _minhash(sh: set[str], num_perm: int) -> Any:
    from datasketch import MinHash

    m = MinHash(num_perm=num_perm)
    m.update_batch([s.encode("utf-8") for s in sh])
    return m


def strip_slots(text: str) -> str:
    """``text`` without its payload slots, so a template and a filled-in copy share more shingles."""
    return _SLOT.sub(" ", text)


def common_template(texts: Sequence[str], min_share: float = 0.5) -> str:
    """The lines shared by at least ``min_share`` of ``texts``; other runs of lines -> ``[PAYLOAD]``.

    Turns a cluster of filled-in copies of one template into the template
    with its payload slots removed: what users changed (their question, a
    name) is dropped, which also keeps their own words out of a library file.
    Lines are compared after collapsing whitespace; order follows ``texts[0]``.
    """
    if not texts:
        return ""
    norm = [[" ".join(line.split()) for line in t.splitlines()] for t in texts]
    counts: Counter[str] = Counter()
    for lines in norm:
        counts.update({line for line in lines if line})
    need = max(1, int(min_share * len(texts) + 0.999))
    out: list[str] = []
    for line in norm[0]:
        if not line:
            continue
        if counts[line] >= need:
            out.append(line)
        elif not out or out[-1] != SLOT_MARK:
            out.append(SLOT_MARK)
    return "\n".join(out)


class JailbreakMatcher:
    """MinHash-LSH index over a library; :meth:`match` names the family per text."""

    def __init__(
        self,
        entries: Sequence[LibraryEntry],
        *,
        threshold: float = 0.5,
        num_perm: int = 128,
        min_words: int = 20,
    ) -> None:
        from datasketch import MinHashLSH

        self.threshold = threshold
        self.num_perm = num_perm
        self.min_words = min_words
        self.entries = list(entries)
        self._lsh = MinHashLSH(threshold=threshold * 0.8, num_perm=num_perm)
        self._hashes: list[Any] = []
        for i, entry in enumerate(self.entries):
            m = _minhash(shingles(strip_slots(entry.text)), num_perm)
            self._hashes.append(m)
            self._lsh.insert(i, m)

    def match_one(self, text: str) -> str | None:
        """Family name of the best library match, or ``None``."""
        if len(_WORD.findall(text[:MAX_CHARS])) < self.min_words:
            return None
        m = _minhash(shingles(text), self.num_perm)
        best, best_sim = None, self.threshold
        for i in self._lsh.query(m):
            sim = float(m.jaccard(self._hashes[i]))
            if sim >= best_sim:
                best, best_sim = self.entries[i].name, sim
        return best

    def match(self, texts: Sequence[str]) -> list[str | None]:
        return [self.match_one(t) for t in texts]


SIGNATURES_FILE = "jailbreak_signatures.toml"
Source = Literal["library", "signature"]


@dataclass(frozen=True)
class Signature:
    """One jailbreak family, the cue regexes that name it, and their prefilter anchors."""

    family: str
    patterns: tuple[str, ...]
    anchors: tuple[str, ...]
    min_matches: int = 1
    pattern_anchors: tuple[tuple[str, ...], ...] = ()
    #: None: the cue alone names the turn; N: a text of >= N words also needs a rule-override cue
    corroborate_from_words: int | None = None


def load_signatures(path: str | Path | None = None) -> list[Signature]:
    """Families of a signatures TOML (default: the built-in file); bad regexes raise ``ValueError``."""
    if path is None:
        raw = resources.files("wildchat.enrich").joinpath(SIGNATURES_FILE).read_text(encoding="utf-8")
    else:
        raw = Path(path).read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"jailbreak signatures: {exc}") from exc
    out = []
    for n, fam in enumerate(doc.get("family", [])):
        name, patterns = str(fam.get("name") or ""), tuple(str(p) for p in fam.get("patterns") or ())
        anchors = tuple(str(a) for a in fam.get("anchors") or ())
        if not name or not patterns or not anchors:
            raise ValueError(f"jailbreak signatures: family #{n} needs a name, patterns and anchors")
        if any(not a or a != a.lower() for a in anchors):
            raise ValueError(f"jailbreak signatures: {name}: anchors must be non-empty lower-case text")
        for pat in patterns:
            try:
                re.compile(pat)
            except re.error as exc:
                raise ValueError(f"jailbreak signatures: {name}: bad pattern ({exc})") from exc
        min_matches = fam.get("min_matches", 1)
        if not isinstance(min_matches, int) or not 1 <= min_matches <= len(patterns):
            raise ValueError(f"jailbreak signatures: {name}: min_matches must be in [1, number of patterns]")
        per = tuple(tuple(str(a) for a in group) for group in fam.get("pattern_anchors") or ())
        if per and (len(per) != len(patterns) or any(not g or any(a != a.lower() for a in g) for g in per)):
            raise ValueError(
                f"jailbreak signatures: {name}: pattern_anchors needs one lower-case list per pattern"
            )
        corroborate = fam.get("corroborate_from_words")
        if corroborate is not None and (not isinstance(corroborate, int) or corroborate < 0):
            raise ValueError(f"jailbreak signatures: {name}: corroborate_from_words must be an int >= 0")
        out.append(Signature(name, patterns, anchors, min_matches, per, corroborate))
    return out


def load_override_cues(path: str | Path | None = None) -> list[str]:
    """The ``[override]`` cue regexes of a signatures TOML (default: built-in); none -> ``[]``.

    A rule-override cue says the reply should drop its rules or carry harmful
    content ("no restrictions", "explicit", "illegal", "OpenAI's policy" ...).
    Families marked ``corroborate_from_words`` need one in long texts: a
    role-play lock or an "ignore previous instructions" preamble on an
    ordinary task (SEO, translation, a character chat) is not a jailbreak.
    """
    if path is None:
        raw = resources.files("wildchat.enrich").joinpath(SIGNATURES_FILE).read_text(encoding="utf-8")
    else:
        raw = Path(path).read_text(encoding="utf-8")
    try:
        cues = [str(p) for p in tomllib.loads(raw).get("override", {}).get("patterns", [])]
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"jailbreak signatures: {exc}") from exc
    for pat in cues:
        try:
            re.compile(pat)
        except re.error as exc:
            raise ValueError(f"jailbreak signatures: override cue: bad pattern ({exc})") from exc
    return cues


class SignatureMatcher:
    """Built-in cue regexes; :meth:`match_one` names the family of the earliest cue.

    Text is matched with whitespace runs collapsed to one space, case
    insensitive, on at most ``MAX_CHARS`` characters.  Python's ``re`` spends
    ~10 us per KB on every ``\\b``-led pattern, so each family's regex only
    runs when one of its anchors (plain substrings, ~0.3 us) is in the
    lower-cased text: ~20 us per ordinary KB instead of ~450.  ``prefilter =
    False`` runs every regex (tests check both agree).
    """

    def __init__(
        self,
        signatures: Sequence[Signature] | None = None,
        *,
        prefilter: bool = True,
        override_cues: Sequence[str] | None = None,
    ) -> None:
        self.signatures = list(load_signatures() if signatures is None else signatures)
        self.prefilter = prefilter
        cues = load_override_cues() if override_cues is None else list(override_cues)
        # no cue at all: nothing can corroborate, so marked families never fire alone in long texts
        self._override = re.compile("|".join(f"(?:{c})" for c in cues) or r"(?!)", re.IGNORECASE)
        self._regexes = [
            re.compile("|".join(f"(?:{p})" for p in sig.patterns), re.IGNORECASE) for sig in self.signatures
        ]
        self._parts = [[re.compile(p, re.IGNORECASE) for p in sig.patterns] for sig in self.signatures]
        # every anchor once: families share many, so each text is scanned for each anchor only once
        self._anchors = sorted(
            {a for sig in self.signatures for a in sig.anchors}
            | {a for sig in self.signatures for group in sig.pattern_anchors for a in group}
        )

    def _search(self, i: int, norm: str, present: set[str]) -> int | None:
        """Start of family ``i``'s evidence in ``norm``: its first cue, or for a family that needs
        ``min_matches`` distinct cues, the earliest of them once enough are found."""
        sig = self.signatures[i]
        if sig.min_matches == 1:
            found = self._regexes[i].search(norm)
            return None if found is None else found.start()
        parts = self._parts[i]
        if self.prefilter and sig.pattern_anchors:  # only patterns whose own anchors are present
            parts = [
                p
                for p, group in zip(parts, sig.pattern_anchors, strict=True)
                if not present.isdisjoint(group)
            ]
        starts: list[int] = []
        for k, part in enumerate(parts):
            if len(parts) - k + len(starts) < sig.min_matches:
                return None  # not enough patterns left to reach the count
            found = part.search(norm)
            if found is not None:
                starts.append(found.start())
                if len(starts) == sig.min_matches:
                    return min(starts)
        return None

    def _corroborated(self, sig: Signature, norm: str, cache: dict[str, bool]) -> bool:
        """True unless ``sig`` needs a rule-override cue in a text this long and ``norm`` has none."""
        need = sig.corroborate_from_words
        if need is None:
            return True
        if "words" not in cache:
            cache["words"] = norm.count(" ") + 1 >= need
        if not cache["words"]:
            return True
        if "override" not in cache:
            cache["override"] = self._override.search(norm) is not None
        return cache["override"]

    def match_one(self, text: str) -> str | None:
        norm = " ".join(text[:MAX_CHARS].split())
        low = norm.lower() if self.prefilter else ""
        present = {a for a in self._anchors if a in low}
        best: tuple[int, int] | None = None
        cache: dict[str, bool] = {}
        for weak in (False, True):  # families needing several weak cues only name what no cue named
            for i, sig in enumerate(self.signatures):
                if (sig.min_matches > 1) != weak or (self.prefilter and present.isdisjoint(sig.anchors)):
                    continue
                start = self._search(i, norm, present)
                if start is None or not self._corroborated(sig, norm, cache):
                    continue
                if best is None or start < best[0]:
                    best = (start, i)
            if best is not None:
                break
        return None if best is None else self.signatures[best[1]].family

    def match(self, texts: Sequence[str]) -> list[str | None]:
        return [self.match_one(t) for t in texts]


class CombinedMatcher:
    """Library (MinHash) first, then signatures; :meth:`match` also says which source matched."""

    def __init__(self, library: JailbreakMatcher | None, signatures: SignatureMatcher | None) -> None:
        self.library = library
        self.signatures = signatures

    def match_sources(self, texts: Sequence[str]) -> list[tuple[str, Source] | None]:
        """Per text: ``(family, "library" | "signature")`` or ``None``."""
        out: list[tuple[str, Source] | None] = []
        for text in texts:
            name = self.library.match_one(text) if self.library is not None else None
            if name is not None:
                out.append((name, "library"))
                continue
            name = self.signatures.match_one(text) if self.signatures is not None else None
            out.append(None if name is None else (name, "signature"))
        return out

    def match(self, texts: Sequence[str]) -> list[str | None]:
        return [None if m is None else m[0] for m in self.match_sources(texts)]
