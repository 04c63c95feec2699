#!/usr/bin/env python3
"""ufo-convert end-to-end test (suite 'model').

usage: test_convert.py UFO_CONVERT SOURCE_ROOT

1. --random tiny: bit-identical to tools/reference/ufo_prng.py, config equal to ufo_config.py.
2. A torch.save'd mmengine-style checkpoint of a random tiny state dict (F32/F16/BF16 storages,
   a non-contiguous tensor, non-backbone keys, meta) converts to F32 exactly and to F16/BF16 with
   torch's rounding; the output is read back with the HF safetensors library.
3. Refusals: a pickle calling os.system (must not run), a wrong shape, a missing tensor.
"""
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile

try:
    import numpy as np
    import torch
    from safetensors import safe_open
except ImportError as e:  # meson: exit status 77 = skipped
    print("skipped:", e)
    sys.exit(77)

CONVERT, ROOT = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
import ufo_config  # noqa: E402
import ufo_prng  # noqa: E402

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(*args):
    p = subprocess.run([CONVERT, *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def read_bundle(path, framework="np"):
    with safe_open(path, framework) as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


cfg = ufo_config.builtin("tiny")
tmp = tempfile.mkdtemp(prefix="ufo-convert-")

# 1. random model
out = os.path.join(tmp, "random.safetensors")
rc, log = run("--random", "tiny", "--seed", "5", "-o", out)
check(rc == 0, "--random tiny exits 0: " + log.strip())
sd, meta = read_bundle(out)
ref = ufo_prng.random_state_dict(cfg, 5)
check(set(sd) == set(ref), "random model has exactly the reference tensor names")
check(all(np.array_equal(sd[k], ref[k]) and sd[k].dtype == ref[k].dtype for k in ref),
      "random model is bit-identical to ufo_prng.py (seed 5)")
check(ufo_config.UfoConfig.from_json(meta["ufo.config"]) == cfg, "ufo.config equals ufo_config.builtin('tiny')")
check(meta["ufo.format"] == "1" and len(meta["ufo.vocab"].splitlines()) == 30525, "format and vocab")
check(meta["ufo.labels.coco"].splitlines()[0] == "person", "coco labels embedded")

# every built-in config: the C JSON parses in Python to the same config
for name in ufo_config.BUILTIN_NAMES:
    rc, log = run("--print-config", name)
    check(rc == 0 and ufo_config.UfoConfig.from_json(log) == ufo_config.builtin(name),
          f"C built-in '{name}' equals ufo_config.builtin('{name}')")

# 2. checkpoint conversion
g = torch.Generator().manual_seed(0)
state = {}
for name, shape, dt in ufo_prng.tensor_specs(cfg):
    if dt == "i64":
        state[name] = torch.arange(shape[1]).reshape(shape)
    else:
        state[name] = torch.randn(*shape, generator=g) * 0.1
# storage variety: half and bfloat16 storages, and a transposed (non-contiguous) view
state["backbone.layers.0.ln1.bias"] = state["backbone.layers.0.ln1.bias"].half()
state["backbone.layers.1.ln1.bias"] = state["backbone.layers.1.ln1.bias"].bfloat16()
w = state["backbone.layers.2.attn.proj.weight"]
state["backbone.layers.2.attn.proj.weight"] = w.t().contiguous().t()
assert not state["backbone.layers.2.attn.proj.weight"].is_contiguous()
sd_in = dict(state)
sd_in["head.cls.weight"] = torch.zeros(3)  # not part of the backbone: skipped
ckpt = {"meta": {"epoch": 12, "lr": 1e-4, "classes": ("a", "b"), "flag": True, "none": None},
        "state_dict": sd_in}
pth = os.path.join(tmp, "ufo-tiny.pth")
torch.save(ckpt, pth)
for dtype in ("f32", "f16", "bf16"):
    out = os.path.join(tmp, f"conv-{dtype}.safetensors")
    rc, log = run("--checkpoint", pth, "--config", "tiny", "-o", out, "--dtype", dtype)
    check(rc == 0, f"convert --dtype {dtype} exits 0: " + log.strip().replace("\n", " | "))
    if rc:
        continue
    sd, meta = read_bundle(out, "pt")
    check(set(sd) == set(state), f"{dtype}: backbone tensors only")
    tdt = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[dtype]
    ok = True
    for k, v in state.items():
        if v.dtype == torch.int64:
            ok &= sd[k].dtype == torch.int64 and torch.equal(sd[k], v)
            continue
        # stored dtype as asked; values = torch's round-to-nearest-even from the float32 value
        if sd[k].dtype != tdt or not torch.equal(sd[k], v.float().to(tdt)):
            ok = False
            print("   mismatch in", k)
    check(ok, f"{dtype}: every value equals torch's conversion")

# --vocab: the plain 30522-line BERT file is completed with [DEC] [ENC] <MASK>; other sizes refused
full = open(os.path.join(ROOT, "engine", "data", "vocab.txt"), encoding="utf-8").read()
bert = os.path.join(tmp, "vocab.txt")
with open(bert, "w", encoding="utf-8") as f:
    f.write("".join(full.splitlines(keepends=True)[:30522]))
out = os.path.join(tmp, "vocab.safetensors")
rc, log = run("--checkpoint", pth, "--config", "tiny", "--vocab", bert, "-o", out)
_, meta = read_bundle(out) if rc == 0 else (None, {})
check(rc == 0 and meta.get("ufo.vocab") == full, "30522-line vocab.txt is completed to the embedded 30525 lines")
with open(bert, "a", encoding="utf-8") as f:
    f.write("extra\n")
rc, log = run("--checkpoint", pth, "--config", "tiny", "--vocab", bert, "-o", out)
check(rc == 1 and "vocabulary has 30523 lines" in log, "a 30523-line vocabulary is refused: " + log.strip())

# bare state dict, saved with the legacy-free default zip format
bare = os.path.join(tmp, "bare.pth")
torch.save(state, bare)
rc, log = run("--checkpoint", bare, "--config", "tiny", "-o", os.path.join(tmp, "bare.safetensors"))
check(rc == 0, "bare state dict converts")

# 3a. wrong shape and missing tensor are named
bad = dict(state)
bad["backbone.layers.3.attn.qkv.weight"] = torch.zeros(192, 60)
torch.save(bad, os.path.join(tmp, "shape.pth"))
rc, log = run("--checkpoint", os.path.join(tmp, "shape.pth"), "--config", "tiny", "-o",
              os.path.join(tmp, "x.safetensors"))
check(rc == 1 and "tensor 'backbone.layers.3.attn.qkv.weight' has shape [192, 60], expected [192, 64]" in log,
      "wrong shape is named: " + log.strip())
bad = dict(state)
del bad["backbone.embed.LayerNorm.bias"]
torch.save(bad, os.path.join(tmp, "missing.pth"))
rc, log = run("--checkpoint", os.path.join(tmp, "missing.pth"), "--config", "tiny", "-o",
              os.path.join(tmp, "x.safetensors"))
check(rc == 1 and "missing tensor 'backbone.embed.LayerNorm.bias'" in log, "missing tensor is named: " + log.strip())
rc, log = run("--checkpoint", pth, "--config", "vit-b", "-o", os.path.join(tmp, "x.safetensors"))
check(rc == 1 and "expected" in log, "config mismatch is refused: " + log.strip())

# 3b. malicious pickle: os.system must be refused, never run
marker = os.path.join(tmp, "pwned")


class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + marker,))


