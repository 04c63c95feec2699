"""Give a demo model file its own vocabulary (docs/model-format.md, docs/demo-model.md).

    python3 tools/reference/own_vocab.py IN.safetensors OUT.safetensors

Keeps the rows of the word embeddings (also the tied output head) that the demo's tasks can read
or write — `train_demo.own_vocabulary`: class names, numbers, caption and expression words,
prompts, [PAD] [UNK] [CLS] [SEP] <MASK> — and their tokens; every other tensor is copied as it
is (F16). Decoding then scores those rows only, as training did with `--loss-vocab targets`.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import train_demo  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_in")
    ap.add_argument("model_out")
    a = ap.parse_args()
    model, _ = train_demo.load_model_file(a.model_in)
    if model.own_rows is not None:
        sys.exit(f"{a.model_in} already has its own vocabulary ({len(model.own_rows)} tokens)")
    rows = train_demo.own_vocabulary(model.cfg)
    train_demo.export(model, a.model_out, torch.float16, vocab_rows=rows)
    print(f"{a.model_out}: {len(rows)} of {model.cfg.vocab_size} vocabulary rows, "
          f"{os.path.getsize(a.model_out)} bytes")


if __name__ == "__main__":
    main()
