#!/usr/bin/env python3
"""ufo-infer and ufo-bench from the command line: JSON layout, --draw, bad arguments.

Usage: test_cli.py UFO_INFER UFO_BENCH TMPDIR
"""
import json
import os
import re
import subprocess
import sys
import zlib

infer, bench, tmp = sys.argv[1:4]
os.makedirs(tmp, exist_ok=True)
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    failures += not cond


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300)


# grounding on the tiny random model: one object with a box inside the image
png = os.path.join(tmp, "grounding.png")
r = run(infer, "--random", "tiny", "--task", "grounding", "--prompt", "the red car",
        "--draw", png, "synthetic:200x150")
check(r.returncode == 0, f"ufo-infer grounding exits 0 ({r.stderr.strip()})")
out = json.loads(r.stdout)
check(out["task"] == "grounding" and out["width"] == 200 and out["height"] == 150, "JSON header")
check(len(out["objects"]) == 1, "grounding gives one object")
x1, y1, x2, y2 = out["objects"][0]["box"]
check(0 <= x1 <= x2 <= 200 and 0 <= y1 <= y2 <= 150, f"box inside the image {out['objects'][0]['box']}")
check(set(out["timing_ms"]) == {"preprocess", "text", "image", "grid", "decode", "post"}, "timing keys")
with open(png, "rb") as f:
    data = f.read()
check(data[:8] == b"\x89PNG\r\n\x1a\n", "--draw writes a PNG")
# IHDR width/height
w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
check((w, h) == (200, 150), f"PNG is 200x150 (got {w}x{h})")

# caption: a string
r = run(infer, "--random", "tiny", "--task", "caption", "synthetic:64x64")
check(r.returncode == 0 and isinstance(json.loads(r.stdout).get("caption"), str), "caption JSON")

# deterministic: same input, same output
r2 = run(infer, "--random", "tiny", "--task", "caption", "synthetic:64x64")
check(json.loads(r.stdout)["caption"] == json.loads(r2.stdout)["caption"], "deterministic caption")

# beam settings (inference §6.3): accepted, reach the engine (an out-of-range value is its error)
r = run(infer, "--random", "tiny", "--task", "caption", "--beam-size", "3", "--temperature", "1.5",
        "--length-penalty", "10", "synthetic:64x64")
check(r.returncode == 0 and isinstance(json.loads(r.stdout).get("caption"), str), "beam recipe flags")
r = run(infer, "--random", "tiny", "--task", "caption", "--beam-size", "2", "--temperature", "1e-9",
        "synthetic:64x64")
check(r.returncode == 1 and "temperature 1e-09" in r.stderr, f"bad temperature named: {r.stderr.strip()}")
r = run(infer, "--random", "tiny", "--task", "caption", "--length-penalty", "1000", "synthetic:64x64")
check(r.returncode == 1 and "length penalty 1000" in r.stderr, f"bad length penalty named: {r.stderr.strip()}")
r = run(bench, "--config", "tiny", "--task", "caption", "--beam-size", "3", "--temperature", "1.5",
        "--length-penalty", "10", "-n", "1", "--warmup", "0", "--width", "64", "--height", "64")
check(r.returncode == 0, f"ufo-bench beam flags ({r.stderr.strip()[-200:]})")

# semantic --label-map (the shipped demo model): a PGM whose class counts are the JSON's
demo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models",
                    "ufo-demo.safetensors")
pgm = os.path.join(tmp, "map.pgm")
r = run(infer, "--model", demo, "--task", "semantic", "--label-map", pgm, "synthetic:300x200")
check(r.returncode == 0, f"ufo-infer semantic --label-map exits 0 ({r.stderr.strip()})")
counts = json.loads(r.stdout)["semantic"]["class_pixels"]
with open(pgm, "rb") as f:
    data = f.read()
head = b"P5\n300 200\n255\n"
check(data.startswith(head) and len(data) == len(head) + 300 * 200, "--label-map writes a 300x200 8-bit PGM")
with open(demo, "rb") as f:  # the label set's names, from the model file's metadata
    meta = json.loads(f.read(int.from_bytes(f.read(8), "little")))["__metadata__"]
names = meta["ufo.labels.shapes-semantic"].split()
pix = data[len(head):]
got = {names[c]: pix.count(bytes([c])) for c in set(pix)}
check(got == counts and sum(got.values()) == 300 * 200, f"label map counts {got} == JSON {counts}")
r = run(infer, "--random", "tiny", "--task", "detection", "--label-map", pgm, "synthetic:64x64")
check(r.returncode == 2 and "--label-map needs --task semantic" in r.stderr, "--label-map without semantic")

# --list: one model, a JSON line per listed image in order, each as the image alone; a line
# that fails is its {"image", "error"} line and the exit status 1; --label-map takes %d
lst = os.path.join(tmp, "images.list")
with open(lst, "w") as f:
    f.write("synthetic:300x200\nsynthetic:64x48\n\n" + os.path.join(tmp, "absent.png") + "\nsynthetic:90x60\n")
maps = os.path.join(tmp, "map-%d.pgm")
r = run(infer, "--model", demo, "--task", "semantic", "--label-map", maps, "--list", lst)
lines = [json.loads(x) for x in r.stdout.splitlines()]
check(r.returncode == 1 and len(lines) == 4, f"--list: 4 JSON lines, exit 1 for the missing image ({r.returncode}, {len(lines)})")
check(lines[0]["semantic"]["class_pixels"] == counts, "--list line 0 = the image run alone")
check(lines[2].get("image", "").endswith("absent.png") and "absent.png" in lines[2].get("error", ""),
      f"--list names the image that failed: {lines[2]}")
