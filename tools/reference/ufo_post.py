"""Post-processing of the five tasks (inference §7, segmentation §2.5-§2.11, §3.4-§3.7).

All box arithmetic is float32 like the original tensors.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

MASK_ID = 30524
f32 = np.float32


# ---------------------------------------------------------------------------------------------
# soft-NMS (mmcv softnms_cpu, linear method) and class-aware batching


def soft_nms(boxes, scores, iou_threshold=0.5, min_score=1e-3, offset=0):
    """mmcv softnms_cpu, method 'linear' (inference §7.1 step 4, §0 item 7), float32.

    boxes (n, 4), scores (n,). Returns (keep indices, decayed scores) in selection order."""
    b = np.asarray(boxes, dtype=f32).copy()
    x1, y1, x2, y2 = (b[:, i].copy() for i in range(4))
    sc = np.asarray(scores, dtype=f32).copy()
    off = f32(offset)
    areas = (x2 - x1 + off) * (y2 - y1 + off)
    inds = np.arange(len(sc))
    n = len(sc)
    out_s = []
    i = 0
    while i < n:
        mpos, mscore = i, sc[i]
        for pos in range(i + 1, n):
            if mscore < sc[pos]:  # strict: the earliest current slot wins ties
                mscore, mpos = sc[pos], pos
        for arr in (x1, y1, x2, y2, sc, areas, inds):
            arr[i], arr[mpos] = arr[mpos], arr[i]
        ix1, iy1, ix2, iy2, iarea = x1[i], y1[i], x2[i], y2[i], areas[i]
        out_s.append(sc[i])  # output even if below min_score (§0 item 7)
        pos = i + 1
        while pos < n:
            xx1, yy1 = max(ix1, x1[pos]), max(iy1, y1[pos])
            xx2, yy2 = min(ix2, x2[pos]), min(iy2, y2[pos])
            w = max(f32(0.0), f32(xx2 - xx1 + off))
            h = max(f32(0.0), f32(yy2 - yy1 + off))
            inter = f32(w * h)
            with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 for zero-area boxes:
                ovr = f32(inter / f32(f32(iarea + areas[pos]) - inter))  # NaN, no decay (as C++)
            if ovr >= f32(iou_threshold):
                sc[pos] = f32(sc[pos] * f32(f32(1.0) - ovr))
            if sc[pos] < f32(min_score):  # swap-with-last removal, revisit pos
                last = n - 1
                for arr in (x1, y1, x2, y2, sc, areas, inds):
                    arr[pos] = arr[last]
                n -= 1
                continue
            pos += 1
        i += 1
    return inds[:n].copy(), np.asarray(out_s, dtype=f32)


def batched_soft_nms(boxes, scores, labels, iou_threshold=0.5, min_score=1e-3):
    """mmcv batched_nms with soft_nms: offset boxes by label * (max coordinate + 1) in f32
    (inference §7.1 step 4, §8.24); returns keep, decayed scores."""
    boxes = np.asarray(boxes, dtype=f32)
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=f32)
    mx = boxes.max()
    offs = np.asarray(labels).astype(f32) * f32(mx + f32(1.0))
    return soft_nms(boxes + offs[:, None], scores, iou_threshold, min_score)


# ---------------------------------------------------------------------------------------------
# detection and grounding (inference §7.1, §7.2)


def parse_int(s):
    """int(part.replace(' ', '')) as the original; None on error."""
    try:
        return int(s.replace(" ", ""))
    except ValueError:
        return None


def to_pixels(cxcywh, img_shape, scale):
    """inference §7.1 step 3: xyxy * (W, H), clamp in resized pixels, then / scale_factor."""
    cx, cy, w, h = (f32(v) for v in cxcywh)
    H, W = f32(img_shape[0]), f32(img_shape[1])
    half = f32(2.0)
    x1 = f32(cx - w / half) * W
    y1 = f32(cy - h / half) * H
    x2 = f32(cx + w / half) * W
    y2 = f32(cy + h / half) * H
    x1, x2 = (min(max(v, f32(0)), W) for v in (x1, x2))
    y1, y2 = (min(max(v, f32(0)), H) for v in (y1, y2))
    sx, sy = f32(scale[0]), f32(scale[1])
    return [f32(x1 / sx), f32(y1 / sy), f32(x2 / sx), f32(y2 / sy)]


def detection(texts, first_prob, refs, classes, num_bins, img_shape, scale, max_per_img,
              iou_threshold, min_score):
    """texts/first_prob/refs per grid. Returns dict(boxes, labels, scores) after soft-NMS."""
    order = np.argsort(-np.asarray(first_prob, dtype=f32), kind="stable")  # the original topk(Q); ties: lower q (our choice)
    boxes, labels, scores = [], [], []
    nb = f32(num_bins)
    for q in order:
        parts = texts[q].split(",")
        if parts[0] == "background" or parts[0] not in classes or len(parts) < 5:
            continue
        v = [parse_int(p) for p in parts[1:5]]
        if any(x is None for x in v):
            continue
        rx, ry = f32(refs[q][0]), f32(refs[q][1])
        cx = f32(f32(f32(v[0]) / nb) - f32(0.5)) + rx
        cy = f32(f32(f32(v[1]) / nb) - f32(0.5)) + ry
        w, h = f32(v[2]) / nb, f32(v[3]) / nb
        boxes.append(to_pixels((cx, cy, w, h), img_shape, scale))
        labels.append(classes.index(parts[0]))
        scores.append(f32(first_prob[q]))
        if len(boxes) == max_per_img:
            break
    boxes = np.asarray(boxes, dtype=f32).reshape(-1, 4)
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=f32)
    keep, dec = batched_soft_nms(boxes, scores, labels, iou_threshold, min_score)
    return {"boxes": boxes[keep], "labels": labels[keep], "scores": dec}


def grounding(text, num_bins, img_shape, scale):
    """inference §7.2 and §0 item 4: both centres (v/nb - 0.5) + 0.5; zero box on failure."""
    parts = text.split(",")
    nb = f32(num_bins)
    box = (f32(0), f32(0), f32(0), f32(0))
    if len(parts) >= 4:
        v = [parse_int(p) for p in parts[:4]]
        if all(x is not None for x in v):
            cx = f32(f32(f32(v[0]) / nb) - f32(0.5)) + f32(0.5)
            cy = f32(f32(f32(v[1]) / nb) - f32(0.5)) + f32(0.5)
            box = (cx, cy, f32(v[2]) / nb, f32(v[3]) / nb)
    return np.asarray(to_pixels(box, img_shape, scale), dtype=f32)


# ---------------------------------------------------------------------------------------------
# segmentation (segmentation spec §2.5-§2.10, §3.4-§3.6)


def seg_parse(texts, ids, first_prob, classes, exact16):
    """Sorted (descending first-token prob) list of (grid, label, positions of the MASK ids).

    exact16=True: instance rule (exactly 16; a "background" head is the negative answer and
    dropped, seg §2.5). False: semantic, first 16 of >= 16 (our choice for fewer than 16: skip the
    grid, docs/reference.md); the head only has to name a class, so a label set that holds
    "background" as a class (the demo's shapes-semantic, class 0) gets its background grids (the
    original's ADE20K set has no such name, so its behaviour is unchanged)."""
    order = np.argsort(-np.asarray(first_prob, dtype=f32), kind="stable")
    out = []
    for q in order:
        head = texts[q].split(",")[0]
        pos = [t for t, x in enumerate(ids[q]) if int(x) == MASK_ID]
        # "<MASK>" in text  <=>  id 30524 present (only that id decodes to it; checked by id
        # because the tokenizer's decode casing of the added token varies between versions)
        if (exact16 and head == "background") or head not in classes or not pos:
            continue
        if (exact16 and len(pos) != 16) or len(pos) < 16:
            continue
        out.append((int(q), classes.index(head), pos[:16]))
    return out


def mask_logits(emb, fmap, ori_hw):
    """seg §2.6-2.8: emb (16, C), fmap (Hp, Wp, C) -> logits at (H0, W0): S = E F^T / sqrt(C),
    pixel-shuffle (token j -> row j // 4, col j % 4), bilinear align_corners=False."""
    Hp, Wp, C = fmap.shape
    s = emb @ fmap.reshape(-1, C).t() / math.sqrt(C)  # 1/sqrt(embed_dim), not head dim (§6.3)
    u = s.reshape(4, 4, Hp, Wp).permute(2, 0, 3, 1).reshape(4 * Hp, 4 * Wp)
    return F.interpolate(u[None, None], size=tuple(ori_hw), mode="bilinear", align_corners=False)[0, 0]


def matrix_nms(masks, labels, scores, sigma=2.0, filter_thr=0.05):
    """mmdet mask_matrix_nms, gaussian kernel (seg §2.10). masks (n, H, W) bool.

    Sorting uses a stable descending sort (the original's torch.sort is unstable; ties only).
    Returns keep indices (into the inputs) and decayed scores, sorted descending."""
    n = len(labels)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=f32)
    scores = torch.as_tensor(np.asarray(scores, dtype=f32))
    labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    area = masks.reshape(n, -1).float().sum(1)
    scores, idx = torch.sort(scores, descending=True, stable=True)
    keep = idx
    fm = masks[idx].reshape(n, -1).float()
    area, labels = area[idx], labels[idx]
    inter = fm @ fm.t()
    ea = area.expand(n, n)
    iou = (inter / (ea + ea.t() - inter)).triu(diagonal=1)
    el = labels.expand(n, n)
    lab = (el == el.t()).triu(diagonal=1)
    comp, _ = (iou * lab).max(0)
    comp = comp.expand(n, n).t()
    dec = iou * lab
    coef, _ = (torch.exp(-sigma * dec**2) / torch.exp(-sigma * comp**2)).min(0)
    scores = scores * coef
    k = scores >= filter_thr
    if not bool(k.any()):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=f32)
    keep, scores = keep[k], scores[k]
    scores, o = torch.sort(scores, descending=True, stable=True)
    return keep[o].numpy(), scores.numpy()


