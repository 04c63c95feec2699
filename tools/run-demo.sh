#!/usr/bin/env bash
# The main job from a clean clone: installs dependencies, builds gst-ufo, makes the procedural demo
# video and annotates it with the model shipped in models/ (ufoseg → ufooverlay → H.264/MP4).
#
#   bash tools/run-demo.sh                  # → out/demo-annotated.mp4 and out/demo-frame.png
#   MODEL=path.safetensors TASK=detection THRESHOLD=0.5 bash tools/run-demo.sh
#
# Objects scoring below THRESHOLD (default 0.3) are not drawn.
#
# The default model is the project's demo model, models/ufo-demo.safetensors (trained on procedural
# shapes, docs/demo-model.md), with instance segmentation (ufoseg: masks, boxes taken from the
# masks, labels, scores; mask AP50 0.94 held-out) and, from the same model instance, each frame's
# caption (ufodetect task=caption; CAPTION=0 leaves it out). TASK=detection runs ufodetect (the
# detection task's boxes). Without that file
# the deterministic RANDOM-WEIGHT "tiny" model is used with the caption task: its output is
# meaningless, but the pipeline runs for real.
#
# CI (the run-demo test, tests/gst/meson.build) runs it on its own build with SKIP_SETUP_DEPS=1
# SKIP_BUILD=1 BUILD_DIR=<build> DEMO_SECONDS=1 OUT_DIR=<dir>: same steps, a shorter video.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SKIP_SETUP_DEPS:-}" ] || bash tools/setup-deps.sh
BUILD=${BUILD_DIR:-build-demo}
if [ -z "${SKIP_BUILD:-}" ]; then
  [ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release -Dtests=false
  meson compile -C "$BUILD"
fi
out=${OUT_DIR:-out}
mkdir -p "$out"
if [ -n "${MODEL:-}" ]; then
  model=$MODEL
elif [ -f models/ufo-demo.safetensors ]; then
  model=models/ufo-demo.safetensors
else
  model="random:tiny:0"
  echo "NOTE: models/ufo-demo.safetensors is not in the repository yet; using the deterministic"
  echo "      random-weight 'tiny' model: outputs are meaningless (see docs/demo-model.md)."
fi
if [ "$model" = "random:tiny:0" ]; then task=${TASK:-caption}; else task=${TASK:-instance}; fi
case "$task" in
  instance|semantic) element=ufoseg ;;
  *) element=ufodetect ;;
esac
[ -f "$out/demo-input.mp4" ] ||
  python3 tools/reference/make_demo_video.py --out "$out/demo-input.mp4" --seconds "${DEMO_SECONDS:-4}"
# the demo model also captions every frame (a second element on the same model instance); a
# random-weight model's caption would be noise over the picture. CAPTION=0 leaves it out.
if [ "$model" = "random:tiny:0" ] || [ "$task" = caption ]; then caption=0; else caption=${CAPTION:-1}; fi
CAPTION=$caption BUILD_DIR=$BUILD ELEMENT=$element pipelines/annotate-file.sh "$out/demo-input.mp4" "$out/demo-annotated.mp4" \
  "$model" task="$task" threshold="${THRESHOLD:-0.3}"
# one annotated frame as a picture
GST_PLUGIN_PATH="$BUILD/gst" gst-launch-1.0 -q filesrc location="$out/demo-annotated.mp4" ! qtdemux ! \
  h264parse ! avdec_h264 ! videoconvert ! videorate ! video/x-raw,framerate=1/1 ! \
  pngenc snapshot=true ! filesink location="$out/demo-frame.png"
echo "annotated video: $out/demo-annotated.mp4 ($(stat -c %s "$out/demo-annotated.mp4") bytes)," \
  "frame: $out/demo-frame.png ($(stat -c %s "$out/demo-frame.png") bytes)"
