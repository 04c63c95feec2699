"""Built-in UFO-ViT configs (identical to engine/model/config.c) and their JSON round trip.

Field names follow engine/model/config.h; per-task settings follow inference spec §1.2 and
segmentation spec §1.1.
"""

import copy
import json
from dataclasses import asdict, dataclass, field
from typing import Dict, List

TASKS = ("detection", "grounding", "caption", "instance", "semantic")

# Beam settings a config JSON may leave out, per task: those of the original's heads (inference
# §1.2). The dataclass defaults (1.0 / 1.0) are the other heads' values.
HEAD_BEAM_DEFAULTS = {"detection": {"temperature": 0.3, "alpha": 10.0}}


@dataclass
class TaskConfig:
    input_size: int
    resize: str = "bilinear"  # "bilinear" (cv2 INTER_LINEAR) | "bicubic" (PIL BICUBIC)
    resize_float: bool = False  # resize float32 pixels (instance) instead of uint8
    grid_per_window: int = 0  # 0 = no grid pass
    num_bins: int = 0
    max_length: int = 30
    beam_size: int = 1
    temperature: float = 1.0
    alpha: float = 1.0
    nms: str = "none"  # "none" | "soft" | "matrix"
    nms_iou: float = 0.5
    nms_min_score: float = 0.001
    nms_sigma: float = 2.0
    nms_filter: float = 0.05
    max_per_img: int = 100
    label_set: str = ""


@dataclass
class UfoConfig:
    name: str
    embed_dim: int
    num_heads: int
    head_dim: int
    ffn_dim: int
    num_layers: int
    global_layers: List[int]
    mean_layers: List[int]
    window_size: int = 14
    patch_size: int = 16
    img_size: int = 1120
    vocab_size: int = 30525
    max_position: int = 512
    ln_eps: float = 1e-6
    text_ln_eps: float = 1e-12
    pixel_mean: List[float] = field(default_factory=lambda: [123.675, 116.28, 103.53])
    pixel_std: List[float] = field(default_factory=lambda: [58.395, 57.12, 57.375])
    tasks: Dict[str, TaskConfig] = field(default_factory=dict)

    def is_global(self, i):
        return i in self.global_layers

    @property
    def pos_side(self):
        return self.img_size // self.patch_size

    def to_json(self):
        return json.dumps(asdict(self), sort_keys=False)

    @staticmethod
    def from_json(text):
        d = json.loads(text) if isinstance(text, str) else copy.deepcopy(text)
        tasks = {k: TaskConfig(**{**HEAD_BEAM_DEFAULTS.get(k, {}), **v}) for k, v in d.pop("tasks", {}).items()}
        cfg = UfoConfig(**d, tasks=tasks)
        cfg.validate()
        return cfg

    def validate(self):
        if self.embed_dim != self.num_heads * self.head_dim:
            raise ValueError("embed_dim must equal num_heads * head_dim")
        for i in self.global_layers + self.mean_layers:
            if not 0 <= i < self.num_layers:
                raise ValueError(f"layer index {i} out of range")
        if self.img_size % self.patch_size:
            raise ValueError("img_size must be a multiple of patch_size")
        for name, t in self.tasks.items():
            if name not in TASKS:
                raise ValueError(f"unknown task {name}")
            if t.input_size % (self.patch_size * self.window_size):
                raise ValueError(f"{name}: input_size must be a multiple of 224")


def _tasks(det_size, inst_size, sem_size, num_bins_det):
    return {
        # beam settings of the original's detection head (UFOViTDetHead: temperature 0.3,
        # length penalty 10.0; used only with beam_size > 1, inference §1.2)
        "detection": TaskConfig(
            det_size, "bilinear", False, 5, num_bins_det, 30, 1, 0.3, 10.0, nms="soft", label_set="coco"
        ),
        "grounding": TaskConfig(224, "bicubic", False, 0, 448, 20, 1),
        "caption": TaskConfig(224, "bicubic", False, 0, 0, 20, 2, 1.0, 0.7),
        "instance": TaskConfig(inst_size, "bilinear", True, 5, 0, 30, 1, nms="matrix", label_set="coco"),
        "semantic": TaskConfig(sem_size, "bilinear", False, 5, 0, 30, 1, label_set="ade20k"),
    }


def _big(name, C, heads, d, layers, glob):
    return UfoConfig(
        name=name,
        embed_dim=C,
        num_heads=heads,
        head_dim=d,
        ffn_dim=4 * C,
        num_layers=layers,
        global_layers=glob,
        mean_layers=list(range(layers - 6, layers)),
        tasks=_tasks(1120, 1120, 672, 2240),
    )


def builtin(name):
    """A fresh copy of a built-in config: tiny, vit-b, vit-l, vit-h."""
    if name == "vit-b":
        return _big("vit-b", 768, 12, 64, 18, [2, 5, 8, 11])
    if name == "vit-l":
        return _big("vit-l", 1024, 16, 64, 30, [5, 11, 17, 23])
    if name == "vit-h":
        return _big("vit-h", 1280, 16, 80, 38, [7, 15, 23, 31])
    if name == "tiny":
        return UfoConfig(
            name="tiny",
            embed_dim=64,
            num_heads=2,
            head_dim=32,
            ffn_dim=256,
            num_layers=6,
            global_layers=[1, 3],
            mean_layers=[4, 5],
            img_size=448,
            tasks=_tasks(448, 448, 224, 896),
        )
    raise ValueError(f"unknown built-in config {name!r} (tiny, vit-b, vit-l, vit-h)")


BUILTIN_NAMES = ("tiny", "vit-b", "vit-l", "vit-h")
