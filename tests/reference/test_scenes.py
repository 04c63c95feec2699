"""Demo data: scene generator, COCO export, metrics, demo video (docs/demo-model.md)."""

import os
import re
import subprocess

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

import eval_demo
import scenes


def test_deterministic_and_seed_dependent():
    a, b, c = scenes.scene(5), scenes.scene(5), scenes.scene(6)
    assert a["image"].tobytes() == b["image"].tobytes()
    assert a["caption"] == b["caption"] and a["refs"] == b["refs"]
    assert np.array_equal(a["semantic"], b["semantic"])
    assert [o["box"] for o in a["objects"]] == [o["box"] for o in b["objects"]]
    assert a["image"].tobytes() != c["image"].tobytes()


@pytest.mark.parametrize("size", [(448, 448), (320, 240)])
def test_label_consistency(size):
    W, H = size
    seen = set()
    for seed in range(12):
        s = scenes.scene(seed, W, H)
        assert s["image"].shape == (H, W, 3) and s["image"].dtype == np.uint8
        assert 1 <= len(s["objects"]) <= 7
        union = np.zeros((H, W), bool)
        for o in s["objects"]:
            m = o["mask"]
            seen.add(o["cls"])
            assert m.shape == (H, W) and m.sum() == o["area"] > 0
            assert not (m & union).any()  # visible parts are disjoint (occlusion applied)
            union |= m
            x1, y1, x2, y2 = o["box"]
            ys, xs = np.nonzero(m)
            # inside the box, and the box is tight (x2, y2 exclusive)
            assert xs.min() == x1 and ys.min() == y1 and xs.max() + 1 == x2 and ys.max() + 1 == y2
            assert s["semantic"][m].tolist() == [o["cls"] + 1] * int(m.sum())
            assert o["name"] == scenes.CLASSES[o["cls"]] and o["size"] in ("large", "small")
        assert (s["semantic"][~union] == 0).all()  # background elsewhere
        for r in s["refs"]:
            assert r["box"] == s["objects"][r["object"]]["box"]
            assert r["text"].startswith("the ")
    assert len(seen) >= 6


def test_class_names_and_sets():
    assert len(scenes.CLASSES) >= 8 and len(set(scenes.CLASSES)) == len(scenes.CLASSES)
    for n in scenes.CLASSES + scenes.SEMANTIC_CLASSES:
        assert re.fullmatch(r"[a-z ]+", n), n  # seg spec §6.10
    assert scenes.SEMANTIC_CLASSES[0] == "background" and scenes.SEMANTIC_CLASSES[1:] == scenes.CLASSES
    tr, te = scenes.split_seeds("train", 5), scenes.split_seeds("test", 5)
    assert tr == [0, 1, 2, 3, 4] and te[0] == 1_000_000 and not set(tr) & set(te)


def _obj(cls, colour, box, area):
    return {"cls": scenes.CLASSES.index(cls), "name": cls, "colour": colour, "box": box, "area": area}


def test_caption_grammar_hand_made():
    objs = [_obj("circle", "red", [180, 20, 260, 100], 1000),
            _obj("square", "blue", [40, 300, 120, 380], 500),
            _obj("square", "blue", [300, 320, 380, 400], 450)]
    # the two largest groups: the circle (1000) then the two squares (950); circle above them
    assert scenes.caption(objs, 448, 448) == "a red circle above two blue squares"
    objs[0]["area"] = 900
    assert scenes.caption(objs, 448, 448) == "two blue squares below a red circle"
    solo = [_obj("cross", "orange", [0, 0, 50, 50], 300)] * 3
    assert scenes.caption(solo, 448, 448) == "three orange crosses"
    side = [_obj("star", "green", [10, 200, 60, 250], 400), _obj("heart", "yellow", [300, 180, 350, 240], 300)]
    assert scenes.caption(side, 448, 448) == "a green star to the left of a yellow heart"


def test_referring_expressions_hand_made():
    objs = [_obj("triangle", "green", [10, 10, 110, 110], 5000),
            _obj("triangle", "green", [200, 200, 230, 230], 500),
            _obj("circle", "red", [10, 300, 50, 340], 900),
            _obj("circle", "red", [200, 300, 240, 340], 900),
            _obj("circle", "red", [400, 300, 440, 340], 900),
            _obj("hexagon", "purple", [0, 0, 9, 9], 50)]
    texts = {r["object"]: r["text"] for r in scenes.referring(objs, 448, 448)}
    assert texts == {0: "the large green triangle", 1: "the small green triangle",
                     2: "the leftmost red circle", 4: "the rightmost red circle",
                     5: "the purple hexagon"}  # the middle circle cannot be singled out


