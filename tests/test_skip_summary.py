"""`make test` ends with one summary of the service-backed skips and the command that enables them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tests.service_skips import ENABLE_SERVICES, pytest_terminal_summary, service_skips


class Reporter:
    """The two TerminalReporter methods the hook uses, recording what it writes."""

    def __init__(self, reasons: list[str]) -> None:
        skipped = [SimpleNamespace(longrepr=("tests/x.py", 1, f"Skipped: {r}")) for r in reasons]
        self.stats: dict[str, Any] = {"skipped": skipped}
        self.lines: list[str] = []

    def write_sep(self, sep: str, title: str) -> None:
        self.lines.append(f"{sep * 3} {title} {sep * 3}")

    def write_line(self, line: str) -> None:
        self.lines.append(line)


def test_counts_each_service_and_prints_the_command_once() -> None:
    reasons = [
        "Debian chromium (apt-get install chromium chromium-driver) not available",
        "Debian chromium (apt-get install chromium chromium-driver) not available",
        "PostgreSQL at 127.0.0.1:5432 not available",
        "Redis at 127.0.0.1:6379 not available",
        "maxminddb-geolite2 not installed",  # not a service: not counted
    ]
    assert list(service_skips(reasons).values()) == [2, 1, 1]
    rep = Reporter(reasons)
    pytest_terminal_summary(rep, 0, None)  # type: ignore[arg-type]
    text = "\n".join(rep.lines)
    assert "4 service-backed test(s) skipped" in text
    assert "2 need Chromium" in text and "1 need PostgreSQL" in text and "1 need Redis" in text
    assert text.count(ENABLE_SERVICES) == 1
    assert "apt-get install -y chromium chromium-driver postgresql redis-server" in ENABLE_SERVICES


def test_silent_when_nothing_service_backed_skipped() -> None:
    rep = Reporter(["maxminddb-geolite2 not installed"])
    pytest_terminal_summary(rep, 0, None)  # type: ignore[arg-type]
    assert rep.lines == []
