#!/usr/bin/env bash
# The whole test suite from a clean clone: installs dependencies, builds with ASan+UBSan, runs the
# C tests (meson test) and the PyTorch reference tests (pytest), and prints one summary line.
# Usage: bash tools/run-tests.sh
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-deps.sh || { echo "dependency installation failed"; exit 1; }
BUILD=${BUILD_DIR:-build-ci}
if [ ! -d "$BUILD" ]; then
  meson setup "$BUILD" -Dsanitize=true -Db_lundef=false || exit 1
fi
meson compile -C "$BUILD" || exit 1
# intercept_tls_get_addr=0: see lsan_opts in tests/meson.build
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:intercept_tls_get_addr=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# cuda-gpu: the CUDA backend on a real GPU (tools/gpu-check.sh); CI has none
meson test -C "$BUILD" --print-errorlogs --num-processes 2 -t 4 --no-suite cuda-gpu
c_rc=$?
py_rc=0
: > "$BUILD/pytest.log"
if [ -d tests/reference ]; then
  python3 -m pytest -q tests/reference -p no:cacheprovider 2>&1 | tee "$BUILD/pytest.log"
  py_rc=${PIPESTATUS[0]}
fi
[ "$py_rc" -eq 5 ] && py_rc=0 # no Python tests collected
python3 - "$BUILD" <<'PY'
import json, re, sys, pathlib
b = pathlib.Path(sys.argv[1])
p = f = s = 0
for line in (b / "meson-logs" / "testlog.json").read_text().splitlines():
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
log = (b / "pytest.log").read_text()
for n, what in re.findall(r"(\d+) (passed|failed|error|errors|skipped)", log.splitlines()[-1] if log.strip() else ""):
    n = int(n)
    if what == "passed": p += n
    elif what == "skipped": s += n
    else: f += n
print(f"{p} passed, {f} failed, {s} skipped")
PY
[ "$c_rc" -eq 0 ] && [ "$py_rc" -eq 0 ]
