#!/usr/bin/env bash
# ab.sh OUT RUNS RATE name=BIN_DIR ...  (small rooms only, 1000x5)
set -u
OUT=$1 RUNS=$2 RATE=$3; shift 3
mkdir -p "$OUT"
PORT=29351
for n in $(seq 1 "$RUNS"); do
 for v in "$@"; do
  name=${v%%=*} bin=${v#*=}
  d=$(mktemp -d /tmp/s7r.XXXX)
  printf '[server]\nhost = "127.0.0.1"\nport = %s\nmax_backoff_secs = 1\n[mix]\ndomain = "mix.bench"\nsecret = "s1"\n[muc]\ndomain = "muc.bench"\nsecret = "s2"\n[store]\nurl = "sqlite://%s/mixmuc.db"\n[service]\ncreate_channels = "anyone"\nlocal_domains = ["bench.local"]\n[log]\nfilter = "warn"\n' $PORT "$d" > "$d/mixmuc.toml"
  "$bin/mixmuc" serve --config "$d/mixmuc.toml" > "$d/mixmuc.log" 2>&1 &
  pid=$!
  sleep 1
  "$bin/mixmuc-bench" component --listen 127.0.0.1:$PORT --mix-domain mix.bench --muc-domain muc.bench \
    --mix-secret s1 --muc-secret s2 --user-domain bench.local --pid mixmuc=$pid \
    --rooms 1000 --occupants 5 --mix-per-room 0 --senders 1000 --rate $RATE \
    --duration 8 --warmup 3 --out "$OUT/$name-$n.json" > "$d/tool.log" 2>&1
  kill $pid; wait $pid 2>/dev/null
  python3 - "$OUT/$name-$n.json" <<'P'
import json, sys
s = json.load(open(sys.argv[1]))["steps"][-1]
print(sys.argv[1].rsplit("/", 1)[1], "out/s %.0f" % s["stanzas_out_per_s"], "out/CPU-s %.0f" % s["stanzas_out_per_cpu_s"], "lost", s["losses"], "p99", s["latency_ms"]["p99"])
P
  rm -rf "$d"
 done
done
