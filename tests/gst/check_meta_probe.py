"""Checks what pipelines/ufo-meta-probe.py read from Python against two C views of the same frames.

    check_meta_probe.py --frames N PYTHON.jsonl C.jsonl DUMP.jsonl PYTHON.txt

PYTHON.jsonl: `ufo-meta-probe.py --json` (GstUfo-1.0 typelib, python3-gi). C.jsonl: meta-probe-ref
(tests/gst/meta_probe_ref.c, the C API) on the same pipeline, same layout: every value must be
equal (floats too: both sides print the same float32 values exactly). DUMP.jsonl: ufo-dump
(gst/ufojson.c) on the same pipeline: labels, label ids, confidences, normalised boxes, ROI ids,
track ids, producers, tasks, captions, prompts and the analytics counts must agree with the Python
view. PYTHON.txt: the script's printed report, one line per object. The frames must also contain
what the test is about (masks, track ids, a caption, a grounding box, analytics counts), and a
changed value in any of these must be caught (the comparison is run on altered copies too).
Exits 1 with the first difference.
"""

import argparse
import copy
import json
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def diff(a, b, path="frame"):
    """The first difference between two JSON values, as a string, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        if sorted(a) != sorted(b):
            return f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            d = diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} entries != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, bool) != isinstance(b, bool) or a != b:
        return f"{path}: {a!r} != {b!r}"
    return None


def compare_c(py, c):
    if len(py) != len(c):
        return f"{len(py)} frames from Python, {len(c)} from C"
    for p, q in zip(py, c):
        d = diff(p, q, f"frame {p.get('frame')}")
        if d:
            return d
    return None


def close(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def compare_dump(py, dump):
    if len(py) != len(dump):
        return f"{len(py)} frames from Python, {len(dump)} from ufo-dump"
    for p, d in zip(py, dump):
        n = p["frame"]
        if p["pts"] != d.get("timestamp"):
            return f"frame {n}: pts {p['pts']} != ufo-dump timestamp {d.get('timestamp')}"
        objs = [(m, o) for m in p["metas"] for o in m["objects"]]
        if len(objs) != len(d["objects"]):
            return f"frame {n}: {len(objs)} objects != {len(d['objects'])} in ufo-dump"
        for i, ((m, o), j) in enumerate(zip(objs, d["objects"])):
            where = f"frame {n} object {i}"
            det = j["detection"]
            W, H = m["width"], m["height"]
            box = {"x_min": min(max(o["x"], 0), W) / W, "y_min": min(max(o["y"], 0), H) / H,
                   "x_max": min(max(o["x"] + o["w"], 0), W) / W,
                   "y_max": min(max(o["y"] + o["h"], 0), H) / H}
            for k, v in box.items():
                if not close(v, det["bounding_box"][k]):
                    return f"{where}: {k} {v} != ufo-dump {det['bounding_box'][k]}"
            checks = [("label", o["label"], det["label"]), ("label_id", o["label_id"], det["label_id"]),
                      ("score", o["score"], det.get("confidence")),
                      ("producer_id", m["producer_id"], j.get("producer_id")),
                      ("track_id", o["track_id"] or None, j.get("object_id")),
                      ("roi_id", o["roi_id"] if o["roi_id"] >= 0 else None, j.get("id")),
                      ("predicted", o["predicted"], j.get("predicted", False))]
            for name, v, w in checks:
                if v != w:
                    return f"{where}: {name} {v!r} != ufo-dump {w!r}"
        ufo = d.get("ufo", [])
        if len(ufo) != len(p["metas"]):
            return f"frame {n}: {len(p['metas'])} metas != {len(ufo)} in ufo-dump"
        for m, u in zip(p["metas"], ufo):
            for name, w in [("producer_id", u["producer_id"]), ("task", u["task"]),
                            ("inferred", u["inferred"]), ("result_pts", u.get("result_timestamp")),
                            ("caption", u.get("caption")), ("prompt", u.get("prompt"))]:
                if m[name] != w:
                    return f"frame {n} producer {m['producer_id']}: {name} {m[name]!r} != ufo-dump {w!r}"
        da = d.get("analytics", [])
        if len(da) != len(p["analytics"]):
            return f"frame {n}: {len(p['analytics'])} analytics metas != {len(da)} in ufo-dump"
        for a, b in zip(p["analytics"], da):
            if (a["width"], a["height"]) != (b["width"], b["height"]) or len(a["rules"]) != len(b["rules"]):
                return f"frame {n}: analytics size or rules differ from ufo-dump"
            for r, s in zip(a["rules"], b["rules"]):
                line = r["kind"] == "line"
                pts = [v for xy in s["points"] for v in xy]
                want = [("name", s["name"]), ("kind", s["type"]), ("points", pts),
                        ("total_in", s["in" if line else "entered"]),
                        ("total_out", s["out" if line else "left"]),
                        ("frame_in", s["frame_in" if line else "frame_entered"]),
                        ("frame_out", s["frame_out" if line else "frame_left"])]
                if not line:
                    want.append(("occupancy", s["occupancy"]))
                for name, w in want:
                    if r[name] != w:
                        return f"frame {n} rule {r['name']}: {name} {r[name]!r} != ufo-dump {w!r}"
            if len(a["events"]) != len(b["events"]):
                return f"frame {n}: {len(a['events'])} analytics events != {len(b['events'])}"
            for e, f in zip(a["events"], b["events"]):
                got = (e["type"], a["rules"][e["rule"]]["name"], e["track_id"], e["label"], e["label_id"])
                want = (f["type"], f["rule"], f["object_id"], f.get("label"), f["label_id"])
                if got != want:
                    return f"frame {n}: event {got} != ufo-dump {want}"
    return None


def coverage(py, frames):
    """What the frames must contain for the comparison to mean something."""
    if len(py) != frames:
        return f"{len(py)} frames, expected {frames}"
    tasks = {m["task"] for f in py for m in f["metas"]}
    if tasks != {"instance", "caption", "grounding"}:
        return f"tasks {sorted(tasks)}, expected caption, grounding, instance"
    inst = [o for f in py for m in f["metas"] if m["task"] == "instance" for o in m["objects"]]
    masks = [o["mask"] for o in inst if o["mask"]]
    if not masks or not all(mk["area"] > 0 and mk["width"] > 0 and mk["w"] > 0 for mk in masks):
        return "no instance object with a non-empty mask"
    if len({mk["sha1"] for mk in masks}) < 2:
        return "the masks are all the same"
    if not any(o["track_id"] > 0 for o in inst):
        return "no tracked object (track_id > 0)"
    if not all(o["label"] and o["label_id"] >= 0 and 0 < o["score"] <= 1 for o in inst):
        return "an instance object without a label, label id or score"
    for f in py:
        byid = {m["producer_id"]: m for m in f["metas"]}
        if not (byid.get(2) or {}).get("caption"):
            return f"frame {f['frame']}: no caption from producer 2"
        g = byid.get(3)
        if not g or g["prompt"] != "the red circle" or len(g["objects"]) != 1:
            return f"frame {f['frame']}: no grounding box for the prompt from producer 3"
        if len(f["analytics"]) != 1 or len(f["analytics"][0]["rules"]) != 2:
            return f"frame {f['frame']}: no analytics meta with the line and the zone"
    if not any(r["occupancy"] > 0 for f in py for r in f["analytics"][0]["rules"]):
        return "the zone is never occupied"
    if not any(f["analytics"][0]["events"] for f in py):
        return "no analytics event (the line is placed where track 1 crosses it)"
    return None


def compare_text(py, text):
    """The printed report has one line per object and a caption line per caption."""
    lines = text.splitlines()
    n_obj = sum(1 for ln in lines if ln.startswith(("    object ", "    grounding box ")))
    want = sum(len(m["objects"]) for f in py for m in f["metas"])
    if n_obj != want:
        return f"the report has {n_obj} object lines, expected {want}"
    n_cap = sum(1 for ln in lines if ln.startswith("    caption "))
    if n_cap != sum(1 for f in py for m in f["metas"] if m["caption"] is not None):
        return "the report's caption lines do not match"
    if sum(1 for ln in lines if " mask " in ln) != sum(
            1 for f in py for m in f["metas"] for o in m["objects"] if o["mask"]):
        return "the report's mask count does not match"
    return None


def mutations(py):
    """Altered copies of the Python frames, one field each, that the comparison must reject."""
    def first(pred):
        for f in py:
            for m in f["metas"]:
                for i, o in enumerate(m["objects"]):
                    if pred(m, o):
                        return py.index(f), f["metas"].index(m), i
        raise AssertionError("no object to alter")

    out = []
    for name, pred, change in [
        ("mask sha1", lambda m, o: o["mask"], lambda o: o["mask"].update(sha1="0" * 40)),
        ("mask area", lambda m, o: o["mask"], lambda o: o["mask"].update(area=o["mask"]["area"] + 1)),
        ("mask rect", lambda m, o: o["mask"], lambda o: o["mask"].update(x=o["mask"]["x"] + 0.5)),
        ("track id", lambda m, o: o["track_id"], lambda o: o.update(track_id=o["track_id"] + 1)),
        ("score", lambda m, o: True, lambda o: o.update(score=o["score"] * 0.999)),
        ("label", lambda m, o: True, lambda o: o.update(label=o["label"] + "x")),
        ("grounding box", lambda m, o: m["task"] == "grounding", lambda o: o.update(w=o["w"] + 1)),
    ]:
        fi, mi, oi = first(pred)
        alt = copy.deepcopy(py)
        change(alt[fi]["metas"][mi]["objects"][oi])
        out.append((name, alt))
    alt = copy.deepcopy(py)
    m = next(m for m in alt[0]["metas"] if m["caption"])
    m["caption"] += " "
    out.append(("caption", alt))
    alt = copy.deepcopy(py)
    alt[-1]["analytics"][0]["rules"][1]["occupancy"] += 1
    out.append(("zone occupancy", alt))
    alt = copy.deepcopy(py)
    e = next(f["analytics"][0]["events"][0] for f in alt if f["analytics"][0]["events"])
    e["track_id"] += 1
    out.append(("event track id", alt))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, required=True)
    ap.add_argument("python_jsonl")
    ap.add_argument("c_jsonl")
    ap.add_argument("dump_jsonl")
    ap.add_argument("python_txt")
    a = ap.parse_args()
    py, c, dump = load(a.python_jsonl), load(a.c_jsonl), load(a.dump_jsonl)
    with open(a.python_txt) as f:
        text = f.read()
    for what, err in [("coverage", coverage(py, a.frames)), ("Python vs C API", compare_c(py, c)),
                      ("Python vs ufo-dump", compare_dump(py, dump)),
                      ("printed report", compare_text(py, text))]:
        if err:
            print(f"FAIL ({what}): {err}")
            return 1
    for name, alt in mutations(py):
        if not compare_c(alt, c) or (name != "mask sha1" and name != "mask area" and
                                      name != "mask rect" and not compare_dump(alt, dump)):
            print(f"FAIL: an altered {name} goes unnoticed")
            return 1
    n_obj = sum(len(m["objects"]) for f in py for m in f["metas"])
    n_mask = sum(1 for f in py for m in f["metas"] for o in m["objects"] if o["mask"])
    print(f"ok: {len(py)} frames, {n_obj} objects ({n_mask} with masks), captions, grounding boxes "
          "and analytics read from Python equal the C API's and ufo-dump's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
