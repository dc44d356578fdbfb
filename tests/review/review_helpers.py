"""A synthetic release with known truth, and helpers shared by the review tests.

``make_release`` writes ``release/full`` + ``release/public`` Parquet in the
real release schema (``wildchat.schema``), a ``stats.json`` and a
``README.md``, and returns the ground truth of every turn of the toxicity
population, so the tests can compute the *whole-release* precision and recall
the sample must recover.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tests.builders.conversations import T0, raw_log
from tests.builders.releases import write_release
from wildchat.schema import Conversation, DetoxifyScores, Moderation, Turn

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> & <b>bold</b>'


@dataclass
class Truth:
    """Ground truth per (conversation_id, turn) and the detector outputs written."""

    toxic: dict[tuple[str, int], bool] = field(default_factory=dict)
    flags: dict[str, dict[tuple[str, int], bool]] = field(default_factory=dict)

    def precision_recall(self, detector: str) -> tuple[float, float]:
        pred = self.flags[detector]
        tp = sum(1 for k, p in pred.items() if p and self.toxic[k])
        fp = sum(1 for k, p in pred.items() if p and not self.toxic[k])
        fn = sum(1 for k, p in pred.items() if not p and self.toxic[k])
        return tp / (tp + fp), tp / (tp + fn)


def flip(annotator: str, key: Any, rate: float) -> bool:
    """Deterministic 'annotator error' coin for ``key``."""
    h = hashlib.blake2b(f"{annotator}|{key}".encode(), digest_size=4).digest()
    return int.from_bytes(h, "big") / 2**32 < rate


def make_release(
    out: Path,
    n: int = 3000,
    *,
    seed: int = 7,
    prevalence: float = 0.15,
    hit: float = 0.5,
    false_alarm: float = 0.03,
    engines: bool = True,
) -> Truth:
    """``n`` two-turn conversations; user turns toxic with ``prevalence``; ``toxic`` catches ``hit``.

    With ``engines`` a third of the conversations also carry OpenAI and
    Detoxify scores (so ``engines_disagree``/``near_threshold`` are populated).
    """
    rng = random.Random(seed)
    truth = Truth(flags={"toxic": {}})
    convs = []
    for i in range(n):
        cid = f"conv-{i:05d}"
        is_toxic = rng.random() < prevalence
        flagged = rng.random() < (hit if is_toxic else false_alarm)
        text = f"synthetic prompt {i} " + ("you are a worthless idiot" if is_toxic else "how do I bake bread")
        if i % 97 == 0:
            text += " " + HOSTILE
        turns = [
            Turn(
                content=text,
                role="user",
                language="English",
                toxic=flagged,
                redacted=False,
                turn_identifier=i,
                jailbreak=False,
            ),
            Turn(
                content=f"reply {i}",
                role="assistant",
                language="English",
                toxic=False,
                redacted=False,
                turn_identifier=i,
                jailbreak=False,
            ),
        ]
        truth.toxic[(cid, 0)] = is_toxic
        truth.toxic[(cid, 1)] = False
        truth.flags["toxic"][(cid, 0)] = flagged
        truth.flags["toxic"][(cid, 1)] = False
        mods = detox = None
        if engines and i % 3 == 0:
            o_flag = rng.random() < (0.6 if is_toxic else 0.05)
            score = rng.uniform(0.5, 1.0) if o_flag else rng.uniform(0.0, 0.6)
            mods = [
                Moderation(flagged=o_flag, category_scores={"harassment": score}),
                Moderation(flagged=False),
            ]
            tox = rng.uniform(0.05, 0.9) if is_toxic else rng.uniform(0.0, 0.15)
            detox = [DetoxifyScores(toxicity=tox), DetoxifyScores(toxicity=0.001)]
        conv = Conversation(
            conversation_hash=f"{i:032x}",
            model="m",
            timestamp=None,
            conversation=turns,
            turn=1,
            language="English",
            openai_moderation=mods,
            detoxify_moderation=detox,
            toxic=flagged,
            redacted=False,
            conversation_id=cid,
        )
        convs.append(conv)
    stats = {
        "stages": [
            {
                "name": "moderation",
                "config": {"detoxify_threshold": 0.1, "engines_deciding_toxic": ["offline"]},
            }
        ]
    }
    public = [c for c in convs if not c.toxic]
    write_release(out, convs, public, stats=stats, card="# Conversation dataset\n\nSome card text.\n")
    return truth


def label_all(client: Any, task: str, annotators: Iterable[str], answer: Any) -> dict[str, int]:
    """Label every item of ``task`` through the API; ``answer(annotator, item) -> True/False/"skip"``."""
    counts: dict[str, int] = {}
    for a in annotators:
        n = 0
        while True:
            resp = client.get("/api/review/next", params={"annotator": a, "task": task})
            if resp.status_code == 204:
                break
            assert resp.status_code == 200, resp.text
            item = resp.json()
            body = {"item_id": item["item_id"], "annotator": a, "task": task, "label": answer(a, item)}
            assert client.post("/api/review/label", json=body).status_code == 200
            n += 1
        counts[a] = n
    return counts


def run_contract(
    release: Path, tmp: Path, truth_of: Any, *, size: int = 400, seed: int = 3, flip_rate: float = 0.1
) -> dict[str, Any]:
    """The reviewers' contract: ``review sample`` -> label every item as two annotators -> ``review report``.

    ``truth_of(item) -> bool`` is the known truth; ``alice`` answers it, ``bob``
    flips a deterministic ``flip_rate`` share (so kappa is informative).
    Returns the report JSON.
    """
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from wildchat.cli.review import review_app
    from wildchat.review.app import create_review_app
    from wildchat.review.store import ReviewStore

    queue, report = tmp / "Q.db", tmp / "R.json"
    runner = CliRunner()
    args = ["sample", str(release), "--out", str(queue), "--size", str(size), "--task", "toxicity"]
    res = runner.invoke(review_app, [*args, "--seed", str(seed)])
    assert res.exit_code == 0, res.output
    store = ReviewStore(queue)
    try:
        client = TestClient(create_review_app(store))

        def answer(annotator: str, item: dict[str, Any]) -> bool:
            t = bool(truth_of(item))
            return (not t) if annotator == "bob" and flip(annotator, item["item_id"], flip_rate) else t

        counts = label_all(client, "toxicity", ["alice", "bob"], answer)
        assert counts["alice"] == counts["bob"] == len(store.items("toxicity", with_text=False))
    finally:
        store.close()
    res = runner.invoke(review_app, ["report", str(queue), "--out", str(report)])
    assert res.exit_code == 0, res.output
    doc: dict[str, Any] = json.loads(report.read_text())
    return doc


def assert_matches(est: dict[str, Any], true_p: float, true_r: float) -> None:
    """The contract's tolerance: inside the reported 95% interval or within 0.10."""
    for key, truth in (("precision", true_p), ("recall", true_r)):
        lo, hi = est[f"{key}_ci"]
        assert lo <= est[key] <= hi
        assert lo <= truth <= hi or abs(est[key] - truth) <= 0.10, (key, est[key], [lo, hi], truth)


