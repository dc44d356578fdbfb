"""`eval nll` sizes itself to the device and reports tokens/s and the time left while it scores."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.evaluate.evaluate_helpers import sharegpt_file
from wildchat.cli.main import app
from wildchat.evaluate.nll_run import CPU_DEFAULTS, GPU_DEFAULTS, NllSettings, resolve_settings, run_nll

runner = CliRunner()


def test_defaults_follow_the_device_and_never_override_the_user() -> None:
    cpu = resolve_settings(NllSettings(), "cpu")
    gpu = resolve_settings(NllSettings(), "cuda")
    assert (cpu.samples, cpu.max_length, cpu.batch_tokens) == (20, 512, 4096) == tuple(CPU_DEFAULTS.values())
    assert (
        (gpu.samples, gpu.max_length, gpu.batch_tokens) == (200, 1024, 32768) == tuple(GPU_DEFAULTS.values())
    )
    mine = resolve_settings(NllSettings(samples=7, max_length=99, batch_tokens=512), "cpu")
    assert (mine.samples, mine.max_length, mine.batch_tokens) == (7, 99, 512)


def test_cli_defaults_on_cpu_are_recorded(tmp_path: Path, tiny_models: tuple[Path, Path]) -> None:
    data = sharegpt_file(tmp_path / "many.json", 60, "many")
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["eval", "nll", "-m", str(tiny_models[0]), "-d", str(data), "--out", str(out), "--device", "cpu"]
    )
    assert res.exit_code == 0, res.output
    result = json.loads((out / "nll.json").read_text())
    s = result["settings"]
    assert (s["samples"], s["max_length"], s["defaults"]) == (20, 512, "cpu")
    assert result["cells"][0]["conversations"] == 20
    assert "tok/s" in res.output and "ETA" in res.output  # the per-cell line and the bar


def test_progress_counts_every_scored_token_once(tmp_path: Path, tiny_models: tuple[Path, Path]) -> None:
    d1 = sharegpt_file(tmp_path / "a.json", 9, "alpha")
    d2 = sharegpt_file(tmp_path / "b.json", 6, "beta")
    seen: list[tuple[int, int]] = []
    lines: list[str] = []
    settings = NllSettings(samples=5, device="cpu", batch_size=2)
    result = run_nll(
        [str(m) for m in tiny_models],
        ["a", "b"],
        [str(d1), str(d2)],
        tmp_path / "o",
        settings,
        log=lines.append,
        progress=lambda done, total: seen.append((done, total)),
    )
    total = sum(c["input_tokens"] for c in result["cells"])
    assert seen and all(t == total for _, t in seen)
    done = [d for d, _ in seen]
    assert done == sorted(done) and len(set(done)) == len(done) and done[-1] == total
    cell_lines = [x for x in lines if x.startswith("[")]
    assert len(cell_lines) == 4 and all("tok/s" in x and "ETA" in x for x in cell_lines)
    assert cell_lines[-1].endswith("ETA 0s") and f"{total}/{total} tokens" in cell_lines[-1]
