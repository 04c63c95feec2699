#!/usr/bin/env python3
"""The shipped demo model through the C engine (ufo-infer) and through the PyTorch reference on
held-out procedural scenes: the same detections, instance masks, semantic maps, captions and
grounding boxes (docs/demo-model.md).

Per image the two object lists must match one to one: same label, box corners within 1 px,
scores within 1e-3; for instance segmentation the masks must also agree (IoU >= 0.98), and the
boxes are those of each mask's largest connected region on both sides. For semantic
segmentation the per-class pixel counts of the two label maps (ufo-infer prints `class_pixels`)
must name the same classes and differ in at most 0.1 % of the pixels (argmax ties). The
scenes come from the held-out seeds (scenes.split_seeds("test", ...)), saved as PNG and read
back by both sides, so both see the same pixels. Captions must be the same text (beam search over
the same log-probabilities); grounding, for the first referring expression of each scene that has
one, the same box within 1 px.

Usage: test_demo_parity.py UFO_INFER MODEL TMPDIR [N_DETECTION [N_INSTANCE [N_SEMANTIC [N_CAPTION
       [N_GROUNDING]]]]]
"""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "reference"))

import scenes  # noqa: E402
from eval_demo import rle_decode  # noqa: E402
import train_demo  # noqa: E402
import ufo_pipeline  # noqa: E402

BOX_TOL = 1.0  # pixels
SCORE_TOL = 1e-3
MASK_IOU_MIN = 0.98
SEMANTIC_PIXELS_MAX = 1e-3  # share of the pixels whose class may differ


