"""The stored tiny fixtures are reproduced by the reference, and their first intermediate
matches an independent numpy computation."""

import glob
import json
import os

import numpy as np
import pytest
from safetensors import safe_open

import make_fixtures
import ufo_config
import ufo_pipeline
import ufo_prng

FIX = os.path.join(os.path.dirname(__file__), "..", "data", "fixtures")
TINY = sorted(glob.glob(os.path.join(FIX, "tiny-*.safetensors")))


def load(path):
    with safe_open(path, "np") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


def test_fixture_set_present_and_small():
    # 5 tasks x (free, planted), detection beam-head / beam-recipe, tiny-mean-global det / inst
    assert len(TINY) == 14
    total = sum(os.path.getsize(p) for p in glob.glob(os.path.join(FIX, "*.safetensors")))
    assert total <= 16 * 1024 * 1024


@pytest.mark.parametrize("path", TINY, ids=[os.path.basename(p) for p in TINY])
def test_fixture_reproduced(path, tiny_model, tmp_path):
    want, meta = load(path)
    assert meta["ufo.fixture"] == "1" and meta["config"] in ("tiny", "tiny-mean-global")
    model = tiny_model if meta["config"] == "tiny" else make_fixtures.build_model(meta["config"])
    got_path, _, _ = make_fixtures.generate(model, meta["task"], meta["case"], str(tmp_path))
    got, gmeta = load(got_path)
    assert set(got) == set(want)
    for k in want:
        if want[k].dtype.kind in "iu":
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)
        else:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-4, atol=1e-5, err_msg=k)
    s1, s2 = json.loads(meta["samples"]), json.loads(gmeta["samples"])
    for k in s1:
        assert s1[k]["shape"] == s2[k]["shape"] and s1[k]["stride"] == s2[k]["stride"]
        assert abs(s1[k]["l2"] - s2[k]["l2"]) <= 1e-4 * max(1.0, s1[k]["l2"]), k
    same(json.loads(meta["results"]), json.loads(gmeta["results"]))


def same(a, b):
    """Equal structure; floats within 1e-4 relative."""
    if isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            same(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, float):
        assert abs(a - b) <= 1e-4 * max(1.0, abs(a))
    else:
        assert a == b


def test_patch_embedding_independent_numpy():
    """image.patch = conv16x16(input) + pos_embed, recomputed with numpy from the PRNG weights."""
    cfg = ufo_config.builtin("tiny")
    want, meta = load(os.path.join(FIX, "tiny-detection-free.safetensors"))
    info = json.loads(meta["samples"])["image.patch"]
    rgb = ufo_pipeline.synthetic_image(448, 448).astype(np.float32)
    x = (rgb - np.float32(cfg.pixel_mean)) / np.float32(cfg.pixel_std)  # RGB, HWC
    shapes = {n: s for n, s, _ in ufo_prng.tensor_specs(cfg)}
    W = ufo_prng.tensor_values("backbone.patch_embed.projection.weight", shapes["backbone.patch_embed.projection.weight"], 0)
    b = ufo_prng.tensor_values("backbone.patch_embed.projection.bias", (64,), 0)
    pos = ufo_prng.tensor_values("backbone.pos_embed", shapes["backbone.pos_embed"], 0)[0]
    patches = x.reshape(28, 16, 28, 16, 3).transpose(0, 2, 4, 1, 3).reshape(28 * 28, 3 * 16 * 16)
    tok = patches.astype(np.float64) @ W.reshape(64, -1).T.astype(np.float64) + b
    full = tok + pos.reshape(-1, 64)
    l2 = float(np.linalg.norm(full))
    assert abs(l2 - info["l2"]) <= 1e-5 * l2
    np.testing.assert_allclose(want["image.patch.sample"], full.reshape(-1)[:: info["stride"]], rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def vitb_model():
    return make_fixtures.build_model("vit-b")


@pytest.mark.skipif(not os.environ.get("UFO_REF_SLOW"), reason="slow (ViT-B weights): set UFO_REF_SLOW=1")
@pytest.mark.parametrize("task", ["grounding", "caption"])
def test_vit_b_fixture_reproduced(task, vitb_model, tmp_path):
    """The 224-px ViT-B fixtures (the fast ones) are reproduced by the reference."""
    path = os.path.join(FIX, f"vit-b-{task}-planted.safetensors")
    want, meta = load(path)
    got_path, _, _ = make_fixtures.generate(vitb_model, task, "planted", str(tmp_path))
    got, gmeta = load(got_path)
    assert set(got) == set(want)
    for k in want:
        if want[k].dtype.kind in "iu":
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)
        else:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-4, atol=1e-5, err_msg=k)
    same(json.loads(meta["results"]), json.loads(gmeta["results"]))
