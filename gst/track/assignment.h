/* Optimal linear assignment with a cost limit (the tracker's association step).
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef UFO_TRACK_ASSIGNMENT_H
#define UFO_TRACK_ASSIGNMENT_H

/* Minimum-cost matching of an n_rows × n_cols cost matrix (row-major) where a pair is only
 * allowed when its cost is ≤ cost_limit; rows and columns may stay unmatched. Same result as
 * ByteTrack's lap.lapjv(extend_cost=True, cost_limit=...): the matrix is extended to
 * (n_rows + n_cols)² with cost_limit/2 for leaving a row or a column unmatched, so a pair is
 * taken exactly when it is cheaper than leaving both ends free, and the total is minimal.
 * Solved with the Hungarian method (Kuhn–Munkres with potentials, O(N³), N = n_rows +
 * n_cols); costs above the limit and non-finite costs are infeasible.
 *
 * row_to_col[n_rows] and col_to_row[n_cols] receive the matched index or -1 (either may be
 * NULL). Returns the number of matched pairs, or -1 when memory runs out (outputs all -1).
 * Empty matrices are allowed. */
int ufo_assign(const double *cost, int n_rows, int n_cols, double cost_limit, int *row_to_col,
               int *col_to_row);

#endif