def c_results(infer, model, task, items, tmp):
    """ufo-infer --list: the C results of (png, expression or None) items, one process per task
    (the model loads once); one JSON object per item, in order."""
    listing = os.path.join(tmp, f"{task}.list")
    with open(listing, "w") as f:
        for png, expression in items:
            f.write(png + (f"\t{expression}" if expression else "") + "\n")
    r = subprocess.run([infer, "--model", model, "--task", task, "--threads", "1", "--list", listing],
                       capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        raise RuntimeError(f"ufo-infer --list {listing} failed: {r.stderr.strip()} {r.stdout[-2000:]}")
    out = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    if len(out) != len(items):
        raise RuntimeError(f"ufo-infer --list: {len(out)} results for {len(items)} images")
    return out


def text_task_problems(c, model, task, png, expression):
    """Caption: the C caption equals the reference's. Grounding: the C box (the one object) lies
    within BOX_TOL of the reference's. Returns (problems, what was compared)."""
    res, _, _ = ufo_pipeline.run(model, task, [cv2.imread(png, cv2.IMREAD_COLOR)],
                                 texts=[expression] if expression else None)
    if task == "caption":
        ok = c.get("caption") == res[0]["caption"]
        return ([] if ok else [f"caption {c.get('caption')!r} from C, {res[0]['caption']!r} from the reference"],
                c.get("caption"))
    ref_box = [float(v) for v in res[0]["box"]]
    if len(c["objects"]) != 1:
        return [f"{len(c['objects'])} grounding boxes from C, expected 1"], None
    c_box = [float(v) for v in c["objects"][0]["box"]]
    d = max(abs(a - b) for a, b in zip(c_box, ref_box))
    return ([] if d <= BOX_TOL else [f"box {c_box} from C, {ref_box} from the reference ({expression!r})"]), d


def semantic_problems(c_json, model, png):
    """Per-class pixel counts of the C and the reference label maps; returns (problems, pixels)."""
    c = (c_json.get("semantic") or {}).get("class_pixels", {})
    res, _, _ = ufo_pipeline.run(model, "semantic", [cv2.imread(png, cv2.IMREAD_COLOR)])
    names = train_demo.LABEL_SETS[model.cfg.tasks["semantic"].label_set]
    ref = {}
    if res[0]["map"] is not None:
        ids, counts = np.unique(res[0]["map"], return_counts=True)
        ref = {names[int(i)]: int(k) for i, k in zip(ids, counts)}
    problems = []
    if set(c) != set(ref):
        problems.append(f"classes {sorted(c)} from C, {sorted(ref)} from the reference")
    off = sum(abs(c.get(k, 0) - ref.get(k, 0)) for k in set(c) | set(ref)) // 2
    npix = max(1, sum(ref.values()) or sum(c.values()))
    if off > SEMANTIC_PIXELS_MAX * npix:
        problems.append(f"{off} of {npix} pixels differ in class (C {c}, reference {ref})")
    return problems, sum(c.values())


def ref_objects(model, task, png):
    res, _, _ = ufo_pipeline.run(model, task, [cv2.imread(png, cv2.IMREAD_COLOR)])
    r = res[0]
    out = []
    for k in range(len(r["labels"])):
        o = {"label_id": int(r["labels"][k]), "score": float(r["scores"][k])}
        if task == "detection":
            o["box"] = [float(v) for v in r["boxes"][k]]
        else:
            o["mask"] = np.asarray(r["masks"][k], dtype=bool)
            o["box"] = [float(v) for v in r["boxes"][k]]
        out.append(o)
    return out


def match(c_objs, r_objs, task):
    """One-to-one matching; returns a list of problems (empty when the lists agree)."""
    problems = []
    if len(c_objs) != len(r_objs):
        problems.append(f"{len(c_objs)} objects from C, {len(r_objs)} from the reference")
    used = set()
    for co in c_objs:
        cmask = rle_decode(co["mask"]["rle"]) if task == "instance" else None
        found = None
        for j, ro in enumerate(r_objs):
            if j in used or ro["label_id"] != co["label_id"]:
                continue
            if abs(ro["score"] - co["score"]) > SCORE_TOL:
                continue
            if max(abs(a - b) for a, b in zip(ro["box"], co["box"])) > BOX_TOL:
                continue  # instance: both take the box of the mask's largest region
            if task == "instance":
                inter = np.logical_and(cmask, ro["mask"]).sum()
                union = np.logical_or(cmask, ro["mask"]).sum()
                if union and inter / union < MASK_IOU_MIN:
                    continue
            found = j
            break
        if found is None:
            problems.append(f"C object {co['label']} {co['score']:.4f} {co['box']} has no match")
        else:
            used.add(found)
    return problems


def main():
    infer, model_path, tmp = sys.argv[1:4]
    if not os.path.isfile(model_path):
        if os.environ.get("UFO_TEST_ALLOW_MISSING_FIXTURES") == "1":
            print(f"SKIP: {model_path} is missing (UFO_TEST_ALLOW_MISSING_FIXTURES=1)")
            sys.exit(77)
        print(f"FAIL: the demo model {model_path} is missing (docs/demo-model.md); set "
              "UFO_TEST_ALLOW_MISSING_FIXTURES=1 to run without it on purpose")
        sys.exit(1)
    n_det = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    n_inst = int(sys.argv[5]) if len(sys.argv) > 5 else 20
    n_sem = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    n_cap = int(sys.argv[7]) if len(sys.argv) > 7 else 0
    n_ground = int(sys.argv[8]) if len(sys.argv) > 8 else 0
    os.makedirs(tmp, exist_ok=True)
    if not os.path.exists(model_path):
        print(f"FAIL: {model_path} is missing")
        return 1
    torch.set_num_threads(1)
    model, _ = train_demo.load_model_file(model_path)
    train_demo.install_label_sets()
    size = model.cfg.tasks["detection"].input_size
    failures = checked = n_objects = 0
    worst = {"box": 0.0, "score": 0.0, "grounding box": 0.0}
    with torch.no_grad():
        for task, n in (("detection", n_det), ("instance", n_inst), ("semantic", n_sem), ("caption", n_cap),
                        ("grounding", n_ground)):
            items = []  # (seed, png, expression)
            for seed in scenes.split_seeds("test", n):
                png = os.path.join(tmp, f"scene-{seed}.png")
                sc = scenes.scene(seed, size, size) if task == "grounding" or not os.path.exists(png) else None
                if not os.path.exists(png):
                    cv2.imwrite(png, np.ascontiguousarray(sc["image"][:, :, ::-1]))
                expression = None
                if task == "grounding":
                    if not sc["refs"]:
                        continue  # no expression singles out an object of this scene
                    expression = sc["refs"][0]["text"]
                items.append((seed, png, expression))
            c_all = c_results(infer, model_path, task, [(png, e) for _, png, e in items], tmp)
            for (seed, png, expression), c_json in zip(items, c_all):
                if "error" in c_json:
                    raise RuntimeError(f"ufo-infer failed on {png}: {c_json['error']}")
                if task in ("caption", "grounding"):
                    problems, what = text_task_problems(c_json, model, task, png, expression)
                    checked += 1
                    if task == "grounding" and what is not None:
                        worst["grounding box"] = max(worst["grounding box"], what)
                    if problems:
                        failures += 1
                        print(f"FAIL {task} scene {seed}: " + "; ".join(problems))
                    continue
                if task == "semantic":
                    problems, npix = semantic_problems(c_json, model, png)
                    checked += 1
                    if problems:
                        failures += 1
                        print(f"FAIL semantic scene {seed}: " + "; ".join(problems))
                    elif npix == 0:
                        print(f"note semantic scene {seed}: no valid grid on either side")
                    continue
                c_objs = c_json["objects"]
                r_objs = ref_objects(model, task, png)
                problems = match(c_objs, r_objs, task)
                checked += 1
                n_objects += len(c_objs)
                if not problems:
                    for co, ro in zip(sorted(c_objs, key=lambda o: -o["score"]),
                                      sorted(r_objs, key=lambda o: -o["score"])):
                        worst["box"] = max(worst["box"], max(abs(a - b) for a, b in zip(co["box"], ro["box"])))
                        worst["score"] = max(worst["score"], abs(co["score"] - ro["score"]))
                if problems:
                    failures += 1
                    print(f"FAIL {task} scene {seed}: " + "; ".join(problems[:4]))
            print(f"ok   {task}: {n} held-out scenes compared")
    print(f"{checked} images, {n_objects} objects from C; worst difference: "
          f"box {worst['box']:.4f} px, score {worst['score']:.2e}, grounding box {worst['grounding box']:.4f} px")
    if n_objects == 0 and (n_det or n_inst):
        print("FAIL: the model found no object at all: nothing was compared")
        failures += 1
    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
