#!/usr/bin/env python3
"""Writes the seed corpus of the model-file fuzz target (tests/fuzz/corpus/model-file/): small
files that reach each stage of the reader (safetensors framing, JSON header, metadata, format
version, config, tensor binding, vocabulary, label sets), valid up to the stage they break.
The config and the tensor table come from models/ufo-demo.safetensors (its header only).

Usage: python3 tests/fuzz/make_corpus.py   (from the repository root; rewrites the directory)
"""
import json
import os
import struct

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus", "model-file")


def st(header, data=b"", raw=None):
    """A safetensors file: 8-byte little-endian header length, JSON header, data."""
    h = raw if raw is not None else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data


demo = os.path.join(ROOT, "models", "ufo-demo.safetensors")
with open(demo, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    demo_header = json.loads(f.read(n))
meta = demo_header["__metadata__"]
tensors = {k: v for k, v in demo_header.items() if k != "__metadata__"}
small_vocab = "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##c"]) + "\n"
base_meta = {"ufo.format": meta["ufo.format"], "ufo.config": meta["ufo.config"],
             "ufo.vocab": small_vocab}
base_meta.update({k: v for k, v in meta.items() if k.startswith("ufo.labels.")})

one = {"x": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
seeds = {
    "empty": b"",
    "short": b"\x05\x00\x00",
    "header-too-long": struct.pack("<Q", 1 << 40) + b"{}",
    "bad-json": st(None, raw=b'{"a": [1, 2,'),
    "not-object": st([1, 2, 3]),
    "duplicate-key": st(None, raw=b'{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                                  b'"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
                        data=b"\0" * 4),
    "metadata-not-strings": st({"__metadata__": {"ufo.format": 1}}),
    "one-tensor": st(one, b"\0" * 16),
    "bad-dtype": st({"x": {"dtype": "F31", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
    "shape-overflow": st({"x": {"dtype": "F32", "shape": [1 << 62, 1 << 62],
                                "data_offsets": [0, 4]}}, b"\0" * 4),
    "overlap": st({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                   "y": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12),
    "offsets-past-end": st({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
                           b"\0" * 8),
    "no-format": st({"__metadata__": {"a": "b"}, **one}, b"\0" * 16),
    "wrong-format": st({"__metadata__": {"ufo.format": "999"}, **one}, b"\0" * 16),
    "no-config": st({"__metadata__": {"ufo.format": meta["ufo.format"]}, **one}, b"\0" * 16),
    "bad-config": st({"__metadata__": {"ufo.format": meta["ufo.format"],
                                       "ufo.config": '{"name": "x", "hidden": -3}'}, **one},
                     b"\0" * 16),
    "demo-config-one-tensor": st({"__metadata__": base_meta, **one}, b"\0" * 16),
    # the demo model's tensor table without its data section
    "demo-table-no-data": st({"__metadata__": base_meta, **tensors}),
}
os.makedirs(OUT, exist_ok=True)
for f in os.listdir(OUT):
    os.remove(os.path.join(OUT, f))
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {os.path.relpath(OUT, ROOT)}")
