#!/usr/bin/env bash
# The main job from a clean clone: installs dependencies, builds gst-ufo, makes the procedural demo
# video and annotates it with the model shipped in models/ (ufodetect → ufooverlay → H.264/MP4).
#
#   bash tools/run-demo.sh                  # → out/demo-annotated.mp4 and out/demo-frame.png
#   MODEL=path.safetensors TASK=detection bash tools/run-demo.sh
#
# Until the trained demo model (models/ufo-demo.safetensors, docs/demo-model.md) is in the
# repository, the shipped model is the deterministic RANDOM-WEIGHT "tiny" model
# (docs/weights-prng.md): the pipeline runs for real, but its outputs are meaningless — detection
# finds nothing and the caption is a string of random words. The demo therefore shows the caption
# task by default so that something is drawn.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-deps.sh
BUILD=${BUILD_DIR:-build-demo}
[ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release -Dtests=false
meson compile -C "$BUILD"
mkdir -p out
if [ -n "${MODEL:-}" ]; then
  model=$MODEL
elif [ -f models/ufo-demo.safetensors ]; then
  model=models/ufo-demo.safetensors
else
  model="random:tiny:0"
  echo "NOTE: models/ufo-demo.safetensors is not in the repository yet; using the deterministic"
  echo "      random-weight 'tiny' model: outputs are meaningless (see docs/demo-model.md)."
fi
if [ "$model" = "random:tiny:0" ]; then task=${TASK:-caption}; else task=${TASK:-detection}; fi
case "$task" in
  instance|semantic) element=ufoseg ;;
  *) element=ufodetect ;;
esac
[ -f out/demo-input.mp4 ] || python3 tools/reference/make_demo_video.py --out out/demo-input.mp4 --seconds 4
BUILD_DIR=$BUILD ELEMENT=$element pipelines/annotate-file.sh out/demo-input.mp4 out/demo-annotated.mp4 \
  "$model" task="$task"
# one annotated frame as a picture
GST_PLUGIN_PATH="$BUILD/gst" gst-launch-1.0 -q filesrc location=out/demo-annotated.mp4 ! qtdemux ! \
  h264parse ! avdec_h264 ! videoconvert ! videorate ! video/x-raw,framerate=1/1 ! \
  pngenc snapshot=true ! filesink location=out/demo-frame.png
echo "annotated video: out/demo-annotated.mp4 ($(stat -c %s out/demo-annotated.mp4) bytes), frame: out/demo-frame.png"
