"""Planted plans (docs/reference.md): token sequences forced into decoding so that models with
random weights produce real outputs. At step t of sequence s, before softmax/log_softmax,
logits[s, plan[s, t]] = max(logits[s]) + margin[s] (plan -1 = no forcing).

The plans below are deterministic functions of (task, number of sequences, grid layout).
"""

import numpy as np

import ufo_tokenizer

MASK_ID, COMMA, SEP = 30524, 1010, 102


def _pieces(text):
    tok = ufo_tokenizer.default_tokenizer()
    return list(tok(text, add_special_tokens=False)["input_ids"])


def _plan(n_seq, max_len, entries):
    """entries: {seq: token list} (each gets a trailing [SEP]). Margins distinct per sequence."""
    plan = np.full((n_seq, max_len), -1, dtype=np.int32)
    margin = np.zeros(n_seq, dtype=np.float32)
    for j, (s, toks) in enumerate(sorted(entries.items())):
        toks = list(toks) + [SEP]
        toks = toks[:max_len]
        plan[s, : len(toks)] = toks
        margin[s] = np.float32(3.0 + 0.75 * j)  # distinct: first-token probabilities differ
    return plan, margin


def _box_text(name, cx_off, cy_off, w, h, nb):
    """`name,v1,v2,v3,v4` with centre offsets from the grid reference in bins (inference §7.1)."""
    return f"{name},{nb // 2 + cx_off},{nb // 2 + cy_off},{w},{h}"


