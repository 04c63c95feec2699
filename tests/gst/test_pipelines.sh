#!/usr/bin/env bash
# pipelines/: annotate-file.sh writes a playable MP4 with every frame, dump-detections.sh prints
# one JSON line per frame. Usage (meson): test_pipelines.sh SOURCE_ROOT BUILD_ROOT
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$src/tests/gst/gst-tools-env.sh"
require_elements x264enc mp4mux avdec_h264 qtdemux
gst-launch-1.0 -q videotestsrc num-buffers=6 ! video/x-raw,width=96,height=64,framerate=15/1 ! \
  x264enc ! mp4mux ! filesink location="$tmp/in.mp4"
export BUILD_DIR=$build
"$src/pipelines/annotate-file.sh" "$tmp/in.mp4" "$tmp/out.mp4" random:tiny task=caption > "$tmp/log" 2>&1 ||
  { cat "$tmp/log"; echo "annotate-file.sh failed"; exit 1; }
# the output decodes to the same number of frames, at the same size
n=$("$build/tools/ufo-dump/ufo-dump" "filesrc location=$tmp/out.mp4 ! qtdemux ! avdec_h264 ! videoconvert" 2> /dev/null |
  grep -c '"resolution":{"width":96,"height":64}')
[ "$n" -eq 6 ] || { echo "annotated file has $n frames, expected 6"; exit 1; }
# the annotation changed the pixels: the caption banner darkens the bottom rows
gst-launch-1.0 -q filesrc location="$tmp/in.mp4" ! qtdemux ! avdec_h264 ! videoconvert ! \
  video/x-raw,format=GRAY8 ! filesink location="$tmp/in.gray" buffer-mode=full
gst-launch-1.0 -q filesrc location="$tmp/out.mp4" ! qtdemux ! avdec_h264 ! videoconvert ! \
  video/x-raw,format=GRAY8 ! filesink location="$tmp/out.gray" buffer-mode=full
cmp -s "$tmp/in.gray" "$tmp/out.gray" && { echo "annotate-file.sh drew nothing"; exit 1; }
# dump-detections.sh: one JSON line per frame, every third one inferred
"$src/pipelines/dump-detections.sh" "$tmp/in.mp4" random:tiny inference-interval=3 > "$tmp/out.jsonl" 2> "$tmp/log" ||
  { cat "$tmp/log"; exit 1; }
lines=$(wc -l < "$tmp/out.jsonl")
inferred=$(grep -c '"inferred":true' "$tmp/out.jsonl")
[ "$lines" -eq 6 ] || { echo "dump-detections.sh printed $lines lines, expected 6"; exit 1; }
[ "$inferred" -eq 2 ] || { echo "$inferred inferred frames, expected 2"; exit 1; }
python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$tmp/out.jsonl"
echo "ok: 6 frames annotated, 6 JSON lines (2 inferred)"
