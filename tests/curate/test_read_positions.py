"""Second-pass read-back returns exactly what the first pass decoded at each position."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from wildchat.curate.link.ingest import Unit, iter_unit, read_positions
from wildchat.skips import SkipReport


def _write(
    path: Path, records: list[dict[str, object]], *, bom: bool, crlf: bool, final_newline: bool
) -> None:
    eol = b"\r\n" if crlf else b"\n"
    body = eol.join(orjson.dumps(r) for r in records) + (eol if final_newline else b"")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + body)


@pytest.mark.parametrize(("bom", "crlf", "final_newline"), [(True, False, True), (False, True, False)])
def test_read_positions_matches_first_pass(
    tmp_path: Path, bom: bool, crlf: bool, final_newline: bool
) -> None:
    records: list[dict[str, object]] = [{"i": i, "text": "é" * i + "\u4f60"} for i in range(6)]
    path = tmp_path / "logs.jsonl"
    _write(path, records, bom=bom, crlf=crlf, final_newline=final_newline)
    unit = Unit(0, str(path), "jsonl")
    seen = list(iter_unit(unit, SkipReport()))
    assert [obj for _, _, obj in seen] == records
    wanted = [*[pos for pos, _, _ in seen][::2], seen[-1][0]]  # first (BOM) and last (maybe no newline)
    assert read_positions(unit, wanted) == [records[0], records[2], records[4], records[5]]
    assert read_positions(unit, []) == []


def test_read_positions_raises_when_file_changed(tmp_path: Path) -> None:
    path = tmp_path / "logs.jsonl"
    path.write_bytes(b'{"a": 1}\n')
    with pytest.raises(orjson.JSONDecodeError):
        read_positions(Unit(0, str(path), "jsonl"), [3])
