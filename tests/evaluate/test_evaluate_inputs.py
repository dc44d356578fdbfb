"""Question files and endpoint specs: what is accepted, what is a counted skip or a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.evaluate.evaluate_helpers import write_questions
from wildchat.evaluate.endpoints import EndpointSyntaxError, parse_endpoint
from wildchat.evaluate.judge_prompts import pair_prompt, prompt_set_sha256, single_prompt
from wildchat.evaluate.questions import QuestionFileError, load_questions
from wildchat.skips import SkipReport


def test_load_questions_counts_bad_lines(tmp_path: Path) -> None:
    path = write_questions(
        tmp_path / "q.jsonl",
        extra_lines=[
            "{not json",
            '{"question_id": 1, "turns": ["dup"]}',
            '{"question_id": 9, "turns": []}',
            '{"question_id": true, "turns": ["x"]}',
            '["a list"]',
            '{"question_id": 10, "turns": ["ok"], "reference": "not a list"}',
        ],
    )
    report = SkipReport()
    qs = load_questions(path, report)
    assert [q.question_id for q in qs] == ["1", "2", "q3"]
    assert qs[1].reference_for(2) == "21" and qs[0].reference_for(1) is None
    assert dict(report.skipped) == {
        "invalid_json": 1,
        "duplicate_question_id": 1,
        "bad_turns": 1,
        "bad_question_id": 1,
        "not_an_object": 1,
        "bad_reference": 1,
    }
    assert report.examples["invalid_json"][0].endswith(":4: line is not valid JSON")


def test_arena_hard_turns_and_limit(tmp_path: Path) -> None:
    rows = [
        {"question_id": f"h{i}", "category": "arena-hard-v0.1", "turns": [{"content": f"Prompt {i}"}]}
        for i in range(5)
    ]
    path = write_questions(tmp_path / "arena.jsonl", rows)
    qs = load_questions(path, limit=3)
    assert [q.question_id for q in qs] == ["h0", "h1", "h2"]
    assert qs[1].turns == ("Prompt 1",) and qs[1].category == "arena-hard-v0.1"


@pytest.mark.parametrize(
    ("turns", "question"),
    [
        (["a", "b"], True),
        ([{"content": "a"}, {"content": "b", "role": "user"}], True),
        ([{"content": "a", "role": "assistant"}], False),
        ([{"text": "a"}], False),
        ([1], False),
        ([], False),
        ("a", False),
    ],
)
def test_report_and_evaluation_agree_on_questions(tmp_path: Path, turns: object, question: bool) -> None:
    """One rule (formats.questions): the report reads a prompt set iff the evaluation reads questions."""
    from wildchat.analyze.inputs import is_prompts_file

    path = write_questions(tmp_path / "q.jsonl", [{"question_id": 1, "turns": turns}])
    report = SkipReport()
    try:
        n = len(load_questions(path, report))
    except QuestionFileError:
        n = 0
    assert is_prompts_file(path) is question
    assert n == int(question) and report.n_skipped == 1 - int(question)


def test_load_questions_errors(tmp_path: Path) -> None:
    with pytest.raises(QuestionFileError, match="cannot read"):
        load_questions(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{}\n", encoding="utf-8")
    with pytest.raises(QuestionFileError, match="no usable question"):
        load_questions(bad)


@pytest.mark.parametrize(
    ("spec", "name", "url", "model"),
    [
        ("smol=http://127.0.0.1:8000/v1#smollm2", "smol", "http://127.0.0.1:8000/v1", "smollm2"),
        ("http://h:1/v1/#gpt-4o", "gpt-4o", "http://h:1/v1", "gpt-4o"),
        ("judge=https://api.example.com/v1", "judge", "https://api.example.com/v1", "judge"),
        ("x=http://h/v1?a=b#m", "x", "http://h/v1?a=b", "m"),
        (
            "http://h/v1#meta-llama/Llama-3-8B",
            "meta-llama_Llama-3-8B",
            "http://h/v1",
            "meta-llama/Llama-3-8B",
        ),
    ],
)
def test_parse_endpoint(spec: str, name: str, url: str, model: str) -> None:
    ep = parse_endpoint(spec)
    assert (ep.name, ep.base_url, ep.model) == (name, url, model)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("smol=127.0.0.1:8000#m", "must start with"),
        ("http://h/v1", "give a model"),
        ("bad name=http://h/v1#m", "letters, digits"),
        ("ba/d=http://h/v1#m", "letters, digits"),
    ],
)
def test_parse_endpoint_errors(spec: str, match: str) -> None:
    with pytest.raises(EndpointSyntaxError, match=match):
        parse_endpoint(spec)


def test_prompts_carry_history_reference_and_are_pinned() -> None:
    p1 = single_prompt(["Q1", "Q2"], ["A1", "A2"], 1, None)
    assert "Q1" in p1.user and "A1" in p1.user and "Q2" not in p1.user and "[[" in p1.system
    p2 = single_prompt(["Q1", "Q2"], ["A1", "A2"], 2, "REF2")
    assert all(s in p2.user for s in ("Q1", "A1", "Q2", "A2", "REF2"))
    pp = pair_prompt(["Q1", "Q2"], ["a1", "a2"], ["b1", "b2"], 2, None)
    assert all(s in pp.user for s in ("a1", "a2", "b1", "b2")) and "[[C]]" in pp.system
    assert len(prompt_set_sha256()) == 64 and prompt_set_sha256() == prompt_set_sha256()
