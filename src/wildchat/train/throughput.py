"""How long a CPU run will take, said before it starts.

Why: on a CPU fine-tuning is compute-bound and the Vicuna recipe's steps are
large (128 conversations each), so ``--max-steps 2`` can mean 256 chats of a
thousand tokens: half an hour on two cores.  Saying so up front (and how to
make a quick try quicker) beats a silent wait.  The figure is arithmetic, not a
promise: ``2 P`` FLOPs per token forward, ``4 P`` backward, ``2 P`` more with
gradient checkpointing (the forward recomputed), at the matrix-multiply rate
this process measures now (so a loaded machine gives a longer, truer figure).
"""

from __future__ import annotations

import time

__all__ = ["measure_gflops", "train_flops"]


def train_flops(params: int, tokens: int, gradient_checkpointing: bool) -> float:
    """FLOPs of forward + backward over ``tokens`` tokens for a ``params``-parameter model."""
    per_token = 2 * params * (4 if gradient_checkpointing else 3)
    return float(per_token) * tokens


def measure_gflops(seconds: float = 0.3) -> float:
    """The fp32 matrix-multiply rate (GFLOP/s, wall clock) torch achieves here now, in about ``seconds``."""
    import torch

    a, b = torch.randn(256, 576), torch.randn(576, 1536)
    a @ b  # warm-up
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        a @ b
        n += 1
    return n * 2 * 256 * 576 * 1536 / max(elapsed, 1e-9) / 1e9
