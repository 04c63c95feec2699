"""End-to-end reference inference: preprocessing (inference §3, seg §2.1/§3.1), prompts (§4),
the passes of ufo_model, decoding (ufo_decode) and post-processing (ufo_post).

`run(model, task, images_bgr, ...)` handles B >= 1 images at once (§8.28).
"""

import contextlib
import os
import sys
import time

import cv2
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ufo_decode  # noqa: E402
import ufo_post  # noqa: E402
import ufo_tokenizer  # noqa: E402
from ufo_model import grid_layout, resize_pos_embed  # noqa: E402


def synthetic_image(w, h):
    """RGB uint8 (h, w, 3): (x*(3+c) + y*(5+2c) + ((x*y) >> 4) + 85c) mod 256 (notes/configs)."""
    y, x = np.meshgrid(np.arange(h, dtype=np.int64), np.arange(w, dtype=np.int64), indexing="ij")
    ch = [(x * (3 + c) + y * (5 + 2 * c) + ((x * y) >> 4) + 85 * c) % 256 for c in range(3)]
    return np.stack(ch, -1).astype(np.uint8)


def preprocess(bgr, cfg, task):
    """BGR uint8 (H0, W0, 3) -> (normalised (3, S, S) float32 tensor, scale (sx, sy), (H0, W0))."""
    tc = cfg.tasks[task]
    S = tc.input_size
    H0, W0 = bgr.shape[:2]
    if tc.resize == "bicubic":
        # PIL BICUBIC on the uint8 BGR array (per channel, so BGR is harmless; §3.1)
        img = np.asarray(Image.fromarray(bgr).resize((S, S), Image.BICUBIC))
    elif tc.resize_float:
        img = cv2.resize(bgr.astype(np.float32), (S, S), interpolation=cv2.INTER_LINEAR)  # seg §2.1
    else:
        img = cv2.resize(bgr, (S, S), interpolation=cv2.INTER_LINEAR)  # uint8 fixed point (§8.9)
    rgb = img[:, :, ::-1].astype(np.float32)  # BGR -> RGB before normalising (§3.2)
    mean = np.asarray(cfg.pixel_mean, dtype=np.float32)
    std = np.asarray(cfg.pixel_std, dtype=np.float32)
    x = (rgb - mean) / std
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))), (S / W0, S / H0), (H0, W0)


def prompt_for(task, cfg, text=None):
    tc = cfg.tasks[task]
    if task == "detection":
        return ufo_tokenizer.detection_prompt(tc.num_bins, ufo_tokenizer.load_labels(tc.label_set))
    if task == "grounding":
        if not text:
            raise ValueError("grounding needs a referring expression (--prompt)")
        return ufo_tokenizer.grounding_prompt(text)
    if task == "caption":
        return ufo_tokenizer.caption_prompt()
    if task == "instance":
        return ufo_tokenizer.instance_prompt(ufo_tokenizer.load_labels(tc.label_set))
    if task == "semantic":
        return ufo_tokenizer.semantic_prompt(ufo_tokenizer.load_labels(tc.label_set))
    raise ValueError(f"unknown task {task}")


def tokenize(prompts, model=None):
    """inference §4.3: padding='longest', drop the LAST column, mask [PAD] and any [SEP] left.
    A model with its own vocabulary tokenizes with it; the ids are then mapped to BERT ids."""
    own = model is not None and getattr(model, "own_tokenizer", None) is not None
    tok = model.own_tokenizer if own else ufo_tokenizer.default_tokenizer()
    enc = tok(list(prompts), padding="longest", truncation=True, max_length=512, return_tensors="pt")
    ids = enc["input_ids"][:, :-1].long()
    if own:
        ids = model.own_rows[ids]
    mask = ~enc["attention_mask"].bool()[:, :-1]
    mask[ids == ufo_decode.SEP] = True
    return ids, mask


