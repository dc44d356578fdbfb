#!/usr/bin/env bash
# Wall time and peak RSS of the README's step 6 on a CPU, with the README's flags:
#   export-sft -> train --max-steps 2 (the Vicuna recipe, CPU memory defaults) -> eval nll (default options).
#
# Usage: bench/train_eval_cpu.sh RELEASE_DIR LMSYS_PARQUET WORK_DIR [N_CONVERSATIONS]
#   RELEASE_DIR     a curated release (e.g. from bench/curate_scale.py + `wildchat curate`, or the walkthrough)
#   LMSYS_PARQUET   `wildchat convert ../shared/data/lmsys_chat_1m_sample191/lmsys_1000.jsonl --out lmsys.parquet`
#   N_CONVERSATIONS keep the first N exported conversations (default: all)
# Prints one line per command: wall seconds, peak RSS (GNU time -v), 1-minute load average before and after.
set -euo pipefail
REL=$(realpath "$1"); LMSYS=$(realpath "$2"); WORK=$3; N=${4:-0}
BIN=$(realpath "$(dirname "$0")/../.venv/bin")
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
mkdir -p "$WORK" && cd "$WORK"

measure() {  # NAME CMD...
    local name=$1; shift
    local before; before=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -v -o "$name.time" "$@" >"$name.out" 2>"$name.err"
    local wall rss after
    wall=$(grep "Elapsed (wall clock)" "$name.time" | awk '{print $NF}')
    rss=$(grep "Maximum resident set size" "$name.time" | awk '{printf "%.2f GiB", $NF/1048576}')
    after=$(cut -d' ' -f1 /proc/loadavg)
    echo "$name: wall $wall, peak RSS $rss, load $before -> $after"
}

measure export-sft "$BIN/wildchat" export-sft "$REL" --public-only --format messages --out sft_all.jsonl
if [ "$N" -gt 0 ]; then head -n "$N" sft_all.jsonl >sft.jsonl; else cp sft_all.jsonl sft.jsonl; fi
echo "conversations: $(wc -l <sft.jsonl)"
measure train "$BIN/wildchat" train --data sft.jsonl --model smollm2 --out smol-ft --max-steps 2
grep -E "memory plan|size:" -A3 train.err | tr -s ' \n' ' ' | head -c 600; echo
measure eval-nll "$BIN/wildchat" eval nll --model smollm2 --model smol-ft --data "$REL" --data "$LMSYS" --out nll/
grep -E "^\[[0-9]+/[0-9]+\]" eval-nll.err || true
