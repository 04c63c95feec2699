#!/usr/bin/env python3
"""Reads every GstUfoMeta field from Python in a pad probe (GObject introspection, GstUfo-1.0).

    python3 pipelines/ufo-meta-probe.py INPUT [--model M] [--prompt TEXT] [--json OUT.jsonl]
    python3 pipelines/ufo-meta-probe.py --pipeline 'DESC' [--json OUT.jsonl]

The default pipeline decodes INPUT (a media file or URI) and runs four producers of the demo model
one after the other: instance segmentation (ufoseg, unique-id 1: boxes, labels, scores, masks),
ufotrack (track ids of producer 1), ufoanalytics (a line and a zone; counts and events),
captioning (unique-id 2) and grounding of --prompt (unique-id 3: the grounded phrase's box). A
probe on the sink pad of the final fakesink prints, per frame and producer, the task, every
object's box, label, score, track id and mask (size, where it lies, area of the pixels >= 0.5),
the caption and the grounding box, and the analytics rules and events. --json also writes one
JSON line per frame with all of it (the layout of tests/gst/meta_probe_ref.c, which the
python-meta test compares it with).

--pipeline replaces the whole description; it must end with an element with a free video src pad
(a fakesink is appended, as ufo-dump does).

Needs Debian's python3-gi with gir1.2-gstreamer-1.0 and gir1.2-gst-plugins-base-1.0, and a build
with introspection (tools/setup-deps.sh installs everything). Run from a build tree, the script
finds the plugin and GstUfo-1.0.typelib in $BUILD_DIR, ./build or ./build-* (as the shell
scripts here do); an installed gst-ufo needs GI_TYPELIB_PATH only when its prefix is not the
system's (e.g. /usr/local/lib/x86_64-linux-gnu/girepository-1.0).
"""

import argparse
import glob
import hashlib
import json
import os
import sys

import gi

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def find_build_dir(explicit):
    """The build tree holding the plugin and the typelib, or None (use the installed ones)."""
    candidates = [explicit, os.environ.get("BUILD_DIR"), os.path.join(ROOT, "build")]
    candidates += sorted(glob.glob(os.path.join(ROOT, "build-*")))
    for b in candidates:
        if b and os.path.exists(os.path.join(b, "gst", "GstUfo-1.0.typelib")):
            return os.path.abspath(b)
    return None


def setup_paths(build):
    """Points GStreamer and GObject introspection at a build tree, before anything is loaded."""
    if not build:
        return
    gst_dir = os.path.join(build, "gst")
    path = os.environ.get("GST_PLUGIN_PATH")
    os.environ["GST_PLUGIN_PATH"] = gst_dir + (":" + path if path else "")
    gi.require_version("GIRepository", "2.0")
    from gi.repository import GIRepository

    GIRepository.Repository.prepend_search_path(gst_dir)  # GstUfo-1.0.typelib
    GIRepository.Repository.prepend_library_path(gst_dir)  # libgstufo-1.0.so.0


def mask_info(meta, i):
    """The object's mask: size, stride, rectangle in the frame, area (>= 0.5) and SHA-1 of its
    rows packed without padding, or None."""
    data, w, h, stride, rect = meta.get_mask_bytes(i)
    if data is None:
        return None
    pixels = data.get_data()
    packed = b"".join(pixels[y * stride:y * stride + w] for y in range(h))
    return {
        "width": w, "height": h, "stride": stride,
        "x": rect.x, "y": rect.y, "w": rect.w, "h": rect.h,
        "area": sum(1 for p in packed if p >= 128),
        "sha1": hashlib.sha1(packed).hexdigest(),
    }


def read_ufo_meta(GstUfo, meta):
    """Every field of one GstUfoMeta as a dict."""
    objects = []
    for i in range(meta.get_n_objects()):
        ok, o = meta.get_object(i)  # a GstUfo.UfoObject copy, box in meta.width x meta.height
        assert ok
        objects.append({
            "label": o.label, "label_id": o.label_id, "score": o.score,
            "x": o.x, "y": o.y, "w": o.w, "h": o.h,
            "track_id": o.track_id, "roi_id": o.roi_id,
            "predicted": bool(meta.get_object_flags(i) & GstUfo.UfoObjectFlags.PREDICTED),
            "mask": mask_info(meta, i),
        })
    return {
        "producer_id": meta.producer_id, "task": meta.get_task(), "inferred": bool(meta.inferred),
        "result_pts": meta.result_pts if meta.result_pts != 2**64 - 1 else None,  # CLOCK_TIME_NONE
        "width": meta.width, "height": meta.height,
        "caption": meta.get_caption(), "prompt": meta.get_prompt(),
        "objects": objects,
    }


def read_analytics_meta(GstUfo, a):
    rules = []
    for i in range(a.get_n_rules()):
        ok, r = a.get_rule(i)
        assert ok
        rules.append({
            "name": r.name,
            "kind": "line" if r.kind == GstUfo.UfoAnalyticsRuleKind.LINE else "zone",
            "points": list(a.get_rule_points(i)),
            "total_in": r.total_in, "total_out": r.total_out,
            "frame_in": r.frame_in, "frame_out": r.frame_out, "occupancy": r.occupancy,
        })
    events = []
    for i in range(a.get_n_events()):
        ok, e = a.get_event(i)
        assert ok
        events.append({
            "type": GstUfo.ufo_analytics_event_type_get_name(e.type), "rule": e.rule,
            "direction": e.direction, "track_id": e.track_id,
            "label_id": e.label_id, "label": e.label,
        })
    return {"width": a.width, "height": a.height, "rules": rules, "events": events}


