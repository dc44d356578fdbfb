"""The README's walkthrough, run as written: every command of its code block, in its order.

The commands are read from README.md itself (the ``bash`` block under
``## Walkthrough``), so a README that stops working fails this test.  Only
what a test machine must change is changed, each substitution listed in
``adapt``: the server's port and database path, the LMSYS sample when
``../shared/data`` is absent (a generated file in the same format), the
explorer builds its index instead of serving (``--build-only --no-map``), the
judge's question file and small answer lengths, ``eval nll --samples 4``, and
an older release for ``audit --previous`` (the same logs curated again).
Training runs with the README's own flags (``--max-steps 2``, the Vicuna recipe,
CPU memory defaults).

Data: ~100 conversations chatted through the real HTTP API of ``wildchat serve``
(five consenting clients, a third of the conversations two turns long).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.live_server import free_port

pytestmark = [pytest.mark.walkthrough, pytest.mark.slow, pytest.mark.timeout(3600)]

ROOT = Path(__file__).resolve().parents[1]
LMSYS = ROOT.parent / "shared" / "data" / "lmsys_chat_1m_sample191" / "lmsys_1000.jsonl"
CLIENTS, PER_CLIENT = 5, 20
TOPICS = ["gardening", "sorting lists", "the moon", "bread", "chess openings", "rain", "bicycles", "tea"]


def readme_commands(readme: Path = ROOT / "README.md") -> list[list[str]]:
    """The ``wildchat`` commands of the walkthrough block, continuation lines joined, comments dropped."""
    text = readme.read_text(encoding="utf-8")
    section = text.split("## Walkthrough", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README: no bash block under ## Walkthrough"
    commands: list[list[str]] = []
    pending = ""
    for raw in block.group(1).splitlines():
        line = raw.split("  #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line and not pending:
            continue
        pending += line.rstrip("\\").strip() + " "
        if line.endswith("\\"):
            continue
        argv = shlex.split(pending.strip().rstrip("&").strip())
        pending = ""
        if argv and argv[0] == "wildchat":
            commands.append(argv)
    return commands


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WILDCHAT_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", RAY_USAGE_STATS_ENABLED="0")
    env["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
    # one person chatting 100 conversations in seconds: above the default 30 requests/minute
    env["WILDCHAT_RATE_LIMIT_PER_MINUTE"] = "1000"
    return env


def _exe() -> str:
    exe = Path(sys.executable).parent / "wildchat"
    return str(exe) if exe.exists() else (shutil.which("wildchat") or "wildchat")


def _set(argv: list[str], flag: str, value: str) -> list[str]:
    out = list(argv)
    if flag in out:
        out[out.index(flag) + 1] = value
    else:
        out += [flag, value]
    return out


def _lmsys_file(work: Path) -> Path:
    """The real LMSYS sample when present, else 30 generated conversations in its format."""
    if LMSYS.is_file():
        return LMSYS
    path = work / "lmsys_generated.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(30):
            conv = [
                {"role": "user", "content": f"Question {i} about {TOPICS[i % len(TOPICS)]}?"},
                {"role": "assistant", "content": f"Answer {i}: a few words about {TOPICS[i % len(TOPICS)]}."},
            ]
            row = {"conversation_id": f"gen{i:04d}", "model": "vicuna-13b", "turn": 1, "language": "English"}
            fh.write(json.dumps({**row, "conversation": conv}) + "\n")
    return path


@contextmanager
def background(argv: list[str], cwd: Path, health: str, log_name: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server command until the block ends; wait until ``health`` answers 200."""
    log = (cwd / log_name).open("wb")
    proc = subprocess.Popen(argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=_env())
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(health, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{argv[1]} did not start: {(cwd / log_name).read_text()[-3000:]}")
            time.sleep(0.3)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def chat(url: str) -> int:
    """Chat ``CLIENTS`` x ``PER_CLIENT`` conversations through the HTTP API; returns how many."""
    made = 0
    for c in range(CLIENTS):
        with httpx.Client(base_url=url, timeout=30, headers={"User-Agent": f"walkthrough/{c}"}) as http:
            doc = http.get("/api/consent").json()
            agree = {"agree": True, "confirm": True, "version": doc["version"]}
            assert http.post("/api/consent", json=agree).status_code == 200
            for k in range(PER_CLIENT):
                topic = TOPICS[(c + k) % len(TOPICS)]
                r = http.post(
                    "/api/chat",
                    json={"model": "echo", "message": f"Tell me about {topic}, please ({c}.{k})."},
                )
                assert r.status_code == 200, r.text
                final = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")][
                    -1
                ]
                if k % 3 == 0:
                    follow = {
                        "model": "echo",
                        "message": f"And one more thing about {topic}?",
                        "conversation_id": final["conversation_id"],
                        "parent_id": final["assistant_turn_id"],
                    }
                    assert http.post("/api/chat", json=follow).status_code == 200
                made += 1
    return made


