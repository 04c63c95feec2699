"""The pieces of tools/reference/side_by_side.py: the trained plan (the rule of
tools/ufo-bench/bench_plan.c, checked by hand here; that ufo-bench decodes the same steps is
checked by the tool itself in gpu-check.sh --dry-run) and the reference's greedy decoding kept on
the model's device, which must give what the host loop gives."""

import numpy as np
import torch

import ufo_config
import ufo_pipeline
import ufo_plans
import ufo_tokenizer

SEP, COMMA, MASK = 102, 1010, 30524


def pieces(text):
    return list(ufo_tokenizer.default_tokenizer()(text, add_special_tokens=False)["input_ids"])


def steps(L):
    t = np.arange(L, dtype=np.float32)
    return np.float32(0.05) * t + np.float32(0.0073) * t * t


def test_trained_plan_detection_rule():
    cfg = ufo_config.builtin("tiny")
    tc = cfg.tasks["detection"]
    nb, T = tc.num_bins, tc.max_length
    plan, margin = ufo_plans.trained_plan(cfg, "detection", 100)
    assert plan.shape == (100, T) and margin.shape == (100, T)
    labels = ufo_tokenizer.load_labels(tc.label_set)
    # 100 grids: one in 14 (100 // 7) decodes an object, labels in order
    objects = [s for s in range(100) if plan[s, 1] != SEP]
    assert objects == list(range(0, 100, 14))
    for k, s in enumerate(objects):
        want = pieces(f"{labels[k]},{nb // 2},{nb // 2},{nb // 10},{nb // 8}") + [SEP]
        assert plan[s, : len(want)].tolist() == want and (plan[s, len(want):] == -1).all()
        np.testing.assert_array_equal(margin[s, : len(want)], 20 + steps(T)[: len(want)])
    bg = pieces("background") + [SEP]
    assert plan[1, :2].tolist() == bg and (plan[1, 2:] == -1).all()
    assert margin[1, 2] == 20  # unplanted steps: the base margin only (nothing is forced there)


def test_trained_plan_masks_and_caption():
    cfg = ufo_config.builtin("tiny")
    plan, _ = ufo_plans.trained_plan(cfg, "semantic", 4)
    labels = ufo_tokenizer.load_labels(cfg.tasks["semantic"].label_set)
    for s in range(4):  # every grid, labels cycling
        want = pieces(labels[s]) + [COMMA] + [MASK] * 16 + [SEP]
        assert plan[s, : len(want)].tolist() == want
    plan, margin = ufo_plans.trained_plan(cfg, "caption", 1)
    want = pieces("a man riding a brown horse along the sandy beach") + [SEP]
    assert len(want) == 11 and plan[0, :11].tolist() == want
    # float32 sums, as the C engine adds margin[s] + step_margin[s, t]
    assert margin.dtype == np.float32 and margin[0, 10] == np.float32(20) + steps(20)[10]


def test_greedy_on_the_device_gives_the_host_loops_results(tiny_model):
    cfg = tiny_model.cfg
    tc = cfg.tasks["instance"]
    Hp = tc.input_size // cfg.patch_size
    gw = tc.grid_per_window * (Hp // cfg.window_size)
    p, m = ufo_plans.trained_plan(cfg, "instance", gw * gw)
    plan, margin = torch.from_numpy(p).long(), torch.from_numpy(m)
    bgr = np.ascontiguousarray(ufo_pipeline.synthetic_image(300, 260)[:, :, ::-1])
    host = ufo_pipeline.run(tiny_model, "instance", [bgr], None, plan, margin)
    dev = ufo_pipeline.run(tiny_model, "instance", [bgr], None, plan, margin, decode_on_device=True)
    assert torch.equal(host[1]["ids"], dev[1]["ids"])
    assert torch.equal(host[1]["prob"], dev[1]["prob"])
    a, b = host[0][0], dev[0][0]
    assert a["valid_grids"] == b["valid_grids"] and len(a["valid_grids"]) >= 7
    assert len(a["labels"]) > 0
    for k in ("masks", "labels", "scores", "boxes"):
        assert np.array_equal(a[k], b[k]), k
