"""One decode step written out per token and head (inference §6.1): embeddings at position t,
prefix K/V + own K/V, mean over the mean layers, tied logits; global layers skipped for
detection."""

import math

import numpy as np
import torch
import torch.nn.functional as F

import ufo_model
import ufo_pipeline


def naive_decode(m, tok, t, prefix, skip_global):
    """prefix[l] = (K (nh, P, d), V) for one row, or None; returns logits, feature."""
    bb, cfg = m.backbone, m.cfg
    C = cfg.embed_dim
    nh, d = cfg.num_heads, cfg.head_dim
    e = bb.embed
    x = F.layer_norm(e.word_embeddings.weight[tok] + e.position_embeddings.weight[t], (C,),
                     e.LayerNorm.weight, e.LayerNorm.bias, cfg.text_ln_eps)
    acc, n_mean = torch.zeros(C), 0
    for i, L in enumerate(bb.layers):
        if skip_global and i in cfg.global_layers:
            continue
        y = F.layer_norm(x, (C,), L.ln1.weight, L.ln1.bias, cfg.ln_eps)
        qkv = L.attn.qkv.weight @ y + L.attn.qkv.bias
        q, k, v = qkv[:C], qkv[C : 2 * C], qkv[2 * C :]
        out = []
        for h in range(nh):
            sl = slice(h * d, h * d + d)
            K = torch.cat([prefix[i][0][h], k[sl][None]])
            V = torch.cat([prefix[i][1][h], v[sl][None]])
            p = torch.softmax(K @ q[sl] / math.sqrt(d), 0)
            out.append(p @ V)
        hres = x + L.attn.proj.weight @ torch.cat(out) + L.attn.proj.bias
        x = hres + L.ffn(F.layer_norm(hres, (C,), L.ln2.weight, L.ln2.bias, cfg.ln_eps))
        if i in cfg.mean_layers:
            acc = acc + x
            n_mean += 1
    feat = acc / n_mean  # the mean layers that ran (inference §6.1)
    return bb.embed.word_embeddings.weight @ feat, feat


def passes(m, task):
    cfg = m.cfg
    S = cfg.tasks[task].input_size
    bgr = np.ascontiguousarray(ufo_pipeline.synthetic_image(S, S)[:, :, ::-1])
    img, _, _ = ufo_pipeline.preprocess(bgr, cfg, task)
    ids, mask = ufo_pipeline.tokenize([ufo_pipeline.prompt_for(task, cfg, "a dog")])
    text_kv = m.text_forward(ids, mask)
    x0 = m.patch_forward(img[None])
    Hp = S // cfg.patch_size
    if task == "detection":
        ref, win, (gh, gw) = ufo_model.grid_layout(Hp, Hp, 14, 5)
        gpos = ufo_model.resize_pos_embed(m.backbone.pos_embed, (gh, gw)).reshape(gh * gw, -1)
        img_kv, feats, _ = m.img_forward(x0, text_kv, mask, ref)
        return m.grid_forward(gpos, feats, img_kv, win, (Hp // 14) ** 2)
    img_kv, _, _ = m.img_forward(x0, text_kv, mask)
    return img_kv


def check(m, task, rows, skip_global):
    with torch.no_grad():
        caches = passes(m, task)
        toks = [101, 2711]  # [CLS] then "person" at position 1
        state = list(caches)
        for t, tok in enumerate(toks):
            ids = torch.full((state[0][0].shape[0],), tok)
            logits, feat, state_new = m.decode_step(ids, state, t, skip_global)
            for r in rows:
                prefix = [None if c is None else (c[0][r], c[1][r]) for c in state]
                want_l, want_f = naive_decode(m, tok, t, prefix, skip_global)
                torch.testing.assert_close(feat[r], want_f, rtol=1e-4, atol=1e-5)
                torch.testing.assert_close(logits[r], want_l, rtol=1e-4, atol=1e-4)
            state = state_new


def test_caption_decode_steps(tiny_model):
    check(tiny_model, "caption", [0], False)


def test_detection_decode_steps(tiny_model):
    check(tiny_model, "detection", [0, 37, 99], True)
