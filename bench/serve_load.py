"""Load benchmark of ``wildchat serve``: logged turns/s, added latency, zero lost turns.

Starts a real server (``replay`` backend streaming ``--tokens`` words with
``--delay-ms`` before each, optional injected backend failures) on a free
loopback port, with ``--workers`` uvicorn workers and SQLite or a *fresh*
PostgreSQL database, then runs ``--users`` concurrent simulated users over a
fixed budget of ``--requests`` chat requests (it stops by itself).  Afterwards it
counts the turns in the database with SQL and checks that every request the
server accepted has its user turn and exactly one assistant turn, with the
finish reason the client saw (``client_disconnect`` for hang-ups, ``error``
for injected failures).

Added latency = time to the first streamed byte at the client minus the
backend's own delay before its first token (``--delay-ms``).

``--mode gateway`` drives the OpenAI-compatible gateway instead (apps with
API keys re-sending their whole history, ``bench/serve_load_gateway.py``);
``--mode both`` runs the page and then the gateway against the same server
and reports both, so the gateway's added latency sits beside the page's.

Example (the goal configuration)::

    .venv/bin/python bench/serve_load.py --db postgres --workers 2 --users 200 \
        --requests 4000 --disconnect-rate 0.1 --failure-rate 0.05 --serve-arg=--log-level --serve-arg=warning
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_load_client import Plan
from serve_load_gateway import run_apps
from serve_load_stats import Stored, summarize, verify
from serve_load_users import run_users

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _tree_cpu_s(root: int) -> float:
    """User+system CPU seconds of ``root`` and all its descendants (from /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    keep, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == pid and p not in keep]
        keep.update(kids)
        frontier.extend(kids)
    return sum(times.get(p, 0.0) for p in keep)


