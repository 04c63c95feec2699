"""Soft-NMS (mmcv softnms_cpu) and matrix NMS (mmdet) against hand-computed cases."""

import math

import numpy as np
import pytest
import torch

import ufo_post


def test_soft_nms_class_aware():
    boxes = [[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 10, 10]]
    scores = [0.9, 0.8, 0.7, 0.6, 0.002]
    labels = [0, 0, 1, 0, 0]
    keep, s = ufo_post.batched_soft_nms(boxes, scores, labels, 0.5, 1e-3)
    # A first; B decays by (1 - 90/110); E (IoU 1 with A) drops to 0 < 1e-3 and is removed;
    # C is another class (offset 31), D does not overlap.
    assert keep.tolist() == [0, 2, 3, 1]
    np.testing.assert_allclose(s, [0.9, 0.7, 0.6, 0.8 * (1 - 90 / 110)], rtol=1e-6)


def test_soft_nms_below_threshold_not_decayed():
    # IoU = 40/160 = 0.25 < 0.5: no decay
    keep, s = ufo_post.soft_nms(np.array([[0, 0, 10, 10], [6, 0, 16, 10]], np.float32), [0.5, 0.4])
    assert keep.tolist() == [0, 1] and s.tolist() == pytest.approx([0.5, 0.4])


def test_soft_nms_ties_and_first_below_min():
    b = np.array([[0, 0, 1, 1], [5, 5, 6, 6], [9, 9, 10, 10]], np.float32)
    keep, s = ufo_post.soft_nms(b, [0.3, 0.3, 0.3])  # equal scores: earliest slot first
    assert keep.tolist() == [0, 1, 2]
    keep, s = ufo_post.soft_nms(b[:1], [0.0005])  # the first box is output below min_score
    assert keep.tolist() == [0] and s[0] == np.float32(0.0005)


def test_soft_nms_swap_with_last_order():
    # box 1 removed (IoU 1 with box 0) -> the last box moves into slot 1 before box 2 is examined
    b = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60], [30, 30, 40, 40]], np.float32)
    keep, s = ufo_post.soft_nms(b, [0.9, 0.5, 0.4, 0.4])
    # after the removal the slots are [0, 3, 2]; equal scores 0.4: slot 1 (box 3) wins
    assert keep.tolist() == [0, 3, 2]


def test_soft_nms_zero_area_boxes_not_decayed():
    # two identical zero-area boxes: IoU is 0/0 = NaN, NaN >= 0.5 is false, so no decay (as
    # mmcv's C++ and the C engine); no numpy warning escapes
    b = np.array([[5, 5, 5, 5], [5, 5, 5, 5], [5, 5, 5, 20]], np.float32)
    with np.errstate(all="raise"):
        keep, s = ufo_post.batched_soft_nms(b, [0.9, 0.8, 0.7], [0, 0, 1])
    assert keep.tolist() == [0, 1, 2] and s.tolist() == pytest.approx([0.9, 0.8, 0.7])

def test_matrix_nms_hand_case():
    m = torch.tensor(
        [[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 1], [1, 1, 1, 1]], dtype=torch.bool
    ).reshape(5, 1, 4)
    labels = [0, 0, 1, 0, 0]
    scores = [0.9, 0.8, 0.7, 0.6, 0.06]
    keep, s = ufo_post.matrix_nms(m, labels, scores, sigma=2.0, filter_thr=0.05)
    e = math.exp(-2 * 0.25)  # IoU 0.5 with the 0.9 mask, no compensation
    assert keep.tolist() == [0, 2, 1, 3]  # mask 4 (IoU 1 with mask 0) decays to 0.06 e^-2 < 0.05
    np.testing.assert_allclose(s, [0.9, 0.7, 0.8 * e, 0.6 * e], rtol=1e-6)


def test_matrix_nms_compensation():
    # mask 2 overlaps mask 1 (IoU 0.5) which itself is decayed by mask 0 (IoU 0.5):
    # coef_2 = min(exp(-2*d02^2)/exp(0), exp(-2*d12^2)/exp(-2*comp_1^2)) with d02 = 1/3
    m = torch.tensor([[1, 1, 0, 0, 0, 0], [0, 1, 1, 0, 0, 0], [0, 0, 1, 1, 0, 0]], dtype=torch.bool)
    keep, s = ufo_post.matrix_nms(m[:, None], [3, 3, 3], [0.9, 0.8, 0.7])
    i01, i02, i12 = 1 / 3, 0.0, 1 / 3
    c1 = math.exp(-2 * i01**2)
    c2 = min(math.exp(-2 * i02**2), math.exp(-2 * i12**2) / math.exp(-2 * i01**2))
    np.testing.assert_allclose(s, sorted([0.9, 0.8 * c1, 0.7 * c2], reverse=True), rtol=1e-6)
