"""`wildchat eval nll` and `wildchat eval judge`: model evaluation commands.

Heavy imports (torch, transformers, openai, matplotlib) happen inside the
commands so ``wildchat --help`` stays fast and works without the ``train``
extra.  Exit codes: 0 done, 1 nothing usable came out, 2 bad arguments or
inputs (named in the message).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wildchat.cli.evaluate_output import nll_progress, print_judge, print_nll

if TYPE_CHECKING:
    from wildchat.evaluate.endpoints import Endpoint
    from wildchat.evaluate.judge_run import JudgeRun
    from wildchat.evaluate.nll_run import NllSettings

eval_app = typer.Typer(
    help="Evaluate chat models: cross-dataset NLL matrix and MT-bench-style judging.",
    no_args_is_help=True,
)


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


_Models = Annotated[
    list[str], typer.Option("--model", "-m", help="Model folder, .gguf file, or 'smollm2' (repeatable).")
]
_Data = Annotated[
    list[str],
    typer.Option("--data", "-d", help="Dataset file/folder/glob, optionally NAME=PATH (repeatable)."),
]
_Out = Annotated[Path, typer.Option("--out", "-o", help="Output folder (created).")]
_Names = Annotated[list[str] | None, typer.Option("--name", help="Display name per --model, in order.")]
_Samples = Annotated[
    int | None,
    typer.Option(
        "--samples", min=1, help="Conversations scored per dataset (default: 200 on a GPU, 20 on CPU)."
    ),
]
_MaxLength = Annotated[
    int | None,
    typer.Option("--max-length", min=8, help="Tokens per conversation (default: 1024 on a GPU, 512 on CPU)."),
]
_Overflow = Annotated[
    str, typer.Option("--overflow", help="Longer conversations: 'truncate' (score the start) or 'skip'.")
]
_Holdout = Annotated[
    float,
    typer.Option("--holdout", min=0.0, max=1.0, help="Held-out fraction (the split export-sft leaves out)."),
]
_UseAll = Annotated[bool, typer.Option("--all", help="Ignore the split (datasets no model trained on).")]
_Seed = Annotated[str, typer.Option("--seed", help="Seed of the sample order.")]
_Device = Annotated[str | None, typer.Option("--device", help="cpu, cuda, cuda:1 … (default: GPU if any).")]
_Dtype = Annotated[str | None, typer.Option("--dtype", help="float32, bfloat16 … (default: the loader's).")]
_BatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="Most conversations per forward pass.")]
_BatchTokens = Annotated[
    int | None,
    typer.Option("--batch-tokens", min=16, help="Padded tokens per pass (default 4096 CPU / 32768 GPU)."),
]
_Format = Annotated[
    str | None, typer.Option("--format", help="Input format for all datasets (default: detect).")
]
_Split = Annotated[str, typer.Option("--split", help="Which split of a release folder: full or public.")]


@eval_app.command("nll")
def nll(
    model: _Models,
    data: _Data,
    out: _Out,
    name: _Names = None,
    samples: _Samples = None,
    max_length: _MaxLength = None,
    overflow: _Overflow = "truncate",
    holdout: _Holdout = 0.02,
    use_all: _UseAll = False,
    seed: _Seed = "wildchat-nll-v1",
    device: _Device = None,
    dtype: _Dtype = None,
    batch_size: _BatchSize = 16,
    batch_tokens: _BatchTokens = None,
    fmt: _Format = None,
    split: _Split = "full",
) -> None:
    """Per-token NLL of assistant tokens: a models x datasets matrix (JSON, CSV, heatmap).

    Scores held-out conversations of each dataset (filled from the rest, and
    recorded as such, when too few are held out); --all scores any.  A
    progress bar on stderr shows tokens/s and the time left.
    """
    from wildchat.evaluate.nll_run import NllSettings

    if overflow not in ("truncate", "skip"):
        _err(f"wildchat eval nll: --overflow must be 'truncate' or 'skip', not {overflow!r}")
        raise typer.Exit(2)
    settings = NllSettings(
        samples=samples,
        max_length=max_length,
        overflow="truncate" if overflow == "truncate" else "skip",
        holdout=holdout,
        use_all=use_all,
        seed=seed,
        device=device,
        dtype=dtype,
        batch_size=batch_size,
        batch_tokens=batch_tokens,
        fmt=fmt,
        split=split,
    )
    _run_nll(model, name or None, data, out, settings)


def _run_nll(
    models: list[str], names: list[str] | None, data: list[str], out: Path, settings: NllSettings
) -> None:
    """Score, print the matrix; exit 2 on bad models/inputs, 1 when no conversation could be scored."""
    from wildchat.evaluate.nll_run import run_nll
    from wildchat.train.models import ModelLoadError

    try:
        with nll_progress() as (say, progress):
            result = run_nll(models, names, data, out, settings, log=say, progress=progress)
    except (ModelLoadError, FileNotFoundError, ValueError) as exc:
        _err(f"wildchat eval nll: {exc}")
        raise typer.Exit(2) from exc
    print_nll(result)
    if all(c["mean_nll"] is None for c in result["cells"]):
        _err("wildchat eval nll: no conversation could be scored")
        raise typer.Exit(1)
    typer.echo(f"wrote {out / 'nll.json'}, {out / 'nll.csv'}, {out / 'nll_heatmap.png'}")


_AnswersFrom = Annotated[
    list[str],
    typer.Option("--answers-from", "-a", help="Answering model endpoint NAME=URL#MODEL (repeatable)."),
]
_Questions = Annotated[Path, typer.Option("--questions", "-q", help="MT-bench question.jsonl file.")]
_Limit = Annotated[int | None, typer.Option("--limit", min=1, help="Use only the first N questions.")]
_Judge = Annotated[str, typer.Option("--judge", "-j", help="Judge endpoint NAME=URL#MODEL.")]
_JudgeModel = Annotated[
    str | None, typer.Option("--judge-model", help="Override the judge endpoint's model.")
]
_Repetitions = Annotated[
    int, typer.Option("--repetitions", min=1, help="Judge calls per item (seed = repetition).")
]
_Pairwise = Annotated[bool, typer.Option("--pairwise", help="Also compare models pairwise (both orders).")]
_Single = Annotated[bool, typer.Option("--single/--no-single", help="Grade single answers 1-10.")]
_Baseline = Annotated[
    str | None, typer.Option("--baseline", help="Pairwise: compare every model to this one.")
]
_Temperature = Annotated[
    float, typer.Option("--temperature", min=0.0, help="Sampling temperature of answers.")
]
_MaxTokens = Annotated[int, typer.Option("--max-tokens", min=1, help="Answer length limit.")]
_JudgeTemperature = Annotated[float, typer.Option("--judge-temperature", min=0.0, help="Judge temperature.")]
_JudgeMaxTokens = Annotated[int, typer.Option("--judge-max-tokens", min=1, help="Judge output limit.")]
_ApiKeyEnv = Annotated[
    str,
    typer.Option("--api-key-env", help="Env var holding the API key (unset: a dummy key for local servers)."),
]
_Concurrency = Annotated[int, typer.Option("--concurrency", min=1, help="Parallel requests per endpoint.")]
_MaxRetries = Annotated[
    int, typer.Option("--max-retries", min=0, help="Retries on 429/5xx/connection errors.")
]
_Timeout = Annotated[float, typer.Option("--timeout", min=1.0, help="Seconds per request.")]


@eval_app.command("judge")
def judge(
    answers_from: _AnswersFrom,
    questions: _Questions,
    *,  # keyword-only: the options keep their documented order (--limit before --judge)
    limit: _Limit = None,
    judge_spec: _Judge,
    out: _Out,
    judge_model: _JudgeModel = None,
    repetitions: _Repetitions = 3,
    pairwise: _Pairwise = False,
    single: _Single = True,
    baseline: _Baseline = None,
    temperature: _Temperature = 0.7,
    max_tokens: _MaxTokens = 1024,
    judge_temperature: _JudgeTemperature = 0.0,
    judge_max_tokens: _JudgeMaxTokens = 512,
    api_key_env: _ApiKeyEnv = "OPENAI_API_KEY",
    concurrency: _Concurrency = 8,
    max_retries: _MaxRetries = 3,
    timeout: _Timeout = 120.0,
) -> None:
    """MT-bench-style judging: answers, 1-10 grades, pairwise win/tie/loss, with CIs.

    Writes OUT/answers/NAME.jsonl, OUT/judgment_config.json (judge and prompts
    pinned, with SHA-256), OUT/judgments.jsonl and OUT/summary.json.
    """
    from wildchat.evaluate.endpoints import ChatSettings
    from wildchat.evaluate.judge import JudgeSettings
    from wildchat.evaluate.judge_run import AnswerSettings, JudgeRun

    models, judge_ep = _endpoints(answers_from, judge_spec, judge_model)
    if not single and not pairwise:
        _err("wildchat eval judge: nothing to do (--no-single without --pairwise)")
        raise typer.Exit(2)
    run = JudgeRun(
        models=models,
        questions=questions,
        judge=judge_ep,
        out=out,
        answers=AnswerSettings(temperature=temperature, max_tokens=max_tokens, concurrency=concurrency),
        judging=JudgeSettings(
            repetitions=repetitions,
            temperature=judge_temperature,
            max_tokens=judge_max_tokens,
            concurrency=concurrency,
            single=single,
            pairwise=pairwise,
            baseline=baseline,
        ),
        chat=ChatSettings(api_key_env=api_key_env, max_retries=max_retries, timeout_s=timeout),
        limit=limit,
    )
    _run_judge(run)


def _endpoints(
    answers_from: list[str], judge_spec: str, judge_model: str | None
) -> tuple[list[Endpoint], Endpoint]:
    """The answering endpoints and the judge's (model: ``--judge-model`` if given); exit 2 on bad syntax."""
    from dataclasses import replace

    from wildchat.evaluate.endpoints import EndpointSyntaxError, parse_endpoint

    try:
        models = [parse_endpoint(s) for s in answers_from]
        judge_ep = parse_endpoint(judge_spec)
    except EndpointSyntaxError as exc:
        _err(f"wildchat eval judge: {exc}")
        raise typer.Exit(2) from exc
    return models, replace(judge_ep, model=judge_model) if judge_model else judge_ep


