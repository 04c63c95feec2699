/* Constant-velocity Kalman filter of the tracker (see kalman.h for the model).
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "kalman.h"

#include <math.h>
#include <string.h>

#define W_POS (1.0 / 20.0)
#define W_VEL (1.0 / 160.0)

void ufo_kalman_initiate(UfoKalman *kf, const double z[UFO_KF_MEAS])
{
  const double h = z[3];
  const double std[UFO_KF_STATE] = {2 * W_POS * h,  2 * W_POS * h,  1e-2, 2 * W_POS * h,
                                    10 * W_VEL * h, 10 * W_VEL * h, 1e-5, 10 * W_VEL * h};
  memset(kf, 0, sizeof *kf);
  for (int i = 0; i < UFO_KF_MEAS; i++)
    kf->mean[i] = z[i];
  for (int i = 0; i < UFO_KF_STATE; i++)
    kf->cov[i][i] = std[i] * std[i];
}

void ufo_kalman_predict(UfoKalman *kf)
{
  const double h = kf->mean[3];
  const double q[UFO_KF_STATE] = {W_POS * h, W_POS * h, 1e-2, W_POS * h,
                                  W_VEL * h, W_VEL * h, 1e-5, W_VEL * h};
  /* F = [I I; 0 I]: position += velocity */
  for (int i = 0; i < UFO_KF_MEAS; i++)
    kf->mean[i] += kf->mean[i + UFO_KF_MEAS];
  /* P ← F P Fᵀ in two passes: rows (F P), then columns ((F P) Fᵀ) */
  double(*P)[UFO_KF_STATE] = kf->cov;
  for (int i = 0; i < UFO_KF_MEAS; i++)
    for (int j = 0; j < UFO_KF_STATE; j++)
      P[i][j] += P[i + UFO_KF_MEAS][j];
  for (int i = 0; i < UFO_KF_STATE; i++)
    for (int j = 0; j < UFO_KF_MEAS; j++)
      P[i][j] += P[i][j + UFO_KF_MEAS];
  for (int i = 0; i < UFO_KF_STATE; i++)
    P[i][i] += q[i] * q[i];
}

/* Inverts the symmetric positive definite 4×4 S by Cholesky (S = L Lᵀ). */
static bool spd_inverse4(const double S[UFO_KF_MEAS][UFO_KF_MEAS],
                         double inv[UFO_KF_MEAS][UFO_KF_MEAS])
{
  double L[UFO_KF_MEAS][UFO_KF_MEAS] = {{0}};
  for (int i = 0; i < UFO_KF_MEAS; i++) {
    for (int j = 0; j <= i; j++) {
      double s = S[i][j];
      for (int k = 0; k < j; k++)
        s -= L[i][k] * L[j][k];
      if (i == j) {
        if (!(s > 0.0) || !isfinite(s))
          return false;
        L[i][i] = sqrt(s);
      } else {
        L[i][j] = s / L[j][j];
      }
    }
  }
  /* inv = L⁻ᵀ L⁻¹: solve L y = e_c, then Lᵀ x = y, column by column */
  for (int c = 0; c < UFO_KF_MEAS; c++) {
    double y[UFO_KF_MEAS], x[UFO_KF_MEAS];
    for (int i = 0; i < UFO_KF_MEAS; i++) {
      double s = i == c ? 1.0 : 0.0;
      for (int k = 0; k < i; k++)
        s -= L[i][k] * y[k];
      y[i] = s / L[i][i];
    }
    for (int i = UFO_KF_MEAS - 1; i >= 0; i--) {
      double s = y[i];
      for (int k = i + 1; k < UFO_KF_MEAS; k++)
        s -= L[k][i] * x[k];
      x[i] = s / L[i][i];
    }
    for (int i = 0; i < UFO_KF_MEAS; i++)
      inv[i][c] = x[i];
  }
  return true;
}

bool ufo_kalman_update(UfoKalman *kf, const double z[UFO_KF_MEAS])
{
  const double h = kf->mean[3];
  const double r[UFO_KF_MEAS] = {W_POS * h, W_POS * h, 1e-1, W_POS * h};
  double(*P)[UFO_KF_STATE] = kf->cov;
  /* H selects the first four state components: H P Hᵀ = P[0:4][0:4], P Hᵀ = P[:][0:4] */
  double S[UFO_KF_MEAS][UFO_KF_MEAS], Si[UFO_KF_MEAS][UFO_KF_MEAS];
  for (int i = 0; i < UFO_KF_MEAS; i++)
    for (int j = 0; j < UFO_KF_MEAS; j++)
      S[i][j] = P[i][j] + (i == j ? r[i] * r[i] : 0.0);
  for (int i = 0; i < UFO_KF_MEAS; i++)
    if (!isfinite(z[i]))
      return false;
  if (!spd_inverse4(S, Si))
    return false;
  double K[UFO_KF_STATE][UFO_KF_MEAS];
  for (int i = 0; i < UFO_KF_STATE; i++)
    for (int j = 0; j < UFO_KF_MEAS; j++) {
      double s = 0.0;
      for (int k = 0; k < UFO_KF_MEAS; k++)
        s += P[i][k] * Si[k][j];
      K[i][j] = s;
    }
  double innov[UFO_KF_MEAS];
  for (int j = 0; j < UFO_KF_MEAS; j++)
    innov[j] = z[j] - kf->mean[j];
  for (int i = 0; i < UFO_KF_STATE; i++)
    for (int j = 0; j < UFO_KF_MEAS; j++)
      kf->mean[i] += K[i][j] * innov[j];
  /* K S Kᵀ = K (H P) = K P[0:4][:] */
  double KSK[UFO_KF_STATE][UFO_KF_STATE];
  for (int i = 0; i < UFO_KF_STATE; i++)
    for (int j = 0; j < UFO_KF_STATE; j++) {
      double s = 0.0;
      for (int k = 0; k < UFO_KF_MEAS; k++)
        s += K[i][k] * P[k][j];
      KSK[i][j] = s;
    }
  for (int i = 0; i < UFO_KF_STATE; i++)
    for (int j = 0; j < UFO_KF_STATE; j++)
      P[i][j] -= KSK[i][j];
  return true;
}
