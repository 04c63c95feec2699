#!/usr/bin/env python3
"""Reference inference CLI: JSON results on stdout, per-stage timing on stderr.

  python3 tools/reference/ufo_ref.py --config vit-b --task detection --random-weights 0 \
      --image synthetic [--prompt TEXT] [--checkpoint file.pth|.safetensors] [--plan planted] \
      [--threads N] [--beam-size K] [--temperature T] [--length-penalty A] [--device cpu|cuda]
"""

import argparse
import json
import os
import sys
import time

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ufo_config  # noqa: E402
import ufo_model  # noqa: E402
import ufo_pipeline  # noqa: E402
import ufo_plans  # noqa: E402
import ufo_prng  # noqa: E402
from ufo_json import result_json  # noqa: E402


def load_checkpoint(path):
    """An official .pth (mmengine dict with 'state_dict', or a bare state dict) or .safetensors."""
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path)
    ck = torch.load(path, map_location="cpu", weights_only=True)
    return ck.get("state_dict", ck)


def config_for(args):
    if os.path.exists(args.config):
        with open(args.config) as f:
            return ufo_config.UfoConfig.from_json(f.read())
    return ufo_config.builtin(args.config)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="vit-b", help="built-in name or config JSON file")
    ap.add_argument("--task", required=True, choices=ufo_config.TASKS)
    ap.add_argument("--random-weights", type=int, default=None, metavar="SEED")
    ap.add_argument("--checkpoint")
    ap.add_argument("--image", required=True, help="image file or 'synthetic'")
    ap.add_argument("--prompt", help="grounding: referring expression")
    ap.add_argument("--plan", choices=["planted"], help="planted-plan test hook (docs/reference.md)")
    ap.add_argument("--beam-size", type=int)
    ap.add_argument("--temperature", type=float,
                    help="beam search: logits / T before the log-softmax (default: the task's config)")
    ap.add_argument("--instance-boxes", choices=["region", "mask"], default="region",
                    help="instance boxes: largest connected region of the mask, or all of it (mask2bbox)")
    ap.add_argument("--length-penalty", type=float,
                    help="beam search: hypothesis score sum / len^A (default: the task's config)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run the frame N times in this process and report the last run (warm)")
    ap.add_argument("--bf16", action="store_true",
                    help="bf16 autocast (as the original runs on GPUs); timing comparisons only")
    a = ap.parse_args()
    if a.temperature is not None and not a.temperature > 0:
        ap.error("--temperature must be > 0")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    cfg = config_for(a)
    tc = cfg.tasks[a.task]
    model = ufo_model.UfoViT(cfg)
    t0 = time.perf_counter()
    if a.checkpoint:
        model.load_state_dict(load_checkpoint(a.checkpoint), strict=True)
    elif a.random_weights is not None:
        model.load_state_dict(ufo_prng.random_torch_state_dict(cfg, a.random_weights), strict=True)
    else:
        ap.error("give --checkpoint or --random-weights SEED")
    model = model.eval().to(a.device)
    load_ms = 1e3 * (time.perf_counter() - t0)
    if a.image == "synthetic":
        S = tc.input_size
        bgr = np.ascontiguousarray(ufo_pipeline.synthetic_image(S, S)[:, :, ::-1])
    else:
        bgr = cv2.imread(a.image, cv2.IMREAD_COLOR)
        if bgr is None:
            sys.exit(f"cannot read image {a.image}")
    plan = margin = None
    if a.plan == "planted":
        S = tc.input_size
        Hp = S // cfg.patch_size
        grid_w = tc.grid_per_window * (Hp // cfg.window_size) if tc.grid_per_window else 0
        p, m = ufo_plans.make_plan(cfg, a.task, grid_w * grid_w if grid_w else 1, grid_w)
        plan, margin = torch.from_numpy(p).long(), torch.from_numpy(m)
    texts = [a.prompt] if a.task == "grounding" else None
    # --bf16: autocast as the original code runs on GPUs (matrix products in bf16)
    dev_type = torch.device(a.device).type
    with torch.autocast(device_type=dev_type, dtype=torch.bfloat16, enabled=a.bf16):
        for _ in range(max(a.repeat, 1)):
            results, raw, ms = ufo_pipeline.run(model, a.task, [bgr], texts, plan, margin,
                                                a.beam_size, temperature=a.temperature,
                                                length_penalty=a.length_penalty,
                                                instance_boxes=a.instance_boxes)
    out = result_json(a.task, results[0], cfg)
    out.update(task=a.task, config=cfg.name, image_size=[int(bgr.shape[1]), int(bgr.shape[0])])
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    sys.stderr.write(f"load {load_ms:.1f} ms\n")
    for k in ("preprocess", "text", "image", "grid", "decode", "post"):
        sys.stderr.write(f"{k} {ms.get(k, 0.0):.1f} ms\n")
    sys.stderr.write(f"total {sum(ms.values()):.1f} ms, decode steps {raw['ids'].shape[1]}\n")


if __name__ == "__main__":
    main()
