#!/usr/bin/env python3
"""The layering rules of the engine, checked on the sources (docs: engine/backend/backend.h).

1. BLAS belongs to the CPU backend: no `cblas_`/`openblas_` call and no <cblas.h> outside
   engine/backend/cpu/ (host products elsewhere go through engine/backend/host_blas.h).
2. Backend-private headers (engine/backend/cpu/*, engine/backend/cuda/*) are included only
   inside engine/backend/.
3. Ops run through the validating wrappers (ufo_op_*, ufo_tensor_upload/download,
   ufo_backend_set_precision): no call through a backend's vtable (`->ops->X(`) outside
   engine/backend/.
4. Tools, the overlay and the GStreamer plugin include only public headers (engine/include/ufo/,
   their own folders' headers, gst/ufo/) or engine internals deliberately allowed below; the
   engine's meson does not hand its source root to ordinary consumers (libufo_dep).

Every exception is listed below with its reason. Comments are ignored (a rule names what code
does, not what comments mention).

Usage: check_layering.py SOURCE_ROOT
"""
import os
import re
import sys

SOURCE_EXT = (".c", ".h", ".cu", ".cuh", ".cc", ".cpp", ".hpp")

# rule 1: files outside engine/backend/cpu/ that may call BLAS
BLAS_ALLOWED = {
    "engine/backend/cuda/gemm.cu": "the CUDA backend's emulated build (UFO_CUDA_EMU) stands in for "
    "cuBLASLt with OpenBLAS on identically rounded inputs",
}
# rule 2: files outside engine/backend/ that may include a backend-private header
PRIVATE_HEADER_ALLOWED = {
    "tests/engine/nn/test_bf16.c": "tests the CPU backend's bf16 GEMM itself: its rounding "
    "(ufo_cpu_bf16_round) and the fp32-fallback hook",
    "tests/engine/nn/test_golden.c": "checks the bf16 golden runs' fp32 fallback without native bf16 "
    "(ufo_cpu_bf16_supported)",
    "tests/engine/nn/test_op_checks.c": "plants a late failure through the CPU backend's test hook "
    "(ufo_cpu_test_fail_late) to test the asynchrony contract",
    "tests/engine/nn/test_mask_vec.c": "checks the CPU backend's vector lanes of the mask "
    "arithmetic (cpu/mask_vec.h) against the scalar functions, bit for bit",
    "tests/engine/nn/test_pool.c": "tests the CPU backend's thread pool itself (cpu/threadpool.h): "
    "every item once, spinning and sleeping waits, the spin's guard",
}
# rule 3: files outside engine/backend/ that may call vtable entries directly
OPS_CALL_ALLOWED = {
    "tests/engine/nn/test_ops.c": "the op-parity harness: runs each backend's entries side by side "
    "against the reference backend (the wrappers' checks have their own test, test_op_checks.c)",
    "tests/engine/nn/test_golden.c": "the golden harness selects the precision on the backend "
    "under test",
}
# rule 4: engine-internal headers that tools may include, per file (libufo_internal_dep)
INTERNAL_INCLUDE_ALLOWED = {
    "tools/ufo-convert/main.c": ({"model/data.h", "model/model.h"},
                                 "writes model files with the engine's own model code"),
    "tools/ufo-convert/checkpoint.h": ({"model/dtype.h"}, "tensor dtypes of the model format"),
    "tools/ufo-convert/pickle.h": ({"model/dtype.h"}, "tensor dtypes of the model format"),
    "tools/ufo-bench/ufo-bench.c": ({"backend/backend.h", "backend/host_blas.h", "model/model.h"},
                                    "--gemm times the backend's GEMM against plain OpenBLAS; "
                                    "--plan sizes its plan from the model's config"),
    "tools/ufo-bench/bench_plan.c": ({"model/model.h"},
                                     "--plan trained encodes planted texts with the model's "
                                     "tokenizer and label sets"),
}

BLAS_RE = re.compile(r"\b(cblas_\w+|openblas_\w+)|#\s*include\s*<cblas\.h>")
OPS_CALL_RE = re.compile(r"->\s*ops\s*->\s*(\w+)\s*\(")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def strip_comments(text):
    """C/C++ comments removed (string literals kept), line structure preserved."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def source_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        # skip hidden folders and build directories (meson's, wherever they are)
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and
                       not os.path.exists(os.path.join(dirpath, d, "meson-private")) and
                       not (rel_dir == "." and d in ("subprojects", "models"))]
        for f in filenames:
            if f.endswith(SOURCE_EXT):
                yield os.path.normpath(os.path.join(rel_dir, f)).replace(os.sep, "/")


def under(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def resolve(root, path, inc):
    """Where an #include "inc" of file path lands: its own folder first, then the include roots
    of the build (repo root for gst/ufo/, overlay/, engine/include/, engine/)."""
    here = os.path.dirname(path)
    for base in (here, "", "overlay", "gst", "engine/include", "engine"):
        cand = os.path.normpath(os.path.join(base, inc)).replace(os.sep, "/")
        if not cand.startswith("..") and os.path.isfile(os.path.join(root, cand)):
            return cand
    return None


def check(root):
    problems = []
    for path in sorted(source_files(root)):
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as fh:
            code = strip_comments(fh.read())
        lines = code.split("\n")

        def where(pos):
            line = code.count("\n", 0, pos)
            return f"{path}:{line + 1}: {lines[line].strip()}"

        in_backend = under(path, "engine/backend")
        # 1. BLAS only in the CPU backend
        if not under(path, "engine/backend/cpu") and path not in BLAS_ALLOWED:
            for m in BLAS_RE.finditer(code):
                problems.append(f"BLAS outside engine/backend/cpu/: {where(m.start())}")
        # 2. backend-private headers only inside engine/backend/
        for m in INCLUDE_RE.finditer(code):
            target = resolve(root, path, m.group(1))
            private = target and (under(target, "engine/backend/cpu") or
                                  under(target, "engine/backend/cuda"))
            if private and not in_backend and path not in PRIVATE_HEADER_ALLOWED:
                problems.append("backend-private header outside engine/backend/: " +
                                where(m.start()))
            # 4. tools, overlay, gst: public headers only, unless deliberately allowed
            if any(under(path, d) for d in ("tools", "overlay", "gst")) and target and \
                    under(target, "engine") and not under(target, "engine/include"):
                allowed = INTERNAL_INCLUDE_ALLOWED.get(path, (set(), ""))[0]
                if m.group(1) not in allowed:
                    problems.append("engine-internal header in tools/overlay/gst: " +
                                    where(m.start()))
        # 3. ops through the wrappers
        if not in_backend and path not in OPS_CALL_ALLOWED:
            for m in OPS_CALL_RE.finditer(code):
                problems.append(f"vtable call outside engine/backend/ (use the ufo_op_* "
                                f"wrappers): {where(m.start())}")
    # 4. libufo_dep hands out the public include/ folder only
    with open(os.path.join(root, "engine", "meson.build"), encoding="utf-8") as fh:
        meson = fh.read()
    m = re.search(r"libufo_dep\s*=\s*declare_dependency\((.*?)\)\s*\n", meson, re.S)
    if not m:
        problems.append("engine/meson.build: no libufo_dep declaration found")
    elif "ufo_inc" in m.group(1) or "'.'" in m.group(1):
        problems.append("engine/meson.build: libufo_dep exports the engine source root")
    return problems


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), "..", ".."))
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} layering problem(s); exceptions are listed in {__file__}")
        return 1
    print("layering rules hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