def adapt(argv: list[str], work: Path, port: int, model_port: int) -> list[str]:
    """The README command as this test runs it (see the module docstring for every change)."""
    cmd = argv[1] if argv[1] != "eval" else f"eval {argv[2]}"
    db = f"sqlite:///{work / 'x.db'}"
    if cmd == "serve":
        return _set(_set(argv, "--port", str(port)), "--database-url", db)
    if cmd == "export-logs":
        return _set(argv, "--db", db)
    if cmd == "convert":
        return [argv[0], argv[1], str(_lmsys_file(work)), *argv[3:]]
    if cmd == "explore":
        out = (
            [a for a in argv if a not in ("--port", argv[argv.index("--port") + 1])]
            if "--port" in argv
            else argv
        )
        return [*out, "--build-only", "--no-map"]
    if cmd == "eval nll":
        return _set(argv, "--samples", "4")
    if cmd == "eval serve-model":
        return _set(argv, "--port", str(model_port))
    if cmd == "eval judge":
        urls = [re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{model_port}", a) for a in argv]
        small = ["--limit", "1", "--repetitions", "1", "--max-tokens", "12", "--judge-max-tokens", "12"]
        return [*urls, *small, "--concurrency", "2", "--timeout", "120"]
    return argv


def _questions(work: Path, argv: list[str]) -> None:
    q = argv[argv.index("--questions") + 1] if "--questions" in argv else argv[argv.index("-q") + 1]
    row = {"question_id": 1, "category": "writing", "turns": ["Name a fruit.", "Name another one."]}
    (work / q).write_text(json.dumps(row) + "\n", encoding="utf-8")


def _previous_releases(argv: list[str], work: Path) -> None:
    """``audit --previous OLD``: an older release of the same logs, curated as the README's step 3 does."""
    for i, arg in enumerate(argv):
        if arg == "--previous" and not (work / argv[i + 1]).exists():
            done = run(["wildchat", "curate", "logs.jsonl", "--out", argv[i + 1]], work)
            assert done.returncode == 0, done.stderr[-3000:]


def run(argv: list[str], work: Path, timeout: float = 3000) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [_exe(), *argv[1:]], cwd=work, env=_env(), capture_output=True, text=True, timeout=timeout
    )
    (work / "commands.log").open("a").write(f"$ {shlex.join(argv)}\n{done.stderr[-4000:]}\n")
    return done


