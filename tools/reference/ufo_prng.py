"""Deterministic random weights for UFO-ViT (docs/weights-prng.md).

One SplitMix64 stream per tensor, keyed by FNV-1a-64 of the official tensor name and the seed,
vectorised with numpy uint64 arithmetic (wrap-around modulo 2^64). The C engine
(engine/model/prng.c) builds bit-identical float32 tensors from the same definition.
"""

import numpy as np

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
MASK64 = (1 << 64) - 1

_CHUNK = 1 << 22  # elements per vectorised block (bounds the temporary memory)


def fnv1a64(name):
    """weights-prng.md step 1: FNV-1a-64 over the UTF-8 bytes of the tensor name."""
    h = FNV_OFFSET
    for b in name.encode("utf-8"):
        h = ((h ^ b) * FNV_PRIME) & MASK64
    return h


def initial_state(name, seed):
    """weights-prng.md step 2: state = h XOR (seed * golden) mod 2^64."""
    return fnv1a64(name) ^ ((seed * GOLDEN) & MASK64)


def uniform(name, seed, n):
    """weights-prng.md steps 3-4: n float32 values v in [-1, 1), row-major element order."""
    s0 = np.uint64(initial_state(name, seed))
    out = np.empty(n, dtype=np.float32)
    g = np.uint64(GOLDEN)
    with np.errstate(over="ignore"):
        for start in range(0, n, _CHUNK):
            m = min(_CHUNK, n - start)
            # SplitMix64: the k-th output (k = 1, 2, ...) uses state0 + k * golden.
            k = np.arange(start + 1, start + m + 1, dtype=np.uint64)
            z = s0 + k * g
            z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
            z = z ^ (z >> np.uint64(31))
            u = (z >> np.uint64(40)).astype(np.int64)  # 24 bits
            # v = float32(u - 2^23) * 2^-23, exact in float32
            out[start : start + m] = (u - (1 << 23)).astype(np.float32) * np.float32(2.0**-23)
    return out


F01 = np.float32(0.1)
F002 = np.float32(0.02)
F05 = np.float32(0.5)


def tensor_values(name, shape, seed):
    """The tensor `name` of `shape` per the value rules of weights-prng.md (first match wins)."""
    n = int(np.prod(shape)) if len(shape) else 1
    if name.endswith("position_ids"):
        return np.arange(n, dtype=np.int64).reshape(shape)
    v = uniform(name, seed, n)
    if name.endswith(("ln1.weight", "ln2.weight", "LayerNorm.weight")):
        x = np.float32(1.0) + v * F01  # multiply first (rounded), then add (rounded)
    elif name.endswith(".bias"):
        x = v * F002
    elif name.endswith(("rel_pos_h", "rel_pos_w")):
        x = v * F01
    elif name == "backbone.pos_embed":
        x = v * F01
    elif name in (
        "backbone.embed.word_embeddings.weight",
        "backbone.embed.position_embeddings.weight",
    ):
        x = v * F05
    else:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        s = np.float32(1.0 / np.sqrt(float(fan_in)))  # computed in double, rounded once
        x = v * s
    return x.astype(np.float32, copy=False).reshape(shape)


def tensor_specs(cfg):
    """(name, shape, dtype) of every official state-dict tensor for a config (inference §2.1)."""
    C, d, F = cfg.embed_dim, cfg.head_dim, cfg.ffn_dim
    side = cfg.img_size // cfg.patch_size
    specs = [
        ("backbone.pos_embed", (1, side, side, C), "f32"),
        ("backbone.patch_embed.projection.weight", (C, 3, cfg.patch_size, cfg.patch_size), "f32"),
        ("backbone.patch_embed.projection.bias", (C,), "f32"),
        ("backbone.embed.word_embeddings.weight", (cfg.vocab_size, C), "f32"),
        ("backbone.embed.position_embeddings.weight", (cfg.max_position, C), "f32"),
        ("backbone.embed.LayerNorm.weight", (C,), "f32"),
        ("backbone.embed.LayerNorm.bias", (C,), "f32"),
        ("backbone.embed.position_ids", (1, cfg.max_position), "i64"),
    ]
    for i in range(cfg.num_layers):
        p = f"backbone.layers.{i}."
        rel = 2 * side - 1 if i in cfg.global_layers else 2 * cfg.window_size - 1
        specs += [
            (p + "ln1.weight", (C,), "f32"),
            (p + "ln1.bias", (C,), "f32"),
            (p + "attn.qkv.weight", (3 * C, C), "f32"),
            (p + "attn.qkv.bias", (3 * C,), "f32"),
            (p + "attn.proj.weight", (C, C), "f32"),
            (p + "attn.proj.bias", (C,), "f32"),
            (p + "attn.rel_pos_h", (rel, d), "f32"),
            (p + "attn.rel_pos_w", (rel, d), "f32"),
            (p + "ln2.weight", (C,), "f32"),
            (p + "ln2.bias", (C,), "f32"),
            (p + "ffn.layers.0.0.weight", (F, C), "f32"),
            (p + "ffn.layers.0.0.bias", (F,), "f32"),
            (p + "ffn.layers.1.weight", (C, F), "f32"),
            (p + "ffn.layers.1.bias", (C,), "f32"),
        ]
    return specs


def random_state_dict(cfg, seed):
    """Every official tensor (numpy arrays) for `cfg` with deterministic weights from `seed`."""
    return {name: tensor_values(name, shape, seed) for name, shape, _ in tensor_specs(cfg)}


def random_torch_state_dict(cfg, seed):
    import torch

    return {k: torch.from_numpy(v) for k, v in random_state_dict(cfg, seed).items()}
