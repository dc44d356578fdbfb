"""Per-token negative log-likelihood of assistant tokens, batched.

The loss mask comes only from :func:`wildchat.train.masking.encode_chat`
(the tokenizer's own chat template, the same masking training uses), so the
NLL of a conversation is exactly the training loss the model would have on
it: the mean over assistant tokens (each turn's end-of-turn token included)
of ``-log p(token | everything before it)``.

Conversations are sorted by length and packed into padded batches under a
token budget (``batch_tokens`` = rows x longest row), right-padded with an
attention mask, and run under ``torch.inference_mode``; log-probabilities are
computed in float32 whatever the model's dtype.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from wildchat.skips import SkipReport

if TYPE_CHECKING:
    from wildchat.train.masking import EncodedChat


@dataclass(frozen=True, slots=True)
class ConvScore:
    """Summed NLL over a conversation's assistant tokens, and their count."""

    nll_sum: float
    loss_tokens: int
    input_tokens: int

    @property
    def mean(self) -> float:
        return self.nll_sum / self.loss_tokens


@dataclass(frozen=True, slots=True)
class Throughput:
    """Forward-pass throughput of one scoring run."""

    input_tokens: int
    loss_tokens: int
    seconds: float
    batches: int

    @property
    def tokens_per_s(self) -> float:
        return self.input_tokens / self.seconds if self.seconds > 0 else 0.0


def encode_all(
    tokenizer: Any,
    conversations: Sequence[Sequence[Mapping[str, str]]],
    *,
    max_length: int | None,
    overflow: Literal["skip", "truncate"],
    report: SkipReport,
) -> list[tuple[int, EncodedChat]]:
    """``(index, encoded)`` for each conversation that encodes; the others are counted skips."""
    from wildchat.train.masking import MaskingError, encode_chat

    out: list[tuple[int, EncodedChat]] = []
    for i, messages in enumerate(conversations):
        report.read += 1
        try:
            enc = encode_chat(tokenizer, messages, max_length=max_length, overflow=overflow)
        except MaskingError as exc:
            report.skip(exc.reason, str(exc), f"conversation #{i}")
            continue
        if all(label == -100 for label in enc.labels[1:]):  # position 0 is never predicted
            report.skip("no_assistant", "no predictable assistant token", f"conversation #{i}")
            continue
        out.append((i, enc))
        report.written += 1
    return out


def make_batches(lengths: Sequence[int], *, batch_size: int, batch_tokens: int) -> list[list[int]]:
    """Indices grouped longest-first so rows x longest row <= ``batch_tokens`` (one row always fits)."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = lengths[current[0]] if current else lengths[i]
        if current and (len(current) + 1 > batch_size or (len(current) + 1) * longest > batch_tokens):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def score_encoded(
    model: Any,
    encoded: Sequence[EncodedChat],
    *,
    batch_size: int = 16,
    batch_tokens: int = 4096,
    pad_id: int = 0,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[ConvScore], Throughput]:
    """Scores of ``encoded`` (same order) with ``model`` on its own device.

    ``progress(tokens)`` is called after each batch with the input tokens it scored.
    """
    import torch
    import torch.nn.functional as F

    device = next(model.parameters()).device
    lengths = [len(e.input_ids) for e in encoded]
    scores: list[ConvScore | None] = [None] * len(encoded)
    batches = make_batches(lengths, batch_size=batch_size, batch_tokens=batch_tokens)
    seconds = 0.0
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for batch in batches:
                width = max(lengths[i] for i in batch)
                ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
                labels = torch.full((len(batch), width), -100, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, i in enumerate(batch):
                    n = lengths[i]
                    ids[row, :n] = torch.tensor(encoded[i].input_ids)
                    labels[row, :n] = torch.tensor(encoded[i].labels)
                    mask[row, :n] = 1
                ids, labels, mask = ids.to(device), labels.to(device), mask.to(device)
                start = time.perf_counter()
                logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1, :].float()
                target = labels[:, 1:]
                nll = F.cross_entropy(logits.transpose(1, 2), target, ignore_index=-100, reduction="none")
                sums = nll.sum(dim=1).tolist()
                counts = (target != -100).sum(dim=1).tolist()
                seconds += time.perf_counter() - start
                for row, i in enumerate(batch):
                    scores[i] = ConvScore(float(sums[row]), int(counts[row]), lengths[i])
                if progress is not None:
                    progress(sum(lengths[i] for i in batch))
    finally:
        model.train(was_training)
    final = [s for s in scores if s is not None]
    tp = Throughput(sum(lengths), sum(s.loss_tokens for s in final), seconds, len(batches))
    return final, tp
