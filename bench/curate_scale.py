"""Scale benchmark for `wildchat curate`: raw logs/s and peak memory.

Generates a realistic raw-log corpus, deterministic from ``--seed``, then
times ``wildchat curate`` (a subprocess, this issue's stages only) and samples
the summed RSS of its whole process tree (workers, Ray processes) every
100 ms.  Corpus shape:

* conversations of 1 + Geometric(0.4) exchanges (mean ~2.5, ~40% multi-turn,
  as WildChat-1M); each exchange is one raw log carrying the full history;
* prompt lengths log-normal (median ~150 chars, long tail), replies
  log-normal (median ~900 chars); mixed languages (English, Chinese,
  Russian, Spanish, German text pools);
* 5% of conversations open with a shared greeting ("hi", "你好", ...) from
  many different users; half the sessions carry a ``conversation_id``, the
  rest are linked by IP + headers + model;
* 5% of replies regenerated (same history, another reply), 2% of replies
  first fail (``error``/``timeout``/``client_disconnect``, partial text) and
  are retried, 1% of users log before consenting (or never consent).

Usage::

    .venv/bin/python bench/curate_scale.py --logs 100000 --seed 1
    .venv/bin/python bench/curate_scale.py --logs 300000 --seed 1 --executor ray

Corpora are cached under ``--data-dir`` (default ``/tmp/wildchat-bench``).
Prints one JSON line of results.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

STAGES = '["consent", "roles", "empty", "date_window", "holdout", "dev_accounts", "privacy"]'
GREETINGS = ["hi", "hello", "Hi", "hey", "你好", "привет", "hola", "Hello!"]
WORDS = {
    "en": [
        "the",
        "of",
        "and",
        "to",
        "in",
        "is",
        "you",
        "that",
        "it",
        "for",
        "was",
        "on",
        "are",
        "as",
        "with",
        "his",
        "they",
        "at",
        "be",
        "this",
        "have",
        "from",
        "or",
        "one",
        "had",
        "by",
        "word",
        "but",
        "not",
        "what",
        "all",
        "were",
        "we",
        "when",
        "your",
        "can",
        "said",
        "there",
        "use",
        "an",
        "each",
        "which",
        "she",
        "do",
        "how",
        "their",
        "if",
        "will",
        "up",
        "other",
        "about",
        "out",
        "many",
        "then",
        "them",
        "these",
        "so",
        "some",
        "her",
        "would",
        "make",
        "like",
        "him",
        "into",
        "time",
        "has",
        "look",
        "two",
        "more",
        "write",
        "go",
        "see",
        "number",
        "no",
        "way",
        "could",
        "people",
        "my",
        "than",
        "first",
        "water",
        "been",
        "call",
        "who",
        "oil",
        "its",
        "now",
        "find",
        "long",
        "down",
        "day",
        "did",
        "get",
        "come",
        "made",
        "may",
        "part",
    ],
    "zh": list(
        "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质"
    ),
    "ru": [
        "и",
        "в",
        "не",
        "на",
        "я",
        "что",
        "он",
        "с",
        "как",
        "а",
        "то",
        "все",
        "она",
        "так",
        "его",
        "но",
        "да",
        "ты",
        "к",
        "у",
        "же",
        "вы",
        "за",
        "бы",
        "по",
        "только",
        "ее",
        "мне",
        "было",
        "вот",
        "от",
        "меня",
        "еще",
        "нет",
        "о",
        "из",
        "ему",
        "теперь",
        "когда",
        "даже",
        "ну",
        "вдруг",
        "ли",
        "если",
        "уже",
        "или",
        "ни",
        "быть",
        "был",
        "него",
        "до",
        "вас",
        "нибудь",
        "опять",
        "уж",
        "вам",
        "ведь",
        "там",
        "потом",
        "себя",
        "ничего",
        "ей",
        "может",
        "они",
        "тут",
        "где",
        "есть",
        "надо",
        "ней",
        "для",
        "мы",
        "тебя",
        "их",
        "чем",
        "была",
        "сам",
        "чтоб",
        "без",
        "будто",
        "чего",
        "раз",
        "тоже",
        "себе",
        "под",
        "будет",
        "ж",
        "тогда",
        "кто",
        "этот",
        "того",
        "потому",
        "этого",
        "какой",
        "совсем",
        "ним",
        "здесь",
        "этом",
        "один",
        "почти",
        "мой",
        "тем",
        "чтобы",
        "нее",
    ],
    "es": [
        "de",
        "la",
        "que",
        "el",
        "en",
        "y",
        "a",
        "los",
        "del",
        "se",
        "las",
        "por",
        "un",
        "para",
        "con",
        "no",
        "una",
        "su",
        "al",
        "lo",
        "como",
        "más",
        "pero",
        "sus",
        "le",
        "ya",
        "o",
        "este",
        "sí",
        "porque",
        "esta",
        "entre",
        "cuando",
        "muy",
        "sin",
        "sobre",
        "también",
        "me",
        "hasta",
        "hay",
        "donde",
        "quien",
        "desde",
        "todo",
        "nos",
        "durante",
        "todos",
        "uno",
        "les",
        "ni",
        "contra",
        "otros",
        "ese",
        "eso",
        "ante",
        "ellos",
        "e",
        "esto",
        "mí",
        "antes",
        "algunos",
        "qué",
        "unos",
        "yo",
        "otro",
        "otras",
        "otra",
        "él",
        "tanto",
        "esa",
        "estos",
        "mucho",
        "quienes",
        "nada",
        "muchos",
        "cual",
        "poco",
        "ella",
        "estar",
        "estas",
        "algunas",
        "algo",
        "nosotros",
    ],
    "de": [
        "der",
        "die",
        "und",
        "in",
        "den",
        "von",
        "zu",
        "das",
        "mit",
        "sich",
        "des",
        "auf",
        "für",
        "ist",
        "im",
        "dem",
        "nicht",
        "ein",
        "eine",
        "als",
        "auch",
        "es",
        "an",
        "werden",
        "aus",
        "er",
        "hat",
        "dass",
        "sie",
        "nach",
        "wird",
        "bei",
        "einer",
        "um",
        "am",
        "sind",
        "noch",
        "wie",
        "einem",
        "über",
        "einen",
        "so",
        "zum",
        "war",
        "haben",
        "nur",
        "oder",
        "aber",
        "vor",
        "zur",
        "bis",
        "mehr",
        "durch",
        "man",
        "sein",
        "wurde",
        "sei",
        "hatte",
        "kann",
        "gegen",
        "vom",
        "können",
        "schon",
        "wenn",
        "habe",
        "seine",
        "ihre",
        "dann",
        "unter",
        "wir",
        "soll",
        "ich",
        "eines",
    ],
}
LANG_WEIGHTS = [("en", 0.53), ("zh", 0.14), ("ru", 0.12), ("es", 0.11), ("de", 0.10)]
MODELS = [("gpt-3.5-turbo", 0.75), ("gpt-4", 0.25)]
UAS = [f"Mozilla/5.0 (X11; Linux x86_64) Chrome/{v}.0" for v in range(100, 140)]
LANGS_HDR = ["en-US,en;q=0.9", "zh-CN,zh;q=0.9", "ru-RU,ru;q=0.9", "es-ES,es;q=0.9", "de-DE,de;q=0.9"]
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _pool(rng: random.Random, lang: str, size: int = 400_000) -> str:
    words = WORDS[lang]
    sep = "" if lang == "zh" else " "
    return sep.join(rng.choice(words) for _ in range(size // (2 if lang == "zh" else 5)))


class Corpus:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pools = {lang: _pool(self.rng, lang) for lang, _ in LANG_WEIGHTS}

    def text(self, lang: str, median: float, sigma: float = 1.0, cap: int = 20_000) -> str:
        n = int(min(cap, max(1, math.exp(math.log(median) + sigma * self.rng.gauss(0, 1)))))
        pool = self.pools[lang]
        start = self.rng.randrange(0, len(pool) - cap - 1)
        return pool[start : start + n]

    def pick(self, weighted: list[tuple[str, float]]) -> str:
        return self.rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def generate(n_logs: int, seed: int, out_dir: Path, per_file: int = 100_000) -> list[dict[str, Any]]:
    """Write ~``n_logs`` raw logs as JSONL files under ``out_dir``; returns per-file info."""
    c = Corpus(seed)
    rng = c.rng
    out_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    files: list[dict[str, Any]] = []
    fh = None
    minute = 0.0
    conv_no = 0
    while written < n_logs:
        conv_no += 1
        user = rng.randrange(0, max(1000, n_logs // 12))
        ip = f"{10 + user % 200}.{(user >> 8) % 256}.{user % 256}.{(user * 7) % 250 + 1}"
        ua, lang_hdr = UAS[user % len(UAS)], LANGS_HDR[user % len(LANGS_HDR)]
        lang, model = c.pick(LANG_WEIGHTS), c.pick(MODELS)
        cid = f"conv-{seed}-{conv_no}" if rng.random() < 0.5 else None
        consent_ts = T0 - timedelta(days=1)
        if user % 100 == 0:  # 1% of users: logs before consent, or no consent at all
            consent_ts = T0 + timedelta(days=400) if user % 200 == 0 else None
        n_ex = 1
        while rng.random() < 0.4:
            n_ex += 1
        history: list[dict[str, str]] = []
        for k in range(n_ex):
            prompt = rng.choice(GREETINGS) if k == 0 and rng.random() < 0.05 else c.text(lang, 150)
            history = [*history, {"role": "user", "content": prompt}]
            attempts: list[tuple[str, str]] = []
            if rng.random() < 0.02:
                attempts.append((c.text(lang, 300), rng.choice(["error", "timeout", "client_disconnect"])))
            reply = c.text(lang, 900)
            attempts.append((reply, "stop"))
            if rng.random() < 0.05:
                reply = c.text(lang, 900)
                attempts.append((reply, "stop"))  # regeneration; the user continues from it
            for text, finish in attempts:
                minute += 0.05
                ts = T0 + timedelta(minutes=minute)
                log = {
                    "request_id": f"r{seed}-{written}",
                    "timestamp": ts.isoformat(),
                    "model": model,
                    "messages": history,
                    "response": text,
                    "finish_reason": finish,
                    "conversation_id": cid,
                    "ip": ip,
                    "headers": {"user-agent": ua, "accept-language": lang_hdr},
                    "consent": None
                    if consent_ts is None
                    else {"id": f"c{user}", "version": "1", "timestamp": consent_ts.isoformat()},
                }
                if fh is None or written % per_file == 0:
                    if fh is not None:
                        fh.close()
                    path = out_dir / f"logs-{len(files):04d}.jsonl"
                    files.append({"path": str(path)})
                    fh = path.open("wb")
                fh.write(orjson.dumps(log) + b"\n")
                written += 1
            history = [*history, {"role": "assistant", "content": reply}]
    if fh is not None:
        fh.close()
    return files


def _tree_rss_kb(root: int) -> int:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def run(corpus: Path, out: Path, executor: str, workers: int, extra: list[str]) -> dict[str, Any]:
    cmd = [
        str(Path(sys.executable).parent / "wildchat"),
        "curate",
        str(corpus),
        "--out",
        str(out),
        "--executor",
        executor,
        "--workers",
        str(workers),
        "--ip-key",
        "bench-key",
        "--set",
        f"pipeline.stages={STAGES}",
        *extra,
    ]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"curate failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    stats = json.loads((out / "stats.json").read_text())
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(peak / 1024), "stats": stats}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--logs", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--executor", default="local", choices=["local", "ray"])
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/wildchat-bench"))
    ap.add_argument("--set", action="append", default=[], dest="sets")
    args = ap.parse_args()
    corpus = args.data_dir / f"logs-{args.logs}-seed{args.seed}"
    if not (corpus / "DONE").exists():
        t = time.perf_counter()
        generate(args.logs, args.seed, corpus)
        (corpus / "DONE").write_text("ok\n")
        print(f"generated corpus in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    size = sum(p.stat().st_size for p in corpus.glob("*.jsonl"))
    out = args.data_dir / f"out-{args.logs}-{args.executor}"
    extra = [x for s in args.sets for x in ("--set", s)]
    subprocess.run(["rm", "-rf", str(out), str(out) + ".ip-key"], check=True)
    res = run(corpus, out, args.executor, args.workers, extra)
    st = res["stats"]
    print(
        json.dumps(
            {
                "logs": st["ingest"]["read"],
                "corpus_mb": round(size / 2**20),
                "executor": args.executor,
                "wall_s": res["wall_s"],
                "logs_per_s": round(st["ingest"]["read"] / res["wall_s"]),
                "peak_rss_mb": res["peak_rss_mb"],
                "conversations": st["release"]["full"],
                "link_dropped": st["link"]["dropped"],
                "phases_s": st["run"]["seconds"],
                "load_avg": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
