"""PyTorch reference of the UFO-ViT transformer (inference spec §5-§6.1, segmentation spec §2.2).

`UfoViT` has a single submodule `backbone` whose state-dict keys are exactly the official ones
(inference §2.1), so `load_state_dict(checkpoint["state_dict"], strict=True)` accepts an official
checkpoint. Every size comes from the config (ufo_config.UfoConfig).

Layouts: image maps are (B, Hp, Wp, C) channels-last; K/V caches are (N, nh, L, d).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class BertEmbeddings(nn.Module):
    """inference §4.4: LN_1e-12(word[ids] + position[past_len + j]); no token types."""

    def __init__(self, vocab, C, max_pos, eps):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, C)
        self.position_embeddings = nn.Embedding(max_pos, C)
        self.LayerNorm = nn.LayerNorm(C, eps=eps)
        self.register_buffer("position_ids", torch.arange(max_pos).expand((1, -1)).clone(), persistent=True)

    def forward(self, ids, past_len=0):
        L = ids.shape[1]
        pos = self.position_ids[:, past_len : past_len + L]
        return self.LayerNorm(self.word_embeddings(ids) + self.position_embeddings(pos))


class PatchEmbed(nn.Module):
    def __init__(self, C, patch):
        super().__init__()
        self.projection = nn.Conv2d(3, C, kernel_size=patch, stride=patch)


class Attention(nn.Module):
    def __init__(self, C, nh, rel_len):
        super().__init__()
        self.nh, self.d = nh, C // nh
        self.qkv = nn.Linear(C, 3 * C, bias=True)
        self.proj = nn.Linear(C, C)
        self.rel_pos_h = nn.Parameter(torch.zeros(rel_len, C // nh))
        self.rel_pos_w = nn.Parameter(torch.zeros(rel_len, C // nh))


class FFN(nn.Module):
    """mmcv FFN key layout: layers.0 = Sequential(Linear, GELU, Dropout), layers.1 = Linear."""

    def __init__(self, C, hidden):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Sequential(nn.Linear(C, hidden), nn.GELU(), nn.Dropout(0.0)),
            nn.Linear(hidden, C),
            nn.Dropout(0.0),
        )

    def forward(self, x):
        return self.layers(x)


class TransformerLayer(nn.Module):
    def __init__(self, C, nh, ffn, rel_len, eps, is_global):
        super().__init__()
        self.is_global = is_global
        self.ln1 = nn.LayerNorm(C, eps=eps)
        self.attn = Attention(C, nh, rel_len)
        self.ln2 = nn.LayerNorm(C, eps=eps)
        self.ffn = FFN(C, ffn)

    def qkv(self, x):
        """inference §5.1: (N, L, C) -> q, k, v (N, nh, L, d); rows [q; k; v], head-major."""
        N, L, C = x.shape
        a = self.attn
        t = a.qkv(self.ln1(x)).reshape(N, L, 3, a.nh, a.d).permute(2, 0, 3, 1, 4)
        return t[0], t[1], t[2]

    def finish(self, x, a):
        """Projection + residual, then the FFN with its residual (pre-LN, inference §5.1)."""
        N, nh, L, d = a.shape
        h = x + self.attn.proj(a.transpose(1, 2).reshape(N, L, nh * d))
        return h + self.ffn(self.ln2(h))


class Backbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C, side = cfg.embed_dim, cfg.pos_side
        self.pos_embed = nn.Parameter(torch.zeros(1, side, side, C))
        self.patch_embed = PatchEmbed(C, cfg.patch_size)
        self.embed = BertEmbeddings(cfg.vocab_size, C, cfg.max_position, cfg.text_ln_eps)
        layers = []
        for i in range(cfg.num_layers):
            g = i in cfg.global_layers
            rel = 2 * side - 1 if g else 2 * cfg.window_size - 1
            layers.append(TransformerLayer(C, cfg.num_heads, cfg.ffn_dim, rel, cfg.ln_eps, g))
        self.layers = nn.ModuleList(layers)


# ---------------------------------------------------------------------------------------------
# functional helpers


def attend(q, k, v, bias=None):
    """softmax(q k^T / sqrt(d) + bias) v, per head (scale = SDPA default, inference §5.1)."""
    s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    if bias is not None:
        s = s + bias
    return torch.matmul(torch.softmax(s.float(), dim=-1).to(v.dtype), v)


def resize_rel_pos(table, length):
    """inference §5.1 / §8.7: linear, align_corners=False, only when the length differs."""
    if table.shape[0] == length:
        return table
    t = F.interpolate(table.float().t()[None], size=length, mode="linear", align_corners=False)
    return t[0].t()


def get_rel_pos(q_size, k_size, table):
    """inference §5.1: R[q - k + (k - 1)] with the general SAM index rule."""
    L = 2 * max(q_size, k_size) - 1
    r = resize_rel_pos(table, L)
    qc = torch.arange(q_size)[:, None] * max(k_size / q_size, 1.0)
    kc = torch.arange(k_size)[None, :] * max(q_size / k_size, 1.0)
    idx = (qc - kc) + (k_size - 1) * max(q_size / k_size, 1.0)
    return r[idx.long()]


def rel_pos_bias(q, h, w, rel_h, rel_w):
    """inference §5.1: bias[(i,j),(i',j')] = q_ij.Rh[i-i'+h-1] + q_ij.Rw[j-j'+w-1], q UNSCALED.

    q: (N, nh, h*w, d) -> (N, nh, h*w, h*w)."""
    N, nh, L, d = q.shape
    Rh = get_rel_pos(h, h, rel_h).to(q.dtype)  # (h, h, d)
    Rw = get_rel_pos(w, w, rel_w).to(q.dtype)
    r = q.reshape(N * nh, h, w, d)
    bh = torch.einsum("bhwc,hkc->bhwk", r, Rh)
    bw = torch.einsum("bhwc,wkc->bhwk", r, Rw)
    b = bh[:, :, :, :, None] + bw[:, :, :, None, :]
    return b.reshape(N, nh, h * w, h * w)


def resize_pos_embed(table, hw):
    """inference §5.2 / §8.6: (1, S, S, C) -> (1, h, w, C), bicubic A=-0.75, align_corners=False."""
    if table.shape[1] == hw[0] and table.shape[2] == hw[1]:
        return table
    t = F.interpolate(table.permute(0, 3, 1, 2).float(), size=hw, mode="bicubic", align_corners=False)
    return t.permute(0, 2, 3, 1)


def window_partition(x, ws):
    """inference §5.1: (B, Hp, Wp, C) -> (B*nw, ws*ws, C), windows batch-major then row-major."""
    B, H, W, C = x.shape
    ph, pw = (ws - H % ws) % ws, (ws - W % ws) % ws
    if ph or pw:
        x = F.pad(x, (0, 0, 0, pw, 0, ph))
    Hq, Wq = H + ph, W + pw
    x = x.reshape(B, Hq // ws, ws, Wq // ws, ws, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws * ws, C), (Hq, Wq)


def window_unpartition(x, ws, padded, hw):
    Hq, Wq = padded
    H, W = hw
    B = x.shape[0] // ((Hq // ws) * (Wq // ws))
    x = x.reshape(B, Hq // ws, Wq // ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(B, Hq, Wq, -1)[:, :H, :W, :]


def grid_layout(Hp, Wp, ws, per_win):
    """inference §5.5: references (Q, 2) as (x, y), window index per query, grid size."""
    gh, gw = per_win * ((Hp + ws - 1) // ws), per_win * ((Wp + ws - 1) // ws)
    gy, gx = torch.meshgrid(torch.arange(gh), torch.arange(gw), indexing="ij")
    ref = torch.stack([(gx.reshape(-1) + 0.5) / gw, (gy.reshape(-1) + 0.5) / gh], -1).float()
    # inference §8.27: floor(ref * P / 14), float multiply then floor division
    wy = torch.floor(ref[:, 1] * Hp / ws).long()
    wx = torch.floor(ref[:, 0] * Wp / ws).long()
    win = wy * ((Wp + ws - 1) // ws) + wx
    return ref, win, (gh, gw)


class UfoViT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.backbone = Backbone(cfg)
        # A model file with its own vocabulary (docs/model-format.md) is held here in the BERT
        # id space: its rows scattered into the full table, `vocab_keep` marks them, the decode
        # logits of every other id are -inf (softmax and argmax over the kept rows only), and
        # `own_tokenizer` / `own_rows` turn prompts into ids exactly as the model's vocabulary
        # does (set_own_vocabulary).
        self.vocab_keep = None
        self.own_tokenizer = None
        self.own_rows = None

    def set_own_vocabulary(self, rows, tokenizer):
        """rows: the BERT id of each line of the model's own vocabulary."""
        keep = torch.zeros(self.cfg.vocab_size, dtype=torch.bool)
        keep[torch.as_tensor(rows, dtype=torch.long)] = True
        self.vocab_keep = keep.to(self.backbone.embed.word_embeddings.weight.device)
        self.own_rows = torch.as_tensor(rows, dtype=torch.long)
        self.own_tokenizer = tokenizer

    # ---- text (inference §5.3)
    def text_forward(self, ids, mask, rec=None):
        """ids (B, T) already without the last column; mask (B, T) True = ignored key.

        Returns per-layer (k, v) of shape (B, nh, T, d)."""
        bb = self.backbone
        x = bb.embed(ids, 0)
        bias = torch.zeros(mask.shape, dtype=torch.float32, device=ids.device)
        bias = bias.masked_fill(mask, float("-inf"))[:, None, None, :]  # bidirectional, §8.18
        kv = []
        for i, layer in enumerate(bb.layers):
            q, k, v = layer.qkv(x)
            kv.append((k, v))
            if i == len(bb.layers) - 1 and rec is None:
                break  # the last text output is never used (§5.3)
            x = layer.finish(x, attend(q, k, v, bias))
            if rec is not None and i == 0:
                rec["text.layer0"] = x.detach().clone()
        return kv

    # ---- image (inference §5.2, §5.4)
    def patch_forward(self, img):
        """img (B, 3, H, W) normalised -> (B, Hp, Wp, C) = conv + resized pos_embed."""
        bb = self.backbone
        tok = bb.patch_embed.projection(img).permute(0, 2, 3, 1)
        pos = resize_pos_embed(bb.pos_embed, tok.shape[1:3])
        return tok + pos

    def img_forward(self, x, text_kv, text_mask, ref=None, rec=None):
        """Image pass. x (B, Hp, Wp, C); ref (Q, 2) or None (no grid sampling).

        Returns img_kv per layer (window: (B*nw, nh, ws*ws, d); global: (B, nh, Hp*Wp, d)),
        sampled features per layer (B, Q, C) (or None) and the mean-layer map (B, Hp, Wp, C)."""
        cfg, bb = self.cfg, self.backbone
        B, Hp, Wp, C = x.shape
        ws = cfg.window_size
        img_kv, feats, mean_acc = [], [], None
        for i, layer in enumerate(bb.layers):
            if ref is not None:
                # inference §5.4 step 1 / §8.8: bilinear sample of the layer INPUT, zeros padding
                g = (2.0 * ref - 1.0)[None, None].expand(B, 1, -1, 2).to(x.dtype)
                s = F.grid_sample(
                    x.permute(0, 3, 1, 2).float(), g.float(), mode="bilinear",
                    padding_mode="zeros", align_corners=False,
                )
                feats.append(s[:, :, 0, :].permute(0, 2, 1))
            else:
                feats.append(None)
            if layer.is_global:
                seq, h, w, nw = x.reshape(B, Hp * Wp, C), Hp, Wp, 1
            else:
                seq, padded = window_partition(x, ws)
                h, w = ws, ws
                nw = seq.shape[0] // B
            q, k, v = layer.qkv(seq)
            tk, tv = text_kv[i]
            tk = tk.repeat_interleave(nw, dim=0)  # text cache repeated per window (§8.14)
            tv = tv.repeat_interleave(nw, dim=0)
            tmask = text_mask.repeat_interleave(nw, dim=0)
            K = torch.cat([tk, k], 2)
            V = torch.cat([tv, v], 2)
            out = torch.empty_like(q)
            tb = torch.zeros(tmask.shape, dtype=torch.float32, device=x.device)
            tb = tb.masked_fill(tmask, float("-inf"))[:, None, :]  # (N, 1, T)
            for hd in range(q.shape[1]):  # one head at a time bounds the memory of global layers
                qh = q[:, hd : hd + 1]
                rb = rel_pos_bias(qh, h, w, layer.attn.rel_pos_h, layer.attn.rel_pos_w)
                # inference §8.13: rel-pos only on image keys; text keys get only the mask
                bias = torch.cat([tb[:, None].expand(-1, 1, rb.shape[2], -1), rb.float()], -1)
                out[:, hd : hd + 1] = attend(qh, K[:, hd : hd + 1], V[:, hd : hd + 1], bias)
            y = layer.finish(seq, out)
            img_kv.append((k, v))  # text part dropped (§5.4 step 4)
            if layer.is_global:
                x = y.reshape(B, Hp, Wp, C)
            else:
                x = window_unpartition(y, ws, padded, (Hp, Wp))
            if rec is not None:
                if i == 0:
                    rec["image.layer0"] = x.detach().clone()
                if layer.is_global and "image.first_global" not in rec:
                    rec["image.first_global"] = x.detach().clone()
                    rec["image.first_global_index"] = i
            if i in cfg.mean_layers:
                mean_acc = x if mean_acc is None else mean_acc + x
        # inference §0 item 8: sum times 1/|M|
        mean = mean_acc * (1.0 / len(cfg.mean_layers))
        return img_kv, feats, mean

    # ---- grid (inference §5.5)
    def grid_forward(self, gpos, feats, img_kv, win, nw, rec=None):
        """gpos (Q, C); feats per layer (B, Q, C); win (Q,) window of each query.

        Returns per-layer own K/V (B*Q, nh, 1, d), or None for skipped global layers."""
        bb = self.backbone
        B, Q, C = feats[0].shape
        order = torch.argsort(win, stable=True)  # queries grouped by window, row-major inside
        inv = torch.argsort(order)
        per = Q // nw
        x = gpos[None].expand(B, Q, C).clone()
        grid_kv, outs = [], []
        for i, layer in enumerate(bb.layers):
            if layer.is_global:  # global_only_image: skipped, nothing added (§8.15-16)
                grid_kv.append(None)
                continue
            x = x + feats[i]
            if i > 0:
                x = x + gpos[None]
            q, k, v = layer.qkv(x.reshape(B * Q, 1, C))  # (B*Q, nh, 1, d)
            nh, d = q.shape[1], q.shape[3]
            wk, wv = img_kv[i]  # (B*nw, nh, 196, d)
            qg = q.reshape(B, Q, nh, d)[:, order].reshape(B * nw, per, nh, d).transpose(1, 2)
            kg = k.reshape(B, Q, nh, d)[:, order].reshape(B * nw, per, nh, d).transpose(1, 2)
            vg = v.reshape(B, Q, nh, d)[:, order].reshape(B * nw, per, nh, d).transpose(1, 2)
            sc = 1.0 / math.sqrt(d)
            s_img = torch.matmul(qg, wk.transpose(-1, -2)) * sc  # (B*nw, nh, per, 196)
            s_self = (qg * kg).sum(-1, keepdim=True) * sc  # each grid sees only itself
            p = torch.softmax(torch.cat([s_img, s_self], -1), -1)
            a = torch.matmul(p[..., :-1], wv) + p[..., -1:] * vg  # (B*nw, nh, per, d)
            a = a.transpose(1, 2).reshape(B, Q, nh, d)[:, inv].reshape(B * Q, 1, nh, d)
            x = layer.finish(x.reshape(B * Q, 1, C), a.transpose(1, 2)).reshape(B, Q, C)
            grid_kv.append((k, v))
            if rec is not None:
                outs.append((i, x.detach().clone()))
        if rec is not None:
            rec["grid.layers"] = outs
        return grid_kv

    # ---- decode (inference §6.1)
    def decode_step(self, ids, caches, t, skip_global):
        """ids (N,) tokens at position t; caches per layer (k, v) (N, nh, L, d) or None.

        Returns logits (N, V) (f32 on CPU), the mean-layer feature (N, C), updated caches."""
        cfg, bb = self.cfg, self.backbone
        x = bb.embed(ids[:, None], t)
        acc, new, n_mean = None, [], 0
        for i, layer in enumerate(bb.layers):
            if skip_global and layer.is_global:
                new.append(None)
                continue
            q, k, v = layer.qkv(x)
            pk, pv = caches[i]
            K, V = torch.cat([pk, k], 2), torch.cat([pv, v], 2)
            x = layer.finish(x, attend(q, K, V))
            new.append((K, V))
            if i in cfg.mean_layers:
                acc = x if acc is None else acc + x
                n_mean += 1
        # inference §6.1: the mean over the mean layers that ran (skipped global layers add
        # nothing and do not count), a sum times 1/n (§0 item 8)
        if acc is None:
            raise ValueError("decode step: no mean layer ran (every mean layer is a skipped global layer)")
        feat = (acc * (1.0 / n_mean))[:, 0]
        logits = torch.matmul(feat, bb.embed.word_embeddings.weight.t())  # tied, no bias (§8.12)
        if self.vocab_keep is not None:  # own vocabulary: only its rows are outputs
            logits = logits.masked_fill(~self.vocab_keep.to(logits.device), float("-inf"))
        return logits, feat, new
