/* Multi-head softmax attention with key segments, additive masks, the decomposed relative
 * position bias and an optional own key per query (backend.h UfoAttention, inference §5.1).
 *
 * Shapes: q/out (G*nq, C), head h = columns h*d..h*d+d-1; segment s of group g = key rows
 * [g*group_stride, g*group_stride + n); rel-pos tables (2*rel_h-1, d), (2*rel_w-1, d).
 * The fast kernel works per (group, head, block of up to QB queries) with BLAS for Q·K^T and
 * P·V; only one (QB x keys) score matrix lives per worker. Blocks of fewer than ATTN_MIN_BLOCK
 * queries (decode rows) go query by query with vectorised dot products.
 * Since issue 22, groups of UFO_CPU_ATTN_DNNL_MIN_Q queries and more run on oneDNN matmuls at
 * both precisions (attention_dnnl.c); this file runs the decode rows and the groups where that
 * path does not apply (an empty key segment, no oneDNN engine). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize(                                                                              \
    "O3", "fp-contract=fast") /* vectorise the hot loops in debugoptimized builds too */
#endif
#include "cpu.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* queries per block: amortises packing the keys (measured: 32 -> 128 is -7% CPU) */
#define QB 128
#define ATTN_MIN_BLOCK 8 /* below this many queries: one query at a time */

/* the keys of segment sg that query i of a group sees (backend.h UfoAttnKeys.causal) */
static inline int64_t seg_keys(const UfoAttention *p, const UfoAttnKeys *sg, int64_t i)
{
  return sg->causal ? sg->n - (p->group_q - 1 - i) : sg->n;
}

/* the most keys a query sees */
static int64_t total_keys(const UfoAttention *p)
{
  int64_t n = p->self_key ? 1 : 0;
  for (int s = 0; s < p->n_segs; s++)
    n += p->seg[s].n;
  return n;
}

/* inference §5.1: rel-pos terms of query index qi of the region, unscaled q */
static void rel_terms_ref(const UfoAttention *p, const float *q, int64_t qi, double *rh, double *rw)
{
  int d = p->head_dim;
  int64_t i = qi / p->rel_w, j = qi % p->rel_w;
  for (int64_t k = 0; k < p->rel_h; k++) {
    const float *r = ufo_cpu_ptr(p->rel_h_table) + (i - k + p->rel_h - 1) * p->rel_h_table.ld;
    double s = 0.0;
    for (int l = 0; l < d; l++)
      s += (double)q[l] * r[l];
    rh[k] = s;
  }
  for (int64_t k = 0; k < p->rel_w; k++) {
    const float *r = ufo_cpu_ptr(p->rel_w_table) + (j - k + p->rel_w - 1) * p->rel_w_table.ld;
    double s = 0.0;
    for (int l = 0; l < d; l++)
      s += (double)q[l] * r[l];
    rw[k] = s;
  }
}

