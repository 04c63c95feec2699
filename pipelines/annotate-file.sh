#!/usr/bin/env bash
# Annotates a video file: decode -> ufodetect (or ufoseg) -> ufooverlay -> H.264 -> MP4.
#
#   pipelines/annotate-file.sh INPUT OUTPUT.mp4 MODEL [ELEMENT PROPERTIES...]
#   pipelines/annotate-file.sh in.mp4 out.mp4 models/demo.safetensors threshold=0.4
#   ELEMENT=ufoseg pipelines/annotate-file.sh in.mp4 out.mp4 m.safetensors task=semantic
#   TRACK=1 pipelines/annotate-file.sh in.mp4 out.mp4 m.safetensors threshold=0.1   # + ufotrack
#   CAPTION=1 ELEMENT=ufoseg pipelines/annotate-file.sh in.mp4 out.mp4 m.safetensors task=instance
#                                       # + each frame's caption, from the same model instance
#
# INPUT may be a path or a URI. Uses the plugin from ./build (or $GST_PLUGIN_PATH).
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
in=$1 out=$2 model=$3
shift 3
here=$(cd "$(dirname "$0")/.." && pwd)
for b in "${BUILD_DIR:-}" "$here/build" "$here"/build-*; do
  if [ -n "$b" ] && [ -f "$b/gst/libgstufo.so" ]; then
    export GST_PLUGIN_PATH="$b/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
    break
  fi
done
case "$in" in
  *://*) uri=$in ;;
  *) uri="file://$(realpath "$in")" ;;
esac
element=${ELEMENT:-ufodetect}
# TRACK=1: ufotrack between the analyzer and the overlay (track ids in the labels, colour by track)
track=() overlay=(ufooverlay)
if [ -n "${TRACK:-}" ]; then
  track=(ufotrack !)
  overlay=(ufooverlay min-score=0.3 color-by=track)
fi
# late-frames=process (default): a file is annotated frame by frame, however slow the model
# CAPTION=1: a second analyzer, ufodetect task=caption, on the same model instance (one loaded
# model and session for both tasks: model-instance-id); ufooverlay draws the caption banner too
caption=() share=()
if [ "${CAPTION:-0}" = 1 ]; then
  share=(model-instance-id=annotate-file)
  caption=(ufodetect model="$model" task=caption "${share[@]}" !)
fi
exec gst-launch-1.0 -e \
  uridecodebin uri="$uri" ! videoconvert ! \
  "$element" model="$model" "${share[@]}" "$@" ! "${caption[@]}" "${track[@]}" \
  "${overlay[@]}" ! videoconvert ! x264enc tune=zerolatency speed-preset=veryfast ! h264parse ! \
  mp4mux ! filesink location="$out"
