"""Helpers for the explorer web-app tests: synthetic datasets, a real index, a live server.

Two small datasets, written in two real input formats, so the app is tested
over whatever ``build_index`` really stores:

* ``alpha`` -- a curated release (Parquet, release schema) with every field:
  geo, hashed IPs, toxicity with moderation scores, redaction markers,
  jailbreak matches, timestamps, Chinese and Russian text, and one
  conversation of hostile markup (:data:`HOSTILE`).
* ``beta`` -- an LMSYS-style JSONL file: no timestamps, geo or hashed IPs, so
  those filters must come out disabled for it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.builders.releases import write_shard
from wildchat.schema import Conversation, DetoxifyScores, Moderation, Turn

HOSTILE = '<script>window.__pwned=1</script> xsstoken <img src=x onerror="window.__pwned=1"> & "quotes"'
HOSTILE_IP = "ip-hostile-0001"
TOPICS = [
    ("Tell me about the volcano eruption in Iceland", "English"),
    ("Explain quantum computing to a child", "English"),
    ("Write a poem about autumn leaves", "English"),
    ("你好，请介绍一下长城的历史", "Chinese"),
    ("How do I sort a list in Python?", "English"),
    ("Расскажи анекдот про кота", "Russian"),
]
COUNTRIES = [("United States", "California"), ("China", "Beijing"), ("Germany", "Bavaria"), ("Russia", None)]
ALPHA_N = 24
BETA_N = 10
START = datetime(2024, 1, 1, 12, tzinfo=UTC)
#: conversations of alpha whose text mentions "volcano" (topic 0), and of beta
ALPHA_VOLCANO = [i for i in range(ALPHA_N - 1) if i % len(TOPICS) == 0]
BETA_VOLCANO = [i for i in range(BETA_N) if i % 3 == 0]


def alpha_id(i: int) -> str:
    return f"alpha-{i:03d}"


def alpha_ip(i: int) -> str:
    return HOSTILE_IP if i == ALPHA_N - 1 else f"ip{i % 5:02d}"


def _alpha(i: int) -> Conversation:
    hostile = i == ALPHA_N - 1
    prompt, language = TOPICS[i % len(TOPICS)]
    country, state = COUNTRIES[i % len(COUNTRIES)]
    toxic, redacted, jail = i % 7 == 0, i % 5 == 0, i % 11 == 0
    if hostile:
        prompt, language, toxic, redacted, jail = HOSTILE, "English", False, False, False
    if redacted:
        prompt += " My name is <PRESIDIO_ANONYMIZED_PERSON>."
    ts = START + timedelta(days=i, hours=i % 3)
    turns: list[Turn] = []
    mods: list[Moderation] = []
    dets: list[DetoxifyScores] = []
    for k in range(1 + i % 3):
        text = prompt if k == 0 else f"Follow-up question number {k} about that"
        turns.append(
            Turn(
                content=text,
                role="user",
                language=language,
                toxic=toxic and k == 0,
                redacted=redacted and k == 0,
                turn_identifier=i * 10 + k,
                timestamp=ts + timedelta(minutes=k),
                country=country,
                state=state,
                hashed_ip=alpha_ip(i),
                jailbreak=jail and k == 0,
                jailbreak_match="DAN" if jail and k == 0 else None,
            )
        )
        answer = HOSTILE if hostile else f"Answer {k} of conversation {i}: here is some helpful text."
        turns.append(
            Turn(
                content=answer,
                role="assistant",
                language=language,
                toxic=False,
                turn_identifier=i * 10 + k,
                timestamp=ts + timedelta(minutes=k, seconds=30),
            )
        )
        score = 0.91 if toxic and k == 0 else 0.002
        mods += [
            Moderation(
                categories={"harassment": score > 0.5},
                category_scores={"harassment": score, "hate": 0.04},
                flagged=score > 0.5,
            ),
            Moderation(
                categories={"harassment": False}, category_scores={"harassment": 0.001}, flagged=False
            ),
        ]
        dets += [DetoxifyScores(toxicity=score), DetoxifyScores(toxicity=0.001)]
    body = json.dumps([[t.role, t.content] for t in turns], ensure_ascii=False).encode()
    return Conversation(
        conversation_hash=hashlib.sha256(body).hexdigest()[:32],
        model="gpt-4" if i % 2 else "gpt-3.5-turbo",
        timestamp=ts,
        conversation=turns,
        turn=len(turns) // 2,
        language=language,
        openai_moderation=mods,
        detoxify_moderation=dets,
        toxic=toxic,
        redacted=redacted,
        state=state,
        country=country,
        hashed_ip=alpha_ip(i),
        conversation_id=alpha_id(i),
    )


def write_alpha(path: Path) -> Path:
    """The curated-release dataset (Parquet, release schema)."""
    return write_shard(path, [_alpha(i) for i in range(ALPHA_N)])


def write_beta(path: Path) -> Path:
    """The LMSYS-style dataset (JSONL): no geo, no hashed IPs, no timestamps."""
    with path.open("w", encoding="utf-8") as fh:
        for i in range(BETA_N):
            prompt = (
                "Is the volcano near Naples still active?"
                if i in BETA_VOLCANO
                else f"Summarise chapter {i} of my novel"
            )
            rec: dict[str, Any] = {
                "conversation_id": f"beta-{i:03d}",
                "model": "vicuna-13b",
                "language": "English",
                "redacted": False,
                "conversation": [
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "content": f"Beta answer {i}."},
                ],
            }
            fh.write(json.dumps(rec) + "\n")
    return path


def build_test_index(tmp: Path, url: str, *, map: bool = False) -> Any:
    """Both datasets built into ``url`` with the real builder; returns the BuildReport."""
    from wildchat.explore.build import build_index

    a = write_alpha(tmp / "alpha.parquet")
    b = write_beta(tmp / "beta.jsonl")
    build_index([a], url, dataset="alpha", map=map, map_sample=1000)
    return build_index([b], url, dataset="beta", map=map, map_sample=1000)
