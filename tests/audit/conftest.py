"""Fixtures of the audit tests (helpers live in audit_helpers.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.audit.audit_helpers import raw_logs


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "logs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in raw_logs()) + "\n", encoding="utf-8")
    return path
