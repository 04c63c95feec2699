#!/usr/bin/env bash
# The element tests that run inference on streaming threads, under ThreadSanitizer
# (docs/reliability.md "Thread safety"). Builds build-tsan (-Db_sanitize=thread, no CUDA) and a
# small preloaded library that tells TSan about GLib's futex-based locks (tests/tsan/glib_tsan.c;
# without it every field guarded by GST_OBJECT_LOCK or a GMutex is reported). System plugins are
# limited to the few these tests use, so other plugins' own bugs stay out of the report.
# tests/tsan/suppressions.txt names the uninstrumented libraries whose internal locking TSan
# cannot see (oneDNN).
# Usage: bash tools/run-tsan.sh [TEST ...]     (default: threads inference ufotrack ufoanalytics)
# Exit status 0 only when every test passes with zero ThreadSanitizer reports.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${TSAN_BUILD_DIR:-build-tsan}
if [ ! -d "$BUILD" ]; then
  meson setup "$BUILD" -Db_sanitize=thread -Db_lundef=false -Dcuda=disabled || exit 1
fi
meson compile -C "$BUILD" || exit 1
shim="$BUILD/libglib-tsan.so"
cc -shared -fPIC -O1 -fsanitize=thread $(pkg-config --cflags glib-2.0) tests/tsan/glib_tsan.c \
  -o "$shim" -ldl $(pkg-config --libs glib-2.0) || exit 1
plugins=$(mktemp -d)
sys=$(pkg-config --variable=pluginsdir gstreamer-1.0)
for p in coreelements videotestsrc app videoconvertscale videoconvert videoscale; do
  [ -f "$sys/libgst$p.so" ] && ln -s "$sys/libgst$p.so" "$plugins/"
done
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=(threads inference ufotrack ufoanalytics)
fail=0
for t in "${tests[@]}"; do
  log="$BUILD/tsan-$t.log"
  env LD_PRELOAD="$PWD/$shim" GST_PLUGIN_PATH_1_0="$PWD/$BUILD/gst" \
    GST_PLUGIN_SYSTEM_PATH_1_0="$plugins" GST_REGISTRY="$plugins/registry.bin" \
    GST_REGISTRY_FORK=no CK_DEFAULT_TIMEOUT=900 TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 suppressions=$PWD/tests/tsan/suppressions.txt" \
    "$BUILD/tests/gst/test-gst-$t" > "$log" 2>&1
  rc=$?
  reports=$(grep -c "WARNING: ThreadSanitizer" "$log")
  echo "$t: exit $rc, $reports ThreadSanitizer reports ($log)"
  [ "$rc" -eq 0 ] && [ "$reports" -eq 0 ] || fail=1
done
rm -rf "$plugins"
exit $fail
