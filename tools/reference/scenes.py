"""Procedural scenes for the project's demo UFO-ViT model (docs/demo-model.md).

`scene(seed, W, H)` draws a deterministic image (numpy Generator only) with 2-7 coloured shapes
of 8 classes on a textured / noisy / gradient background, drawn back to front (later shapes
occlude earlier ones), and returns its labels:

  image     RGB uint8 (H, W, 3)
  objects   list of dicts: cls (index into CLASSES), name, colour, mask (visible part, bool),
            box [x1, y1, x2, y2] (pixels, x2/y2 exclusive = max + 1, COCO style), area, size
            ("large" / "small"), depth (drawing order)
  semantic  int32 (H, W): SEMANTIC_CLASSES index (0 = background, k + 1 = CLASSES[k])
  caption   grammar below; refs: list of {text, box, object}

Caption grammar (deterministic from the labels):
  group   = objects of one (colour, class); np = "a red circle" | "an orange star" | "two blue squares" (count words
            up to "five", plural "es" after x or s, "s" otherwise)
  caption = np1                                    (one group)
          | np1 " " rel " " np2                    (the two largest groups by visible area)
  rel     = "above" | "below" | "to the left of" | "to the right of"  (larger centroid offset)
Referring expressions, one per object that can be singled out:
  "the red circle" (unique colour+class), else "the large red circle" / "the small red circle"
  (two of a kind, areas differ by ≥ 1.8×), else "the leftmost / rightmost / topmost /
  bottommost red circle" (the extreme one, by box centre, with a margin of 8 % of the image).

Splits: train seeds [0, 1_000_000), test seeds [1_000_000, ...): `split_seeds(split, n)`.
`export_coco` writes a split as COCO JSON (RLE masks via pycocotools) plus PNG images and
semantic maps, so evaluation uses pycocotools directly.
"""

import json
import math
import os

import cv2
import numpy as np
from pycocotools import mask as mask_utils

# Class names: lowercase letters and spaces only (seg spec §6.10: they must survive decoding).
CLASSES = ["circle", "square", "triangle", "star", "ring", "cross", "hexagon", "heart"]
SEMANTIC_CLASSES = ["background"] + CLASSES
LABEL_SET = "shapes"  # detection / instance label set name (ufo.labels.shapes)
SEMANTIC_LABEL_SET = "shapes-semantic"  # semantic label set name (ufo.labels.shapes-semantic)

COLOURS = {
    "red": (220, 35, 35),
    "green": (40, 175, 50),
    "blue": (45, 75, 225),
    "yellow": (240, 215, 35),
    "purple": (150, 55, 190),
    "orange": (250, 135, 20),
}
COLOUR_NAMES = list(COLOURS)
COUNT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

TEST_SEED0 = 1_000_000
MIN_VISIBLE = 0.45  # an object keeps at least this fraction of its full area visible
MIN_AREA = 80  # ... and at least this many pixels (at the scene's size)


def split_seeds(split, n, start=0):
    """Seeds of a split: train = [0, 1e6), test = [1e6, ...)."""
    if split == "train":
        if start + n > TEST_SEED0:
            raise ValueError("train split has 1,000,000 seeds")
        return list(range(start, start + n))
    if split == "test":
        return list(range(TEST_SEED0 + start, TEST_SEED0 + start + n))
    raise ValueError(f"unknown split {split!r} (train, test)")


# ---------------------------------------------------------------------------------------------
# shapes


def _poly(cx, cy, radii, angle):
    """Polygon with vertices at the given radii, evenly spaced, rotated by angle (radians)."""
    n = len(radii)
    t = angle + 2 * np.pi * np.arange(n) / n
    return np.stack([cx + radii * np.sin(t), cy - radii * np.cos(t)], 1)