def test_coco_export_loads(tmp_path):
    path = scenes.export_coco("test", 3, str(tmp_path), 224, 224)
    coco = COCO(path)
    assert sorted(c["name"] for c in coco.loadCats(coco.getCatIds())) == sorted(scenes.CLASSES)
    for k, seed in enumerate(scenes.split_seeds("test", 3)):
        s = scenes.scene(seed, 224, 224)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[k + 1]))
        assert len(anns) == len(s["objects"])
        for a, o in zip(anns, s["objects"]):
            assert np.array_equal(coco.annToMask(a).astype(bool), o["mask"])
            assert a["category_id"] == o["cls"] + 1 and int(mask_utils.area(a["segmentation"])) == o["area"]
        img = coco.loadImgs([k + 1])[0]
        assert os.path.exists(os.path.join(str(tmp_path), img["file_name"]))


def test_eval_ground_truth_is_perfect():
    test = [scenes.scene(s, 224, 224) for s in scenes.split_seeds("test", 4)]
    m = eval_demo.evaluate(test, eval_demo.ground_truth_predictions(test), refs_per_image=0)
    assert m["detection"] == {"AP": 1.0, "AP50": 1.0}
    assert m["instance"] == {"mask AP": 1.0, "mask AP50": 1.0}
    assert m["semantic"]["mIoU"] == 1.0
    assert (m["caption"]["BLEU-4"], m["caption"]["exact"]) == (1.0, 1.0)  # (+ CIDEr-D, optional)
    assert m["grounding"]["Acc@0.5"] == 1.0 and m["grounding"]["n"] == sum(len(s["refs"]) for s in test)


def test_caption_parts_split_the_grammar():
    assert scenes.caption_parts("two red circles to the left of a blue star") == (
        "two red circles", "to the left of", "a blue star")
    assert scenes.caption_parts("an orange ring above three green hearts") == (
        "an orange ring", "above", "three green hearts")
    assert scenes.caption_parts("two purple crosses") == ("two purple crosses", None, None)
    for seed in scenes.split_seeds("test", 20):
        cap = scenes.scene(seed, 224, 224)["caption"]
        a, r, b = scenes.caption_parts(cap)
        assert cap == (a if r is None else f"{a} {r} {b}")
    test = [scenes.scene(s, 224, 224) for s in scenes.split_seeds("test", 4)]
    assert all(scenes.caption_parts(s["caption"])[1] for s in test[:2])  # two-group captions here
    p = eval_demo.ground_truth_predictions(test)
    a, r, b = scenes.caption_parts(p["caption"][0])
    p["caption"][0] = f"{a} {'below' if r == 'above' else 'above'} {b}"  # the relation wrong
    a, r, b = scenes.caption_parts(p["caption"][1])
    p["caption"][1] = f"{a} {r} a black blob"  # the second group wrong
    m = eval_demo.evaluate(test, {"caption": p["caption"]})["caption"]
    assert (m["group 1"], m["relation"], m["group 2"], m["exact"]) == (1.0, 0.75, 0.75, 0.5)


def test_eval_detects_wrong_predictions():
    test = [scenes.scene(s, 224, 224) for s in scenes.split_seeds("test", 4)]
    p = eval_demo.ground_truth_predictions(test)
    for d in p["detection"]:
        d["bbox"][0] += d["bbox"][2]  # shifted by its width: IoU 0
    p["semantic"] = [np.zeros_like(s) for s in p["semantic"]]
    m = eval_demo.evaluate(test, p)
    assert m["detection"]["AP"] == 0.0
    assert m["semantic"]["mIoU"] < 0.2


def test_bleu4_hand_computed():
    # clipped precisions 5/6, 3/5, 2/4, 1/3; equal lengths: BLEU = (1/12)^(1/4)
    got = eval_demo.bleu4(["the cat sat on the mat"], ["the cat sat on a mat"])
    assert got == pytest.approx(12 ** -0.25, abs=1e-12)
    # brevity penalty: candidate 4 tokens, reference 6: exp(1 - 6/4)
    got = eval_demo.bleu4(["a b c d"], ["a b c d e f"])
    assert got == pytest.approx(np.exp(-0.5), abs=1e-12)
    assert eval_demo.bleu4(["x y z w"], ["a b c d"]) == 0.0


def test_miou_hand_computed():
    gt = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 1, 1, 1]])
    conf = eval_demo.confusion(pred, gt, 3)
    mi, ious = eval_demo.miou(conf)
    # class 0: inter 1, union 2; class 1: inter 2, union 3; class 2 absent
    assert ious[0] == 0.5 and ious[1] == pytest.approx(2 / 3) and np.isnan(ious[2])
    assert mi == pytest.approx((0.5 + 2 / 3) / 2)


def test_demo_video_deterministic_and_playable(tmp_path):
    import make_demo_video

    a, b = str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4")
    la = make_demo_video.encode(a, seed=3, W=160, H=120, fps=5, seconds=1.0, bitrate=200)
    make_demo_video.encode(b, seed=3, W=160, H=120, fps=5, seconds=1.0, bitrate=200)
    assert open(a, "rb").read() == open(b, "rb").read()
    assert len(la) == 5 and all(len(f) >= 1 for f in la)
    out = subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={a}", "!", "decodebin", "!",
                          "videoconvert", "!", "video/x-raw,format=RGB", "!", "fakesink"],
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
