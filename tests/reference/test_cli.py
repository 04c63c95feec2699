"""ufo_ref.py: JSON on stdout, stage timings on stderr; checkpoints load with strict=True."""

import json
import os
import subprocess
import sys

import torch
from safetensors.torch import save_file

import ufo_config
import ufo_prng

CLI = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "reference", "ufo_ref.py")


def run(*args):
    p = subprocess.run([sys.executable, CLI, "--config", "tiny", "--threads", "1", *args],
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout), p.stderr


def test_caption_planted_and_timings():
    out, err = run("--task", "caption", "--random-weights", "0", "--image", "synthetic", "--plan", "planted")
    assert out["caption"] == "a man riding a horse on a beach"
    for stage in ("preprocess", "text", "image", "grid", "decode", "post"):
        assert f"{stage} " in err


def test_checkpoints_match_random_weights(tmp_path):
    sd = ufo_prng.random_torch_state_dict(ufo_config.builtin("tiny"), 0)
    st = tmp_path / "w.safetensors"
    save_file({"backbone." + k[len("backbone."):]: v.contiguous() for k, v in sd.items()}, str(st))
    pth = tmp_path / "w.pth"
    torch.save({"meta": {}, "state_dict": sd}, str(pth))
    args = ["--task", "grounding", "--image", "synthetic", "--prompt", "a dog", "--plan", "planted"]
    ref, _ = run(*args, "--random-weights", "0")
    assert ref["text"] == "204, 229, 149, 112"
    assert run(*args, "--checkpoint", str(st))[0] == ref
    assert run(*args, "--checkpoint", str(pth))[0] == ref


def test_beam_flags_reproduce_the_recipe_fixture():
    """--beam-size/--temperature/--length-penalty give the beam-recipe fixture's results."""
    from safetensors import safe_open

    fix = os.path.join(os.path.dirname(__file__), "..", "data", "fixtures", "tiny-detection-beam-recipe.safetensors")
    with safe_open(fix, "np") as f:
        want = json.loads(f.metadata()["results"])
    out, _ = run("--task", "detection", "--random-weights", "0", "--image", "synthetic", "--plan", "planted",
                 "--beam-size", "3", "--temperature", "1.5", "--length-penalty", "10")
    assert out["labels"] == want["labels"] and len(out["scores"]) == len(want["scores"])
    for a, b in zip(out["scores"], want["scores"]):
        assert abs(a - b) <= 1e-5
    p = subprocess.run([sys.executable, CLI, "--config", "tiny", "--task", "caption", "--random-weights", "0",
                        "--image", "synthetic", "--temperature", "0"], capture_output=True, text=True)
    assert p.returncode == 2 and "--temperature must be > 0" in p.stderr
