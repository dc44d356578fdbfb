"""One summary, at the end of a test run, of what skipped for want of a service, and how to get it.

Kept out of ``conftest.py`` so tests can import it by an ordinary module name
(several ``conftest`` modules exist under ``tests/``); ``tests/conftest.py``
re-exports :func:`pytest_terminal_summary` so pytest registers the hook.
"""

from __future__ import annotations

from typing import Any

import pytest

SERVICES = {
    "chromium": "Chromium (/usr/bin/chromium)",
    "PostgreSQL": "PostgreSQL (127.0.0.1:5432, trust auth, database test)",
    "Redis": "Redis (127.0.0.1:6379)",
}
ENABLE_SERVICES = "sudo apt-get install -y chromium chromium-driver postgresql redis-server && sudo .ci/run"


def service_skips(reasons: list[str]) -> dict[str, int]:
    """Skipped tests per missing service, recognised by the reasons ``_missing`` writes."""
    counts: dict[str, int] = {}
    for reason in reasons:
        for key, label in SERVICES.items():
            if key in reason:
                counts[label] = counts.get(label, 0) + 1
                break
    return counts


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Say once, at the end, which service-backed tests skipped and the one command that enables them."""
    reasons = []
    for rep in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(rep, "longrepr", None)
        is_skip = isinstance(longrepr, tuple) and len(longrepr) == 3
        reasons.append(str(longrepr[2]) if is_skip else str(longrepr))
    counts = service_skips(reasons)
    if not counts:
        return
    total = sum(counts.values())
    terminalreporter.write_sep("=", f"{total} service-backed test(s) skipped")
    for label, n in counts.items():
        terminalreporter.write_line(f"  {n} need {label}")
    terminalreporter.write_line(f"  enable them: {ENABLE_SERVICES}")
    terminalreporter.write_line("  (.ci/run starts PostgreSQL and Redis, then runs `make test`; no skips)")