void ufo_cpu_attention_ref(const UfoAttention *p)
{
  int d = p->head_dim;
  int64_t nk = total_keys(p);
  double *sc = g_new(double, nk);
  double *rh = g_new0(double, MAX(p->rel_h, 1)), *rw = g_new0(double, MAX(p->rel_w, 1));
  const float **vrow = g_new(const float *, nk);
  for (int g = 0; g < p->n_groups; g++)
    for (int h = 0; h < p->n_heads; h++)
      for (int i = 0; i < p->group_q; i++) {
        int64_t row = (int64_t)g * p->group_q + i;
        const float *q = ufo_cpu_ptr(p->q) + row * p->q.ld + h * d;
        gboolean rel_done = FALSE;
        int64_t idx = 0;
        for (int s = 0; s < p->n_segs; s++) {
          const UfoAttnKeys *sg = &p->seg[s];
          if (sg->rel_pos && !rel_done) {
            rel_terms_ref(p, q, i, rh, rw);
            rel_done = TRUE;
          }
          for (int64_t kk = 0; kk < seg_keys(p, sg, i); kk++, idx++) {
            int64_t kr = g * sg->group_stride + kk;
            const float *k = ufo_cpu_ptr(sg->k) + kr * sg->k.ld + h * d;
            double s = 0.0;
            for (int l = 0; l < d; l++)
              s += (double)q[l] * k[l];
            s *= p->scale;
            if (sg->mask.t)
              s += ufo_cpu_ptr(sg->mask)[kk];
            if (sg->rel_pos) /* key (i', j') of the region, row-major */
              s += rh[kk / p->rel_w] + rw[kk % p->rel_w];
            sc[idx] = s;
            vrow[idx] = ufo_cpu_ptr(sg->v) + kr * sg->v.ld + h * d;
          }
        }
        if (p->self_key) {
          const float *k = ufo_cpu_ptr(p->self_k) + row * p->self_k.ld + h * d;
          double s = 0.0;
          for (int l = 0; l < d; l++)
            s += (double)q[l] * k[l];
          sc[idx] = s * p->scale;
          vrow[idx++] = ufo_cpu_ptr(p->self_v) + row * p->self_v.ld + h * d;
        }
        double mx = -INFINITY, sum = 0.0;
        for (int64_t k = 0; k < idx; k++) /* idx: this query's keys */
          mx = MAX(mx, sc[k]);
        for (int64_t k = 0; k < idx; k++) {
          sc[k] = sc[k] == -INFINITY ? 0.0 : exp(sc[k] - mx);
          sum += sc[k];
        }
        float *o = ufo_cpu_ptr(p->out) + row * p->out.ld + h * d;
        for (int l = 0; l < d; l++) {
          double a = 0.0;
          for (int64_t k = 0; k < idx; k++)
            a += sc[k] * vrow[k][l];
          o[l] = (float)(a / sum);
        }
      }
  g_free(sc);
  g_free(rh);
  g_free(rw);
  g_free(vrow);
}

/* ---- fast kernel ---- */

typedef struct {
  const UfoAttention *p;
  int64_t nk, n_qblocks;
  gboolean causal; /* a causal segment: every block query by query */
  UfoCpu *cpu;
} AttnJob;

static inline float dot(const float *restrict a, const float *restrict b, int d)
{
  return ufo_cpu_dot(a, b, d);
}

/* inference §5.1: rh[k] = q · Rh[qi - k + rel_h - 1], rw[k] = q · Rw[qj - k + rel_w - 1] */
static void rel_terms(const UfoAttention *p, const float *q, int64_t qidx, float *rh, int hs,
                      float *rw, int wsd)
{
  int d = p->head_dim;
  int64_t qi = qidx / p->rel_w, qj = qidx % p->rel_w;
  for (int k = 0; k < p->rel_h; k++)
    rh[(int64_t)k * hs] =
        dot(q, ufo_cpu_ptr(p->rel_h_table) + (qi - k + p->rel_h - 1) * p->rel_h_table.ld, d);
  for (int k = 0; k < p->rel_w; k++)
    rw[(int64_t)k * wsd] =
        dot(q, ufo_cpu_ptr(p->rel_w_table) + (qj - k + p->rel_w - 1) * p->rel_w_table.ld, d);
}

