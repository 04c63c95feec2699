"""Demo-model training: assignment, targets, teacher forcing against the inference decoder, a few
optimisation steps, export (docs/demo-model.md)."""

import itertools
import json

import numpy as np
import pytest
import torch

try:
    import train_demo
    import ufo_model  # noqa: F401
except ImportError as e:  # the reference model is written in parallel
    pytest.skip(f"reference model not importable yet: {e}", allow_module_level=True)

import scenes


def test_hungarian_matches_brute_force():
    for s in range(40):
        rng = np.random.default_rng(s)
        n, m = int(rng.integers(1, 5)), int(rng.integers(5, 8))
        c = rng.uniform(size=(n, m))
        best = min(sum(c[i, p[i]] for i in range(n)) for p in itertools.permutations(range(m), n))
        col = train_demo.hungarian(c)
        assert len(set(col.tolist())) == n
        assert c[np.arange(n), col].sum() == pytest.approx(best, abs=1e-12)


def test_detection_targets_invert_the_inference_parser():
    cfg = train_demo.PRESETS["smoke"]()
    tc = cfg.tasks["detection"]
    Hp = tc.input_size // cfg.patch_size
    ref, _, _ = ufo_model.grid_layout(Hp, Hp, cfg.window_size, tc.grid_per_window)
    ref = ref.numpy()
    s = scenes.scene(3, 224, 224)
    texts, _ = train_demo.grid_targets("detection", s, ref, tc.num_bins, 224, 224)
    pos = [(q, t) for q, t in enumerate(texts) if t != "background"]
    assert len(pos) == min(len(ref), 3 * len(s["objects"]))  # every object on 3 grids
    nb = tc.num_bins
    found = {}
    for q, t in pos:
        name, *v = t.split(",")
        v = [int(x) for x in v]
        # inference §7.1: centre = (v / bins - 0.5) + reference, size = v / bins, times the size
        cx, cy = (v[0] / nb - 0.5 + ref[q][0]) * 224, (v[1] / nb - 0.5 + ref[q][1]) * 224
        w, h = v[2] / nb * 224, v[3] / nb * 224
        found.setdefault(name, []).append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    for o in s["objects"]:
        boxes = np.array(found[o["name"]])
        err = np.abs(boxes - np.array(o["box"], dtype=float)).max(1)
        assert (err <= 224 / nb + 1e-9).sum() == 3  # within one bin, on its 3 grids


def test_grounding_targets_invert_the_inference_parser():
    import ufo_post

    s = scenes.scene(4, 320, 240)
    for r in s["refs"]:
        text = train_demo.grounding_target(r["box"], 320, 240, 448)
        # the model sees the image at 224: scale factor 224 / original size (inference §7.2)
        box = ufo_post.grounding(text, 448, (224, 224), (224 / 320, 224 / 240))
        np.testing.assert_allclose(box, r["box"], atol=320 / 448 + 1e-3)


def test_mask_targets_and_matching_prefer_near_grids():
    cfg = train_demo.PRESETS["smoke"]()
    tc = cfg.tasks["instance"]
    Hp = tc.input_size // cfg.patch_size
    ref, _, _ = ufo_model.grid_layout(Hp, Hp, cfg.window_size, tc.grid_per_window)
    s = scenes.scene(1, 224, 224)
    texts, masks = train_demo.grid_targets("instance", s, ref.numpy(), 0, 224, 224)
    pos = [q for q, t in enumerate(texts) if t != "background"]
    for q in pos:
        name, rest = texts[q].split(",")
        assert rest == "<MASK>" * 16 and any(np.array_equal(masks[q], o["mask"]) for o in s["objects"])
    texts, _ = train_demo.grid_targets("semantic", s, ref.numpy(), 0, 224, 224)
    n_sup = min(len(texts), 3 * len(np.unique(s["semantic"])))
    assert texts.count(None) == len(texts) - n_sup  # unmatched: unsupervised


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    cfg = train_demo.PRESETS["smoke"]()
    m = train_demo.init_weights(ufo_model.UfoViT(cfg), 1)
    with torch.no_grad():  # larger weights than the 0.02 init: a stronger test of the attention
        for n, p in m.named_parameters():
            if p.ndim >= 2:
                p.mul_(5.0)
    return m.eval()


