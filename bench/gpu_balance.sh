#!/usr/bin/env bash
# Render-vs-train balance on a GPU machine with the real stack: procedural simulator workers (pybullet
# renderer) -> ZeroMQ -> torchdata -> a Qwen2.5-VL-architecture model of realistic size (random weights,
# built from config), bf16 + LoRA, configs/qwen2.5-vl-3b-lora.yaml's training setup at 16 frames x 224^2.
#
# Run from the repo root on the device machine (the `run` tool), carrying .whl (see bench/gpu_env.sh):
#   bash bench/gpu_balance.sh            # writes report.md, balance.png, results.json, model_step.json, log to $OUT
# Knobs (env): WORKERS (1,2,4,8,12), STEPS (40), POINT_TIMEOUT (18 s), HIDDEN/LAYERS/HEADS/INTER (text model),
# BUDGET_S (wall limit of the python run, 270), PY (python3), SKIP_INSTALL=1 (packages already importable),
# MODEL_ARGS (extra make-tiny-model args, e.g. "--vision tiny" for a CPU smoke test), EXTRA (extra overrides).
set -u -o pipefail
OUT=${OUT:-runs/gpu-balance}
. bench/gpu_env.sh

MODEL=${MODEL:-/dev/shm/simsv-qwen25vl-2b}
if [ ! -f "$MODEL/config.json" ]; then
  # Qwen2.5-VL architecture: the released checkpoints' vision tower (32 blocks x 1280, patch 14) and a
  # Qwen2.5-1.5B-sized text model (hidden 1536, 28 layers, 12 heads / 2 kv, MLP 8960, vocab 151936)
  $PY -m simsv_stream.cli make-tiny-model "$MODEL" --family qwen2_5_vl --hidden "${HIDDEN:-1536}" \
    --layers "${LAYERS:-28}" --heads "${HEADS:-12}" --kv-heads 2 --intermediate "${INTER:-8960}" --vision full \
    --model-vocab 151936 --frame-side 224 --dtype bfloat16 --device "${BUILD_DEVICE:-cuda}" --overwrite \
    ${MODEL_ARGS:-} 2>&1 | grep -v "Writing model shards" | tee -a "$LOG" || { say "model build failed"; exit 1; }
fi
say "model at $MODEL ($(du -sh "$MODEL" | cut -f1))"

timeout -k 10 "${BUDGET_S:-270}" $PY bench/gpu_balance.py --config configs/qwen2.5-vl-3b-lora.yaml --out "$OUT" \
  --workers "${WORKERS:-1,2,4,8,12}" --steps "${STEPS:-40}" --warmup 3 --capacity-s "${CAPACITY_S:-3}" \
  --point-timeout "${POINT_TIMEOUT:-18}" --step-batches "${STEP_BATCHES:-1,4}" --step-reps "${STEP_REPS:-5}" \
  model.path="$MODEL" scales.frames=16 scales.size=224x224 ${EXTRA:-} 2>&1 \
  | grep --line-buffered -vE "FutureWarning|warnings.warn|Loading weights" | tee -a "$LOG"
rc=${PIPESTATUS[0]}
rm -f "$OUT/workers.log.gz"; [ -f "$OUT/workers.log" ] && gzip -f "$OUT/workers.log"
say "done rc=$rc; files: $(ls "$OUT" | tr '\n' ' ')"
exit "$rc"
