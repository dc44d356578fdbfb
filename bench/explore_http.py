"""Time explorer searches over HTTP: the real app (``wildchat explore``, uvicorn) in a subprocess.

Sends the seeded query mix and the slow-shape probes of bench/explore_scale.py
(``_queries``, ``PROBES``) one after another to ``/api/search`` -- page 1, and
page 2 through ``next_cursor`` where the mix asks for it -- and reports, per
HTTP request, wall-clock percentiles and the **server's CPU time**: the
scheduler's run time of every thread of the server process (and, with
``--database-url``, of every ``postgres`` process: the backend does the work
there) read from ``/proc/PID/task/*/schedstat`` before and after each request.
Requests are sequential, so that delta is the request's own cost; on a machine
shared with other work it is the fairer figure (wall time includes waiting for
a core).  Each round starts a fresh server, so no total is cached from an
earlier round (a query repeated within a round may hit the count cache, as
it would on a live server).

Usage: .venv/bin/python bench/explore_http.py --index DIR [--database-url URL] [--queries 200] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from explore_scale import PROBES, _analyze_bench, _pct, _queries


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_ns(pids: list[int]) -> int:
    """Nanoseconds the threads of ``pids`` have run on a CPU so far (``schedstat`` field 1)."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    return total


def _postgres_pids() -> list[int]:
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/comm") as f:
                    if f.read().strip() == "postgres":
                        pids.append(int(name))
            except OSError:
                continue
    return pids


class Server:
    """``wildchat explore`` serving an existing index on a free local port (no build)."""

    def __init__(self, index: Path | None, database_url: str | None) -> None:
        self.port = _free_port()
        cmd = [sys.executable, "-m", "wildchat", "explore", "--port", str(self.port)]
        cmd += ["--database-url", database_url] if database_url else ["--index", str(index)]
        env = {**os.environ, "WILDCHAT_EXPLORE_HOST": "127.0.0.1"}
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.base = f"http://127.0.0.1:{self.port}"
        self.client = httpx.Client(base_url=self.base, timeout=120)
        self.pg = database_url is not None
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"server exited: {err}")
            try:
                if self.client.get("/api/datasets").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 120 s")
            time.sleep(0.2)

    def pids(self) -> list[int]:
        return [self.proc.pid, *(_postgres_pids() if self.pg else [])]

    def get(self, params: dict[str, str]) -> tuple[float, float, dict[str, Any]]:
        """(wall ms, server CPU ms, JSON body) of one ``/api/search`` request."""
        pids = self.pids()
        ns, t = _run_ns(pids), time.perf_counter()
        r = self.client.get("/api/search", params=params)
        wall = (time.perf_counter() - t) * 1000
        cpu = (_run_ns(pids) - ns) / 1e6
        r.raise_for_status()
        return wall, cpu, r.json()

    def close(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _summary(name: str, values: list[float]) -> dict[str, float]:
    return {
        f"{name}_p50_ms": round(statistics.median(values), 1),
        f"{name}_p95_ms": round(_pct(values, 95), 1),
        f"{name}_max_ms": round(max(values), 1),
    }


def _run(server: Server, queries: list[dict[str, str]]) -> list[dict[str, Any]]:
    """One row per HTTP request: page 1 of every query, page 2 where asked and offered."""
    rows = []
    for original in queries:
        params = {k: v for k, v in original.items() if k != "page2"}
        wall, cpu, body = server.get(params)
        rows.append({"ms": wall, "cpu_ms": cpu, "params": params, "total": body["total"], "page": 1})
        if original.get("page2") and body["next_cursor"]:
            wall, cpu, body2 = server.get({**params, "cursor": body["next_cursor"]})
            rows.append({"ms": wall, "cpu_ms": cpu, "params": params, "total": body2["total"], "page": 2})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, help="SQLite index folder (holds index.db)")
    ap.add_argument("--database-url", default=None, help="PostgreSQL index URL instead of --index")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=1, help="each round starts a fresh server")
    ap.add_argument("--settle", type=float, default=10.0, help="seconds to let the server read its row sets")
    ap.add_argument("--dump", type=Path, default=None, help="per-request JSON lines (last round)")
    args = ap.parse_args()
    if (args.index is None) == (args.database_url is None):
        ap.error("give exactly one of --index and --database-url")
    mix = _queries(_analyze_bench(), args.queries, seed=1)
    probes = [{**p, "page2": "1"} for p in PROBES]
    for r in range(args.rounds):
        server = Server(args.index, args.database_url)
        try:
            time.sleep(args.settle)  # the server reads its in-memory row sets in the background at start
            server.get({"q": "warm up"})
            load = os.getloadavg()[0]
            mix_rows, probe_rows = _run(server, mix), _run(server, probes)
        finally:
            server.close()
        out: dict[str, Any] = {"round": r, "requests": len(mix_rows), "load_avg_1m": round(load, 2)}
        for name, rows in (("mix", mix_rows), ("probe", probe_rows)):
            out |= _summary(f"{name}_wall", [x["ms"] for x in rows])
            out |= _summary(f"{name}_cpu", [x["cpu_ms"] for x in rows])
        print(json.dumps(out), flush=True)
    for label, x in [("probe", x) for x in probe_rows] + [
        ("slow ", x) for x in sorted(mix_rows, key=lambda x: -x["cpu_ms"])[:10]
    ]:
        ms = f"{x['ms']:8.1f} ms cpu {x['cpu_ms']:7.1f}"
        print(f"  {label} p{x['page']} {ms}  total={x['total']:<8} {x['params']}")
    if args.dump is not None:
        with args.dump.open("w") as f:
            for x in mix_rows + probe_rows:
                f.write(json.dumps(x) + "\n")


if __name__ == "__main__":
    main()
