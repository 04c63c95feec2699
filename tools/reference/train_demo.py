"""Multi-task training of the project's demo UFO-ViT model on procedural scenes
(docs/demo-model.md; data: scenes.py).

The network is the reference's own `ufo_model.UfoViT` (same modules, same text / image / grid
passes); only the decoder is run with teacher forcing: all target tokens of a sequence in one
pass with a causal mask over the same per-layer caches the inference decoder uses
(`decode_teacher`, checked step by step against `UfoViT.decode_step` by the tests).

Targets (ideas from the original training code, re-written):
  * grid tasks (detection, instance, semantic): every ground-truth object (semantic: every class
    present, as the union of its pixels) is repeated 3 times and matched to grids by a Hungarian
    assignment on the L1 distance between the grid reference point and the object's box centre
    (normalised coordinates, cost weight 5); then at most `--grids-per-window` grids per window
    are trained (matched ones first, then random unmatched ones);
  * detection text "class,x,y,w,h": x, y = round((cx - ref_x + 0.5) * bins), w, h = round(w * bins)
    clamped to [0, bins] (inverse of inference §7.1); unmatched grids: "background";
  * instance: "class,<MASK>×16", unmatched: "background"; semantic: "class,<MASK>×16",
    unmatched grids are not supervised (seg §3.3);
  * caption: the scene caption; grounding: "cx,cy,w,h" with cx = round(cx_norm * bins) (the
    inverse of inference §7.2 with the 0.5 reference);
  * loss: token cross-entropy (teacher forcing, summed, divided by the number of supervised
    tokens); masks: the features whose *target* is <MASK> (seg §6.1) retrieved against the
    mean-layer image map, S = E F^T / sqrt(C), pixel-shuffled to 4× (seg §2.6-§2.7), against the
    ground-truth mask area-resampled to that resolution: sigmoid focal loss + dice loss.

    python3 tools/reference/train_demo.py --steps 20000 --out runs/demo          # GPU (bf16)
    python3 tools/reference/train_demo.py --preset smoke --steps 20 --out /tmp/s  # CPU check
"""

import argparse
import contextlib
import dataclasses
import functools
import json
import math
import os
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import scenes  # noqa: E402
import ufo_config  # noqa: E402
import ufo_pipeline  # noqa: E402
import ufo_tokenizer  # noqa: E402
from ufo_config import TaskConfig, UfoConfig  # noqa: E402
from ufo_model import UfoViT, attend, grid_layout, resize_pos_embed  # noqa: E402

CLS, SEP, PAD = 101, 102, 0
MASK_ID = 30524
GRID_TASKS = ("detection", "instance", "semantic")
LABEL_SETS = {scenes.LABEL_SET: scenes.CLASSES, scenes.SEMANTIC_LABEL_SET: scenes.SEMANTIC_CLASSES}
REPEAT = 3  # each object is matched to 3 grids
POINT_COST = 5.0


# ---------------------------------------------------------------------------------------------
# configs and label sets


