"""JSON form of the reference results (CLI output and fixture metadata)."""

import numpy as np

import ufo_tokenizer


def rle(mask):
    """COCO RLE {size: [H, W], counts: str} of a boolean (H, W) mask (pycocotools)."""
    from pycocotools import mask as mask_utils  # only instance masks need it (not on GPU hosts)

    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in r["size"]], "counts": r["counts"].decode("ascii")}


def result_json(task, res, cfg):
    tc = cfg.tasks[task]
    names = ufo_tokenizer.load_labels(tc.label_set) if tc.label_set else []
    if task == "detection":
        return {
            "boxes": [[float(v) for v in b] for b in res["boxes"]],
            "labels": [int(v) for v in res["labels"]],
            "label_names": [names[int(v)] for v in res["labels"]],
            "scores": [float(v) for v in res["scores"]],
        }
    if task == "grounding":
        return {"box": [float(v) for v in res["box"]], "text": res["text"]}
    if task == "caption":
        return {"caption": res["caption"]}
    if task == "instance":
        return {
            "labels": [int(v) for v in res["labels"]],
            "label_names": [names[int(v)] for v in res["labels"]],
            "scores": [float(v) for v in res["scores"]],
            "masks": [rle(m) for m in res["masks"]],
            "valid_grids": res["valid_grids"],
        }
    m = res["map"]
    out = {"valid_grids": res["valid_grids"], "map": None, "class_counts": {}}
    if m is not None:
        ids, counts = np.unique(m, return_counts=True)
        out["class_counts"] = {str(int(i)): int(c) for i, c in zip(ids, counts)}
        out["class_names"] = {str(int(i)): names[int(i)] for i in ids}
        out["map"] = {"shape": [int(v) for v in m.shape]}
        out["class_masks"] = {str(int(i)): rle(m == i) for i in ids}  # per-class COCO RLE
    return out
