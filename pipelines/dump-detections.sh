#!/usr/bin/env bash
# Prints one JSON line per frame (DL Streamer gvametaconvert layout) with the detections of a
# video file; see docs/elements.md "ufo-dump".
#
#   pipelines/dump-detections.sh INPUT MODEL [ufodetect PROPERTIES...] > detections.jsonl
#   pipelines/dump-detections.sh in.mp4 models/demo.safetensors threshold=0.4 inference-interval=5
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
in=$1 model=$2
shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
dump=""
for b in "${BUILD_DIR:-}" "$here/build" "$here"/build-*; do
  if [ -n "$b" ] && [ -x "$b/tools/ufo-dump/ufo-dump" ]; then
    export GST_PLUGIN_PATH="$b/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
    dump="$b/tools/ufo-dump/ufo-dump"
    break
  fi
done
dump=${dump:-$(command -v ufo-dump)}
case "$in" in
  *://*) uri=$in ;;
  *) uri="file://$(realpath "$in")" ;;
esac
exec "$dump" --source "$uri" \
  "uridecodebin uri=$uri ! videoconvert ! ufodetect model=$model $* ! videoconvert"
