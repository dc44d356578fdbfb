"""Fixtures of the analysis tests (helpers live in analyze_helpers.py)."""

from __future__ import annotations

import pytest

from tests.analyze.analyze_helpers import WordCounter


@pytest.fixture
def words() -> WordCounter:
    return WordCounter()
