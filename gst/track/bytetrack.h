/* ByteTrack-style multi-object tracker core (no GLib, no GStreamer): the association logic of
 * ufotrack, unit-tested on its own (tests/track).
 *
 * Each update takes the detections of one frame:
 *  1. every track is predicted one frame ahead (constant-velocity Kalman filter, kalman.h; the
 *     velocities of aspect and height are zeroed first, so only the position moves: visible-part
 *     boxes change size by jumps under occlusion, not by sustained motion);
 *  2. high-score detections (score ≥ track_high_thresh) are matched to confirmed tracks, both
 *     tracked and lost, on cost 1 − IoU·score (ByteTrack's score fusion), pairs cheaper than
 *     match_thresh only; a matched lost track is re-activated with its old id;
 *  3. low-score detections (track_low_thresh ≤ score < track_high_thresh) are matched to the
 *     tracked (not lost) tracks left over, on 1 − IoU ≤ 0.5: this second pass keeps tracks
 *     alive through occlusion, when the detector's confidence drops;
 *  4. tracked tracks still unmatched become lost; unconfirmed tracks are matched to the
 *     high-score detections left (1 − IoU·score ≤ 0.7) and are removed when unmatched;
 *  5. high-score detections still unmatched with score ≥ new_track_thresh start new
 *     (unconfirmed) tracks, unless they overlap a track matched on this frame by IoU > 0.7
 *     (a duplicate box of one object, e.g. under a second label); a track is confirmed after
 * min_hits matched frames (its birth counts as one), and gets its id then, so ids are consecutive;
 * tracks born on the first frame after a reset are confirmed at once (as ByteTrack does);
 *  6. lost tracks not matched for more than track_buffer frames are removed.
 * Frames without detector results (inference-interval) go through ufo_tracker_predict(),
 * which only advances the filters; ids then persist and the boxes follow the motion.
 * Matching is class-agnostic; a track takes the label of its latest detection.
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef UFO_TRACK_BYTETRACK_H
#define UFO_TRACK_BYTETRACK_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  float track_high_thresh; /* first association, default 0.5 */
  float track_low_thresh;  /* second association, default 0.1 */
  float new_track_thresh;  /* birth, default 0.6 */
  float match_thresh;      /* largest 1 − IoU·score of a first-pass pair, default 0.8 */
  int track_buffer;        /* frames a lost track is kept, default 30 */
  int min_hits;            /* matched frames before a track is confirmed, default 2 */
} UfoTrackerParams;

/* Defaults listed above (ByteTrack's, with min_hits = 2 = its birth + one match). */
void ufo_tracker_params_init(UfoTrackerParams *params);

typedef struct {
  float x, y, w, h; /* box: left, top, width, height in pixels */
  float score;      /* detector confidence 0..1 */
  int label;        /* class id, copied to the track */
} UfoTrackDet;

typedef enum {
  UFO_TRACK_STATE_NEW,     /* born, not confirmed yet (id 0) */
  UFO_TRACK_STATE_TRACKED, /* confirmed and matched on its last update */
  UFO_TRACK_STATE_LOST,    /* confirmed, unmatched for time_lost frames */
} UfoTrackState;

typedef struct {
  uint64_t id; /* 1, 2, …; 0 while unconfirmed */
  UfoTrackState state;
  float x, y, w, h; /* current estimate (after the last predict/update) */
  float score;      /* score of the latest matched detection */
  int label;        /* label of the latest matched detection */
  int hits;         /* matched frames */
  int time_lost;    /* frames since the last match */
  int det_index;    /* index of the detection matched in the last update, -1 = none */
} UfoTrack;

typedef struct _UfoTracker UfoTracker;

/* NULL when memory runs out or params are invalid (thresholds outside 0..1, negative buffer,
 * min_hits < 1). */
UfoTracker *ufo_tracker_new(const UfoTrackerParams *params);
void ufo_tracker_free(UfoTracker *tracker);
/* Drops every track; ids start again at 1. */
void ufo_tracker_reset(UfoTracker *tracker);
/* New parameters for the next frames (tracks are kept). Returns -1 when invalid. */
int ufo_tracker_set_params(UfoTracker *tracker, const UfoTrackerParams *params);

/* One frame with detections. out_ids[n] (may be NULL) receives each detection's track id, 0
 * when it belongs to no confirmed track. Returns 0, or -1 when memory runs out (the tracker
 * is then reset). */
int ufo_tracker_update(UfoTracker *tracker, const UfoTrackDet *dets, size_t n, uint64_t *out_ids);
/* One frame without detector results: predicts every track. */
void ufo_tracker_predict(UfoTracker *tracker);

/* The live tracks (all states), valid until the next call on the tracker. */
const UfoTrack *ufo_tracker_get_tracks(const UfoTracker *tracker, size_t *n);

/* Intersection over union of two boxes (x, y, w, h); 0 when either is empty. */
double ufo_track_iou(const float a[4], const float b[4]);

#endif
