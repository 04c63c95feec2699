"""Tracking quality of ufotrack on the procedural demo video: MOTA, IDF1 and ID switches
(CLEAR MOT and identity metrics from the PyPI package `motmetrics`, IoU ≥ 0.5 for a match).

Needs `pip install motmetrics` (not in tools/setup-deps.sh: no test runs this script; the
NumPy 2 incompatibility of motmetrics 1.4.0, np.asfarray, is patched here).

Ground truth comes from make_demo_video.py --tracks (CSV frame,id,x,y,w,h,cls). Hypotheses are
the tracked objects (those with a track id, "object_id") of one of:

  --dump FILE    a ufo-dump JSON-lines file of a pipeline ending in ufotrack;
  --run          runs that pipeline with ufo-dump (--model, --task, --interval, --threshold);
  --replay       the ground-truth boxes themselves as detections (score 0.9, optional --jitter
                 pixels of Gaussian noise and --drop probability), through the tracker core with
                 build/tools/ufo-track-replay (no model, no video): the tracker on its own;
  --replay-dump FILE  the detections recorded in a ufo-dump file (every object on its inferred
                 frames, tracked or not: run the dump with inference-interval=1) through
                 ufo-track-replay with --interval: tunes the tracker without running the model
                 again (ufodetect is deterministic, so --interval 3 here equals
                 inference-interval=3 in the pipeline).

Boxes predicted on frames without inference (inference-interval > 1) count like the others.

    python3 tools/reference/make_demo_video.py --out demo.mp4 --tracks demo-gt.csv
    python3 tools/reference/eval_tracking.py --gt demo-gt.csv --run --video demo.mp4 \\
        --model models/ufo-demo.safetensors --interval 3 --build build
    python3 tools/reference/eval_tracking.py --gt demo-gt.csv --replay --interval 3 --build build

Running the pipeline needs GST_PLUGIN_PATH_1_0 to reach the build's plugin (set here from
--build). Prints one line of metrics; --json FILE also writes them.
"""

import argparse
import csv
import json
import os
import subprocess
import sys

import numpy as np


def read_gt(path):
    """{frame: [(id, [x, y, w, h]), ...]}"""
    frames = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            box = [float(r["x"]), float(r["y"]), float(r["w"]), float(r["h"])]
            frames.setdefault(int(r["frame"]), []).append((int(r["id"]), box))
    return frames


def read_dump(path):
    """Tracked objects of a ufo-dump file: {frame: [(track id, box)]}, frame = line index."""
    frames = {}
    with open(path) as f:
        for k, line in enumerate(f):
            d = json.loads(line)
            W, H = d["resolution"]["width"], d["resolution"]["height"]
            out = []
            for o in d["objects"]:
                if not o.get("object_id"):
                    continue
                bb = o["detection"]["bounding_box"]
                x0, y0, x1, y1 = bb["x_min"] * W, bb["y_min"] * H, bb["x_max"] * W, bb["y_max"] * H
                out.append((int(o["object_id"]), [x0, y0, x1 - x0, y1 - y0]))
            frames[k] = out
    return frames


def run_pipeline(a, out):
    env = dict(os.environ)
    env.setdefault("GST_PLUGIN_PATH_1_0", os.path.join(a.build, "gst"))
    env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
    # in-process registry scan: a sanitizer build cannot load plugins in gst-plugin-scanner
    env.setdefault("GST_REGISTRY_FORK", "no")
    env.setdefault("GST_REGISTRY", os.path.join(a.build, "eval-tracking-registry.bin"))
    elem = "ufoseg" if a.task in ("instance", "semantic") else "ufodetect"
    pipe = (f"filesrc location={a.video} ! qtdemux ! h264parse ! avdec_h264 ! videoconvert ! "
            f"{elem} model={a.model} task={a.task} threshold={a.threshold} "
            f"inference-interval={a.interval} ! ufotrack {a.track_props}")
    cmd = [os.path.join(a.build, "tools", "ufo-dump", "ufo-dump"), "-o", out, pipe]
    print("running:", " ".join(cmd[:3]), repr(pipe), file=sys.stderr)
    subprocess.run(cmd, check=True, env=env)


def gt_detections(a, gt):
    """GT boxes as detection lines (frame,x,y,w,h,score,label)"""
    rng = np.random.default_rng(a.seed)
    lines = []
    for k in sorted(gt):
        for _, box in gt[k]:
            if rng.random() < a.drop:
                continue
            x, y, w, h = (np.array(box) + rng.normal(0, a.jitter, 4)) if a.jitter else box
            lines.append(f"{k},{x:.2f},{y:.2f},{max(w, 1):.2f},{max(h, 1):.2f},0.9,0\n")
    return lines


