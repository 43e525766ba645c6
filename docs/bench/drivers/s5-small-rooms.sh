#!/usr/bin/env bash
# S5 driver (small rooms, 1,000 x 5, component mode; first used in session 7), one fresh
# release mixmuc on SQLite in a temp dir per run; variants alternate.
#   s5-small-rooms.sh cpu OUT RUNS RATE name=BIN_DIR ...  stanzas out/s and per mixmuc CPU-s
#                                                (8 s step after 3 s warm-up; OUT/<name>-<n>.json)
#   s5-small-rooms.sh mem name=BIN_DIR ...       RSS per membership: RSS 1 s after start vs the
#                                                last RSS (every 0.3 s) while 10 senders send
#                                                10 msgs/s for 3 s; (after - before) / 5,000
# (Small and large rooms at fixed rates: s5-small-and-large.sh; memory: memory-per-membership.sh.)
set -u
PORT=29351
start_mixmuc() { # bin dir -> sets pid
	printf '[server]\nhost = "127.0.0.1"\nport = %s\nmax_backoff_secs = 1\n[mix]\ndomain = "mix.bench"\nsecret = "s1"\n[muc]\ndomain = "muc.bench"\nsecret = "s2"\n[store]\nurl = "sqlite://%s/mixmuc.db"\n[service]\ncreate_channels = "anyone"\nlocal_domains = ["bench.local"]\n[limits]\nmessage_rate = 0\npresence_rate = 0\n[log]\nfilter = "warn"\n' $PORT "$2" > "$2/mixmuc.toml"
	"$1/mixmuc" serve --config "$2/mixmuc.toml" > "$2/mixmuc.log" 2>&1 &
	pid=$!
	sleep 1
}
tool() { # bin senders rate duration warmup out
	"$1/mixmuc-bench" component --listen 127.0.0.1:$PORT --mix-domain mix.bench --muc-domain muc.bench \
		--mix-secret s1 --muc-secret s2 --user-domain bench.local --pid mixmuc=$pid \
		--rooms 1000 --occupants 5 --mix-per-room 0 --senders "$2" --rate "$3" \
		--duration "$4" --warmup "$5" --out "$6"
}
mode=$1; shift
case $mode in
cpu)
	OUT=$1 RUNS=$2 RATE=$3; shift 3
	mkdir -p "$OUT"
	for n in $(seq 1 "$RUNS"); do
		for v in "$@"; do
			name=${v%%=*} bin=${v#*=} d=$(mktemp -d /tmp/s7r.XXXX)
			start_mixmuc "$bin" "$d"
			tool "$bin" 1000 "$RATE" 8 3 "$OUT/$name-$n.json" > "$d/tool.log" 2>&1
			kill $pid; wait $pid 2>/dev/null
			python3 - "$OUT/$name-$n.json" <<'P'
import json, sys
s = json.load(open(sys.argv[1]))["steps"][-1]
print(sys.argv[1].rsplit("/", 1)[1], "out/s %.0f" % s["stanzas_out_per_s"], "out/CPU-s %.0f" % s["stanzas_out_per_cpu_s"], "lost", s["losses"], "p99", s["latency_ms"]["p99"])
P
			rm -rf "$d"
		done
	done ;;
mem)
	for v in "$@"; do
		name=${v%%=*} bin=${v#*=} d=$(mktemp -d /tmp/s7m.XXXX)
		start_mixmuc "$bin" "$d"
		before=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
		tool "$bin" 10 10 3 0 "$d/out.json" > "$d/tool.log" 2>&1 &
		t=$! after=$before
		while kill -0 $t 2>/dev/null; do r=$(awk '/VmRSS/{print $2}' /proc/$pid/status); [ -n "$r" ] && after=$r; sleep 0.3; done
		kill $pid; wait $pid 2>/dev/null
		echo "$name rss_before_kb=$before rss_after_kb=$after per_membership_B=$(( (after - before) * 1024 / 5000 ))"
		rm -rf "$d"
	done ;;
*) echo "usage: s5-small-rooms.sh cpu OUT RUNS RATE name=BIN_DIR ... | s5-small-rooms.sh mem name=BIN_DIR ..." >&2; exit 2 ;;
esac
