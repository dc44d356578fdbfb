"""`wildchat eval judge` end to end against a fake OpenAI-compatible server (real HTTP)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.evaluate.evaluate_helpers import read_jsonl, write_questions
from tests.evaluate.fake_openai_server import FakeState
from wildchat.cli.main import app
from wildchat.evaluate.judge_prompts import TEMPLATES, prompt_set_sha256

runner = CliRunner()


def _judge(
    tmp_path: Path, url: str, *args: str, models: tuple[str, ...] = ("good", "bad")
) -> tuple[int, str, Path]:
    out = tmp_path / "out"
    q = write_questions(tmp_path / "question.jsonl")
    argv = [
        "eval",
        "judge",
        "--questions",
        str(q),
        "--out",
        str(out),
        "--max-retries",
        "1",
        "--timeout",
        "10",
    ]
    for m in models:
        argv += ["--answers-from", f"{m}={url}#{m}"]
    res = runner.invoke(app, argv + list(args))
    return res.exit_code, res.output, out


def test_judge_full_pipeline(tmp_path: Path, fake_url: str, fake_state: FakeState) -> None:
    code, output, out = _judge(
        tmp_path,
        fake_url,
        "--judge",
        f"{fake_url}#judge",
        "--repetitions",
        "2",
        "--pairwise",
        "--baseline",
        "bad",
    )
    assert code == 0, output
    # answers: MT-bench format, both turns, second turn asked with the first exchange as history
    for model in ("good", "bad"):
        rows = read_jsonl(out / "answers" / f"{model}.jsonl")
        assert [r["question_id"] for r in rows] == ["1", "2", "q3"]
        assert all(r["model_id"] == model and len(r["choices"][0]["turns"]) == 2 for r in rows)
        assert rows[0]["choices"][0]["turns"][1].startswith(f"[by {model}] answer to: Now make it about snow")
    second = [r for r in fake_state.requests if r["model"] == "good" and len(r["messages"]) == 3]
    assert len(second) == 3 and second[0]["messages"][1]["role"] == "assistant"
    # config pins the judge and the exact prompts
    config = json.loads((out / "judgment_config.json").read_text())
    assert config["judge"]["model"] == "judge" and config["prompt_sha256"] == prompt_set_sha256()
    assert config["prompts"] == TEMPLATES and config["judge_settings"]["repetitions"] == 2
    # judgments: 2 models x 3 questions x 2 turns x 2 reps single + 1 pair x 3 x 2 x 2 reps x 2 orders
    judgments = read_jsonl(out / "judgments.jsonl")
    assert sum(j["kind"] == "single" for j in judgments) == 24
    assert sum(j["kind"] == "pair" for j in judgments) == 24
    assert {j["repetition"] for j in judgments} == {0, 1}
    # the reference answer reached the judge for question 2 only
    judge_prompts = [r["messages"][-1]["content"] for r in fake_state.requests if r["model"] == "judge"]
    assert sum("<reference_answer>" in p for p in judge_prompts) == 2 * 2 * 2 + 2 * 2 * 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["judgments"]["unusable"] == 0 and summary["judgments"]["usable"] == 48
    good, bad = summary["single"]["good"], summary["single"]["bad"]
    # fake judge: rating + seed % 2 -> repetitions 0 and 1 give 8 and 9; per-question mean 8.5
    assert good["turn_1"]["median"]["value"] == 8.5 and good["turn_2"]["mean"]["value"] == 8.5
    assert bad["overall"]["median"]["value"] == 3.5 and good["overall"]["questions"] == 6
    assert good["repetition_sd"] == pytest.approx(0.5)
    med = good["turn_1"]["median"]
    assert med["ci_low"] <= med["value"] <= med["ci_high"]
    (pair,) = summary["pairwise"]
    assert (pair["model"], pair["opponent"]) == ("good", "bad")
    assert (pair["win"], pair["tie"], pair["loss"], pair["comparisons"]) == (12, 0, 0, 12)
    assert pair["turn_2"] == {"win": 6, "tie": 0, "loss": 0}
    assert "good" in output and "8.50" in output


def test_position_bias_becomes_ties(tmp_path: Path, fake_url: str) -> None:
    code, output, out = _judge(
        tmp_path,
        fake_url,
        "--judge",
        f"{fake_url}#biased-judge",
        "--repetitions",
        "1",
        "--pairwise",
        "--no-single",
    )
    assert code == 0, output
    (pair,) = json.loads((out / "summary.json").read_text())["pairwise"]
    assert (pair["win"], pair["tie"], pair["loss"]) == (0, 6, 0)
    assert pair["inconsistent_orders"] == 6


def test_garbage_judge_is_counted_not_fatal(tmp_path: Path, fake_url: str) -> None:
    q = [{"question_id": 1, "category": "x", "turns": ["a", "b"]}]
    write_questions(tmp_path / "question.jsonl", q)
    out = tmp_path / "out"
    argv = [
        "eval",
        "judge",
        "-q",
        str(tmp_path / "question.jsonl"),
        "-o",
        str(out),
        "-a",
        f"good={fake_url}#good",
        "-j",
        f"{fake_url}#garbage-judge",
        "--repetitions",
        "5",
    ]
    res = runner.invoke(app, argv)
    assert res.exit_code == 0, res.output
    u = json.loads((out / "summary.json").read_text())["judgments"]
    # 10 calls cycle through 5 outputs: 1 usable, 4 kinds of garbage, twice each
    assert u["total"] == 10 and u["usable"] == 2
    assert u["unusable_by_reason"] == {
        "ambiguous_rating": 2,
        "empty_response": 2,
        "no_rating": 2,
        "out_of_range": 2,
    }
    assert "8 of 10 judgments unusable" in res.output
    bad_lines = [j for j in read_jsonl(out / "judgments.jsonl") if j["skip_reason"] == "out_of_range"]
    assert all(j["judge_output"] == "Score: [[42]]" and "rating" not in j for j in bad_lines)


def test_judge_down_exits_1_with_reasons(tmp_path: Path, fake_url: str, fake_state: FakeState) -> None:
    code, output, out = _judge(
        tmp_path, fake_url, "--judge", f"{fake_url}#down-judge", "--repetitions", "1", models=("good",)
    )
    assert code == 1
    assert "no usable judgment" in output
    u = json.loads((out / "summary.json").read_text())["judgments"]
    assert u["unusable_by_reason"] == {"http_500": 6}
    # one retry each (--max-retries 1): 2 requests per judgment
    assert sum(r["model"] == "down-judge" for r in fake_state.requests) == 12


def test_retries_recover_from_transient_errors(tmp_path: Path, fake_url: str, fake_state: FakeState) -> None:
    fake_state.fail_first = 2
    code, output, out = _judge(
        tmp_path,
        fake_url,
        "--judge",
        f"{fake_url}#flaky-judge",
        "--repetitions",
        "1",
        "--max-retries",
        "3",
        "--concurrency",
        "1",
        models=("good",),
    )
    assert code == 0, output
    u = json.loads((out / "summary.json").read_text())["judgments"]
    assert u["usable"] == 6 and u["unusable"] == 0
    assert sum(r["model"] == "flaky-judge" for r in fake_state.requests) == 8


def test_failed_answers_are_no_answer_skips(tmp_path: Path, fake_url: str) -> None:
    code, output, out = _judge(
        tmp_path,
        fake_url,
        "--judge",
        f"{fake_url}#judge",
        "--repetitions",
        "1",
        models=("good", "broken", "empty"),
    )
    assert code == 0, output
    broken = read_jsonl(out / "answers" / "broken.jsonl")
    assert all(r["error"] == "http_500" and r["choices"][0]["turns"] == [] for r in broken)
    assert {r["error"] for r in read_jsonl(out / "answers" / "empty.jsonl")} == {"empty_response"}
    s = json.loads((out / "summary.json").read_text())
    assert s["judgments"]["unusable_by_reason"] == {"no_answer": 12}
    assert s["answers"]["broken"] == {"questions": 3, "incomplete": 3, "errors_by_reason": {"http_500": 3}}
    assert s["single"]["broken"]["overall"]["mean"] is None
    assert s["single"]["good"]["overall"]["questions"] == 6


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--judge", "not-a-url"], "must start with http"),
        (["--judge", "http://127.0.0.1:9/v1#j", "--pairwise", "--baseline", "nobody"], "baseline 'nobody'"),
        (["--judge", "http://127.0.0.1:9/v1#j", "--no-single"], "nothing to do"),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, extra: list[str], message: str) -> None:
    code, output, _ = _judge(tmp_path, "http://127.0.0.1:9/v1", *extra)
    assert code == 2 and message in output


def test_bad_question_file_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "q.jsonl"
    bad.write_text("nonsense\n", encoding="utf-8")
    res = runner.invoke(
        app,
        [
            "eval",
            "judge",
            "-q",
            str(bad),
            "-o",
            str(tmp_path / "o"),
            "-a",
            "http://127.0.0.1:9/v1#m",
            "-j",
            "http://127.0.0.1:9/v1#j",
        ],
    )
    assert res.exit_code == 2 and "no usable question" in res.output
