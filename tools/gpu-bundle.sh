#!/usr/bin/env bash
# Builds what tools/gpu-check.sh runs on a GPU machine that has the CUDA driver and cuBLASLt but
# no GLib, OpenBLAS, Cairo or GStreamer: a release build with the CUDA backend (no -march=native:
# the GPU host's CPU is another one), its test and benchmark binaries, the GStreamer plugin with
# this machine's (Debian's) GStreamer as a relocatable prefix (gst-launch-1.0, the plugin scanner
# and the plugins a 1080p H.264 file pipeline needs: demux, parse, openh264/nvcodec decoders,
# x264 encoder, fpsdisplaysink), one font for the overlay, a 1080p H.264 clip of the demo scenes,
# and every shared library these need that such a machine lacks, in .gpu/bundle.tar.xz (bin/,
# lib/, gst/, fonts/, media/). Run here, then carry .gpu.
# Usage: bash tools/gpu-bundle.sh [cuda_archs, default 90]
set -euo pipefail
cd "$(dirname "$0")/.."
ARCHS=${1:-90}
BUILD=${GPU_BUILD_DIR:-build-gpu}
if [ ! -d "$BUILD" ]; then
  meson setup "$BUILD" -Dbuildtype=release -Dnative=false -Dsanitize=false -Dcuda=enabled \
    -Dgpu_archs="$ARCHS" -Dgst=enabled >/dev/null
elif meson configure "$BUILD" | grep -qE '^ +gst +disabled'; then
  meson configure "$BUILD" -Dgst=enabled >/dev/null
fi
meson compile -C "$BUILD" test-nn-ops test-nn-golden test-nn-select test-nn-graph test-nn-attention-bf16 \
  test-nn-preprocess test-nn-mask-ops test-nn-shared test-seg-download test-session \
  test-decode-ahead-session ufo-bench ufo-infer gstufo >"$BUILD/gpu-bundle.log" 2>&1 ||
  { tail -30 "$BUILD/gpu-bundle.log"; exit 1; }
rm -rf .gpu
mkdir -p .gpu/bin .gpu/lib .gpu/gst/plugins .gpu/fonts .gpu/media
for b in tests/engine/nn/test-nn-ops tests/engine/nn/test-nn-golden tests/engine/nn/test-nn-select \
  tests/engine/nn/test-nn-graph \
  tests/engine/nn/test-nn-attention-bf16 tests/engine/nn/test-nn-preprocess \
  tests/engine/nn/test-nn-mask-ops tests/engine/nn/test-nn-shared \
  tests/engine/session/test-seg-download tests/engine/session/test-session \
  tests/engine/session/test-decode-ahead-session \
  tools/ufo-bench/ufo-bench tools/ufo-infer/ufo-infer; do
  cp "$BUILD/$b" .gpu/bin/
done
# GStreamer as a prefix: tools, scanner, the plugins of tools/gpu-check.sh's pipelines
GSTLIB=$(pkg-config --variable=libdir gstreamer-1.0)
GSTPLUG=$(pkg-config --variable=pluginsdir gstreamer-1.0)
cp "$(command -v gst-launch-1.0)" "$(command -v gst-inspect-1.0)" .gpu/bin/
cp "$GSTLIB/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner" .gpu/gst/
cp "$BUILD/gst/libgstufo.so" .gpu/gst/plugins/
cp -L "$BUILD/gst/libgstufo-1.0.so.0" .gpu/lib/ # found through the build's $ORIGIN RUNPATH there
for p in coreelements videoconvertscale isomp4 videoparsersbad openh264 nvcodec x264 \
  debugutilsbad; do
  cp "$GSTPLUG/libgst$p.so" .gpu/gst/plugins/
done
# the overlay's labels: fontconfig with one font and a config naming only it (gpu-check.sh sets
# FONTCONFIG_FILE)
cp /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf .gpu/fonts/
cat >.gpu/fonts/fonts.conf <<'XML'
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <dir prefix="relative">.</dir>
  <cachedir>/tmp/ufo-gpu-fontconfig</cachedir>
</fontconfig>
XML
# 1080p H.264 of the demo scenes (what the demo model was trained on), 4 s at 30 fps
python3 tools/reference/make_demo_video.py --out .gpu/media/demo-1080p.mp4 --width 1920 \
  --height 1080 --fps 30 --seconds 4 --bitrate 4000 >/dev/null
# every shared library the binaries and plugins load, except glibc's own and the CUDA libraries
# (the GPU machine brings its driver and cuBLASLt)
missing=$(for b in .gpu/bin/* .gpu/gst/gst-plugin-scanner .gpu/gst/plugins/*.so; do
  LD_LIBRARY_PATH=.gpu/lib ldd "$b" | sed -n "/not found/s|^|$b: |p"
done)
if [ -n "$missing" ]; then
  echo "gpu-bundle: libraries not found:" >&2
  echo "$missing" >&2
  exit 1
fi
for b in .gpu/bin/* .gpu/gst/gst-plugin-scanner .gpu/gst/plugins/*.so; do
  LD_LIBRARY_PATH=.gpu/lib ldd "$b" | awk '/=> \//{print $3}'
done | sort -u | grep -v "^$PWD/.gpu/lib/" | while read -r lib; do
  case "$(basename "$lib")" in
  libc.so* | libm.so* | libpthread.so* | libdl.so* | librt.so* | ld-linux* | libcuda.so* | \
    libcublas* | libstdc++.so* | libgcc_s.so*) ;;
  *) cp -L "$lib" .gpu/lib/ ;;
  esac
done
# one compressed archive: what travels to the GPU machine is limited in size (OpenBLAS alone is
# ~36 MB); tools/gpu-check.sh unpacks it
tar -C .gpu -cJf .gpu-bundle.tar.xz bin lib gst fonts media
rm -rf .gpu
mkdir -p .gpu
mv .gpu-bundle.tar.xz .gpu/bundle.tar.xz
du -sh .gpu
