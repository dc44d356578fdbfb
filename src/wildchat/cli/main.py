"""Entry point of the ``wildchat`` command.

Commands are registered here and implemented in their own modules, which
import their heavy dependencies inside the command body so that
``wildchat --help`` stays fast and works with only the core installed.
"""

from __future__ import annotations

import typer

from wildchat import __version__
from wildchat.cli import analyze, convert, curate, evaluate, explore, serve, train
from wildchat.cli import takedown as takedown_cli
from wildchat.cli.audit import audit
from wildchat.cli.jailbreaks import jailbreaks_app
from wildchat.cli.pii import pii_app
from wildchat.cli.review import review_app

app = typer.Typer(
    name="wildchat",
    help="Collect, curate, analyse and publish real-world chatbot conversations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wildchat {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """wildchat: your own WildChat, from consent form to published dataset."""


app.command("serve")(serve.serve)
app.command("export-logs")(serve.export_logs)
app.command("curate")(curate.curate)
app.command("analyze")(analyze.analyze)
app.command("convert")(convert.convert)
app.command("export-sft")(train.export_sft)
app.command("train")(train.train)
app.add_typer(evaluate.eval_app, name="eval")
app.add_typer(jailbreaks_app, name="jailbreaks")
app.command("explore")(explore.explore)
app.add_typer(takedown_cli.takedown_app, name="takedown")
app.command("purge")(takedown_cli.purge)
app.command("audit")(audit)
app.add_typer(review_app, name="review")
app.add_typer(pii_app, name="pii")


def main() -> None:
    app()
