#!/usr/bin/env bash
# Long soak of ufodetect/ufoseg + ufooverlay with the demo model (docs/reliability.md "Soak"):
# 20,000 frames of 64x48..80x60 I420 while threshold, task, prompt and inference-interval change,
# caps are renegotiated, flushing seeks run and the pipelines cycle NULL <-> PLAYING; RSS every
# 1,000 frames (growth after the warm-up at most 2 MiB) and GST_TRACERS=leaks (no object left).
#
#   meson setup build-r -Dbuildtype=release -Dcuda=disabled -Dtests=false
#   meson compile -C build-r
#   tools/soak.sh build-r [ufo-soak options, e.g. --frames 50000]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: tools/soak.sh BUILD_DIR [ufo-soak options]}" && pwd)
shift
export GST_PLUGIN_PATH_1_0="$build/gst"
export GST_PLUGIN_SYSTEM_PATH_1_0="$(pkg-config --variable=pluginsdir gstreamer-1.0)"
export GST_REGISTRY="$build/registry-soak.bin"
export GST_TRACERS=leaks
# inference-interval 1..30 keeps the wall time near 5 minutes on one core (the demo model takes
# about 185 ms a frame); every frame still gets its GstUfoMeta (carried results in between)
exec "$build/tools/ufo-soak/ufo-soak" --model "$root/models/ufo-demo.safetensors" \
  --frames 20000 --round 250 --inference-interval 30 --warmup 3000 --max-growth-kib 2048 "$@"
