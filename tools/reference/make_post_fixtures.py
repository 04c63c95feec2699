#!/usr/bin/env python3
"""Golden fixtures for the preprocessing / decoding / post-processing tests (tests/engine/tasks,
tests/engine/decode). Regenerate with:  python3 tools/reference/make_post_fixtures.py
Every expected value comes from an independent implementation: the real cv2 / PIL resizers,
torch.nn.functional.interpolate, numpy ports of mmcv's softnms_cpu and mmdet's mask_matrix_nms,
and a port of the original beam_search.  Files: tests/data/post/*.json (magic + version)."""
import hashlib
import json
import math
import os
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tests', 'data', 'post')
MAGIC = 'ufo-post-fixtures'
VERSION = 1


def save(name, payload):
    payload = dict(magic=MAGIC, version=VERSION,
                   generator='tools/reference/make_post_fixtures.py', **payload)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump(payload, f, separators=(',', ':'))
    print('wrote', name)


def noise_image(w, h):
    """(h, w, 3) uint8 hash noise; same formula in tests/engine/tasks/test_preprocess.c."""
    x = np.arange(w, dtype=np.uint64)[None, :, None]
    y = np.arange(h, dtype=np.uint64)[:, None, None]
    c = np.arange(3, dtype=np.uint64)[None, None, :]
    m = np.uint64(0xFFFFFFFF)
    v = ((x * np.uint64(73856093)) & m) ^ ((y * np.uint64(19349663)) & m) ^ ((c * np.uint64(83492791)) & m)
    v = (v * np.uint64(2654435761)) & m
    return (v >> np.uint64(24)).astype(np.uint8)


def synthetic_image(w, h):
    """docs: SYNTHETIC TEST IMAGE, RGB uint8."""
    x = np.arange(w, dtype=np.int64)[None, :, None]
    y = np.arange(h, dtype=np.int64)[:, None, None]
    c = np.arange(3, dtype=np.int64)[None, None, :]
    v = (x * (3 + c) + y * (5 + 2 * c) + ((x * y) >> 4) + 85 * c) % 256
    return v.astype(np.uint8)