def print_frame(frame):
    pts = frame["pts"]
    print(f"frame {frame['frame']} pts {pts / 1e9:.3f} s" if pts is not None else
          f"frame {frame['frame']}")
    for m in frame["metas"]:
        head = f"  producer {m['producer_id']} {m['task']} {m['width']}x{m['height']}"
        head += "" if m["inferred"] else " (results of an earlier frame)"
        if m["prompt"] is not None:
            head += f' prompt "{m["prompt"]}"'
        print(head)
        if m["caption"] is not None:
            print(f'    caption "{m["caption"]}"')
        for i, o in enumerate(m["objects"]):
            kind = "grounding box" if m["task"] == "grounding" else "object"
            line = (f"    {kind} {i}: {o['label']} ({o['label_id']}) score {o['score']:.3f} "
                    f"box {o['x']:.1f},{o['y']:.1f} {o['w']:.1f}x{o['h']:.1f}")
            if o["track_id"]:
                line += f" track {o['track_id']}" + (" predicted" if o["predicted"] else "")
            mk = o["mask"]
            if mk:
                line += (f" mask {mk['width']}x{mk['height']} at {mk['x']:.1f},{mk['y']:.1f} "
                         f"{mk['w']:.1f}x{mk['h']:.1f} area {mk['area']}")
            print(line)
    for a in frame["analytics"]:
        for r in a["rules"]:
            counts = (f"occupancy {r['occupancy']} entered {r['total_in']} left {r['total_out']}"
                      if r["kind"] == "zone" else f"in {r['total_in']} out {r['total_out']}")
            print(f"  {r['kind']} {r['name']}: {counts}")
        for e in a["events"]:
            print(f"  event {e['type']} rule {e['rule']} track {e['track_id']} ({e['label']})")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", nargs="?", help="media file or URI")
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "ufo-demo.safetensors"))
    ap.add_argument("--prompt", default="the red circle", help="text to ground")
    ap.add_argument("--threshold", type=float, default=0.3, help="instance score threshold")
    ap.add_argument("--pipeline", help="whole pipeline description instead of the default one")
    ap.add_argument("--json", help="also write one JSON line per frame to this file")
    ap.add_argument("--build-dir", help="build tree with the plugin and the typelib")
    a = ap.parse_args()
    if not a.pipeline and not a.input:
        ap.error("give INPUT or --pipeline")

    setup_paths(find_build_dir(a.build_dir))
    gi.require_version("Gst", "1.0")
    gi.require_version("GstUfo", "1.0")
    from gi.repository import Gst, GstUfo

    Gst.init(None)
    if a.pipeline:
        desc = a.pipeline
    else:
        uri = a.input if "://" in a.input else Gst.filename_to_uri(a.input)
        model = a.model
        desc = (f"uridecodebin uri={uri} ! videoconvert ! "
                f"ufoseg model={model} task=instance threshold={a.threshold} unique-id=1 ! "
                "ufotrack unique-id=1 ! "
                "ufoanalytics unique-id=1 lines=\"middle:0,240,480,240\" "
                "zones=\"left:0,0,240,0,240,480,0,480\" post-messages=false ! "
                f"ufodetect model={model} task=caption unique-id=2 ! "
                f"ufodetect model={model} task=grounding unique-id=3 "
                f"prompt=\"{a.prompt}\"")
    pipeline = Gst.parse_launch(desc + " ! fakesink name=probesink sync=false")
    out = open(a.json, "w") if a.json else None
    frames = [0]

    def on_buffer(pad, info):
        buf = info.get_buffer()
        frame = {
            "frame": frames[0],
            "pts": buf.pts if buf.pts != Gst.CLOCK_TIME_NONE else None,
            # one GstUfoMeta per producer; GstUfo.buffer_get_ufo_meta(buf) gives the first
            "metas": [read_ufo_meta(GstUfo, m) for m in GstUfo.buffer_get_ufo_metas(buf)],
            "analytics": [],
        }
        am = GstUfo.buffer_get_ufo_analytics_meta(buf)
        if am is not None:
            frame["analytics"].append(read_analytics_meta(GstUfo, am))
        frames[0] += 1
        print_frame(frame)
        if out:
            out.write(json.dumps(frame) + "\n")
            out.flush()
        return Gst.PadProbeReturn.OK

    sink = pipeline.get_by_name("probesink")
    sink.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, on_buffer)
    pipeline.set_state(Gst.State.PLAYING)
    bus = pipeline.get_bus()
    msg = bus.timed_pop_filtered(Gst.CLOCK_TIME_NONE, Gst.MessageType.ERROR | Gst.MessageType.EOS)
    rc = 0
    if msg.type == Gst.MessageType.ERROR:
        err, dbg = msg.parse_error()
        print(f"error from {msg.src.get_name()}: {err.message}\n{dbg or ''}", file=sys.stderr)
        rc = 1
    pipeline.set_state(Gst.State.NULL)
    if out:
        out.close()
    print(f"{frames[0]} frames", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
