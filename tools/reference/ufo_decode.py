"""Greedy decoding and beam search exactly as the original (inference §6.2, §6.3, §0 items 5-6),
plus the planted-plan test hook (docs/reference.md).

`step(tokens (N,), t) -> (logits (N, V), feat (N, C))` runs one decode step and keeps its own
caches; `reorder(src (N,))` permutes those caches (beam search only).
"""

import torch

CLS, SEP, PAD = 101, 102, 0


def apply_plan(logits, plan, margin, t, seq_of_row):
    """Planted plan: logits[r, plan[s, t]] = max(logits[r]) + margin[s] with s = seq_of_row[r],
    applied before softmax/log_softmax; plan entries < 0 (or t beyond the plan) do nothing.
    margin (n_seq,) or (n_seq, L): a 2-D margin is margin[s, t] (the beam fixtures' per-step
    margins, docs/reference.md "Planted plan")."""
    if plan is None or t >= plan.shape[1]:
        return logits
    tok = plan[seq_of_row, t]
    rows = torch.nonzero(tok >= 0).flatten()
    if rows.numel() == 0:
        return logits
    logits = logits.clone()
    mx = logits[rows].max(-1).values
    m = margin[seq_of_row[rows], t] if margin.dim() == 2 else margin[seq_of_row[rows]]
    logits[rows, tok[rows]] = mx + m.to(logits.dtype)
    return logits


class StepRecorder:
    """Teacher-forcing record (fixtures): per step, for selected rows, the input token, a strided
    sample of the raw logits, their full-row L2, raw argmax and max prob, the chosen token and
    a strided sample of the mean-layer feature."""

    def __init__(self, rows, logit_stride, feat_stride):
        self.rows = torch.as_tensor(rows, dtype=torch.long)
        self.logit_stride, self.feat_stride = logit_stride, feat_stride
        self.steps = []

    def add(self, t, tokens, logits, feat, chosen, rows_map=None):
        r = self.rows if rows_map is None else rows_map
        lg = logits[r].float()
        p = torch.softmax(lg, -1)
        mp, am = p.max(-1)
        self.steps.append(
            {
                "t": t,
                "input": tokens[r].clone(),
                "logits_sample": lg[:, :: self.logit_stride].clone(),
                "logits_l2": torch.linalg.vector_norm(lg, dim=-1),
                "argmax": am,
                "max_prob": mp,
                "chosen": chosen[r].clone(),
                "feat_sample": feat[r].float()[:, :: self.feat_stride].clone(),
                "feat_l2": torch.linalg.vector_norm(feat[r].float(), dim=-1),
            }
        )


def greedy(step, n, max_length, plan=None, margin=None, recorder=None, device=None):
    """inference §6.2. Returns ids (n, T_out), prob (n, T_out), feats (n, T_out, C), on `device`
    (default the CPU): with the step's logits on a GPU and device = that GPU, the selection stays
    there and each step reads back one flag (all ended?), as the original code does; plan and
    margin must be on that device too."""
    tokens = torch.full((n,), CLS, dtype=torch.long, device=device)
    ended = torch.zeros(n, dtype=torch.bool, device=device)
    seq = torch.arange(n, device=device)
    out_ids, out_prob, out_feat = [], [], []
    for i in range(max_length):
        logits, feat = step(tokens, i)
        raw = logits
        logits = apply_plan(logits.float(), plan, margin, i, seq)
        p = torch.softmax(logits, -1)  # no temperature, whole vocabulary (§8.19-20)
        prob, nxt = p.max(-1)  # first index among ties
        ended |= nxt == SEP
        nxt = torch.where(ended, torch.full_like(nxt, SEP), nxt)
        if recorder is not None:
            recorder.add(i, tokens, raw, feat, nxt)
        out_ids.append(nxt)
        out_prob.append(prob)
        out_feat.append(feat)
        tokens = nxt
        if bool(ended.all()):
            break
    return torch.stack(out_ids, 1), torch.stack(out_prob, 1), torch.stack(out_feat, 1)


