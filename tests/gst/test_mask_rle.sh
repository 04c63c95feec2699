#!/usr/bin/env bash
# Instance masks in the JSON documents (ufo-dump --masks, the code of ufometaconvert and
# ufometapublish add-masks): a procedural demo video through ufoseg task=instance with the demo
# model and instance-boxes=mask (each box is that of all its mask's pixels at probability > 0.5).
# pycocotools decodes every "mask_rle"; checks:
#  - every document follows docs/schema/ufo-frame.schema.json; every object has a mask_rle of
#    the frame's size;
#  - each decoded mask's bounding box is its object's box, pixel for pixel (the element's box and
#    the RLE come from the same mask by different code: the engine's float probabilities, the
#    JSON's bytes);
#  - at --mask-threshold 0.9 every mask lies within the same object's mask at 0.5;
#  - ufoseg task=semantic on a frame of that video (a PNG): the classes' mask_rle, decoded, give
#    ufo-infer's label map of the same PNG pixel for pixel, and their areas its class counts.
# Usage (meson): test_mask_rle.sh SOURCE_ROOT BUILD_ROOT
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$src/tests/gst/gst-tools-env.sh"
require_elements x264enc mp4mux avdec_h264 qtdemux pngenc pngdec
python3 -c "import pycocotools, jsonschema" 2> /dev/null || {
  echo "FAIL: python3 pycocotools and jsonschema are needed (bash tools/setup-deps.sh installs them)"
  exit 1
}
export GST_PLUGIN_PATH_1_0=$build/gst
python3 "$src/tools/reference/make_demo_video.py" --out "$tmp/in.mp4" --seed 5 --seconds 0.6 > /dev/null
pipeline="filesrc location=$tmp/in.mp4 ! qtdemux ! avdec_h264 ! videoconvert ! \
ufoseg task=instance instance-boxes=mask model=$src/models/ufo-demo.safetensors"
"$build/tools/ufo-dump/ufo-dump" --masks "$pipeline" > "$tmp/m50.jsonl" 2> "$tmp/log" ||
  { cat "$tmp/log"; echo "FAIL: ufo-dump --masks"; exit 1; }
"$build/tools/ufo-dump/ufo-dump" --masks --mask-threshold 0.9 "$pipeline" > "$tmp/m90.jsonl" 2> "$tmp/log" ||
  { cat "$tmp/log"; echo "FAIL: ufo-dump --masks --mask-threshold 0.9"; exit 1; }
# the elements: ufometapublish (to a file) and ufometaconvert with add-masks write the same masks
gst-launch-1.0 -q filesrc location="$tmp/in.mp4" ! qtdemux ! avdec_h264 ! videoconvert ! \
  ufoseg task=instance instance-boxes=mask model="$src/models/ufo-demo.safetensors" ! \
  ufometaconvert add-masks=true post-messages=false location="$tmp/conv.jsonl" ! \
  ufometapublish method=file add-masks=true location="$tmp/pub.jsonl" ! fakesink > "$tmp/log" 2>&1 ||
  { cat "$tmp/log"; echo "FAIL: ufometaconvert / ufometapublish add-masks"; exit 1; }
# semantic: frame 3 of the video as a PNG, through the element and through ufo-infer
gst-launch-1.0 -q filesrc location="$tmp/in.mp4" ! qtdemux ! avdec_h264 ! videoconvert ! \
  video/x-raw,format=RGB ! pngenc snapshot=false ! multifilesink location="$tmp/frame%d.png"
"$build/tools/ufo-dump/ufo-dump" --masks "filesrc location=$tmp/frame3.png ! pngdec ! videoconvert ! \
ufoseg task=semantic model=$src/models/ufo-demo.safetensors" > "$tmp/sem.jsonl" 2> "$tmp/log" ||
  { cat "$tmp/log"; echo "FAIL: ufo-dump --masks, semantic"; exit 1; }
"$build/tools/ufo-infer/ufo-infer" -m "$src/models/ufo-demo.safetensors" -t semantic --precision auto \
  --label-map "$tmp/labels.pgm" "$tmp/frame3.png" > "$tmp/infer.json" 2> "$tmp/log" ||
  { cat "$tmp/log"; echo "FAIL: ufo-infer --label-map"; exit 1; }
