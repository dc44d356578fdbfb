"""Token ids and loss labels for one chat, from the tokenizer's own chat template.

Loss is on assistant tokens only (the Vicuna/WildLlama recipe).  Which tokens
are the assistant's is decided by the chat template the model was trained
with -- never by splitting strings on role markers, which silently breaks when
a template adds a space, a BOS or a system prompt (FastChat's best-known bug).

Two methods, both producing the same :class:`EncodedChat`:

* ``generation`` -- the template marks assistant output with
  ``{% generation %}...{% endgeneration %}``: transformers' own
  ``apply_chat_template(..., return_assistant_tokens_mask=True)`` gives the mask.
* ``prefix`` -- any other template.  For each assistant message *i*, the tokens
  of ``render(messages[:i], add_generation_prompt=True)`` must be a prefix of
  the tokens of ``render(messages[:i+1])``, which must in turn be a prefix of
  the tokens of the whole chat; the tokens in between are the assistant's
  (content plus end-of-turn token).  Both prefix relations are checked token by
  token; when either fails the template cannot be masked this way and
  :class:`MaskingError` ``template_mismatch`` is raised instead of guessing.
  ``verify="segments"`` checks the same boundaries at linear cost instead
  (:func:`_segment_spans`).  A chat over ``max_length`` is refused after one
  tokenisation of the whole chat, before any of these checks.

Whitespace-only tokens that a template emits *after* an end-of-turn special
token (ChatML's and Zephyr's ``"\\n"`` after ``<|im_end|>``/``</s>``) are not
labelled: they are turn separators, not something the model must generate.

Tokenisation follows transformers: the rendered text is tokenised with
``add_special_tokens=False`` (the template itself writes any BOS).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

__all__ = [
    "IGNORE_INDEX",
    "REASONS",
    "EncodedChat",
    "MaskingError",
    "chat_template_of",
    "encode_chat",
    "has_generation_markers",
]

IGNORE_INDEX = -100

#: Every ``MaskingError.reason`` (also the skip reasons ``wildchat train`` counts).
REASONS = (
    "no_template",
    "bad_message",
    "no_assistant",
    "empty_assistant",
    "template_error",
    "template_mismatch",
    "too_long",
)

_GENERATION = re.compile(r"\{%-?\s*generation\s*-?%\}")


class MaskingError(ValueError):
    """A chat that cannot be encoded; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class EncodedChat:
    """Token ids of a rendered chat and its labels.

    ``labels[k]`` is ``input_ids[k]`` where token *k* is assistant output
    (including its end-of-turn token) and :data:`IGNORE_INDEX` elsewhere.
    ``truncated`` is set when ``overflow="truncate"`` cut the chat.
    """

    input_ids: list[int]
    labels: list[int]
    truncated: bool = False

    @property
    def n_loss_tokens(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE_INDEX)

    def __len__(self) -> int:
        return len(self.input_ids)


def chat_template_of(tokenizer: Any) -> str | None:
    """The tokenizer's default chat template text, or ``None`` when it has none."""
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):  # named templates: the default one is used
        template = template.get("default")
    return template if isinstance(template, str) and template.strip() else None


def has_generation_markers(template: str) -> bool:
    """Whether ``template`` marks assistant output with ``{% generation %}``."""
    return bool(_GENERATION.search(template))


