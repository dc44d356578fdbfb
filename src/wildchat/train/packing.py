"""Packing: several encoded conversations per training row, without attending across them.

Conversations are placed into rows of at most ``max_length`` tokens
(first-fit over the conversations in a seeded shuffled order), concatenated,
with ``position_ids`` restarting at 0 for each conversation.  The model is
then called **without** an attention mask: transformers detects the restarts
in ``position_ids`` (``masking_utils.find_packed_sequence_indices``) and builds
a block-diagonal causal mask, so a token attends only to earlier tokens of its
own conversation and the loss of every token is the one it would have alone
(tested).  Batch padding is one more "conversation" of pad tokens with its own
positions and -100 labels, so it neither sees nor is seen by real tokens.

Needs ``use_cache=False`` during training (a cache disables the detection);
``wildchat train`` sets it.  Packing changes what a "batch" is: the recipe's
global batch then counts packed rows, not conversations.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from wildchat.train.masking import IGNORE_INDEX, EncodedChat

__all__ = ["PackedCollator", "pack"]


def pack(examples: Sequence[EncodedChat], max_length: int, seed: int = 0) -> list[dict[str, list[int]]]:
    """Rows ``{input_ids, labels, position_ids}`` of at most ``max_length`` tokens (first-fit).

    Every conversation lands in exactly one row, whole (a longer one than
    ``max_length`` raises ``ValueError``: encode with that ``max_length``).
    """
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    bins: list[list[int]] = []
    free: list[int] = []
    for k in order:
        n = len(examples[k].input_ids)
        if n > max_length:
            raise ValueError(f"conversation of {n} tokens does not fit a packed row of {max_length}")
        for b, room in enumerate(free):
            if n <= room:
                bins[b].append(k)
                free[b] -= n
                break
        else:
            bins.append([k])
            free.append(max_length - n)
    rows: list[dict[str, list[int]]] = []
    for members in bins:
        ids: list[int] = []
        labels: list[int] = []
        positions: list[int] = []
        for k in members:
            ex = examples[k]
            ids.extend(ex.input_ids)
            labels.extend(ex.labels)
            positions.extend(range(len(ex.input_ids)))
        rows.append({"input_ids": ids, "labels": labels, "position_ids": positions})
    return rows


class PackedCollator:
    """Stacks packed rows; pads each with a separate pad "conversation" (no attention mask)."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, features: Sequence[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(f["input_ids"]) for f in features)
        ids, labels, positions = [], [], []
        for f in features:
            pad = width - len(f["input_ids"])
            ids.append(f["input_ids"] + [self.pad_id] * pad)
            labels.append(f["labels"] + [IGNORE_INDEX] * pad)
            positions.append(f["position_ids"] + list(range(pad)))
        return {
            "input_ids": torch.tensor(ids, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long),
            "position_ids": torch.tensor(positions, dtype=torch.long),
        }
