#!/usr/bin/env bash
# Builds what tools/gpu-check.sh runs on a GPU machine that has the CUDA driver and cuBLASLt but
# no GLib, OpenBLAS or Cairo: a release build with the CUDA backend (no -march=native: the GPU
# host's CPU is another one), its test and benchmark binaries, and the shared libraries they
# need that such a machine lacks, in .gpu/bundle.tar.xz (bin/, lib/). Run here, then carry .gpu.
# Usage: bash tools/gpu-bundle.sh [cuda_archs, default 90]
set -euo pipefail
cd "$(dirname "$0")/.."
ARCHS=${1:-90}
BUILD=${GPU_BUILD_DIR:-build-gpu}
if [ ! -d "$BUILD" ]; then
  meson setup "$BUILD" -Dbuildtype=release -Dnative=false -Dsanitize=false -Dcuda=enabled \
    -Dgpu_archs="$ARCHS" -Dgst=disabled >/dev/null
fi
meson compile -C "$BUILD" test-nn-ops test-nn-golden test-nn-select test-nn-attention-bf16 \
  test-nn-preprocess test-nn-mask-ops test-nn-shared test-seg-download ufo-bench ufo-infer \
  >"$BUILD/gpu-bundle.log" 2>&1 || { tail -30 "$BUILD/gpu-bundle.log"; exit 1; }
rm -rf .gpu
mkdir -p .gpu/bin .gpu/lib
for b in tests/engine/nn/test-nn-ops tests/engine/nn/test-nn-golden tests/engine/nn/test-nn-select \
  tests/engine/nn/test-nn-attention-bf16 tests/engine/nn/test-nn-preprocess \
  tests/engine/nn/test-nn-mask-ops tests/engine/nn/test-nn-shared \
  tests/engine/session/test-seg-download tools/ufo-bench/ufo-bench tools/ufo-infer/ufo-infer; do
  cp "$BUILD/$b" .gpu/bin/
done
# every shared library the binaries load, except glibc's own and the CUDA libraries (the GPU
# machine brings its driver and cuBLASLt)
for b in .gpu/bin/*; do
  ldd "$b" | awk '/=> \//{print $3}'
done | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
  libc.so* | libm.so* | libpthread.so* | libdl.so* | librt.so* | ld-linux* | libcuda.so* | \
    libcublas* | libstdc++.so* | libgcc_s.so*) ;;
  *) cp -L "$lib" .gpu/lib/ ;;
  esac
done
# one compressed archive: what travels to the GPU machine is limited in size (OpenBLAS alone is
# ~36 MB); tools/gpu-check.sh unpacks it
tar -C .gpu -cJf .gpu-bundle.tar.xz bin lib
rm -rf .gpu
mkdir -p .gpu
mv .gpu-bundle.tar.xz .gpu/bundle.tar.xz
du -sh .gpu
