"""``wildchat export-sft``: training files from any readable dataset.

Every conversation read is either written or counted as a skip with its
reason (:class:`wildchat.skips.SkipReport`), checked in this order, cheapest
first:

``held_out`` (in the evaluation split, :mod:`wildchat.train.split`),
``language`` (not one of ``--language``), ``toxic`` (``--drop-toxic`` and the
record is flagged), ``no_assistant`` / ``empty_assistant`` /
``consecutive_roles`` / ``bad_order`` (:func:`structure_problem`),
``min_turns`` (fewer assistant replies than ``--min-turns``),
``duplicate_prompt`` (``--dedup-prompts``: first user message already
exported, compared after whitespace normalisation and case folding),
``too_long`` (over ``--max-tokens``).  Readers' own skips (unreadable records)
land in the same report.  Unanswered trailing user messages are dropped and
counted as a ``trailing_user`` repair.

Length: with ``--tokenizer`` (a model folder, ``.gguf`` or ``smollm2``) the
tokens of the chat as that model's chat template renders it; otherwise the
sum of the messages' tiktoken ``cl100k_base`` counts.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wildchat.schema import Conversation
from wildchat.skips import SkipReport
from wildchat.train.sft_data import (
    FORMATS,
    conversation_messages,
    drop_trailing_user,
    structure_problem,
    to_record,
)
from wildchat.train.split import DEFAULT_HOLDOUT, heldout_key, is_heldout

__all__ = ["ExportError", "ExportOptions", "ExportResult", "export_sft", "resolve_inputs"]


class ExportError(ValueError):
    """Options or inputs that make the export impossible (message says why)."""


@dataclass
class ExportOptions:
    out: Path
    fmt: str = "messages"
    public_only: bool = False
    languages: list[str] = field(default_factory=list)
    min_turns: int = 1
    max_tokens: int | None = None
    tokenizer: str | None = None
    dedup_prompts: bool = False
    holdout: float = DEFAULT_HOLDOUT
    drop_toxic: bool = False
    input_format: str | None = None
    split: str = "full"  # release folders: full or public (``public_only`` means public)


@dataclass
class ExportResult:
    report: SkipReport
    out: Path
    stats_path: Path
    inputs: list[str]
    length_measure: str | None


def resolve_inputs(datasets: Sequence[str | Path], public_only: bool, split: str = "full") -> list[Path]:
    """The paths to read: each curated release folder as its ``split`` (``public`` with ``public_only``).

    Release folders are resolved by :func:`wildchat.formats.release.resolve_inputs`
    (the rule every command shares); other inputs pass unchanged.  Raises
    :class:`ExportError` for a broken release, and when ``public_only`` is
    asked of something that is not a release folder: no other input says
    what is public.
    """
    from wildchat.formats.release import ReleaseError, is_release
    from wildchat.formats.release import resolve_inputs as resolve_release

    if public_only:
        split = "public"
        for d in datasets:
            if not is_release(Path(d)):
                raise ExportError(
                    f"--public-only: {d} is not a curated release folder with a public/ split "
                    "(made by `wildchat curate`)"
                )
    try:
        return resolve_release(datasets, split)
    except ReleaseError as exc:
        raise ExportError(str(exc)) from exc


def _length_measure(spec: str | None) -> tuple[str, Callable[[list[dict[str, str]]], int]]:
    if spec is None:
        from wildchat.text.tokenize import TokenizerError, load_token_counter

        try:
            counter = load_token_counter("cl100k_base", threads=1)
        except TokenizerError as exc:
            raise ExportError(f"--max-tokens: {exc}; or pass --tokenizer MODEL") from exc
        return counter.name, lambda msgs: sum(counter.count([m["content"] for m in msgs]))
    from wildchat.train.masking import chat_template_of
    from wildchat.train.models import load_tokenizer

    tok = load_tokenizer(spec)
    if chat_template_of(tok) is not None:

        def templated(msgs: list[dict[str, str]]) -> int:
            text = tok.apply_chat_template(msgs, tokenize=False)
            return len(tok(text, add_special_tokens=False)["input_ids"])

        return f"chat-template:{spec}", templated
    return f"tokens:{spec}", lambda msgs: sum(
        len(x) for x in tok([m["content"] for m in msgs], add_special_tokens=False)["input_ids"]
    )


def _prompt_key(messages: list[dict[str, str]]) -> bytes:
    first = next(m["content"] for m in messages if m["role"] == "user")
    return hashlib.blake2b(
        " ".join(first.split()).casefold().encode("utf-8", "surrogatepass"), digest_size=16
    ).digest()


def _write(
    tmp: Path,
    conversations: Iterator[Conversation],
    opts: ExportOptions,
    report: SkipReport,
    measure: Callable[[list[dict[str, str]]], int] | None,
) -> None:
    """Filter ``conversations`` into ``tmp`` (see the module docstring for the order of checks)."""
    languages = {lang.casefold() for lang in opts.languages}
    seen: set[bytes] = set()
    with tmp.open("w", encoding="utf-8") as fh:
        for conv in conversations:
            cid = conv.conversation_id or conv.conversation_hash
            key = heldout_key(conv)
            if is_heldout(key, opts.holdout):
                report.skip("held_out", "in the held-out evaluation split", cid)
                continue
            if languages:
                lang = conv.language or next((t.language for t in conv.conversation if t.language), None)
                if lang is None or lang.casefold() not in languages:
                    report.skip("language", f"language {lang!r} not selected", cid)
                    continue
            if opts.drop_toxic and conv.toxic:
                report.skip("toxic", "flagged toxic", cid)
                continue
            messages = conversation_messages(conv)
            if drop_trailing_user(messages):
                report.repair("trailing_user", "dropped unanswered trailing user message(s)", cid)
            problem = structure_problem(messages)
            if problem is not None:
                report.skip(problem, f"unusable conversation ({problem})", cid)
                continue
            n_replies = sum(1 for m in messages if m["role"] == "assistant")
            if n_replies < opts.min_turns:
                report.skip("min_turns", f"{n_replies} replies < {opts.min_turns}", cid)
                continue
            pkey = _prompt_key(messages) if opts.dedup_prompts else b""
            if opts.dedup_prompts and pkey in seen:
                report.skip("duplicate_prompt", "first prompt already exported", cid)
                continue
            if measure is not None and opts.max_tokens is not None:
                n_tokens = measure(messages)
                if n_tokens > opts.max_tokens:
                    report.skip("too_long", f"{n_tokens} tokens > {opts.max_tokens}", cid)
                    continue
            if opts.dedup_prompts:
                seen.add(pkey)
            line = json.dumps(to_record(opts.fmt, cid, messages), ensure_ascii=False)
            # U+2028/2029 are valid in JSON strings but split "lines" for many readers
            fh.write(line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n")
            report.written += 1


def export_sft(datasets: Sequence[str | Path], opts: ExportOptions) -> ExportResult:
    """Write ``opts.out`` (JSONL) and ``opts.out + ".stats.json"``; return the counts.

    The output is written to a temporary name and renamed when complete.
    Raises :class:`ExportError` for bad options, ``FileNotFoundError`` for an
    input that matches nothing.
    """
    from wildchat.formats import iter_conversations

    if opts.fmt not in FORMATS:
        raise ExportError(f"unknown --format {opts.fmt!r}; choose one of {', '.join(FORMATS)}")
    if not 0 <= opts.holdout < 1:
        raise ExportError("--holdout must be in [0, 1)")
    inputs = resolve_inputs(datasets, opts.public_only, opts.split)
    measure_name, measure = _length_measure(opts.tokenizer) if opts.max_tokens else (None, None)
    report = SkipReport()
    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    try:
        _write(tmp, iter_conversations(inputs, opts.input_format, report), opts, report, measure)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
    stats_path = out.with_name(out.name + ".stats.json")
    options: dict[str, Any] = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()}
    stats = {
        "inputs": [str(p) for p in inputs],
        "options": options,
        "length_measure": measure_name,
        **report.to_dict(),
    }
    stats_path.write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return ExportResult(report, out, stats_path, [str(p) for p in inputs], measure_name)
