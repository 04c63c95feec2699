#!/usr/bin/env python3
"""Writes the small checkpoints used by tests/engine/model/test_checkpoint.c (run from this folder):

small.pth  torch.save of an mmengine-style {"meta": ..., "state_dict": ...} with
           backbone.a  F32 (2, 3) = arange(6) / 4
           backbone.b  F16 (3, 2) = transposed view of arange(6) (non-contiguous: stride (1, 3))
           backbone.c  BF16 (2,) = [-1.5, 2.25]
           backbone.ids I64 (1, 4) = arange(4)
           head.w      F32 (1,)  = [7]   (not backbone)
evil.pth   a zip whose data.pkl calls os.system (must be refused, never run)
"""
import os
import pickle
import zipfile

import torch

sd = {
    "backbone.a": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4,
    "backbone.b": torch.arange(6, dtype=torch.float16).reshape(2, 3).t(),
    "backbone.c": torch.tensor([-1.5, 2.25], dtype=torch.bfloat16),
    "backbone.ids": torch.arange(4).reshape(1, 4),
    "head.w": torch.tensor([7.0]),
}
torch.save({"meta": {"epoch": 3, "lr": 0.5, "big": 2**40, "neg": -5, "t": (1, None, True)},
            "state_dict": sd}, "small.pth")


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


with zipfile.ZipFile("evil.pth", "w", compression=zipfile.ZIP_STORED) as z:
    z.writestr("evil/data.pkl", pickle.dumps({"state_dict": {"backbone.x": Evil()}}, protocol=2))
