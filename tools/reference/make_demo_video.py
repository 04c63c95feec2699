"""Short deterministic demo video of moving, occluding shapes (docs/demo-model.md).

The frames come from the scene generator's pieces (scenes.shape_mask, scenes.background,
scenes.COLOURS): a fixed background, 4-7 shapes moving on straight lines that bounce off the
borders and rotate slowly; later shapes are drawn on top, so objects pass in front of each other.
Frames are piped as raw RGB into GStreamer and encoded as H.264 in MP4:

    fdsrc ! rawvideoparse (rgb, W×H, fps) ! videoconvert ! x264enc (threads=1) ! h264parse ! mp4mux

x264 runs single-threaded with fixed settings, and the creation/modification times that mp4mux takes
from the wall clock are then overwritten with 0 (fix_times), so the same seed gives the same bytes.

    python3 tools/reference/make_demo_video.py --out demo.mp4            # 480x480, 10 s, 15 fps

Square by default: the demo model sees a 448x448 input, and a frame is resized to it without
keeping the aspect ratio (as the original UFO does), so a 640x480 frame squeezes circles into
ellipses; on the step-5800 detection checkpoint 10 frames gave AP50 0.66 at 480x480 against
0.38 at 640x480.
    python3 tools/reference/make_demo_video.py --out demo.mp4 --labels demo.json   # + per-frame boxes
    python3 tools/reference/make_demo_video.py --out demo.mp4 --tracks demo-gt.csv # + GT tracks

Ground-truth tracks (--tracks, for tools/reference/eval_tracking.py): one CSV line per visible
object and frame, `frame,id,x,y,w,h,cls`: id = the shape's index in the scene (0-based, stable
over the video), box = the visible part (pixels, x/y/w/h). A shape hidden behind others (less
than MIN_AREA visible pixels) has no line on that frame. --labels also carries the id per box.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import scenes  # noqa: E402


def movers(rng, W, H, n):
    scale = min(W, H) / 448.0
    objs = []
    for _ in range(n):
        r = float(rng.uniform(25, 60)) * scale
        speed = float(rng.uniform(30, 90)) * scale  # pixels per second
        a = float(rng.uniform(0, 2 * np.pi))
        objs.append({
            "cls": int(rng.integers(0, len(scenes.CLASSES))),
            "colour": scenes.COLOUR_NAMES[int(rng.integers(0, len(scenes.COLOUR_NAMES)))],
            "p": np.array([rng.uniform(r, W - r), rng.uniform(r, H - r)]),
            "v": speed * np.array([np.cos(a), np.sin(a)]),
            "r": r,
            "angle": float(rng.uniform(0, 2 * np.pi)),
            "spin": float(rng.uniform(-0.6, 0.6)),  # radians per second
        })
    return objs


def _bounce(x, lo, hi):
    """Reflect a free position into [lo, hi] (a triangle wave)."""
    span = hi - lo
    u = (x - lo) % (2 * span)
    return lo + (u if u <= span else 2 * span - u)


def frames(seed=7, W=480, H=480, fps=15, seconds=10.0):
    """Yield (RGB uint8 frame, list of {id, cls, name, colour, box}) for each frame."""
    rng = np.random.default_rng(seed)
    objs = movers(rng, W, H, int(rng.integers(4, 8)))
    bg = scenes.background(rng, H, W)
    for k in range(int(round(fps * seconds))):
        t = k / fps
        img = bg.copy()
        cover = np.zeros((H, W), bool)
        masks = []
        for o in objs:
            x = _bounce(o["p"][0] + o["v"][0] * t, o["r"], W - o["r"])
            y = _bounce(o["p"][1] + o["v"][1] * t, o["r"], H - o["r"])
            m = scenes.shape_mask(scenes.CLASSES[o["cls"]], x, y, o["r"], o["angle"] + o["spin"] * t, H, W)
            img[m] = scenes.COLOURS[o["colour"]]
            masks.append(m)
        labels = []
        for i, o, m in zip(reversed(range(len(objs))), reversed(objs), reversed(masks)):
            v = m & ~cover  # visible parts, front to back
            cover |= m
            if v.sum() >= scenes.MIN_AREA:
                labels.append({"id": i, "cls": o["cls"], "name": scenes.CLASSES[o["cls"]], "colour": o["colour"],
                               "box": scenes.mask_box(v)})
        noise = np.random.default_rng([seed, k]).normal(0, 2.5, (H, W, 3))
        yield np.clip(np.rint(img + noise), 0, 255).astype(np.uint8), labels[::-1]


def fix_times(path):
    """Zero the creation and modification times of the mvhd/tkhd/mdhd boxes (ISO 14496-12 §8.2.2,
    §8.3.2, §8.4.2: version byte, 3 flag bytes, then the two times, 4 bytes each in version 0
    and 8 bytes each in version 1)."""
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        top, lo, hi = 0, 0, 0
        while top + 8 <= len(data):  # top-level boxes: find moov (never search inside mdat)
            size = int.from_bytes(data[top : top + 4], "big")
            if size == 1:
                size = int.from_bytes(data[top + 8 : top + 16], "big")
            if data[top + 4 : top + 8] == b"moov":
                lo, hi = top, top + size
            if size < 8:
                break
            top += size
        for tag in (b"mvhd", b"tkhd", b"mdhd"):
            pos = data.find(tag, lo, hi)
            while pos >= 0:
                n = 8 if data[pos + 4] == 1 else 4
                data[pos + 8 : pos + 8 + 2 * n] = bytes(2 * n)
                pos = data.find(tag, pos + 4, hi)
        f.seek(0)
        f.write(data)


def encode(out, seed=7, W=480, H=480, fps=15, seconds=10.0, bitrate=1200):
    """Write the MP4; returns the per-frame labels."""
    pipe = (f"fdsrc fd=0 blocksize={W * H * 3} ! rawvideoparse use-sink-caps=false format=rgb "
            f"width={W} height={H} framerate={fps}/1 ! videoconvert ! video/x-raw,format=I420 ! "
            f"x264enc threads=1 bitrate={bitrate} speed-preset=medium key-int-max={2 * fps} ! "
            f"video/x-h264,profile=high ! h264parse ! mp4mux ! filesink location={out}")
    proc = subprocess.Popen(["gst-launch-1.0", "-q"] + pipe.split(), stdin=subprocess.PIPE)
    labels = []
    try:
        for img, lab in frames(seed, W, H, fps, seconds):
            proc.stdin.write(np.ascontiguousarray(img).tobytes())
            labels.append(lab)
    finally:
        proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"gst-launch-1.0 failed with status {proc.returncode}")
    fix_times(out)
    return labels


def write_tracks(path, labels):
    """Ground-truth tracks as CSV: frame,id,x,y,w,h,cls (box = visible part, x2/y2 exclusive)."""
    with open(path, "w") as f:
        f.write("frame,id,x,y,w,h,cls\n")
        for k, lab in enumerate(labels):
            for o in lab:
                x1, y1, x2, y2 = o["box"]
                f.write(f"{k},{o['id']},{x1},{y1},{x2 - x1},{y2 - y1},{o['cls']}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="demo.mp4")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--width", type=int, default=480)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--fps", type=int, default=15)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--bitrate", type=int, default=1200, help="kbit/s (10 s at 1200 ≈ 1.5 MiB max)")
    ap.add_argument("--labels", help="also write per-frame boxes (JSON)")
    ap.add_argument("--tracks", help="also write ground-truth tracks (CSV: frame,id,x,y,w,h,cls)")
    a = ap.parse_args()
    labels = encode(a.out, a.seed, a.width, a.height, a.fps, a.seconds, a.bitrate)
    if a.labels:
        with open(a.labels, "w") as f:
            json.dump({"classes": scenes.CLASSES, "fps": a.fps, "frames": labels}, f)
    if a.tracks:
        write_tracks(a.tracks, labels)
    print(f"{a.out}: {os.path.getsize(a.out)} bytes, {len(labels)} frames")


if __name__ == "__main__":
    main()
