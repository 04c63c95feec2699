#!/usr/bin/env bash
# The GPU check: ONE prepared run on a machine with an NVIDIA GPU (no GLib/GStreamer needed):
# the CUDA op-parity and golden suites on the GPU, compute-sanitizer (memcheck, racecheck on our
# kernels) over the op tests, ufo-bench per stage on UFO-ViT-B and the demo model, and the
# PyTorch reference on the same GPU, side by side. Writes report.md and raw logs into OUTDIR.
#   bash tools/gpu-bundle.sh            # here: build + collect .gpu/{bin,lib}
#   bash tools/gpu-check.sh OUTDIR      # there, from the repository root, with .gpu carried
# Options (env): QUICK=1 runs tests + one benchmark only; BIN=dir overrides .gpu/bin.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: gpu-check.sh OUTDIR}
mkdir -p "$OUT"
ROOT=$PWD
if [ -f .gpu/bundle.tar.xz ] && [ ! -d .gpu/bin ]; then # tools/gpu-bundle.sh's archive
  tar -C .gpu -xJf .gpu/bundle.tar.xz || exit 1
fi
BIN=${BIN:-.gpu/bin}
lt=$(ls /usr/local/cuda/lib64/libcublasLt.so.13 2>/dev/null ||
  find / -name 'libcublasLt.so.13*' -not -path '*/proc/*' 2>/dev/null | head -1)
export LD_LIBRARY_PATH="$ROOT/.gpu/lib:$(dirname "${lt:-/usr/local/cuda/lib64/x}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export UFO_FIXTURES_DIR="$ROOT/tests/data/fixtures"
R="$OUT/report.md"
T0=$(date +%s)
say() { echo "$*" | tee -a "$R"; }
# step NAME LOG TIMEOUT CMD...: runs CMD, appends its output to LOG, one result line in the report
step() {
  local name=$1 log=$2 to=$3
  shift 3
  local a=$(date +%s.%N)
  echo "### $name: $*" >>"$OUT/$log"
  timeout "$to" "$@" >>"$OUT/$log" 2>&1
  local rc=$? b=$(date +%s.%N)
  say "| $name | $([ $rc -eq 0 ] && echo ok || echo "FAILED rc=$rc") | $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.1f", b - a}') s |"
  return $rc
}
: >"$R"
say "# gpu-check $(date -u +%FT%TZ) ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
say '```'
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1 | tee -a "$R"
say "cuBLASLt: ${lt:-not found}; CPU: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
say '```'
say ""
say "| step | result | wall |"
say "|---|---|---|"
# 1. correctness on the GPU (the CPU emulation runs the same suites in CI)
step "op parity (cuda vs cpu-ref)" tests.log 180 "$BIN/test-nn-ops" --backend=cuda
step "decode selection (argmax_rows)" tests.log 60 "$BIN/test-nn-select" --backend=cuda
step "bf16 tensor-core attention" tests.log 60 "$BIN/test-nn-attention-bf16" --backend=cuda
for f in tiny-detection-planted tiny-instance-planted tiny-semantic-planted tiny-caption-planted \
  tiny-grounding-planted vit-b-detection-planted; do
  step "golden bf16 $f" tests.log 120 "$BIN/test-nn-golden" --backend=cuda --precision=bf16 "$f"
done
for f in tiny-detection-free tiny-detection-planted tiny-instance-free tiny-instance-planted \
  tiny-semantic-free tiny-semantic-planted tiny-caption-free tiny-caption-planted \
  tiny-grounding-free tiny-grounding-planted vit-b-detection-planted vit-b-instance-planted \
  vit-b-semantic-planted vit-b-caption-planted vit-b-grounding-planted; do
  step "golden $f" tests.log 120 "$BIN/test-nn-golden" --backend=cuda "$f"
done
# 2. speed: ufo-bench per stage (random ViT-B weights, docs/weights-prng.md; demo model)
bench() { # NAME ARGS...
  local name=$1
  shift
  step "bench $name" bench.log 150 "$BIN/ufo-bench" --device cuda --iterations 10 --warmup 3 "$@"
}
bench "vit-b detection 1120 bf16" --config vit-b --task detection --width 1120 --height 1120 --precision bf16
if [ "${QUICK:-0}" != 1 ]; then
  bench "vit-b detection 1120 fp32" --config vit-b --task detection --width 1120 --height 1120 --precision fp32
  bench "vit-b instance 1120 bf16" --config vit-b --task instance --width 1120 --height 1120 --precision bf16
  bench "vit-b semantic bf16" --config vit-b --task semantic --width 672 --height 672 --precision bf16
  bench "vit-b caption bf16" --config vit-b --task caption --width 224 --height 224 --precision bf16
  bench "vit-b grounding bf16" --config vit-b --task grounding --width 224 --height 224 --precision bf16
  bench "demo instance 480 fp32" --model models/ufo-demo.safetensors --task instance --width 480 --height 480
  bench "cpu backend: vit-b caption 224 fp32 (host CPU)" --config vit-b --task caption --width 224 --height 224 --device cpu --iterations 2 --warmup 1
  # 3. the PyTorch reference on the same GPU and weights (fp32, its CLI's host-side decode loop)
  if python3 -c 'import torch, cv2, tokenizers, safetensors; assert torch.cuda.is_available()' 2>>"$OUT/torch.log"; then
    step "pytorch vit-b detection 1120 fp32" torch.log 200 env PYTHONUNBUFFERED=1 python3 \
      tools/reference/ufo_ref.py --config vit-b --task detection --random-weights 0 \
      --image synthetic --device cuda --repeat 4
    step "pytorch vit-b caption 224 fp32" torch.log 120 env PYTHONUNBUFFERED=1 python3 \
      tools/reference/ufo_ref.py --config vit-b --task caption --random-weights 0 \
      --image synthetic --device cuda --repeat 4
  else
    say "| pytorch reference | not run: torch/cv2/tokenizers/safetensors or CUDA missing (torch.log) | |"
  fi
fi
# 4. compute-sanitizer last: slow, and the numbers above matter more if time runs out
if [ "${QUICK:-0}" != 1 ] && command -v compute-sanitizer >/dev/null; then
  step "compute-sanitizer memcheck (op tests)" sanitizer.log 150 compute-sanitizer \
    --tool memcheck --error-exitcode 9 "$BIN/test-nn-ops" --backend=cuda
  step "compute-sanitizer racecheck (our kernels)" sanitizer.log 150 compute-sanitizer \
    --tool racecheck --error-exitcode 9 --kernel-name kns=ufo_cuda_gpu_impl \
    "$BIN/test-nn-ops" --backend=cuda
fi
say ""
say "## ufo-bench summaries"
say '```'
grep -E '^ufo-bench:|^### |total|image pass|decode  |frames/s|grid pass|text pass|post-proc|preprocess' "$OUT/bench.log" >>"$R" 2>/dev/null
say '```'
if [ -f "$OUT/torch.log" ]; then
  say "## PyTorch reference (stderr timing lines)"
  say '```'
  grep -viE '^\{|^\[' "$OUT/torch.log" | tail -40 >>"$R"
  say '```'
fi
say "total wall $(($(date +%s) - T0)) s"
grep -q FAILED "$R" && exit 1 || exit 0
