"""The local OpenAI-compatible server over a tiny model, through the real openai SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.evaluate.evaluate_helpers import read_jsonl, write_questions
from tests.evaluate.fake_openai_server import serve_app
from wildchat.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def local_url(tiny_models: tuple[Path, Path]) -> Iterator[str]:
    from wildchat.evaluate.local_server import LoadedModel, create_app
    from wildchat.train.models import load_model

    model, tok = load_model(str(tiny_models[0]), device="cpu")
    with serve_app(create_app({"tiny": LoadedModel(model, tok)}, max_input_tokens=200)) as url:
        yield url


def test_chat_completions_through_sdk(local_url: str, tiny_models: tuple[Path, Path]) -> None:
    import openai

    from wildchat.evaluate.local_server import prompt_ids
    from wildchat.train.models import load_tokenizer

    client = openai.OpenAI(base_url=local_url, api_key="EMPTY", max_retries=0)
    assert [m.id for m in client.models.list()] == ["tiny"]
    msgs = [{"role": "user", "content": "Say something."}]
    r1 = client.chat.completions.create(model="tiny", messages=msgs, max_tokens=6, temperature=0)  # type: ignore[arg-type]
    r2 = client.chat.completions.create(model="tiny", messages=msgs, max_tokens=6, temperature=0)  # type: ignore[arg-type]
    assert r1.choices[0].message.content == r2.choices[0].message.content  # greedy is deterministic
    assert r1.model == "tiny" and r1.usage is not None
    assert r1.usage.prompt_tokens == len(prompt_ids(load_tokenizer(str(tiny_models[0])), msgs))
    assert 1 <= r1.usage.completion_tokens <= 6
    s1 = client.chat.completions.create(model="tiny", messages=msgs, max_tokens=6, temperature=1.0, seed=3)  # type: ignore[arg-type]
    s2 = client.chat.completions.create(model="tiny", messages=msgs, max_tokens=6, temperature=1.0, seed=3)  # type: ignore[arg-type]
    assert s1.choices[0].message.content == s2.choices[0].message.content  # same seed, same sample


def test_errors_are_openai_shaped(local_url: str) -> None:
    import openai

    client = openai.OpenAI(base_url=local_url, api_key="EMPTY", max_retries=0)
    with pytest.raises(openai.NotFoundError, match="not served here"):
        client.chat.completions.create(
            model="other", messages=[{"role": "user", "content": "x"}], max_tokens=2
        )
    with pytest.raises(openai.BadRequestError, match="> 200") as info:
        client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "x" * 500}], max_tokens=2
        )
    assert info.value.code == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError, match="role, content"):
        client.chat.completions.create(
            model="tiny", messages=[{"role": "robot", "content": "x"}], max_tokens=2
        )  # type: ignore[list-item, misc]


def test_judge_with_local_answers(tmp_path: Path, local_url: str, fake_url: str) -> None:
    q = write_questions(tmp_path / "q.jsonl")
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "eval",
            "judge",
            "-q",
            str(q),
            "-o",
            str(out),
            "-a",
            f"{local_url}#tiny",
            "-j",
            f"{fake_url}#judge",
            "--repetitions",
            "1",
            "--max-tokens",
            "8",
            "--temperature",
            "0",
            "--concurrency",
            "2",
        ],
    )
    answers = read_jsonl(out / "answers" / "tiny.jsonl")
    assert [a["question_id"] for a in answers] == ["1", "2", "q3"]
    summary = json.loads((out / "summary.json").read_text())
    # greedy decoding of the seeded tiny model: non-empty (if meaningless) replies for every turn
    assert res.exit_code == 0, res.output
    assert all(len(a["choices"][0]["turns"]) == 2 and a["error"] is None for a in answers)
    # every turn was graded (the fake judge gives 1 to replies without a [by X] marker)
    assert summary["judgments"]["usable"] == 6
    assert summary["single"]["tiny"]["overall"]["median"]["value"] == 1.0
