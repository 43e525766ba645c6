#!/usr/bin/env bash
# S5 (component only) A/B driver (first used in session 6): alternates variants, one fresh
# mixmuc (release, SQLite in a temp dir) per run, attached to
# `mixmuc-bench component`; writes OUT/<variant>-<shape>-<n>.json.
# usage: s5-small-and-large.sh OUT RUNS VARIANT... ; VARIANT = name=BIN_DIR[:THREADS]
# (THREADS set as [server] threads; left out for binaries without the key)
set -u
OUT=$1 RUNS=$2; shift 2
mkdir -p "$OUT"
PORT=29351
one() { # name bin threads rooms occ senders rate tag n
	local name=$1 bin=$2 threads=$3 rooms=$4 occ=$5 senders=$6 rate=$7 tag=$8 n=$9
	local d; d=$(mktemp -d /tmp/s6.XXXX)
	{
		printf '[server]\nhost = "127.0.0.1"\nport = %s\nmax_backoff_secs = 1\n' $PORT
		[ -n "$threads" ] && printf 'threads = %s\n' "$threads"
		printf '[mix]\ndomain = "mix.bench"\nsecret = "s1"\n[muc]\ndomain = "muc.bench"\nsecret = "s2"\n'
		printf '[store]\nurl = "sqlite://%s/mixmuc.db"\n[service]\ncreate_channels = "anyone"\nlocal_domains = ["bench.local"]\n[limits]\nmessage_rate = 0\npresence_rate = 0\n[log]\nfilter = "warn"\n' "$d"
	} > "$d/mixmuc.toml"
	"$bin/mixmuc" serve --config "$d/mixmuc.toml" > "$d/mixmuc.log" 2>&1 &
	local pid=$!
	sleep 1
	"$bin/mixmuc-bench" component --listen 127.0.0.1:$PORT --mix-domain mix.bench --muc-domain muc.bench \
		--mix-secret s1 --muc-secret s2 --user-domain bench.local --pid mixmuc=$pid \
		--rooms "$rooms" --occupants "$occ" --mix-per-room 0 --senders "$senders" --rate "$rate" \
		--duration 8 --warmup 3 --out "$OUT/$name-$tag-$n.json" > "$d/tool.log" 2>&1
	kill $pid; wait $pid 2>/dev/null
	python3 - "$OUT/$name-$tag-$n.json" <<'P'
import json, sys
s = json.load(open(sys.argv[1]))["steps"][-1]
print(sys.argv[1].rsplit("/", 1)[1], "out/s %.0f" % s["stanzas_out_per_s"], "out/CPU-s %.0f" % s["stanzas_out_per_cpu_s"],
      "lost", s["losses"], "dup", s["duplicates"], "p99 ms", s["latency_ms"]["p99"])
P
	rm -rf "$d"
}
for n in $(seq 1 "$RUNS"); do
	for v in "$@"; do
		name=${v%%=*} rest=${v#*=}
		bin=${rest%%:*} threads=; [ "$rest" != "$bin" ] && threads=${rest#*:}
		one "$name" "$bin" "$threads" 1000 5 1000 20000 small "$n"
		one "$name" "$bin" "$threads" 1 200 10 5000 large "$n"
	done
done
