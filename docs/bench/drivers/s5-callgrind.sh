#!/usr/bin/env bash
# S5 under callgrind: the instructions mixmuc executes (all its threads, SQLite included) for
# one fixed component-mode workload, from start to stop. Repeatable for the same binary and
# workload whatever else the machine does (unlike CPU seconds on a shared VM), so two builds
# compare within a fraction of a percent. First used for issue 19 (the layering refactor).
#   s5-callgrind.sh OUT NAME BIN_DIR ROOMS OCCUPANTS SENDERS RATE
# e.g. large room: 1 200 10 200; small rooms: 1000 5 1000 500 (callgrind runs mixmuc ~50x
# slower: keep the rate low enough that nothing is lost). Prints NAME, instructions, messages.
set -u
OUT=$1 NAME=$2 BIN=$3 ROOMS=$4 OCC=$5 SENDERS=$6 RATE=$7
PORT=29361
mkdir -p "$OUT"
d=$(mktemp -d /tmp/s5cg.XXXX)
printf '[server]\nhost = "127.0.0.1"\nport = %s\nmax_backoff_secs = 1\n[mix]\ndomain = "mix.bench"\nsecret = "s1"\n[muc]\ndomain = "muc.bench"\nsecret = "s2"\n[store]\nurl = "sqlite://%s/mixmuc.db"\n[service]\ncreate_channels = "anyone"\nlocal_domains = ["bench.local"]\n[limits]\nmessage_rate = 0\npresence_rate = 0\n[log]\nfilter = "warn"\n' $PORT "$d" > "$d/mixmuc.toml"
valgrind --tool=callgrind --callgrind-out-file="$d/callgrind.out" "$BIN/mixmuc" serve --config "$d/mixmuc.toml" > "$d/mixmuc.log" 2>&1 &
pid=$!
sleep 4
"$BIN/mixmuc-bench" component --listen 127.0.0.1:$PORT --mix-domain mix.bench --muc-domain muc.bench \
	--mix-secret s1 --muc-secret s2 --user-domain bench.local --pid mixmuc=$pid \
	--rooms "$ROOMS" --occupants "$OCC" --mix-per-room 0 --senders "$SENDERS" --rate "$RATE" \
	--duration 8 --warmup 3 --out "$OUT/$NAME.json" > "$d/tool.log" 2>&1
kill $pid; wait $pid 2>/dev/null
ir=$(grep -E '^summary:' "$d/callgrind.out" | awk '{print $2}')
python3 - "$OUT/$NAME.json" "$NAME" "$ir" <<'P'
import json, sys
steps = json.load(open(sys.argv[1]))["steps"]
print(sys.argv[2], "instructions", sys.argv[3], "messages", sum(s["sent"] for s in steps),
      "stanzas_out", sum(s["stanzas_out"] for s in steps), "losses", sum(s["losses"] for s in steps))
P
rm -rf "$d"
