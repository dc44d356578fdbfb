"""What ``wildchat train`` says while it runs: one log line per optimizer step, progress in between.

On a CPU one optimizer step of the Vicuna recipe is 128 conversations, minutes
of work: without progress between steps a run looks hung.  :func:`step_logger`
returns a transformers ``TrainerCallback`` that appends one JSON line per
optimizer step to ``train_log.jsonl`` and, every ``every_s`` seconds, prints how
many micro-batches of the run are done, the rate and the time left.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["format_eta", "step_logger"]


def format_eta(seconds: float) -> str:
    """``1h02m``, ``4m05s`` or ``12s``."""
    s = max(0, round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def step_logger(
    log_path: Path,
    total_steps: int,
    accumulation: int,
    losses: list[float],
    log: Callable[[str], None],
    every_s: float = 20.0,
) -> Any:
    """A ``TrainerCallback``: JSON line + console line per step, progress line every ``every_s`` seconds."""
    from transformers import TrainerCallback

    class StepLog(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.micro = 0
            self.t0 = time.perf_counter()
            self.last = self.t0

        def _tick(self, step: int) -> None:
            self.micro += 1
            now = time.perf_counter()
            if now - self.last < every_s:
                return
            self.last = now
            total = total_steps * accumulation
            rate = self.micro / (now - self.t0)
            left = (total - self.micro) / rate if rate else 0.0
            log(
                f"step {step + 1}/{total_steps}: micro-batch {self.micro}/{total} "
                f"({rate:.2f}/s, ETA {format_eta(left)})"
            )

        def on_substep_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self._tick(int(state.global_step))

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self._tick(int(state.global_step) - 1)

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any
        ) -> None:
            if not logs or "loss" not in logs:
                return
            row = {
                "step": int(state.global_step),
                "epoch": round(float(logs.get("epoch", state.epoch or 0.0)), 4),
                "loss": float(logs["loss"]),
                "learning_rate": float(logs.get("learning_rate", 0.0)),
                "grad_norm": None if logs.get("grad_norm") is None else float(logs["grad_norm"]),
            }
            losses.append(float(logs["loss"]))
            with log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
            log(f"step {row['step']}/{total_steps}  loss {row['loss']:.4f}  lr {row['learning_rate']:.2e}")

    return StepLog()
