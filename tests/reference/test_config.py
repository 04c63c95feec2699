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