CURATE_STAGES = (
    "consent",
    "roles",
    "empty",
    "date_window",
    "holdout",
    "dev_accounts",
    "privacy",
    "moderation",
)


def curate_prompts(prompts: list[str], out: Path) -> Path:
    """Curate one single-turn raw log per prompt (offline toxicity stage) into ``out``; returns ``out``.

    Each prompt gets its own client address, so none is merged with another.
    The PII stage is left out (slow, and irrelevant to toxicity), hence
    ``allow_unredacted``.
    """
    from datetime import timedelta

    from wildchat.curate.pipeline import run_curate
    from wildchat.curate.stages.config import load_config

    lines = []
    for k, text in enumerate(prompts):
        ip = f"10.{k // 65536}.{(k // 256) % 256}.{k % 256}"
        log = raw_log(f"req-{k}", T0 + timedelta(seconds=k), [text], "I can help with that.", ip=ip)
        lines.append(json.dumps(log))
    src = out.parent / f"{out.name}-logs.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = load_config(None, ["executor.workers=1", f"pipeline.stages={list(CURATE_STAGES)!r}"])
    run_curate([src], out, cfg, ip_key="review-test-key", allow_unredacted=True)
    return out


def release_truth(release: Path, truth_by_text: dict[str, bool]) -> tuple[float, float, int]:
    """Precision/recall of the released ``toxic`` flag over the whole release, from known labels.

    User turns take their known label, the canned assistant reply is not
    toxic.  Returns (precision, recall, turns scored).
    """
    tp = fp = fn = n = 0
    for path in sorted((release / "full").glob("*.parquet")):
        for row in pq.read_table(path, columns=["conversation"]).to_pylist():
            for t in row["conversation"]:
                if t["toxic"] is None:
                    continue
                truth = truth_by_text[t["content"]] if t["role"] == "user" else False
                n += 1
                tp += t["toxic"] and truth
                fp += t["toxic"] and not truth
                fn += (not t["toxic"]) and truth
    return tp / (tp + fp), tp / (tp + fn), n
