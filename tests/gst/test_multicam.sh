#!/usr/bin/env bash
# pipelines/multicam-mqtt end to end: two procedural demo videos (make_demo_video.py, seeds 2
# and 4) through one shared demo model, ufotrack and ufoanalytics (a line and a zone) per camera,
# ufometapublish method=mqtt to a real mosquitto on 127.0.0.1 at a free port. Checks:
#  - both topics (ufo/cam1, ufo/cam2) receive one document per frame, each valid against
#    docs/schema/ufo-frame.schema.json, with "source" = its camera;
#  - pipelines/mqtt-events prints exactly the events that ufoanalytics posted on the bus (printed
#    by multicam-mqtt from the element messages, another path than the published JSON), and
#    there are line crossings and zone events from both cameras to compare.
# Usage (meson): test_multicam.sh SOURCE_ROOT BUILD_ROOT
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$src/tests/gst/gst-tools-env.sh"
skip_or_fail() {
  if [ "${UFO_TEST_ALLOW_SKIP:-}" = 1 ]; then echo "SKIP: $1 (UFO_TEST_ALLOW_SKIP=1)"; exit 77; fi
  echo "FAIL: $1 (bash tools/setup-deps.sh installs it; UFO_TEST_ALLOW_SKIP=1 turns this into a skip)"
  exit 1
}
require_elements x264enc mp4mux avdec_h264 qtdemux
[ -x /usr/sbin/mosquitto ] || skip_or_fail "/usr/sbin/mosquitto is missing"
command -v mosquitto_sub > /dev/null || skip_or_fail "mosquitto_sub (mosquitto-clients) is missing"
python3 -c "import jsonschema" 2> /dev/null || skip_or_fail "python3 jsonschema is missing"
[ -x "$build/pipelines/mqtt-events" ] || skip_or_fail "mqtt-events is not built (no libmosquitto)"
[ -f "$src/models/ufo-demo.safetensors" ] || { echo "FAIL: models/ufo-demo.safetensors is missing"; exit 1; }
export GST_PLUGIN_PATH_1_0=$build/gst

# two cameras, 2 s each (30 frames at 15 fps), different scenes
for i in 1 2; do
  python3 "$src/tools/reference/make_demo_video.py" --out "$tmp/cam$i.mp4" --seed $((2 * i)) \
    --seconds 2 > /dev/null
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\n%s' "$port" \
  "$([ "$(id -u)" = 0 ] && echo 'user root')" > "$tmp/mosquitto.conf"
/usr/sbin/mosquitto -c "$tmp/mosquitto.conf" > "$tmp/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2> /dev/null && break
  sleep 0.1
done

mosquitto_sub -h 127.0.0.1 -p "$port" -q 1 -v -t 'ufo/#' > "$tmp/docs.txt" 2> "$tmp/mosquitto_sub.log" &
pids+=($!)
"$build/pipelines/mqtt-events" --broker "127.0.0.1:$port" > "$tmp/sub.txt" 2> "$tmp/sub.log" &
sub_pid=$!
pids+=($sub_pid)
for _ in $(seq 100); do grep -q '^subscribed' "$tmp/sub.log" && break; sleep 0.1; done
grep -q '^subscribed' "$tmp/sub.log" || { cat "$tmp/sub.log"; echo "FAIL: mqtt-events did not subscribe"; exit 1; }
sleep 0.3 # mosquitto_sub has no ready signal; it connects as fast as mqtt-events

# the example itself, as docs/user-guide.md runs it
(cd "$src" && "$build/pipelines/multicam-mqtt" --broker "127.0.0.1:$port" "$tmp/cam1.mp4" "$tmp/cam2.mp4") \
  > "$tmp/pub.txt" 2> "$tmp/pub.log" || { cat "$tmp/pub.log"; echo "FAIL: multicam-mqtt failed"; exit 1; }
cat "$tmp/pub.log"
for _ in $(seq 50); do [ "$(wc -l < "$tmp/docs.txt")" -ge 60 ] && break; sleep 0.1; done
sleep 0.3
kill "$sub_pid"

python3 - "$tmp" "$src/docs/schema/ufo-frame.schema.json" <<'PY'
import collections, json, sys, jsonschema
tmp, schema_path = sys.argv[1], sys.argv[2]
validator = jsonschema.Draft7Validator(json.load(open(schema_path)))
frames = collections.Counter()
for line in open(f"{tmp}/docs.txt"):
    topic, doc = line.rstrip("\n").split(" ", 1)
    d = json.loads(doc)
    errors = sorted(validator.iter_errors(d), key=str)
    if errors:
        sys.exit(f"FAIL: a document on {topic} does not follow the schema: {errors[0].message}")
    if topic != "ufo/" + d.get("source", ""):
        sys.exit(f"FAIL: a document of source {d.get('source')!r} came on {topic}")
    if not d["analytics"][0]["rules"]:
        sys.exit("FAIL: a document without the rules")
    frames[topic] += 1
# every frame carries the analytics meta, so every frame is published
if frames != {"ufo/cam1": 30, "ufo/cam2": 30}:
    sys.exit(f"FAIL: documents per topic {dict(frames)}, expected 30 on ufo/cam1 and ufo/cam2")
pub = sorted(open(f"{tmp}/pub.txt").read().splitlines())
sub = sorted(open(f"{tmp}/sub.txt").read().splitlines())
if pub != sub:
    sys.exit("FAIL: mqtt-events printed other events than ufoanalytics posted\n"
             f"bus:  {pub}\nmqtt: {sub}")
kinds = collections.Counter(l.split()[2] for l in pub)
cams = collections.Counter(l.split()[0] for l in pub)
if kinds["line-crossed"] < 2 or kinds["zone-entered"] + kinds["zone-left"] < 2 or len(cams) != 2:
    sys.exit(f"FAIL: too few events to compare: {dict(kinds)} from {dict(cams)}")
print(f"ok: 2 x 30 documents valid on ufo/cam1 and ufo/cam2; {len(pub)} events "
      f"({dict(kinds)}) printed by mqtt-events exactly as ufoanalytics posted them")
PY