class Timer:
    def __init__(self, sync):
        self.ms, self.sync = {}, sync

    @contextlib.contextmanager
    def __call__(self, name):
        self.sync()
        t0 = time.perf_counter()
        yield
        self.sync()
        self.ms[name] = self.ms.get(name, 0.0) + 1e3 * (time.perf_counter() - t0)


def _autocast(device):
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)  # inference §8.1
    return contextlib.nullcontext()


@torch.no_grad()
def run(model, task, images_bgr, texts=None, plan=None, margin=None, beam_size=None, rec=None,
        rec_rows=None, logit_stride=8, feat_stride=1, temperature=None, length_penalty=None,
        instance_boxes="region", decode_on_device=False):
    """Run `task` on a list of BGR uint8 images (one prompt text per image for grounding).

    beam_size / temperature / length_penalty: None = the task's config (inference §1.2).
    instance_boxes: "region" (largest connected region of each mask) or "mask" (mask2bbox).
    decode_on_device: greedy decoding selects on the model's device (logits never leave it; the
    decoded ids, probabilities and features are read back once at the end), as the original
    code runs on a GPU; the default reads every step's logits back (the fixtures' recorder needs
    them on the host). Same results either way (tests/reference/test_decode.py).

    Returns (results per image, raw dict with decoded ids/probs, timings in ms)."""
    cfg = model.cfg
    tc = cfg.tasks[task]
    dev = next(model.parameters()).device
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    tm = Timer(sync)
    B = len(images_bgr)
    with tm("preprocess"):
        pre = [preprocess(im, cfg, task) for im in images_bgr]
        img = torch.stack([p[0] for p in pre]).to(dev)
        prompts = [prompt_for(task, cfg, texts[b] if texts else None) for b in range(B)]
        ids, mask = tokenize(prompts, model)
        ids, mask = ids.to(dev), mask.to(dev)
    if rec is not None:
        rec["prompt.ids"], rec["prompt.mask"] = ids.cpu(), mask.cpu()
    raw = {}
    with _autocast(dev):
        with tm("text"):
            text_kv = model.text_forward(ids, mask, rec)
        S = tc.input_size
        ws = cfg.window_size
        Hp = Wp = S // cfg.patch_size
        grid = tc.grid_per_window > 0
        with tm("image"):
            x0 = model.patch_forward(img)
            if rec is not None:
                rec["image.patch"] = x0.clone()
            ref = win = gpos = None
            if grid:
                ref, win, (gh, gw) = grid_layout(Hp, Wp, ws, tc.grid_per_window)
                ref, win = ref.to(dev), win.to(dev)
                # grid table resized from the ORIGINAL table (§5.5)
                gpos = resize_pos_embed(model.backbone.pos_embed, (gh, gw)).reshape(gh * gw, -1)
            img_kv, feats, fmap = model.img_forward(x0, text_kv, mask, ref, rec)
        if rec is not None:
            rec["image.mean"] = fmap.clone()
        Q = 1
        with tm("grid"):
            if grid:
                nw = ((Hp + ws - 1) // ws) * ((Wp + ws - 1) // ws)
                Q = ref.shape[0]
                grid_kv = model.grid_forward(gpos, feats, img_kv, win, nw, rec)
                if rec is not None:
                    rec["grid.pos"] = gpos.clone()
                    rec["grid.feats"] = feats
                    rec["grid.ref"] = ref.clone()
                caches = list(grid_kv)
                skip_global = True  # global_only_image (§5.6)
            else:
                nw = ((Hp + ws - 1) // ws) * ((Wp + ws - 1) // ws)
                if nw != 1:
                    raise ValueError(f"{task}: decoding over image caches needs a single window")
                caches = list(img_kv)  # decode tokens see all image K/V (§6.1)
                skip_global = False
        N = B * Q
        K = beam_size if beam_size is not None else tc.beam_size
        state = {"caches": [None if c is None else (c[0], c[1]) for c in caches]}
        if K > 1:
            rep = torch.arange(N, device=dev).repeat_interleave(K)
            state["caches"] = [None if c is None else (c[0][rep], c[1][rep]) for c in state["caches"]]

        on_dev = decode_on_device and K == 1 and rec is None

        def step(tokens, t):
            logits, feat, new = model.decode_step(tokens.to(dev), state["caches"], t, skip_global)
            state["caches"] = new
            if on_dev:
                return logits.float(), feat.float()
            return logits.float().cpu(), feat.float().cpu()

        def reorder(src):
            s = src.to(dev)
            state["caches"] = [None if c is None else (c[0][s], c[1][s]) for c in state["caches"]]

        recorder = None
        if rec is not None:
            rows = rec_rows if rec_rows is not None else list(range(N * K))
            recorder = ufo_decode.StepRecorder(rows, logit_stride, feat_stride)
        with tm("decode"):
            if K == 1 and on_dev:
                out_ids, out_prob, out_feat = ufo_decode.greedy(
                    step, N, tc.max_length, None if plan is None else plan.to(dev),
                    None if margin is None else margin.to(dev), None, dev)
                out_ids, out_prob, out_feat = out_ids.cpu(), out_prob.cpu(), out_feat.cpu()
            elif K == 1:
                out_ids, out_prob, out_feat = ufo_decode.greedy(step, N, tc.max_length, plan, margin, recorder)
            else:
                tau = temperature if temperature is not None else tc.temperature
                alpha = length_penalty if length_penalty is not None else tc.alpha
                res = ufo_decode.beam_search(step, reorder, N, K, tc.max_length, tau, alpha,
                                             plan, margin, recorder)
                T = max(1, max(len(r[0]) for r in res))
                C = cfg.embed_dim
                out_ids = torch.zeros(N, T, dtype=torch.long)  # padded with 0 (§6.3)
                out_prob = torch.zeros(N, T)
                out_feat = torch.zeros(N, T, C)
                for r, (a, p, f) in enumerate(res):
                    out_ids[r, : len(a)] = a
                    out_prob[r, : len(a)] = p
                    if len(a):
                        out_feat[r, : len(a)] = f
        if recorder is not None:
            rec["decode.steps"] = recorder.steps
            rec["decode.rows"] = recorder.rows
    raw.update(ids=out_ids, prob=out_prob)
    with tm("post"):
        results = []
        tok = ufo_tokenizer.default_tokenizer()
        for b in range(B):
            _, scale, ori = pre[b]
            rows = slice(b * Q, (b + 1) * Q)
            texts_b = [ufo_tokenizer.decode(r.tolist(), tok=tok) for r in out_ids[rows]]
            prob0 = out_prob[rows, 0].numpy()
            if task == "detection":
                labels = ufo_tokenizer.load_labels(tc.label_set)
                r = ufo_post.detection(texts_b, prob0, ref.cpu().numpy(), labels, tc.num_bins, (S, S), scale,
                                       tc.max_per_img, tc.nms_iou, tc.nms_min_score)
            elif task == "grounding":
                r = {"box": ufo_post.grounding(texts_b[0], tc.num_bins, (S, S), scale), "text": texts_b[0]}
            elif task == "caption":
                r = {"caption": texts_b[0]}
            else:
                labels = ufo_tokenizer.load_labels(tc.label_set)
                parsed = ufo_post.seg_parse(texts_b, out_ids[rows].numpy(), prob0, labels, task == "instance")
                fm = fmap[b].float().cpu()
                if task == "instance":
                    r = ufo_post.instance(parsed, out_feat[rows], prob0, fm, ori, tc.nms_sigma, tc.nms_filter,
                                          instance_boxes)
                else:
                    r = {"map": ufo_post.semantic(parsed, out_feat[rows], prob0, fm, ori, len(labels))}
                r["valid_grids"] = [p[0] for p in parsed]
            results.append(r)
    return results, raw, tm.ms