def dump_detections(path):
    """Every detected (not predicted) object of a ufo-dump file as detection lines"""
    lines = []
    with open(path) as f:
        for k, line in enumerate(f):
            d = json.loads(line)
            W, H = d["resolution"]["width"], d["resolution"]["height"]
            for o in d["objects"]:
                if o.get("predicted"):
                    continue
                det = o["detection"]
                bb = det["bounding_box"]
                x0, y0, x1, y1 = bb["x_min"] * W, bb["y_min"] * H, bb["x_max"] * W, bb["y_max"] * H
                lines.append(f"{k},{x0:.2f},{y0:.2f},{x1 - x0:.2f},{y1 - y0:.2f},"
                             f"{det.get('confidence', 1.0):.4f},{det.get('label_id', 0)}\n")
    return lines


def replay(a, lines, last):
    """detection lines → ufo-track-replay → {frame: [(id, box)]}"""
    cmd = [os.path.join(a.build, "tools", "ufo-track-replay", "ufo-track-replay"),
           "--interval", str(a.interval)] + a.replay_args.split()
    res = subprocess.run(cmd, input="".join(lines), capture_output=True, text=True, check=True)
    frames = {k: [] for k in range(last + 1)}
    for r in csv.DictReader(res.stdout.splitlines()):
        frames.setdefault(int(r["frame"]), []).append(
            (int(r["track_id"]), [float(r["x"]), float(r["y"]), float(r["w"]), float(r["h"])]))
    return frames


def evaluate(gt, hyp):
    if not hasattr(np, "asfarray"):  # motmetrics 1.4 still calls it; NumPy 2 removed it
        np.asfarray = lambda x, dtype=np.float64: np.asarray(x, dtype=dtype)
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    for k in range(max(list(gt) + list(hyp)) + 1):
        g, h = gt.get(k, []), hyp.get(k, [])
        dist = mm.distances.iou_matrix([b for _, b in g], [b for _, b in h], max_iou=0.5)
        acc.update([i for i, _ in g], [i for i, _ in h], dist)
    mh = mm.metrics.create()
    s = mh.compute(acc, metrics=["mota", "idf1", "num_switches", "num_false_positives",
                                 "num_misses", "precision", "recall", "num_unique_objects",
                                 "num_frames", "motp"], name="all")
    row = s.loc["all"]
    return {"MOTA": float(row["mota"]), "IDF1": float(row["idf1"]),
            "IDsw": int(row["num_switches"]), "FP": int(row["num_false_positives"]),
            "FN": int(row["num_misses"]), "precision": float(row["precision"]),
            "recall": float(row["recall"]), "gt_ids": int(row["num_unique_objects"]),
            "hyp_ids": len({i for v in hyp.values() for i, _ in v}),
            "frames": int(row["num_frames"]), "MOTP(1-IoU)": float(row["motp"])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gt", required=True, help="ground-truth tracks (make_demo_video.py --tracks)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--dump", help="ufo-dump JSON lines of a pipeline ending in ufotrack")
    src.add_argument("--run", action="store_true", help="run the pipeline with ufo-dump")
    src.add_argument("--replay", action="store_true", help="GT boxes through ufo-track-replay")
    src.add_argument("--replay-dump", help="detections of a ufo-dump through ufo-track-replay")
    ap.add_argument("--build", default="build", help="meson build directory")
    ap.add_argument("--video", default="demo.mp4")
    ap.add_argument("--model", default="models/ufo-demo.safetensors")
    ap.add_argument("--task", default="detection")
    ap.add_argument("--threshold", type=float, default=0.1,
                    help="detector threshold (low: ufotrack's second pass uses 0.1..0.5)")
    ap.add_argument("--track-props", default="", help="extra ufotrack properties, e.g. min-hits=1")
    ap.add_argument("--interval", type=int, default=1, help="inference-interval")
    ap.add_argument("--out", default="track-dump.jsonl", help="dump written by --run")
    ap.add_argument("--replay-args", default="",
                    help="ufo-track-replay options, e.g. '--min-hits 1 --buffer 60'")
    ap.add_argument("--jitter", type=float, default=0.0, help="--replay: box noise (pixels)")
    ap.add_argument("--drop", type=float, default=0.0, help="--replay: detection drop rate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the metrics here")
    a = ap.parse_args()
    gt = read_gt(a.gt)
    if a.replay:
        hyp = replay(a, gt_detections(a, gt), max(gt))
    elif a.replay_dump:
        hyp = replay(a, dump_detections(a.replay_dump), max(gt))
    else:
        if a.run:
            run_pipeline(a, a.out)
        hyp = read_dump(a.out if a.run else a.dump)
    m = evaluate(gt, hyp)
    print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items()))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(m, f, indent=1)


if __name__ == "__main__":
    main()
