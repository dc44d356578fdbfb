"""`wildchat explore`: build-only runs, incremental rebuilds, readable errors, a real served process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.explore.explore_web_helpers import ALPHA_N, ALPHA_VOLCANO, BETA_N, write_alpha, write_beta
from tests.live_server import free_port
from wildchat.cli.main import app
from wildchat.explore.index import open_index


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("explore_cli_inputs")
    return write_alpha(tmp / "alpha.parquet"), write_beta(tmp / "beta.jsonl")


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["explore", *args])
    return result.exit_code, result.output


def test_build_only_then_incremental(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    alpha, beta = inputs
    code, out = _run(str(alpha), str(beta), "--index", str(tmp_path / "ix"), "--no-map", "--build-only")
    assert code == 0, out
    assert f"indexed {ALPHA_N + BETA_N} conversations" in out
    assert f"alpha: {ALPHA_N} conversations" in out and f"beta: {BETA_N} conversations" in out
    assert "map disabled" in out
    assert (tmp_path / "ix" / "index.db").is_file()
    code, out = _run(str(alpha), str(beta), "--index", str(tmp_path / "ix"), "--no-map", "--build-only")
    assert code == 0, out
    assert "indexed 0 conversations" in out and "2 unchanged" in out
    index = open_index(f"sqlite:///{tmp_path / 'ix' / 'index.db'}")
    try:
        assert {d.name: d.conversations for d in index.datasets()} == {"alpha": ALPHA_N, "beta": BETA_N}
    finally:
        index.close()


def test_dataset_name_and_skips_are_reported(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    junk = tmp_path / "junk.jsonl"
    junk.write_text('{"conversation_id": "j1", "conversation": "not a list"}\nnot json at all\n')
    code, out = _run(
        str(inputs[1]), str(junk), "--index", str(tmp_path / "ix"), "--dataset-name", "team", "--no-map",
        "--build-only", "--format", "lmsys",
    )  # fmt: skip
    assert code == 0, out
    assert f"team: {BETA_N} conversations" in out
    assert "skipped 2" in out or "2 skipped" in out, out


def test_environment_sets_defaults_and_flags_win(
    inputs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WILDCHAT_EXPLORE_INDEX_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("WILDCHAT_EXPLORE_PORT", "not-a-port")
    code, out = _run(str(inputs[1]), "--no-map", "--build-only", "--port", "9001")
    assert code == 0, out
    assert (tmp_path / "from-env" / "index.db").is_file()
    code, out = _run(str(inputs[1]), "--no-map", "--build-only")
    assert code == 2 and "port" in out and "Traceback" not in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["/no/such/file.jsonl", "--build-only"], 2, "no such file or folder: /no/such/file.jsonl"),
        (["--format", "bogus", "--build-only"], 1, "unknown format 'bogus'"),
        (["--database-url", "mysql://x/y", "--build-only"], 2, "database_url"),
        (
            ["--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/none", "--build-only"],
            1,
            "cannot use the database",
        ),
    ],
)
def test_readable_errors(
    inputs: tuple[Path, Path], tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    argv = args if args[0].startswith("/") else [str(inputs[1]), *args]
    exit_code, out = _run(*argv, "--index", str(tmp_path / "ix"), "--no-map")
    assert exit_code == code, out
    assert message in out and "Traceback" not in out


def _wildchat_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "wildchat"
    return (
        [str(exe)] if exe.exists() else [sys.executable, "-c", "from wildchat.cli.main import main; main()"]
    )


@pytest.mark.slow
def test_serve_process_answers_searches(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [*_wildchat_cmd(), "explore", str(inputs[0]), "--index", str(tmp_path / "ix"), "--no-map",
             "--port", str(port)],
            stdout=fh, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        with urllib.request.urlopen(base + "/api/search?q=volcano", timeout=10) as resp:
            data = json.load(resp)
            csp = resp.headers["content-security-policy"]
        assert data["total"] == len(ALPHA_VOLCANO) and "script-src 'self'" in csp
        with urllib.request.urlopen(base + "/", timeout=10) as resp:
            assert b"/static/explore.js" in resp.read()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    text = log.read_text()
    assert f"indexed {ALPHA_N} conversations" in text and f"serving {base}/" in text
    assert "127.0.0.1:" not in text.replace(f"serving {base}/", "")  # no access log of client addresses
