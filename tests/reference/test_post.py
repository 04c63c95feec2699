"""Post-processing rules against hand-computed cases (inference §7, segmentation §2-3)."""

import math

import numpy as np
import torch

import ufo_pipeline
import ufo_post
import ufo_tokenizer

COCO = ufo_tokenizer.load_labels("coco")


def test_detection_parsing_and_boxes():
    texts = ["person, 1120, 1120, 224, 448", "background", "person,1,2", "dog, 1, x, 3, 4",
             "unicorn, 1, 2, 3, 4", "traffic light, 1120, 0, 2240, 2240, 7"]
    prob = [0.5, 0.9, 0.8, 0.7, 0.6, 0.4]
    refs = [[0.5, 0.5]] * 5 + [[0.02, 0.02]]
    r = ufo_post.detection(texts, prob, refs, COCO, 2240, (1120, 1120), (2.0, 1.0), 100, 0.5, 1e-3)
    # person: cx = cy = 0.5, w = 0.1, h = 0.2 -> x 504..616 (/2), y 448..672
    # traffic light: cx = 0.02, cy = -0.48, w = h = 1 -> clamp: x 0..582.4 (/2), y 0..22.4
    assert r["labels"].tolist() == [0, 9]
    np.testing.assert_allclose(r["boxes"], [[252, 448, 308, 672], [0, 0, 582.4 / 2, 22.4]], rtol=1e-5)
    np.testing.assert_allclose(r["scores"], [0.5, 0.4], rtol=1e-6)


def test_detection_max_per_img_counts_valid_before_nms():
    texts = [f"person, {1120 + i}, 1120, 100, 100" for i in range(5)]
    r = ufo_post.detection(texts, [0.9, 0.8, 0.7, 0.6, 0.5], [[0.5, 0.5]] * 5, COCO, 2240, (1120, 1120),
                           (1, 1), 2, 0.5, 1e-3)
    assert len(r["boxes"]) == 2  # only the two best are parsed; NMS then decays the second
    assert r["scores"][1] < 0.8


def test_grounding():
    b = ufo_post.grounding("224, 112, 448, 224", 448, (224, 224), (0.5, 0.25))
    # cx = 0.5, cy = 0.25, w = 1, h = 0.5 -> x 0..224, y 0..112, / (0.5, 0.25)
    np.testing.assert_allclose(b, [0, 0, 448, 448])
    assert ufo_post.grounding("1, 2, 3", 448, (224, 224), (1, 1)).tolist() == [0, 0, 0, 0]
    assert ufo_post.grounding("1, 2, 3, 4; 5", 448, (224, 224), (1, 1)).tolist() == [0, 0, 0, 0]


def test_pixel_shuffle_order():
    # token j -> sub-row j // 4, sub-column j % 4 (segmentation §2.7), at scale 1 (no resize)
    C = 4
    fmap = torch.zeros(2, 3, C)
    fmap[1, 2, 0] = 1.0  # cell (h, w) = (1, 2)
    emb = torch.zeros(16, C)
    emb[6, 0] = 2.0  # token 6 -> a = 1, b = 2
    u = ufo_post.mask_logits(emb, fmap, (8, 12))
    nz = torch.nonzero(u).tolist()
    assert nz == [[4 * 1 + 1, 4 * 2 + 2]]
    assert math.isclose(float(u[5, 10]), 2.0 / math.sqrt(C), rel_tol=1e-6)


def test_seg_parse_rules():
    ids = np.zeros((4, 20), dtype=np.int64)
    ids[0, 2:18] = 30524
    ids[1, 2:17] = 30524  # 15 masks
    ids[2, 2:19] = 30524  # 17 masks
    ids[3, 2:18] = 30524
    texts = ["person, <MASK>", "person, <MASK>", "car, <MASK>", "background, <MASK>"]
    inst = ufo_post.seg_parse(texts, ids, [0.1, 0.2, 0.3, 0.4], COCO, True)
    assert [(q, l) for q, l, _ in inst] == [(0, 0)]
    sem = ufo_post.seg_parse(texts, ids, [0.1, 0.2, 0.3, 0.4], COCO, False)
    assert [(q, l) for q, l, _ in sem] == [(2, 2), (0, 0)]  # sorted by score, first 16 of 17
    assert sem[0][2] == list(range(2, 18))


