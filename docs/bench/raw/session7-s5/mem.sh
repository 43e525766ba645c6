#!/usr/bin/env bash
# mem.sh name=BIN_DIR ... : RSS per membership, component mode, 1000x5, 10 senders at 10 msg/s for 3 s
set -u
PORT=29352
for v in "$@"; do
  name=${v%%=*} bin=${v#*=}
  d=$(mktemp -d /tmp/s7m.XXXX)
  printf '[server]\nhost = "127.0.0.1"\nport = %s\nmax_backoff_secs = 1\n[mix]\ndomain = "mix.bench"\nsecret = "s1"\n[muc]\ndomain = "muc.bench"\nsecret = "s2"\n[store]\nurl = "sqlite://%s/mixmuc.db"\n[service]\ncreate_channels = "anyone"\nlocal_domains = ["bench.local"]\n[log]\nfilter = "warn"\n' $PORT "$d" > "$d/mixmuc.toml"
  "$bin/mixmuc" serve --config "$d/mixmuc.toml" > "$d/mixmuc.log" 2>&1 &
  pid=$!
  sleep 1
  before=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
  "$bin/mixmuc-bench" component --listen 127.0.0.1:$PORT --mix-domain mix.bench --muc-domain muc.bench \
    --mix-secret s1 --muc-secret s2 --user-domain bench.local --pid mixmuc=$pid \
    --rooms 1000 --occupants 5 --mix-per-room 0 --senders 10 --rate 10 \
    --duration 3 --warmup 0 --out "$d/out.json" > "$d/tool.log" 2>&1 &
  tool=$!
  after=$before
  while kill -0 $tool 2>/dev/null; do r=$(awk '/VmRSS/{print $2}' /proc/$pid/status); [ -n "$r" ] && after=$r; sleep 0.3; done
  kill $pid; wait $pid 2>/dev/null
  echo "$name rss_before_kb=$before rss_after_kb=$after per_membership_B=$(( (after-before)*1024/5000 ))"
  rm -rf "$d"
done
