#!/usr/bin/env bash
# The GPU check: ONE prepared run on a machine with an NVIDIA GPU (no GLib/GStreamer needed):
# the CUDA op-parity, selection and golden suites on the GPU, ufo-bench per stage (and one per-op
# profile) on UFO-ViT-B and the demo model, the PyTorch reference on the same GPU (fp32 and bf16
# autocast) side by side, and compute-sanitizer (memcheck; racecheck on our kernels) over the
# op tests; the elements in GStreamer pipelines on a 1080p H.264 file. Writes report.md, raw
# logs and annotated.mp4 into OUTDIR (at most 10 files).
#   bash tools/gpu-bundle.sh            # here: build + pack .gpu/bundle.tar.xz
#   bash tools/gpu-check.sh OUTDIR      # there, from the repository root, with .gpu carried
#   bash tools/gpu-check.sh --dry-run OUTDIR   # CI: the same script on the cuda-emu backend of
#                                              # BUILD_DIR (tiny fixtures, no GPU, no PyTorch)
# Options (env): QUICK=1 runs the tests and one benchmark only; BIN=dir overrides the binaries.
set -uo pipefail
cd "$(dirname "$0")/.."
DRY=0
if [ "${1:-}" = "--dry-run" ]; then
  DRY=1
  shift
fi
OUT=${1:?usage: gpu-check.sh [--dry-run] OUTDIR}
mkdir -p "$OUT"
ROOT=$PWD
if [ "$DRY" = 1 ]; then # the CI build: the test binaries link the emulated backend
  BUILD=${BUILD_DIR:-build-ci}
  TBIN=${BIN:-$BUILD/tests/engine/nn}
  BENCH=$BUILD/tools/ufo-bench/ufo-bench
  BE=cuda-emu DEV=cpu
  # the cuda-emu suite runs all of these in CI already: the dry run only keeps each step alive
  FIX_F32="tiny-caption-planted"
  FIX_BF16="tiny-caption-planted"
else
  if [ -f .gpu/bundle.tar.xz ] && [ ! -d .gpu/bin ]; then # tools/gpu-bundle.sh's archive
    tar -C .gpu -xJf .gpu/bundle.tar.xz || exit 1
  fi
  TBIN=${BIN:-.gpu/bin}
  BENCH=$TBIN/ufo-bench
  BE=cuda DEV=cuda
  FIX_F32="tiny-detection-free tiny-detection-planted tiny-instance-free tiny-instance-planted
    tiny-semantic-free tiny-semantic-planted tiny-caption-free tiny-caption-planted
    tiny-grounding-free tiny-grounding-planted vit-b-detection-planted vit-b-instance-planted
    vit-b-semantic-planted vit-b-caption-planted vit-b-grounding-planted"
  FIX_BF16="tiny-detection-planted tiny-instance-planted tiny-semantic-planted
    tiny-caption-planted tiny-grounding-planted vit-b-detection-planted"
  lt=$(ls /usr/local/cuda/lib64/libcublasLt.so.13 2>/dev/null ||
    find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)
  export LD_LIBRARY_PATH="$ROOT/.gpu/lib:$(dirname "${lt:-/usr/local/cuda/lib64/x}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
