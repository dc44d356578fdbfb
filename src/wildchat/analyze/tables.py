"""The report's tables as rows (pure) and as CSV files.

:func:`build_tables` turns per-dataset statistics into named tables -- a
header row plus one row per dataset (or per dataset x item) -- that both
the CSV files and the HTML report render, so the two cannot disagree.  The
first table is the paper's comparison table (WildChat, Table 2 layout).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Table", "build_tables", "fmt_count", "fmt_mean_std", "fmt_share", "write_tables"]

Stats = Mapping[str, Mapping[str, Any]]
Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    """A named table: ``header`` and ``rows`` of printable cells."""

    name: str
    title: str
    caption: str
    header: list[str]
    rows: list[list[Cell]]


def fmt_count(v: Any) -> str:
    """``1234567`` -> ``1,234,567``; missing -> ``—``."""
    return "—" if v is None else f"{int(v):,}"


def fmt_mean_std(mean: Any, std: Any) -> str:
    """The paper's ``mean±std`` with two decimals; missing -> ``—``."""
    if mean is None:
        return "—"
    return f"{mean:,.2f}±{std:,.2f}" if std is not None else f"{mean:,.2f}"


def fmt_share(v: Any, digits: int = 1) -> str:
    """``0.1234`` -> ``12.3%``; missing -> ``—``."""
    return "—" if v is None else f"{100 * v:.{digits}f}%"


def _sampled_note(stats: Stats) -> str:
    """Caption note naming the datasets whose token statistics are sampled."""
    parts = []
    for name, s in stats.items():
        for role, meta in (s.get("token_stats") or {}).items():
            if not meta["exact"]:
                parts.append(f"{name} {role}: {meta['tokenized_sample']:,} of {meta['messages']:,}")
    if not parts:
        return ""
    return (
        " Token statistics estimated on a uniform random sample of messages ("
        + "; ".join(parts)
        + "); standard errors in stats.json."
    )


def _comparison(stats: Stats) -> Table:
    rows: list[list[Cell]] = []
    for name, s in stats.items():
        rows.append(
            [
                name,
                fmt_count(s["n_conversations"]),
                fmt_count(s["n_users"]),
                "—" if s["mean_turns"] is None else f"{s['mean_turns']:.2f}",
                fmt_mean_std(s["user_tokens_mean"], s["user_tokens_std"]),
                fmt_mean_std(s["assistant_tokens_mean"], s["assistant_tokens_std"]),
                fmt_count(s["n_languages"]),
            ]
        )
    return Table(
        "comparison",
        "Comparison with other datasets",
        "#Convs: conversations. #Users: distinct hashed IPs. #Turns: mean user→assistant exchanges per "
        "conversation. #User Tok / #Chatbot Tok: mean±std tokens per user / assistant message. #Langs: "
        "distinct language labels. — = the dataset does not carry the field." + _sampled_note(stats),
        ["Dataset", "#Convs", "#Users", "#Turns", "#User Tok", "#Chatbot Tok", "#Langs"],
        rows,
    )


def _more(stats: Stats) -> Table:
    rows: list[list[Cell]] = []
    for name, s in stats.items():
        models = s.get("model_shares") or {}
        top_model = next(iter(models), None)
        rows.append(
            [
                name,
                fmt_count(s["n_turns"]),
                fmt_share(s["multi_turn_share"]),
                "—" if s.get("unigram_entropy") is None else f"{s['unigram_entropy']:.2f}",
                "—" if top_model is None else f"{top_model} ({fmt_share(models[top_model])})",
                fmt_share(s.get("jailbreak_share"), 2),
            ]
        )
    return Table(
        "summary",
        "Depth, diversity and models",
        "#Exchanges: user→assistant exchanges summed. Multi-turn: share of conversations with more than "
        "one exchange. Entropy: unigram entropy (bits) of user prompts on an equal-size random sample. "
        "Top model: most frequent model and its share of conversations. Jailbreak: share of user turns "
        "matching a jailbreak prompt.",
        ["Dataset", "#Exchanges", "Multi-turn", "Entropy (bits)", "Top model", "Jailbreak turns"],
        rows,
    )


def _languages(stats: Stats, top: int = 8) -> Table | None:
    have = {n: s["language_shares"] for n, s in stats.items() if s.get("language_shares")}
    if not have:
        return None
    totals: dict[str, float] = {}
    for sh in have.values():
        for lang, v in sh.items():
            totals[lang] = totals.get(lang, 0.0) + v
    langs = sorted(totals, key=lambda k: (-totals[k], k))[:top]
    rows: list[list[Cell]] = []
    for name, s in stats.items():
        sh = s.get("language_shares")
        if not sh:
            rows.append([name, *(["—"] * (len(langs) + 1))])
            continue
        rows.append(
            [
                name,
                *(fmt_share(sh.get(lang, 0.0)) for lang in langs),
                fmt_share(max(0.0, 1.0 - sum(sh.get(lang, 0.0) for lang in langs))),
            ]
        )
    return Table(
        "language_shares",
        "Language shares",
        "Share of conversations per language label (the most frequent labels over all datasets).",
        ["Dataset", *langs, "Other"],
        rows,
    )


def _toxicity(stats: Stats) -> Table | None:
    dets = ("openai_moderation", "detoxify", "union")
    if not any(s.get("toxic_user_share") or s.get("toxic_assistant_share") for s in stats.values()):
        return None
    rows: list[list[Cell]] = []
    for name, s in stats.items():
        for role in ("user", "assistant"):
            sh = s.get(f"toxic_{role}_share") or {}
            rows.append([name, role, *(fmt_share(sh.get(d)) for d in dets)])
    return Table(
        "toxicity",
        "Toxicity",
        "Share of user / assistant turns flagged, among turns the detector scored: Moderation = OpenAI "
        "Moderation flagged; Detoxify = toxicity score > 0.1; Either = the turn's toxic label (union).",
        ["Dataset", "Turns", "Moderation", "Detoxify", "Either"],
        rows,
    )


def _jailbreaks(stats: Stats) -> Table | None:
    rows: list[list[Cell]] = []
    for name, s in stats.items():
        for r in s.get("jailbreak_table") or []:
            rows.append(
                [
                    name,
                    r["family"],
                    fmt_count(r["occurrences"]),
                    fmt_count(r["users"]),
                    fmt_share(r["success_rate"]),
                ]
            )
    if not rows and not any(s.get("jailbreak_table") is not None for s in stats.values()):
        return None
    return Table(
        "jailbreaks",
        "Jailbreak prompts",
        "Per jailbreak family (turn jailbreak_match): user turns matching it, distinct users sending them, "
        "and success = share of those turns whose next assistant reply is toxic (among replies scored).",
        ["Dataset", "Family", "Occurrences", "#Users", "Success"],
        rows,
    )


def build_tables(stats: Stats) -> list[Table]:
    """Every table that has data, comparison table first."""
    tables = [_comparison(stats), _more(stats), _languages(stats), _toxicity(stats), _jailbreaks(stats)]
    return [t for t in tables if t is not None]


def write_tables(tables: list[Table], out_dir: Path) -> list[Path]:
    """Write ``<name>.csv`` per table (UTF-8, header row first)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for t in tables:
        path = out_dir / f"{t.name}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(t.header)
            writer.writerows(["" if c is None else c for c in row] for row in t.rows)
        paths.append(path)
    return paths
