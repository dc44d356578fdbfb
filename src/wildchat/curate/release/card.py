"""The dataset card (``OUT/README.md``), built only from counts and config.

No timings or wall-clock values go in (those live in ``stats.json``), so the
card of a re-run is identical too.  Stages are never named here: each stage
class says which counters the card shows, what ran and where it redacted
(:class:`~wildchat.curate.stages.base.Stage` self-description).  The YAML header declares the ``full`` and
``public`` configurations for the Hugging Face Hub.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from wildchat.curate.link.keys import ReleaseKey
from wildchat.curate.release.publish import provider
from wildchat.curate.stages import available_stages
from wildchat.curate.stages.base import PII, Stage
from wildchat.schema import release_schema

__all__ = ["render_card", "write_card"]

_HEADER = """---
configs:
- config_name: full
  data_files: full/*.parquet
  default: true
- config_name: public
  data_files: public/*.parquet
---
"""


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_list(t):
        return f"list<{_type_name(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct{" + ", ".join(f.name for f in t) + "}"
    return str(t)


def _counts(d: dict[str, int], top: int = 20) -> list[str]:
    items = list(d.items())[:top]
    lines = [f"| {k} | {v:,} |" for k, v in items]
    if len(d) > top:
        lines.append(f"| ({len(d) - top} more) | |")
    return ["| value | conversations |", "|---|---|", *lines] if lines else ["(none)"]


def _notice_lines(stats: dict[str, Any]) -> tuple[str, list[str]]:
    """The header (with a YAML comment) and the first body lines of an unprotected release."""
    notice = stats.get("notice")
    if not notice:
        return _HEADER, []
    header = _HEADER.replace("---\n", f"---\n# WARNING: {notice}\n", 1)
    return header, [f"> **WARNING: {notice}**", ""]


def _summary(stats: dict[str, Any]) -> list[str]:
    """Title, the headline counts and the warnings."""
    rel, link, ingest = stats["release"], stats["link"], stats["ingest"]
    lo, hi = rel["date_range"]
    out = [
        "# Conversation dataset (curated with `wildchat curate`)",
        "",
        f"- **full**: {rel['full']:,} conversations; **public**: {rel['public']:,} "
        f"(rule `{rel['public_rule']}`: "
        + ("`toxic == false`" if rel["public_rule"] == "strict" else "`toxic` is not true")
        + ")",
        f"- raw logs read: {ingest['read']:,}; skipped as bad input: {ingest['skipped']:,}; "
        f"linked into {link['conversations_out']:,} conversations ({link['exchanges_out']:,} exchanges)",
        f"- date range (last turn): {lo or 'n/a'} to {hi or 'n/a'}",
        "",
    ]
    if stats["warnings"]:
        out += ["## Warnings", "", *[f"- **{w}**" for w in stats["warnings"]], ""]
    return [
        *out,
        "## Languages",
        "",
        *_counts(rel["languages"]),
        "",
        "## Models",
        "",
        *_counts(rel["models"]),
        "",
    ]


def _privacy(stats: dict[str, Any], key: ReleaseKey) -> list[str]:
    """How IPs, ids, headers and PII were protected."""
    desc = key.describe()
    return [
        "## Privacy",
        "",
        "- `hashed_ip` is HMAC-SHA256 of the client IP under a key made for this release "
        f"(the key was {desc['description']}"
        + (f", file `{desc['file']}`" if desc["file"] else "")
        + "); IPs that arrived already hashed were re-keyed the same way. Raw IPs are not in this dataset.",
        "- `conversation_id` and `turn_identifier` are keyed too (BLAKE2b under a key derived from the "
        "release key): they are stable within this release and share nothing with releases made under "
        "other keys, and without the key they cannot be recomputed from an IP or from the text before "
        "redaction.",
        "- `header` holds only `user-agent` and `accept-language`; `country`/`state` come from GeoLite2.",
        "- PII: " + _pii_line(stats),
        "- This card and `stats.json` hold counts only; hold-out and dev-account lists are not published.",
        "",
    ]


def _pii_line(stats: dict[str, Any]) -> str:
    """Where the redaction stages redacted, each in its own words (:meth:`Stage.card_redaction`)."""
    if not stats.get("pii_redacted", True):
        return f"**NOT redacted** -- the `{provider(PII)}` stage did not run."
    parts = [
        f"redacted by the `{st['name']}` stage {cls.card_redaction(st['config'])}"
        for st, cls in _stage_classes(stats)
        if cls.protects == PII
    ]
    return "; ".join(parts) + "."


def _method(stats: dict[str, Any]) -> list[str]:
    """How the conversations were made: link rules and the per-stage table."""
    link, ingest = stats["link"], stats["ingest"]
    out = [
        "## How it was made",
        "",
        "Raw logs were linked into conversations by content-addressed turns within a session "
        "(conversation id, or hashed IP + header fingerprint + model); logs that are prefixes of longer "
        "logs of the same session, repeated logs and failed replies that were retried were merged away. "
        "Those content addresses stay internal; the published ids are keyed (see Privacy).",
        "",
        f"Link options: `{json.dumps(link['options'], sort_keys=True)}`; dropped: "
        f"`{json.dumps(link['dropped'], sort_keys=True)}`; missing links filled: {link['missing_links']}.",
        "",
        "| stage | in | out | dropped | config |",
        "|---|---|---|---|---|",
    ]
    for st in stats["stages"]:
        out.append(
            f"| {st['name']} | {st['rows_in']:,} | {st['rows_out']:,} | "
            f"{json.dumps(st['dropped'], sort_keys=True)} | `{json.dumps(st['config'], sort_keys=True)}` |"
        )
    return [
        *out,
        *_enrichment(stats),
        "",
        "Bad input skipped by reason: " + f"`{json.dumps(ingest['skipped_by_reason'], sort_keys=True)}`",
        "",
    ]


def _schema() -> list[str]:
    out = [
        "## Schema",
        "",
        "WildChat-1M schema plus `conversation_id` and turn-level `jailbreak`, `jailbreak_match`.",
        "",
        "| field | type |",
        "|---|---|",
    ]
    for f in release_schema():
        out.append(f"| `{f.name}` | `{_type_name(f.type)}` |")
        if pa.types.is_list(f.type) and pa.types.is_struct(f.type.value_type) and f.name == "conversation":
            out += [f"| `conversation[].{c.name}` | `{_type_name(c.type)}` |" for c in f.type.value_type]
    return out


def render_card(stats: dict[str, Any], key: ReleaseKey) -> str:
    """The card's text: counts and config only (see the module docstring)."""
    header, notice = _notice_lines(stats)
    out = [header, *notice, *_summary(stats), *_privacy(stats, key), *_method(stats), *_schema()]
    return "\n".join(out) + "\n"


def _stage_classes(stats: dict[str, Any]) -> list[tuple[dict[str, Any], type[Stage]]]:
    """Each published stage with its class (stages no longer registered are left out)."""
    known = available_stages()
    return [(st, known[st["name"]]) for st in stats["stages"] if st["name"] in known]


def _enrichment(stats: dict[str, Any]) -> list[str]:
    """What ran and the counters each stage asks for (``card_counters``), one line per stage."""
    lines = []
    for st, cls in _stage_classes(stats):
        keys = cls.card_counters
        if not keys:
            continue
        counters = st.get("counters", {})
        shown = {
            k: v
            for k, v in counters.items()
            if any(k == x or (x.endswith(":") and k.startswith(x)) for x in keys)
        }
        text = ", ".join(f"{k} {v:,}" for k, v in shown.items()) or "no counts"
        lines.append(f"- **{st['name']}**: {cls.card_engines(st['config'])}; {text}")
    return ["", "### Enrichment: engines that ran", "", *lines] if lines else []


def write_card(path: Path, stats: dict[str, Any], key: ReleaseKey) -> None:
    path.write_text(render_card(stats, key), encoding="utf-8")
