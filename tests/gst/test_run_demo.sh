#!/usr/bin/env bash
# The README's main job, tools/run-demo.sh, on this build: the procedural demo video (1 s here
# instead of 4), annotated by the demo model (ufoseg task=instance + ufodetect task=caption on one
# model instance -> ufooverlay -> H.264/MP4),
# and one frame as PNG. Usage (meson): test_run_demo.sh SOURCE_ROOT BUILD_ROOT
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$src/tests/gst/gst-tools-env.sh"
require_elements x264enc mp4mux avdec_h264 qtdemux h264parse pngenc
[ -f "$src/models/ufo-demo.safetensors" ] || { echo "FAIL: models/ufo-demo.safetensors is missing"; exit 1; }
SKIP_SETUP_DEPS=1 SKIP_BUILD=1 BUILD_DIR=$build DEMO_SECONDS=1 OUT_DIR=$tmp/out \
  bash "$src/tools/run-demo.sh" > "$tmp/log" 2>&1 || { cat "$tmp/log"; echo "FAIL: run-demo.sh failed"; exit 1; }
cat "$tmp/log"
# 15 frames of 480x480 in the annotated file, each with the instance results drawn
n=$("$build/tools/ufo-dump/ufo-dump" "filesrc location=$tmp/out/demo-annotated.mp4 ! qtdemux ! avdec_h264 ! videoconvert" 2> /dev/null |
  grep -c '"resolution":{"width":480,"height":480}')
[ "$n" -eq 15 ] || { echo "FAIL: demo-annotated.mp4 has $n frames of 480x480, expected 15"; exit 1; }
head -c 8 "$tmp/out/demo-frame.png" | od -An -c | grep -q 'P   N   G' ||
  { echo "FAIL: demo-frame.png is not a PNG"; exit 1; }
# the main job's two tasks on one model instance (annotate-file.sh CAPTION=1): every frame carries
# the instance objects and a caption
dump=$(GST_PLUGIN_PATH="$build/gst" "$build/tools/ufo-dump/ufo-dump" "filesrc location=$tmp/out/demo-input.mp4 ! qtdemux ! avdec_h264 ! videoconvert !
  ufoseg model=$src/models/ufo-demo.safetensors task=instance threshold=0.3 model-instance-id=d !
  ufodetect model=$src/models/ufo-demo.safetensors task=caption model-instance-id=d" 2> "$tmp/dump.err") ||
  { cat "$tmp/dump.err"; echo "FAIL: ufo-dump of the instance + caption chain failed"; exit 1; }
both=$(echo "$dump" | grep '"label":"' | grep -c '"caption":"[a-z]')
[ "$both" -eq 15 ] || { echo "$dump" | head -3; echo "FAIL: $both of 15 frames have both instance objects and a caption"; exit 1; }
grep -q 'model-instance-id=annotate-file' "$src/pipelines/annotate-file.sh" &&
  grep -q 'CAPTION=\$caption' "$src/tools/run-demo.sh" || { echo "FAIL: run-demo.sh no longer captions"; exit 1; }
echo "ok: run-demo.sh annotated $n frames (instance masks + caption) and wrote a PNG frame"
