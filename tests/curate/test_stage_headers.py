"""Stage ``headers``: user-agent -> browser + major + OS family, accept-language -> first tag."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

from tests.builders.conversations import Logs
from tests.curate.curate_helpers import STAGES, read_full
from wildchat.curate.stages import available_stages
from wildchat.curate.stages.config import DEFAULT_STAGES
from wildchat.curate.stages.headers import HeadersStage, first_language_tag

pytest.importorskip("ua_parser")

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.130 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1"
)


def test_registered_and_off_by_default() -> None:
    assert available_stages()["headers"] is HeadersStage
    assert "headers" not in DEFAULT_STAGES


@pytest.mark.parametrize(
    ("value", "primary", "want"),
    [("en-US,en;q=0.9,fr;q=0.8", False, "en-US"), ("en-US,en;q=0.9", True, "en"), ("zh-Hans-CN;q=0.8", False,
     "zh-Hans-CN"), ("*", False, "*"), (" ,", False, ""), ("", False, "")],
)  # fmt: skip
def test_first_language_tag(value: str, primary: bool, want: str) -> None:
    assert first_language_tag(value, primary) == want


def test_user_agent_families() -> None:
    stage = HeadersStage()
    stage.setup()
    assert stage.user_agent(CHROME) == "Chrome 120 / Windows"
    assert stage.user_agent(IPHONE) == "Mobile Safari 17 / iOS"
    assert stage.user_agent("curl/8.4.0") == "curl 8 / Other"
    assert stage.user_agent("%%%") == "Other / Other"
    clone = pickle.loads(pickle.dumps(stage))
    clone.setup()
    assert clone.user_agent(CHROME) == "Chrome 120 / Windows"


def test_release_headers_are_coarsened_everywhere(logs: Logs, tmp_path: Path, curate: Any) -> None:
    logs.add(["hello"], "hi", ua=CHROME, lang="en-GB,en;q=0.9", minute=1)
    logs.add(["bonjour"], "salut", ua=IPHONE, lang="fr-FR,fr;q=0.8", minute=2, ip="198.51.100.9")
    stages = [*STAGES, "headers"]
    res = curate([logs.write(tmp_path / "in.jsonl")], sets=[f"pipeline.stages={stages!r}"])
    rows = read_full(res.out)
    seen = {(r["header"]["user-agent"], r["header"]["accept-language"]) for r in rows}
    assert seen == {("Chrome 120 / Windows", "en-GB"), ("Mobile Safari 17 / iOS", "fr-FR")}
    for r in rows:
        user = [t for t in r["conversation"] if t["role"] == "user"]
        assert all(t["header"] == r["header"] for t in user)
    counters = {s["name"]: s for s in res.stats["stages"]}["headers"]["counters"]
    assert counters["turns_changed"] == 2
