"""The review report, and its "Measured detector quality" section in a release card.

Report layout (``wildchat review report``)::

    {"tasks": {"toxicity": {
        "detectors": {"<engine>": {"precision", "precision_ci": [lo, hi], "recall",
                                   "recall_ci": [lo, hi], "n_labelled", "confusion": {tp, fp, fn, tn},
                                   "confusion_weighted": {...}}},
        "agreement": {"cohen_kappa": k, ...},     # + "krippendorff_alpha" with > 2 annotators
        "strata": {...}, "n_items", "n_labelled", "warnings": [...], "method": {...}, "queue": {...}}},
     "generated_by": "wildchat review report"}

The report holds counts, estimates and queue settings only -- never a turn's
text -- so it can go into a public card.  :func:`add_to_card` rewrites only
the part of ``README.md`` between its own markers (re-running replaces it)
and the ``measured_detector_quality`` key of ``stats.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from wildchat import __version__
from wildchat.review.estimate import estimate_task
from wildchat.review.store import ReviewStore
from wildchat.review.tasks import QUESTIONS

__all__ = ["CARD_BEGIN", "CARD_END", "STATS_KEY", "add_to_card", "build_report", "render_section"]

CARD_BEGIN = "<!-- wildchat review: measured detector quality -->"
CARD_END = "<!-- /wildchat review -->"
STATS_KEY = "measured_detector_quality"


def build_report(store: ReviewStore) -> dict[str, Any]:
    """Estimates for every task in the queue, from the queue alone (the release is not read)."""
    tasks: dict[str, Any] = {}
    for task in store.tasks():
        info = store.queue_info(task)
        block = estimate_task(
            task, store.items(task, with_text=False), store.strata(task), store.labels(task)
        )
        block["question"] = QUESTIONS[task]
        block["queue"] = {
            "seed": info["seed"],
            "size": info["size"],
            "split": info["split"],
            "created_at": info["created_at"],
            "release_settings": info["meta"],
        }
        tasks[task] = block
    return {"tasks": tasks, "generated_by": "wildchat review report", "version": __version__}


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _ci(ci: list[float] | None) -> str:
    return "" if not ci else f" [{ci[0]:.3f}, {ci[1]:.3f}]"


def render_section(report: dict[str, Any]) -> str:
    """The Markdown section (between :data:`CARD_BEGIN` and :data:`CARD_END`)."""
    out = [CARD_BEGIN, "## Measured detector quality", ""]
    out.append(
        "Human labels on a stratified sample of this release (`wildchat review`); estimates are weighted "
        "to the whole release (Horvitz-Thompson) with 95% intervals "
        "(per-stratum Jeffreys posteriors, simulated)."
    )
    for task, block in report.get("tasks", {}).items():
        agr = block.get("agreement", {})
        names = agr.get("annotators", [])
        kappa = agr.get("cohen_kappa")
        line = f"{block.get('n_labelled', 0)} items with a truth from {len(names)} annotator(s)"
        line += f", Cohen's kappa {kappa:.2f}" if kappa is not None else ", no agreement figure"
        if agr.get("krippendorff_alpha") is not None:
            line += f", Krippendorff's alpha {agr['krippendorff_alpha']:.2f}"
        out += ["", f"### {task}", "", f"{block.get('question', '')} -- {line}.", ""]
        out += ["| detector | precision [95% CI] | recall [95% CI] | labelled |", "|---|---|---|---|"]
        for name, d in block.get("detectors", {}).items():
            p = _fmt(d.get("precision")) + _ci(d.get("precision_ci"))
            r = _fmt(d.get("recall")) + _ci(d.get("recall_ci"))
            if d.get("metric") == "accuracy":
                p, r = f"accuracy {p}", "(= accuracy)"
            out.append(f"| `{name}` | {p} | {r} | {d.get('n_labelled', 0)} |")
        notes = [f"- note: {w}" for w in block.get("warnings", [])]
        out += ["", *notes] if notes else []
    out += ["", CARD_END, ""]
    return "\n".join(out)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_to_card(release: Path, report: dict[str, Any]) -> None:
    """Put the section into ``RELEASE/README.md`` and the figures into ``RELEASE/stats.json``.

    Raises ``FileNotFoundError`` when the release has no card.  An existing
    section is replaced, everything else is kept byte for byte.
    """
    card = release / "README.md"
    if not card.is_file():
        raise FileNotFoundError(f"no dataset card at {card}")
    text = card.read_text(encoding="utf-8")
    section = render_section(report)
    start, end = text.find(CARD_BEGIN), text.find(CARD_END)
    if start != -1 and end > start:
        tail = text[end + len(CARD_END) :].lstrip("\n")
        text = text[:start] + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    _write_atomic(card, text)
    stats_path = release / "stats.json"
    stats = json.loads(stats_path.read_text(encoding="utf-8")) if stats_path.is_file() else {}
    stats[STATS_KEY] = {
        task: {
            "detectors": block["detectors"],
            "agreement": block["agreement"],
            "n_labelled": block["n_labelled"],
            "strata": block["strata"],
            "method": block["method"],
        }
        for task, block in report.get("tasks", {}).items()
    }
    _write_atomic(stats_path, json.dumps(stats, indent=2, sort_keys=False) + "\n")
