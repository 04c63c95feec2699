#!/usr/bin/env python3
"""ufo-infer with bad inputs: one table, each row with its documented outcome (exit status and
the words of the message that name the cause, or a JSON result of the right size). Never a crash
(a signal or a sanitizer report) or a hang (timeout). docs/reliability.md "Bad inputs".

Usage: test_bad_inputs_cli.py UFO_INFER DEMO_MODEL TMPDIR
"""
import json
import os
import re
import struct
import subprocess
import sys

infer, demo, tmp = sys.argv[1:4]
os.makedirs(tmp, exist_ok=True)
with open(demo, "rb") as f:
    model = f.read()

truncated = os.path.join(tmp, "truncated.safetensors")
with open(truncated, "wb") as f:
    f.write(model[: len(model) // 2])
garbage = os.path.join(tmp, "garbage.safetensors")
with open(garbage, "wb") as f:
    f.write(bytes((i * 2654435761 >> 13) & 0xFF for i in range(65536)))
# one 2-D tensor transposed in the header: same sizes and offsets, only the shape check catches it
wrong = os.path.join(tmp, "wrong-shape.safetensors")
(hlen,) = struct.unpack("<Q", model[:8])
header = model[8 : 8 + hlen].decode()
for m in re.finditer(r'"shape":\s*\[(\d+),\s*(\d+)\]', header):
    a, b = m.group(1), m.group(2)
    if len(a) == len(b) and a != b:
        header = header[: m.start(1)] + b + header[m.end(1) : m.start(2)] + a + header[m.end(2) :]
        break
else:
    sys.exit("no non-square 2-D tensor in the demo model's header")
with open(wrong, "wb") as f:
    f.write(model[:8] + header.encode() + model[8 + hlen :])

huge = "the red circle " * 2000
T = ["--random", "tiny"]
# (name, arguments, exit status, substrings of stderr | None for a JSON result of w x h)
rows = [
    ("truncated model file", ["--model", truncated, "synthetic:32x32"], 1, ["truncated.safetensors", "past the data section", "truncated"]),
    ("garbage model file", ["--model", garbage, "synthetic:32x32"], 1, ["garbage.safetensors", "not a safetensors file"]),
    ("wrong tensor shape", ["--model", wrong, "synthetic:32x32"], 1, ["has shape", "expected"]),
    ("missing model file", ["--model", os.path.join(tmp, "none.safetensors"), "synthetic:32x32"], 1, ["none.safetensors"]),
    ("unknown task", T + ["--task", "nosuch", "synthetic:32x32"], 2, ["unknown task 'nosuch'", "detection"]),
    ("empty prompt", T + ["--task", "grounding", "--prompt", "", "synthetic:32x32"], 1, ["grounding needs", "prompt"]),
    ("huge prompt", T + ["--task", "grounding", "--prompt", huge, "synthetic:32x32"], 1, ["too long", "512"]),
    ("zero-width image", T + ["synthetic:0x5"], 1, ["bad synthetic image size '0x5'"]),
    ("missing image", T + [os.path.join(tmp, "none.png")], 1, ["none.png"]),
    ("1x1 image", T + ["synthetic:1x1"], 0, (1, 1)),
    ("33x17 image", T + ["synthetic:33x17"], 0, (33, 17)),
    ("4000x4000 image", T + ["synthetic:4000x4000"], 0, (4000, 4000)),
]

failures = 0
for name, args, rc, want in rows:
    try:
        r = subprocess.run([infer] + args, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        print(f"FAIL {name}: no answer within 300 s")
        failures += 1
        continue
    ok = r.returncode == rc and "Sanitizer" not in r.stderr and "CRITICAL" not in r.stderr
    if ok and isinstance(want, tuple):
        out = json.loads(r.stdout)
        ok = (out["width"], out["height"]) == want and "objects" in out
    elif ok:
        ok = all(w in r.stderr for w in want)
    print(("ok   " if ok else "FAIL ") + f"{name}: exit {r.returncode}, {r.stderr.strip()[:300]}")
    failures += not ok
sys.exit(1 if failures else 0)