def sample_of(arr, limit=1024):
    flat = arr.reshape(-1)
    step = max(1, (flat.size + limit - 1) // limit)
    return step, flat[::step]


def make_preprocess():
    import cv2
    from PIL import Image
    cases = []
    sizes = [(640, 480, 1120, 1120), (640, 480, 224, 224), (1920, 1080, 672, 672), (7, 5, 13, 9),
             (13, 9, 5, 3), (1, 1, 4, 4), (1, 1, 224, 224), (33, 17, 448, 448), (448, 448, 224, 224),
             (100, 80, 50, 40), (5, 300, 21, 7), (224, 224, 224, 224), (13, 27, 12, 23),
             (480, 640, 224, 224)]
    for (w, h, W, H) in sizes:
        for img_kind in ('noise', 'synthetic'):
            if img_kind == 'synthetic' and (w * h > 640 * 480 or w < 7):
                continue
            img = noise_image(w, h) if img_kind == 'noise' else synthetic_image(w, h)
            # the original feeds BGR to the resizers; per-channel filters, so feed BGR and flip back
            bgr = np.ascontiguousarray(img[..., ::-1])
            lin = cv2.resize(bgr, (W, H), interpolation=cv2.INTER_LINEAR)[..., ::-1]
            cub = np.array(Image.fromarray(bgr).resize((W, H), Image.BICUBIC))[..., ::-1]
            flt = cv2.resize(bgr.astype(np.float32), (W, H), interpolation=cv2.INTER_LINEAR)[..., ::-1]
            for kind, out in (('linear_u8', lin), ('bicubic_u8', cub), ('linear_f32', flt)):
                out = np.ascontiguousarray(out)
                step, samp = sample_of(out)
                case = dict(kind=kind, image=img_kind, w=w, h=h, dw=W, dh=H, step=step,
                            sha256=hashlib.sha256(out.tobytes()).hexdigest())
                if kind == 'linear_f32':
                    case['sample'] = [float(v) for v in samp]
                else:
                    case['sample'] = [int(v) for v in samp]
                cases.append(case)
    # full pipeline: resize then (x - mean) / std in float32, planar RGB (mmengine order)
    mean = np.array([123.675, 116.28, 103.53], np.float32)
    std = np.array([58.395, 57.12, 57.375], np.float32)
    full = []
    for (w, h, S, kind) in [(640, 480, 224, 'bilinear'), (37, 29, 224, 'bicubic'), (50, 40, 224, 'float')]:
        img = noise_image(w, h)
        bgr = np.ascontiguousarray(img[..., ::-1])
        if kind == 'bilinear':
            r = cv2.resize(bgr, (S, S), interpolation=cv2.INTER_LINEAR)
        elif kind == 'bicubic':
            r = np.array(Image.fromarray(bgr).resize((S, S), Image.BICUBIC))
        else:
            r = cv2.resize(bgr.astype(np.float32), (S, S), interpolation=cv2.INTER_LINEAR)
        x = r[..., ::-1].astype(np.float32)
        x = (x - mean) / std
        x = np.ascontiguousarray(x.transpose(2, 0, 1))
        step, samp = sample_of(x)
        full.append(dict(kind=kind, w=w, h=h, size=S, step=step, sample=[float(v) for v in samp]))
    save('preprocess.json', dict(cv2=cv2.__version__, pil=Image.__version__ if hasattr(Image, '__version__') else '',
                                 cases=cases, full=full))


# ----------------------------------------------------------------------------------------------
# Decoding: a toy language model shared with tests/engine/decode/toy_lm.c, and a port of the
# original beam search (BS beam_search / BeamHypotheses, inference spec §6.3) that keeps the dummy
# rows of finished sequences instead of compacting the batch.
TOY_V = 110
TOY_C = 4
M32 = 0xFFFFFFFF


class ToyLM:
    """Row state h (uint32) per cache row; a step mixes the input token into h, then
    logits[v] = frac-hash(h, v, t) * 8 - 4 (+ sep_bonus * t on [SEP])."""

    def __init__(self, n_seq, sep_bonus):
        self.h = [(1000 + 7 * s) & M32 for s in range(n_seq)]
        self.sep_bonus = sep_bonus

    def step(self, tokens, t):
        logits = np.zeros((len(tokens), TOY_V), np.float32)
        feats = np.zeros((len(tokens), TOY_C), np.float32)
        for i, tok in enumerate(tokens):
            h = (self.h[i] * 31 + int(tok) + 1) & M32
            self.h[i] = h
            for v in range(TOY_V):
                x = ((h * 2654435761 + v * 40503 + t * 9973) % 1000003) / 1000003.0 * 8.0 - 4.0
                if v == 102:
                    x += self.sep_bonus * t
                logits[i, v] = np.float32(x)
            for c in range(TOY_C):
                feats[i, c] = np.float32((h % 1000) / 1000.0 + c)
        return logits, feats

    def reorder(self, src):
        self.h = [self.h[i] for i in src]


class BeamHypotheses:
    def __init__(self, num_beams, length_penalty):
        self.num_beams = num_beams
        self.length_penalty = length_penalty
        self.beams = []
        self.worst_score = 1e9

    def __len__(self):
        return len(self.beams)

    def add(self, hyp, sum_logprobs, extra):
        score = sum_logprobs / len(hyp) ** self.length_penalty
        if len(self) < self.num_beams or score > self.worst_score:
            self.beams.append((score, hyp, extra))
            if len(self) > self.num_beams:
                sorted_scores = sorted([(s, idx) for idx, (s, _, _) in enumerate(self.beams)])
                del self.beams[sorted_scores[0][1]]
                self.worst_score = sorted_scores[1][0]
            else:
                self.worst_score = min(score, self.worst_score)

    def is_done(self, best_sum_logprobs, cur_len):
        if len(self) < self.num_beams:
            return False
        return self.worst_score >= best_sum_logprobs / cur_len ** self.length_penalty


def beam_search_ref(lm, n, K, max_length, temperature, alpha, plan=None, eos=102, pad=0):
    import torch
    V = TOY_V
    lm.reorder([b for b in range(n) for _ in range(K)])
    ids = torch.full((n * K, 1), 101, dtype=torch.long)
    cum = [[] for _ in range(n * K)]
    feats = [[] for _ in range(n * K)]
    beam_scores = torch.zeros((n, K), dtype=torch.float32)
    beam_scores[:, 1:] = -1e9
    beam_scores = beam_scores.view(-1)
    hyps = [BeamHypotheses(K, alpha) for _ in range(n)]
    done = [False] * n
    cur = 0
    while cur < max_length:
        logits, feat = lm.step(ids[:, -1].tolist(), cur)
        logits = torch.from_numpy(logits)
        if plan is not None:
            for r in range(n * K):
                tok = plan['tokens'][r // K][cur] if cur < len(plan['tokens'][0]) else -1
                if tok >= 0:
                    logits[r, tok] = logits[r].max() + plan['margin'][r // K]
        scores = torch.log_softmax(logits / temperature, dim=-1)
        scores = scores + beam_scores[:, None].expand_as(scores)
        scores = scores.view(n, K * V)
        # topk with ties resolved towards the lower flat index (torch leaves it unspecified)
        next_scores, next_tokens = [], []
        for b in range(n):
            order = sorted(range(K * V), key=lambda i: (-float(scores[b, i]), i))[:2 * K]
            next_tokens.append(order)
            next_scores.append([float(scores[b, i]) for i in order])
        next_batch_beam = []
        for b in range(n):
            if done[b]:
                next_batch_beam.extend([(0, pad, 0)] * K)
                continue
            next_sent_beam = []
            for rank, (tid, ts) in enumerate(zip(next_tokens[b], next_scores[b])):
                beam_id, token_id = tid // V, tid % V
                eff = b * K + beam_id
                if token_id == eos:
                    if rank >= K:
                        continue
                    hyps[b].add(ids[eff].clone(), ts, (list(cum[eff]), list(feats[eff])))
                else:
                    next_sent_beam.append((ts, token_id, eff))
                if len(next_sent_beam) == K:
                    break
                done[b] = done[b] or hyps[b].is_done(max(next_scores[b]), cur)
            next_batch_beam.extend(next_sent_beam)
        if all(done):
            break
        beam_scores = torch.tensor([x[0] for x in next_batch_beam], dtype=torch.float32)
        beam_tokens = torch.tensor([x[1] for x in next_batch_beam], dtype=torch.long)
        beam_idx = [x[2] for x in next_batch_beam]
        ids = torch.cat([ids[beam_idx, :], beam_tokens[:, None]], dim=-1)
        cum = [cum[i] + [float(np.float32(beam_scores[r]))] for r, i in enumerate(beam_idx)]
        feats = [feats[i] + [feat[i].tolist()] for i in beam_idx]
        lm.reorder(beam_idx)
        cur += 1
    for b in range(n):
        if done[b]:
            continue
        for k in range(K):
            e = b * K + k
            hyps[b].add(ids[e], beam_scores[e].item(), (cum[e], feats[e]))
    out = []
    for b in range(n):
        best = sorted(hyps[b].beams, key=lambda x: x[0])[-1]
        toks = best[1].tolist()[1:]
        c = best[2][0]
        prob = [float(np.exp(np.float32(c[t] - (c[t - 1] if t else 0.0)))) for t in range(len(toks))]
        out.append(dict(ids=toks, score=best[0], prob=prob, feat=best[2][1]))
    return out


def cross_check_beam(res, n, K, T, tau, alpha, bonus, plan):
    """Same results from the PyTorch reference engineer's beam_search (tools/reference/
    ufo_decode.py, written independently), when present."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        import torch
        import ufo_decode
    except ImportError:
        return
    lm = ToyLM(n, bonus)
    lm.reorder([b for b in range(n) for _ in range(K)])

    def step(tokens, t):
        lg, ft = lm.step([int(v) for v in tokens], t)
        return torch.from_numpy(lg), torch.from_numpy(ft)

    pt = pm = None
    if plan is not None:
        pt = torch.tensor(plan['tokens'], dtype=torch.long)
        pm = torch.tensor(plan['margin'], dtype=torch.float32)
    out = ufo_decode.beam_search(step, lambda src: lm.reorder([int(v) for v in src]), n, K, T, tau,
                                 alpha, pt, pm)
    for b in range(n):
        assert [int(v) for v in out[b][0]] == res[b]['ids'], ('beam differs from ufo_decode', b)


def make_beam():
    cases = []
    for (n, K, T, tau, alpha, bonus, planned) in [(1, 2, 20, 1.0, 0.7, 0.35, False),
                                                 (3, 2, 12, 1.0, 0.7, 0.5, False),
                                                 (2, 3, 10, 0.7, 0.75, 0.6, False),
                                                 (4, 3, 8, 1.5, 10.0, 0.9, False),
                                                 (2, 2, 9, 1.0, 0.7, 0.0, True),
                                                 (5, 1, 7, 1.0, 1.0, 0.8, False)]:
        plan = None
        if planned:
            plan = dict(tokens=[[5, 7, -1, 9, 102, -1, -1, -1, -1], [-1, 3, 3, 3, -1, -1, 102, -1, -1]],
                        margin=[1.5, 0.25])
        if K == 1:
            continue
        res = beam_search_ref(ToyLM(n, bonus), n, K, T, tau, alpha, plan)
        cross_check_beam(res, n, K, T, tau, alpha, bonus, plan)
        cases.append(dict(n_seq=n, beam=K, max_length=T, temperature=tau, alpha=alpha,
                          sep_bonus=bonus, plan=plan, results=res))
    greedy = []
    try:  # greedy from the PyTorch reference engineer's ufo_decode (no compaction)
        import torch
        import ufo_decode
        for (n, T, bonus, planned) in [(7, 14, 0.45, False), (3, 6, 0.0, True), (5, 20, 0.2, False)]:
            lm = ToyLM(n, bonus)

            def step(tokens, t, lm=lm):
                lg, ft = lm.step([int(v) for v in tokens], t)
                return torch.from_numpy(lg), torch.from_numpy(ft)

            plan = None
            pt = pm = None
            if planned:
                plan = dict(tokens=[[5, 7, 102, -1], [-1, -1, -1, -1], [42, -1, 43, -1]],
                            margin=[2.0, 0.0, 0.5])
                pt = torch.tensor(plan['tokens']); pm = torch.tensor(plan['margin'])
            ids, prob, feat = ufo_decode.greedy(step, n, T, pt, pm)
            greedy.append(dict(n_seq=n, max_length=T, sep_bonus=bonus, plan=plan,
                               ids=ids.tolist(), prob=prob.tolist(), feat=feat.tolist()))
    except ImportError:
        pass
    save('beam.json', dict(vocab=TOY_V, feat_dim=TOY_C, cases=cases, greedy=greedy))


# ----------------------------------------------------------------------------------------------
# NMS: numpy float32 port of mmcv softnms_cpu (linear) + batched offsets, and mmdet
# mask_matrix_nms run in torch (float32).
f32 = np.float32


def softnms_cpu(boxes, scores, iou_threshold, min_score):
    x1, y1, x2, y2 = (boxes[:, k].astype(f32).copy() for k in range(4))
    sc = scores.astype(f32).copy()
    areas = ((x2 - x1) * (y2 - y1)).astype(f32)
    inds = np.arange(len(sc))
    n = len(sc)
    dets = []
    i = 0
    while i < n:
        mpos = i
        for pos in range(i + 1, n):
            if sc[mpos] < sc[pos]:
                mpos = pos
        for a in (x1, y1, x2, y2, sc, areas, inds):
            a[i], a[mpos] = a[mpos], a[i]
        dets.append(float(sc[i]))
        pos = i + 1
        while pos < n:
            xx1 = max(x1[i], x1[pos]); yy1 = max(y1[i], y1[pos])
            xx2 = min(x2[i], x2[pos]); yy2 = min(y2[i], y2[pos])
            w = max(f32(0), f32(xx2 - xx1)); h = max(f32(0), f32(yy2 - yy1))
            inter = f32(w * h)
            ovr = f32(inter / f32(f32(areas[i] + areas[pos]) - inter))
            if ovr >= f32(iou_threshold):
                sc[pos] = f32(sc[pos] * f32(f32(1) - ovr))
            if sc[pos] < f32(min_score):
                for a in (x1, y1, x2, y2, sc, areas, inds):
                    a[pos] = a[n - 1]
                n -= 1
                pos -= 1
            pos += 1
        i += 1
    return [int(v) for v in inds[:n]], dets[:n]


def batched_soft_nms(boxes, scores, labels, iou_threshold=0.5, min_score=1e-3):
    boxes = boxes.astype(f32)
    mx = boxes.max()
    offs = (labels.astype(f32) * f32(mx + f32(1))).astype(f32)
    return softnms_cpu((boxes + offs[:, None]).astype(f32), scores, iou_threshold, min_score)


def mask_matrix_nms_torch(masks, labels, scores, sigma=2.0, filter_thr=0.05):
    """mmdet mask_matrix_nms, gaussian kernel; stable sorts (torch.sort is not)."""
    import torch
    masks = torch.as_tensor(masks)
    labels = torch.as_tensor(labels)
    scores = torch.as_tensor(scores, dtype=torch.float32)
    mask_area = masks.sum((1, 2)).float()
    scores, sort_inds = torch.sort(scores, descending=True, stable=True)
    keep_inds = sort_inds
    masks = masks[sort_inds]; mask_area = mask_area[sort_inds]; labels = labels[sort_inds]
    n = len(labels)
    flat = masks.reshape(n, -1).float()
    inter = torch.mm(flat, flat.transpose(1, 0))
    ea = mask_area.expand(n, n)
    iou = (inter / (ea + ea.transpose(1, 0) - inter)).triu(diagonal=1)
    el = labels.expand(n, n)
    lm = (el == el.transpose(1, 0)).triu(diagonal=1)
    comp, _ = (iou * lm).max(0)
    comp = comp.expand(n, n).transpose(1, 0)
    decay_iou = iou * lm
    decay = torch.exp(-1 * sigma * (decay_iou ** 2))
    compm = torch.exp(-1 * sigma * (comp ** 2))
    coef, _ = (decay / compm).min(0)
    scores = scores * coef
    keep = scores >= filter_thr
    keep_inds = keep_inds[keep]
    scores = scores[keep]
    scores, si = torch.sort(scores, descending=True, stable=True)
    keep_inds = keep_inds[si]
    return [int(v) for v in keep_inds], [float(v) for v in scores]


def make_nms():
    rng = np.random.default_rng(7)
    soft = []
    for case in range(6):
        n = [12, 30, 40, 8, 25, 5][case]
        cx = rng.uniform(20, 300, n); cy = rng.uniform(20, 200, n)
        if case in (1, 2):  # clusters: many overlaps
            cx = rng.choice([60.0, 61.5, 200.0], n) + rng.normal(0, 3, n)
            cy = rng.choice([50.0, 52.0], n) + rng.normal(0, 3, n)
        w = rng.uniform(10, 80, n); h = rng.uniform(10, 80, n)
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1).astype(f32)
        scores = rng.uniform(0.0005, 1, n).astype(f32)
        if case in (2, 3):  # ties
            scores = rng.choice([0.9, 0.5, 0.5, 0.3, 0.0015], n).astype(f32)
        if case == 4:
            scores[:] = f32(0.002)
            scores[0] = f32(0.0009)  # the first selected may be below min_score
        labels = rng.integers(0, 3 if case != 5 else 1, n)
        if case == 5:  # identical boxes: iou 1 removes them all after the first
            boxes[:] = boxes[0]
        keep, dec = batched_soft_nms(boxes, scores, labels)
        soft.append(dict(boxes=[float(v) for v in boxes.reshape(-1)], scores=[float(v) for v in scores],
                         labels=[int(v) for v in labels], keep=keep, decayed=dec))
        try:  # cross-check with the PyTorch reference engineer's port, when present
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import ufo_post
            k2, d2 = ufo_post.batched_soft_nms(boxes, scores, labels, 0.5, 1e-3)
            assert [int(v) for v in k2] == keep, ('soft-NMS keep differs from ufo_post', case)
            assert np.allclose(np.asarray(d2, np.float64), dec, rtol=0, atol=0), case
        except ImportError:
            pass
    matrix = []
    for case in range(4):
        n, H, W = [10, 14, 6, 9][case], 13, 70
        yy, xx = np.mgrid[0:H, 0:W]
        masks = []
        for i in range(n):
            cy, cx = rng.uniform(0, H), rng.uniform(0, W)
            ry, rx = rng.uniform(2, 7), rng.uniform(5, 30)
            masks.append(((yy - cy) ** 2 / ry ** 2 + (xx - cx) ** 2 / rx ** 2) <= 1)
        masks = np.array(masks)
        masks[:, 0, 0] = True  # never empty
        if case == 2:
            masks[1] = masks[0]  # identical pair: IoU 1
        labels = rng.integers(0, 2 if case != 3 else 1, n)
        scores = rng.uniform(0.05, 1, n).astype(f32)
        if case == 1:
            scores[3] = scores[5]  # tie
        keep, sc = mask_matrix_nms_torch(masks, labels, scores)
        matrix.append(dict(h=H, w=W, masks=[[int(v) for v in m.reshape(-1)] for m in masks],
                           labels=[int(v) for v in labels], scores=[float(v) for v in scores],
                           keep=keep, kept_scores=sc))
    save('nms.json', dict(soft=soft, matrix=matrix))


# ----------------------------------------------------------------------------------------------
# Masks: torch interpolate / pixel shuffle / the full instance and semantic post-processing
SEG_LABELS = ['person', 'car', 'traffic light', 'dog']


def torch_mask_logits(E, Fm, Hp, Wp):
    import torch
    C = E.shape[1]
    S = torch.from_numpy(E) @ torch.from_numpy(Fm).T / math.sqrt(C)  # (16M, HW)
    M = S.shape[0] // 16
    U = S.view(M, 4, 4, Hp, Wp).permute(0, 3, 1, 4, 2).reshape(M, 4 * Hp, 4 * Wp)
    return U


def seg_reference(texts, ids, first_prob, feat, Fm, Hp, Wp, oh, ow, instance):
    import torch
    import torch.nn.functional as F
    order = sorted(range(len(texts)), key=lambda q: (-first_prob[q], q))
    valid = []
    for q in order:
        t = texts[q]
        head = t.split(',')[0]
        if head == 'background' or head not in SEG_LABELS or '<MASK>' not in t:
            continue
        pos = [i for i, v in enumerate(ids[q]) if v == 30524]
        if instance and len(pos) != 16:
            continue
        if not instance and len(pos) < 16:
            continue
        valid.append((q, SEG_LABELS.index(head), feat[q][pos[:16]]))
    if not valid:
        return None
    E = np.concatenate([v[2] for v in valid]).astype(f32)
    U = torch_mask_logits(E, Fm, Hp, Wp)
    P = torch.sigmoid(F.interpolate(U[None], size=(oh, ow), mode='bilinear', align_corners=False)[0])
    if not instance:
        L = torch.zeros(len(SEG_LABELS), oh, ow)
        for m, (q, lab, _) in enumerate(valid):
            L[lab] += first_prob[q] * P[m]
        return dict(labels=[int(v) for v in L.argmax(0).reshape(-1)])
    keep, scores, labels, masks, qs = [], [], [], [], []
    for m, (q, lab, _) in enumerate(valid):
        fg = P[m] > 0.5
        if not fg.any():
            continue
        scores.append(float(np.float32(first_prob[q]) * np.float32(P[m][fg].double().mean())))
        labels.append(lab); masks.append(fg.numpy()); qs.append(m)
    if not masks:
        return dict(objects=[])
    k, sc = mask_matrix_nms_torch(np.array(masks), np.array(labels), np.array(scores, f32))
    objs = []
    for i, s in zip(k, sc):
        ys, xs = np.nonzero(masks[i])
        x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
        crop = P[qs[i]][y0:y1, x0:x1]
        objs.append(dict(label=labels[i], score=s, box=[x0, y0, x1, y1],
                         prob_sum=float(crop.double().sum()), prob_first=float(crop[0, 0])))
    return dict(objects=objs)


def make_masks():
    import torch
    import torch.nn.functional as F
    rng = np.random.default_rng(11)
    bil = []
    for (ih, iw, oh, ow) in [(12, 10, 37, 23), (8, 8, 5, 3), (28, 28, 61, 47), (1, 1, 3, 2), (20, 12, 20, 12),
                             (7, 9, 64, 3)]:
        x = rng.normal(0, 5, (ih, iw)).astype(f32)
        y = F.interpolate(torch.from_numpy(x)[None, None], size=(oh, ow), mode='bilinear',
                          align_corners=False)[0, 0].numpy()
        bil.append(dict(ih=ih, iw=iw, oh=oh, ow=ow, x=[float(v) for v in x.reshape(-1)],
                        y=[float(v) for v in y.reshape(-1)]))
    Hp, Wp, C = 3, 2, 8
    E = rng.normal(0, 1, (16, C)).astype(f32)
    Fm = rng.normal(0, 1, (Hp * Wp, C)).astype(f32)
    U = torch_mask_logits(E, Fm, Hp, Wp)[0].numpy()
    shuffle = dict(Hp=Hp, Wp=Wp, C=C, E=[float(v) for v in E.reshape(-1)],
                   F=[float(v) for v in Fm.reshape(-1)], U=[float(v) for v in U.reshape(-1)])
    sig = [(float(x), float(torch.sigmoid(torch.tensor(x, dtype=torch.float32))))
           for x in (-120.0, -100.0, -89.0, -88.0, -87.0, -20.0, -1.0, 0.0, 1e-7, 3.0, 30.0, 100.0)]
    # end-to-end segmentation on a few hand-written grids
    Hp, Wp, C, T = 4, 5, 16, 22
    M16 = [30524] * 16
    grids = [  # (text, ids)
        ('person, ' + ' '.join(['<MASK>'] * 16), [2711, 1010] + M16 + [102]),
        ('car, ' + ' '.join(['<MASK>'] * 16), [2482, 1010] + M16 + [102]),
        ('background', [4281, 102]),
        ('person, ' + ' '.join(['<MASK>'] * 16), [2711, 1010] + M16 + [102]),
        ('traffic light, ' + ' '.join(['<MASK>'] * 15), [4026, 2422, 1010] + [30524] * 15 + [102]),
        ('dog, ' + ' '.join(['<MASK>'] * 17), [3899, 1010] + [30524] * 17 + [102]),
        ('cat, ' + ' '.join(['<MASK>'] * 16), [4937, 1010] + M16 + [102]),
        ('car, ' + ' '.join(['<MASK>'] * 16), [2482, 1010] + M16 + [102]),
        ('traffic light, ' + ' '.join(['<MASK>'] * 16), [4026, 2422, 1010] + M16 + [102]),
        ('person', [2711, 102]),
        ('dog,' + ' '.join(['<MASK>'] * 16), [3899, 1010] + M16 + [102]),
    ]
    n = len(grids)
    ids = np.zeros((n, T), np.int64)
    for q, (_, gi) in enumerate(grids):
        ids[q, :len(gi)] = gi
        ids[q, len(gi):] = 102
    first_prob = rng.uniform(0.2, 0.99, n).astype(f32)
    first_prob[7] = first_prob[1]  # tie in the first-token order
    feat = rng.normal(0, 1, (n, T, C)).astype(f32)
    Fm = rng.normal(0, 1, (Hp * Wp, C)).astype(f32)
    # a spatial ramp in channel 0 and a per-grid weight on it: masks cover part of the image
    yy, xx = np.mgrid[0:Hp, 0:Wp]
    Fm[:, 0] = (6.0 * ((xx + 0.7 * yy) / (Wp + 0.7 * Hp) - 0.45)).reshape(-1)
    feat[:, :, 0] = rng.normal(0, 3.0, (n, 1)).astype(f32)
    seg = []
    for (oh, ow) in [(37, 29), (9, 70)]:
        ins = seg_reference([g[0] for g in grids], ids, first_prob, feat, Fm, Hp, Wp, oh, ow, True)
        sem = seg_reference([g[0] for g in grids], ids, first_prob, feat, Fm, Hp, Wp, oh, ow, False)
        seg.append(dict(oh=oh, ow=ow, instance=ins, semantic=sem))
        try:  # cross-check with the PyTorch reference engineer's post-processing, when present
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import ufo_post
            texts = [g[0] for g in grids]
            fmap = torch.from_numpy(Fm).reshape(Hp, Wp, C)
            tf = torch.from_numpy(feat)
            r = ufo_post.instance(ufo_post.seg_parse(texts, ids, first_prob, SEG_LABELS, True), tf,
                                  first_prob, fmap, (oh, ow), 2.0, 0.05)
            assert [int(v) for v in r['labels']] == [o['label'] for o in ins['objects']]
            assert np.allclose(r['scores'], [o['score'] for o in ins['objects']], rtol=1e-6)
            lab = ufo_post.semantic(ufo_post.seg_parse(texts, ids, first_prob, SEG_LABELS, False),
                                    tf, first_prob, fmap, (oh, ow), len(SEG_LABELS))
            assert [int(v) for v in lab.reshape(-1)] == sem['labels']
        except ImportError:
            pass
    seg_in = dict(Hp=Hp, Wp=Wp, C=C, T=T, labels=SEG_LABELS, texts=[g[0] for g in grids],
                  ids=[int(v) for v in ids.reshape(-1)], first_prob=[float(v) for v in first_prob],
                  feat=[float(v) for v in feat.reshape(-1)], F=[float(v) for v in Fm.reshape(-1)],
                  outputs=seg)
    save('masks.json', dict(bilinear=bil, shuffle=shuffle, sigmoid=sig, seg=seg_in,
                            torch=torch.__version__))


# ----------------------------------------------------------------------------------------------
# Prompts: strings from the PyTorch reference's prompt builders (tools/reference/ufo_tokenizer.py,
# written from the spec by another engineer) and ids from the configured HF tokenizer.
def make_prompts():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import ufo_tokenizer as ut
    coco, ade = ut.load_labels('coco'), ut.load_labels('ade20k')
    cases = [dict(task='detection', labels='coco', num_bins=2240, prompt=ut.detection_prompt(2240, coco)),
             dict(task='detection', labels='coco', num_bins=896, prompt=ut.detection_prompt(896, coco)),
             dict(task='instance', labels='coco', num_bins=0, prompt=ut.instance_prompt(coco)),
             dict(task='semantic', labels='ade20k', num_bins=0, prompt=ut.semantic_prompt(ade)),
             dict(task='caption', labels='', num_bins=0, prompt=ut.caption_prompt())]
    for text in ['The man in the RED shirt!', '  left  zebra,   next to the tree.  ', 'a\tdog',
                 'person [SEP] on the right', "Don't go -- there's the_cat's (toy)", 'Café ÉLAN  x',
                 'a\t\tb']:
        cases.append(dict(task='grounding', labels='', num_bins=0, text=text,
                          prompt=ut.grounding_prompt(text)))
    for c in cases:
        ids = ut.encode(c['prompt'])
        c['ids'] = ids[:-1]  # inference §4.3: drop the last column
    decode = []
    for text in ['car,112,2240,10,20', 'traffic light, 1 2, 3 4 ,5,6', 'person, <MASK> <MASK>',
                 'a man riding a horse.', 'background']:
        ids = ut.encode(text)[1:-1] + [102, 0, 0]
        decode.append(dict(ids=ids, text=ut.decode(ids)))
    save('prompts.json', dict(cases=cases, decode=decode))


# ----------------------------------------------------------------------------------------------
# Detection end to end on random texts: expected values from the PyTorch reference engineer's
# post-processing (tools/reference/ufo_post.py), an implementation independent of the C code.
def make_detection():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import ufo_post
    rng = np.random.default_rng(3)
    classes = ['person', 'bicycle', 'car', 'traffic light']
    cases = []
    for (n, ow, oh, max_per_img) in [(200, 640, 480, 100), (120, 1920, 1080, 30), (60, 300, 900, 100)]:
        texts = []
        for q in range(n):
            k = rng.integers(0, 10)
            c = classes[rng.integers(0, 4)]
            v = rng.integers(0, 2240, 4)
            v[2:] = rng.integers(40, 700, 2)
            if k == 0:
                texts.append('background')
            elif k == 1:
                texts.append(f'cat, {v[0]}, {v[1]}, {v[2]}, {v[3]}')
            elif k == 2:
                texts.append(f'{c}, {v[0]}, {v[1]}, {v[2]};{v[3]}')
            elif k == 3:
                s = str(v[0])
                texts.append(f'{c}, {s[:1]} {s[1:]}, {v[1]}, {v[2]}, {v[3]}, 7')
            else:
                texts.append(f'{c}, {v[0]}, {v[1]}, {v[2]}, {v[3]}')
        prob = rng.choice(np.linspace(0.05, 0.95, 40).astype(f32), n).astype(f32)
        refs = ((np.stack(np.meshgrid(np.arange(25), np.arange(25)), -1).reshape(-1, 2) + 0.5) / 25)
        refs = refs[rng.permutation(625)[:n]].astype(f32)
        scale = (np.float32(1120 / ow), np.float32(1120 / oh))
        r = ufo_post.detection(texts, prob, refs, classes, 2240, (1120, 1120), scale, max_per_img,
                               0.5, 1e-3)
        cases.append(dict(texts=texts, prob=[float(v) for v in prob],
                          refs=[float(v) for v in refs.reshape(-1)], ow=ow, oh=oh,
                          max_per_img=max_per_img,
                          boxes=[float(v) for v in np.asarray(r['boxes']).reshape(-1)],
                          labels=[int(v) for v in r['labels']],
                          scores=[float(v) for v in r['scores']]))
    save('detection.json', dict(labels=classes, cases=cases))


if __name__ == '__main__':
    which = sys.argv[1:] or ['preprocess', 'nms', 'masks', 'beam', 'prompts', 'detection']
    for name in which:
        fn = globals().get('make_' + name)
        if fn:
            fn()
