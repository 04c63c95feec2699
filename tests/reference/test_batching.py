"""inference §8.28: batching images (and padded prompts of different lengths) gives the
per-image results of one-at-a-time runs."""

import numpy as np
import torch

import ufo_pipeline


def images(S):
    a = ufo_pipeline.synthetic_image(S, S)
    b = np.ascontiguousarray(np.roll(a, (37, 11), axis=(0, 1))[::-1])
    return [np.ascontiguousarray(x[:, :, ::-1]) for x in (a, b)]


def test_grounding_batch_of_two_prompt_lengths(tiny_model):
    ims = images(224)
    texts = ["the man", "a very long description of the red car parked on the left side"]
    rb, rawb, _ = ufo_pipeline.run(tiny_model, "grounding", ims, texts)
    for k in range(2):
        r1, raw1, _ = ufo_pipeline.run(tiny_model, "grounding", [ims[k]], [texts[k]])
        T = raw1["ids"].shape[1]
        assert torch.equal(rawb["ids"][k, :T], raw1["ids"][0])
        torch.testing.assert_close(rawb["prob"][k, :T], raw1["prob"][0], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(rb[k]["box"], r1[0]["box"])


def test_detection_batch_with_plan(tiny_model, monkeypatch):
    monkeypatch.setattr(tiny_model.cfg.tasks["detection"], "max_length", 12)  # keep it fast
    ims = images(448)
    Q = 100
    plan = torch.full((2 * Q, 12), -1, dtype=torch.long)
    margin = torch.zeros(2 * Q)
    # plan "person,448,448,100,100" on grid 5 of image 1 only
    toks = [2711, 1010, 4008, 2620, 1010, 4008, 2620, 1010, 2531, 1010, 2531, 102]
    plan[Q + 5, : len(toks)] = torch.tensor(toks)
    margin[Q + 5] = 4.0
    rb, rawb, _ = ufo_pipeline.run(tiny_model, "detection", ims, None, plan, margin)
    for k in range(2):
        r1, raw1, _ = ufo_pipeline.run(tiny_model, "detection", [ims[k]], None, plan[k * Q : (k + 1) * Q],
                                       margin[k * Q : (k + 1) * Q])
        T = raw1["ids"].shape[1]
        assert torch.equal(rawb["ids"][k * Q : (k + 1) * Q, :T], raw1["ids"])
        torch.testing.assert_close(rawb["prob"][k * Q : (k + 1) * Q, :T], raw1["prob"], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(rb[k]["boxes"], r1[0]["boxes"], rtol=1e-6)
        np.testing.assert_allclose(rb[k]["scores"], r1[0]["scores"], rtol=1e-4)
    assert len(rb[1]["boxes"]) == 1 and rb[1]["labels"].tolist() == [0]
    assert len(rb[0]["boxes"]) == 0
