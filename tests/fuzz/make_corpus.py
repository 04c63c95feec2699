#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/, docs/reliability.md):

model-file  small files that reach each stage of the model-file reader (safetensors framing, JSON
            header, metadata, format version, config, tensor binding, vocabulary, label sets),
            valid up to the stage they break. The config and the tensor table come from
            models/ufo-demo.safetensors (its header only).
pth         torch.save-style zip archives built here (stored entries, hand-assembled protocol-2
            and -4 pickles, no torch needed) that reach each stage of ufo-convert's reader (zip
            directory, CRC, unpickler, state dict, storages, strided views, binding against the
            tiny config), plus tests/data/convert/small.pth and evil.pth.
prompt      referring expressions: plain, long, punctuation only, accents, CJK, emoji, control
            characters, the added tokens, invalid and truncated UTF-8.
properties  class-thresholds / classes strings, lines / zones strings, JSON and key-file
            analytics configs, valid and broken.

Files named regress-* are inputs that once crashed a target (docs/reliability.md lists them);
they are kept when the seeds are rewritten.

Usage: python3 tests/fuzz/make_corpus.py [TARGET...]   (from the repository root; rewrites the
seeds of the given targets, all of them by default)
"""
import io
import json
import os
import struct
import sys
import zipfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def st(header, data=b"", raw=None):
    """A safetensors file: 8-byte little-endian header length, JSON header, data."""
    h = raw if raw is not None else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data




def model_file_seeds():
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
    return seeds


# ---------------------------------------------------------------- pth: pickle opcodes (pickletools)

def p_str(x):
    b = x.encode() if isinstance(x, str) else x
    return b"X" + struct.pack("<I", len(b)) + b


def p_int(n):
    return b"J" + struct.pack("<i", n)


def p_tuple(*items):
    return b"(" + b"".join(items) + b"t"


def p_global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def p_dict(pairs):
    return b"}(" + b"".join(k + v for k, v in pairs) + b"u"


def p_tensor(key, storage="FloatStorage", numel=1, offset=0, shape=(1,), stride=(1,)):
    """torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride, False, {})"""
    storage_pid = p_tuple(p_str("storage"), p_global("torch", storage), p_str(key), p_str("cpu"),
                          p_int(numel)) + b"Q"
    args = p_tuple(storage_pid, p_int(offset), p_tuple(*map(p_int, shape)),
                   p_tuple(*map(p_int, stride)), b"\x89", p_global("collections", "OrderedDict")
                   + b")R")
    return p_global("torch._utils", "_rebuild_tensor_v2") + args + b"R"


def pickle2(obj):
    return b"\x80\x02" + obj + b"."


def state_dict(tensors, wrap=True):
    sd = p_dict([(p_str(name), t) for name, t in tensors])
    if wrap:
        return p_dict([(p_str("meta"), p_dict([(p_str("epoch"), p_int(3))])),
                       (p_str("state_dict"), sd)])
    return sd


def pth(pkl, storages, prefix="archive", zip64=False, method=zipfile.ZIP_STORED):
    """A torch.save-style zip: <prefix>/data.pkl and <prefix>/data/<key>."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        entries = [(f"{prefix}/data.pkl", pkl)] + [(f"{prefix}/data/{k}", v)
                                                  for k, v in storages.items()]
        for name, data in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            with z.open(info, "w", force_zip64=zip64) as f:
                f.write(data)
    return buf.getvalue()


def f32(*v):
    return struct.pack(f"<{len(v)}f", *v)


