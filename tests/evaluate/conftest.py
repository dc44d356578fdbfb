"""Fixtures of the evaluation tests: a fake OpenAI-compatible server per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.evaluate.fake_openai_server import FakeState, serve


@pytest.fixture
def fake_state() -> FakeState:
    return FakeState(ratings={"good": 8.0, "bad": 3.0, "mid": 5.0})


@pytest.fixture
def fake_url(fake_state: FakeState) -> Iterator[str]:
    with serve(fake_state) as url:
        yield url


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two tiny random Llama models (different seeds) sharing the byte-level tokenizer."""
    import torch

    from tests.builders.models import byte_tokenizer, causal_lm_dir

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("tiny_models")
    base = causal_lm_dir(root / "base", byte_tokenizer(), seed=0, kv_heads=2, max_positions=512)
    tuned = causal_lm_dir(root / "tuned", byte_tokenizer(), seed=1, kv_heads=2, max_positions=512)
    return base, tuned