check([x.get("width") for x in lines] == [300, 64, None, 90], "--list keeps the order")
with open(maps.replace("%d", "0"), "rb") as f:
    check(f.read() == data, "--list --label-map map-0.pgm = the image's map alone")
check(os.path.exists(maps.replace("%d", "3")) and not os.path.exists(maps.replace("%d", "2")),
      "--list --label-map: one file per line that ran, by its index")
with open(lst, "w") as f:
    f.write("synthetic:64x48\tthe red car\nsynthetic:64x48\n")
r = run(infer, "--random", "tiny", "--task", "grounding", "--prompt", "a dog", "--list", lst)
alone = run(infer, "--random", "tiny", "--task", "grounding", "--prompt", "the red car", "synthetic:64x48")
dog = run(infer, "--random", "tiny", "--task", "grounding", "--prompt", "a dog", "synthetic:64x48")
lines = r.stdout.splitlines()
check(r.returncode == 0 and len(lines) == 2, f"--list grounding exits 0 ({r.stderr.strip()})")
strip = lambda j: {k: v for k, v in json.loads(j).items() if k != "timing_ms"}  # noqa: E731
check(len(lines) == 2 and strip(lines[0]) == strip(alone.stdout) and strip(lines[1]) == strip(dog.stdout),
      "--list: a line's own prompt, else --prompt")
r = run(infer, "--random", "tiny", "--task", "caption", "--list", lst, "synthetic:64x48")
check(r.returncode == 2 and "no IMAGE with --list" in r.stderr, f"--list and an IMAGE: {r.stderr.strip()}")
r = run(infer, "--model", demo, "--task", "semantic", "--label-map", pgm, "--list", lst)
check(r.returncode == 2 and "%d" in r.stderr, f"--list --label-map without %d: {r.stderr.strip()}")
r = run(infer, "--random", "tiny", "--task", "caption", "--list", os.path.join(tmp, "no.list"))
check(r.returncode == 1 and "no.list" in r.stderr, f"--list of a missing file: {r.stderr.strip()}")

# ufo-bench over several images (frames cycle through them): two PNGs of different sizes
ims = [os.path.join(tmp, f"bench{i}.png") for i in range(2)]
for i, p in enumerate(ims):
    run(infer, "--random", "tiny", "--task", "caption", "--draw", p, f"synthetic:{64 + 16 * i}x48")
r = run(bench, "--config", "tiny", "--task", "caption", "-n", "3", "--warmup", "0", *ims)
check(r.returncode == 0 and "image 64x48 (first of the images)" in r.stdout,
      f"ufo-bench with two images ({r.stderr.strip()[-200:]})")
r = run(bench, "--config", "tiny", "--task", "caption", "-n", "1", os.path.join(tmp, "nope.png"))
check(r.returncode == 1 and "nope.png" in r.stderr, f"ufo-bench names a missing image: {r.stderr.strip()}")

# bad arguments: clear messages, non-zero exit
r = run(infer, "--random", "tiny", "--task", "panoptic", "synthetic:64x64")
check(r.returncode == 2 and "panoptic" in r.stderr, f"unknown task rejected: {r.stderr.strip()}")
r = run(infer, "--random", "tiny", "--task", "grounding", "synthetic:64x64")
check(r.returncode == 1 and "referring expression" in r.stderr, f"grounding without prompt: {r.stderr.strip()}")
r = run(infer, "--model", os.path.join(tmp, "missing.safetensors"), "synthetic:64x64")
check(r.returncode == 1 and "missing.safetensors" in r.stderr, f"missing model named: {r.stderr.strip()}")
r = run(infer, "--random", "tiny", os.path.join(tmp, "no-such-image.png"))
check(r.returncode == 1 and "no-such-image.png" in r.stderr, f"missing image named: {r.stderr.strip()}")

# ufo-bench prints every stage and frames/s
r = run(bench, "--config", "tiny", "--task", "caption", "--iterations", "1", "--warmup", "0",
        "--width", "64", "--height", "64", "--threads", "1")
check(r.returncode == 0, f"ufo-bench exits 0 ({r.stderr.strip()})")
for key in ("preprocess", "text pass", "image pass", "grid pass", "decode", "post-proc.", "frames/s",
            "peak memory", "decode steps"):
    check(key in r.stdout, f"ufo-bench prints '{key}'")

# --nireq 2: two sessions at once, each on its own thread; the aggregate over 2 x 2 timed frames
r = run(bench, "--config", "tiny", "--task", "detection", "--iterations", "2", "--warmup", "1",
        "--width", "64", "--height", "64", "--threads", "1", "--nireq", "2")
check(r.returncode == 0, f"ufo-bench --nireq 2 exits 0 ({r.stderr.strip()[-200:]})")
m = re.search(r"frames/s, 2 in flight +([0-9.]+) \(aggregate: 4 frames in ([0-9.]+) ms\)", r.stdout)
check(m is not None, f"ufo-bench --nireq 2 prints the aggregate of 4 frames: {r.stdout[-400:]}")
if m:
    check(abs(float(m.group(1)) - 4000.0 / float(m.group(2))) < 0.01 * float(m.group(1)),
          f"aggregate frames/s is 4 frames over the wall time: {m.group(0)}")
check("state, session 1" in r.stdout, "ufo-bench --nireq 2 made two sessions")
r = run(bench, "--config", "tiny", "--nireq", "2", "--sessions", "3")
check(r.returncode == 2 and "--nireq" in r.stderr, f"--nireq 2 --sessions 3 refused: {r.stderr.strip()}")

print(f"{failures} failures")
sys.exit(1 if failures else 0)
