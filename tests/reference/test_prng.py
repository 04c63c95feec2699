"""docs/weights-prng.md: the first values of two tensors, pinned as float32 bit patterns."""

import struct

import numpy as np

import ufo_config
import ufo_prng

# seed 0, vit-b; the C engine asserts the same constants (docs/reference.md)
EXPECTED = {
    "backbone.layers.0.attn.qkv.weight": [0x3C800772, 0x3D065FF5, 0xBCB02A21, 0x3C88566B],
    "backbone.embed.LayerNorm.weight": [0x3F8AFF75, 0x3F718D91, 0x3F7815E5, 0x3F878CF7],
}


def bits(x):
    return struct.unpack("<I", struct.pack("<f", float(x)))[0]


def scalar_uniform(name, seed, n):
    """Independent scalar SplitMix64 over Python ints."""
    M = (1 << 64) - 1
    h = 0xCBF29CE484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001B3) & M
    s = h ^ ((seed * 0x9E3779B97F4A7C15) & M)
    out = []
    for _ in range(n):
        s = (s + 0x9E3779B97F4A7C15) & M
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        x = z ^ (z >> 31)
        out.append(((x >> 40) - (1 << 23)) / float(1 << 23))
    return np.array(out, dtype=np.float32)


def test_pinned_constants():
    cfg = ufo_config.builtin("vit-b")
    shapes = {n: s for n, s, _ in ufo_prng.tensor_specs(cfg)}
    for name, want in EXPECTED.items():
        got = ufo_prng.tensor_values(name, shapes[name], 0).reshape(-1)[:4]
        assert [bits(v) for v in got] == want, name


def test_vectorised_equals_scalar_across_chunks(monkeypatch):
    monkeypatch.setattr(ufo_prng, "_CHUNK", 7)
    for name, seed in [("backbone.pos_embed", 0), ("backbone.layers.3.attn.proj.weight", 12345)]:
        np.testing.assert_array_equal(ufo_prng.uniform(name, seed, 50), scalar_uniform(name, seed, 50))


def test_value_rules():
    u = scalar_uniform("backbone.layers.1.ffn.layers.1.weight", 3, 6)
    got = ufo_prng.tensor_values("backbone.layers.1.ffn.layers.1.weight", (2, 3), 3).reshape(-1)
    np.testing.assert_array_equal(got, u * np.float32(1 / np.sqrt(3.0)))
    u = scalar_uniform("backbone.layers.1.ln2.bias", 3, 4)
    np.testing.assert_array_equal(ufo_prng.tensor_values("backbone.layers.1.ln2.bias", (4,), 3), u * np.float32(0.02))
    u = scalar_uniform("backbone.embed.word_embeddings.weight", 1, 4)
    got = ufo_prng.tensor_values("backbone.embed.word_embeddings.weight", (2, 2), 1).reshape(-1)
    np.testing.assert_array_equal(got, u * np.float32(0.5))
    pid = ufo_prng.tensor_values("backbone.embed.position_ids", (1, 512), 0)
    assert pid.dtype == np.int64 and pid[0, 511] == 511


def test_vit_b_inventory():
    cfg = ufo_config.builtin("vit-b")
    specs = ufo_prng.tensor_specs(cfg)
    n_float = sum(int(np.prod(s)) for n, s, d in specs if d == "f32")
    assert n_float == 155_892_992  # inference §2.1
    shapes = {n: s for n, s, _ in specs}
    assert shapes["backbone.layers.2.attn.rel_pos_h"] == (139, 64)
    assert shapes["backbone.layers.3.attn.rel_pos_w"] == (27, 64)
    tiny = {n: s for n, s, _ in ufo_prng.tensor_specs(ufo_config.builtin("tiny"))}
    assert tiny["backbone.layers.1.attn.rel_pos_h"] == (55, 32)
