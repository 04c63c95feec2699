"""Greedy and beam search (inference §6.2-6.3) on a toy step function, traced by hand."""

import math

import torch

import ufo_decode

V = 110
A, B, EOS = 5, 6, 102
LOGP = {  # next-token probabilities by last token
    101: {A: 0.6, B: 0.3, EOS: 0.1},
    A: {EOS: 0.5, A: 0.3, B: 0.2},
    B: {EOS: 0.9, A: 0.05, B: 0.05},
}


def toy_step(calls):
    def step(tokens, t):
        calls.append(tokens.tolist())
        lg = torch.full((len(tokens), V), -1e4)
        for r, tok in enumerate(tokens.tolist()):
            for k, p in LOGP.get(tok, {EOS: 1.0}).items():
                lg[r, k] = math.log(p)
        return lg, torch.zeros(len(tokens), 2) + t

    return step


def test_beam_search_hand_traced_alpha1():
    calls = []
    res = ufo_decode.beam_search(toy_step(calls), lambda s: None, 1, 2, 5, 1.0, 1.0)
    # cur 0: beams [A] (log .6), [B] (log .3).
    # cur 1: eos after A (log .3, score log(.3)/2) and eos after B (log .27, score log(.27)/2)
    #        fill the list; is_done: worst = log(.27)/2 >= best/1 = log(.3) -> done, stop.
    assert calls == [[101, 101], [A, B]]
    tokens, prob, feats = res[0]
    assert tokens.tolist() == [A]
    assert torch.allclose(prob, torch.tensor([0.6]), atol=1e-6)


def test_beam_search_alpha0_continues():
    calls = []
    res = ufo_decode.beam_search(toy_step(calls), lambda s: None, 1, 2, 5, 1.0, 0.0)
    # alpha 0: after cur 1, worst = log .27 < best = log .3 -> not done; beams [A A], [A B];
    # cur 2: eos after [A B] (log .108) is not better than worst -> not inserted; done.
    assert calls == [[101, 101], [A, B], [A, B]]
    assert res[0][0].tolist() == [A]


def test_beam_search_max_length_adds_beams():
    calls = []
    res = ufo_decode.beam_search(toy_step(calls), lambda s: None, 1, 2, 1, 1.0, 1.0)
    # one step only: both beams are added at the end; [CLS A] scores log(.6)/2 > log(.3)/2
    assert len(calls) == 1 and res[0][0].tolist() == [A]


def test_beam_planted_plan():
    calls = []
    plan = torch.tensor([[B, B, EOS]])
    res = ufo_decode.beam_search(toy_step(calls), lambda s: None, 1, 2, 5, 1.0, 1.0,
                                 plan, torch.tensor([2.0]))
    # step 0: logit(B) = log .6 + 2 becomes the best; both beams follow B at step 1 (plan B)
    assert res[0][0].tolist()[0] == B


def test_greedy_and_plan():
    calls = []
    ids, prob, feat = ufo_decode.greedy(toy_step(calls), 2, 10)
    # A (0.6) then EOS (0.5): stops when every row ended
    assert ids.tolist() == [[A, EOS], [A, EOS]]
    assert torch.allclose(prob, torch.tensor([[0.6, 0.5], [0.6, 0.5]]), atol=1e-6)
    plan = torch.tensor([[B, -1], [-1, -1]])
    ids, prob, _ = ufo_decode.greedy(toy_step([]), 2, 10, plan, torch.tensor([1.0, 0.0]))
    assert ids[0].tolist() == [B, EOS] and ids[1].tolist() == [A, EOS]
    # planted: logit(B) = max + 1 = log .6 + 1 -> p = e^1 .6 / (e^1 .6 + .6 + .1)
    p = math.e * 0.6 / (math.e * 0.6 + 0.6 + 0.1)
    assert abs(float(prob[0, 0]) - p) < 1e-5