class BeamHypotheses:
    """inference §6.3 hypothesis list; entries (score, tokens, feats, cum_scores)."""

    def __init__(self, k, alpha):
        self.k, self.alpha = k, alpha
        self.beams = []
        self.worst = 1e9

    def add(self, tokens, feats, cums, total):
        score = total / (len(tokens) ** self.alpha)  # len counts the [CLS]
        if len(self.beams) < self.k or score > self.worst:
            self.beams.append((score, tokens, feats, cums))
            if len(self.beams) > self.k:
                ranked = sorted((s, i) for i, (s, *_r) in enumerate(self.beams))
                del self.beams[ranked[0][1]]  # ties: the earliest inserted goes
                self.worst = ranked[1][0]
            else:
                self.worst = min(score, self.worst)

    def is_done(self, best, cur):
        if len(self.beams) < self.k:
            return False
        return self.worst >= best / (cur**self.alpha)  # `cur`, not cur + 1 (§8.19)


def beam_search(step, reorder, n, k, max_length, temperature, alpha, plan=None, margin=None,
                recorder=None):
    """inference §6.3 for n sequences of k beams (rows ordered sequence-major, then beam).

    Returns per sequence: (ids (T,), per-token prob (T,), feats (T, C)), padded with 0 /
    zero features by the caller; ids exclude the leading [CLS]."""
    ids = torch.full((n * k, 1), CLS, dtype=torch.long)
    beam_score = torch.full((n, k), -1e9, dtype=torch.float32)
    beam_score[:, 0] = 0.0
    hist_feat = [[] for _ in range(n * k)]
    hist_cum = [[] for _ in range(n * k)]
    hyps = [BeamHypotheses(k, alpha) for _ in range(n)]
    done = [False] * n
    seq = torch.arange(n * k) // k  # planted plan: a beam's source sequence
    cur = 0
    while cur < max_length:
        logits, feat = step(ids[:, -1], cur)
        raw = logits
        logits = apply_plan(logits.float(), plan, margin, cur, seq)
        lp = torch.log_softmax(logits / temperature, -1)  # f32, full vocabulary
        V = lp.shape[-1]
        cand = (lp + beam_score.reshape(-1, 1)).reshape(n, k * V)
        top_s, top_id = torch.topk(cand, 2 * k, dim=1, largest=True, sorted=True)
        nxt = []
        for b in range(n):
            if done[b]:
                nxt.extend([(0.0, PAD, 0)] * k)  # dummy beams read row 0 (§9.6)
                continue
            nb = []
            best = float(top_s[b].max())
            for r in range(2 * k):
                beam = int(top_id[b, r]) // V
                tok = int(top_id[b, r]) % V
                src = b * k + beam
                s = float(top_s[b, r])
                if tok == SEP:
                    if r >= k:
                        continue
                    hyps[b].add(ids[src].clone(), list(hist_feat[src]), list(hist_cum[src]) + [s], s)
                else:
                    nb.append((s, tok, src))
                if len(nb) == k:
                    break
                done[b] = done[b] or hyps[b].is_done(best, cur)
            nxt.extend(nb)
        if all(done):
            break
        sc = torch.tensor([x[0] for x in nxt], dtype=torch.float32)
        tk = torch.tensor([x[1] for x in nxt], dtype=torch.long)
        src = torch.tensor([x[2] for x in nxt], dtype=torch.long)
        if recorder is not None:
            recorder.add(cur, ids[:, -1], raw, feat, tk)
            recorder.steps[-1]["src"] = src.clone()
            recorder.steps[-1]["input_all"] = ids[:, -1].clone()  # every row's input token
        hist_feat = [hist_feat[int(s)] + [feat[int(s)]] for s in src]
        hist_cum = [hist_cum[int(s)] + [float(v)] for s, v in zip(src, sc)]
        ids = torch.cat([ids[src], tk[:, None]], 1)
        beam_score = sc.reshape(n, k)
        reorder(src)
        cur += 1
    for b in range(n):
        if not done[b]:
            for j in range(k):
                r = b * k + j
                hyps[b].add(ids[r].clone(), list(hist_feat[r]), list(hist_cum[r]), float(beam_score[b, j]))
    results = []
    for b in range(n):
        best = sorted(hyps[b].beams, key=lambda x: x[0])[-1]  # stable: ties -> later in list
        _, tokens, feats, cums = best
        out = tokens[1:]
        # per-token prob = exp of the difference of consecutive cumulative scores
        c = torch.tensor([0.0] + cums[: len(out)], dtype=torch.float64)
        prob = torch.exp(c[1:] - c[:-1]).float()
        f = torch.stack(feats[: len(out)]) if len(out) else torch.zeros(0, 0)
        results.append((out, prob, f))
    return results