def test_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    commands = readme_commands()
    names = [a[1] if a[1] != "eval" else f"eval {a[2]}" for a in commands]
    expected = ["serve", "export-logs", "curate", "convert", "analyze", "explore", "export-sft", "train"]
    in_order = iter(names)  # the README's order; other steps may sit between
    assert all(step in in_order for step in [*expected, "eval nll"]), names
    work, port, model_port = tmp_path, free_port(), free_port()
    server = commands[0]
    with background(
        [_exe(), *adapt(server, work, port, model_port)[1:]],
        work,
        f"http://127.0.0.1:{port}/healthz",
        "serve.log",
    ):
        assert chat(f"http://127.0.0.1:{port}") == CLIENTS * PER_CLIENT
    judge_server: list[str] | None = None
    for argv in commands[1:]:
        argv = adapt(argv, work, port, model_port)
        name = argv[1] if argv[1] != "eval" else f"eval {argv[2]}"
        if name == "eval serve-model":
            judge_server = argv
            continue
        if name == "eval judge":
            assert judge_server is not None, "README: eval judge needs the eval serve-model line before it"
            _questions(work, argv)
            with background(
                [_exe(), *judge_server[1:]], work, f"http://127.0.0.1:{model_port}/v1/models", "model.log"
            ):
                done = run(argv, work)
            # a 135M judge writes prose, not [[N]]: exit 1 "no usable judgment" is the documented outcome
            assert done.returncode in (0, 1), done.stderr[-3000:]
            check(name, work)
            continue
        if name == "audit":
            _previous_releases(argv, work)
        done = run(argv, work)
        # every step exits 0 -- audit too: the chatted conversations hold no PII, and the two releases of the
        # same logs are keyed differently, so they share no id
        assert done.returncode == 0, f"{shlex.join(argv)}\n{done.stderr[-3000:]}"
        check(name, work)


def check(name: str, work: Path) -> None:
    """What each step must have produced (the README's promises, on the small inputs)."""
    if name == "export-logs":
        logs = (work / "logs.jsonl").read_text().splitlines()
        records = [json.loads(line) for line in logs]
        assert len(records) >= CLIENTS * PER_CLIENT and all(
            r["ip"] is None and r["hashed_ip"] for r in records
        )
    elif name == "curate":
        stats = json.loads((work / "release" / "stats.json").read_text())
        assert (work / "release" / "public").is_dir() and (work / "release" / "README.md").is_file()
        assert json.dumps(stats)  # written and valid JSON
    elif name == "audit":
        report = json.loads((work / "audit.json").read_text())
        assert report["exit_code"] == 0 and report["secrets"]["count"] == 0
    elif name == "analyze":
        assert (work / "report" / "report.html").stat().st_size > 10_000
    elif name == "explore":
        assert (work / ".wildchat-explore").is_dir()
    elif name == "export-sft":
        rows = (work / "sft.jsonl").read_text().splitlines()
        assert len(rows) >= 0.8 * CLIENTS * PER_CLIENT
    elif name == "train":
        recipe = json.loads((work / "smol-ft" / "recipe.json").read_text())
        assert recipe["resolved"]["global_batch"] == 128 and recipe["resolved"]["lr"] == 2e-5
        if recipe["device"] == "cpu":
            mem = recipe["memory"]  # CPU defaults: SDPA, checkpointing, <= 2,048 tokens per micro-batch
            assert mem["attention"] == "sdpa" and mem["gradient_checkpointing"]
            assert mem["micro_batch"] * mem["sequence_length"] <= 2048 or mem["micro_batch"] == 1
            assert mem["micro_batch"] * recipe["resolved"]["gradient_accumulation"] == 128
        steps = [json.loads(x) for x in (work / "smol-ft" / "train_log.jsonl").read_text().splitlines()]
        assert [s["step"] for s in steps] == [1, 2]
        assert (work / "smol-ft" / "model.safetensors").is_file()
    elif name == "eval nll":
        result = json.loads((work / "nll" / "nll.json").read_text())
        assert len(result["matrix"]["models"]) == 2 and len(result["matrix"]["datasets"]) == 2
        assert all(v is not None and 0 < v < 20 for row in result["matrix"]["mean_nll"] for v in row)
    elif name == "eval judge":
        judge = next(p for p in work.iterdir() if p.is_dir() and (p / "judgment_config.json").is_file())
        assert any((judge / "answers").glob("*.jsonl")) and (judge / "judgments.jsonl").read_text().strip()
