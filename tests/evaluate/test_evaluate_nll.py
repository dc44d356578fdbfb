"""NLL scoring on tiny random Llama models: exact values, masking, batching, the CLI matrix."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.evaluate.evaluate_helpers import sharegpt_file
from wildchat.cli.main import app
from wildchat.evaluate.nll import encode_all, make_batches, score_encoded
from wildchat.skips import SkipReport

runner = CliRunner()


def _chat(user: str, *assistant: str) -> list[dict[str, str]]:
    msgs: list[dict[str, str]] = []
    for i, a in enumerate(assistant):
        msgs += [{"role": "user", "content": user if i == 0 else "and?"}, {"role": "assistant", "content": a}]
    return msgs


def test_nll_equals_hand_computation_under_padding(tiny_models: tuple[Path, Path]) -> None:
    import torch

    from wildchat.train.models import load_model

    model, tok = load_model(str(tiny_models[0]), device="cpu")
    short = _chat("hi", "ok.")
    long = _chat("a much longer question " * 5, "a long answer " * 6, "and a second reply")
    report = SkipReport()
    encoded = [e for _, e in encode_all(tok, [short, long], max_length=None, overflow="skip", report=report)]
    scores, tp = score_encoded(model, encoded, batch_size=2, batch_tokens=10_000, pad_id=tok.pad_token_id)
    assert tp.batches == 1  # the short one was padded next to the long one
    for enc, score in zip(encoded, scores, strict=True):
        with torch.no_grad():
            logits = model(torch.tensor([enc.input_ids])).logits[0].double()
        logp = torch.log_softmax(logits, dim=-1)
        hand = [
            -float(logp[k - 1, enc.labels[k]]) for k in range(1, len(enc.labels)) if enc.labels[k] != -100
        ]
        assert score.loss_tokens == len(hand) == enc.n_loss_tokens
        assert score.mean == pytest.approx(sum(hand) / len(hand), abs=1e-5)
        assert score.input_tokens == len(enc.input_ids)
    assert tp.input_tokens == sum(len(e.input_ids) for e in encoded) and tp.tokens_per_s > 0


def test_only_assistant_tokens_carry_loss(tiny_models: tuple[Path, Path]) -> None:
    from wildchat.train.models import load_tokenizer

    tok = load_tokenizer(str(tiny_models[0]))
    answers = ("Paris.", "It is in France.")
    convs = [_chat("Capital?", *answers), _chat("What is the capital city, please? " * 4, *answers)]
    encoded = encode_all(tok, convs, max_length=None, overflow="skip", report=SkipReport())
    short, long = encoded[0][1], encoded[1][1]
    assert len(long.input_ids) > len(short.input_ids) + 100
    # byte-level tokenizer: one token per UTF-8 byte of each reply, plus its <|im_end|>
    expected = sum(len(a.encode()) for a in answers) + len(answers)
    assert short.n_loss_tokens == long.n_loss_tokens == expected
    labelled = tok.decode([t for t in long.labels if t != -100])
    assert labelled == "Paris.<|im_end|>It is in France.<|im_end|>"


def test_encode_all_counts_skips(tiny_models: tuple[Path, Path]) -> None:
    from wildchat.train.models import load_tokenizer

    tok = load_tokenizer(str(tiny_models[0]))
    convs = [_chat("q", "short"), _chat("q" * 300, "long"), [{"role": "user", "content": "alone"}]]
    report = SkipReport()
    kept = encode_all(tok, convs, max_length=64, overflow="skip", report=report)
    assert [i for i, _ in kept] == [0]
    assert report.read == 3 and report.written == 1
    assert report.skipped["too_long"] == 1 and report.n_skipped == 2


def test_make_batches_respects_budget() -> None:
    lengths = [5, 50, 20, 20, 7, 100, 3]
    batches = make_batches(lengths, batch_size=3, batch_tokens=60)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert batches[0] == [5]  # longer than the budget: alone
    for b in batches:
        assert len(b) <= 3
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 60
        assert [lengths[i] for i in b] == sorted((lengths[i] for i in b), reverse=True)


def test_eval_nll_cli_matrix(tmp_path: Path, tiny_models: tuple[Path, Path]) -> None:
    d1 = sharegpt_file(tmp_path / "alpha.json", 12, "alpha")
    d2 = sharegpt_file(tmp_path / "beta.json", 8, "beta")
    out = tmp_path / "out"
    argv = [
        "eval",
        "nll",
        "-m",
        str(tiny_models[0]),
        "-m",
        str(tiny_models[1]),
        "--name",
        "base",
        "--name",
        "tuned",
        "-d",
        str(d1),
        "-d",
        f"b={d2}",
        "--samples",
        "5",
        "--holdout",
        "0.3",
        "--out",
        str(out),
        "--device",
        "cpu",
        "--batch-size",
        "4",
    ]
    res = runner.invoke(app, argv)
    assert res.exit_code == 0, res.output
    result = json.loads((out / "nll.json").read_text())
    m = result["matrix"]
    assert m["models"] == ["base", "tuned"] and m["datasets"] == ["alpha", "b"]
    assert len(m["mean_nll"]) == 2 and all(len(r) == 2 for r in m["mean_nll"])
    values = [v for r in m["mean_nll"] for v in r]
    # random 2-layer models over a 259-token vocabulary: NLL near ln(259)
    assert all(4.0 < v < 7.0 for v in values) and len(set(values)) == 4
    for cell in result["cells"]:
        assert cell["conversations"] == 5 and cell["ci_low"] <= cell["mean_nll"] <= cell["ci_high"]
        assert cell["perplexity"] == pytest.approx(math.exp(cell["mean_nll"]))
    sel = {d["name"]: d["selection"] for d in result["datasets"]}
    for s in sel.values():
        assert s["from_heldout"] + s["from_rest"] == 5 and s["mode"] in ("heldout", "heldout+fill")
        assert len(s["keys_sha256"]) == 64
    assert result["models"][0]["path"] == str(tiny_models[0]) and result["models"][0]["dtype"] == "float32"
    rows = list(csv.DictReader((out / "nll.csv").open()))
    assert [(r["model"], r["dataset"]) for r in rows] == [
        ("base", "alpha"),
        ("base", "b"),
        ("tuned", "alpha"),
        ("tuned", "b"),
    ]
    assert (out / "nll_heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # same sample, one conversation per pass instead of padded batches: same numbers
    argv[argv.index("--out") + 1] = str(tmp_path / "again")
    res2 = runner.invoke(app, [*argv[:-2], "--batch-size", "1"])
    assert res2.exit_code == 0, res2.output
    again = json.loads((tmp_path / "again" / "nll.json").read_text())
    flat_again = [v for r in again["matrix"]["mean_nll"] for v in r]
    assert flat_again == pytest.approx(values, abs=1e-5)
    assert again["datasets"][0]["selection"] == sel["alpha"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-m", "/nonexistent/model"], "no such file or folder"),
        (["-m", "MODEL", "--name", "a", "--name", "b"], "--name given 2 time(s) for 1 model(s)"),
        (["-m", "MODEL", "--overflow", "wrap"], "--overflow must be"),
    ],
)
def test_eval_nll_bad_arguments(
    tmp_path: Path, tiny_models: tuple[Path, Path], extra: list[str], message: str
) -> None:
    d1 = sharegpt_file(tmp_path / "alpha.json", 3, "alpha")
    extra = [str(tiny_models[0]) if e == "MODEL" else e for e in extra]
    res = runner.invoke(app, ["eval", "nll", *extra, "-d", str(d1), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and message in res.output


def test_heatmap_with_missing_cell(tmp_path: Path) -> None:
    from wildchat.evaluate.heatmap import draw_heatmap

    out = draw_heatmap([[1.5, None], [2.0, 2.5]], ["m1", "m2"], ["d1", "d2"], tmp_path / "sub" / "h.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