python3 - "$tmp" "$src/docs/schema/ufo-frame.schema.json" <<'PY'
import json, sys
import jsonschema
import numpy as np
from pycocotools import mask as coco

tmp, schema_path = sys.argv[1], sys.argv[2]
validator = jsonschema.Draft7Validator(json.load(open(schema_path)))

def masks(path):
    frames = []
    for line in open(path):
        d = json.loads(line)
        errors = sorted(validator.iter_errors(d), key=str)
        if errors:
            sys.exit(f"FAIL: a document does not follow the schema: {errors[0].message}")
        w, h = d["resolution"]["width"], d["resolution"]["height"]
        objs = []
        for o in d["objects"]:
            r = o.get("mask_rle")
            if r is None:
                sys.exit(f"FAIL: an instance without mask_rle: {o}")
            if r["size"] != [h, w]:
                sys.exit(f"FAIL: mask_rle size {r['size']}, frame {w}x{h}")
            m = coco.decode({"size": r["size"], "counts": r["counts"].encode()})
            objs.append((o, m.astype(bool)))
        frames.append(objs)
    return frames

f50, f90 = masks(f"{tmp}/m50.jsonl"), masks(f"{tmp}/m90.jsonl")
if len(f50) != len(f90) or len(f50) < 5:
    sys.exit(f"FAIL: {len(f50)} and {len(f90)} documents")
n = 0
for objs50, objs90 in zip(f50, f90):
    if len(objs50) != len(objs90):
        sys.exit("FAIL: the two runs found different objects")
    for (o, m), (o90, m90) in zip(objs50, objs90):
        ys, xs = np.nonzero(m)
        if len(xs) == 0:
            continue
        n += 1
        box = (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
        if box != (o["x"], o["y"], o["w"], o["h"]):
            sys.exit(f"FAIL: the mask's box {box} is not the object's {(o['x'], o['y'], o['w'], o['h'])}")
        if (m90 & ~m).any():
            sys.exit("FAIL: a pixel inside at threshold 0.9 is outside at 0.5")
if n < 10:
    sys.exit(f"FAIL: only {n} non-empty masks to check")

def rles(path):
    return [[o.get("mask_rle") for o in json.loads(line)["objects"]] for line in open(path)]
dumped = rles(f"{tmp}/m50.jsonl")
for name in ("conv", "pub"):
    if rles(f"{tmp}/{name}.jsonl") != dumped:
        sys.exit(f"FAIL: the masks of {name}.jsonl differ from ufo-dump --masks'")

# the semantic map: pycocotools' decoding of every class against ufo-infer's label map (PGM)
with open(f"{tmp}/labels.pgm", "rb") as f:
    magic, w, h, maxval = f.readline(), *map(int, f.readline().split()), int(f.readline())
    labels = np.frombuffer(f.read(), dtype=np.uint8 if maxval < 256 else ">u2").reshape(h, w)
doc = json.loads(open(f"{tmp}/sem.jsonl").readline())
errors = sorted(validator.iter_errors(doc), key=str)
if errors:
    sys.exit(f"FAIL: the semantic document does not follow the schema: {errors[0].message}")
classes = doc["ufo"][0].get("semantic")
if not classes:
    sys.exit("FAIL: no semantic classes in the document")
decoded = np.full((h, w), -1)
for c in classes:
    r = c["mask_rle"]
    if r["size"] != [h, w]:
        sys.exit(f"FAIL: semantic mask_rle size {r['size']}, map {w}x{h}")
    m = coco.decode({"size": r["size"], "counts": r["counts"].encode()}).astype(bool)
    if (decoded[m] != -1).any() or int(m.sum()) != c["area"]:
        sys.exit(f"FAIL: class {c['label']}: overlapping masks or a wrong area")
    decoded[m] = c["label_id"]
if not (decoded == labels).all():
    sys.exit(f"FAIL: the decoded classes differ from ufo-infer's label map at {(decoded != labels).sum()} pixels")
counts = json.load(open(f"{tmp}/infer.json"))["semantic"]["class_pixels"]
if {c["label"]: c["area"] for c in classes} != counts:
    sys.exit(f"FAIL: class areas differ from ufo-infer's class_pixels {counts}")
print(f"ok: {n} masks in {len(f50)} frames, each mask's box the object's box; "
      f"{len(classes)} semantic classes equal to ufo-infer's label map")
PY
