"""The held-out split: which conversations are kept out of training.

Both sides of the train/evaluate boundary must agree on it without sharing
state: ``wildchat export-sft`` drops held-out conversations (``--holdout``,
default 2%) and ``wildchat eval nll`` scores only held-out ones.  So
membership is a pure function of a conversation's stable key: the SHA-256 of
``seed + key`` read as a number in [0, 1) and compared with the fraction.  It
does not depend on input order, file layout or which other filters run, and a
larger fraction holds out a superset of a smaller one (same seed).
"""

from __future__ import annotations

import hashlib

from wildchat.schema import Conversation

__all__ = ["DEFAULT_HOLDOUT", "HOLDOUT_SEED", "heldout_key", "is_heldout"]

DEFAULT_HOLDOUT = 0.02
HOLDOUT_SEED = "wildchat-heldout-v1"


def heldout_key(conv: Conversation) -> str:
    """Stable key of a conversation: its content, never its id.

    ``conversation_hash`` plus a digest of the first turn's text: WildChat's
    hash is not unique (identical conversations share it), and the first
    prompt separates most of the collisions while staying stable across
    re-exports of the same data.  Ids are not used: a curated release's
    ``conversation_id`` is keyed per release (docs/privacy.md), so an id-based
    split would move conversations between train and evaluation whenever the
    same logs are re-curated under another key; identical conversations also
    land on the same side this way.
    """
    first = conv.conversation[0].content if conv.conversation else ""
    digest = hashlib.sha256(first.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"hash:{conv.conversation_hash}:{digest}"


def is_heldout(key: str, fraction: float = DEFAULT_HOLDOUT, seed: str = HOLDOUT_SEED) -> bool:
    """Whether ``key`` falls in the held-out ``fraction`` (deterministic).

    ``fraction`` <= 0 holds out nothing, >= 1 everything.
    """
    if fraction <= 0:
        return False
    if fraction >= 1:
        return True
    h = hashlib.sha256(f"{seed}\0{key}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64 < fraction
