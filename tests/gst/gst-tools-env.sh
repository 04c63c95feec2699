# Sourced by the pipeline tests (test_pipelines.sh, test_run_demo.sh) after `tmp` is set.
# In a sanitizer build (UFO_SANITIZER_PRELOAD: the ASan/UBSan runtimes, set by
# tests/gst/meson.build) the system gst-launch-1.0 and gst-inspect-1.0 are not instrumented and
# cannot load the instrumented plugin by themselves: wrappers on PATH preload the runtimes for
# them only (not for python3 and the rest). Leak checking is left to the C tests (the leaks
# tracer and LSan there): the system tools leak at exit.
# A missing GStreamer element fails the test unless UFO_TEST_ALLOW_SKIP=1 asks for a skip.
if [ -n "${UFO_SANITIZER_PRELOAD:-}" ]; then
  mkdir -p "$tmp/bin"
  for t in gst-launch-1.0 gst-inspect-1.0; do
    real=$(command -v "$t") || { echo "FAIL: $t is not installed"; exit 1; }
    printf '#!/bin/sh\nLD_PRELOAD="%s" exec "%s" "$@"\n' "$UFO_SANITIZER_PRELOAD" "$real" > "$tmp/bin/$t"
    chmod +x "$tmp/bin/$t"
  done
  export PATH="$tmp/bin:$PATH"
  export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 # the last setting wins
  export GST_REGISTRY_FORK=no # the scanner helper would load the plugin without the runtimes
fi

# require_elements E...: every element must exist (else FAIL, or SKIP with UFO_TEST_ALLOW_SKIP=1)
require_elements() {
  for e in "$@"; do
    if ! gst-inspect-1.0 "$e" > "$tmp/inspect.log" 2>&1; then
      tail -5 "$tmp/inspect.log"
      if [ "${UFO_TEST_ALLOW_SKIP:-}" = 1 ]; then
        echo "SKIP: no GStreamer element $e (UFO_TEST_ALLOW_SKIP=1)"
        exit 77
      fi
      echo "FAIL: no GStreamer element $e (bash tools/setup-deps.sh installs it;" \
        "UFO_TEST_ALLOW_SKIP=1 turns this into a skip)"
      exit 1
    fi
  done
}
