"""ufo-bench and the PyTorch reference side by side: the same random weights
(docs/weights-prng.md), the same synthetic frame, the same decode plan and device, timed in one
run, stage by stage, with the ratio (issue 17's "35x the PyTorch reference").

  python3 tools/reference/side_by_side.py --ufo-bench build/tools/ufo-bench/ufo-bench \\
      --config vit-b --task detection --size 1120 --precision bf16 --plan trained --device cuda

The reference runs as the original code does on a GPU: bf16 autocast (always on a GPU, as the
original; on the CPU for --precision bf16), greedy selection kept on the device (ufo_pipeline.run
decode_on_device: no per-step logits download). --plan trained plants what a trained model
decodes (ufo_plans.trained_plan = tools/ufo-bench/bench_plan.c), so that both decode the same
steps; worst lets random weights decode every step. The two must report the same number of
decode steps, else the work differs and the ratio means nothing: exit status 1.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ufo_config  # noqa: E402
import ufo_model  # noqa: E402
import ufo_pipeline  # noqa: E402
import ufo_plans  # noqa: E402
import ufo_prng  # noqa: E402

STAGES = [("preprocess", "preprocess"), ("text pass", "text"), ("image pass", "image"),
          ("grid pass", "grid"), ("decode", "decode"), ("post-proc.", "post")]


def run_ufo_bench(a):
    cmd = [a.ufo_bench, "--config", a.config, "--seed", str(a.seed), "--task", a.task,
           "--width", str(a.size), "--height", str(a.size), "--device", a.device,
           "--precision", a.precision, "--iterations", str(a.iterations), "--warmup", str(a.warmup)]
    if a.plan == "trained":
        cmd += ["--plan", "trained"]
    if a.threads:
        cmd += ["--threads", str(a.threads)]
    if a.task == "grounding":
        cmd += ["--prompt", a.prompt]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"ufo-bench failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    ms, dev = {}, {}
    for name, key in STAGES + [("total", "total")]:
        m = re.search(rf"^\s*{re.escape(name)}\s+([0-9.]+) ms \(median[^)]*\)(?:\s+device\s+([0-9.]+) ms)?",
                      p.stdout, re.M)
        if m:
            ms[key] = float(m.group(1))
            if m.group(2):  # the GPU's own time of the stage (CUDA events)
                dev[key] = float(m.group(2))
    steps = re.search(r"decode steps \(last run\): (\d+)", p.stdout)
    if "total" not in ms or not steps:
        sys.exit(f"cannot read ufo-bench's output:\n{p.stdout[-2000:]}")
    return ms, dev, int(steps.group(1)), " ".join(cmd)


def run_reference(a):
    cfg = ufo_config.builtin(a.config)
    tc = cfg.tasks[a.task]
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    model = ufo_model.UfoViT(cfg)
    model.load_state_dict(ufo_prng.random_torch_state_dict(cfg, a.seed), strict=True)
    model = model.eval().to(dev)
    rgb = ufo_pipeline.synthetic_image(a.size, a.size)  # = ufo-bench's synthetic frame
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    plan = margin = None
    if a.plan == "trained":
        Hp = tc.input_size // cfg.patch_size
        gw = tc.grid_per_window * (Hp // cfg.window_size) if tc.grid_per_window else 0
        p, m = ufo_plans.trained_plan(cfg, a.task, gw * gw if gw else 1)
        plan, margin = torch.from_numpy(p).long(), torch.from_numpy(m)
    # decode steps counted at the model (beam search's output is shorter than its search)
    calls = [0]
    inner = model.decode_step

    def counted(*args, **kw):
        calls[0] += 1
        return inner(*args, **kw)

    model.decode_step = counted
    texts = [a.prompt] if a.task == "grounding" else None
    runs, steps = [], 0
    with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=a.precision == "bf16"):
        for i in range(a.warmup + a.iterations):
            calls[0] = 0
            _, _, ms = ufo_pipeline.run(model, a.task, [bgr], texts, plan, margin,
                                        decode_on_device=True)
            if i >= a.warmup:
                runs.append(dict(ms, total=sum(ms.values())))
            steps = calls[0]
    return {k: statistics.median(r.get(k, 0.0) for r in runs) for k in runs[0]}, steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ufo-bench", required=True, help="path of the ufo-bench binary")
    ap.add_argument("--config", default="vit-b")
    ap.add_argument("--task", required=True, choices=ufo_config.TASKS)
    ap.add_argument("--size", type=int, help="side of the square synthetic frame (default: the "
                    "task's input size; other sizes are resized to it by both)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--plan", choices=["trained", "worst"], default="trained")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0, help="random weights (docs/weights-prng.md)")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads of both (0: default)")
    ap.add_argument("--prompt", default="the red car", help="grounding expression (both)")
    a = ap.parse_args()
    if a.iterations < 1 or a.warmup < 0:
        ap.error("--iterations >= 1, --warmup >= 0")
    if a.size is None:
        a.size = ufo_config.builtin(a.config).tasks[a.task].input_size
    t0 = time.perf_counter()
    ufo, ufo_dev, ufo_steps, cmd = run_ufo_bench(a)
    ref, ref_steps = run_reference(a)
    dev_name = torch.cuda.get_device_name() if a.device == "cuda" else "CPU"
    print(f"side by side: {a.config} {a.task} {a.size}x{a.size} {a.precision} plan {a.plan} on "
          f"{dev_name}, median of {a.iterations} after {a.warmup} warm-up ({time.perf_counter() - t0:.0f} s)")
    print(f"  ufo-bench: {cmd}")
    K = ufo_config.builtin(a.config).tasks[a.task].beam_size
    # on a GPU the reference always runs under bf16 autocast, as the original (inference §8.1)
    ref_bf16 = a.precision == "bf16" or (a.device == "cuda" and torch.cuda.is_bf16_supported())
    print(f"  PyTorch reference: ufo_pipeline.run, {'bf16 autocast, ' if ref_bf16 else ''}"
          + ("greedy selection on the device" if K == 1 else f"beam search of {K} (its host-side loop)"))
    print(f"  {'stage':<12} {'ufo ms':>10} {'PyTorch ms':>11} {'ratio':>8}   ufo device ms")
    for _, key in STAGES + [("total", "total")]:
        u, r = ufo.get(key, 0.0), ref.get(key, 0.0)
        ratio = f"{r / u:8.1f}x" if u > 0 else "       -"
        d = f"{ufo_dev[key]:14.2f}" if key in ufo_dev else "             -"
        print(f"  {key:<12} {u:10.2f} {r:11.2f} {ratio} {d}")
    print(f"  decode steps: ufo {ufo_steps}, PyTorch {ref_steps}")
    print(f"  FPS: ufo {1e3 / ufo['total']:.2f}, PyTorch {1e3 / ref['total']:.2f}; "
          f"ratio {ref['total'] / ufo['total']:.2f}x")
    if ufo_steps != ref_steps:
        print("  ERROR: different decode step counts: the two did not decode the same work")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
