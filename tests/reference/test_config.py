import json

import pytest

import ufo_config


@pytest.mark.parametrize("name", ufo_config.BUILTIN_NAMES)
def test_json_round_trip(name):
    cfg = ufo_config.builtin(name)
    again = ufo_config.UfoConfig.from_json(cfg.to_json())
    assert again == cfg
    d = json.loads(cfg.to_json())
    assert d["tasks"]["detection"]["nms"] == "soft"


def test_values():
    b = ufo_config.builtin("vit-b")
    assert (b.embed_dim, b.num_heads, b.head_dim, b.ffn_dim, b.num_layers) == (768, 12, 64, 3072, 18)
    assert b.global_layers == [2, 5, 8, 11] and b.mean_layers == list(range(12, 18))
    assert b.tasks["semantic"].input_size == 672 and b.tasks["caption"].alpha == 0.7
    h = ufo_config.builtin("vit-h")
    assert h.head_dim == 80 and h.mean_layers == list(range(32, 38))
    t = ufo_config.builtin("tiny")
    assert t.pos_side == 28 and t.tasks["detection"].num_bins == 896


def test_invalid():
    d = json.loads(ufo_config.builtin("tiny").to_json())
    d["head_dim"] = 30
    with pytest.raises(ValueError):
        ufo_config.UfoConfig.from_json(json.dumps(d))


def test_beam_defaults_per_task():
    """The original heads' beam settings (inference §1.2), also for a JSON that leaves them out."""
    t = ufo_config.builtin("vit-b").tasks
    assert (t["detection"].temperature, t["detection"].alpha) == (0.3, 10.0)
    assert (t["instance"].temperature, t["instance"].alpha) == (1.0, 1.0)
    assert (t["caption"].temperature, t["caption"].alpha) == (1.0, 0.7)
    d = json.loads(ufo_config.builtin("tiny").to_json())
    for task in d["tasks"].values():
        del task["temperature"], task["alpha"]
    bare = ufo_config.UfoConfig.from_json(json.dumps(d)).tasks
    assert (bare["detection"].temperature, bare["detection"].alpha) == (0.3, 10.0)
    assert (bare["semantic"].temperature, bare["caption"].alpha) == (1.0, 1.0)


def test_decode_mean_over_layers_that_ran():
    """inference §6.1: grid rows skip global layers; a global mean layer neither adds nor counts."""
    import torch

    import make_fixtures

    model = make_fixtures.build_model("tiny-mean-global")  # mean layers [3, 4, 5], 3 global
    cfg, bb = model.cfg, model.backbone
    torch.manual_seed(0)
    n, C, nh, d = 2, cfg.embed_dim, cfg.num_heads, cfg.head_dim
    caches = [None if L.is_global else (torch.randn(n, nh, 1, d), torch.randn(n, nh, 1, d)) for L in bb.layers]
    ids = torch.tensor([101, 2003])
    with torch.no_grad():
        _, feat, _ = model.decode_step(ids, caches, 0, skip_global=True)
        # by hand: run the window layers, average the outputs of layers 4 and 5 only
        x = bb.embed(ids[:, None], 0)
        outs = {}
        for i, L in enumerate(bb.layers):
            if L.is_global:
                continue
            q, k, v = L.qkv(x)
            K, V = torch.cat([caches[i][0], k], 2), torch.cat([caches[i][1], v], 2)
            s = torch.softmax((q @ K.transpose(-1, -2)) / d**0.5, -1)
            x = L.finish(x, s @ V)
            outs[i] = x[:, 0]
    torch.testing.assert_close(feat, (outs[4] + outs[5]) * 0.5, rtol=1e-5, atol=1e-6)