def demo_config(width=256, layers=8, heads=4, size=448, name="ufo-demo", det_bins=None, ground_bins=448):
    """The demo model: window layers with global layers at 1/3 and 2/3 depth, the last two layers
    averaged (mean layers must be window layers: grid decoding skips global layers)."""
    g = [layers // 3 - 1, 2 * layers // 3 - 1]
    sem = "shapes-semantic"
    tasks = {
        "detection": TaskConfig(size, "bilinear", False, 5, det_bins or 2 * size, 30, 1, nms="soft",
                                label_set="shapes"),
        "grounding": TaskConfig(224, "bicubic", False, 0, ground_bins, 20, 1),
        "caption": TaskConfig(224, "bicubic", False, 0, 0, 20, 2, 1.0, 0.7),
        "instance": TaskConfig(size, "bilinear", True, 5, 0, 30, 1, nms="matrix", label_set="shapes"),
        "semantic": TaskConfig(size, "bilinear", False, 5, 0, 30, 1, label_set=sem),
    }
    cfg = UfoConfig(name=name, embed_dim=width, num_heads=heads, head_dim=width // heads,
                    ffn_dim=4 * width, num_layers=layers, global_layers=g,
                    mean_layers=[layers - 2, layers - 1], img_size=size, tasks=tasks)
    cfg.validate()
    return cfg


PRESETS = {
    "demo": lambda: demo_config(256, 8, 4, 448),
    # the model trained on the CPU (no GPU lent): 6 layers of 192, 448 input. 448 detection bins
    # (1 px): the values targets use (centre residuals near 224, sizes up to ~140) are single BERT
    # tokens (0-341 all are; most of 342-896 are two pieces). Grounding: 336 bins (2/3 px at its
    # 224 input), so that every absolute centre and size is one token too: with 448 bins the
    # centres right of / below 341 took two pieces, and the model trained on them answered a
    # constant mix of pieces ("372, 372, 37")
    "cpu": lambda: demo_config(192, 6, 3, 448, det_bins=448, ground_bins=336),
    "smoke": lambda: demo_config(64, 4, 2, 224, "ufo-demo-smoke"),
}


def install_label_sets():
    """Let the reference pipeline (ufo_pipeline / ufo_json) find the demo label sets, which are
    not files under engine/data/labels: wrap ufo_tokenizer.load_labels once."""
    if getattr(ufo_tokenizer.load_labels, "_demo", False):
        return
    orig = ufo_tokenizer.load_labels

    def load_labels(name):
        return list(LABEL_SETS[name]) if name in LABEL_SETS else orig(name)

    load_labels._demo = True
    ufo_tokenizer.load_labels = load_labels


def prompt(task, cfg, text=None):
    install_label_sets()
    return ufo_pipeline.prompt_for(task, cfg, text)


# ---------------------------------------------------------------------------------------------
# Hungarian assignment (no scipy here): shortest augmenting paths with potentials, O(n^2 m)


def hungarian(cost):
    """Minimum-cost assignment of every row to a distinct column (rows <= cols).
    Returns col index per row."""
    cost = np.asarray(cost, dtype=np.float64)
    n, m = cost.shape
    if n > m:
        raise ValueError("hungarian: more rows than columns")
    INF = float("inf")
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    p = np.zeros(m + 1, dtype=np.int64)  # p[j] = row (1-based) matched to column j
    way = np.zeros(m + 1, dtype=np.int64)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = np.full(m + 1, INF)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            cur = cost[i0 - 1] - u[i0] - v[1:]
            free = ~used[1:]
            upd = free & (cur < minv[1:])
            minv[1:][upd] = cur[upd]
            way[1:][upd] = j0
            cand = np.where(free, minv[1:], INF)
            j1 = int(np.argmin(cand)) + 1
            delta = cand[j1 - 1]
            u[p[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    col = np.zeros(n, dtype=np.int64)
    for j in range(1, m + 1):
        if p[j]:
            col[p[j] - 1] = j - 1
    return col


def assign(refs, centres):
    """Grid index for each target (targets = objects repeated REPEAT times; at most Q of them).
    refs (Q, 2), centres (G, 2), both normalised (x, y). Returns (G,) grid indices."""
    G = min(len(centres), len(refs))
    if G == 0:
        return np.zeros(0, dtype=np.int64)
    cost = POINT_COST * np.abs(centres[:G, None, :] - refs[None, :, :]).sum(-1)  # PointsL1Cost
    return hungarian(cost)


# ---------------------------------------------------------------------------------------------
# targets


def bins(v, nb):
    return int(min(max(round(v * nb), 0), nb))


def grid_targets(task, sc, refs, nb, H, W):
    """Per grid: target text (None = unsupervised) and, for masks, the object's bool mask."""
    if task == "semantic":
        objs = []
        for c in np.unique(sc["semantic"]):
            m = sc["semantic"] == c
            objs.append({"name": scenes.SEMANTIC_CLASSES[int(c)], "mask": m, "box": scenes.mask_box(m)})
    else:
        objs = sc["objects"]
    Q = len(refs)
    rep = [o for _ in range(REPEAT) for o in objs]
    centres = np.array([[(o["box"][0] + o["box"][2]) / (2.0 * W), (o["box"][1] + o["box"][3]) / (2.0 * H)]
                        for o in rep]).reshape(-1, 2)
    grid_of = assign(refs, centres)
    neg = None if task == "semantic" else "background"  # seg §3.3: unmatched semseg grids unsupervised
    texts, masks = [neg] * Q, [None] * Q
    for g, q in enumerate(grid_of):
        o = rep[g]
        if task == "detection":
            x1, y1, x2, y2 = o["box"]
            cx, cy = (x1 + x2) / (2.0 * W), (y1 + y2) / (2.0 * H)
            # inference §7.1 inverted: centre residual to the grid reference, shifted by 0.5
            t = [bins(cx - refs[q][0] + 0.5, nb), bins(cy - refs[q][1] + 0.5, nb),
                 bins((x2 - x1) / W, nb), bins((y2 - y1) / H, nb)]
            texts[q] = o["name"] + "," + ",".join(str(v) for v in t)
        else:
            texts[q] = o["name"] + "," + "<MASK>" * 16
            masks[q] = o["mask"]
    return texts, masks


def grounding_target(box, W, H, nb):
    """"cx,cy,w,h" bins: inference §7.2 inverted (the reference is 0.5, so v = cx * bins)."""
    x1, y1, x2, y2 = box
    return ",".join(str(bins(v, nb)) for v in ((x1 + x2) / (2 * W), (y1 + y2) / (2 * H), (x2 - x1) / W,
                                                (y2 - y1) / H))


def select_grids(texts, win, per_win, gen):
    """Indices of the trained grids: per window, supervised positives first (a random subset if
    more than per_win), then random negatives ("background"); unsupervised grids never."""
    out = []
    for w in torch.unique(win).tolist():
        idx = torch.nonzero(win == w).flatten().tolist()
        pos = [q for q in idx if texts[q] is not None and texts[q] != "background"]
        neg = [q for q in idx if texts[q] == "background"]
        pos = [pos[i] for i in torch.randperm(len(pos), generator=gen).tolist()][:per_win]
        neg = [neg[i] for i in torch.randperm(len(neg), generator=gen).tolist()]
        out.extend(sorted(pos + neg[: max(0, per_win - len(pos))]))
    return out


def tokenize_targets(texts, device):
    """[CLS] pieces [SEP] [PAD]...: inputs = ids[:, :-1], targets = ids[:, 1:], weight 1 on real
    target tokens (the [SEP] included), 0 on padding."""
    tok = ufo_tokenizer.default_tokenizer()
    enc = tok(list(texts), padding="longest", truncation=True, max_length=512, return_tensors="pt")
    ids = enc["input_ids"].long()
    w = enc["attention_mask"][:, 1:].float()
    return ids[:, :-1].to(device), ids[:, 1:].to(device), w.to(device)


def target_vocabulary(cfg):
    """Sorted ids of every token a target or a prompt of this config can contain: class names,
    the bin numbers, the caption / expression grammar, every prompt, [SEP] and <MASK>; and [CLS],
    which is never a target but starts every decoded sequence.

    Training may score the tied logits against these ids only (`--loss-vocab targets`), which
    scores ~60x fewer columns than the 30 525-wide logits. Inference still takes the argmax over
    the whole vocabulary: the rows that are never fed to the model get no gradient and decay
    towards 0 under AdamW, so their logits stay near 0 while the trained answer's logit is large.
    A row that is fed (an input embedding) is trained through the input side and keeps a large
    norm; unless it is in the set, nothing teaches the model not to emit it. Every fed id must
    therefore be here: [CLS] (decoder position 0) is the one that is not a target or prompt
    token (left out, the step-13 300 model answered [CLS] at the class position of most semantic
    grids). The held-out evaluation (eval_demo.py, full vocabulary) is the check."""
    tok = ufo_tokenizer.default_tokenizer()
    words = set(scenes.CLASSES + scenes.SEMANTIC_CLASSES + scenes.COLOUR_NAMES + scenes.COUNT_WORDS)
    words |= {scenes.plural(c) for c in scenes.CLASSES}
    words |= set("a an the above below to left right of large small leftmost rightmost topmost "
                 "bottommost".split())
    nb = max([t.num_bins for t in cfg.tasks.values()] + [0])
    texts = sorted(words) + [str(v) for v in range(nb + 1)] + [","]
    for task in cfg.tasks:
        texts.append(prompt(task, cfg, "the red circle" if task == "grounding" else None))
    ids = {CLS, SEP, MASK_ID}
    for t in texts:
        ids.update(tok(t, add_special_tokens=False)["input_ids"])
    return torch.tensor(sorted(ids), dtype=torch.long)


# ---------------------------------------------------------------------------------------------
# teacher-forced decoding with the inference caches


def decode_teacher(model, ids, caches, skip_global, vocab=None):
    """All positions of `ids` (N, L) at once: token t sits at position t (inference §6.1), sees
    the per-layer prefix cache (grid token K/V or image K/V) and tokens 0..t (causal).
    Returns the mean-layer features (N, L, C) and the tied logits (N, L, V), or (N, L, len(vocab))
    over the ids `vocab` only."""
    cfg, bb = model.cfg, model.backbone
    N, L = ids.shape
    x = bb.embed(ids, 0)
    causal = torch.full((L, L), float("-inf"), device=ids.device).triu(1)
    acc, n_mean = None, 0
    for i, layer in enumerate(bb.layers):
        if skip_global and layer.is_global:  # global_only_image (§5.6)
            continue
        q, k, v = layer.qkv(x)
        pk, pv = caches[i]
        bias = torch.cat([torch.zeros(L, pk.shape[2], device=ids.device), causal], 1)
        x = layer.finish(x, attend(q, torch.cat([pk, k], 2), torch.cat([pv, v], 2), bias))
        if i in cfg.mean_layers:
            acc = x if acc is None else acc + x
            n_mean += 1
    feat = acc * (1.0 / n_mean)  # mean over the mean layers that ran (inference §6.1, §0 item 8)
    E = bb.embed.word_embeddings.weight
    logits = torch.matmul(feat, (E if vocab is None else E[vocab]).t())  # tied (§8.12)
    return feat, logits


# ---------------------------------------------------------------------------------------------
# losses


@functools.lru_cache(maxsize=None)
def number_ids(nb):
    """BERT ids of the numbers 0..nb, each one word piece (nb <= 341); made once per nb."""
    tok = ufo_tokenizer.default_tokenizer()
    ids = [tok(str(v), add_special_tokens=False)["input_ids"] for v in range(nb + 1)]
    if any(len(i) != 1 for i in ids):
        raise ValueError(f"numbers up to {nb} are not all single word pieces")
    return torch.tensor([i[0] for i in ids], dtype=torch.long)


def soft_number_targets(targets, nb, sigma, reach=3):
    """Soft targets for bin numbers (our training choice for grounding's box values): a target
    that is the number n spreads its mass over the numbers m in n ± reach·sigma with weight
    exp(-(m - n)^2 / (2 sigma^2)), normalised; the mode stays n, so greedy decoding is unchanged,
    but a near miss costs less than a far one. Returns (is_number (B, T) bool, ids (B, T, K),
    q (B, T, K)); positions that are not numbers keep their own id with q = 1."""
    nums = number_ids(nb)
    value = torch.full((int(max(int(nums.max()), int(targets.max())) + 1),), -1, dtype=torch.long)
    value[nums] = torch.arange(nb + 1)
    v = value[targets]  # (B, T) number or -1
    is_num = v >= 0
    k = int(math.ceil(reach * sigma))
    off = torch.arange(-k, k + 1)
    m = v[..., None] + off  # (B, T, K)
    inside = (m >= 0) & (m <= nb) & is_num[..., None]
    q = torch.exp(-(off.float() ** 2) / (2 * sigma * sigma)).expand(m.shape) * inside
    ids = torch.where(inside, nums[m.clamp(0, nb)], targets[..., None].expand(m.shape))
    own = (~is_num)[..., None] & (off == 0)  # non-numbers: one-hot on their own id
    q = torch.where(own, torch.ones_like(q), q)
    return is_num, ids, q / q.sum(-1, keepdim=True)


def token_loss(logits, targets, weights, vocab=None, soft=None):
    """Cross-entropy per target token, weighted, summed and divided by the weights. `soft`
    (soft_number_targets): those positions score -sum q log p over their ids instead."""
    def to_columns(ids, check):
        if vocab is None:
            return ids
        pos = torch.searchsorted(vocab, ids.contiguous()).clamp(max=len(vocab) - 1)
        bad = (vocab[pos] != ids) & check
        if bool(bad.any()):
            raise ValueError(f"target token {int(ids[bad][0])} is not in the training vocabulary")
        return pos

    targets = to_columns(targets, weights > 0)  # target ids -> positions in the candidate set
    if soft is None:
        ce = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    else:
        _, ids, q = soft
        cols = to_columns(ids.to(logits.device), (q > 0) & (weights > 0)[..., None])
        logp = F.log_softmax(logits.float(), -1)
        ce = -(logp.gather(-1, cols) * q.to(logits.device)).sum(-1).reshape(-1)
    return (ce * weights.reshape(-1)).sum() / weights.sum().clamp(min=1.0)


def mask_logits_4x(emb, fmap):
    """seg §2.6-§2.7: emb (n, 16, C), fmap (n, Hp, Wp, C) -> (n, 4Hp, 4Wp): S = E F^T / sqrt(C),
    pixel-shuffled (token j -> sub-row j // 4, sub-column j % 4)."""
    n, Hp, Wp, C = fmap.shape
    s = torch.einsum("njc,nhwc->njhw", emb, fmap) / math.sqrt(C)  # 1/sqrt(embed_dim) (seg §6.3)
    return s.reshape(n, 4, 4, Hp, Wp).permute(0, 3, 1, 4, 2).reshape(n, 4 * Hp, 4 * Wp)


def focal_dice(logits, target, alpha=0.25, gamma=2.0):
    """Sigmoid focal loss (mean over pixels) and dice loss, per mask (n, h, w); soft targets ok."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    pt = p * target + (1 - p) * (1 - target)
    at = alpha * target + (1 - alpha) * (1 - target)
    focal = (at * (1 - pt) ** gamma * ce).flatten(1).mean(1)
    inter = (p * target).flatten(1).sum(1)
    dice = 1 - (2 * inter + 1) / (p.flatten(1).sum(1) + target.flatten(1).sum(1) + 1)
    return focal, dice


def resample_mask(mask, h, w):
    """Ground-truth bool mask -> area fraction at (h, w) (cv2 INTER_AREA)."""
    return cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)


# ---------------------------------------------------------------------------------------------
# one task forward


def preprocess_batch(cfg, task, images_rgb, device):
    # same preprocessing as inference: the pipeline wants BGR like cv2.imread
    xs = [ufo_pipeline.preprocess(np.ascontiguousarray(im[:, :, ::-1]), cfg, task)[0] for im in images_rgb]
    return torch.stack(xs).to(device)


def task_loss(model, task, batch, device, gen, per_win=10, mask_w=(20.0, 1.0), vocab=None, class_weight=1.0,
              refs_per_scene=1, number_sigma=0.0):
    """Loss of one batch of scenes for one task. Returns (loss, dict of float parts).
    `class_weight` scales the cross-entropy weight of a grid sequence's first target token (the
    class name's first piece, or "background": the decision whether and what), against the
    box values and commas that otherwise outnumber it 9 to 1. `refs_per_scene` (grounding): up to
    that many distinct expressions of each scene, each its own sample (a scene has 4.7 on average;
    the scene is made once, the image pass runs per expression since it attends to the text).
    `number_sigma` > 0 (grounding): soft targets for the box values (soft_number_targets)."""
    cfg = model.cfg
    tc = cfg.tasks[task]
    if task == "grounding":
        batch = [s for s in batch if s["refs"]]  # a scene may have no unambiguous object
        if not batch:
            return sum(p.sum() * 0 for p in model.parameters()), {"tok": 0.0}
    B = len(batch)
    img = preprocess_batch(cfg, task, [s["image"] for s in batch], device)
    if task == "grounding":
        texts_in, targets, of_scene = [], [], []
        for b, s in enumerate(batch):
            H, W = s["semantic"].shape
            if refs_per_scene <= 1:
                picks = [int(torch.randint(len(s["refs"]), (1,), generator=gen))]
            else:
                picks = torch.randperm(len(s["refs"]), generator=gen).tolist()[:refs_per_scene]
            for i in picks:
                r = s["refs"][i]
                texts_in.append(r["text"])
                targets.append(grounding_target(r["box"], W, H, tc.num_bins))
                of_scene.append(b)
        if len(of_scene) != B:
            img = img[torch.tensor(of_scene, device=img.device)]
            B = len(of_scene)
        prompts = [prompt(task, cfg, t) for t in texts_in]
    else:
        prompts = [prompt(task, cfg)] * B
        targets = [s["caption"] for s in batch] if task == "caption" else None
    ids, mask = ufo_pipeline.tokenize(prompts)
    ids, mask = ids.to(device), mask.to(device)
    text_kv = model.text_forward(ids, mask)
    S, ws = tc.input_size, cfg.window_size
    Hp = Wp = S // cfg.patch_size
    x0 = model.patch_forward(img)
    parts = {}
    if task not in GRID_TASKS:
        img_kv, _, _ = model.img_forward(x0, text_kv, mask, None)
        tin, tout, w = tokenize_targets(targets, device)
        _, logits = decode_teacher(model, tin, img_kv, False, vocab)  # §6.1: all image K/V
        soft = soft_number_targets(tout.cpu(), tc.num_bins, number_sigma) if task == "grounding" and number_sigma > 0 else None
        loss = token_loss(logits, tout, w, vocab, soft)
        parts["tok"] = float(loss.detach())
        return loss, parts
    ref, win, (gh, gw) = grid_layout(Hp, Wp, ws, tc.grid_per_window)
    ref, win = ref.to(device), win.to(device)
    gpos = resize_pos_embed(model.backbone.pos_embed, (gh, gw)).reshape(gh * gw, -1)  # §5.5
    img_kv, feats, fmap = model.img_forward(x0, text_kv, mask, ref)
    nw = ((Hp + ws - 1) // ws) * ((Wp + ws - 1) // ws)
    grid_kv = model.grid_forward(gpos, feats, img_kv, win, nw)
    Q = ref.shape[0]
    rows, texts, gt_masks, row_img = [], [], [], []
    refs_np = ref.cpu().numpy()
    for b, s in enumerate(batch):
        H, W = s["semantic"].shape
        t, m = grid_targets(task, s, refs_np, tc.num_bins, H, W)
        for q in select_grids(t, win.cpu(), per_win, gen):
            rows.append(b * Q + q)
            texts.append(t[q])
            gt_masks.append(m[q])
            row_img.append(b)
    if not rows:
        zero = sum(p.sum() * 0 for p in model.parameters())
        return zero, {"tok": 0.0}
    sel = torch.tensor(rows, device=device)
    caches = [None if c is None else (c[0][sel], c[1][sel]) for c in grid_kv]
    tin, tout, w = tokenize_targets(texts, device)
    if class_weight != 1.0:
        w = w.clone()
        w[:, 0] *= class_weight
    feat, logits = decode_teacher(model, tin, caches, True, vocab)
    loss = token_loss(logits, tout, w, vocab)
    parts["tok"] = float(loss.detach())
    if task in ("instance", "semantic"):
        emb, which = [], []
        for r, m in enumerate(gt_masks):
            pos = torch.nonzero(tout[r] == MASK_ID).flatten()  # target is <MASK> (seg §6.1)
            if m is not None and len(pos) == 16:
                emb.append(feat[r, pos])
                which.append(r)
        if which:
            img_of = torch.tensor([row_img[r] for r in which], device=device)
            lg = mask_logits_4x(torch.stack(emb).float(), fmap[img_of].float())
            tgt = np.stack([resample_mask(gt_masks[r], lg.shape[1], lg.shape[2]) for r in which])
            fl, dl = focal_dice(lg, torch.from_numpy(tgt).to(device))
            fl, dl = fl.mean(), dl.mean()
            loss = loss + mask_w[0] * fl + mask_w[1] * dl
            parts["focal"], parts["dice"] = float(fl.detach()), float(dl.detach())
    return loss, parts


# ---------------------------------------------------------------------------------------------
# model, export


def init_weights(model, seed=0):
    """Fresh weights: truncated normal 0.02 for linear / embedding / position tables (ViT
    practice), zero biases, unit LayerNorm, zero rel-pos tables."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "rel_pos" in name:
                p.zero_()
            elif "LayerNorm.weight" in name or ".ln" in name:
                p.fill_(1.0)
            else:
                p.copy_(torch.randn(p.shape, generator=g).clamp_(-2, 2) * 0.02)
    return model


def state_dict_for_export(model, dtype=torch.float16):
    out = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu()
        out[k] = v.contiguous() if not v.is_floating_point() else v.to(dtype).contiguous()
    return out


def own_vocabulary(cfg):
    """The BERT ids of the demo model's own vocabulary (docs/model-format.md): every id a target
    or a prompt can contain (target_vocabulary: the ids the training loss scores with
    `--loss-vocab targets`) plus BERT's other special tokens [PAD] [UNK] [CLS] [MASK], ascending,
    so <MASK> comes last."""
    return sorted(set(target_vocabulary(cfg).tolist()) | {PAD, 100, CLS, 103})


def export(model, path, dtype=torch.float16, vocab_rows=None):
    """The project's model file (docs/model-format.md): official tensor names, F16, metadata
    ufo.format "1", ufo.config, ufo.vocab and ufo.labels.<set> for every set a task uses.
    vocab_rows (BERT ids, ascending): the file carries its own vocabulary, those rows of the word
    embeddings and their tokens (config vocab_size = len(vocab_rows))."""
    from safetensors.torch import save_file

    cfg = model.cfg
    lines = ufo_tokenizer._read_lines(ufo_tokenizer.DEFAULT_VOCAB)
    sd = state_dict_for_export(model, dtype)
    if vocab_rows is not None:
        rows = sorted(set(int(r) for r in vocab_rows))
        key = "backbone.embed.word_embeddings.weight"
        sd[key] = sd[key][torch.tensor(rows)].contiguous()
        lines = [lines[r] for r in rows]
        cfg = dataclasses.replace(cfg, vocab_size=len(rows))
        ufo_tokenizer.own_vocabulary_tokenizer(lines)  # the C tokenizer's layout rules hold
    meta = {"ufo.format": "1", "ufo.config": cfg.to_json(), "ufo.vocab": "\n".join(lines) + "\n"}
    for t in cfg.tasks.values():
        if t.label_set:
            meta["ufo.labels." + t.label_set] = "\n".join(LABEL_SETS[t.label_set]) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    save_file(sd, path, metadata=meta)
    return path


def load_model_file(path, device="cpu"):
    """Read a model file written by `export` back into a float32 UfoViT (strict)."""
    from safetensors import safe_open

    with safe_open(path, "pt") as f:
        meta = f.metadata()
        sd = {k: f.get_tensor(k) for k in f.keys()}
    if meta.get("ufo.format") != "1":
        raise ValueError(f"{path}: not a ufo.format 1 model file")
    cfg = UfoConfig.from_json(meta["ufo.config"])
    sd = {k: (v.float() if v.is_floating_point() else v) for k, v in sd.items()}
    lines = meta["ufo.vocab"].split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    own = lines != ufo_tokenizer._read_lines(ufo_tokenizer.DEFAULT_VOCAB)
    if own:  # its own vocabulary: held in BERT ids (UfoViT.set_own_vocabulary)
        if len(lines) != cfg.vocab_size:
            raise ValueError(f"{path}: vocabulary has {len(lines)} tokens, config {cfg.vocab_size}")
        rows = ufo_tokenizer.bert_ids_of(lines)
        key = "backbone.embed.word_embeddings.weight"
        full = torch.zeros(len(ufo_tokenizer._read_lines(ufo_tokenizer.DEFAULT_VOCAB)), sd[key].shape[1])
        full[torch.tensor(rows)] = sd[key]
        sd[key] = full
        cfg = dataclasses.replace(cfg, vocab_size=full.shape[0])
    m = UfoViT(cfg)
    m.load_state_dict(sd, strict=True)
    if own:
        m.set_own_vocabulary(rows, ufo_tokenizer.own_vocabulary_tokenizer(lines))
    return m.to(device).eval(), meta


# ---------------------------------------------------------------------------------------------
# training loop


DEFAULT_MIX = "detection:2,instance:2,semantic:1,caption:1,grounding:1"


def parse_mix(text):
    out = []
    for part in text.split(","):
        name, _, w = part.partition(":")
        if name not in ufo_config.TASKS:
            raise ValueError(f"unknown task {name!r} in --tasks")
        out.extend([name] * int(w or 1))
    return out


def parse_objects(text):
    """'2-7' or '2-7,grounding=1-1,caption=1-4' -> {"*": (2, 7), "grounding": (1, 1), ...}."""
    out = {}
    for part in text.split(","):
        task, _, span = part.rpartition("=")
        lo, hi = (int(v) for v in span.split("-", 1))
        if task and task not in ufo_config.TASKS:
            raise ValueError(f"--objects: unknown task {task!r}")
        if not 1 <= lo <= hi:
            raise ValueError(f"--objects: {span!r} is not MIN-MAX with 1 <= MIN <= MAX")
        out[task or "*"] = (lo, hi)
    return out


def lr_at(step, total, base, warmup):
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))  # cosine to 0


def autocast(device, cpu_bf16=False):
    """bf16 autocast on CUDA; on the CPU only when asked (AVX512-BF16 makes it ~1.5x faster)."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if device.type == "cpu" and cpu_bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _make_batch(args):
    seeds, size, objects = args
    return [scenes.scene(s, size, size, *objects) for s in seeds]


class SceneLoader:
    """Scenes of each step, made by `workers` processes a few steps ahead (0: in this process)."""

    def __init__(self, seeds_of, start, steps, size, workers, objects=(2, 7)):
        """`objects`: (min, max) objects per scene, or a function of the step giving them."""
        self.seeds_of, self.size, self.next_step, self.steps = seeds_of, size, start, steps
        self.objects_of = objects if callable(objects) else (lambda step, o=tuple(objects): o)
        self.pool, self.queue = None, []
        if workers > 0:
            import multiprocessing as mp

            self.pool = mp.get_context("spawn").Pool(workers)
            for _ in range(2 * workers):
                self._submit()

    def _submit(self):
        if self.next_step < self.steps:
            args = (self.seeds_of(self.next_step), self.size, self.objects_of(self.next_step))
            self.queue.append(self.pool.apply_async(_make_batch, (args,)))
            self.next_step += 1

    def next(self):
        if self.pool is None:
            data = _make_batch((self.seeds_of(self.next_step), self.size, self.objects_of(self.next_step)))
            self.next_step += 1
            return data
        data = self.queue.pop(0).get()
        self._submit()
        return data

    def close(self):
        if self.pool is not None:
            self.pool.close()
            self.pool.join()


def train(cfg, steps, out, batch=8, lr=5e-4, wd=0.05, warmup=500, mix=DEFAULT_MIX, seed=0,
          device=None, per_win=10, ckpt_every=1000, log_every=50, resume=None, fixed_seeds=None,
          workers=0, log=print, cpu_bf16=False, loss_vocab="full", class_weight=1.0, cycle_start=0,
          init=None, time_limit=0, refs_per_scene=1, number_sigma=0.0, objects=(2, 7)):
    """Train; returns the model and the list of (step, task, loss, parts). `fixed_seeds` (list) trains
    on the same scenes every step (smoke test). `cycle_start` restarts the warm-up + cosine schedule at
    that step (a new cycle on a resumed checkpoint). `time_limit` (seconds, 0 = none): after the
    step that reaches it, the checkpoint is written and training stops (resume continues). `init`: a model file (export) whose weights start
    the run at step 0 with a fresh optimiser; its config must be `cfg`. `objects`: the scenes'
    object counts, (min, max) for every task or a dict task -> (min, max) with "*" for the others
    (parse_objects; fewer objects: a curriculum stage)."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if init and resume:
        raise ValueError("init and resume exclude each other (a checkpoint holds the weights)")
    torch.manual_seed(seed)
    model = init_weights(UfoViT(cfg), seed)
    if init:
        src, meta = load_model_file(init)
        # src.cfg: an own-vocabulary file is held with BERT's vocabulary size (load_model_file)
        if dataclasses.replace(src.cfg, tasks=cfg.tasks).to_json() != cfg.to_json():
            raise ValueError(f"{init}: its config is not the preset's (pick the --preset it was trained with)")
        if src.cfg.to_json() != cfg.to_json():  # same network, other task settings (e.g. bins)
            log(f"{init}: same network, task settings of the preset")
        model.load_state_dict(src.state_dict(), strict=True)
        del src
    model = model.to(device).train()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "rel_pos" not in n]
    other = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "rel_pos" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": other, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.999))
    start = 0
    if resume:
        ck = torch.load(resume, map_location=device, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        start = ck["step"]
    if cycle_start > start:  # its steps before the cycle would get a negative learning rate
        raise ValueError(f"cycle_start {cycle_start} is after the first step of this run ({start}, "
                         "the checkpoint's step): pass at most that")
    tasks = parse_mix(mix)
    vocab = target_vocabulary(cfg).to(device) if loss_vocab == "targets" else None
    gen = torch.Generator().manual_seed(seed * 1000003 + start)  # a resumed run draws afresh
    size = cfg.tasks["detection"].input_size
    history = []
    os.makedirs(out, exist_ok=True)

    def seeds_of(step):
        if fixed_seeds is not None:
            return list(fixed_seeds)
        # train seeds walk through the split without repetition
        return scenes.split_seeds("train", batch, (step * batch) % (scenes.TEST_SEED0 - batch))

    per_task = objects if isinstance(objects, dict) else {"*": tuple(objects)}
    loader = SceneLoader(seeds_of, start, steps, size, workers,
                         lambda step: per_task.get(tasks[step % len(tasks)], per_task.get("*", (2, 7))))
    t0 = time.time()
    for step in range(start, steps):
        task = tasks[step % len(tasks)]
        data = loader.next()
        for g in opt.param_groups:
            g["lr"] = lr_at(step - cycle_start, steps - cycle_start, lr, warmup)
        with autocast(device, cpu_bf16):
            loss, parts = task_loss(model, task, data, device, gen, per_win, vocab=vocab,
                                    class_weight=class_weight, refs_per_scene=refs_per_scene,
                                    number_sigma=number_sigma)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss = loss.detach()
        history.append((step, task, float(loss), parts))
        if log_every and (step % log_every == 0 or step == steps - 1):
            log(json.dumps({"step": step, "task": task, "loss": round(float(loss), 4),
                            **{k: round(v, 4) for k, v in parts.items()},
                            "lr": opt.param_groups[0]["lr"], "s": round(time.time() - t0, 1)}))
        out_of_time = time_limit and time.time() - t0 >= time_limit
        if (ckpt_every or out_of_time) and (out_of_time or (step + 1) % max(ckpt_every, 1) == 0 or
                                            step == steps - 1):
            path = os.path.join(out, "checkpoint.pth")
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step + 1,
                        "config": cfg.to_json()}, path + ".tmp")
            os.replace(path + ".tmp", path)  # a run stopped while saving keeps the last one
        if out_of_time:
            log(json.dumps({"stopped": "time limit", "step": step + 1, "s": round(time.time() - t0, 1)}))
            break
    loader.close()
    return model, history


