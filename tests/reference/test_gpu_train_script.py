"""tools/gpu-train.sh on the CPU (DEVICE=cpu, the smoke preset, seconds-long runs): a run from
random weights leaves its checkpoint in parts of at most 15 MiB, an own-vocabulary model file and
an evaluation; a second run resumes from those parts at the step the first stopped."""
import json
import os
import re
import subprocess

import pytest

import train_demo

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run(out, parts, seconds, **extra):
    env = dict(os.environ, DEVICE="cpu", PRESET="smoke", INIT="", TRAIN_SECONDS=str(seconds),
               EVAL_N="1", BATCH="1", LOG_EVERY="1", TASKS="detection:1", PARTS_DIR=parts, **extra)
    r = subprocess.run(["bash", os.path.join(ROOT, "tools", "gpu-train.sh"), out], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(os.path.join(out, "train.log")) as f:
        lines = [json.loads(l) for l in f if l.startswith("{")]
    return lines


def test_train_pack_resume(tmp_path):
    first = run(str(tmp_path / "r1"), str(tmp_path / "none"), 2)
    stop = [l for l in first if l.get("stopped") == "time limit"]
    assert stop, first
    parts = sorted(p for p in os.listdir(tmp_path / "r1") if p.startswith("checkpoint.part-"))
    assert parts and all(os.path.getsize(tmp_path / "r1" / p) <= 15 * 2**20 for p in parts)
    model, meta = train_demo.load_model_file(str(tmp_path / "r1" / "ufo-demo.safetensors"))
    assert model.own_rows is not None  # exported with its own vocabulary
    with open(tmp_path / "r1" / "eval.json") as f:
        assert set(json.load(f)["metrics"]) == {"detection", "instance", "semantic", "caption", "grounding"}
    # the next stage: a new warm-up + cosine from the step the parts stopped at (CYCLE_START)
    second = run(str(tmp_path / "r2"), str(tmp_path / "r1"), 1, CYCLE_START=str(stop[0]["step"]))
    steps = [l["step"] for l in second if "task" in l]
    assert steps and steps[0] == stop[0]["step"], (steps, stop)
    assert [l["lr"] for l in second if "task" in l][0] == pytest.approx(3e-4 / 200)  # LR / WARMUP
    report = (tmp_path / "r2" / "report.md").read_text()
    assert re.search(r"start --resume", report), report