def pth_seeds():
    bias = "backbone.patch_embed.projection.bias"  # (64,) in the tiny config
    one = [("backbone.a", p_tensor("0", numel=4, shape=(2, 2), stride=(2, 1)))]
    st0 = {"0": f32(1, 2, 3, 4)}
    seeds = {
        "empty": b"",
        "not-zip": b"PK\x03\x04 not really a zip archive",
        "eocd-only": b"PK\x05\x06" + b"\0" * 18,
        "no-data-pkl": pth(b"", {}, prefix="x").replace(b"x/data.pkl", b"x/data.pkX"),
        "one-tensor": pth(pickle2(state_dict(one)), st0),
        "bare-state-dict": pth(pickle2(state_dict(one, wrap=False)), st0),
        "not-a-dict": pth(pickle2(p_tuple(p_int(1), b"N")), {}),
        "not-a-tensor": pth(pickle2(state_dict([("backbone.a", p_int(5))])), {}),
        "compressed": pth(pickle2(state_dict(one)), st0, method=zipfile.ZIP_DEFLATED),
        "zip64": pth(pickle2(state_dict(one)), st0, zip64=True),
        "missing-storage": pth(pickle2(state_dict(one)), {}),
        "storage-too-small": pth(pickle2(state_dict(one)), {"0": f32(1, 2)}),
        "view-past-end": pth(pickle2(state_dict(
            [("backbone.a", p_tensor("0", numel=4, offset=2, shape=(2, 2), stride=(2, 1)))])), st0),
        "negative-offset": pth(pickle2(state_dict(
            [("backbone.a", p_tensor("0", numel=4, offset=-1, shape=(2,), stride=(1,)))])), st0),
        "transposed": pth(pickle2(state_dict(
            [("backbone.a", p_tensor("0", numel=4, shape=(2, 2), stride=(1, 2)))])), st0),
        "expanded": pth(pickle2(state_dict(
            [("backbone.a", p_tensor("0", numel=1, shape=(4, 3), stride=(0, 0)))])), st0),
        "dtypes": pth(pickle2(state_dict([
            ("backbone.h", p_tensor("1", "HalfStorage", numel=2, shape=(2,))),
            ("backbone.b", p_tensor("1", "BFloat16Storage", numel=2, shape=(2,))),
            ("backbone.d", p_tensor("2", "DoubleStorage", numel=1)),
            ("backbone.l", p_tensor("2", "LongStorage", numel=1)),
            ("backbone.i", p_tensor("1", "IntStorage", numel=1)),
            ("backbone.u", p_tensor("1", "ByteStorage", numel=4, shape=(4,))),
            ("head.w", p_tensor("1", numel=1))])),
            {"1": b"\x00\x3c\x80\x3f", "2": struct.pack("<d", 2.5)}),
        # the tiny config's (64,) bias: binding gets as far as the missing tensors
        "tiny-bias": pth(pickle2(state_dict([(bias, p_tensor("0", numel=64, shape=(64,)))])),
                         {"0": f32(*range(64))}),
        "tiny-bias-wrong-shape": pth(pickle2(state_dict(
            [(bias, p_tensor("0", numel=63, shape=(63,)))])), {"0": f32(*range(63))}),
        "tiny-unknown-name": pth(pickle2(state_dict([("backbone.nosuch", p_tensor("0"))])),
                                 {"0": f32(1)}),
        "unknown-global": pth(pickle2(p_dict([
            (p_str("meta"), p_global("argparse", "Namespace") + b")R"),
            (p_str("state_dict"), p_dict([(p_str("backbone.a"), p_tensor("0"))]))])), {"0": f32(1)}),
        "parameter": pth(pickle2(state_dict([("backbone.p", p_global(
            "torch._utils", "_rebuild_parameter") + p_tuple(p_tensor("0"), b"\x88",
                                                            p_global("collections", "OrderedDict")
                                                            + b")R") + b"R")])), {"0": f32(1)}),
        # protocol 4: FRAME, SHORT_BINUNICODE, MEMOIZE, BINGET, STACK_GLOBAL, TUPLE1..3, LONG1
        "protocol4": pth(b"\x80\x04\x95" + struct.pack("<Q", 60) + b"}\x94(\x8c\x01a\x94"
                         b"\x8c\x0bcollections\x8c\x0bOrderedDict\x93)R\x8c\x01bK\x01\x85"
                         b"\x8c\x01cK\x01K\x02\x86\x8c\x01dK\x01K\x02K\x03\x87h\x01\x8a\x02"
                         b"\x00\x80\x8a\x00]\x94(K\x01K\x02eu.", {}),
        "crc-mismatch": None,
    }
    good = bytearray(seeds["one-tensor"])
    k = good.index(f32(1, 2, 3, 4))
    good[k] ^= 0xFF
    seeds["crc-mismatch"] = bytes(good)
    for name in ("small.pth", "evil.pth"):
        with open(os.path.join(ROOT, "tests", "data", "convert", name), "rb") as f:
            seeds[name.replace(".pth", "")] = f.read()
    return seeds