def main():
    ap = argparse.ArgumentParser(description="train the demo UFO-ViT model on procedural scenes")
    ap.add_argument("--preset", default="demo", choices=sorted(PRESETS))
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--tasks", default=DEFAULT_MIX, help="task:weight,... (round robin)")
    ap.add_argument("--grids-per-window", type=int, default=10)
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    ap.add_argument("--workers", type=int, default=-1, help="scene processes (-1: 6 on GPU, 0 on CPU)")
    ap.add_argument("--out", default="runs/demo")
    ap.add_argument("--resume", default=None)
    ap.add_argument("--export-vocab", default="own", choices=["own", "bert"],
                    help="the exported file's vocabulary: the model's own (own_vocabulary) or BERT's")
    ap.add_argument("--time-limit", type=float, default=0,
                    help="seconds: stop after the step that reaches it, with a checkpoint (0: none)")
    ap.add_argument("--init", default=None, metavar="MODEL.safetensors",
                    help="start at step 0 from a model file's weights (F16 export) with a fresh optimiser")
    ap.add_argument("--export", default="models/ufo-demo.safetensors")
    ap.add_argument("--overfit", type=int, default=0,
                    help="train on the first N train scenes only, every step (a check of the whole chain)")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast on the CPU too")
    ap.add_argument("--loss-vocab", default="full", choices=["full", "targets"],
                    help="score the logits over the whole vocabulary or over target_vocabulary()")
    ap.add_argument("--class-weight", type=float, default=1.0,
                    help="loss weight of the first target token of grid sequences (class / background)")
    ap.add_argument("--refs-per-scene", type=int, default=1,
                    help="grounding: up to N distinct expressions of each scene per step, each a sample")
    ap.add_argument("--number-sigma", type=float, default=0.0,
                    help="grounding: soft targets for the box values, a Gaussian of this many bins (0: one-hot)")
    ap.add_argument("--objects", default="2-7", metavar="MIN-MAX[,TASK=MIN-MAX...]",
                    help="objects per scene, for every task and per task (the held-out scenes have 2-7; "
                         "fewer: a curriculum stage, e.g. 2-7,grounding=1-1)")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--ckpt-every", type=int, default=1000)
    ap.add_argument("--cycle-start", type=int, default=0,
                    help="step where the warm-up + cosine lr cycle starts (a new cycle on --resume)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = PRESETS[a.preset]()
    dev = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    workers = a.workers if a.workers >= 0 else (6 if dev.startswith("cuda") else 0)
    model, _ = train(cfg, a.steps, a.out, a.batch, a.lr, warmup=a.warmup, mix=a.tasks, device=dev,
                     per_win=a.grids_per_window, ckpt_every=a.ckpt_every, log_every=a.log_every,
                     resume=a.resume, workers=workers, cpu_bf16=a.bf16, loss_vocab=a.loss_vocab,
                     class_weight=a.class_weight, cycle_start=a.cycle_start, init=a.init,
                     time_limit=a.time_limit, refs_per_scene=a.refs_per_scene, number_sigma=a.number_sigma,
                     objects=parse_objects(a.objects),
                     fixed_seeds=scenes.split_seeds("train", a.overfit) if a.overfit else None)
    rows = own_vocabulary(cfg) if a.export_vocab == "own" else None
    path = export(model.float(), a.export, vocab_rows=rows)
    print(f"exported {path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
