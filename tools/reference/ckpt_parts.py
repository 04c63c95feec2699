"""A training checkpoint (train_demo.py) in parts small enough to travel to and from the GPU
machine (docs/demo-model.md "Training on the GPU"): files of at most 15 MiB, 64 MiB in all.

    python3 tools/reference/ckpt_parts.py pack runs/x/checkpoint.pth OUTDIR   # OUTDIR/checkpoint.part-NNN
    python3 tools/reference/ckpt_parts.py unpack OUTDIR runs/x/checkpoint.pth

Packing keeps, of every tensor with one row per vocabulary id (the tied word embeddings and their
two AdamW moments), only the rows of the model's own vocabulary (train_demo.own_vocabulary of
the checkpoint's config). Nothing is lost that training or the exported model uses: with
`--loss-vocab targets` the other rows get no gradient (their ids are never inputs or scored
targets) and the own-vocabulary export drops them; unpacking puts zeros there. That takes the
`cpu` preset's checkpoint from 108 MB to about 38 MB.
"""

import argparse
import glob
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import train_demo  # noqa: E402
from ufo_config import UfoConfig  # noqa: E402

PART_BYTES = 15 * 2**20


def _packed_paths(obj, n_vocab, path=()):
    """Paths (key tuples) of every 2-D tensor of obj whose first dimension is n_vocab."""
    if isinstance(obj, torch.Tensor):
        return [path] if obj.ndim == 2 and obj.shape[0] == n_vocab else []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else []
    return [q for k, v in items for q in _packed_paths(v, n_vocab, path + (k,))]


def _apply(obj, paths, fn):
    for path in paths:
        parent = obj
        for k in path[:-1]:
            parent = parent[k]
        parent[path[-1]] = fn(parent[path[-1]])


def pack(ckpt_path, out_dir):
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    cfg = UfoConfig.from_json(ck["config"])
    rows = torch.tensor(train_demo.own_vocabulary(cfg))
    V = cfg.vocab_size
    paths = _packed_paths(ck, V)
    if not any(p[:1] == ("model",) for p in paths):
        raise ValueError(f"{ckpt_path}: no word-embedding tensor of {V} rows")
    _apply(ck, paths, lambda t: t[rows].clone())
    small = dict(ck, packed_rows=rows, packed_vocab_size=V, packed_paths=paths)
    buf = io.BytesIO()
    torch.save(small, buf)
    data = buf.getvalue()
    os.makedirs(out_dir, exist_ok=True)
    for old in glob.glob(os.path.join(out_dir, "checkpoint.part-*")):
        os.remove(old)
    parts = []
    for i in range(0, len(data), PART_BYTES):
        parts.append(os.path.join(out_dir, f"checkpoint.part-{i // PART_BYTES:03d}"))
        with open(parts[-1], "wb") as f:
            f.write(data[i : i + PART_BYTES])
    return parts, len(data)


def unpack(parts_dir, ckpt_path):
    parts = sorted(glob.glob(os.path.join(parts_dir, "checkpoint.part-*")))
    if not parts:
        raise FileNotFoundError(f"no checkpoint.part-* in {parts_dir}")
    data = b"".join(open(p, "rb").read() for p in parts)
    small = torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
    rows, V = small.pop("packed_rows"), small.pop("packed_vocab_size")
    paths = small.pop("packed_paths")

    def widen(t):
        full = torch.zeros((V,) + tuple(t.shape[1:]), dtype=t.dtype)
        full[rows] = t
        return full

    ck = small
    _apply(ck, paths, widen)
    os.makedirs(os.path.dirname(os.path.abspath(ckpt_path)), exist_ok=True)
    torch.save(ck, ckpt_path + ".tmp")
    os.replace(ckpt_path + ".tmp", ckpt_path)
    return ck


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("checkpoint")
    p.add_argument("out_dir")
    u = sub.add_parser("unpack")
    u.add_argument("parts_dir")
    u.add_argument("checkpoint")
    a = ap.parse_args()
    if a.cmd == "pack":
        parts, n = pack(a.checkpoint, a.out_dir)
        print(f"{len(parts)} parts, {n} bytes")
    else:
        ck = unpack(a.parts_dir, a.checkpoint)
        print(f"{a.checkpoint}: step {ck['step']}")


if __name__ == "__main__":
    main()
