"""A demo model file with its own vocabulary (docs/model-format.md "Own vocabulary"): the
reference holds it in BERT ids, scores only its rows and tokenizes with its own vocabulary."""
import json

import pytest
import torch
from safetensors import safe_open

import scenes
import train_demo
import ufo_model
import ufo_pipeline
import ufo_tokenizer


def _bert_lines():
    return ufo_tokenizer._read_lines(ufo_tokenizer.DEFAULT_VOCAB)


def test_own_tokenizer_gives_the_bert_pieces():
    """Every prompt of the cpu preset, and the captions and expressions of 30 scenes, tokenize
    to the same pieces with the own vocabulary as with BERT's; a word outside it is [UNK]."""
    cfg = train_demo.PRESETS["cpu"]()
    rows = train_demo.own_vocabulary(cfg)
    lines = [_bert_lines()[r] for r in rows]
    assert lines[-1] == "<MASK>" and len(rows) < 600
    own = ufo_tokenizer.own_vocabulary_tokenizer(lines)
    bert = ufo_tokenizer.default_tokenizer()
    texts = [train_demo.prompt(t, cfg, "the red circle" if t == "grounding" else None) for t in cfg.tasks]
    for seed in scenes.split_seeds("test", 30):
        s = scenes.scene(seed, 224, 224)
        texts.append(s["caption"])
        texts += [train_demo.prompt("grounding", cfg, r["text"]) for r in s["refs"]]
    texts.append("circle, " + " ".join(["<MASK>"] * 16))
    for text in texts:
        got = [rows[i] for i in own(text)["input_ids"]]
        assert got == bert(text)["input_ids"], text
    ids = own("the zebra")["input_ids"]
    assert own.convert_ids_to_tokens(ids) == ["[CLS]", "the", "[UNK]", "[SEP]"]


def test_own_vocabulary_layout_is_checked():
    with pytest.raises(ValueError, match="last lines"):
        ufo_tokenizer.own_vocabulary_tokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "<MASK>", "a"])


def test_export_and_load_keep_only_the_rows(tmp_path):
    """Export with vocab_rows: the file holds those rows and tokens; loaded back, its decode
    logits are the full model's at those rows and -inf elsewhere, and a whole detection run
    decodes only kept ids."""
    torch.manual_seed(0)
    cfg = train_demo.PRESETS["smoke"]()
    model = ufo_model.UfoViT(cfg).eval()
    rows = train_demo.own_vocabulary(cfg)
    own_path = train_demo.export(model, str(tmp_path / "own.safetensors"), vocab_rows=rows)
    full_path = train_demo.export(model, str(tmp_path / "full.safetensors"))
    with safe_open(own_path, "pt") as f:
        meta = f.metadata()
        emb = f.get_tensor("backbone.embed.word_embeddings.weight")
    assert emb.shape == (len(rows), cfg.embed_dim)
    assert json.loads(meta["ufo.config"])["vocab_size"] == len(rows)
    assert meta["ufo.vocab"].split("\n")[:-1] == [_bert_lines()[r] for r in rows]
    own, _ = train_demo.load_model_file(own_path)
    full, _ = train_demo.load_model_file(full_path)
    assert own.own_rows.tolist() == rows and full.own_rows is None
    nh, d = cfg.num_heads, cfg.embed_dim // cfg.num_heads
    caches = [(torch.zeros(3, nh, 0, d), torch.zeros(3, nh, 0, d)) for _ in range(cfg.num_layers)]
    ids = torch.tensor([rows[5], rows[9], train_demo.CLS])
    with torch.no_grad():
        lo, fo, _ = own.decode_step(ids, caches, 0, True)
        lf, ff, _ = full.decode_step(ids, caches, 0, True)
    keep = torch.zeros(lf.shape[1], dtype=torch.bool)
    keep[rows] = True
    assert torch.equal(fo, ff)
    assert torch.equal(lo[:, keep], lf[:, keep])
    assert torch.isneginf(lo[:, ~keep]).all()
    img = scenes.scene(scenes.split_seeds("test", 1)[0], 224, 224)["image"][:, :, ::-1].copy()
    train_demo.install_label_sets()
    _, raw, _ = ufo_pipeline.run(own, "detection", [img])
    decoded = set(torch.as_tensor(raw["ids"]).flatten().tolist())
    assert decoded and decoded <= set(rows), sorted(decoded - set(rows))[:5]
