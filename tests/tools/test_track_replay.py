"""tools/ufo-track-replay end to end (stdlib only): two objects crossing, detections on every
third frame (--interval 3): both keep their ids, the frames in between carry predicted boxes that
follow the motion, and bad input is refused.

Usage: test_track_replay.py UFO_TRACK_REPLAY"""

import csv
import subprocess
import sys


def main():
    exe = sys.argv[1]
    lines = []
    for k in range(60):
        lines.append(f"{k},{20 + 5 * k},100,40,40,0.9,0\n")
        lines.append(f"{k},{320 - 5 * k},108,40,40,0.8,1\n")
    out = subprocess.run([exe, "--interval", "3"], input="".join(lines), capture_output=True,
                         text=True, check=True).stdout
    rows = list(csv.DictReader(out.splitlines()))
    frames = {}
    for r in rows:
        frames.setdefault(int(r["frame"]), []).append(r)
    assert sorted(frames) == list(range(60)), sorted(frames)
    for k, rs in frames.items():
        assert len(rs) == 2, (k, rs)
        for r in rs:
            assert r["predicted"] == ("0" if k % 3 == 0 else "1"), (k, r)
            x = float(r["x"])
            want = 20 + 5 * k if r["track_id"] == "1" else 320 - 5 * k
            assert r["track_id"] in ("1", "2"), r
            if k >= 12:  # after a few updates the velocity is known
                assert abs(x - want) < 3.0, (k, r, want)
    bad = subprocess.run([exe], input="3,1,1,1,1,0.9,0\n1,1,1,1,1,0.9,0\n", capture_output=True,
                         text=True)
    assert bad.returncode == 1 and "bad line" in bad.stderr, bad
    assert subprocess.run([exe, "--min-hits", "0"], input="", capture_output=True).returncode == 1
    print("ok")


if __name__ == "__main__":
    main()
