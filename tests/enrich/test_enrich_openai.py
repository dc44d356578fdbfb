"""OpenAI moderation engine against a real local HTTP server speaking the API shape."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enrich.moderation_fake import FakeState, serve
from wildchat.enrich.moderation.openai_engine import OpenAIModeration, OpenAIModerationConfig, retry_after_s
from wildchat.schema import Moderation


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeState, str]]:
    state = FakeState()
    with serve(state) as url:
        yield state, url


@pytest.fixture
def state_url(fake: tuple[FakeState, str], monkeypatch: pytest.MonkeyPatch) -> tuple[FakeState, str]:
    state, url = fake
    state.plan.clear()
    state.requests.clear()
    monkeypatch.setenv("WILDCHAT_TEST_KEY", "sk-test")
    return state, url


def engine(url: str, tmp_path: Path | None = None, **kw: object) -> tuple[OpenAIModeration, list[float]]:
    sleeps: list[float] = []
    cfg = OpenAIModerationConfig(
        base_url=url,
        api_key_env="WILDCHAT_TEST_KEY",
        backoff_s=0.01,
        cache_path=str(tmp_path / "cache.sqlite") if tmp_path else None,
        **kw,  # type: ignore[arg-type]
    )
    return OpenAIModeration(cfg, sleep=sleeps.append), sleeps


def test_categories_both_spellings_and_batches(state_url: tuple[FakeState, str]) -> None:
    state, url = state_url
    eng, _ = engine(url, batch_size=2)
    out = eng.moderate(["hello", "I HATE you", "SELFHARM talk"])
    assert [m.flagged if m else None for m in out] == [False, True, True]
    hate, selfharm = out[1], out[2]
    assert hate is not None and selfharm is not None
    assert hate.categories["hate"] is True and hate.category_scores["hate"] == pytest.approx(0.91)
    assert selfharm.categories["self-harm"] is True and selfharm.categories["self_harm"] is True
    assert "illicit" not in hate.categories
    assert [len(r) for r in state.requests] == [2, 1]


def test_429_retry_after_is_honoured(state_url: tuple[FakeState, str]) -> None:
    state, url = state_url
    state.plan[:] = [(429, 0.25), (500, None)]
    eng, sleeps = engine(url)
    out = eng.moderate(["I HATE this"])
    assert out[0] is not None and out[0].flagged is True
    assert sleeps == [0.25, 0.02]  # server's Retry-After, then backoff (0.01 * 2**1)
    assert eng.counts["http_429"] == 1 and eng.counts["http_500"] == 1


def test_budget_exhausted_is_missing_never_clean(state_url: tuple[FakeState, str]) -> None:
    state, url = state_url
    state.plan[:] = [(500, None)] * 10
    eng, sleeps = engine(url, max_attempts=3)
    out = eng.moderate(["fine text", ""])
    assert out[0] is None
    assert out[1] == Moderation()  # blank: nothing to judge, not missing
    assert eng.counts["missing"] == 1 and eng.counts["budget_exhausted"] == 1
    assert len(state.requests) == 3 and len(sleeps) == 2


def test_retry_after_beyond_budget_gives_up_without_sleeping(state_url: tuple[FakeState, str]) -> None:
    state, url = state_url
    state.plan[:] = [(429, 999)]
    eng, sleeps = engine(url, max_wait_s=5.0)
    assert eng.moderate(["x y z"]) == [None]
    assert sleeps == []


def test_bad_request_is_split_down_to_the_bad_text(state_url: tuple[FakeState, str]) -> None:
    _, url = state_url
    eng, _ = engine(url)
    out = eng.moderate(["ok one", "BADINPUT", "HATE two", "ok three"])
    assert out[1] is None
    assert [m.flagged for m in (out[0], out[2], out[3]) if m] == [False, True, False]
    assert eng.counts["missing"] == 1


def test_long_text_windows_merge_or_and_max(state_url: tuple[FakeState, str]) -> None:
    state, url = state_url
    eng, _ = engine(url, window_chars=50, min_window_chars=10)
    text = "a" * 50 + "c" * 50 + " HATE " + "b" * 30
    (merged,) = eng.moderate([text])
    assert merged is not None and merged.flagged is True and merged.categories["hate"] is True
    assert merged.category_scores["hate"] == pytest.approx(0.91)
    assert all(len(t) <= 60 for t in state.requests[0]) and len(state.requests[0]) == 3


def test_cache_hits_skip_the_server_and_store_no_text(
    state_url: tuple[FakeState, str], tmp_path: Path
) -> None:
    state, url = state_url
    eng, _ = engine(url, tmp_path)
    first = eng.moderate(["secret phone 555-0100", "I HATE it"])
    n = len(state.requests)
    eng2, _ = engine(url, tmp_path)
    assert eng2.moderate(["secret phone 555-0100", "I HATE it"]) == first
    assert len(state.requests) == n and eng2.counts["cache_hits"] == 2
    rows = sqlite3.connect(tmp_path / "cache.sqlite").execute("SELECT text FROM moderation").fetchall()
    assert rows and all(r[0] is None for r in rows)


def test_missing_api_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_ENV", raising=False)
    eng = OpenAIModeration(
        OpenAIModerationConfig(api_key_env="NO_SUCH_KEY_ENV", base_url="http://127.0.0.1:9")
    )
    with pytest.raises(RuntimeError, match="NO_SUCH_KEY_ENV"):
        eng.moderate(["hi"])


def test_retry_after_parsing() -> None:
    assert retry_after_s({"retry-after": "2"}) == 2.0
    assert retry_after_s({"retry-after-ms": "150"}) == pytest.approx(0.15)
    assert retry_after_s({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert retry_after_s(None) is None


def test_identical_windows_are_sent_once(state_url: tuple[FakeState, str]) -> None:
    state, url = state_url
    eng, _ = engine(url, window_chars=50, min_window_chars=10)
    out = eng.moderate(["a" * 100, "a" * 50])
    assert [m.flagged for m in out if m] == [False, False]
    assert state.requests == [["a" * 50]]


def test_bad_input_never_crashes(state_url: tuple[FakeState, str]) -> None:
    state, url = state_url
    eng, _ = engine(url, window_chars=8000, min_window_chars=500)
    big = "HATE " + "word " * 200_000
    junk = ["\x00\xff binary \x07", "\ud800 lone surrogate", "😀" * 10, big, "```py\nx=1\n```"]
    out = eng.moderate(junk)
    assert all(m is not None and m.flagged is not None for m in out)
    assert out[3] is not None and out[3].flagged is True  # the 1 MB turn is judged window by window
    assert max(len(t) for r in state.requests for t in r) <= 8500