# ---------------------------------------------------------------- prompt

def prompt_seeds():
    return {
        "empty": b"",
        "one-word": b"circle",
        "phrase": b"the red circle on the left",
        "punctuation-only": b"!!! ... ???",
        "punctuation-mixed": b"the man's \"red\" (big) circle, left-most; #2",
        "blanks": b"  a\t\tb \n\n c\r\n ",
        "accents": "Café naïve Ångström résumé".encode(),
        "cjk": "北京的红色圆圈 and 東京".encode(),
        "emoji": "🔴 circle 👍🏽 ZWJ 👨‍👩‍👧".encode(),
        "combining": "e\u0301 a\u0308 \u0041\u030a".encode(),
        "controls": b"a\x01b\x7fc\x1bd",
        "nbsp-zero-width": "a\u00a0b\u200bc\u3000d\ufeff".encode(),
        "added-tokens": b"[DEC] the [ENC] <MASK> [CLS] [SEP] [PAD] [UNK] [MASK]",
        "long-word": b"a" * 150 + b" circle",
        "too-long": b"the red circle " * 200,
        "just-fits": b"a " * 500,
        "invalid-utf8": b"circle \xff\xfe red",
        "truncated-utf8": b"circle \xe2\x82",
        "overlong-utf8": b"\xc0\xaf \xe0\x80\xaf",
        "surrogate-utf8": b"\xed\xa0\x80 circle",
        "embedded-nul": b"red\x00circle",
        "numbers": b"3 circles 2.5 12,000",
        "uppercase-greek": "ΣΊΣΥΦΟΣ İstanbul ß".encode(),
    }


# ---------------------------------------------------------------- properties

def properties_seeds():
    json_cfg = {"lines": [{"name": "door", "points": [100, 200, 300, 200], "classes": ["person", 2]}],
                "zones": [{"name": "shop", "points": [[0, 0], [100, 0], [100, 100], [0, 100]]}]}
    return {
        "empty": b"",
        "class-thresholds": b"person=0.5,car=0.35, 2 = 0.9",
        "classes": b"circle,star, 2",
        "class-bad-value": b"person=1.5,car=x",
        "class-empty-name": b"=0.5",
        "class-big-id": b"circle,99999999999",
        "line": b"door:100,200,300,200",
        "lines-classes": b"door:100,200,300,200:person,car;exit:0,0,10,10;",
        "zone": b"shop:0,0,100,0,100,100,0,100:circle,3",
        "zone-concave": b"u:0,0,30,0,30,30,20,30,20,10,10,10,10,30,0,30",
        "line-degenerate": b"x:1,1,1,1",
        "line-three-coords": b"x:1,2,3",
        "not-finite": b"x:nan,0,1,inf",
        "huge-numbers": b"x:1e308,-1e308,1e-320,0x10",
        "duplicate-names": b"a:0,0,1,1;a:0,0,2,2",
        "json-config": json.dumps(json_cfg).encode(),
        "json-bad-member": b'{"lines": [], "other": 1}',
        "json-bad-points": b'{"lines": [{"name": "l", "points": [[1, 2, 3], "x"]}]}',
        "keyfile-config": b"[line door]\npoints=100,200,300,200\nclasses=person;car;\n\n"
                          b"[zone shop]\npoints=0,0,100,0,100,100\n",
        "keyfile-bad-group": b"[other]\npoints=1,2,3,4\n",
        "keyfile-no-points": b"[zone z]\nclasses=a\n",
    }


TARGETS = {"model-file": model_file_seeds, "pth": pth_seeds, "prompt": prompt_seeds,
           "properties": properties_seeds}


def main():
    names = sys.argv[1:] or list(TARGETS)
    for target in names:
        if target not in TARGETS:
            sys.exit(f"unknown target {target!r}: one of {', '.join(TARGETS)}")
        out = os.path.join(CORPUS, target)
        seeds = TARGETS[target]()
        os.makedirs(out, exist_ok=True)
        for f in os.listdir(out):
            if not f.startswith("regress-"):
                os.remove(os.path.join(out, f))
        for name, data in seeds.items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
        print(f"{len(seeds)} seeds in {os.path.relpath(out, ROOT)}")


if __name__ == "__main__":
    main()
