#!/usr/bin/env bash
# pipelines/ufo-meta-probe.py end to end: a Python pad probe (python3-gi, the GstUfo-1.0 typelib of
# this build) reads every GstUfoMeta field on 3 frames of the demo video, with 4 producers of the
# demo model (ufoseg task=instance + ufotrack + ufoanalytics, ufodetect task=caption,
# ufodetect task=grounding). check_meta_probe.py compares each value with what the C API reads on
# the same pipeline (meta-probe-ref) and with ufo-dump's JSON, and makes sure that the frames
# carry masks, track ids, a caption, a grounding box and analytics counts, so that a wrong or
# missing field fails the test.
# Usage (meson): test_python_meta.sh SOURCE_ROOT BUILD_ROOT introspection|no-introspection
set -euo pipefail
src=$1 build=$2 gir=$3
if [ "$gir" != introspection ]; then
  echo "FAIL: this build has no GObject introspection (GstUfo-1.0.typelib): install" \
    "gobject-introspection and libgirepository1.0-dev (tools/setup-deps.sh) and reconfigure," \
    "or configure with -Dintrospection=disabled to leave this test out"
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$src/tests/gst/gst-tools-env.sh"
require_elements x264enc mp4mux qtdemux avdec_h264
model=$src/models/ufo-demo.safetensors
[ -f "$model" ] || { echo "FAIL: $model is missing"; exit 1; }
# Debian's python3-gi lives in /usr/bin/python3's dist-packages; a python3 earlier on PATH
# (a virtual environment, pyenv) may not see it
py=""
for p in python3 /usr/bin/python3; do
  if command -v "$p" > /dev/null &&
    "$p" -c "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstVideo', '1.0')" 2> /dev/null; then
    py=$p
    break
  fi
done
[ -n "$py" ] || {
  echo "FAIL: no python3 with python3-gi, gir1.2-gstreamer-1.0 and gir1.2-gst-plugins-base-1.0" \
    "(tools/setup-deps.sh installs them)"
  exit 1
}
# 3 frames of the procedural demo scene (tools/reference, needs numpy like the run-demo test)
python3 "$src/tools/reference/make_demo_video.py" --out "$tmp/in.mp4" --seconds 0.2 \
  --width 320 --height 320 > "$tmp/video.log" 2>&1 || { cat "$tmp/video.log"; exit 1; }
desc="filesrc location=$tmp/in.mp4 ! qtdemux ! avdec_h264 ! videoconvert !
  ufoseg model=$model task=instance threshold=0.3 unique-id=1 ! ufotrack unique-id=1 !
  ufoanalytics unique-id=1 lines=\"gate:75,0,75,320\" zones=\"left:0,0,160,0,160,320,0,320\"
    post-messages=false !
  ufodetect model=$model task=caption unique-id=2 !
  ufodetect model=$model task=grounding prompt=\"the red circle\" unique-id=3"
desc=$(echo "$desc" | tr '\n' ' ')
export GST_PLUGIN_PATH_1_0=$build/gst
# python3 is not instrumented: in a sanitizer build it gets the ASan/UBSan runtimes preloaded to
# load the instrumented plugin and libgstufo-1.0 (leaks are left to the C tests, as for
# gst-launch-1.0)
LD_PRELOAD="${UFO_SANITIZER_PRELOAD:-}${LD_PRELOAD:+ $LD_PRELOAD}" \
  "$py" "$src/pipelines/ufo-meta-probe.py" --build-dir "$build" --pipeline "$desc" \
  --json "$tmp/python.jsonl" > "$tmp/python.txt" 2> "$tmp/python.log" ||
  { cat "$tmp/python.log"; echo "FAIL: ufo-meta-probe.py failed"; exit 1; }
cat "$tmp/python.txt"
"$build/tests/gst/meta-probe-ref" "$desc" > "$tmp/c.jsonl" 2> "$tmp/c.log" ||
  { cat "$tmp/c.log"; echo "FAIL: meta-probe-ref failed"; exit 1; }
"$build/tools/ufo-dump/ufo-dump" "$desc" > "$tmp/dump.jsonl" 2> "$tmp/dump.log" ||
  { cat "$tmp/dump.log"; echo "FAIL: ufo-dump failed"; exit 1; }
python3 "$src/tests/gst/check_meta_probe.py" --frames 3 "$tmp/python.jsonl" "$tmp/c.jsonl" \
  "$tmp/dump.jsonl" "$tmp/python.txt"
