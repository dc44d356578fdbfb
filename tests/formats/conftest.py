"""Helpers to write small hand-made inputs into tmp_path."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Writer = Callable[[str, list[Any]], Path]


@pytest.fixture
def jsonl(tmp_path: Path) -> Writer:
    """``jsonl(name, records)``: one JSON value per line; ``bytes`` items are written verbatim."""

    def write(name: str, records: list[Any]) -> Path:
        path = tmp_path / name
        lines = [r if isinstance(r, bytes) else json.dumps(r).encode() for r in records]
        path.write_bytes(b"\n".join(lines) + b"\n")
        return path

    return write


@pytest.fixture
def json_array(tmp_path: Path) -> Writer:
    """``json_array(name, records)``: a pretty-printed top-level JSON array."""

    def write(name: str, records: list[Any]) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(records, indent=2))
        return path

    return write
