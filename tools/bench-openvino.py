#!/usr/bin/env python3
"""The reference's image pass (tools/reference/, PyTorch) converted to OpenVINO and timed on the
CPU next to ufo-bench's image pass of the same config, task and size; prints the ratio.

  python3 tools/bench-openvino.py --config vit-b --task detection --threads 2 \
      --precision bf16|fp32|both --ufo-bench build/tools/ufo-bench/ufo-bench [--iterations 3] \
      [--rounds 2]

What is converted: patch embedding + the image pass of every layer (inference §5.2, §5.4:
ufo_model.UfoViT.patch_forward and img_forward, grid sampling included for grid tasks), with the
prompt's text K/V computed once by PyTorch and frozen into the graph as constants — the part of a
frame that ufo-bench reports as "image pass". Weights: the deterministic random weights of
docs/weights-prng.md (seed 0), as ufo-bench's default. OpenVINO runs with one stream, `threads`
inference threads and the inference precision hint f32 or bf16 (bf16 only where the CPU has it).
Needs: pip install openvino (and the reference's torch).
"""

import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "reference"))

import ufo_config  # noqa: E402
import ufo_model  # noqa: E402
import ufo_pipeline  # noqa: E402
import ufo_prng  # noqa: E402


class ImagePass(torch.nn.Module):
    """img (1, 3, S, S) normalised -> the mean-layer map and every layer's image K/V."""

    def __init__(self, model, text_kv, mask, ref):
        super().__init__()
        self.model = model
        self.text_kv = text_kv
        self.mask = mask
        self.ref = ref

    def forward(self, img):
        x0 = self.model.patch_forward(img)
        img_kv, feats, fmap = self.model.img_forward(x0, self.text_kv, self.mask, self.ref)
        outs = [fmap]
        for k, v in img_kv:
            outs += [k, v]
        outs += [f for f in feats if f is not None]
        return tuple(outs)


def ufo_bench_image_ms(path, a, size):
    cmd = [path, "--config", a.config, "--task", a.task, "--width", str(size), "--height", str(size),
           "--threads", str(a.threads), "--precision", a.precision, "--iterations",
           str(a.iterations), "--warmup", "1", "--plan", "trained"]  # short decode: not timed here
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    m = re.search(r"image pass\s+([0-9.]+) ms", out)
    if not m:
        sys.exit("bench-openvino: no 'image pass' line in ufo-bench's output:\n" + out)
    impl = re.search(r"oneDNN matmul (\S+)", out)
    return float(m.group(1)), impl.group(1) if impl else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="vit-b")
    ap.add_argument("--task", default="detection", choices=ufo_config.TASKS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "both"],
                    help="both: fp32 then bf16 on one conversion")
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--ufo-bench", help="ufo-bench binary: time its image pass too and print the ratio")
    ap.add_argument("--rounds", type=int, default=1,
                    help="OpenVINO and ufo-bench timed alternately this many times (a shared machine: "
                         "each round's ratio compares neighbouring runs)")
    a = ap.parse_args()
    import openvino as ov

    torch.set_num_threads(a.threads)
    cfg = ufo_config.builtin(a.config)
    tc = cfg.tasks[a.task]
    S = tc.input_size
    model = ufo_model.UfoViT(cfg)
    model.load_state_dict(ufo_prng.random_torch_state_dict(cfg, 0), strict=True)
    model = model.eval()
    bgr = np.ascontiguousarray(ufo_pipeline.synthetic_image(S, S)[:, :, ::-1])
    img, *_ = ufo_pipeline.preprocess(bgr, cfg, a.task)
    img = img[None]
    ids, mask = ufo_pipeline.tokenize([ufo_pipeline.prompt_for(a.task, cfg, None)])
    ref = None
    if tc.grid_per_window > 0:
        Hp = S // cfg.patch_size
        ref, _, _ = ufo_model.grid_layout(Hp, Hp, cfg.window_size, tc.grid_per_window)
    with torch.no_grad():
        text_kv = model.text_forward(ids, mask)
        wrapped = ImagePass(model, text_kv, mask, ref).eval()
        t0 = time.perf_counter()
        ov_model = ov.convert_model(wrapped, example_input=img)
        conv_s = time.perf_counter() - t0
    core = ov.Core()
    for prec in ["fp32", "bf16"] if a.precision == "both" else [a.precision]:
        a.precision = prec
        run_one(core, ov_model, img, a, S, conv_s)


def run_one(core, ov_model, img, a, S, conv_s):
    import openvino as ov

    props = {"INFERENCE_NUM_THREADS": a.threads, "NUM_STREAMS": 1,
             "INFERENCE_PRECISION_HINT": "bf16" if a.precision == "bf16" else "f32",
             "PERFORMANCE_HINT": "LATENCY"}
    compiled = core.compile_model(ov_model, "CPU", props)
    req = compiled.create_infer_request()
    x = img.numpy()
    req.infer({0: x})  # warm-up
    prec = compiled.get_property("INFERENCE_PRECISION_HINT")
    print(f"bench-openvino: {a.config} {a.task} {S}x{S}, threads {a.threads}, precision {a.precision} "
          f"(OpenVINO {ov.__version__}, inference precision {prec}; conversion {conv_s:.1f} s)")
    ratios = []
    for _ in range(a.rounds):
        times = []
        for _ in range(a.iterations):
            t0 = time.perf_counter()
            req.infer({0: x})
            times.append(1e3 * (time.perf_counter() - t0))
        ov_ms = float(np.median(times))
        print(f"  openvino image pass   {ov_ms:10.1f} ms (median of {a.iterations})", flush=True)
        if a.ufo_bench:
            ufo_ms, impl = ufo_bench_image_ms(a.ufo_bench, a, S)
            ratios.append(ufo_ms / ov_ms)
            print(f"  ufo-bench image pass  {ufo_ms:10.1f} ms (median of {a.iterations})"
                  + (f", oneDNN {impl}" if impl else ""))
            print(f"  ratio ufo / openvino  {ufo_ms / ov_ms:10.2f}  (> 1: OpenVINO faster)", flush=True)
    if len(ratios) > 1:
        print(f"  ratio, median of {len(ratios)} rounds {float(np.median(ratios)):6.2f}", flush=True)


if __name__ == "__main__":
    main()
