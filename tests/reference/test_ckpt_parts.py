"""A training checkpoint packed into parts for the GPU machine and back (tools/reference/
ckpt_parts.py): the own-vocabulary rows of the embeddings and of their AdamW moments, and every
other tensor, come back bit for bit; the parts are at most 15 MiB."""
import os

import torch

import ckpt_parts
import train_demo


def test_pack_unpack_round_trip(tmp_path, monkeypatch):
    cfg = train_demo.PRESETS["smoke"]()
    train_demo.train(cfg, 2, str(tmp_path), batch=1, lr=1e-3, warmup=1, mix="detection:1", device="cpu",
                     ckpt_every=1, log_every=0, loss_vocab="targets", log=lambda s: None)
    path = str(tmp_path / "checkpoint.pth")
    ck = torch.load(path, weights_only=False)
    monkeypatch.setattr(ckpt_parts, "PART_BYTES", 2**20)  # several parts of the small model
    parts, n = ckpt_parts.pack(path, str(tmp_path / "parts"))
    assert len(parts) >= 2 and all(os.path.getsize(p) <= 2**20 for p in parts)
    assert n < os.path.getsize(path) / 2
    back = ckpt_parts.unpack(str(tmp_path / "parts"), str(tmp_path / "back.pth"))
    rows = train_demo.own_vocabulary(cfg)
    key = "backbone.embed.word_embeddings.weight"
    assert back["step"] == ck["step"] == 2 and back["config"] == ck["config"]
    for k, v in ck["model"].items():
        want = v if k != key else torch.zeros_like(v).index_copy(0, torch.tensor(rows), v[rows])
        assert torch.equal(back["model"][k], want), k
    packed = 0
    for i, st in ck["opt"]["state"].items():
        for name, t in st.items():
            b = back["opt"]["state"][i][name]
            if t.ndim == 2 and t.shape[0] == cfg.vocab_size:
                packed += 1
                assert torch.equal(b[rows], t[rows])
            else:
                assert torch.equal(b, t)
    assert packed == 2  # exp_avg and exp_avg_sq of the word embeddings
    assert back["opt"]["param_groups"] == ck["opt"]["param_groups"]
