"""The CLI shell: every command is registered and has --help."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from wildchat import __version__
from wildchat.cli.main import app

COMMANDS = ["serve", "export-logs", "curate", "analyze", "convert"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_help_is_fast_and_imports_no_heavy_dependency() -> None:
    code = (
        "import sys; from wildchat.cli.main import app; "
        "heavy = [m for m in ('ray', 'torch', 'fastapi', 'sqlalchemy', 'presidio_analyzer', 'lingua') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
