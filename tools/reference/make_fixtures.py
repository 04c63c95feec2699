#!/usr/bin/env python3
"""Golden fixtures for the C engine: tests/data/fixtures/<config>-<task>-<case>.safetensors.

Usage: python3 tools/reference/make_fixtures.py [--configs tiny,vit-b] [--tasks ...] [--cases ...]
       [--threads N]

Cases: free (the model decodes as it likes), planted (a planted plan forces tokens, see
docs/reference.md), and for detection beam-head / beam-recipe (planted, beam search with 3 beams at
the detection head's temperature 0.3 / length penalty 10.0, and at the published recipe 1.5 / 10.0).
Configs: the built-in names, and tiny-mean-global (tiny with a global layer among its mean layers,
inference §6.1: grid rows average only the mean layers that ran).

Every file holds, for the synthetic image at the task's input size and deterministic random
weights (seed 0): sampled intermediates (`X.sample` = flatten(X)[::stride], <= 4096 values, with
shape/stride/full L2 in the "samples" metadata), the teacher-forced decode record and the final
results. docs/reference.md lists every tensor name.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ufo_config  # noqa: E402
import ufo_model  # noqa: E402
import ufo_pipeline  # noqa: E402
import ufo_plans  # noqa: E402
import ufo_prng  # noqa: E402
import ufo_tokenizer  # noqa: E402
from ufo_json import result_json  # noqa: E402

OUT_DIR = os.path.join(HERE, "..", "..", "tests", "data", "fixtures")
MAX_SAMPLES = 4096
GROUNDING_TEXT = "The red car, on the left!"
SEED = 0


class Fixture:
    def __init__(self):
        self.tensors, self.samples = {}, {}

    def full(self, name, x, dtype=np.float32):
        self.tensors[name] = np.ascontiguousarray(np.asarray(x).astype(dtype))

    def sample(self, name, x, layout, max_n=MAX_SAMPLES):
        """X.sample = flatten(X)[::stride] with stride = ceil(numel / max_n)."""
        x = torch.as_tensor(x).detach().cpu()
        is_int = not x.is_floating_point()
        x = x.float() if not is_int else x
        flat = x.reshape(-1)
        stride = max(1, math.ceil(flat.numel() / max_n))
        s = flat[::stride].numpy()
        self.tensors[name + ".sample"] = np.ascontiguousarray(s.astype(np.int32 if is_int else np.float32))
        x = x.float()
        flat = x.reshape(-1)
        self.samples[name] = {
            "shape": list(x.shape),
            "stride": stride,
            "l2": float(torch.linalg.vector_norm(flat.double())),
            "layout": layout,
        }


# beam cases: (beam size, temperature, length penalty); None = the task's config (inference §1.2)
BEAM_CASES = {"beam-head": (3, None, None), "beam-recipe": (3, 1.5, 10.0)}


def config_for(name):
    """A built-in config, or a test variant of one."""
    if name == "tiny-mean-global":
        cfg = ufo_config.builtin("tiny")
        cfg.name, cfg.mean_layers = name, [3, 4, 5]  # layer 3 is global
        cfg.validate()
        return cfg
    return ufo_config.builtin(name)


def build_model(name):
    cfg = config_for(name)
    model = ufo_model.UfoViT(cfg)
    model.load_state_dict(ufo_prng.random_torch_state_dict(cfg, SEED), strict=True)
    return model.eval()


def rec_rows(task, n_rows, plan, grid_w):
    if task in ("caption", "grounding"):
        return list(range(n_rows))
    if plan is not None:
        planted = [int(s) for s in np.nonzero((plan >= 0).any(1))[0]]
        rows = [0] + [r for r in planted if r != 0]
        rows = rows[:7] + [n_rows - 1]
    else:
        rows = [0, 1, 2, grid_w, grid_w + 1, n_rows // 2, n_rows - 2, n_rows - 1]
    return sorted(set(rows))


def generate(model, task, case, out_dir):
    cfg = model.cfg
    tc = cfg.tasks[task]
    S = tc.input_size
    rgb = ufo_pipeline.synthetic_image(S, S)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    texts = [GROUNDING_TEXT] if task == "grounding" else None
    Hp = S // cfg.patch_size
    grid_w = tc.grid_per_window * (Hp // cfg.window_size) if tc.grid_per_window else 0
    n_seq = grid_w * grid_w if grid_w else 1
    plan = margin = step_margin = None
    beam, tau, alpha = BEAM_CASES.get(case, (tc.beam_size if task == "caption" else 1, None, None))
    if case == "planted" or case in BEAM_CASES:
        plan, margin = ufo_plans.make_plan(cfg, task, n_seq, grid_w)
    if case in BEAM_CASES:  # margin[s] + step_margin[s, t] (float32, as the C engine adds them)
        step_margin = ufo_plans.step_margins(plan)
    run_margin = margin if step_margin is None else margin[:, None] + step_margin
    n_rows = n_seq * beam
    rows = rec_rows(task, n_rows, plan, grid_w)
    if case in BEAM_CASES:  # the beams of the first planted sequences; decode.src has every row
        rows = sorted({r for s in rec_rows(task, n_seq, plan, grid_w)[:3] for r in range(s * beam, s * beam + beam)})
    V, C = cfg.vocab_size, cfg.embed_dim
    rec = {}
    t0 = time.perf_counter()
    results, raw, ms = ufo_pipeline.run(
        model, task, [bgr], texts,
        None if plan is None else torch.from_numpy(plan).long(),
        None if run_margin is None else torch.from_numpy(run_margin),
        beam_size=beam, rec=rec, rec_rows=rows, logit_stride=math.ceil(V / 256),
        feat_stride=math.ceil(C / 64), temperature=tau, length_penalty=alpha,
    )
    wall = time.perf_counter() - t0
    fx = Fixture()
    img, _, _ = ufo_pipeline.preprocess(bgr, cfg, task)
    fx.sample("input", img, "(3, S, S) normalised RGB")
    fx.full("prompt.ids", rec["prompt.ids"], np.int32)
    fx.full("prompt.mask", rec["prompt.mask"], np.int32)
    fx.sample("image.patch", rec["image.patch"][0].reshape(-1, C), "(Hp*Wp, C) input of layer 0")
    fx.sample("image.layer0", rec["image.layer0"][0].reshape(-1, C), "(Hp*Wp, C) output of layer 0")
    fx.sample("image.first_global", rec["image.first_global"][0].reshape(-1, C),
              f"(Hp*Wp, C) output of layer {rec['image.first_global_index']}")
    fx.sample("image.mean", rec["image.mean"][0].reshape(-1, C), "(Hp*Wp, C) mean over mean_layers")
    fx.sample("text.layer0", rec["text.layer0"][0], "(T, C) text output of layer 0")
    if "grid.pos" in rec:
        fx.sample("grid.pos", rec["grid.pos"], "(Q, C) grid position table")
        fx.full("grid.ref", rec["grid.ref"])
        for i, out in rec["grid.layers"]:
            fx.sample(f"grid.feat.{i}", rec["grid.feats"][i][0], f"(Q, C) sampled input of layer {i}")
            fx.sample(f"grid.out.{i}", out[0], f"(Q, C) grid output of layer {i}")
    steps = rec["decode.steps"]
    fx.full("decode.rows", rec["decode.rows"], np.int32)
    fx.full("decode.input", torch.stack([s["input"] for s in steps]), np.int32)
    fx.full("decode.logits.sample", torch.stack([s["logits_sample"] for s in steps]))
    fx.full("decode.logits.l2", torch.stack([s["logits_l2"] for s in steps]))
    fx.full("decode.argmax", torch.stack([s["argmax"] for s in steps]), np.int32)
    fx.full("decode.max_prob", torch.stack([s["max_prob"] for s in steps]))
    fx.full("decode.chosen", torch.stack([s["chosen"] for s in steps]), np.int32)
    fx.full("decode.feat.sample", torch.stack([s["feat_sample"] for s in steps]))
    fx.full("decode.feat.l2", torch.stack([s["feat_l2"] for s in steps]))
    if "src" in steps[0]:
        fx.full("decode.src", torch.stack([s["src"] for s in steps]), np.int32)
    if case in BEAM_CASES:  # recorded rows are a subset: the teacher forcing needs every row's input
        fx.full("decode.input_all", torch.stack([s["input_all"] for s in steps]), np.int32)
    fx.full("result.ids", raw["ids"], np.int32)
    fx.full("result.prob", raw["prob"])
    if plan is not None:
        fx.full("plan.tokens", plan, np.int32)
        fx.full("plan.margin", margin)
    if step_margin is not None:
        fx.full("plan.step_margin", step_margin)
    res = results[0]
    if task == "detection":
        fx.full("result.boxes", res["boxes"].reshape(-1, 4))
        fx.full("result.labels", res["labels"], np.int32)
        fx.full("result.scores", res["scores"])
    elif task == "instance":
        fx.full("result.labels", res["labels"], np.int32)
        fx.full("result.scores", res["scores"])
    elif task == "grounding":
        fx.full("result.box", res["box"])
    elif task == "semantic" and res["map"] is not None:
        fx.sample("result.map", torch.from_numpy(res["map"]), "(H0, W0) class ids")
    tok = ufo_tokenizer.default_tokenizer()
    meta = {
        "ufo.fixture": "1",
        "generator": "tools/reference/make_fixtures.py",
        "config": cfg.name,
        "config_json": cfg.to_json(),
        "task": task,
        "case": case,
        # the decoder settings the results were made with (inference §6.3)
        "beam_size": str(beam),
        "temperature": repr(float(tau if tau is not None else tc.temperature)) if beam > 1 else "",
        "length_penalty": repr(float(alpha if alpha is not None else tc.alpha)) if beam > 1 else "",
        "seed": str(SEED),
        "torch": torch.__version__,
        "precision": "float32 (CPU)",
        "image": f"synthetic {S}x{S}",
        "grounding_text": GROUNDING_TEXT if task == "grounding" else "",
        "first_global_layer": str(rec["image.first_global_index"]),
        "results": json.dumps(result_json(task, res, model.cfg)),
        "decoded_texts": json.dumps(
            {str(r): ufo_tokenizer.decode(raw["ids"][r].tolist(), tok=tok) for r in rows if r < len(raw["ids"])}
        ),
        "samples": json.dumps(fx.samples),
        "timing_ms": json.dumps({k: round(v, 1) for k, v in ms.items()}),
    }
    name = f"{cfg.name}-{task}-{case}.safetensors"
    path = os.path.join(out_dir, name)
    save_file(fx.tensors, path, metadata=meta)
    return path, wall, ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="tiny,vit-b")
    ap.add_argument("--tasks", default=",".join(ufo_config.TASKS))
    ap.add_argument("--cases", default="")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=OUT_DIR)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    for cname in a.configs.split(","):
        model = build_model(cname)
        cases = a.cases.split(",") if a.cases else (["free", "planted"] if cname == "tiny" else ["planted"])
        for task in a.tasks.split(","):
            for case in cases:
                path, wall, ms = generate(model, task, case, a.out)
                stages = " ".join(f"{k}={v:.0f}" for k, v in ms.items())
                print(f"{os.path.basename(path)}: {os.path.getsize(path)} bytes, {wall:.1f} s ({stages} ms)",
                      flush=True)


if __name__ == "__main__":
    main()