def _check_messages(messages: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for k, m in enumerate(messages):
        role, content = m.get("role"), m.get("content")
        if not isinstance(role, str) or not isinstance(content, str):
            raise MaskingError("bad_message", f"message {k}: role and content must be strings")
        out.append({"role": role, "content": content})
    roles = [m["role"] for m in out]
    if "assistant" not in roles:
        raise MaskingError("no_assistant", "the chat has no assistant message to learn from")
    for k, m in enumerate(out):
        if m["role"] == "assistant" and not m["content"].strip():
            raise MaskingError("empty_assistant", f"message {k}: empty assistant message")
    return out


def _render(tokenizer: Any, messages: list[dict[str, str]], generation_prompt: bool) -> str:
    try:
        text = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=generation_prompt
        )
    except Exception as exc:  # jinja raise_exception(), undefined variables, ...
        raise MaskingError("template_error", f"chat template raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(text, str):
        raise MaskingError("template_error", "chat template did not render to text")
    return text


def _tokenize(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    return [list(x) for x in ids]


def _special_ids(tokenizer: Any) -> set[int]:
    ids = set(getattr(tokenizer, "all_special_ids", []) or [])
    decoder = getattr(tokenizer, "added_tokens_decoder", None)
    if isinstance(decoder, Mapping):
        ids.update(int(k) for k in decoder)
    return ids


def _trim_separator(tokenizer: Any, ids: list[int], start: int, end: int, special: set[int]) -> int:
    """New ``end``: drop whitespace-only tokens following an end-of-turn special token."""
    k = end
    while k - 1 > start and ids[k - 1] not in special and not tokenizer.decode([ids[k - 1]]).strip():
        k -= 1
    return k if k < end and ids[k - 1] in special else end


def _prefix_spans(tokenizer: Any, messages: list[dict[str, str]], full: list[int]) -> list[tuple[int, int]]:
    assistant_at = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    texts: list[str] = []
    for i in assistant_at:
        texts.append(_render(tokenizer, messages[:i], True))
        texts.append(_render(tokenizer, messages[: i + 1], False))
    tokens = _tokenize(tokenizer, texts)
    special = _special_ids(tokenizer)
    spans: list[tuple[int, int]] = []
    for n, i in enumerate(assistant_at):
        before, upto = tokens[2 * n], tokens[2 * n + 1]
        if upto[: len(before)] != before:
            raise MaskingError(
                "template_mismatch",
                f"message {i}: the prompt with the generation prompt is not a token prefix of the "
                "prompt with the assistant's reply",
            )
        if full[: len(upto)] != upto:
            raise MaskingError(
                "template_mismatch",
                f"message {i}: the chat up to this reply is not a token prefix of the whole chat "
                "(the template renders earlier turns differently)",
            )
        start, end = len(before), len(upto)
        if end <= start:
            raise MaskingError("template_mismatch", f"message {i}: the template renders no reply tokens")
        spans.append((start, _trim_separator(tokenizer, full, start, end, special)))
    return spans


def _segment_spans(
    tokenizer: Any, messages: list[dict[str, str]], full: str, ids: list[int]
) -> list[tuple[int, int]]:
    """Linear-cost variant of :func:`_prefix_spans` (``verify="segments"``).

    The renderings must be string prefixes of each other, and the tokens of
    the whole chat must equal, token for token, the concatenation of the
    tokens of the pieces between consecutive boundaries (prompt / reply /
    prompt ...).  So every boundary is a token boundary and a reply's labels
    are exactly its own tokens; what is not re-checked is that a prompt
    tokenised *on its own* ends the same way (the prefix method checks that).
    """
    assistant_at = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    cuts: list[int] = []
    for i in assistant_at:
        before = _render(tokenizer, messages[:i], True)
        upto = _render(tokenizer, messages[: i + 1], False)
        if not (upto.startswith(before) and full.startswith(upto)) or (cuts and len(before) < cuts[-1]):
            raise MaskingError(
                "template_mismatch", f"message {i}: the template's renderings are not prefixes of each other"
            )
        if len(upto) <= len(before):
            raise MaskingError("template_mismatch", f"message {i}: the template renders no reply text")
        cuts.extend((len(before), len(upto)))
    bounds = [0, *cuts, len(full)]
    pieces = [full[a:b] for a, b in pairwise(bounds)]
    parts = _tokenize(tokenizer, pieces)
    if ids != [t for part in parts for t in part]:
        raise MaskingError(
            "template_mismatch", "the chat's tokens differ from its prompt and reply pieces tokenised apart"
        )
    offsets = [0]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    special = _special_ids(tokenizer)
    spans = []
    for n in range(len(assistant_at)):
        start, end = offsets[2 * n + 1], offsets[2 * n + 2]
        spans.append((start, _trim_separator(tokenizer, ids, start, end, special)))
    return spans


def _generation_spans(
    tokenizer: Any, messages: list[dict[str, str]]
) -> tuple[list[int], list[tuple[int, int]]]:
    try:
        out = tokenizer.apply_chat_template(
            messages,
            tokenize=True,
            return_dict=True,
            return_assistant_tokens_mask=True,
            add_generation_prompt=False,
        )
    except Exception as exc:
        raise MaskingError("template_error", f"chat template raised {type(exc).__name__}: {exc}") from exc
    ids = [int(x) for x in out["input_ids"]]
    mask = [int(x) for x in out["assistant_masks"]]
    spans: list[tuple[int, int]] = []
    k = 0
    while k < len(mask):
        if mask[k]:
            j = k
            while j < len(mask) and mask[j]:
                j += 1
            spans.append((k, j))
            k = j
        else:
            k += 1
    n_assistant = sum(1 for m in messages if m["role"] == "assistant")
    if len(spans) != n_assistant:
        raise MaskingError(
            "template_mismatch",
            f"generation markers cover {len(spans)} spans for {n_assistant} assistant messages",
        )
    return ids, spans


def encode_chat(
    tokenizer: Any,
    messages: Sequence[Mapping[str, str]],
    max_length: int | None = None,
    overflow: Literal["skip", "truncate"] = "skip",
    method: Literal["auto", "generation", "prefix"] = "auto",
    verify: Literal["prefix", "segments"] = "prefix",
) -> EncodedChat:
    """Encode ``messages`` (``[{"role", "content"}]``) with loss on assistant tokens only.

    ``method="auto"`` uses the template's ``{% generation %}`` markers when it
    has them, else the prefix method (see the module docstring).  A chat
    longer than ``max_length`` tokens raises ``too_long`` (``overflow="skip"``)
    or is cut to ``max_length`` (``"truncate"``; ``too_long`` if no assistant
    token survives).  Raises :class:`MaskingError` with the reason otherwise.

    ``verify="segments"`` replaces the prefix method's checks (cost quadratic
    in the number of turns: every prompt is tokenised on its own) with linear
    ones (see :func:`_segment_spans`); labels are identical whenever both pass.
    """
    template = chat_template_of(tokenizer)
    if template is None:
        raise MaskingError(
            "no_template",
            f"tokenizer {getattr(tokenizer, 'name_or_path', '') or type(tokenizer).__name__} has no chat "
            "template: use an instruct/chat model's tokenizer or set tokenizer.chat_template",
        )
    msgs = _check_messages(messages)
    use_generation = method == "generation" or (method == "auto" and has_generation_markers(template))
    if method == "generation" and not has_generation_markers(template):
        raise MaskingError("template_mismatch", "the chat template has no {% generation %} markers")
    if not use_generation:  # the whole chat first: an over-long one is refused before any checks
        full_text = _render(tokenizer, msgs, False)
        full_ids = _tokenize(tokenizer, [full_text])[0]
        if max_length is not None and overflow == "skip" and len(full_ids) > max_length:
            raise MaskingError("too_long", f"{len(full_ids)} tokens > max length {max_length}")
    if use_generation:
        ids, spans = _generation_spans(tokenizer, msgs)
    elif verify == "segments":
        ids, spans = full_ids, _segment_spans(tokenizer, msgs, full_text, full_ids)
    else:
        ids, spans = full_ids, _prefix_spans(tokenizer, msgs, full_ids)
    labels = [IGNORE_INDEX] * len(ids)
    for start, end in spans:
        labels[start:end] = ids[start:end]
    truncated = False
    if max_length is not None and len(ids) > max_length:
        if overflow == "skip":
            raise MaskingError("too_long", f"{len(ids)} tokens > max length {max_length}")
        ids, labels, truncated = ids[:max_length], labels[:max_length], True
        if all(x == IGNORE_INDEX for x in labels):
            raise MaskingError("too_long", f"no assistant token within the first {max_length} tokens")
    return EncodedChat(input_ids=ids, labels=labels, truncated=truncated)