evil = os.path.join(tmp, "evil.pth")
with zipfile.ZipFile(evil, "w", compression=zipfile.ZIP_STORED) as z:
    z.writestr("evil/data.pkl", pickle.dumps({"state_dict": {"backbone.x": Evil()}}, protocol=2))
    z.writestr("evil/version", "3\n")
rc, log = run("--checkpoint", evil, "--config", "tiny", "-o", os.path.join(tmp, "evil.safetensors"))
check(rc == 1 and "refusing global 'posix.system'" in log.replace("os.system", "posix.system"),
      "GLOBAL os.system is refused: " + log.strip())
check(not os.path.exists(marker), "nothing was executed")
check(not os.path.exists(os.path.join(tmp, "evil.safetensors")), "no output written")
# with --allow-unknown-globals the object is inert, and a non-tensor in the state dict is an error
rc, log = run("--checkpoint", evil, "--config", "tiny", "--allow-unknown-globals", "-o",
              os.path.join(tmp, "evil.safetensors"))
check(rc == 1 and "'backbone.x' is not a tensor" in log and not os.path.exists(marker),
      "placeholders never run and never pass as tensors: " + log.strip())

# compressed entries are refused
comp = os.path.join(tmp, "deflated.pth")
with zipfile.ZipFile(pth) as zin, zipfile.ZipFile(comp, "w", compression=zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        zout.writestr(item.filename, zin.read(item.filename))
rc, log = run("--checkpoint", comp, "--config", "tiny", "-o", os.path.join(tmp, "x.safetensors"))
check(rc == 1 and "compressed entry" in log, "deflated archive refused: " + log.strip())

for f in os.listdir(tmp):
    os.unlink(os.path.join(tmp, f))
os.rmdir(tmp)
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
