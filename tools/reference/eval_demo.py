"""Evaluation of a demo model on the held-out scenes (docs/demo-model.md "Metrics").

Predictions come from the reference inference (ufo_pipeline.run: the same preprocessing,
decoding and post-processing as the golden fixtures); metrics:

  detection   pycocotools COCOeval "bbox": AP (0.50:0.95) and AP50
  instance    pycocotools COCOeval "segm": mask AP and AP50; and "bbox" AP50 of the instance
              boxes, both as the engine makes them by default (the box of each mask's largest
              connected region) and as the original's mask2bbox (every mask pixel)
  semantic    mIoU over the 9 semantic classes (background included; classes absent from both
              ground truth and prediction are left out of the mean); no valid grid -> all background
  caption     corpus BLEU-4 (Papineni et al. 2002: clipped n-gram precisions n = 1..4, uniform
              geometric mean, brevity penalty exp(1 - r/c) when c < r; whitespace tokens, one
              reference per image) and exact match; CIDEr-D too where pycocoevalcap (PyPI) is
              installed (its x10 scale); and the share of captions whose first noun phrase,
              relation and second noun phrase (scenes.caption_parts; none for one group) are right
  grounding   Acc@0.5: share of referring expressions whose predicted box has IoU >= 0.5 with
              the target box

    python3 tools/reference/eval_demo.py --model models/ufo-demo.safetensors --n 200 --json eval.json

With --ufo-infer PATH the predictions come from the C engine instead (ufo-infer on the same
scenes saved as PNG; --precision fp32 by default, the reference's arithmetic), the same metrics:

    python3 tools/reference/eval_demo.py --model models/ufo-demo.safetensors --n 200 \
        --ufo-infer build/tools/ufo-infer/ufo-infer
"""

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter

import cv2
import numpy as np
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import scenes  # noqa: E402
import train_demo  # noqa: E402
import ufo_pipeline  # noqa: E402
import ufo_post  # noqa: E402

TASKS = ("detection", "instance", "semantic", "caption", "grounding")


# ---------------------------------------------------------------------------------------------
# metrics


def coco_eval(gt, results, iou_type):
    """COCOeval on a ground-truth dict (scenes.coco_dict) and a result list; returns (AP, AP50)
    (AP = 0 when there is no result at all, where COCOeval would fail)."""
    if not results:
        return 0.0, 0.0
    coco = COCO()
    coco.dataset = json.loads(json.dumps(gt))
    with contextlib.redirect_stdout(sys.stderr):
        coco.createIndex()
        dt = coco.loadRes(json.loads(json.dumps(results)))
    ev = COCOeval(coco, dt, iou_type)
    with contextlib.redirect_stdout(sys.stderr):  # pycocotools' progress prints
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0]), float(ev.stats[1])


def confusion(pred, gt, n):
    return np.bincount(n * gt.astype(np.int64).ravel() + pred.astype(np.int64).ravel(),
                       minlength=n * n).reshape(n, n)


def miou(conf):
    """Mean IoU of the classes present in the ground truth or the prediction; per-class IoUs."""
    inter = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - inter
    ious = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
    return float(np.nanmean(ious)), ious


def bleu4(candidates, references):
    """Corpus BLEU-4 with one reference per candidate (whitespace tokens)."""
    match, total = [0] * 4, [0] * 4
    c_len = r_len = 0
    for c, r in zip(candidates, references):
        c, r = c.split(), r.split()
        c_len, r_len = c_len + len(c), r_len + len(r)
        for n in range(1, 5):
            cn = Counter(tuple(c[i : i + n]) for i in range(len(c) - n + 1))
            rn = Counter(tuple(r[i : i + n]) for i in range(len(r) - n + 1))
            match[n - 1] += sum(min(k, rn[g]) for g, k in cn.items())  # clipped counts
            total[n - 1] += max(0, len(c) - n + 1)
    if c_len == 0 or min(match) == 0:
        return 0.0
    logp = sum(math.log(m / t) for m, t in zip(match, total)) / 4.0
    bp = 1.0 if c_len >= r_len else math.exp(1.0 - r_len / c_len)
    return bp * math.exp(logp)


