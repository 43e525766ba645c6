#!/usr/bin/env bash
# Memory driver (component mode, S2's shape: rooms of 5 MUC occupants; first used in session 8),
# one fresh release mixmuc on SQLite in a temp dir per run; variants alternate.
#   memory-per-membership.sh ROUNDS name=BIN_DIR ...
# Per variant and round, two runs: 200 rooms (1,000 memberships) and 1,000 rooms
# (5,000). Each: RSS (with its anonymous / file-backed split) 1 s after start, and
# the last RSS (every 0.3 s) while 10 senders send 10 msgs/s for 3 s. Prints
#   per_membership_B = (after - before) / 5,000 for the 1,000-room run (the
#                      measure of sessions 3-7: it charges one-time costs, such as
#                      code pages first touched and the archive's connection, to
#                      the memberships), and
#   slope_B          = (after_1000 - after_200) / 4,000: what one more membership costs.
set -u
PORT=29351
run() { # bin rooms -> "before_kb after_kb anon_before anon_after file_before file_after"
	local bin=$1 rooms=$2 d pid t snap b a
	d=$(mktemp -d /tmp/s8m.XXXX)
	printf '[server]\nhost = "127.0.0.1"\nport = %s\nmax_backoff_secs = 1\n[mix]\ndomain = "mix.bench"\nsecret = "s1"\n[muc]\ndomain = "muc.bench"\nsecret = "s2"\n[store]\nurl = "sqlite://%s/mixmuc.db"\n[service]\ncreate_channels = "anyone"\nlocal_domains = ["bench.local"]\n[limits]\nmessage_rate = 0\npresence_rate = 0\n[log]\nfilter = "warn"\n' $PORT "$d" > "$d/mixmuc.toml"
	"$bin/mixmuc" serve --config "$d/mixmuc.toml" > "$d/mixmuc.log" 2>&1 &
	pid=$!
	sleep 1
	snap() { awk '/^VmRSS/{r=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2} END{print r, a, f}' /proc/$pid/status; }
	b=$(snap) a=$b
	"$bin/mixmuc-bench" component --listen 127.0.0.1:$PORT --mix-domain mix.bench --muc-domain muc.bench \
		--mix-secret s1 --muc-secret s2 --user-domain bench.local --pid mixmuc=$pid \
		--rooms "$rooms" --occupants 5 --mix-per-room 0 --senders 10 --rate 10 \
		--duration 3 --warmup 0 --out "$d/out.json" > "$d/tool.log" 2>&1 &
	t=$!
	while kill -0 $t 2>/dev/null; do s=$(snap); [ -n "$s" ] && a=$s; sleep 0.3; done
	wait $t || { echo "tool failed: $(tail -1 "$d/tool.log")" >&2; }
	kill $pid; wait $pid 2>/dev/null
	rm -rf "$d"
	set -- $b $a
	echo "$1 $4 $2 $5 $3 $6"
	sleep 1
}
ROUNDS=$1; shift
variants=("$@")
for n in $(seq 1 "$ROUNDS"); do
	for v in "${variants[@]}"; do
		name=${v%%=*} bin=${v#*=}
		set -- $(run "$bin" 200); small_after=$2
		set -- $(run "$bin" 1000)
		echo "$name round=$n before_kb=$1 after_kb=$2 anon_kb=$3->$4 file_kb=$5->$6 after_200_rooms_kb=$small_after per_membership_B=$(( ($2 - $1) * 1024 / 5000 )) slope_B=$(( ($2 - small_after) * 1024 / 4000 ))"
	done
done
