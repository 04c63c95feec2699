/* Linear assignment: Hungarian method on the cost-limited extension (see assignment.h).
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "assignment.h"

#include <math.h>
#include <stdlib.h>

/* Hungarian method with row/column potentials on a square N×N matrix a (row-major), the
 * shortest-augmenting-path form: rows are added one at a time; p[j] = row matched to column j
 * (1-based, 0 = none). Scratch: u, v (N+1), p, way (N+1), minv (N+1), used (N+1). */
static void hungarian(const double *a, int N, int *p, double *u, double *v, int *way, double *minv,
                      char *used)
{
  for (int j = 0; j <= N; j++) {
    u[j] = v[j] = 0.0;
    p[j] = 0;
  }
  for (int i = 1; i <= N; i++) {
    p[0] = i;
    int j0 = 0;
    for (int j = 0; j <= N; j++) {
      minv[j] = INFINITY;
      used[j] = 0;
    }
    do {
      used[j0] = 1;
      const int i0 = p[j0];
      double delta = INFINITY;
      int j1 = 0;
      for (int j = 1; j <= N; j++) {
        if (used[j])
          continue;
        const double cur = a[(size_t)(i0 - 1) * N + (j - 1)] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (int j = 0; j <= N; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      const int j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
}

int ufo_assign(const double *cost, int n_rows, int n_cols, double cost_limit, int *row_to_col,
               int *col_to_row)
{
  for (int i = 0; row_to_col && i < n_rows; i++)
    row_to_col[i] = -1;
  for (int j = 0; col_to_row && j < n_cols; j++)
    col_to_row[j] = -1;
  if (n_rows <= 0 || n_cols <= 0)
    return 0;
  const int N = n_rows + n_cols;
  /* every entry finite so that the potentials stay finite: infeasible pairs cost more than
   * leaving both ends free (cost_limit) by a margin, and are dropped after solving */
  const double limit = isfinite(cost_limit) ? cost_limit : 1e12;
  const double forbid = fabs(limit) * 2.0 + 1.0;
  double *a = malloc(sizeof(double) * (size_t)N * N);
  double *u = malloc(sizeof(double) * (N + 1)), *v = malloc(sizeof(double) * (N + 1));
  double *minv = malloc(sizeof(double) * (N + 1));
  int *p = malloc(sizeof(int) * (N + 1)), *way = malloc(sizeof(int) * (N + 1));
  char *used = malloc(N + 1);
  int matched = -1;
  if (!a || !u || !v || !minv || !p || !way || !used)
    goto out;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      double c;
      if (i < n_rows && j < n_cols) {
        c = cost[(size_t)i * n_cols + j];
        if (!isfinite(c) || c > limit)
          c = forbid;
      } else if (i < n_rows || j < n_cols) {
        c = limit / 2.0; /* a row or a column left unmatched */
      } else {
        c = 0.0; /* dummy with dummy */
      }
      a[(size_t)i * N + j] = c;
    }
  hungarian(a, N, p, u, v, way, minv, used);
  matched = 0;
  for (int j = 1; j <= n_cols; j++) {
    const int i = p[j] - 1;
    if (i < 0 || i >= n_rows)
      continue;
    const double c = cost[(size_t)i * n_cols + (j - 1)];
    if (!isfinite(c) || c > limit)
      continue;
    if (row_to_col)
      row_to_col[i] = j - 1;
    if (col_to_row)
      col_to_row[j - 1] = i;
    matched++;
  }
out:
  free(a);
  free(u);
  free(v);
  free(minv);
  free(p);
  free(way);
  free(used);
  return matched;
}
