#!/usr/bin/env bash
# usage: s5.sh BIN_DIR OCC MIXPER RATE [ROOMS SENDERS]
set -u
BIN=$1 OCC=$2 MIXPER=$3 RATE=$4 ROOMS=${5:-1} SENDERS=${6:-10}
D=$(mktemp -d /tmp/s5.XXXX); PORT=29348
cat > $D/mixmuc.toml <<T
[server]
host = "127.0.0.1"
port = $PORT
max_backoff_secs = 1
[mix]
domain = "mix.bench"
secret = "s1"
[muc]
domain = "muc.bench"
secret = "s2"
[store]
url = "sqlite://$D/mixmuc.db"
[service]
create_channels = "anyone"
local_domains = ["bench.local"]
[limits]
message_rate = 0
presence_rate = 0
[log]
filter = "warn"
T
$BIN/mixmuc migrate --config $D/mixmuc.toml >/dev/null 2>&1
( sleep 1; exec $BIN/mixmuc serve --config $D/mixmuc.toml >$D/mixmuc.log 2>&1 ) &
sleep 1.5
MPID=$(pgrep -f "mixmuc serve --config $D/mixmuc.toml" | head -1)
$BIN/mixmuc-bench component --listen 127.0.0.1:$PORT --mix-domain mix.bench --muc-domain muc.bench --mix-secret s1 --muc-secret s2 --user-domain bench.local --pid mixmuc=$MPID \
  --rooms $ROOMS --occupants $OCC --mix-per-room $MIXPER --senders $SENDERS --rate $RATE --duration 8 --warmup 2 --out $D/out.json > $D/tool.log 2>&1
echo "tool rc=$?"
kill $MPID; sleep 1
python3 - $D/out.json <<'P'
import json,sys
j=json.load(open(sys.argv[1]))
for s in j.get("steps",[]):
    print({k:s.get(k) for k in ("offered_msgs_per_s","stanzas_out_per_s","stanzas_out_per_cpu_s","delivered","losses","duplicates","p50_ms","p99_ms")})
P
echo $D