/* One query at a time (decode rows, tiny groups): scores over keys, softmax, Σ p v. */
static void attn_rows(const AttnJob *job, int64_t g, int h, int64_t i0, int nb, float *buf)
{
  const UfoAttention *p = job->p;
  int d = p->head_dim;
  float *st = buf;                   /* (nk) */
  float *acc = st + job->nk;         /* (d) */
  float *rh = acc + d;               /* (rel_h) */
  float *rw = rh + MAX(p->rel_h, 1); /* (rel_w) */
  for (int i = 0; i < nb; i++) {
    int64_t row = g * p->group_q + i0 + i;
    const float *q = ufo_cpu_ptr(p->q) + row * p->q.ld + h * d;
    int64_t col = 0;
    for (int s = 0; s < p->n_segs; s++) {
      const UfoAttnKeys *sg = &p->seg[s];
      const int64_t n = seg_keys(p, sg, i0 + i);
      const float *kb = ufo_cpu_ptr(sg->k) + g * sg->group_stride * sg->k.ld + h * d;
      float *ss = st + col;
      for (int64_t k = 0; k < n; k++)
        ss[k] = dot(q, kb + k * sg->k.ld, d) * p->scale;
      if (sg->mask.t) {
        const float *m = ufo_cpu_ptr(sg->mask);
        for (int64_t k = 0; k < n; k++)
          ss[k] += m[k];
      }
      if (sg->rel_pos) {
        rel_terms(p, q, i0 + i, rh, 1, rw, 1);
        for (int64_t k = 0; k < n; k++)
          ss[k] += rh[k / p->rel_w] + rw[k % p->rel_w];
      }
      col += n;
    }
    if (p->self_key)
      st[col] = dot(q, ufo_cpu_ptr(p->self_k) + row * p->self_k.ld + h * d, d) * p->scale;
    const int64_t nk = col + (p->self_key ? 1 : 0); /* this query's keys */
    float mx = -INFINITY, sum = 0.f;
    for (int64_t k = 0; k < nk; k++)
      mx = st[k] > mx ? st[k] : mx;
    for (int64_t k = 0; k < nk; k++) {
      st[k] = ufo_cpu_exp_neg(st[k] - mx);
      sum += st[k];
    }
    for (int l = 0; l < d; l++)
      acc[l] = 0.f;
    col = 0;
    for (int s = 0; s < p->n_segs; s++) {
      const UfoAttnKeys *sg = &p->seg[s];
      const int64_t n = seg_keys(p, sg, i0 + i);
      const float *vb = ufo_cpu_ptr(sg->v) + g * sg->group_stride * sg->v.ld + h * d;
      for (int64_t k = 0; k < n; k++) {
        const float *v = vb + k * sg->v.ld;
        float w = st[col + k];
        for (int l = 0; l < d; l++)
          acc[l] += w * v[l];
      }
      col += n;
    }
    if (p->self_key) {
      const float *v = ufo_cpu_ptr(p->self_v) + row * p->self_v.ld + h * d;
      for (int l = 0; l < d; l++)
        acc[l] += st[col] * v[l];
    }
    float *o = ufo_cpu_ptr(p->out) + row * p->out.ld + h * d;
    float inv = 1.f / sum;
    for (int l = 0; l < d; l++)
      o[l] = acc[l] * inv;
  }
}

/* A block of up to QB queries of one (group, head): scores (nb, nk) = scale · Q·K^T per key
 * segment and P·V through single-threaded BLAS calls (the pool runs the blocks in parallel),
 * biases and the softmax on contiguous score rows. */
