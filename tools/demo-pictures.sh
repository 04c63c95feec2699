#!/usr/bin/env bash
# The demo model's pictures in docs/images/: every task on one held-out scene and on one frame of
# the demo video, drawn by the plugin (ufodetect / ufoseg -> ufooverlay -> PNG).
#
#   bash tools/demo-pictures.sh [OUT_DIR]        # default docs/images
#
# Env: MODEL (models/ufo-demo.safetensors), BUILD_DIR (a build with the plugin: build-demo, then
# build), SEED (held-out scene, 1000002), VIDEO (out/demo-input.mp4, made by tools/run-demo.sh),
# FRAME (the video frame's index, 30), VIDEO_PROMPT (grounding prompt on the frame).
# The held-out scene's grounding prompt is its first referring expression (scenes.py).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/images}
model=${MODEL:-models/ufo-demo.safetensors}
seed=${SEED:-1000002}
video=${VIDEO:-out/demo-input.mp4}
frame=${FRAME:-30}
for b in "${BUILD_DIR:-}" build-demo build; do
  if [ -n "$b" ] && [ -f "$b/gst/libgstufo.so" ]; then
    export GST_PLUGIN_PATH="$PWD/$b/gst"
    break
  fi
done
[ -n "${GST_PLUGIN_PATH:-}" ] || { echo "no build with the plugin (BUILD_DIR=…)" >&2; exit 1; }
[ -f "$video" ] || { echo "$video is missing: run tools/run-demo.sh first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

# the held-out scene (448x448) and its first referring expression
scene_prompt=$(python3 - "$seed" "$tmp/heldout.png" << 'EOF'
import sys, os
sys.path.insert(0, os.path.join("tools", "reference"))
import cv2, numpy as np, scenes
s = scenes.scene(int(sys.argv[1]))
cv2.imwrite(sys.argv[2], np.ascontiguousarray(s["image"][:, :, ::-1]))
print(s["refs"][0]["text"] if s["refs"] else "")
EOF
)
# the video frame as PNG
gst-launch-1.0 -q filesrc location="$video" ! qtdemux ! h264parse ! avdec_h264 ! videoconvert ! \
  pngenc ! multifilesink location="$tmp/vf%03d.png"
cp "$(printf "$tmp/vf%03d.png" "$frame")" "$tmp/video.png"
video_prompt=${VIDEO_PROMPT:-}

draw() { # draw INPUT.png OUTPUT.png ELEMENT PROPERTIES...
  local in=$1 png=$2 element=$3
  shift 3
  gst-launch-1.0 -q filesrc location="$in" ! pngdec ! videoconvert ! video/x-raw,format=RGB ! \
    "$element" model="$model" "$@" ! ufooverlay ! videoconvert ! pngenc ! filesink location="$png"
  echo "$png"
}

for src in heldout video; do
  in="$tmp/$src.png"
  suffix=$([ "$src" = heldout ] && echo heldout || echo video)
  prompt=$([ "$src" = heldout ] && echo "$scene_prompt" || echo "$video_prompt")
  draw "$in" "$out/demo-detection-$suffix.png" ufodetect task=detection threshold=0.3
  draw "$in" "$out/demo-instance-$suffix.png" ufoseg task=instance threshold=0.3
  draw "$in" "$out/demo-semantic-$suffix.png" ufoseg task=semantic
  draw "$in" "$out/demo-caption-$suffix.png" ufodetect task=caption
  if [ -n "$prompt" ]; then
    draw "$in" "$out/demo-grounding-$suffix.png" ufodetect task=grounding prompt="$prompt"
    echo "  grounding prompt: \"$prompt\""
  fi
done