@pytest.mark.parametrize("task", ["instance", "caption"])
def test_teacher_forcing_equals_step_decoding(small_model, task):
    """decode_teacher (training) == UfoViT.decode_step run token by token (inference)."""
    m = small_model
    cfg = m.cfg
    tc = cfg.tasks[task]
    s = scenes.scene(2, 224, 224)
    with torch.no_grad():
        img = train_demo.preprocess_batch(cfg, task, [s["image"]], "cpu")
        ids, mask = train_demo.ufo_pipeline.tokenize([train_demo.prompt(task, cfg)])
        text_kv = m.text_forward(ids, mask)
        x0 = m.patch_forward(img)
        Hp = tc.input_size // cfg.patch_size
        if task == "caption":
            caches, _, _ = m.img_forward(x0, text_kv, mask, None)
            skip, rows = False, 1
            texts = ["a red circle above two blue squares"]
        else:
            ref, win, (gh, gw) = ufo_model.grid_layout(Hp, Hp, cfg.window_size, tc.grid_per_window)
            gpos = ufo_model.resize_pos_embed(m.backbone.pos_embed, (gh, gw)).reshape(gh * gw, -1)
            img_kv, feats, _ = m.img_forward(x0, text_kv, mask, ref)
            grid_kv = m.grid_forward(gpos, feats, img_kv, win, 1)
            sel = torch.tensor([0, 7, 24])
            caches = [None if c is None else (c[0][sel], c[1][sel]) for c in grid_kv]
            skip, rows = True, 3
            texts = ["star," + "<MASK>" * 16, "background", "ring,<MASK><MASK>"]
        tin, tout, w = train_demo.tokenize_targets(texts, "cpu")
        feat, logits = train_demo.decode_teacher(m, tin, caches, skip)
        state = list(caches)
        for t in range(tin.shape[1]):
            lg, f, state = m.decode_step(tin[:, t], state, t, skip)
            assert lg.shape == (rows, cfg.vocab_size)
            torch.testing.assert_close(f, feat[:, t], rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(lg, logits[:, t], rtol=1e-4, atol=1e-4)


def test_few_steps_reduce_the_loss_and_export_loads(tmp_path):
    from safetensors import safe_open

    torch.manual_seed(0)
    cfg = train_demo.PRESETS["smoke"]()
    model, hist = train_demo.train(cfg, 8, str(tmp_path), batch=1, lr=2e-3, warmup=1,
                                   mix="detection:1,instance:1", fixed_seeds=[1], device="cpu",
                                   log_every=0, ckpt_every=0)
    det = [loss for _, t, loss, _ in hist if t == "detection"]
    assert det[-1] < det[0] - 0.3, det
    inst = [parts for _, t, _, parts in hist if t == "instance"]
    assert all(set(p) == {"tok", "focal", "dice"} and all(np.isfinite(list(p.values()))) for p in inst)
    assert inst[-1]["tok"] < inst[0]["tok"] - 0.1, inst
    path = train_demo.export(model, str(tmp_path / "m.safetensors"))
    with safe_open(path, "pt") as f:
        meta = f.metadata()
        keys = set(f.keys())
        assert f.get_tensor("backbone.layers.0.attn.qkv.weight").dtype == torch.float16
        assert f.get_tensor("backbone.embed.position_ids").dtype == torch.int64
    assert keys == set(model.state_dict().keys())
    assert meta["ufo.format"] == "1"
    assert json.loads(meta["ufo.config"])["tasks"]["detection"]["label_set"] == "shapes"
    assert meta["ufo.labels.shapes"].split("\n")[:-1] == scenes.CLASSES
    assert meta["ufo.labels.shapes-semantic"].split("\n")[0] == "background"
    assert len(meta["ufo.vocab"].split("\n")) - 1 == cfg.vocab_size
    back, _ = train_demo.load_model_file(path)
    w0 = model.backbone.layers[0].attn.qkv.weight.detach()
    torch.testing.assert_close(back.backbone.layers[0].attn.qkv.weight, w0.half().float())


@pytest.mark.parametrize("preset", ["cpu", "demo"])
def test_presets_fit_the_size_budget(preset):
    cfg = train_demo.PRESETS[preset]()
    assert 192 <= cfg.embed_dim <= 384 and 6 <= cfg.num_layers <= 8 and cfg.img_size == 448
    assert cfg.global_layers and not set(cfg.mean_layers) & set(cfg.global_layers)
    n = sum(p.numel() for p in ufo_model.UfoViT(cfg).parameters())
    assert 2 * n <= 40 * 2**20  # F16 export <= 40 MiB


def test_target_vocabulary_holds_every_target_token():
    """Every token of every training target of 30 scenes (all five tasks) is in the candidate set,
    and the box values detection targets use (centre residuals near 224, sizes up to ~140 of 448
    bins) are single tokens: 0-341 are."""
    cfg = train_demo.PRESETS["cpu"]()
    vocab = set(train_demo.target_vocabulary(cfg).tolist())
    tok = train_demo.ufo_tokenizer.default_tokenizer()
    texts = []
    for seed in range(30):
        s = scenes.scene(seed, 448, 448)
        texts.append(s["caption"])
        for r in s["refs"]:
            texts.append(train_demo.grounding_target(r["box"], 448, 448, cfg.tasks["grounding"].num_bins))
        for task in ("detection", "instance", "semantic"):
            tc = cfg.tasks[task]
            Hp = tc.input_size // cfg.patch_size
            ref, _, _ = ufo_model.grid_layout(Hp, Hp, cfg.window_size, tc.grid_per_window)
            t, _ = train_demo.grid_targets(task, s, ref.numpy(), tc.num_bins, 448, 448)
            texts.extend(x for x in t if x is not None)
    missing = set()
    for t in texts:
        missing |= set(tok(t)["input_ids"][1:]) - vocab  # [CLS] is never a target
    assert not missing, [tok.convert_ids_to_tokens([i])[0] for i in sorted(missing)]
    assert all(len(tok(str(v), add_special_tokens=False)["input_ids"]) == 1 for v in range(342))


def test_target_vocabulary_holds_every_fed_token():
    """Every id the model is fed in training (prompt ids of every task, decoder inputs: [CLS] and
    the target tokens; padding aside) is a candidate: a fed row is trained as an input embedding
    and keeps a large norm, so leaving it out of the candidate logits lets the full-vocabulary
    argmax of inference pick it (the shipped model answered [CLS] on most semantic grids)."""
    cfg = train_demo.PRESETS["cpu"]()
    vocab = set(train_demo.target_vocabulary(cfg).tolist())
    fed = set()
    s = scenes.scene(3, 448, 448)
    prompts = [train_demo.prompt(t, cfg, s["refs"][0]["text"] if t == "grounding" else None) for t in cfg.tasks]
    ids, _ = train_demo.ufo_pipeline.tokenize(prompts)
    fed |= set(ids.flatten().tolist())
    tin, _, _ = train_demo.tokenize_targets(["background", "circle," + "<MASK>" * 16, s["caption"]], "cpu")
    fed |= set(tin.flatten().tolist())
    fed.discard(train_demo.PAD)  # padding: masked keys / weight 0, no gradient
    missing = fed - vocab
    tok = train_demo.ufo_tokenizer.default_tokenizer()
    assert not missing, tok.convert_ids_to_tokens(sorted(missing))


def test_candidate_logits_are_columns_of_the_full_logits(small_model):
    """decode_teacher over the candidate ids == the same columns of the full-vocabulary logits, and
    token_loss maps target ids to those columns (a target outside the set is an error)."""
    m = small_model
    vocab = train_demo.target_vocabulary(m.cfg)
    N, L, C = 2, 5, m.cfg.embed_dim
    g = torch.Generator().manual_seed(3)
    caches = [(torch.randn(N, m.cfg.num_heads, 4, C // m.cfg.num_heads, generator=g),) * 2
              for _ in range(m.cfg.num_layers)]
    tin, tout, w = train_demo.tokenize_targets(["circle,12,7,30,31", "background"], "cpu")
    with torch.no_grad():
        _, full = train_demo.decode_teacher(m, tin, caches, False)
        _, sub = train_demo.decode_teacher(m, tin, caches, False, vocab)
        torch.testing.assert_close(sub, full[..., vocab])
        # same loss as a cross-entropy restricted by hand to the candidate columns
        ref = train_demo.token_loss(full[..., vocab], torch.searchsorted(vocab, tout.contiguous()), w)
        torch.testing.assert_close(train_demo.token_loss(sub, tout, w, vocab), ref)
        bad = tout.clone()
        bad[0, 0] = int(next(i for i in range(1000, 30000) if i not in set(vocab.tolist())))
        with pytest.raises(ValueError, match="not in the training vocabulary"):
            train_demo.token_loss(sub, bad, w, vocab)


def test_class_weight_scales_only_the_first_target_token(small_model, monkeypatch):
    """--class-weight: the class / background token of each grid sequence weighs k, the box values,
    commas and [SEP] keep 1, padding keeps 0."""
    seen = []
    real = train_demo.token_loss

    def spy(logits, targets, weights, vocab=None):
        seen.append((targets.clone(), weights.clone()))
        return real(logits, targets, weights, vocab)

    monkeypatch.setattr(train_demo, "token_loss", spy)
    cfg = small_model.cfg
    size = cfg.tasks["detection"].input_size
    batch = [scenes.scene(s, size, size) for s in scenes.split_seeds("train", 2)]
    with torch.no_grad():
        for k in (1.0, 3.0):
            train_demo.task_loss(small_model, "detection", batch, "cpu", torch.Generator().manual_seed(5),
                                 class_weight=k)
    (t1, w1), (t3, w3) = seen
    assert torch.equal(t1, t3)  # same grids, same targets
    assert (w1[:, 0] == 1).all() and (w3[:, 0] == 3).all()
    torch.testing.assert_close(w3[:, 1:], w1[:, 1:])
    assert (w1[:, 1:].sum(1) >= 1).all()  # every row has more than its class token


def test_refs_per_scene_pairs_each_expression_with_its_own_box_and_image(small_model, monkeypatch):
    """--refs-per-scene K: up to K distinct expressions of each scene, each a sample whose prompt,
    target box and image are its own; K = 1 keeps one per scene."""
    seen = {}
    real_tok, real_pre = train_demo.tokenize_targets, train_demo.ufo_pipeline.tokenize
    monkeypatch.setattr(train_demo, "tokenize_targets",
                        lambda texts, device: seen.setdefault("targets", list(texts)) and real_tok(texts, device))
    monkeypatch.setattr(train_demo.ufo_pipeline, "tokenize",
                        lambda prompts: seen.setdefault("prompts", list(prompts)) and real_pre(prompts))
    real_patch = small_model.patch_forward
    monkeypatch.setattr(small_model, "patch_forward", lambda img: seen.setdefault("img", img) is not None and real_patch(img))
    cfg = small_model.cfg
    tc = cfg.tasks["grounding"]
    batch = [s for s in (scenes.scene(x, 224, 224) for x in scenes.split_seeds("train", 6)) if len(s["refs"]) >= 2][:2]
    assert len(batch) == 2
    for k, want in ((1, 2), (3, sum(min(3, len(s["refs"])) for s in batch))):
        seen.clear()
        with torch.no_grad():
            train_demo.task_loss(small_model, "grounding", batch, "cpu", torch.Generator().manual_seed(k),
                                 refs_per_scene=k)
        assert len(seen["targets"]) == len(seen["prompts"]) == seen["img"].shape[0] == want
        alone = [train_demo.preprocess_batch(cfg, "grounding", [s["image"]], "cpu")[0] for s in batch]
        used = set()
        for text, target, im in zip(seen["prompts"], seen["targets"], seen["img"]):
            hits = [(b, r) for b, s in enumerate(batch) for r in s["refs"]
                    if train_demo.prompt("grounding", cfg, r["text"]) == text and
                    train_demo.grounding_target(r["box"], 224, 224, tc.num_bins) == target]
            assert hits, (text, target)
            b, r = hits[0]
            assert torch.equal(im, alone[b])  # the expression's own scene
            assert (b, r["text"]) not in used  # distinct expressions
            used.add((b, r["text"]))


def test_soft_number_targets_keep_the_mode_and_rank_near_misses():
    """--number-sigma: a bin number's target mass is a normalised Gaussian over its neighbours
    (mode on the number, clipped at 0 and nb); other tokens stay one-hot; sigma -> 0 is the hard
    cross-entropy; a prediction one bin off costs less than one twenty bins off."""
    nb = 336
    nums = train_demo.number_ids(nb)
    sep, comma = train_demo.SEP, 1010
    t = torch.tensor([[nums[100], comma, nums[0], nums[336], sep]])
    is_num, ids, q = train_demo.soft_number_targets(t, nb, 3.0)
    assert is_num.tolist() == [[True, False, True, True, False]]
    torch.testing.assert_close(q.sum(-1), torch.ones(1, 5))
    for p, n in ((0, 100), (2, 0), (3, 336)):
        assert int(ids[0, p][q[0, p].argmax()]) == int(nums[n])  # the mode is the number itself
        assert all(int(i) in nums.tolist() for i, w in zip(ids[0, p], q[0, p]) if w > 0)
    assert q[0, 1].max() == 1 and int(ids[0, 1][q[0, 1].argmax()]) == comma
    vocab = train_demo.target_vocabulary(train_demo.PRESETS["cpu"]())
    w = torch.ones(1, 5)
    logits = torch.randn(1, 5, len(vocab), generator=torch.Generator().manual_seed(0))
    hard = train_demo.token_loss(logits, t, w, vocab)
    torch.testing.assert_close(train_demo.token_loss(logits, t, w, vocab, train_demo.soft_number_targets(t, nb, 0.05)), hard)
    col = {int(i): k for k, i in enumerate(vocab.tolist())}

    def cost(pred):  # a confident prediction of the number `pred` at position 0
        lg = torch.zeros(1, 5, len(vocab))
        lg[0, 0, col[int(nums[pred])]] = 10.0
        return float(train_demo.token_loss(lg, t, w, vocab, (is_num, ids, q)))

    assert cost(100) < cost(101) < cost(120)


def test_cycle_start_restarts_warmup_and_cosine_on_resume(tmp_path):
    cfg = train_demo.PRESETS["smoke"]()
    common = dict(batch=1, mix="detection:1", fixed_seeds=[1], device="cpu")
    train_demo.train(cfg, 2, str(tmp_path), lr=1e-3, warmup=1, log_every=0, ckpt_every=2, **common)
    logs = []
    train_demo.train(cfg, 6, str(tmp_path), lr=4e-4, warmup=2, log_every=1, ckpt_every=0,
                     resume=str(tmp_path / "checkpoint.pth"), cycle_start=2, log=logs.append, **common)
    lrs = [json.loads(line)["lr"] for line in logs]
    # steps 2..5 are steps 0..3 of a 4-step cycle: warm-up 1/2, 2/2 of the peak, then cosine 1, 1/2
    assert lrs == pytest.approx([2e-4, 4e-4, 4e-4, 2e-4], rel=1e-9)
    # a cycle that starts after the checkpoint's step would give the steps before it a negative rate
    with pytest.raises(ValueError, match="cycle_start 7 is after the first step of this run"):
        train_demo.train(cfg, 8, str(tmp_path), lr=4e-4, warmup=2, ckpt_every=0, cycle_start=7,
                         resume=str(tmp_path / "checkpoint.pth"), **common)


def test_init_starts_from_a_model_file(tmp_path):
    """--init: the weights of an exported (F16) model file, step 0, a fresh optimiser; a model file
    of another network is refused (other task settings are the preset's), and so is --init
    together with --resume."""
    cfg = train_demo.PRESETS["smoke"]()
    src = train_demo.init_weights(ufo_model.UfoViT(cfg), 7)
    path = train_demo.export(src, str(tmp_path / "src.safetensors"))
    want = {k: (v.half().float() if v.is_floating_point() else v) for k, v in src.state_dict().items()}
    fresh = train_demo.init_weights(ufo_model.UfoViT(cfg), 0).state_dict()
    common = dict(batch=1, mix="detection:1", fixed_seeds=[1], device="cpu", log_every=0, ckpt_every=0)
    model, hist = train_demo.train(cfg, 0, str(tmp_path), init=path, **common)
    assert hist == []
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, want[k], rtol=0, atol=0)
    assert not torch.equal(want["backbone.layers.0.attn.qkv.weight"], fresh["backbone.layers.0.attn.qkv.weight"])
    model, hist = train_demo.train(cfg, 2, str(tmp_path), lr=1e-3, warmup=1, init=path, **common)
    assert [h[0] for h in hist] == [0, 1] and all(np.isfinite(h[2]) for h in hist)
    # the same network with other task settings (bins) starts from the file, with the preset's
    # settings; another network is refused
    bins = train_demo.demo_config(64, 4, 2, 224, "ufo-demo-smoke", det_bins=224, ground_bins=300)
    model, _ = train_demo.train(bins, 0, str(tmp_path), init=path, **common)
    assert model.cfg.tasks["grounding"].num_bins == 300 and model.cfg.tasks["detection"].num_bins == 224
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, want[k], rtol=0, atol=0)
    other = train_demo.demo_config(64, 5, 2, 224, "ufo-demo-smoke")
    with pytest.raises(ValueError, match="config"):
        train_demo.train(other, 1, str(tmp_path), init=path, **common)
    with pytest.raises(ValueError, match="exclude"):
        train_demo.train(cfg, 1, str(tmp_path), init=path, resume=path, **common)


@pytest.mark.parametrize("workers", [0, 1])
def test_objects_range_makes_the_curriculum_scenes(workers):
    """`objects` (--objects MIN-MAX): every scene of every step has that many objects (a
    curriculum stage: one object per scene teaches grounding to read a position), and 1-1 scenes
    still have their expression and caption; the default stays the held-out range 2-7."""
    seeds_of = lambda step: scenes.split_seeds("train", 4, step * 4)  # noqa: E731
    one = train_demo.SceneLoader(seeds_of, 0, 3, 224, workers, objects=(1, 1))
    try:
        for _ in range(3):
            for s in one.next():
                assert len(s["objects"]) == 1 and len(s["refs"]) == 1
                assert s["caption"].startswith(("a ", "an ")) and " of " not in s["caption"]
    finally:
        one.close()
    dflt = train_demo.SceneLoader(seeds_of, 0, 3, 224, 0)
    counts = [len(s["objects"]) for _ in range(3) for s in dflt.next()]
    assert min(counts) >= 1 and max(counts) <= 7 and max(counts) > 1
    assert counts == [len(scenes.scene(s, 224, 224)["objects"]) for s in scenes.split_seeds("train", 12)]


def test_objects_per_task_follow_the_round_robin(tmp_path, monkeypatch):
    """--objects 2-7,grounding=1-1: grounding steps train on one-object scenes while the other
    tasks keep the held-out range; bad ranges and unknown tasks are refused."""
    assert train_demo.parse_objects("2-7") == {"*": (2, 7)}
    assert train_demo.parse_objects("2-7,grounding=1-1,caption=1-4") == {
        "*": (2, 7), "grounding": (1, 1), "caption": (1, 4)}
    for bad in ("0-3", "5-2", "x-1", "grounding=1", "detecton=1-1"):
        with pytest.raises(ValueError):
            train_demo.parse_objects(bad)
    seen = []
    real = train_demo._make_batch

    def spy(args):
        seen.append(args[2])
        return real(args)

    monkeypatch.setattr(train_demo, "_make_batch", spy)
    cfg = train_demo.PRESETS["smoke"]()
    train_demo.train(cfg, 4, str(tmp_path), batch=1, mix="detection:1,grounding:1", device="cpu",
                     log_every=0, ckpt_every=0, objects=train_demo.parse_objects("2-7,grounding=1-1"))
    assert seen == [(2, 7), (1, 1), (2, 7), (1, 1)]
