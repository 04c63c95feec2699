#!/usr/bin/env python3
"""Writes tests/gst/data/yuv420_bt601.bin: a random 38x22 4:2:0 picture and OpenCV's RGB
conversion of it (BT.601 limited range, the default of gst/ufoframe.c).

Layout: b"UFOYUV1\\n", uint16 width, uint16 height, Y (w*h), U (w/2*h/2), V (w/2*h/2),
RGB from cv2.COLOR_YUV2RGB_I420 (w*h*3), RGB from cv2.COLOR_YUV2RGB_NV12 (w*h*3).
Regenerate: python3 tests/gst/make_yuv_fixture.py
"""
import pathlib
import struct

import cv2
import numpy as np

W, H = 38, 22
rng = np.random.default_rng(20261123)
y = rng.integers(16, 236, (H, W), dtype=np.uint8)
u = rng.integers(16, 241, (H // 2, W // 2), dtype=np.uint8)
v = rng.integers(16, 241, (H // 2, W // 2), dtype=np.uint8)
i420 = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(H * 3 // 2, W)
uv = np.stack([u, v], -1).reshape(H // 2, W)
nv12 = np.concatenate([y, uv]).reshape(H * 3 // 2, W)
rgb_i420 = cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420)
rgb_nv12 = cv2.cvtColor(nv12, cv2.COLOR_YUV2RGB_NV12)
out = pathlib.Path(__file__).parent / "data" / "yuv420_bt601.bin"
out.parent.mkdir(exist_ok=True)
out.write_bytes(b"UFOYUV1\n" + struct.pack("<HH", W, H) + y.tobytes() + u.tobytes() + v.tobytes()
                + rgb_i420.tobytes() + rgb_nv12.tobytes())
print("wrote", out)