def test_seg_parse_background_is_a_semantic_class_when_the_label_set_has_it():
    """The demo's semantic label set (shapes-semantic) holds "background" as class 0 and training
    teaches "background,<MASK>x16" for the background region: semantic parsing must keep those
    grids; instance parsing drops "background" (the negative answer, seg §2.5) whatever the set."""
    classes = ["background", "circle", "square"]
    ids = np.zeros((3, 20), dtype=np.int64)
    ids[:, 2:18] = 30524
    texts = ["background, <MASK>", "circle, <MASK>", "background, <MASK>"]
    sem = ufo_post.seg_parse(texts, ids, [0.5, 0.4, 0.3], classes, False)
    assert [(q, l) for q, l, _ in sem] == [(0, 0), (1, 1), (2, 0)]
    inst = ufo_post.seg_parse(texts, ids, [0.5, 0.4, 0.3], classes, True)
    assert [(q, l) for q, l, _ in inst] == [(1, 1)]
    # a set without the name (COCO, ADE20K): dropped in both
    assert ufo_post.seg_parse(texts, ids, [0.5, 0.4, 0.3], classes[1:], False) == [(1, 0, list(range(2, 18)))]


def test_semantic_merge_sum_and_ties():
    fmap = torch.zeros(1, 1, 4)
    fmap[0, 0, 0] = 1.0
    def emb(v):
        e = torch.zeros(16, 4)
        e[:, 0] = v
        return e
    feats = torch.stack([torch.cat([emb(2.0), torch.zeros(1, 4)]), torch.cat([emb(2.0), torch.zeros(1, 4)]),
                         torch.cat([emb(4.0), torch.zeros(1, 4)]), torch.cat([emb(-400.0), torch.zeros(1, 4)])])
    pos = list(range(16))
    s = 1 / (1 + math.exp(-1.0))  # logit 2/sqrt(4) = 1
    s2 = 1 / (1 + math.exp(-2.0))
    # class 7: 0.4 s + 0.4 s = 0.8 s = 0.585 > class 3: 0.5 s2 = 0.44 (sum, not max)
    m = ufo_post.semantic([(0, 7, pos), (1, 7, pos), (2, 3, pos)], feats, [0.4, 0.4, 0.5], fmap, (2, 2), 150)
    assert (m == 7).all()
    # only an underflowing mask: every class ties at 0 -> class 0
    m = ufo_post.semantic([(3, 9, pos)], feats, [0, 0, 0, 0.9], fmap, (2, 2), 150)
    assert (m == 0).all()
    assert ufo_post.semantic([], feats, [], fmap, (2, 2), 150) is None


def test_preprocess_bgr_to_rgb_and_normalise():
    bgr = np.zeros((224, 224, 3), np.uint8)
    bgr[..., 0] = 10  # blue
    bgr[..., 2] = 200  # red
    from ufo_config import builtin
    x, scale, ori = ufo_pipeline.preprocess(bgr, builtin("tiny"), "caption")
    assert scale == (1.0, 1.0) and ori == (224, 224)
    np.testing.assert_allclose(x[0, 0, 0], (200 - 123.675) / 58.395, rtol=1e-6)
    np.testing.assert_allclose(x[2, 0, 0], (10 - 103.53) / 57.375, rtol=1e-6)


def test_synthetic_image_formula():
    im = ufo_pipeline.synthetic_image(300, 200)
    x, y = 257, 133
    for c in range(3):
        assert im[y, x, c] == (x * (3 + c) + y * (5 + 2 * c) + ((x * y) >> 4) + 85 * c) % 256
