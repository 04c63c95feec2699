#!/usr/bin/env python3
"""Every launch of a CUDA kernel declared with __launch_bounds__ uses the bound as its block size.

A block larger than a kernel's __launch_bounds__ maximum is refused by the GPU at the launch, but
the CUDA emulation (docs/cuda-emulation.md) ignores the qualifier, so CI would never see it. The
CUDA backend launches each bounded kernel with the same constant as its bound; this keeps it so:
for every `__launch_bounds__(B[, min_blocks]) [void] name(` in engine/backend/cuda/*.cu, every
`UFO_LAUNCH(name or (name<...>), grid, block, ...)` in the same file must pass `block` equal to B
(text without blanks, `dim3(X)` read as X), and every bounded kernel must be launched in its file
(so a launch the parser cannot read is an error, not a skip). Comments are ignored.

Usage: check_launch_bounds.py SOURCE_ROOT
       check_launch_bounds.py --self-test   (a planted mismatch and an unlaunched kernel fail)
"""
import os
import re
import sys


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def balanced_args(text, i):
    """text[i] == '(': the top-level comma-separated arguments and the index after ')'."""
    depth, args, cur = 0, [], []
    j = i
    while j < len(text):
        c = text[j]
        if c in "([{":
            depth += 1
            if depth == 1:
                j += 1
                continue
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append("".join(cur))
                return args, j + 1
        elif c == "," and depth == 1:
            args.append("".join(cur))
            cur = []
            j += 1
            continue
        cur.append(c)
        j += 1
    raise ValueError("unbalanced parentheses")


def norm(expr):
    e = re.sub(r"\s+", "", expr)
    m = re.fullmatch(r"dim3\((.*)\)", e)
    return m.group(1) if m else e


def line_of(text, i):
    return text.count("\n", 0, i) + 1


def check(files):
    """files: {path: text}. Returns the list of problems."""
    bounds, problems = {}, []
    for path, raw in files.items():
        text = strip_comments(raw)
        for m in re.finditer(r"__launch_bounds__\s*\(", text):
            args, end = balanced_args(text, m.end() - 1)
            k = re.match(r"\s*(?:void\s+)?([A-Za-z_]\w*)\s*\(", text[end:])
            if not k:
                problems.append(f"{path}:{line_of(text, m.start())}: no kernel name after "
                                "__launch_bounds__")
                continue
            bounds[(path, k.group(1))] = (norm(args[0]), f"{path}:{line_of(text, m.start())}")
    launched = set()
    for path, raw in files.items():
        text = strip_comments(raw)
        for m in re.finditer(r"\bUFO_LAUNCH\s*\(", text):
            if text[m.start() - 8:m.start()].endswith("define "):
                continue
            args, _ = balanced_args(text, m.end() - 1)
            if len(args) < 3:
                continue
            name = re.sub(r"\s+", "", args[0]).strip("()")
            name = re.sub(r"<.*>$", "", name)
            if (path, name) not in bounds:
                continue
            launched.add((path, name))
            want, where = bounds[(path, name)]
            got = norm(args[2])
            if got != want:
                problems.append(f"{path}:{line_of(text, m.start())}: {name} launched with block "
                                f"{got}, its __launch_bounds__ ({where}) is {want}")
    for (path, name), (_, where) in sorted(bounds.items()):
        if (path, name) not in launched:
            problems.append(f"{where}: kernel {name} has __launch_bounds__ but no UFO_LAUNCH "
                            "of it was found")
    return problems, len(bounds)


def self_test():
    good = {"a.cu": "__global__ void __launch_bounds__(THREADS) k1(int x)\n{}\n"
                    "template <int D> static __global__ __launch_bounds__(T2,\n 4) void k2(int)\n"
                    "UFO_LAUNCH(k1, g, THREADS, 0, s, 1); /* UFO_LAUNCH(k1, g, 9, 0, s) */\n"
                    "UFO_LAUNCH((k2<64>), g, dim3( T2 ), 0, s, 1);\n"}
    p, n = check(good)
    assert p == [] and n == 2, p
    bad = {"a.cu": good["a.cu"].replace("dim3( T2 )", "dim3(2 * T2)")}
    p, _ = check(bad)
    assert len(p) == 1 and "k2 launched with block 2*T2" in p[0], p
    unl = {"a.cu": good["a.cu"].replace("UFO_LAUNCH(k1, g, THREADS, 0, s, 1);", "")}
    p, _ = check(unl)
    assert len(p) == 1 and "kernel k1 has __launch_bounds__ but no UFO_LAUNCH" in p[0], p
    print("check_launch_bounds self-test: a mismatch and an unlaunched kernel are reported")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    root = sys.argv[1]
    d = os.path.join(root, "engine", "backend", "cuda")
    files = {}
    for name in sorted(os.listdir(d)):
        if name.endswith((".cu", ".cuh")):
            with open(os.path.join(d, name), encoding="utf-8") as f:
                files[os.path.join("engine/backend/cuda", name)] = f.read()
    problems, n = check(files)
    for p in problems:
        print(p)
    if problems:
        return 1
    if n == 0:
        print("no __launch_bounds__ found: the parser no longer reads the sources")
        return 1
    print(f"{n} kernels with __launch_bounds__, each launched with its bound")
    return 0


if __name__ == "__main__":
    sys.exit(main())