static void attn_block(const AttnJob *job, int64_t g, int h, int64_t i0, int nb, float *buf)
{
  const UfoAttention *p = job->p;
  int d = p->head_dim;
  int64_t nk = job->nk;
  int lh = 2 * p->rel_h - 1, lw = 2 * p->rel_w - 1;
  float *st = buf;                            /* (nb, nk) */
  float *rbh = st + (size_t)QB * nk;          /* (nb, lh): q · Rh[r] for every table row r */
  float *rbw = rbh + (size_t)QB * MAX(lh, 1); /* (nb, lw) */
  int64_t row0 = g * p->group_q + i0;
  const float *qb = ufo_cpu_ptr(p->q) + row0 * p->q.ld + h * d;
  int64_t col = 0;
  for (int s = 0; s < p->n_segs; s++) {
    const UfoAttnKeys *sg = &p->seg[s];
    const float *kb = ufo_cpu_ptr(sg->k) + g * sg->group_stride * sg->k.ld + h * d;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, (blasint)sg->n, d, p->scale, qb,
                (blasint)p->q.ld, kb, (blasint)sg->k.ld, 0.f, st + col, (blasint)nk);
    if (sg->mask.t) {
      const float *m = ufo_cpu_ptr(sg->mask);
      for (int i = 0; i < nb; i++) {
        float *row = st + i * nk + col;
        for (int64_t k = 0; k < sg->n; k++)
          row[k] += m[k];
      }
    }
    if (sg->rel_pos) {
      /* inference §5.1: q·R[r] for all r with the UNSCALED q, then
       * bias(i, k) = q·Rh[qi - ky + rel_h - 1] + q·Rw[qj - kx + rel_w - 1], k = (ky, kx) */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, lh, d, 1.f, qb, (blasint)p->q.ld,
                  ufo_cpu_ptr(p->rel_h_table), (blasint)p->rel_h_table.ld, 0.f, rbh, lh);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, lw, d, 1.f, qb, (blasint)p->q.ld,
                  ufo_cpu_ptr(p->rel_w_table), (blasint)p->rel_w_table.ld, 0.f, rbw, lw);
      for (int i = 0; i < nb; i++) {
        int64_t qi = (i0 + i) / p->rel_w, qj = (i0 + i) % p->rel_w;
        float *row = st + i * nk + col;
        /* rw_rev[kx] = q·Rw[qj - kx + rel_w - 1] */
        const float *rw_rev = rbw + (int64_t)i * lw + qj + p->rel_w - 1;
        for (int ky = 0; ky < p->rel_h; ky++) {
          float a = rbh[(int64_t)i * lh + qi - ky + p->rel_h - 1];
          float *r = row + (int64_t)ky * p->rel_w;
          for (int kx = 0; kx < p->rel_w; kx++)
            r[kx] += a + rw_rev[-kx];
        }
      }
    }
    col += sg->n;
  }
  if (p->self_key) {
    const float *kb = ufo_cpu_ptr(p->self_k) + row0 * p->self_k.ld + h * d;
    for (int i = 0; i < nb; i++)
      st[i * nk + col] = dot(qb + i * p->q.ld, kb + i * p->self_k.ld, d) * p->scale;
  }
  float sum[QB];
  for (int i = 0; i < nb; i++) {
    float *row = st + i * nk, mx = -INFINITY, sm = 0.f;
    for (int64_t k = 0; k < nk; k++)
      mx = row[k] > mx ? row[k] : mx;
    for (int64_t k = 0; k < nk; k++) {
      row[k] = ufo_cpu_exp_neg(row[k] - mx);
      sm += row[k];
    }
    sum[i] = sm;
  }
  float *ob = ufo_cpu_ptr(p->out) + row0 * p->out.ld + h * d;
  col = 0;
  for (int s = 0; s < p->n_segs; s++) {
    const UfoAttnKeys *sg = &p->seg[s];
    const float *vb = ufo_cpu_ptr(sg->v) + g * sg->group_stride * sg->v.ld + h * d;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, d, (blasint)sg->n, 1.f, st + col,
                (blasint)nk, vb, (blasint)sg->v.ld, s == 0 ? 0.f : 1.f, ob, (blasint)p->out.ld);
    col += sg->n;
  }
  for (int i = 0; i < nb; i++) {
    float *o = ob + i * p->out.ld;
    if (p->self_key) {
      const float *v = ufo_cpu_ptr(p->self_v) + (row0 + i) * p->self_v.ld + h * d;
      float w = st[i * nk + col];
      for (int l = 0; l < d; l++)
        o[l] += w * v[l];
    }
    float inv = 1.f / sum[i];
    for (int l = 0; l < d; l++)
      o[l] *= inv;
  }
}

static void attn_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  AttnJob *job = ctx;
  const UfoAttention *p = job->p;
  for (int64_t task = begin; task < end; task++) {
    int64_t qb = task % job->n_qblocks;
    int64_t gh = task / job->n_qblocks;
    int h = (int)(gh % p->n_heads);
    int64_t g = gh / p->n_heads;
    int64_t i0 = qb * QB;
    int nb = (int)MIN((int64_t)QB, p->group_q - i0);
    /* few queries: lanes would sit idle, go query by query; causal segments too (each query
     * as a call of one query over its keys would run, bit for bit) */
    if (nb < ATTN_MIN_BLOCK || job->causal)
      attn_rows(job, g, h, i0, nb, job->cpu->scratch[worker]);
    else
      attn_block(job, g, h, i0, nb, job->cpu->scratch[worker]);
  }
}

void ufo_cpu_attention(UfoCpu *cpu, const UfoAttention *p)
{
  AttnJob job = {.p = p, .nk = total_keys(p), .cpu = cpu};
  job.n_qblocks = (p->group_q + QB - 1) / QB;
  for (int s = 0; s < p->n_segs; s++)
    job.causal |= p->seg[s].causal;
  size_t need = (size_t)QB * ((size_t)job.nk + (size_t)MAX(2 * p->rel_h, 1) +
                              (size_t)MAX(2 * p->rel_w, 1) + (size_t)p->head_dim) +
                (size_t)job.nk;
  ufo_cpu_scratch_reserve(cpu, need);
  int64_t tasks = (int64_t)p->n_groups * p->n_heads * job.n_qblocks;
  /* a task: up to QB queries of one group and head over every key (decode rows: one query) */
  const int64_t work = (int64_t)MIN(QB, p->group_q) * job.nk * p->head_dim;
  ufo_pool_run(cpu->pool, tasks, ufo_cpu_grain(work, 1), attn_task, &job);
}
