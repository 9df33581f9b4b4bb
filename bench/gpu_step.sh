#!/usr/bin/env bash
# Every GPU measurement of the training step, in one run (< 8 minutes on an H100/H200):
#   1. `bench step` for the 2.46 B Qwen2.5-VL-architecture bench model (the released vision tower, a
#      Qwen2.5-1.5B-sized text model; random weights built from config) at batch 4, 16 x 224^2, every
#      variant (each speed fix off in turn, and all off: `legacy`), plus the opt-in `compile`;
#   2. `bench step` for configs/qwen2.5-vl-3b-lora.yaml on a random model of Qwen2.5-VL-3B's architecture
#      (hidden 2048, 36 layers, 16/2 heads, MLP 11008), the config's own scales (16 x 448^2, batch 4);
#   3. `bench balance --model-step-ms <the new step of 1.>`: the real stream (procedural workers, ZeroMQ,
#      torchdata) on the device's CPU cores, sized for the new step.
# Writes step-2b.{json,png}, step-3b.{md,png}, balance/ (report.md, balance.png, results.json) and log.txt
# (every table as printed) to $OUT: the 8 files the device tool brings back. Run from the repo root on the device machine (the `run` tool), carrying .whl (bench/gpu_env.sh).
#
# Knobs (env): REPS (10), WARMUP (3), WORKERS (1,2,4,8,12), SKIP_3B=1, SKIP_BALANCE=1, SKIP_INSTALL=1,
# DEVICE (cuda), BUILD_DEVICE (cuda), PY (python3), SMALL=1 (a CPU rehearsal: structure-width models,
# 4 frames, 1 rep; checks that every step of the script runs, measures nothing worth reporting).
set -u -o pipefail
OUT=${OUT:-runs/gpu-step}
. bench/gpu_env.sh
REPS=${REPS:-10}; WARMUP=${WARMUP:-3}; DEV=${DEVICE:-cuda}; BUILD=${BUILD_DEVICE:-cuda}
if [ "${SMALL:-0}" = 1 ]; then
  REPS=1; WARMUP=1; DEV=cpu; BUILD=cpu
  M2="--hidden 64 --layers 28 --heads 4 --kv-heads 2 --intermediate 128 --vision-hidden 64"
  M3="--hidden 64 --layers 36 --heads 4 --kv-heads 2 --intermediate 128 --vision-hidden 64"
  SCALE="--frames 4"; SCALE3="scales.frames=4 scales.size=224x224"; VOCAB=""; DT=""
  MODEL_2B=${MODEL_2B:-/tmp/simsv-small-2b}; MODEL_3B=${MODEL_3B:-/tmp/simsv-small-3b}
else
  M2="--hidden 1536 --layers 28 --heads 12 --kv-heads 2 --intermediate 8960"
  M3="--hidden 2048 --layers 36 --heads 16 --kv-heads 2 --intermediate 11008"
  SCALE=""; SCALE3=""; VOCAB="--model-vocab 151936"; DT="--dtype bfloat16"
fi
build() {  # DIR FRAME_SIDE ARGS...: a random Qwen2.5-VL-architecture model with the released vision tower
  local dir=$1 side=$2; shift 2
  [ -f "$dir/config.json" ] && return 0
  $PY -m simsv_stream.cli make-tiny-model "$dir" --family qwen2_5_vl --vision full --frame-side "$side" $VOCAB $DT \
    --device "$BUILD" --overwrite "$@" 2>&1 | grep -v "Writing model shards" | tee -a "$LOG"
}
rc=0

M2B=${MODEL_2B:-/dev/shm/simsv-qwen25vl-2b}
build "$M2B" 224 $M2 || { say "2B model build failed"; exit 1; }
say "2.46B bench model at $M2B ($(du -sh "$M2B" | cut -f1))"
timeout -k 10 240 $PY -m simsv_stream.cli bench step --model "$M2B" --batch 4 --frames 16 --size 224x224 \
  --device "$DEV" --reps "$REPS" --warmup "$WARMUP" --variants all,compile $SCALE --out "$OUT/step-2b.json" \
  2>&1 | grep --line-buffered -vE "Warning|warn\(|Loading weights|USDT" | tee -a "$LOG" || rc=1
STEP_MS=$($PY -c "import json; print(round(json.load(open('$OUT/step-2b.json'))['ms_median']))" 2>/dev/null || echo "")
say "2.46B fast step: ${STEP_MS:-?} ms"

if [ "${SKIP_3B:-0}" != 1 ]; then
  M3B=${MODEL_3B:-/dev/shm/simsv-qwen25vl-3b}
  build "$M3B" 448 $M3 && say "3B-architecture model at $M3B ($(du -sh "$M3B" | cut -f1))"
  rm -rf "$M2B"  # free /dev/shm and host memory for the 3B model
  timeout -k 10 150 $PY -m simsv_stream.cli bench step --config configs/qwen2.5-vl-3b-lora.yaml --model "$M3B" \
    --device "$DEV" --reps "$REPS" --warmup "$WARMUP" --variants fast,checkpointing --out "$OUT/step-3b.md" \
    $SCALE3 trainer.accelerator=auto 2>&1 | grep --line-buffered -vE "Warning|warn\(|Loading weights|USDT" \
    | tee -a "$LOG" || rc=1
  rm -rf "$M3B"
fi

if [ "${SKIP_BALANCE:-0}" != 1 ] && [ -n "$STEP_MS" ]; then
  timeout -k 10 200 $PY -m simsv_stream.cli bench balance --config configs/qwen2.5-vl-3b-lora.yaml \
    --model-step-ms "$STEP_MS" --workers "${WORKERS:-1,2,4,8,12}" --steps 40 --no-sweep --no-baseline \
    --capacity-s 3 --point-timeout 20 --out "$OUT/balance" scales.frames=16 scales.size=224x224 \
    2>&1 | grep --line-buffered -vE "Warning|warn\(" | tee -a "$LOG" || rc=1
  rm -f "$OUT/balance/workers.log"
fi
say "done rc=$rc; files: $(ls -R "$OUT" | tr '\n' ' ')"
exit "$rc"