def shape_mask(kind, cx, cy, r, angle, H, W):
    """Filled bool mask (H, W) of a shape of class `kind` with circumradius r (pixels)."""
    m = np.zeros((H, W), np.uint8)
    sh = 4  # cv2 sub-pixel bits: vertices at 1/16 pixel
    f = float(1 << sh)

    def fill(pts):
        cv2.fillPoly(m, [np.round(np.asarray(pts) * f).astype(np.int32)], 1, cv2.LINE_8, sh)

    c = (int(round(cx * f)), int(round(cy * f)))
    if kind == "circle":
        cv2.circle(m, c, int(round(r * f)), 1, -1, cv2.LINE_8, sh)
    elif kind == "ring":
        cv2.circle(m, c, int(round(r * f)), 1, -1, cv2.LINE_8, sh)
        cv2.circle(m, c, int(round(0.55 * r * f)), 0, -1, cv2.LINE_8, sh)
    elif kind == "square":
        fill(_poly(cx, cy, np.full(4, r), angle))
    elif kind == "triangle":
        fill(_poly(cx, cy, np.full(3, r), angle))
    elif kind == "hexagon":
        fill(_poly(cx, cy, np.full(6, r), angle))
    elif kind == "star":
        fill(_poly(cx, cy, np.tile([r, 0.45 * r], 5), angle))
    elif kind == "cross":
        a, b = r, 0.33 * r  # plus sign: arm half-length a, half-width b, 12 vertices
        pts = [(b, a), (b, b), (a, b), (a, -b), (b, -b), (b, -a), (-b, -a), (-b, -b), (-a, -b),
               (-a, b), (-b, b), (-b, a)]
        ca, sa = math.cos(angle), math.sin(angle)
        fill([(cx + x * ca - y * sa, cy + x * sa + y * ca) for x, y in pts])
    elif kind == "heart":
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        s = r / 17.0
        ca, sa = math.cos(angle * 0.3), math.sin(angle * 0.3)  # hearts stay roughly upright
        fill(np.stack([cx + s * (x * ca - y * sa), cy + s * (x * sa + y * ca) + 0.1 * r], 1))
    else:
        raise ValueError(f"unknown shape {kind!r}")
    return m.astype(bool)


# ---------------------------------------------------------------------------------------------
# backgrounds


