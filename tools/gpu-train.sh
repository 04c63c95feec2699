#!/usr/bin/env bash
# One training run of the demo model on the GPU machine (issue 18; docs/demo-model.md "Training
# on the GPU"): one command whose files come back in OUT_DIR, resumable run after run.
#
#   here, once:  python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#                  --implementation cp --platform manylinux_2_17_x86_64 -d .whl pycocotools
#                (the device image has torch, cv2, safetensors and transformers, not pycocotools)
#   the device:  run(command="bash tools/gpu-train.sh $OUT/t", carry=[".whl", ".gpu/train"])
#   after it:    mkdir -p .gpu/train && cp FILES_AT/t/checkpoint.part-* .gpu/train/   (next run)
#
# Starts from the checkpoint parts in PARTS_DIR (default .gpu/train: a previous run's OUT_DIR
# parts) or, without them, from INIT (default models/ufo-demo.safetensors; empty: random
# weights). Trains for TRAIN_SECONDS (default 360) on DEVICE (default cuda), then writes to
# OUT_DIR: train.log; checkpoint.part-* (<= 15 MiB each, the own-vocabulary rows only:
# tools/reference/ckpt_parts.py), first, so that a slow evaluation cannot lose them;
# ufo-demo.safetensors (own vocabulary); eval.txt / eval.json (eval_demo.py, EVAL_N held-out
# scenes, all five tasks, on DEVICE, at most EVAL_SECONDS); report.md. The schedule (STEPS,
# LR, WARMUP, TASKS) must stay the same from run to run of one training. REFS_PER_SCENE (4):
# grounding expressions per scene and step (train_demo.py --refs-per-scene); NUMBER_SIGMA (3): soft
# targets for grounding's box values (--number-sigma). OBJECTS (2-7): objects per scene, for all
# tasks and per task (--objects, e.g. 2-7,grounding=1-1: the curriculum of docs/demo-model.md).
# CYCLE_START (0): the step where the warm-up + cosine starts (--cycle-start): a new stage of a
# curriculum resumes the last stage's parts with its own TASKS, OBJECTS, STEPS and CYCLE_START
# = the step those parts stopped at.
set -uo pipefail
out=${1:?usage: gpu-train.sh OUT_DIR}
cd "$(dirname "$0")/.."
mkdir -p "$out"
out=$(cd "$out" && pwd)
report=$out/report.md
note() { echo "$*" | tee -a "$report"; }
: > "$report"
if ls .whl/*.whl > /dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/ufo-site .whl/*.whl && export PYTHONPATH=/tmp/ufo-site${PYTHONPATH:+:$PYTHONPATH}
fi
if ! python3 -c "import torch, cv2, numpy, pycocotools, safetensors, transformers" 2> "$out/import.log"; then
  note "FAIL: a Python package is missing: $(tail -1 "$out/import.log")"
  exit 2
fi
device=${DEVICE:-cuda}
parts=${PARTS_DIR:-.gpu/train}
work=$(mktemp -d /tmp/ufo-train.XXXXXX)
if ls "$parts"/checkpoint.part-* > /dev/null 2>&1; then
  python3 tools/reference/ckpt_parts.py unpack "$parts" "$work/checkpoint.pth" >> "$report" ||
    { note "FAIL: cannot unpack $parts"; exit 1; }
  start=(--resume "$work/checkpoint.pth")
elif [ -n "${INIT-models/ufo-demo.safetensors}" ]; then
  start=(--init "${INIT-models/ufo-demo.safetensors}")
else
  start=()
fi
note "# gpu-train $(date -u +%FT%TZ): device $device, start ${start[*]:-random weights}"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')" >> "$report" 2>&1
t0=$(date +%s)
python3 tools/reference/train_demo.py --preset "${PRESET:-cpu}" --device "$device" \
  --steps "${STEPS:-60000}" --batch "${BATCH:-8}" --lr "${LR:-3e-4}" --warmup "${WARMUP:-200}" \
  --tasks "${TASKS:-detection:1,instance:1,semantic:1,caption:2,grounding:2}" \
  --refs-per-scene "${REFS_PER_SCENE:-4}" --number-sigma "${NUMBER_SIGMA:-3}" --objects "${OBJECTS:-2-7}" --cycle-start "${CYCLE_START:-0}" --loss-vocab targets --class-weight 3 --log-every "${LOG_EVERY:-100}" --ckpt-every 1000 \
  --time-limit "${TRAIN_SECONDS:-360}" --out "$work" "${start[@]}" \
  --export "$out/ufo-demo.safetensors" > "$out/train.log" 2>&1
rc=$?
note "train_demo.py: exit $rc after $(($(date +%s) - t0)) s; last lines:"
tail -3 "$out/train.log" >> "$report"
[ -f "$work/checkpoint.pth" ] || { note "FAIL: no checkpoint"; exit 1; }
python3 tools/reference/ckpt_parts.py pack "$work/checkpoint.pth" "$out" >> "$report" ||
  { note "FAIL: cannot pack the checkpoint"; exit 1; }
rm -rf "$work"
[ "$rc" = 0 ] || exit "$rc"
timeout "${EVAL_SECONDS:-170}" python3 tools/reference/eval_demo.py \
  --model "$out/ufo-demo.safetensors" --n "${EVAL_N:-100}" --device "$device" \
  --json "$out/eval.json" > "$out/eval.txt" 2> "$out/eval.log"
note "eval_demo.py: exit $? ($(($(date +%s) - t0)) s in all)"
cat "$out/eval.txt" >> "$report"
