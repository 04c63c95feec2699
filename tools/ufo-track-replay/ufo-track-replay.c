/* ufo-track-replay: the ufotrack core (gst/track) on detections from a CSV file, for
 * tools/reference/eval_tracking.py (ground-truth or recorded detections, no video needed).
 *
 *   ufo-track-replay [--interval N] [--high F] [--low F] [--new F] [--match F] [--buffer N]
 *                    [--min-hits N] < detections.csv > tracks.csv
 *
 * Input lines: frame,x,y,w,h,score,label (frames 0, 1, … ascending; '#' lines skipped).
 * Output lines: frame,track_id,x,y,w,h,predicted. With --interval N only frames with
 * frame % N == 0 are given to the tracker; the others are predicted, as ufotrack does when
 * ufodetect runs with inference-interval=N. Exit status 0, or 1 on bad input. */
#include "bytetrack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  long frame;
  UfoTrackDet d;
} Row;

static void emit_frame(UfoTracker *t, long frame, const Row *rows, size_t n, int interval)
{
  if (frame % interval == 0) {
    UfoTrackDet *d = calloc(n ? n : 1, sizeof *d);
    uint64_t *ids = malloc(sizeof *ids * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
      d[i] = rows[i].d;
    if (ufo_tracker_update(t, d, n, ids) == 0)
      for (size_t i = 0; i < n; i++)
        if (ids[i])
          printf("%ld,%llu,%.2f,%.2f,%.2f,%.2f,0\n", frame, (unsigned long long)ids[i], d[i].x,
                 d[i].y, d[i].w, d[i].h);
    free(d);
    free(ids);
  } else {
    ufo_tracker_predict(t);
    size_t nt;
    const UfoTrack *tr = ufo_tracker_get_tracks(t, &nt);
    for (size_t i = 0; i < nt; i++)
      if (tr[i].state == UFO_TRACK_STATE_TRACKED)
        printf("%ld,%llu,%.2f,%.2f,%.2f,%.2f,1\n", frame, (unsigned long long)tr[i].id, tr[i].x,
               tr[i].y, tr[i].w, tr[i].h);
  }
}

int main(int argc, char **argv)
{
  UfoTrackerParams p;
  ufo_tracker_params_init(&p);
  int interval = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--interval"))
      interval = atoi(v);
    else if (!strcmp(k, "--high"))
      p.track_high_thresh = (float)atof(v);
    else if (!strcmp(k, "--low"))
      p.track_low_thresh = (float)atof(v);
    else if (!strcmp(k, "--new"))
      p.new_track_thresh = (float)atof(v);
    else if (!strcmp(k, "--match"))
      p.match_thresh = (float)atof(v);
    else if (!strcmp(k, "--buffer"))
      p.track_buffer = atoi(v);
    else if (!strcmp(k, "--min-hits"))
      p.min_hits = atoi(v);
    else {
      fprintf(stderr, "ufo-track-replay: unknown option %s\n", k);
      return 1;
    }
  }
  UfoTracker *t = ufo_tracker_new(&p);
  if (!t || interval < 1) {
    fprintf(stderr, "ufo-track-replay: invalid parameters\n");
    ufo_tracker_free(t);
    return 1;
  }
  size_t cap = 64, n = 0;
  Row *rows = malloc(cap * sizeof *rows);
  long cur = 0;
  char line[512];
  printf("frame,track_id,x,y,w,h,predicted\n");
  while (fgets(line, sizeof line, stdin)) {
    if (line[0] == '#' || line[0] == '\n' || !strncmp(line, "frame", 5))
      continue;
    Row r;
    if (sscanf(line, "%ld,%f,%f,%f,%f,%f,%d", &r.frame, &r.d.x, &r.d.y, &r.d.w, &r.d.h, &r.d.score,
               &r.d.label) != 7 ||
        r.frame < cur) {
      fprintf(stderr, "ufo-track-replay: bad line: %s", line);
      free(rows);
      ufo_tracker_free(t);
      return 1;
    }
    while (cur < r.frame) { /* frames up to this one, with the rows gathered so far */
      emit_frame(t, cur++, rows, n, interval);
      n = 0;
    }
    if (n == cap)
      rows = realloc(rows, (cap *= 2) * sizeof *rows);
    rows[n++] = r;
  }
  emit_frame(t, cur, rows, n, interval);
  free(rows);
  ufo_tracker_free(t);
  return 0;
}
