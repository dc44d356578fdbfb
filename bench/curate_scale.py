"""Scale benchmark for `wildchat curate`: raw logs/s and peak memory.

Generates a realistic raw-log corpus, deterministic from ``--seed``, then
times ``wildchat curate`` (a subprocess; the curation stages only, or with
``--full`` the default pipeline including enrichment) and samples
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
    .venv/bin/python bench/curate_scale.py --logs 20000 --seed 1 --full   # + enrichment

``--full`` runs ``DEFAULT_STAGES`` (pii, language, moderation, jailbreak
too) and also reports conversations/s and each stage's seconds from
``stats.json`` (summed over workers: CPU-ish seconds, not wall).

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
# word pools per language (space-separated; Chinese: one character per entry)
WORDS = {
    "en": (
        "the of and to in is you that it for was on are as with his they at be this have from or one had "
        "by word but not what all were we when your can said there use an each which she do how their if "
        "will up other about out many then them these so some her would make like him into time has look "
        "two more write go see number no way could people my than first water been call who oil its now "
        "find long down day did get come made may part "
    ),
    "zh": (
        "的 一 是 在 不 了 有 和 人 这 中 大 为 上 个 国 我 以 要 他 时 来 "
        "用 们 生 到 作 地 于 出 就 分 对 成 会 可 主 发 年 动 同 工 也 能 "
        "下 过 子 说 产 种 面 而 方 后 多 定 行 学 法 所 民 得 经 十 三 之 "
        "进 着 等 部 度 家 电 力 里 如 水 化 高 自 二 理 起 小 物 现 实 加 "
        "量 都 两 体 制 机 当 使 点 从 业 本 去 把 性 好 应 开 它 合 还 因 "
        "由 其 些 然 前 外 天 政 四 日 那 社 义 事 平 形 相 全 表 间 样 与 "
        "关 各 重 新 线 内 数 正 心 反 你 明 看 原 又 么 利 比 或 但 质 气 "
        "第 向 道 命 此 变 条 只 没 结 解 问 意 建 月 公 无 系 军 很 情 者 "
        "最 立 代 想 已 通 并 提 直 题 党 程 展 五 果 料 象 员 革 位 入 常 "
        "文 总 次 品 式 活 设 及 管 特 件 长 求 老 头 基 资 边 流 路 级 少 "
        "图 山 统 接 知 较 将 组 见 计 别 她 手 角 期 根 论 运 农 指 几 九 "
        "区 强 放 决 西 被 干 做 必 战 先 回 则 任 取 据 处 理 府 研 质 "
    ),
    "ru": (
        "и в не на я что он с как а то все она так его но да ты к у же вы за бы по только ее мне было вот "
        "от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас "
        "нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их "
        "чем была сам чтоб без будто чего раз тоже себе под будет ж тогда кто этот того потому этого "
        "какой совсем ним здесь этом один почти мой тем чтобы нее "
    ),
    "es": (
        "de la que el en y a los del se las por un para con no una su al lo como más pero sus le ya o "
        "este sí porque esta entre cuando muy sin sobre también me hasta hay donde quien desde todo nos "
        "durante todos uno les ni contra otros ese eso ante ellos e esto mí antes algunos qué unos yo "
        "otro otras otra él tanto esa estos mucho quienes nada muchos cual poco ella estar estas algunas "
        "algo nosotros "
    ),
    "de": (
        "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an "
        "werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war "
        "haben nur oder aber vor zur bis mehr durch man sein wurde sei hatte kann gegen vom können schon "
        "wenn habe seine ihre dann unter wir soll ich eines "
    ),
}
LANG_WEIGHTS = [("en", 0.53), ("zh", 0.14), ("ru", 0.12), ("es", 0.11), ("de", 0.10)]
MODELS = [("gpt-3.5-turbo", 0.75), ("gpt-4", 0.25)]
UAS = [f"Mozilla/5.0 (X11; Linux x86_64) Chrome/{v}.0" for v in range(100, 140)]
LANGS_HDR = ["en-US,en;q=0.9", "zh-CN,zh;q=0.9", "ru-RU,ru;q=0.9", "es-ES,es;q=0.9", "de-DE,de;q=0.9"]
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _pool(rng: random.Random, lang: str, size: int = 400_000) -> str:
    words = WORDS[lang].split()
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


def _tree_sample(root: int, cpu: dict[int, float]) -> int:
    """Summed RSS (kB) of ``root`` and its descendants; updates ``cpu[pid]`` (CPU seconds so far)."""
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
    tick = os.sysconf("SC_CLK_TCK")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu[pid] = (int(fields[11]) + int(fields[12])) / tick
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total


def run(
    corpus: Path, out: Path, executor: str, workers: int, extra: list[str], full: bool = False
) -> dict[str, Any]:
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
        # the curation stages alone have no pii stage: the guard needs the explicit opt-in
        *([] if full else ["--set", f"pipeline.stages={STAGES}", "--allow-unredacted"]),
        *extra,
    ]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    cpu_by_pid: dict[int, float] = {}
    while proc.poll() is None:
        peak = max(peak, _tree_sample(proc.pid, cpu_by_pid))
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    _, err = proc.communicate()
    cpu = sum(cpu_by_pid.values())  # sampled every 100 ms: a process's last < 100 ms may be missed
    if proc.returncode != 0:
        raise SystemExit(f"curate failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    stats = json.loads((out / "stats.json").read_text())
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 1),
        "peak_rss_mb": round(peak / 1024),
        "stats": stats,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--logs", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--executor", default="local", choices=["local", "ray"])
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/wildchat-bench"))
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--full", action="store_true", help="the default pipeline (enrichment stages too)")
    args = ap.parse_args()
    corpus = args.data_dir / f"logs-{args.logs}-seed{args.seed}"
    if not (corpus / "DONE").exists():
        t = time.perf_counter()
        generate(args.logs, args.seed, corpus)
        (corpus / "DONE").write_text("ok\n")
        print(f"generated corpus in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    size = sum(p.stat().st_size for p in corpus.glob("*.jsonl"))
    out = args.data_dir / f"out-{args.logs}-{args.executor}{'-full' if args.full else ''}"
    extra = [x for s in args.sets for x in ("--set", s)]
    subprocess.run(["rm", "-rf", str(out), str(out) + ".ip-key"], check=True)
    load_before = os.getloadavg()
    res = run(corpus, out, args.executor, args.workers, extra, full=args.full)
    st = res["stats"]
    conversations = st["release"]["full"]
    print(
        json.dumps(
            {
                "mode": "full" if args.full else "curation",
                "logs": st["ingest"]["read"],
                "corpus_mb": round(size / 2**20),
                "executor": args.executor,
                "wall_s": res["wall_s"],
                "logs_per_s": round(st["ingest"]["read"] / res["wall_s"]),
                "peak_rss_mb": res["peak_rss_mb"],
                # CPU seconds of the whole process tree (workers and Ray processes included):
                # throughput an idle machine could reach is ~ cores * logs / cpu_s
                "cpu_s": res["cpu_s"],
                "logs_per_cpu_s": round(st["ingest"]["read"] / max(res["cpu_s"], 1e-9)),
                "conversations": conversations,
                "conversations_per_s": round(conversations / res["wall_s"], 1),
                "stage_s": {x["name"]: x["seconds"] for x in st["stages"]},
                "link_dropped": st["link"]["dropped"],
                "phases_s": st["run"]["seconds"],
                "load_avg": os.getloadavg()[0],
                "load_avg_before": [round(x, 2) for x in load_before],
            }
        )
    )


if __name__ == "__main__":
    main()
