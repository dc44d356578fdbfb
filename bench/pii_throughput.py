"""PII throughput on real chat turns, both policies, plus per-recognizer costs.

Reads real turns at run time from the shared data folder (WildChat first
exchanges, LMSYS-Chat-1M and ShareGPT samples; nothing is copied into the
repository) and prints a Markdown table for docs/benchmarks.md ("PII").

    .venv/bin/python bench/pii_throughput.py [--data ../shared/data] [--turns 3000] [--batch 64]

Measured single-process in CPU seconds of this process (``time.process_time``),
so the figures are per core and hold up on a shared, loaded machine; wall time
is recorded too.  NER model load time is excluded (reported apart).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")


def load_turns(data: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` real turns, a third from each source, shuffled with ``seed``."""
    import pyarrow.parquet as pq

    wild = pq.read_table(data / "wildchat_firstturn" / "wildchat_clean_1335rows.parquet").to_pylist()
    wildchat = [t for r in wild for t in (r["prompt"], r["response"]) if t]
    lmsys = []
    with open(data / "lmsys_chat_1m_sample191" / "lmsys_1000.jsonl", encoding="utf-8") as fh:
        for line in fh:
            lmsys.extend(m["content"] for m in json.loads(line)["conversation"] if m["content"])
    share = json.loads(
        (data / "sharegpt_v3_sample" / "sharegpt_v3_sample800.json").read_text(encoding="utf-8")
    )
    sharegpt = [m["value"] for r in share for m in r["conversations"] if m.get("value")]
    rng = random.Random(seed)
    out: list[str] = []
    for source in (wildchat, lmsys, sharegpt):
        rng.shuffle(source)
        out.extend(source[: n // 3])
    rng.shuffle(out)
    return out


def bench_policy(
    label: str, policy: str, overrides: dict[str, Any], turns: list[str], batch: int
) -> dict[str, Any]:
    from wildchat.enrich.pii import Redactor, pii_config
    from wildchat.enrich.pii.cues import name_windows

    cfg = pii_config(policy, **overrides)
    red = Redactor(cfg)
    t0 = time.perf_counter()
    red.redact("warm-up: my name is Ada Lovelace")  # loads the NER model (and the name gazetteer)
    load_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    results = []
    for i in range(0, len(turns), batch):
        results.extend(red.redact_many(turns[i : i + batch]))
    wall, dt = time.perf_counter() - t0, time.process_time() - c0
    ner_on = cfg.ner and "PERSON" in cfg.entities
    windows = [name_windows(t, cfg.ner_scope, cfg.ner_max_chars) if ner_on else [] for t in turns]
    return {
        "policy": label,
        "turns": len(turns),
        "cpu_seconds": round(dt, 2),
        "wall_seconds": round(wall, 2),
        "turns_per_s": round(len(turns) / dt, 1),
        "ms_per_turn": round(1000 * dt / len(turns), 3),
        "redacted_share": round(sum(r.redacted for r in results) / len(turns), 4),
        "ner_turn_share": round(sum(bool(w) for w in windows) / len(turns), 4),
        "ner_chars_share": round(sum(e - s for w in windows for s, e in w) / sum(map(len, turns)), 4),
        "model_load_s": round(load_s, 2),
    }


def bench_recognizers(turns: list[str]) -> dict[str, float]:
    """Microseconds per turn (CPU): Presidio's recognizers vs ours, on the same turns."""
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        CryptoRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UrlRecognizer,
    )

    from wildchat.enrich.pii.patterns import pattern_spans
    from wildchat.enrich.pii.recognizers import find_ips, find_personal_urls, find_phones
    from wildchat.enrich.pii.secrets import find_secrets

    def timed(fn: Any) -> float:
        t0 = time.process_time()
        for t in turns:
            fn(t)
        return round(1e6 * (time.process_time() - t0) / len(turns), 1)

    phone, url, ip = PhoneRecognizer(), UrlRecognizer(), IpRecognizer()
    four = (EmailRecognizer(), CreditCardRecognizer(), IbanRecognizer(), CryptoRecognizer())
    every = frozenset({"EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "CRYPTO"})
    return {
        "presidio PhoneRecognizer": timed(lambda t: phone.analyze(t, ["PHONE_NUMBER"], None)),
        "ours find_phones": timed(find_phones),
        "presidio UrlRecognizer": timed(lambda t: url.analyze(t, ["URL"], None)),
        "ours find_personal_urls": timed(find_personal_urls),
        "presidio IpRecognizer": timed(lambda t: ip.analyze(t, ["IP_ADDRESS"], None)),
        "ours find_ips": timed(find_ips),
        "presidio Email+CreditCard+Iban+Crypto": timed(
            lambda t: [r.analyze(t, r.supported_entities, None) for r in four]
        ),
        "ours pattern_spans (same four)": timed(lambda t: pattern_spans(t, every)),
        "ours find_secrets": timed(find_secrets),
    }


def bench_jailbreak(turns: list[str]) -> dict[str, float]:
    """Microseconds per turn (CPU) of the default jailbreak source (built-in signatures), and the
    one-off cost of loading them; timed here because the stage runs on every user turn."""
    from wildchat.enrich.jailbreak import SignatureMatcher

    t0 = time.process_time()
    matcher = SignatureMatcher()
    load = time.process_time() - t0
    matcher.match(turns[:50])  # warm-up
    t0 = time.process_time()
    matcher.match(turns)
    per_turn = 1e6 * (time.process_time() - t0) / len(turns)
    return {
        f"jailbreak SignatureMatcher ({len(matcher.signatures)} families)": round(per_turn, 1),
        "jailbreak SignatureMatcher load (ms, once)": round(1000 * load, 1),
    }


def import_cost() -> dict[str, float]:
    """CPU seconds to import Presidio's analyzer (torch, transformers) vs our pattern path."""
    import subprocess
    import sys

    def cpu(code: str) -> float:
        run = f"import time; t = time.process_time(); {code}; print(time.process_time() - t)"
        out = subprocess.run([sys.executable, "-c", run], capture_output=True, text=True, check=True)
        return round(float(out.stdout.strip().splitlines()[-1]), 2)

    return {
        "import presidio_analyzer": cpu("import presidio_analyzer"),
        "first wildchat.enrich.pii redact (no NER)": cpu(
            "from wildchat.enrich.pii import Redactor, pii_config; "
            "Redactor(pii_config(ner=False)).redact('mail a@b.com 4111 1111 1111 1111')"
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
    ap.add_argument("--turns", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--out", type=Path, default=Path("bench/results/pii_throughput.json"))
    args = ap.parse_args()
    turns = load_turns(args.data, args.turns)
    lengths = [len(t) for t in turns]
    print(
        f"{len(turns)} real turns, mean {statistics.mean(lengths):.0f} chars, "
        f"median {statistics.median(lengths):.0f}, max {max(lengths)}"
    )
    variants: list[tuple[str, str, dict[str, Any]]] = [
        ("wildchat (default)", "wildchat", {}),
        ("strict (default)", "strict", {}),
        ("strict, ner_scope=pairs", "strict", {"ner_scope": "pairs"}),
        ("strict, ner=false", "strict", {"ner": False}),
        ("strict, gazetteer=false", "strict", {"gazetteer": False}),
    ]
    rows = [bench_policy(label, p, o, turns, args.batch) for label, p, o in variants]
    print("| policy | turns/s/core | ms/turn | turns redacted | turns to NER | chars to NER | model load s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['policy']} | {r['turns_per_s']} | {r['ms_per_turn']} | {r['redacted_share']:.1%} | "
            f"{r['ner_turn_share']:.1%} | {r['ner_chars_share']:.1%} | {r['model_load_s']} |"
        )
    recs = bench_recognizers(turns)
    recs.update(bench_jailbreak(turns))
    recs.update({f"{k} (CPU s, once per process)": v for k, v in import_cost().items()})
    print("\n| recognizer | µs/turn |\n|---|---|")
    for k, v in recs.items():
        print(f"| {k} | {v} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"policies": rows, "recognizers_us": recs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