def background(rng, H, W):
    """Muted textured / noisy / gradient background, RGB float32 in [0, 255]."""
    base = rng.uniform(70, 170, 3)
    grey = base.mean()
    base = grey + 0.35 * (base - grey)  # low saturation: shapes stay the colourful things
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    kind = int(rng.integers(0, 4))
    img = np.broadcast_to(base.astype(np.float32), (H, W, 3)).copy()
    if kind == 0:  # linear gradient
        a = rng.uniform(0, 2 * np.pi)
        g = (np.cos(a) * x / W + np.sin(a) * y / H)[..., None]
        img += rng.uniform(-50, 50, 3).astype(np.float32) * g
    elif kind == 1:  # stripes
        a, period = rng.uniform(0, np.pi), rng.uniform(12, 40)
        s = np.sin(2 * np.pi * (np.cos(a) * x + np.sin(a) * y) / period)[..., None]
        img += rng.uniform(8, 25) * s
    elif kind == 2:  # checkerboard
        cell = int(rng.integers(16, 48))
        s = (((x // cell) + (y // cell)) % 2 * 2 - 1)[..., None]
        img += rng.uniform(6, 20) * s
    else:  # smooth blobs: low-resolution noise upsampled
        lo = rng.normal(0, 1, (6, 6, 3)).astype(np.float32)
        img += 18 * cv2.resize(lo, (W, H), interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, rng.uniform(2, 9), (H, W, 3)).astype(np.float32)  # sensor-like noise
    return img


# ---------------------------------------------------------------------------------------------
# scenes


def _sample_objects(rng, H, W, n):
    scale = min(H, W) / 448.0
    objs = []
    for _ in range(n):
        r = float(rng.uniform(18, 68)) * scale
        cls = int(rng.integers(0, len(CLASSES)))
        colour = COLOUR_NAMES[int(rng.integers(0, len(COLOUR_NAMES)))]
        if objs and rng.uniform() < 0.35:  # repeat a kind: counts and "leftmost"/"large" occur
            prev = objs[int(rng.integers(0, len(objs)))]
            cls, colour = prev["cls"], prev["colour"]
        objs.append({
            "cls": cls,
            "colour": colour,
            "cx": float(rng.uniform(r * 0.6, W - r * 0.6)),
            "cy": float(rng.uniform(r * 0.6, H - r * 0.6)),
            "r": r,
            "angle": float(rng.uniform(0, 2 * np.pi)),
            "shade": rng.uniform(-18, 18, 3),
        })
    return objs


def _visible(objs, H, W):
    """Full and visible masks, drawing objs in order (later ones on top)."""
    full = [shape_mask(CLASSES[o["cls"]], o["cx"], o["cy"], o["r"], o["angle"], H, W) for o in objs]
    vis = []
    cover = np.zeros((H, W), bool)
    for m in reversed(full):
        vis.append(m & ~cover)
        cover |= m
    return full, vis[::-1]


def mask_box(m):
    """[x1, y1, x2, y2] of a bool mask, x2/y2 exclusive (max + 1)."""
    ys, xs = np.nonzero(m)
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


def scene(seed, W=448, H=448, min_objects=2, max_objects=7):
    """One deterministic scene (see the module docstring)."""
    rng = np.random.default_rng(seed)
    objs = _sample_objects(rng, H, W, int(rng.integers(min_objects, max_objects + 1)))
    # drop objects that end up mostly hidden, then recompute (occluders never disappear later)
    while True:
        full, vis = _visible(objs, H, W)
        bad = [i for i, (f, v) in enumerate(zip(full, vis))
               if v.sum() < max(MIN_AREA * (min(H, W) / 448.0) ** 2, MIN_VISIBLE * f.sum())]
        if not bad:
            break
        objs = [o for i, o in enumerate(objs) if i != bad[0]]
    img = background(rng, H, W)
    for o, m in zip(objs, full):
        img[m] = np.asarray(COLOURS[o["colour"]], np.float32) + o["shade"].astype(np.float32)
    img += rng.normal(0, 3, (H, W, 3)).astype(np.float32)
    image = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    semantic = np.zeros((H, W), np.int32)
    out = []
    for depth, (o, v) in enumerate(zip(objs, vis)):
        semantic[v] = o["cls"] + 1
        out.append({"cls": o["cls"], "name": CLASSES[o["cls"]], "colour": o["colour"], "mask": v,
                    "box": mask_box(v), "area": int(v.sum()), "depth": depth})
    _sizes(out)
    return {"seed": seed, "image": image, "objects": out, "semantic": semantic,
            "caption": caption(out, W, H), "refs": referring(out, W, H)}


def _sizes(objs):
    """size word per object: large if its visible area is at least the median of the scene."""
    if not objs:
        return
    med = float(np.median([o["area"] for o in objs]))
    for o in objs:
        o["size"] = "large" if o["area"] >= med else "small"


# ---------------------------------------------------------------------------------------------
# language


def plural(name):
    return name + ("es" if name.endswith(("x", "s")) else "s")


def noun_phrase(n, colour, name):
    if n == 1:
        return f"{'an' if colour[0] in 'aeiou' else 'a'} {colour} {name}"
    return f"{COUNT_WORDS[n]} {colour} {plural(name)}"


def _centre(o):
    x1, y1, x2, y2 = o["box"]
    return (x1 + x2) / 2.0, (y1 + y2) / 2.0


# the relation phrases of caption()
RELATIONS = ("above", "below", "to the left of", "to the right of")


def caption_parts(text):
    """(first noun phrase, relation, second noun phrase) of a caption() sentence; (text, None,
    None) for a one-group caption."""
    for r in RELATIONS:
        a, sep, b = text.partition(f" {r} ")
        if sep:
            return a, r, b
    return text, None, None


def caption(objs, W, H):
    groups = {}
    for o in objs:
        groups.setdefault((o["colour"], o["name"]), []).append(o)
    # the two largest groups by total visible area; ties by first appearance (dict order)
    order = sorted(groups.items(), key=lambda kv: -sum(o["area"] for o in kv[1]))
    (c1, n1), g1 = order[0]
    np1 = noun_phrase(len(g1), c1, n1)
    if len(order) == 1:
        return np1
    (c2, n2), g2 = order[1]
    ax = np.mean([_centre(o)[0] for o in g1]) - np.mean([_centre(o)[0] for o in g2])
    ay = np.mean([_centre(o)[1] for o in g1]) - np.mean([_centre(o)[1] for o in g2])
    if abs(ay) / H >= abs(ax) / W:
        rel = "above" if ay < 0 else "below"
    else:
        rel = "to the left of" if ax < 0 else "to the right of"
    return f"{np1} {rel} {noun_phrase(len(g2), c2, n2)}"


def referring(objs, W, H):
    refs = []
    for i, o in enumerate(objs):
        same = [p for p in objs if p["colour"] == o["colour"] and p["name"] == o["name"]]
        base = f"{o['colour']} {o['name']}"
        text = None
        if len(same) == 1:
            text = f"the {base}"
        elif len(same) == 2:
            other = same[0] if same[1] is o else same[1]
            big, small = max(o["area"], other["area"]), min(o["area"], other["area"])
            if big >= 1.8 * small:
                text = f"the {'large' if o['area'] == big else 'small'} {base}"
        if text is None:
            cx, cy = _centre(o)
            others = [_centre(p) for p in same if p is not o]
            mx, my = 0.08 * W, 0.08 * H
            if all(cx + mx < x for x, _ in others):
                text = f"the leftmost {base}"
            elif all(cx - mx > x for x, _ in others):
                text = f"the rightmost {base}"
            elif all(cy + my < y for _, y in others):
                text = f"the topmost {base}"
            elif all(cy - my > y for _, y in others):
                text = f"the bottommost {base}"
        if text is not None:
            refs.append({"text": text, "box": list(o["box"]), "object": i})
    return refs


# ---------------------------------------------------------------------------------------------
# COCO export


def rle(mask):
    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in r["size"]], "counts": r["counts"].decode("ascii")}


def coco_dict(scenes, file_names=None):
    """COCO instances dict of a list of scenes (category_id = class index + 1), with the
    captions and referring expressions under extra top-level keys (ignored by pycocotools)."""
    images, anns, caps, refs = [], [], [], []
    for k, s in enumerate(scenes):
        H, W = s["semantic"].shape
        img_id = k + 1
        images.append({"id": img_id, "width": W, "height": H, "seed": s["seed"],
                       "file_name": file_names[k] if file_names else f"{s['seed']:07d}.png"})
        for o in s["objects"]:
            x1, y1, x2, y2 = o["box"]
            anns.append({"id": len(anns) + 1, "image_id": img_id, "category_id": o["cls"] + 1,
                         "bbox": [x1, y1, x2 - x1, y2 - y1], "area": o["area"], "iscrowd": 0,
                         "segmentation": rle(o["mask"])})
        caps.append({"image_id": img_id, "caption": s["caption"]})
        for r in s["refs"]:
            refs.append({"image_id": img_id, "text": r["text"], "box": r["box"]})
    cats = [{"id": i + 1, "name": n, "supercategory": "shape"} for i, n in enumerate(CLASSES)]
    return {"images": images, "annotations": anns, "categories": cats, "captions": caps,
            "refs": refs, "semantic_classes": SEMANTIC_CLASSES}


def export_coco(split, n, out_dir, W=448, H=448, start=0):
    """Write <out_dir>/<split>.json, images <split>/<seed>.png (RGB) and semantic maps
    <split>_sem/<seed>.png (uint8 class index). Returns the JSON path."""
    img_dir = os.path.join(out_dir, split)
    sem_dir = os.path.join(out_dir, split + "_sem")
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(sem_dir, exist_ok=True)
    scenes, names = [], []
    for seed in split_seeds(split, n, start):
        s = scene(seed, W, H)
        name = f"{seed:07d}.png"
        cv2.imwrite(os.path.join(img_dir, name), s["image"][:, :, ::-1])
        cv2.imwrite(os.path.join(sem_dir, name), s["semantic"].astype(np.uint8))
        scenes.append(s)
        names.append(os.path.join(split, name))
    d = coco_dict(scenes, names)
    path = os.path.join(out_dir, f"{split}.json")
    with open(path, "w") as f:
        json.dump(d, f)
    return path


def main():
    import argparse

    ap = argparse.ArgumentParser(description="export a split of the demo scenes as COCO JSON")
    ap.add_argument("--split", default="test", choices=["train", "test"])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--size", type=int, default=448)
    ap.add_argument("--out", default="demo-data")
    a = ap.parse_args()
    print(export_coco(a.split, a.n, a.out, a.size, a.size))


if __name__ == "__main__":
    main()