export UFO_FIXTURES_DIR="$ROOT/tests/data/fixtures"
R="$OUT/report.md"
T0=$(date +%s)
FAILED=0
say() { echo "$*" >>"$R"; }
# step NAME LOG TIMEOUT CMD...: runs CMD, appends its output to LOG, one result line in the report.
# Past the time budget (GPU_CHECK_BUDGET seconds, default 480: the device run is limited to 10
# minutes) the remaining steps are listed as skipped, so that the summaries are still written.
BUDGET=${GPU_CHECK_BUDGET:-480}
SKIPPED=0
step() {
  local name=$1 log=$2 to=$3
  shift 3
  local a b rc
  if [ $(($(date +%s) - T0)) -ge "$BUDGET" ]; then
    SKIPPED=$((SKIPPED + 1))
    say "| $name | skipped: past the ${BUDGET} s budget | |"
    return 0
  fi
  local left=$((BUDGET + 60 - $(date +%s) + T0)) # a step may overrun the budget by a minute
  [ "$to" -gt "$left" ] && to=$left
  a=$(date +%s.%N)
  echo "### $name: $*" >>"$OUT/$log"
  timeout "$to" "$@" >>"$OUT/$log" 2>&1
  rc=$?
  b=$(date +%s.%N)
  [ $rc -eq 0 ] || FAILED=$((FAILED + 1))
  say "| $name | $([ $rc -eq 0 ] && echo ok || echo "FAILED rc=$rc") | $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.1f", b - a}') s |"
  return $rc
}
: >"$R"
rm -f "$OUT"/*.log "$OUT/annotated.mp4" # a rerun into the same folder starts afresh
say "# gpu-check $(date -u +%FT%TZ) ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))$([ $DRY = 1 ] && echo ', dry run on cuda-emu')"
say '```'
if [ "$DRY" = 0 ]; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader >>"$R" 2>&1
  say "cuBLASLt: ${lt:-not found}"
fi
say "CPU: $(nproc) x$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
say '```'
say ""
say "| step | result | wall |"
say "|---|---|---|"
# 1. correctness on the GPU (CI runs the same suites on the emulation)
step "op parity ($BE vs cpu-ref)" tests.log 180 "$TBIN/test-nn-ops" --backend=$BE
step "decode selection" tests.log 120 "$TBIN/test-nn-select" --backend=$BE
step "graph slots (record, replay, fall back)" tests.log 120 "$TBIN/test-nn-graph" --backend=$BE
ATTN_ARGS=() # the dry run: one case (the cuda-emu suite runs them all)
[ "$DRY" = 1 ] && ATTN_ARGS=(-p /nn/attention-bf16/windows)
step "bf16 tensor-core attention" tests.log 120 "$TBIN/test-nn-attention-bf16" --backend=$BE \
  "${ATTN_ARGS[@]}"
step "preprocessing (frame -> input tensor)" tests.log 120 "$TBIN/test-nn-preprocess" --backend=$BE
step "mask ops" tests.log 120 "$TBIN/test-nn-mask-ops" --backend=$BE
step "shared weights" tests.log 120 "$TBIN/test-nn-shared" --backend=$BE
if [ "$DRY" = 0 ]; then # sessions reach the GPU through the factory (no emulated device there)
  step "downloads per frame and decode step" tests.log 120 "$TBIN/test-seg-download" --device=cuda
  step "prepared sessions allocate nothing" tests.log 180 "$TBIN/test-session" --device=cuda \
    -p /session/prepare/detection -p /session/prepare/caption -p /session/prepare/instance \
    -p /session/prepare/semantic
  step "<MASK> runs in draft passes = step by step" tests.log 120 \
    "$TBIN/test-decode-ahead-session" --device=cuda
  step "CUDA graphs replay = op by op" tests.log 180 "$TBIN/test-session" --device=cuda \
    -p /session/graphs/detection -p /session/graphs/grounding -p /session/graphs/caption \
    -p /session/graphs-bf16/detection
fi
for f in $FIX_F32; do
  step "golden $f" tests.log 180 "$TBIN/test-nn-golden" --backend=$BE "$f"
done
for f in $FIX_BF16; do
  step "golden bf16 $f" tests.log 180 "$TBIN/test-nn-golden" --backend=$BE --precision=bf16 "$f"
done
# 2. speed: ufo-bench per stage (random ViT-B weights, docs/weights-prng.md; the demo model)
bench() { # NAME ARGS...
  local name=$1
  shift
  step "bench $name" bench.log 150 "$BENCH" --device $DEV "$@"
}
# the rest of the benchmarks, after the side by side and the pipelines (the time budget may end
# before them)
more_benches() {
  # every grid decoded to its [SEP] (UFO_END_FIRST=0: no grid ends at a first token its task
  # rejects), for that gain against the first line (docs/performance.md section 23)
  step "bench vit-b detection 1120 bf16 trained, no end-first" bench.log 150 env UFO_END_FIRST=0 \
    "$BENCH" --device $DEV $B $V --task detection --width 1120 --height 1120 --precision bf16 --plan trained
  bench "vit-b detection 1120 fp32" $B $V --task detection --width 1120 --height 1120
  # masks as bytes, as the elements ask for them (a quarter of the download)
  bench "vit-b instance 1120 bf16 trained" $B $V --task instance --width 1120 --height 1120 --precision bf16 --plan trained --gray-masks
  bench "vit-b semantic 672 bf16 trained" $B $V --task semantic --width 672 --height 672 --precision bf16 --plan trained
  # the same step by step (UFO_DECODE_AHEAD=0: no draft passes over the <MASK> runs), for their gain
  step "bench vit-b semantic 672 bf16 trained, step by step" bench.log 150 env UFO_DECODE_AHEAD=0 \
    "$BENCH" --device $DEV $B $V --task semantic --width 672 --height 672 --precision bf16 --plan trained
  bench "vit-b caption 224 bf16 trained" $B $V --task caption --width 224 --height 224 --precision bf16 --plan trained
  bench "vit-b grounding 224 bf16 trained" $B $V --task grounding --width 224 --height 224 --precision bf16 --plan trained
  bench "vit-b caption 224 bf16, 4 sessions of one model" $B $V --task caption --width 224 --height 224 --precision bf16 --plan trained --sessions 4
  bench "demo instance 480 fp32" $B --model models/ufo-demo.safetensors --task instance --width 480 --height 480
  step "profile vit-b detection 1120 bf16" profile.log 150 "$BENCH" --device cuda --profile \
    --iterations 2 --warmup 1 $V --task detection --width 1120 --height 1120 --precision bf16
  # a draft pass's ops (one causal attention per layer, the selection inside) against the steps'
  step "profile vit-b semantic 672 bf16 trained" profile.log 150 "$BENCH" --device cuda --profile \
    --iterations 2 --warmup 1 $V --task semantic --width 672 --height 672 --precision bf16 --plan trained
  step "profile vit-b caption 224 bf16" profile.log 150 "$BENCH" --device cuda --profile \
    --iterations 2 --warmup 1 $V --task caption --width 224 --height 224 --precision bf16
}
if [ "$DRY" = 1 ]; then
  bench "tiny detection (dry run: cpu)" --config tiny --task detection --iterations 1 --warmup 0 --profile
  bench "tiny detection batch 2 (dry run: cpu)" --config tiny --task detection --iterations 1 --warmup 0 --batch 2
  bench "tiny instance trained (dry run: cpu)" --config tiny --task instance --iterations 1 --warmup 0 --plan trained --gray-masks
  bench "tiny detection, 2 in flight (dry run: cpu)" --config tiny --task detection --iterations 1 --warmup 0 --nireq 2 --threads 1
  step "side by side tiny caption trained (dry run: cpu)" torch.log 300 python3 \
    tools/reference/side_by_side.py --ufo-bench "$BENCH" --config tiny --task caption \
    --plan trained --device cpu --iterations 1 --warmup 0 --threads 2
else
  B="--iterations 10 --warmup 3"
  V="--config vit-b"
  bench "vit-b detection 1120 bf16 trained" $B $V --task detection --width 1120 --height 1120 --precision bf16 --plan trained
  # the same without graphs (UFO_GRAPHS=0: every op issued by itself), for the graphs' gain
  step "bench vit-b detection 1120 bf16 trained, no graphs" bench.log 150 env UFO_GRAPHS=0 \
    "$BENCH" --device $DEV $B $V --task detection --width 1120 --height 1120 --precision bf16 --plan trained
  bench "vit-b detection 1120 bf16 worst" $B $V --task detection --width 1120 --height 1120 --precision bf16
  bench "vit-b detection 1120 bf16 trained, batch 8" --iterations 4 --warmup 1 $V --task detection --width 1120 --height 1120 --precision bf16 --plan trained --batch 8
  # two frames in flight on two sessions (an element's nireq=2): the next frame's image pass
  # overlaps this one's decode steps; the aggregate against the batch-1 line above
  bench "vit-b detection 1120 bf16 trained, 2 in flight" $B $V --task detection --width 1120 --height 1120 --precision bf16 --plan trained --nireq 2
  if [ "${QUICK:-0}" != 1 ]; then
    # 3. the PyTorch reference on the same GPU, weights, frame and plan, side by side with
    # ufo-bench (tools/reference/side_by_side.py: bf16 autocast, greedy kept on the GPU)
    if python3 -c 'import torch, cv2, tokenizers, safetensors; assert torch.cuda.is_available()' 2>>"$OUT/torch.log"; then
      for t in "detection 1120 trained" "detection 1120 worst" "caption 224 trained"; do
        set -- $t
        step "side by side vit-b $1 $2 bf16 $3 (ufo-bench, PyTorch)" torch.log 240 env \
          PYTHONUNBUFFERED=1 python3 tools/reference/side_by_side.py --ufo-bench "$BENCH" \
          --config vit-b --task "$1" --size "$2" --precision bf16 --plan "$3" --device cuda \
          --iterations 3 --warmup 1
      done
    else
      say "| pytorch reference | not run: torch, cv2, tokenizers, safetensors or CUDA missing (torch.log) | |"
    fi
  fi
fi
# 3b. the elements in GStreamer pipelines (the bundle's Debian GStreamer as a prefix; the dry run:
# this machine's GStreamer and the build's plugin on the CPU): a 1080p H.264 file decoded (NVDEC
# when nvcodec finds it, else openh264 on the CPU), ufodetect device=cuda -> fpsdisplaysink, and
# ufoseg instance + ufooverlay -> x264 -> annotated.mp4 in OUTDIR
if [ "${QUICK:-0}" != 1 ]; then
  GREG=$(mktemp -d)
  export GST_REGISTRY_1_0="$GREG/registry.bin" GST_REGISTRY="$GREG/registry.bin"
  if [ "$DRY" = 0 ]; then
    G=$ROOT/.gpu
    export GST_PLUGIN_SYSTEM_PATH_1_0="$G/gst/plugins" GST_PLUGIN_PATH= GST_PLUGIN_PATH_1_0= \
      GST_PLUGIN_SCANNER_1_0="$G/gst/gst-plugin-scanner" GST_PLUGIN_SCANNER="$G/gst/gst-plugin-scanner" \
      FONTCONFIG_FILE="$G/fonts/fonts.conf"
    GL="$G/bin/gst-launch-1.0" GI="$G/bin/gst-inspect-1.0" VIDEO="$G/media/demo-1080p.mp4"
    RES=1080p
  else # the CI build: system tools, with the sanitizer runtimes preloaded for them if needed
    GL=$(command -v gst-launch-1.0) GI=$(command -v gst-inspect-1.0) VIDEO="$GREG/clip.mp4"
    RES="320x240 (dry run)"
    # the clip first: its encoder runs without the build's (maybe instrumented) plugin
    python3 tools/reference/make_demo_video.py --out "$VIDEO" --width 320 --height 240 --fps 4 \
      --seconds 1 >>"$OUT/pipeline.log" 2>&1
    export GST_PLUGIN_PATH="$BUILD/gst"
    if [ -n "${UFO_SANITIZER_PRELOAD:-}" ]; then
      for t in gst-launch-1.0 gst-inspect-1.0; do
        printf '#!/bin/sh\nLD_PRELOAD="%s" exec "%s" "$@"\n' "$UFO_SANITIZER_PRELOAD" \
          "$(command -v $t)" >"$GREG/$t"
        chmod +x "$GREG/$t"
      done
      GL="$GREG/gst-launch-1.0" GI="$GREG/gst-inspect-1.0"
      export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 GST_REGISTRY_FORK=no
    fi
  fi
  DEC=
  for d in nvh264dec openh264dec avdec_h264; do
    if "$GI" "$d" >/dev/null 2>&1; then DEC=$d && break; fi
  done
  say "| decoder for the pipelines | ${DEC:-none found} | |"
  M=models/ufo-demo.safetensors
  IN=(filesrc location="$VIDEO" ! qtdemux ! h264parse ! "${DEC:-nvh264dec}")
  step "pipeline: $RES H.264 -> $DEC -> ufodetect device=$DEV (demo model) -> fpsdisplaysink" \
    pipeline.log 120 "$GL" -v "${IN[@]}" ! ufodetect device=$DEV model=$M threshold=0.3 ! \
    fpsdisplaysink video-sink=fakesink text-overlay=false sync=false
  # the same stream with two frames in flight (nireq 2: the next frame's image pass overlaps this
  # one's decode steps, docs/elements.md "Frames in flight")
  step "pipeline: $RES H.264 -> $DEC -> ufodetect device=$DEV nireq=2 (frames in flight) -> fpsdisplaysink" \
    pipeline-nireq2.log 120 "$GL" -v "${IN[@]}" ! ufodetect device=$DEV model=$M threshold=0.3 \
    nireq=2 ! fpsdisplaysink video-sink=fakesink text-overlay=false sync=false
  # zero-copy: NVDEC's frames stay in CUDA memory of the context ufodetect announces (the
  # engine's), read in place (docs/elements.md "CUDA memory"); the element warns if it copies
  if [ "$DEC" = nvh264dec ] && [ "$DRY" = 0 ]; then
    step "pipeline: $RES H.264 -> nvh264dec -> CUDAMemory -> ufodetect device=cuda (zero-copy) -> fpsdisplaysink" \
      pipeline-cuda.log 120 env GST_DEBUG=ufodetect:4,GST_CONTEXT:4 "$GL" -v "${IN[@]}" ! \
      'video/x-raw(memory:CUDAMemory)' ! ufodetect device=cuda model=$M threshold=0.3 ! \
      fpsdisplaysink video-sink=fakesink text-overlay=false sync=false
  fi
  step "pipeline: $RES H.264 -> $DEC -> ufoseg task=instance device=$DEV -> ufooverlay -> x264 -> annotated.mp4" \
    pipeline.log 150 "$GL" -e "${IN[@]}" ! ufoseg device=$DEV model=$M task=instance \
    threshold=0.3 ! ufooverlay ! videoconvert ! x264enc speed-preset=ultrafast ! h264parse ! \
    mp4mux ! filesink location="$OUT/annotated.mp4"
  # 8 streams of the file on one model instance, batched (issue 17: aggregate >= 1.5x batch 1);
  # then the same with two inference requests (nireq 2: two batches at once, two sessions)
  NS=8
  [ "$DRY" = 1 ] && NS=2
  for NIREQ in 1 2; do
    ARGS=()
    for i in $(seq 1 $NS); do
      ARGS+=("${IN[@]}" ! ufodetect device=$DEV model=$M threshold=0.3 model-instance-id=fleet
        batch-size=$NS batch-timeout=50 nireq=$NIREQ ! fpsdisplaysink name=s$i video-sink=fakesink
        text-overlay=false sync=false)
    done
    LOG=pipeline-streams.log
    [ $NIREQ = 2 ] && LOG=pipeline-streams-nireq2.log
    step "pipeline: $NS x $RES streams -> ufodetect device=$DEV, one model instance, batch-size $NS, nireq $NIREQ" \
      $LOG 180 "$GL" -v "${ARGS[@]}"
  done
  rm -rf "$GREG"
fi
if [ "$DRY" = 0 ] && [ "${QUICK:-0}" != 1 ]; then
  more_benches
fi
# 4. compute-sanitizer last: slow, and the numbers above matter more if time runs out. The op
# tests provoke one out-of-memory cudaMalloc on purpose: API errors are not reported.
if [ "$DRY" = 0 ] && [ "${QUICK:-0}" != 1 ] && command -v compute-sanitizer >/dev/null; then
  step "compute-sanitizer memcheck (op tests)" sanitizer.log 150 compute-sanitizer \
    --tool memcheck --report-api-errors no --error-exitcode 9 "$TBIN/test-nn-ops" --backend=cuda
  step "compute-sanitizer racecheck (our kernels)" sanitizer.log 150 compute-sanitizer \
    --tool racecheck --error-exitcode 9 --kernel-name kns=ufo_cuda_gpu_impl \
    "$TBIN/test-nn-ops" --backend=cuda
fi
say ""
say "## ufo-bench summaries"
say '```'
grep -E '^### |total|image pass|decode  |decode steps|decode download|frames/s|grid pass|text pass|post-proc|preprocess' "$OUT/bench.log" >>"$R" 2>/dev/null
say '```'
if [ -f "$OUT/torch.log" ]; then
  say "## Side by side with the PyTorch reference (tools/reference/side_by_side.py)"
  say '```'
  grep -vE '^\{|^\[' "$OUT/torch.log" | tail -60 >>"$R"
  say '```'
fi
if [ -f "$OUT/pipeline.log" ]; then
  say "## Pipelines (fpsdisplaysink's last measurement: frames rendered, fps over the run)"
  say '```'
  echo "one stream: $(grep -oE 'rendered: [0-9]+, dropped: [0-9]+, current: [0-9.]+, average: [0-9.]+' \
    "$OUT/pipeline.log" | tail -1)" >>"$R"
  [ -f "$OUT/pipeline-nireq2.log" ] &&
    echo "one stream, nireq 2: $(grep -oE 'rendered: [0-9]+, dropped: [0-9]+, current: [0-9.]+, average: [0-9.]+' \
      "$OUT/pipeline-nireq2.log" | tail -1)" >>"$R"
  for LOG in pipeline-streams pipeline-streams-nireq2; do # each sink's last average, summed
    [ -f "$OUT/$LOG.log" ] || continue
    grep -oE 's[0-9]+: last-message = rendered: [0-9]+, dropped: [0-9]+, current: [0-9.]+, average: [0-9.]+' \
      "$OUT/$LOG.log" | awk -v what="$LOG" '{s[$1] = $NF; n[$1] = $5} END {for (k in s) {t += s[k]; f += n[k]};
        printf "%s: %d sinks, %d frames rendered, aggregate average %.2f fps\n", what, length(s), f, t}' >>"$R"
  done
  if [ -f "$OUT/pipeline-cuda.log" ]; then
    echo "zero-copy (nvh264dec CUDAMemory): $(grep -oE 'rendered: [0-9]+, dropped: [0-9]+, current: [0-9.]+, average: [0-9.]+' \
      "$OUT/pipeline-cuda.log" | tail -1)" >>"$R"
    grep -hoE 'CUDA-memory input: .*|no CUDA context for CUDA-memory input: .*|another CUDA context[^.]*' \
      "$OUT/pipeline-cuda.log" | sort -u | head -3 >>"$R"
  fi
  grep -hE 'ERROR|WARN' "$OUT"/pipeline*.log | grep -v GST_CONTEXT | head -10 >>"$R"
  say '```'
fi
say "total wall $(($(date +%s) - T0)) s, $FAILED failed steps, $SKIPPED skipped (budget ${BUDGET} s)"
cat "$R"
[ "$FAILED" -eq 0 ]