def create_pg_database() -> tuple[str, str]:
    import psycopg

    name = f"wildchat_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_server(args: argparse.Namespace, db_url: str, tmp: Path, port: int) -> subprocess.Popen[bytes]:
    model = (
        f"load=replay:echo?tokens={args.tokens}&delay_ms={args.delay_ms}"
        f"&failure_rate={args.failure_rate}&max_tokens={max(args.tokens, 1)}"
    )
    exe = Path(sys.executable).parent / "wildchat"
    cmd = [str(exe) if exe.exists() else "wildchat", "serve", "--dev", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", str(args.workers), "--data-dir", str(tmp / "data")]
    cmd += ["--database-url", db_url, "--model", model, *args.serve_arg]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WILDCHAT_")}
    # Every simulated user shares 127.0.0.1, so the per-client limits must not apply here.
    env.update(
        WILDCHAT_RATE_LIMIT_PER_MINUTE="100000000",
        WILDCHAT_TURNS_PER_DAY="100000000",
        WILDCHAT_CONSENTS_PER_HOUR="100000000",
    )
    if args.pool_size:
        env.update(WILDCHAT_DB_POOL_SIZE=str(args.pool_size))
    print("server:", " ".join(cmd), file=sys.stderr)
    log = (tmp / "server.log").open("wb")
    return subprocess.Popen(cmd, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)


def start_py_spy(pid: int, out: str, gil_only: bool) -> subprocess.Popen[bytes]:
    """Sample the server and its workers; ``.txt`` = collapsed stacks, ``.svg`` = flame graph.

    ``gil_only`` keeps only samples holding the GIL: where the Python CPU goes, without waits.
    """
    exe = Path(sys.executable).parent / "py-spy"
    fmt = {".txt": "raw", ".svg": "flamegraph"}.get(Path(out).suffix, "speedscope")
    cmd = [str(exe) if exe.exists() else "py-spy", "record", "--pid", str(pid), "--subprocesses"]
    cmd += ["--format", fmt, "--rate", "100", "--nonblocking", "-o", out, *(["--gil"] if gil_only else [])]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.25)
    raise SystemExit(f"server not ready after {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def db_rows(db_url: str, tag: str) -> tuple[list[Stored], dict[str, int]]:
    """The stored turns of this run (found by marker), and all turns counted by role/finish reason."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT u.content, a.id, a.finish_reason, a.content FROM turns u LEFT JOIN turns a "
                    "ON a.parent_id = u.id AND a.role = 'assistant' "
                    "WHERE u.role = 'user' AND u.content LIKE :p"
                ),
                {"p": f"bench-{tag}-%"},
            ).all()
            totals = conn.execute(
                text("SELECT role, COALESCE(finish_reason, '-'), COUNT(*) FROM turns GROUP BY 1, 2")
            ).all()
    finally:
        engine.dispose()
    stored = [Stored(r[0].split()[0], r[1], r[2], len((r[3] or "").split())) for r in rows]
    return stored, {f"{r[0]}/{r[1]}": int(r[2]) for r in totals}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=100, help="concurrent simulated users")
    p.add_argument("--requests", type=int, default=2000, help="chat requests in total (the run stops after)")
    p.add_argument("--workers", type=int, default=1, choices=[1, 2, 3, 4])
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--tokens", type=int, default=200, help="words per replayed reply")
    p.add_argument("--delay-ms", type=float, default=2.0, help="backend pause before each token")
    p.add_argument(
        "--failure-rate", type=float, default=0.0, help="share of backend calls that fail half-way"
    )
    p.add_argument("--disconnect-rate", type=float, default=0.0, help="share of requests the client hangs up")
    p.add_argument("--pool-size", type=int, help="database pool per worker [server default]")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--py-spy", metavar="OUT", help="profile the server with py-spy (.txt collapsed, .svg, .json)"
    )
    p.add_argument("--py-spy-gil", action="store_true", help="profile only samples holding the GIL (CPU)")
    p.add_argument("--keep", action="store_true", help="keep the temp folder and PostgreSQL database")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    p.add_argument("--mode", choices=["page", "gateway", "both"], default="page", help="what the users drive")
    p.add_argument("--serve-arg", action="append", default=[], help="extra argument for `wildchat serve`")
    return p.parse_args(argv)


def run_mode(mode: str, args: argparse.Namespace, base: str, db_url: str, pid: int) -> dict[str, Any]:
    """One load phase (page users or gateway apps) and its verification against the database."""
    tag = uuid.uuid4().hex[:8]
    plan = Plan(args.requests, args.disconnect_rate, "load", tag, seed=args.seed)
    plan.hang_up_within_s = args.tokens * args.delay_ms / 1000 / 2  # within the first half of a reply
    cpu0 = _tree_cpu_s(pid)
    if mode == "gateway":
        wall, client_cpu = asyncio.run(run_apps(base, plan, args.users, args.tokens))
    else:
        wall, client_cpu = asyncio.run(run_users(base, plan, args.users))
    server_cpu = _tree_cpu_s(pid) - cpu0
    rows, totals = db_rows(db_url, tag)
    for _ in range(40):  # hang-ups are stored when the server notices them: let it settle
        accepted = sum(1 for r in plan.results if r.status == 200)
        if sum(1 for r in rows if r.assistant_id is not None) >= accepted:
            break
        time.sleep(0.25)
        rows, totals = db_rows(db_url, tag)
    return {
        "mode": mode,
        **summarize(plan.results, wall, args.delay_ms),
        "server_cpu_s": round(server_cpu, 1),
        "client_cpu_s": round(client_cpu, 1),
        "verify": verify(plan.results, rows, args.tokens),
        "db_totals": totals,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    loadavg = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="wildchat-load-"))
    pg_name = None
    if args.db == "postgres":
        pg_name, db_url = create_pg_database()
    else:
        db_url = f"sqlite:///{tmp / 'load.db'}"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(args, db_url, tmp, port)
    spy = None
    try:
        wait_ready(base, proc, tmp / "server.log")
        if args.py_spy:
            spy = start_py_spy(proc.pid, args.py_spy, args.py_spy_gil)
        modes = ["page", "gateway"] if args.mode == "both" else [args.mode]
        runs = {mode: run_mode(mode, args, base, db_url, proc.pid) for mode in modes}
        report = {
            "config": {k: v for k, v in vars(args).items() if k not in ("json", "keep")},
            "loadavg_before": [round(x, 2) for x in loadavg],
            **(runs[modes[0]] if len(modes) == 1 else runs),
        }
    finally:
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=60)
        proc.terminate()
        proc.wait(timeout=30)
        if pg_name and not args.keep:
            drop_pg_database(pg_name)
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    bad = 0
    for run in runs.values():
        v = run["verify"]
        bad += v["lost"] + v["stored_but_refused"] + v["finish_reason_mismatch"] + v["stop_incomplete"]
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
