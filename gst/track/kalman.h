/* Constant-velocity Kalman filter on (centre x, centre y, aspect w/h, height), as in ByteTrack
 * (and DeepSORT): state (cx, cy, a, h, vcx, vcy, va, vh), measurement (cx, cy, a, h). Noise
 * scales with the box height: σ_pos = h/20, σ_vel = h/160, aspect noise fixed (1e-2, 1e-5,
 * measurement 1e-1). Plain C11, no GLib or GStreamer; one step = one video frame.
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef UFO_TRACK_KALMAN_H
#define UFO_TRACK_KALMAN_H

#include <stdbool.h>

#define UFO_KF_STATE 8
#define UFO_KF_MEAS 4

typedef struct {
  double mean[UFO_KF_STATE];              /* (cx, cy, a, h, vcx, vcy, va, vh) */
  double cov[UFO_KF_STATE][UFO_KF_STATE]; /* state covariance */
} UfoKalman;

/* Starts a track at measurement z = (cx, cy, a, h): velocities 0, σ = 2·h/20 for positions,
 * 10·h/160 for velocities (1e-2 and 1e-5 for the aspect and its velocity). */
void ufo_kalman_initiate(UfoKalman *kf, const double z[UFO_KF_MEAS]);

/* One frame ahead: x ← F x, P ← F P Fᵀ + Q with Q = diag((h/20)², (h/20)², 1e-4, (h/20)²,
 * (h/160)², (h/160)², 1e-10, (h/160)²), h the current height estimate. */
void ufo_kalman_predict(UfoKalman *kf);

/* Correction with z = (cx, cy, a, h): S = H P Hᵀ + R, R = diag((h/20)², (h/20)², 1e-2,
 * (h/20)²), K = P Hᵀ S⁻¹, x ← x + K (z − H x), P ← P − K S Kᵀ. Returns false (state unchanged)
 * when S is not positive definite (non-finite input). */
bool ufo_kalman_update(UfoKalman *kf, const double z[UFO_KF_MEAS]);

#endif
