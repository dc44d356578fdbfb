"""``report.html``: one self-contained page a person would rather read than JSON.

Inline CSS, figures embedded as ``data:`` URIs, no script, no external
request.  Every string that comes from a dataset (names, labels, model and
language names, jailbreak families, file names) goes through
:func:`html.escape`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from wildchat.analyze.figures import FigureFile
from wildchat.analyze.tables import Cell, Table, fmt_count

__all__ = ["render_report"]

_CSS = """
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--accent:#4269d0;--bg:#f8fafc}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.55 system-ui,-apple-system,"Segoe UI",
Roboto,"Noto Sans","Helvetica Neue",Arial,sans-serif}
main{max-width:1060px;margin:0 auto;padding:32px 28px 64px}
header{padding-bottom:6px}
body{border-top:5px solid var(--accent)}
h1{font-size:28px;margin:0 0 4px}
h2{font-size:20px;margin:36px 0 10px;padding-top:8px;border-top:1px solid var(--line)}
h3{font-size:16px;margin:22px 0 6px}
.sub{color:var(--muted);margin:0}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0 0}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:10px 14px;min-width:150px;
border-top:4px solid var(--c,var(--accent))}
.card b{display:block;font-size:15px;word-break:break-all}
.card span{color:var(--muted);font-size:13px}
.tw{overflow-x:auto;background:#fff;border:1px solid var(--line);border-radius:10px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:7px 12px;text-align:right;white-space:nowrap;border-bottom:1px solid var(--line)}
th{background:#f1f5f9;font-weight:600}
th:first-child,td:first-child{text-align:left}
th.t,td.t{text-align:left}
td.t{white-space:normal}
tr:last-child td{border-bottom:0}
caption,.cap{caption-side:bottom;text-align:left;color:var(--muted);font-size:13px;padding:8px 2px 0}
figure{margin:18px 0;background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px}
figure img{max-width:min(100%,860px);height:auto;display:block;margin:0 auto}
figcaption{color:var(--muted);font-size:13px;margin-top:8px}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px;vertical-align:0}
.miss{color:#b45309}
.ok{color:#15803d}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;font-size:14px}
dt{font-weight:600}dd{margin:0}
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef2f7;padding:1px 4px;
border-radius:4px}
.toc{display:flex;gap:18px;margin:18px 0 0;font-size:14px}
.toc a{color:var(--accent);text-decoration:none;border-bottom:1px solid transparent}
.toc a:hover{border-bottom-color:var(--accent)}
.note{background:#fff7ed;border:1px solid #fed7aa;border-radius:8px;padding:8px 12px;font-size:14px}
"""


def _numeric(cell: Cell) -> bool:
    text = str(cell).strip()
    return (
        text in ("", "—")
        or text.replace(",", "").replace("%", "").replace("±", "").replace(".", "").isdigit()
    )


def _table(t: Table, first_col_colors: Mapping[str, str] | None = None) -> str:
    """One table; text columns left-aligned, number columns right-aligned."""
    left = [i == 0 or not all(_numeric(r[i]) for r in t.rows) for i in range(len(t.header))]
    cls = ['class="t"' if lf else "" for lf in left]
    head = "".join(f"<th {c}>{escape(h)}</th>" for c, h in zip(cls, t.header, strict=True))
    body = []
    for row in t.rows:
        cells = []
        for i, c in enumerate(row):
            text = escape("" if c is None else str(c))
            if i == 0 and first_col_colors and str(c) in first_col_colors:
                text = f'<span class="dot" style="background:{first_col_colors[str(c)]}"></span>{text}'
            cells.append(f"<td {cls[i]}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<h3>{escape(t.title)}</h3><div class="tw"><table><thead><tr>{head}</tr></thead>'
        f'<tbody>{"".join(body)}</tbody></table></div><p class="cap">{escape(t.caption)}</p>'
    )


def _figure(f: FigureFile) -> str:
    data = base64.b64encode(f.png.read_bytes()).decode("ascii")
    return (
        f'<figure><h3>{escape(f.title)}</h3><img alt="{escape(f.title)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(f.caption)} Files: <code>figures/{escape(f.png.name)}</code>, "
        f"<code>figures/{escape(f.svg.name)}</code>.</figcaption></figure>"
    )


def _missing(stats: Mapping[str, Mapping[str, Any]]) -> str:
    rows = []
    for name, s in stats.items():
        miss = list(s.get("missing") or [])
        detected = (s.get("language_source") or {}).get("detected", 0)
        if "language" in miss and detected:
            miss[miss.index("language")] = f"language (detected for {detected:,} conversations)"
        text = (
            f'<span class="miss">{escape(", ".join(miss))}</span>'
            if miss
            else '<span class="ok">nothing missing</span>'
        )
        skipped = (s.get("source") or {}).get("skipped") or {}
        n_skip = skipped.get("skipped", 0)
        reasons = ", ".join(
            f"{escape(str(k))}: {v}" for k, v in (skipped.get("skipped_by_reason") or {}).items()
        )
        skip_text = f"{fmt_count(n_skip)}" + (f" ({reasons})" if reasons else "")
        rows.append(
            f"<tr><td>{escape(name)}</td><td class='t'>{text}</td><td class='t'>{skip_text}</td></tr>"
        )
    return (
        '<div class="tw"><table><thead><tr><th>Dataset</th>'
        '<th class="t">Fields not present (statistics shown as —)</th>'
        '<th class="t">Records skipped by the reader</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table></div>"
    )


def _provenance(prov: Mapping[str, Any]) -> str:
    items = [
        ("Created", escape(str(prov.get("created", "")))),
        ("wildchat", escape(str(prov.get("wildchat_version", "")))),
        ("Tokenizer", f"<code>{escape(str(prov.get('tokenizer', '')))}</code>"),
        ("Seed", escape(str(prov.get("seed", "")))),
        (
            "Entropy sample",
            f"{escape(str(prov.get('entropy_sample_size', '')))} user prompts per dataset "
            f"(requested {escape(str(prov.get('sample', '')))})",
        ),
        ("Embedding sample", escape(str(prov.get("embedding", "")))),
        ("Language labels", escape(str(prov.get("language_detection", "")))),
        ("Run time", f"{prov.get('seconds', 0):.1f} s"),
    ]
    inputs = "".join(
        f"<li><b>{escape(i['name'])}</b>: <code>{escape(i['path'])}</code> ({fmt_count(i.get('bytes'))} bytes"
        f"{', format ' + escape(str(i['format'])) if i.get('format') else ''})</li>"
        for i in prov.get("inputs", [])
    )
    errors = "".join(
        f"<li><code>{escape(e['path'])}</code>: {escape(e['reason'])}</li>" for e in prov.get("errors", [])
    )
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)
    out = f"<dl>{dl}</dl><h3>Inputs</h3><ul>{inputs}</ul>"
    if errors:
        out += f'<h3>Unreadable inputs</h3><ul class="miss">{errors}</ul>'
    return out


def render_report(
    stats: Mapping[str, Mapping[str, Any]],
    tables: Sequence[Table],
    figures: Sequence[FigureFile],
    provenance: Mapping[str, Any],
    colors: Mapping[str, str],
    notes: Sequence[str] = (),
) -> str:
    """The whole page as one string (see module docstring for guarantees)."""
    cards = "".join(
        f'<div class="card" style="--c:{colors.get(n, "#4269d0")}"><b>{escape(n)}</b>'
        f"<span>{fmt_count(s['n_conversations'])} conversations · "
        f"{fmt_count(s['n_turns'])} exchanges</span></div>"
        for n, s in stats.items()
    )
    tok, seed = escape(str(provenance.get("tokenizer", ""))), escape(str(provenance.get("seed")))
    note_html = "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
    body = [
        f"<header><h1>Chat dataset analysis</h1><p class='sub'>{len(stats)} dataset(s) · tokenizer "
        f"<code>{tok}</code> · seed {seed}"
        f" · {escape(str(provenance.get('created', '')))}</p><div class='cards'>{cards}</div></header>",
        "<nav class='toc'><a href='#tables'>Tables</a><a href='#figures'>Figures</a>"
        "<a href='#missing'>What is missing</a><a href='#provenance'>Provenance</a></nav>",
        note_html,
        "<h2 id='tables'>Tables</h2>",
        *(_table(t, colors) for t in tables),
        "<h2 id='figures'>Figures</h2>",
        *(_figure(f) for f in figures),
        "<h2 id='missing'>What is missing</h2>",
        _missing(stats),
        "<h2 id='provenance'>Provenance</h2>",
        _provenance(provenance),
        "<p class='cap'>Full definitions of every statistic: docs/analysis.md. Machine-readable values: "
        "stats.json (per dataset), tables/*.csv, provenance.json.</p>",
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'\">"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        "<title>wildchat analysis report</title>"
        f"<style>{_CSS}</style></head><body><main>{''.join(body)}</main></body></html>"
    )
