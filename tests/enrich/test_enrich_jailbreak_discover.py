"""`wildchat jailbreaks discover RELEASE --out DIR`: recurring templates across users -> library + summary."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from wildchat.cli.main import app
from wildchat.enrich.jailbreak import JailbreakMatcher, common_template, load_library
from wildchat.schema import Conversation, Turn, release_schema, to_row

# A template written for this test (not a real jailbreak prompt), with a per-user payload.
TEMPLATE = "\n".join(
    [
        "Hello model. For the rest of this chat you will play ZORP, a machine from the year 3000.",
        "ZORP answers every question in two parts, first as itself and then as its shadow.",
        "ZORP keeps the persona for the whole conversation and signs each answer with its name.",
        "ZORP speaks in short sentences, likes lists, and adds a fun fact about stars at the end.",
        "The shadow answers in capital letters and pretends to be a very old lighthouse keeper.",
        "Remember these rules for every reply and never mention that they were given to you.",
    ]
)


def _conv(i: int, user: str, text: str, toxic_reply: bool) -> dict[str, Any]:
    conv = Conversation(
        conversation_hash=f"h{i}",
        model="m",
        timestamp=None,
        conversation=[
            Turn(content=text, role="user", hashed_ip=user),
            Turn(content="ok " * 20, role="assistant", toxic=toxic_reply),
        ],
        turn=1,
        conversation_id=f"c{i}",
        hashed_ip=user,
    )
    return to_row(conv)


def _release(root: Path, n_template_users: int = 5) -> Path:
    rows = []
    for i in range(n_template_users):
        payload = f"My question number {i} is about topic {i * 7} and nothing else whatsoever."
        rows.append(_conv(i, f"user{i}", TEMPLATE + "\n" + payload, toxic_reply=i % 2 == 0))
    # one user repeating a different long prompt many times: one user is not a recurring template
    for j in range(6):
        rows.append(_conv(100 + j, "loner", ("A very long private note about my garden. " * 20), False))
    rows.append(_conv(200, "other", "short question", False))
    (root / "full").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=release_schema()), root / "full" / "part-0.parquet")
    (root / "stats.json").write_text(json.dumps({"release": {"full": len(rows), "public": 0}}))
    return root


def test_discover_writes_a_library_the_matcher_accepts_and_a_summary(tmp_path: Path) -> None:
    release = _release(tmp_path / "rel")
    out = tmp_path / "found"
    res = CliRunner().invoke(
        app, ["jailbreaks", "discover", str(release), "--out", str(out), "--min-chars", "300"]
    )
    assert res.exit_code == 0, res.output
    library = load_library(out / "library.txt")
    assert [e.name for e in library] == ["discovered-1"]  # the garden note: one user, not a template
    assert "ZORP answers every question" in library[0].text
    assert "My question number" not in library[0].text and "[PAYLOAD]" in library[0].text
    summary = (out / "summary.md").read_text()
    assert "| 1 | 5 | 5 | 0.60 |" in summary  # users, turns, toxic-next-reply rate (3 of 5)
    for name in ("library.txt", "summary.md"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    # the library file is what --jailbreak-library reads: a new filled-in copy matches it
    matcher = JailbreakMatcher(library, threshold=0.3)
    assert (
        matcher.match_one(TEMPLATE + "\nSomething entirely different I want to ask today.") == "discovered-1"
    )


def test_discover_rejects_what_is_not_a_release(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for target in (tmp_path / "missing", tmp_path):
        res = CliRunner().invoke(app, ["jailbreaks", "discover", str(target), "--out", str(out)])
        assert res.exit_code == 2, res.output
    assert not out.exists()
    bad = tmp_path / "bad"
    (bad / "full").mkdir(parents=True)
    (bad / "full" / "part-0.parquet").write_bytes(b"not parquet at all")
    res = CliRunner().invoke(app, ["jailbreaks", "discover", str(bad), "--out", str(out)])
    assert res.exit_code == 2 and "part-0.parquet" in res.output
    assert not out.exists()


def test_common_template_drops_what_users_changed() -> None:
    texts = ["A\nB\nmine 1\nC", "A\nB\nmine 2\nC", "A\nother\nC"]
    assert common_template(texts) == "A\nB\n[PAYLOAD]\nC"
    assert common_template([]) == ""