def mask_box(mask, mode="region"):
    """Box [x1, y1, x2, y2] (float32, x2 = x_max + 1 as mask2bbox, seg §6.20) of a bool (H, W) mask:
    of every foreground pixel ("mask", the original), or of its largest 8-connected region
    ("region"; equal areas: the region whose first pixel comes first in raster order)."""
    m = np.asarray(mask, dtype=np.uint8)
    if mode == "region":
        import cv2  # noqa: PLC0415 (only this post-processing needs OpenCV)

        n, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        areas = stats[1:, cv2.CC_STAT_AREA]
        big = np.nonzero(areas == areas.max())[0] + 1
        first = [int(np.argmax(lab.reshape(-1) == b)) for b in big]  # raster index of the first pixel
        m = (lab == big[int(np.argmin(first))]).astype(np.uint8)
    ys, xs = np.nonzero(m)
    return np.asarray([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=f32)


def instance(parsed, feats, first_prob, fmap, ori_hw, sigma, filter_thr, boxes="region"):
    """seg §2.6-§2.11. feats (Q, T, C). Returns dict(masks bool (n,H0,W0), labels, scores, boxes
    (n, 4) from mask_box(·, boxes))."""
    masks, labels, scores = [], [], []
    for q, label, pos in parsed:
        logit = mask_logits(feats[q, pos].float(), fmap, ori_hw)
        p = torch.sigmoid(logit)
        fg = p > 0.5  # strict (§6.6)
        if not bool(fg.any()):
            continue
        scores.append(f32(first_prob[q]) * f32(p[fg].mean().item()))  # rescore (§2.9)
        masks.append(fg)
        labels.append(label)
    if not masks:
        return {"masks": np.zeros((0,) + tuple(ori_hw), dtype=bool),
                "labels": np.zeros(0, dtype=np.int64), "scores": np.zeros(0, dtype=f32),
                "boxes": np.zeros((0, 4), dtype=f32)}
    m = torch.stack(masks)
    keep, dec = matrix_nms(m, labels, scores, sigma, filter_thr)
    kept = m[keep].numpy()
    box = np.stack([mask_box(k, boxes) for k in kept]) if len(kept) else np.zeros((0, 4), dtype=f32)
    return {"masks": kept, "labels": np.asarray(labels)[keep], "scores": dec, "boxes": box}


def semantic(parsed, feats, first_prob, fmap, ori_hw, n_classes):
    """seg §3.6: L[c] = sum over grids of class c of score * sigmoid(mask logits); argmax with
    ties to the lowest class (all-zero pixels -> class 0). Returns (H0, W0) int64 or None when no
    grid is valid (our choice, seg §0 item 6: empty result)."""
    if not parsed:
        return None
    acc = {}
    for q, label, pos in parsed:  # sum in sorted-grid order
        p = torch.sigmoid(mask_logits(feats[q, pos].float(), fmap, ori_hw))
        term = torch.tensor(f32(first_prob[q])) * p
        acc[label] = term if label not in acc else acc[label] + term
    cls = sorted(acc)
    stack = torch.stack([acc[c] for c in cls])
    arg = stack.argmax(0)  # first maximum among present classes (ascending ids)
    best = stack.gather(0, arg[None])[0]
    lab = torch.as_tensor(cls)[arg]
    # absent classes hold 0: they win only where every present class is exactly 0 -> class 0
    return torch.where(best > 0, lab, torch.zeros_like(lab)).numpy().astype(np.int64)
