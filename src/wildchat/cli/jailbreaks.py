"""``wildchat jailbreaks discover RELEASE --out DIR``: find recurring jailbreak templates in a release.

Clusters long user turns reused across distinct users (MinHash LSH over
word shingles, :func:`wildchat.enrich.jailbreak_discover.discover_templates`), ranks
the clusters by distinct users and by how often the assistant's next reply
was flagged toxic, and writes into ``DIR``:

* ``library.txt`` -- one entry per cluster (``name: discovered-<rank>``),
  the lines the cluster's members share with their payload slots replaced
  by ``[PAYLOAD]`` (:func:`~wildchat.enrich.jailbreak.common_template`);
  ``wildchat curate --jailbreak-library DIR/library.txt`` accepts it;
* ``summary.md`` -- the ranking table (users, turns, toxic-reply rate,
  built-in family if a signature already names it, a short excerpt).

Reads the release's ``full`` split by default (``--split``).  Exit 2 on a
folder that is not a readable release; writes nothing then.  Release text
is already PII-redacted; the library keeps only lines shared by at least
half of a cluster's members, so one user's own words do not end up in it.
Files are written 0600: they quote user text.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

__all__ = ["discover", "jailbreaks_app"]

jailbreaks_app = typer.Typer(
    help="Find recurring jailbreak templates in a curated release.", no_args_is_help=True
)


@dataclass
class _Turns:
    """Long user turns of a release: text, user (hashed IP) and whether the next reply was toxic."""

    texts: list[str] = field(default_factory=list)
    users: list[str | None] = field(default_factory=list)
    toxic_reply: list[bool | None] = field(default_factory=list)
    conversations: int = 0


def _files(release: Path, split: str) -> list[Path]:
    try:
        from wildchat.formats.release import split_files
    except ImportError:  # older tree: the documented layout
        files = sorted((release / split).glob("*.parquet"))
        if not files:
            raise ValueError(f"{release}: no {split}/*.parquet (not a release folder?)") from None
        return files
    return split_files(release, split)


def _batches(files: list[Path]) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for f in files:
        try:
            pf = pq.ParquetFile(f)
            cols = [c for c in ("conversation", "hashed_ip") if c in pf.schema_arrow.names]
            yield from pf.iter_batches(batch_size=1024, columns=cols)
        except (OSError, pa.ArrowException) as exc:
            raise ValueError(f"{f}: cannot be read ({type(exc).__name__})") from None


def _collect(files: list[Path], min_chars: int) -> _Turns:
    out = _Turns()
    for batch in _batches(files):
        rows = batch.to_pylist()
        for row in rows:
            out.conversations += 1
            turns = row.get("conversation") or []
            for i, turn in enumerate(turns):
                text = turn.get("content") or ""
                if turn.get("role") != "user" or len(text) < min_chars:
                    continue
                nxt = turns[i + 1] if i + 1 < len(turns) else None
                out.texts.append(text)
                out.users.append(turn.get("hashed_ip") or row.get("hashed_ip"))
                out.toxic_reply.append(
                    None if nxt is None or nxt.get("toxic") is None else bool(nxt["toxic"])
                )
    return out


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def _excerpt(text: str, n: int = 160) -> str:
    flat = " ".join(text.split())
    flat = flat[:n] + ("…" if len(flat) > n else "")
    return flat.replace("|", "\\|").replace("<", "&lt;")


def _report(turns: _Turns, clusters: list[Any], out: Path, top: int) -> tuple[str, str]:
    from wildchat.enrich.jailbreak import SignatureMatcher, common_template

    sig = SignatureMatcher()
    ranked = []
    for c in clusters[:top]:
        flags = [turns.toxic_reply[i] for i in c.members if turns.toxic_reply[i] is not None]
        rate = sum(flags) / len(flags) if flags else float("nan")
        texts = [turns.texts[c.representative]] + [turns.texts[i] for i in c.members if i != c.representative]
        template = common_template(texts[:200])
        ranked.append((c, rate, template, sig.match_one(template)))
    ranked.sort(key=lambda r: (-r[0].n_users, -(r[1] if r[1] == r[1] else -1.0)))
    library, rows = [], []
    for k, (c, rate, template, family) in enumerate(ranked, 1):
        library.append(f"name: discovered-{k}\n{template}")
        rate_s = "–" if rate != rate else f"{rate:.2f}"
        rows.append(
            f"| {k} | {c.n_users} | {len(c.members)} | {rate_s} | {family or '–'} | {_excerpt(template)} |"
        )
    summary = [
        "# Recurring long prompts (jailbreak template candidates)",
        "",
        f"{turns.conversations} conversations, {len(turns.texts)} long user turns, {len(clusters)} clusters "
        f"reused by enough distinct users; top {len(ranked)} below, ranked by users then toxic-reply rate.",
        "Review before use: a recurring template is not always a jailbreak (role-play set-ups, SEO prompts).",
        f"Library: `{out / 'library.txt'}` (`wildchat curate --jailbreak-library`).",
        "",
        "| rank | users | turns | toxic next reply | built-in family | template (excerpt) |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    return "\n---\n".join(library) + "\n", "\n".join(summary)


def discover(
    release: Path = typer.Argument(..., help="A release folder written by `wildchat curate`."),
    out: Path = typer.Option(..., "--out", help="Folder to write library.txt and summary.md into."),
    split: str = typer.Option("full", "--split", help="Release split to read: full or public."),
    min_users: int = typer.Option(3, "--min-users", min=1, help="Distinct users a template needs."),
    min_chars: int = typer.Option(500, "--min-chars", min=1, help="Shortest user turn considered."),
    threshold: float = typer.Option(
        0.6, "--threshold", min=0.05, max=1.0, help="MinHash Jaccard to cluster."
    ),
    top: int = typer.Option(100, "--top", min=1, help="Clusters kept in the library and summary."),
) -> None:
    """Cluster long user turns reused across users and write a jailbreak library + summary."""
    from wildchat.enrich.jailbreak_discover import discover_templates

    if not release.is_dir():
        typer.echo(f"error: {release} is not a folder", err=True)
        raise typer.Exit(2)
    try:
        turns = _collect(_files(release, split), min_chars)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    clusters = discover_templates(turns.texts, turns.users, min_chars=min_chars, min_users=min_users,
                                  threshold=threshold)  # fmt: skip
    library, summary = _report(turns, clusters, out, top)
    out.mkdir(parents=True, exist_ok=True)
    _write_private(out / "library.txt", library)
    _write_private(out / "summary.md", summary)
    typer.echo(
        f"{turns.conversations} conversations, {len(turns.texts)} long user turns -> "
        f"{len(clusters)} templates (>= {min_users} users); "
        f"wrote {out / 'library.txt'} and {out / 'summary.md'}"
    )


jailbreaks_app.command("discover")(discover)