def detection_plan(n_seq, max_len, num_bins, grid_w):
    nb = num_bins
    b = max(8, nb // 16)  # a box side in bins
    g = grid_w + 1  # the grid right-below grid 0's neighbour
    e = {
        0: _pieces(_box_text("person", 0, 0, 3 * b, 4 * b, nb)),
        1: _pieces(_box_text("person", -nb // (2 * grid_w), 2, 3 * b, 4 * b, nb)),  # IoU ~0.6 with 0
        2: _pieces(_box_text("person", -2 * nb // (2 * grid_w), 0, 3 * b, 4 * b, nb)),  # ~0.6 with 1
        3: _pieces(_box_text("car", -3 * nb // (2 * grid_w), 1, 3 * b, 4 * b, nb)),  # other class
        g: _pieces(_box_text("traffic light", 0, 0, b, 2 * b, nb)),
        g + 5: _pieces(_box_text("traffic light", -(5 * nb) // grid_w, 0, b, 2 * b, nb)),  # = box of g
        g + 1: _pieces(_box_text("traffic light", -nb // (4 * grid_w), 0, b, 2 * b, nb)),
        g + 2: _pieces("background"),
        g + 3: _pieces("person,12,34"),  # too few fields
        2 * grid_w: _pieces(_box_text("unicorn", 0, 0, b, b, nb)),  # not a class
        2 * grid_w + 1: _pieces("dog,1,2,x,4"),  # parse error
        2 * grid_w + 2: _pieces(_box_text("hair drier", 3, -2, 2 * b, b, nb)),
        2 * grid_w + 3: _pieces(_box_text("dog", 0, 0, 5 * b, 5 * b, nb)),
    }
    return _plan(n_seq, max_len, {k: v for k, v in e.items() if k < n_seq})


def segmentation_plan(n_seq, max_len, task):
    m16 = [MASK_ID] * 16
    if task == "instance":
        e = {
            0: _pieces("person") + [COMMA] + m16,
            1: _pieces("person") + [COMMA] + m16,
            2: _pieces("car") + [COMMA] + m16,
            3: _pieces("traffic light") + [COMMA] + m16,
            4: _pieces("background") + [COMMA] + m16,
            5: _pieces("person") + [COMMA] + [MASK_ID] * 15,  # 15 masks: dropped
            6: _pieces("dog") + m16,  # no comma: head is not a class name
            7: _pieces("person") + [COMMA] + m16,
            8: _pieces("hair drier") + [COMMA] + m16,
        }
    else:
        e = {
            0: _pieces("wall") + [COMMA] + m16,
            1: _pieces("sky") + [COMMA] + m16,
            2: _pieces("wall") + [COMMA] + m16,  # duplicates add up
            3: _pieces("swivel chair") + [COMMA] + m16,
            4: _pieces("floor") + [COMMA] + [MASK_ID] * 17,  # first 16 taken
            5: _pieces("tree") + [COMMA] + [MASK_ID] * 15,  # fewer than 16: skipped (our choice)
            6: _pieces("building") + [COMMA] + m16,
        }
    return _plan(n_seq, max_len, {k: v for k, v in e.items() if k < n_seq})


def grounding_plan(n_seq, max_len, num_bins):
    e = {s: _pieces(f"{num_bins // 2 - 20 + 7 * s},{num_bins // 2 + 5},{num_bins // 3},{num_bins // 4}")
         for s in range(n_seq)}
    return _plan(n_seq, max_len, e)


def caption_plan(n_seq, max_len):
    caps = ["a man riding a horse on a beach", "two dogs do not play with a red ball"]
    return _plan(n_seq, max_len, {s: _pieces(caps[s % 2]) for s in range(n_seq)})


def step_margins(plan):
    """Per-step margins added to margin[s] at step t (beam fixtures, docs/reference.md "Planted
    plan"): 0.05·t + 0.0073·t². With one margin per sequence every beam that leaves the plan once
    pays exactly margin/τ, wherever it left it, so beam scores tie up to rounding and the CPU's
    float kernels order them; per-step margins whose sums over any two steps all differ (for
    t < 37: by ≥ 1.1e-3) make those scores distinct."""
    t = np.arange(plan.shape[1], dtype=np.float32)
    step = (np.float32(0.05) * t + np.float32(0.0073) * t * t).astype(np.float32)
    return np.ascontiguousarray(np.where(plan >= 0, step[None, :], np.float32(0)).astype(np.float32))


def make_plan(cfg, task, n_seq, grid_w=0):
    tc = cfg.tasks[task]
    if task == "detection":
        return detection_plan(n_seq, tc.max_length, tc.num_bins, grid_w)
    if task in ("instance", "semantic"):
        return segmentation_plan(n_seq, tc.max_length, task)
    if task == "grounding":
        return grounding_plan(n_seq, tc.max_length, tc.num_bins)
    return caption_plan(n_seq, tc.max_length)


def trained_plan(cfg, task, n_seq):
    """ufo-bench --plan trained (tools/ufo-bench/bench_plan.c, docs/performance.md), token for
    token: what a trained model decodes on a frame, so that both implementations decode the same
    steps over the same rows with random weights. Detection: one grid in 100 (at least 7, COCO's
    mean objects per image) decodes `label,x,y,w,h` [SEP], the others `background` [SEP];
    instance: the same grids `label , <MASK>x16` [SEP]; semantic: every grid; caption: a 9-word
    caption; grounding: a box. Labels cycle through the task's label set; margin 20 plus the
    beam fixtures' per-step margins on planted steps (step_margins: no float ties between beams,
    whose order would be up to each top-k). Returns plan (n_seq, T) and margin (n_seq, T)."""
    tc = cfg.tasks[task]
    T, nb = tc.max_length, tc.num_bins
    plan = np.full((n_seq, T), -1, dtype=np.int32)
    margin = np.zeros(n_seq, dtype=np.float32)

    def plant(s, text, masks):
        toks = _pieces(text) + ([COMMA] + [MASK_ID] * 16 if masks else []) + [SEP]
        toks = toks[:T]
        plan[s, : len(toks)] = toks
        margin[s] = np.float32(20.0)

    def with_steps():
        return np.ascontiguousarray(margin[:, None] + step_margins(plan), dtype=np.float32)

    if task in ("caption", "grounding"):
        text = ("a man riding a brown horse along the sandy beach" if task == "caption"
                else f"{nb // 3},{nb // 4},{2 * nb // 3},{3 * nb // 4}")
        for s in range(n_seq):
            plant(s, text, False)
        return plan, with_steps()
    labels = ufo_tokenizer.load_labels(tc.label_set)
    every = 1 if task == "semantic" else min(100, max(1, n_seq // 7))
    for s in range(n_seq):
        label = labels[(s // every) % len(labels)]
        if s % every:
            plant(s, "background", False)
        elif task == "detection":  # inference §7.1: centre offsets and size in bins
            plant(s, f"{label},{nb // 2},{nb // 2},{nb // 10},{nb // 8}", False)
        else:
            plant(s, label, True)
    return plan, with_steps()