def box_iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


# ---------------------------------------------------------------------------------------------
# predictions in evaluation form


def ground_truth_predictions(test):
    """Perfect predictions made from the labels themselves (tests: every metric must be 1)."""
    det, inst, sem, caps, boxes = [], [], [], [], []
    for k, s in enumerate(test):
        for o in s["objects"]:
            x1, y1, x2, y2 = o["box"]
            det.append({"image_id": k + 1, "category_id": o["cls"] + 1, "bbox": [x1, y1, x2 - x1, y2 - y1],
                        "score": 1.0})
            inst.append({"image_id": k + 1, "category_id": o["cls"] + 1, "segmentation": scenes.rle(o["mask"]),
                         "score": 1.0})
        sem.append(s["semantic"])
        caps.append(s["caption"])
        boxes.append([r["box"] for r in s["refs"]])
    return {"detection": det, "instance": inst, "semantic": sem, "caption": caps, "grounding": boxes}


def model_predictions(model, test, tasks, batch=4, refs_per_image=2, log=print):
    """Run the reference inference on the test scenes."""
    train_demo.install_label_sets()
    out = {t: [] for t in tasks}
    ms = {}
    for t in tasks:
        t0 = time.time()
        for i in range(0, len(test), batch):
            chunk = test[i : i + batch]
            bgr = [np.ascontiguousarray(s["image"][:, :, ::-1]) for s in chunk]
            if t == "grounding":
                for k, s in enumerate(chunk):
                    refs = s["refs"][: refs_per_image or None]
                    if not refs:
                        out[t].append([])
                        continue
                    res, _, _ = ufo_pipeline.run(model, t, [bgr[k]] * len(refs), texts=[r["text"] for r in refs])
                    out[t].append([[float(v) for v in r["box"]] for r in res])
                continue
            res, _, _ = ufo_pipeline.run(model, t, bgr)
            for k, r in enumerate(res):
                img_id = i + k + 1
                if t == "detection":
                    for bx, lab, sc in zip(r["boxes"], r["labels"], r["scores"]):
                        x1, y1, x2, y2 = (float(v) for v in bx)
                        out[t].append({"image_id": img_id, "category_id": int(lab) + 1,
                                       "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(sc)})
                elif t == "instance":
                    boxes = out.setdefault("instance-boxes", {"region": [], "mask": []})
                    for m, lab, sc in zip(r["masks"], r["labels"], r["scores"]):
                        out[t].append({"image_id": img_id, "category_id": int(lab) + 1,
                                       "segmentation": scenes.rle(m), "score": float(sc)})
                        for mode in ("region", "mask"):
                            x1, y1, x2, y2 = (float(v) for v in ufo_post.mask_box(m, mode))
                            boxes[mode].append({"image_id": img_id, "category_id": int(lab) + 1,
                                                "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(sc)})
                elif t == "semantic":
                    m = r["map"]
                    out[t].append(np.zeros_like(chunk[k]["semantic"]) if m is None else m)
                else:
                    out[t].append(r["caption"])
        ms[t] = 1e3 * (time.time() - t0) / max(1, len(test))
        log(f"{t}: {ms[t]:.0f} ms per image")
    return out, ms


def rle_decode(rle):
    """ufo-infer's uncompressed COCO RLE (column-major runs, zeros first) -> bool (H, W)."""
    h, w = rle["size"]
    flat = np.zeros(h * w, dtype=bool)
    pos, val = 0, False
    for run in rle["counts"]:
        flat[pos : pos + run] = val
        pos += run
        val = not val
    return flat.reshape(w, h).T


def engine_predictions(infer, model_path, test, tasks, refs_per_image=2, threads=1,
                       precision="fp32", log=print):
    """The same predictions from the C engine: ufo-infer --list over the scenes saved as PNG."""
    out = {t: [] for t in tasks}
    ms = {}
    with tempfile.TemporaryDirectory() as tmp:
        pngs = []
        for k, s in enumerate(test):
            pngs.append(os.path.join(tmp, f"{k}.png"))
            cv2.imwrite(pngs[-1], np.ascontiguousarray(s["image"][:, :, ::-1]))

        def infer_list(task, items, *extra):
            """ufo-infer --list over (png, prompt or None) items: one process, one JSON each."""
            listing = os.path.join(tmp, f"{task}.list")
            with open(listing, "w") as f:
                for png, prompt in items:
                    f.write(png + (f"\t{prompt}" if prompt else "") + "\n")
            cmd = [infer, "--model", model_path, "--task", task, "--threads", str(threads),
                   "--precision", precision, *extra, "--list", listing]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
            if r.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()} {r.stdout[-2000:]}")
            res = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
            if len(res) != len(items):
                raise RuntimeError(f"{' '.join(cmd)}: {len(res)} results for {len(items)} images")
            return iter(res)

        for t in tasks:
            t0 = time.time()
            if t == "grounding":
                refs = [s["refs"][: refs_per_image or None] for s in test]
                res = infer_list(t, [(png, ref["text"]) for png, rs in zip(pngs, refs) for ref in rs])
                for rs in refs:
                    out[t].append([[float(v) for v in next(res)["objects"][0]["box"]] for _ in rs])
            elif t == "semantic":
                maps = os.path.join(tmp, "map-%d.pgm")
                res = infer_list(t, [(png, None) for png in pngs], "--label-map", maps)
                for k, s in enumerate(test):
                    next(res)
                    pgm = maps.replace("%d", str(k))
                    m = cv2.imread(pgm, cv2.IMREAD_UNCHANGED) if os.path.exists(pgm) else None
                    out[t].append(np.zeros_like(s["semantic"]) if m is None else m)
            else:
                res = infer_list(t, [(png, None) for png in pngs])
                for k in range(len(test)):
                    img_id = k + 1
                    r = next(res)
                    if t == "caption":
                        out[t].append(r["caption"])
                        continue
                    for o in r["objects"]:
                        x1, y1, x2, y2 = (float(v) for v in o["box"])
                        det = {"image_id": img_id, "category_id": int(o["label_id"]) + 1,
                               "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(o["score"])}
                        if t == "detection":
                            out[t].append(det)
                            continue
                        boxes = out.setdefault("instance-boxes", {"region": [], "mask": []})
                        m = rle_decode(o["mask"]["rle"])
                        out[t].append({"image_id": img_id, "category_id": det["category_id"],
                                       "segmentation": scenes.rle(m), "score": det["score"]})
                        boxes["region"].append(det)  # ufo-infer's default boxes
                        x1, y1, x2, y2 = (float(v) for v in ufo_post.mask_box(m, "mask"))
                        boxes["mask"].append(dict(det, bbox=[x1, y1, x2 - x1, y2 - y1]))
            ms[t] = 1e3 * (time.time() - t0) / max(1, len(test))
            log(f"{t}: {ms[t]:.0f} ms per image (ufo-infer --list, one process per task)")
    return out, ms


def evaluate(test, preds, refs_per_image=2):
    """Metrics dict from predictions in the form of ground_truth_predictions."""
    gt = scenes.coco_dict(test)
    m = {}
    if "detection" in preds:
        m["detection"] = dict(zip(("AP", "AP50"), coco_eval(gt, preds["detection"], "bbox")))
    if "instance" in preds:
        m["instance"] = dict(zip(("mask AP", "mask AP50"), coco_eval(gt, preds["instance"], "segm")))
        for mode, name in (("region", "box AP50"), ("mask", "box AP50 mask2bbox")):
            if "instance-boxes" in preds:
                m["instance"][name] = coco_eval(gt, preds["instance-boxes"][mode], "bbox")[1]
    if "semantic" in preds:
        n = len(scenes.SEMANTIC_CLASSES)
        conf = sum(confusion(p, s["semantic"], n) for p, s in zip(preds["semantic"], test))
        mi, ious = miou(conf)
        m["semantic"] = {"mIoU": mi, "IoU": {c: (None if np.isnan(v) else float(v))
                                             for c, v in zip(scenes.SEMANTIC_CLASSES, ious)}}
    if "caption" in preds:
        refs = [s["caption"] for s in test]
        exact = np.mean([p == r for p, r in zip(preds["caption"], refs)])
        m["caption"] = {"BLEU-4": bleu4(preds["caption"], refs), "exact": float(exact)}
        # where captions go wrong: each part of the grammar (scenes.caption_parts) right or not
        parts = [(scenes.caption_parts(p), scenes.caption_parts(r)) for p, r in zip(preds["caption"], refs)]
        for k, name in enumerate(("group 1", "relation", "group 2")):
            m["caption"][name] = float(np.mean([p[k] == r[k] for p, r in parts]))
        cider = cider_d(preds["caption"], refs)
        if cider is not None:
            m["caption"]["CIDEr-D"] = cider
    if "grounding" in preds:
        hits = []
        for boxes, s in zip(preds["grounding"], test):
            for b, r in zip(boxes, s["refs"][: refs_per_image if refs_per_image else None]):
                hits.append(box_iou(b, r["box"]) >= 0.5)
        m["grounding"] = {"Acc@0.5": float(np.mean(hits)) if hits else 0.0, "n": len(hits)}
    return m


def cider_d(preds, refs):
    """CIDEr-D (Vedantam et al. 2015) from pycocoevalcap (PyPI; optional: None without it), on the
    whitespace tokens (the captions are lowercase words already), one reference per image; the
    package's scale (x10: 1.0 is printed as 10.0)."""
    try:
        from pycocoevalcap.cider.cider import Cider
    except ImportError:
        return None
    score, _ = Cider().compute_score({k: [r] for k, r in enumerate(refs)}, {k: [p] for k, p in enumerate(preds)})
    return float(score)


def table(metrics):
    lines = [f"{'task':<10} {'metric':<10} {'value':>8}"]
    for t, d in metrics.items():
        for k, v in d.items():
            if isinstance(v, float):
                lines.append(f"{t:<10} {k:<10} {v:8.4f}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description="evaluate a demo model on the held-out scenes")
    ap.add_argument("--model", help="model file (safetensors, train_demo.export)")
    ap.add_argument("--ground-truth", action="store_true", help="evaluate the labels themselves (all 1.0)")
    ap.add_argument("--n", type=int, default=200, help="test scenes")
    ap.add_argument("--split", default="test", choices=["test", "train"],
                    help="train: the first n train scenes (with train_demo --overfit)")
    ap.add_argument("--size", type=int, default=448)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--refs-per-image", type=int, default=2, help="grounding: expressions per image (0: all)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", default=None)
    ap.add_argument("--ufo-infer", default=None, metavar="PATH",
                    help="predictions from the C engine (this ufo-infer) instead of the reference")
    ap.add_argument("--threads", type=int, default=1, help="--ufo-infer: its --threads")
    ap.add_argument("--precision", default="fp32", help="--ufo-infer: its --precision")
    a = ap.parse_args()
    tasks = a.tasks.split(",")
    test = [scenes.scene(s, a.size, a.size) for s in scenes.split_seeds(a.split, a.n)]
    ms = {}
    if a.ground_truth:
        preds = {t: v for t, v in ground_truth_predictions(test).items() if t in tasks}
    else:
        if not a.model:
            ap.error("--model or --ground-truth")
    if not a.ground_truth and a.ufo_infer:
        preds, ms = engine_predictions(a.ufo_infer, a.model, test, tasks, a.refs_per_image,
                                       a.threads, a.precision, log=lambda s: print(s, file=sys.stderr))
    elif not a.ground_truth:
        model, _ = train_demo.load_model_file(a.model, a.device)
        with torch.no_grad():
            preds, ms = model_predictions(model, test, tasks, a.batch, a.refs_per_image,
                                          log=lambda s: print(s, file=sys.stderr))
    metrics = evaluate(test, preds, a.refs_per_image)
    print(table(metrics))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"model": a.model, "n": a.n, "size": a.size, "metrics": metrics, "ms_per_image": ms},
                      f, indent=1)


if __name__ == "__main__":
    main()
