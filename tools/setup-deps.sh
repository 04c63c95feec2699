#!/usr/bin/env bash
# Installs everything gst-ufo needs on a fresh Debian 12 machine (run as root).
# Usage: bash tools/setup-deps.sh [--no-python]
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
APT_PACKAGES=(
  build-essential meson ninja-build pkg-config python3
  libglib2.0-dev libjson-glib-dev libopenblas-dev libdnnl-dev
  libpng-dev libjpeg-dev libgdk-pixbuf-2.0-dev libcairo2-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstrtspserver-1.0-dev check
  # CUDA-memory input (gst/ufocuda.c): GStreamer's CUDA library; its headers include GL/gl.h
  libgstreamer-plugins-bad1.0-dev libgl-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav
  libmosquitto-dev mosquitto mosquitto-clients libhiredis-dev redis-server openssl
  python3-jsonschema
  # GstUfo-1.0 typelib of the metadata library, and Python pad probes reading it
  # (pipelines/ufo-meta-probe.py, test python-meta)
  gobject-introspection libgirepository1.0-dev python3-gi gir1.2-gstreamer-1.0
  gir1.2-gst-plugins-base-1.0
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ "${1:-}" != "--no-python" ]; then
  # The PyTorch reference and the fixture generators (tools/reference/).
  python3 -m pip install -q --disable-pip-version-check \
    "torch==2.15.0" "numpy==2.4.6" "tokenizers==0.23.3" "transformers==5.23.0" "safetensors==0.8.0" \
    "pillow==13.0.0" "opencv-python-headless==5.0.0.93" "pycocotools==2.0.11" "pytest"
fi