def _run_judge(run: JudgeRun) -> None:
    """Answer, judge, print the summary; exit 2 on bad questions/settings, 1 when no judgment is usable."""
    from wildchat.evaluate.judge_run import run_judge
    from wildchat.evaluate.questions import QuestionFileError

    try:
        summary = run_judge(run, progress=_err)
    except (QuestionFileError, ValueError) as exc:
        _err(f"wildchat eval judge: {exc}")
        raise typer.Exit(2) from exc
    print_judge(summary)
    u = summary["judgments"]
    if u["unusable"]:
        reasons = ", ".join(f"{k}: {v}" for k, v in u["unusable_by_reason"].items())
        _err(f"{u['unusable']} of {u['total']} judgments unusable ({reasons})")
    if u["usable"] == 0:
        _err("wildchat eval judge: no usable judgment")
        raise typer.Exit(1)
    typer.echo(f"wrote {run.out / 'summary.json'}")


@eval_app.command("serve-model")
def serve_model(
    model: list[str] = typer.Option(
        ..., "--model", "-m", help="Model folder, .gguf file or 'smollm2' (repeatable)."
    ),
    name: list[str] | None = typer.Option(
        None, "--name", help="Model id per --model, in order (default: stem)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8080, "--port", help="TCP port."),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda … (default: GPU if any)."),
    dtype: str | None = typer.Option(None, "--dtype", help="float32, bfloat16 … (default: the loader's)."),
    max_input_tokens: int = typer.Option(2048, "--max-input-tokens", min=16, help="Longest prompt accepted."),
) -> None:
    """Serve local models on an OpenAI-compatible /v1/chat/completions (for eval judge).

    One request at a time; non-streaming.  Endpoint for eval judge:
    NAME=http://HOST:PORT/v1#NAME.
    """
    import uvicorn

    from wildchat.evaluate.local_server import LoadedModel, create_app
    from wildchat.evaluate.nll_run import model_name
    from wildchat.train.models import ModelLoadError, load_model

    if name and len(name) != len(model):
        _err(f"wildchat eval serve-model: --name given {len(name)} time(s) for {len(model)} model(s)")
        raise typer.Exit(2)
    names = name or [model_name(m) for m in model]
    loaded: dict[str, LoadedModel] = {}
    try:
        for n, spec in zip(names, model, strict=True):
            mdl, tok = load_model(spec, device=device, dtype=dtype)
            loaded[n] = LoadedModel(mdl, tok)
            _err(f"loaded {spec} as {n!r}")
    except (ModelLoadError, ValueError) as exc:
        _err(f"wildchat eval serve-model: {exc}")
        raise typer.Exit(2) from exc
    _err(f"endpoints: {', '.join(f'{n}=http://{host}:{port}/v1#{n}' for n in names)}")
    uvicorn.run(
        create_app(loaded, max_input_tokens=max_input_tokens), host=host, port=port, log_level="warning"
    )
