# shellcheck shell=bash
# Shared helpers for scripts/demo, scripts/test and scripts/bed.
#
# Source it from bash (set -euo pipefail friendly). It provides:
#   mm_install            install what is missing (Debian prosody, postgresql, ejabberd,
#                         .venv with slixmpp + pytest)
#   mm_build [ARGS]       cargo build (dev profile) with ARGS (the root package, mixmuc, unless
#                         ARGS name others: -p mixmuc-bench or --workspace for the bench/ tools)
#   mm_bed_init DIR       create a test bed folder (ports, domains, secrets in DIR/bed.env)
#   mm_bed_up DIR         init + start Prosody + start the "main" mixmuc instance
#   mm_bed_down DIR       stop every process of the bed, by PID
#   mm_prosody_start DIR / mm_prosody_stop DIR
#   mm_mixmuc_config DIR NAME / mm_mixmuc_start DIR NAME / mm_mixmuc_stop DIR NAME
#                         (NAME: main, alt, or standby: alt's domains; MM_START_NOWAIT=1 does not
#                         wait for "link up")
#   mm_mixmuc_wait_link DIR NAME OFFSET   wait for "link up" of both domains after byte OFFSET
#   mm_cargo_deb          install cargo-deb when missing (cargo install cargo-deb --locked)
#   mm_deb_assets         target/deb-assets/mixmuc.toml, the packaged configuration
#   mm_deb_package BIN OUTDIR [ARGS]   the Debian package of binary BIN (any profile) in OUTDIR
#   mm_pg_start DIR / mm_pg_stop DIR [fast|immediate] / mm_pg_url DIR
#                         a private PostgreSQL server of the bed (own data, port and socket
#                         folder in DIR/postgres/), for store-outage trials
#   mm_ejabberd_install   install the Debian package ejabberd when ejabberdctl is missing
#   mm_ejabberd_start DIR / mm_ejabberd_stop DIR / mm_ejabberd_ctl DIR ARGS...
#                         a private ejabberd: the caller writes DIR/ejabberd.yml (loopback
#                         listeners); its own node name, Erlang distribution port, spool,
#                         logs and PID files in DIR; run as the user ejabberd; stopped by PID
#
# A bed is one folder: DIR/bed.env (settings), DIR/prosody/ (config, data, empty certs,
# prosody.log, pid), DIR/mixmuc-NAME/ (mixmuc.toml, mixmuc.db, mixmuc.log, pid), and when a
# test asks for one, DIR/postgres/ (data/, sock/, postgres.log, port, pid).
# Every process is started in the background with its PID in a file, and stopped by that PID.
#
# Settings (environment, read by mm_bed_init; the values land in DIR/bed.env):
#   MM_C2S_PORT (25222)  MM_COMPONENT_PORT (25347)  MM_PROSODY_LOG_LEVEL (info)
#   (without MM_*_PORT, a bed takes the next free pair when another bed holds 25222/25347)
#   MM_BIN (target/debug/mixmuc): the mixmuc binary
# For mm_mixmuc_config (per instance, when the config is written):
#   MM_CREATE_CHANNELS ('"anyone"', a TOML value)  MM_ADMINS ('[]')
#   MM_LOCAL_DOMAINS ('["localhost"]')  MM_STORE_URL (sqlite file in the instance folder)
#   MM_LOG_FILTER ('info')  MM_LOG_FORMAT ('text')  MM_IDLE_SESSION_CHECK_SECS ('900': [service] idle_session_check_secs)
#   MM_METRICS_LISTEN (unset: no [metrics] section; e.g. 127.0.0.1:9347)
#
# Test accounts on VirtualHost "localhost", all with password "pass":
#   alice bob carol dave eve admin

MM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MM_VENV="${MM_VENV:-$MM_ROOT/.venv}"
MM_ACCOUNTS="alice bob carol dave eve admin"
MM_PASSWORD="pass"

mm_log() { printf '[mixmuc] %s\n' "$*" >&2; }
mm_die() { printf '[mixmuc] ERROR: %s\n' "$*" >&2; return 1; }

# ---------------------------------------------------------------- install

# Install Debian packages without letting their services start.
mm_apt_install() {
	local created_policy=0 rc=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# temporary, from mixmuc scripts/lib.sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		created_policy=1
	fi
	mm_log "apt-get install $*"
	{ DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; } || rc=$?
	if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
	return "$rc"
}

# A system Prosody may have been started by the package; we never use it.
mm_stop_system_prosody() {
	local pid
	pid="$(cat /run/prosody/prosody.pid 2>/dev/null || true)"
	if [ -n "$pid" ] && mm_pid_alive "$pid" && grep -qa prosody "/proc/$pid/cmdline" 2>/dev/null; then
		mm_log "stopping the system Prosody (pid $pid); the tests run a private one"
		mm_kill_pid "$pid" prosody
	fi
}

mm_install() {
	local pkgs=()
	command -v prosody >/dev/null 2>&1 && command -v prosodyctl >/dev/null 2>&1 || pkgs+=(prosody)
	# `mixmuc import prosody --sql` is tested against a Prosody with SQL storage on SQLite.
	[ -d /usr/share/doc/lua-dbi-sqlite3 ] || pkgs+=(lua-dbi-sqlite3)
	# The store-outage trial runs a private PostgreSQL server (initdb, postgres, pg_isready);
	# installing the package creates the system cluster but policy-rc.d keeps it stopped.
	mm_pg_bindir >/dev/null 2>&1 || pkgs+=(postgresql)
	# tests/interop/test_ejabberd.py runs a private ejabberd (mm_ejabberd_start); the
	# package's own service stays stopped (policy-rc.d) and is never used. Not a reason to
	# stop a non-root run: that test then skips loudly (and fails under CI=true).
	if ! command -v ejabberdctl >/dev/null 2>&1; then
		if [ "$(id -u)" = 0 ]; then
			pkgs+=(ejabberd)
		else
			mm_log "ejabberd is missing and this is not root: tests/interop/test_ejabberd.py will skip"
		fi
	fi
	if ! command -v python3 >/dev/null 2>&1; then
		pkgs+=(python3 python3-venv)
	elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
		pkgs+=(python3-venv)
	fi
	if [ "${#pkgs[@]}" -gt 0 ]; then
		[ "$(id -u)" = 0 ] || mm_die "missing ${pkgs[*]}; run as root or install them" || return 1
		mm_apt_install "${pkgs[@]}" || return 1
		case " ${pkgs[*]} " in *" prosody "*) mm_stop_system_prosody ;; esac
	fi
	mm_venv
}

# .venv with the pinned Python requirements; re-run pip only when they change.
mm_venv() {
	local req="$MM_ROOT/tests/interop/requirements.txt" stamp="$MM_VENV/.requirements.sha256" sum
	sum="$(sha256sum "$req" | cut -d' ' -f1)"
	if [ -x "$MM_VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then
		return 0
	fi
	mm_log "creating $MM_VENV (slixmpp, pytest)"
	[ -x "$MM_VENV/bin/python" ] || python3 -m venv "$MM_VENV" || return 1
	"$MM_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$req" || return 1
	echo "$sum" >"$stamp"
}

# cargo's target folder, absolute (CARGO_TARGET_DIR is relative to the repo root here).
mm_target_dir() {
	local dir="${CARGO_TARGET_DIR:-$MM_ROOT/target}"
	case "$dir" in /*) ;; *) dir="$MM_ROOT/$dir" ;; esac
	printf '%s\n' "$dir"
}

mm_build() {
	mm_log "cargo build $*"
	(cd "$MM_ROOT" && cargo build "$@")
}

# ---------------------------------------------------------------- Debian package

mm_cargo_deb() {
	command -v cargo-deb >/dev/null 2>&1 && return 0
	mm_log "cargo install cargo-deb --locked"
	cargo install cargo-deb --locked --quiet || return 1
}

# The packaged /etc/mixmuc/mixmuc.toml (an asset of [package.metadata.deb] in Cargo.toml):
# config/mixmuc.example.toml with its store under /var/lib/mixmuc (the unit's StateDirectory).
mm_deb_assets() {
	local dir="$MM_ROOT/target/deb-assets" from='url = "sqlite://data/mixmuc.db"' to='url = "sqlite:///var/lib/mixmuc/mixmuc.db"'
	mkdir -p "$dir"
	grep -qxF "$from" "$MM_ROOT/config/mixmuc.example.toml" ||
		mm_die "config/mixmuc.example.toml has no line '$from' to turn into the packaged store" || return 1
	sed "s|^${from}\$|${to}|" "$MM_ROOT/config/mixmuc.example.toml" >"$dir/mixmuc.toml"
}

# mm_deb_package BIN OUTDIR [CARGO_DEB_ARGS]: the package with BIN as /usr/bin/mixmuc, without
# building. cargo-deb takes the binary from <target dir>/release/mixmuc; BIN is hard-linked
# (or copied) there in a staging target dir of its own, so that a debug binary can be packaged
# (cargo-deb refuses dev profiles) and target/release is never touched. Prints the .deb's path.
mm_deb_package() {
	local bin="$1" out="$2" stage
	shift 2
	[ -x "$bin" ] || mm_die "no binary $bin to package" || return 1
	mm_cargo_deb && mm_deb_assets || return 1
	stage="$(mm_target_dir)/deb-stage"
	mkdir -p "$stage/release" "$out"
	ln -f "$bin" "$stage/release/mixmuc" 2>/dev/null || cp -f "$bin" "$stage/release/mixmuc" || return 1
	if ! (cd "$MM_ROOT" && CARGO_TARGET_DIR="$stage" cargo deb -p mixmuc --no-build --output "$out" "$@") \
		>"$stage/cargo-deb.out" 2>"$stage/cargo-deb.err"; then
		cat "$stage/cargo-deb.err" >&2
		mm_die "cargo deb failed"
		return 1
	fi
	# cargo-deb prints the package's path last.
	tail -n 1 "$stage/cargo-deb.out"
}

# ---------------------------------------------------------------- processes

mm_pid_alive() {
	local state
	[ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
	state="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
	[ -n "$state" ] && [ "$state" != Z ]
}

# mm_kill_pid PID WHAT: TERM, wait up to 10 s, then KILL. Only if its command line contains
# WHAT (the config file path of the process we started), so a reused PID is never hit.
mm_kill_pid() {
	local pid="$1" what="$2"
	mm_pid_alive "$pid" || return 0
	if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$what"; then
		mm_log "pid $pid is no longer $what; not touching it"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		mm_pid_alive "$pid" || break
		sleep 0.1
	done
	if mm_pid_alive "$pid"; then
		mm_log "$what (pid $pid) ignored TERM for 10 s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.2
	fi
	# Reap it if it is our own child (a no-op otherwise).
	wait "$pid" 2>/dev/null || true
}

# mm_stop_pidfile FILE WHAT
mm_stop_pidfile() {
	local pid
	[ -f "$1" ] || return 0
	pid="$(cat "$1")"
	mm_kill_pid "$pid" "$2"
	rm -f "$1"
}

mm_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# mm_wait_port PORT PID TIMEOUT_S
mm_wait_port() {
	local port="$1" pid="$2" deadline=$((SECONDS + $3))
	until mm_port_open "$port"; do
		mm_pid_alive "$pid" || return 1
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# ---------------------------------------------------------------- bed

mm_secret() { od -An -tx1 -N12 /dev/urandom | tr -d ' \n'; }

# mm_pick_ports: sets C2S_PORT and COMPONENT_PORT. MM_C2S_PORT / MM_COMPONENT_PORT when
# given; otherwise 25222 / 25347, or the next free pair (+1, +2, ...) when another bed
# on this machine already uses them.
mm_pick_ports() {
	local n
	if [ -n "${MM_C2S_PORT:-}" ] || [ -n "${MM_COMPONENT_PORT:-}" ]; then
		C2S_PORT="${MM_C2S_PORT:-25222}" COMPONENT_PORT="${MM_COMPONENT_PORT:-25347}"
		return 0
	fi
	for n in $(seq 0 99); do
		C2S_PORT=$((25222 + n)) COMPONENT_PORT=$((25347 + n))
		if ! mm_port_open "$C2S_PORT" && ! mm_port_open "$COMPONENT_PORT"; then
			[ "$n" = 0 ] || mm_log "ports 25222/25347 are taken; this bed uses $C2S_PORT/$COMPONENT_PORT"
			return 0
		fi
	done
	mm_die "no free port pair between 25222/25347 and 25321/25446"
}

mm_bed_init() {
	local dir="$1" C2S_PORT COMPONENT_PORT
	mkdir -p "$dir"
	if [ -f "$dir/bed.env" ]; then
		# A bed made before the fanout component existed: add it.
		grep -q '^FANOUT_DOMAIN=' "$dir/bed.env" ||
			printf 'FANOUT_DOMAIN=fanout.localhost\nFANOUT_SECRET=%s\n' "$(mm_secret)" >>"$dir/bed.env"
		return 0
	fi
	mm_pick_ports || return 1
	cat >"$dir/bed.env" <<-ENV
		BED_DIR=$(cd "$dir" && pwd)
		C2S_PORT=$C2S_PORT
		COMPONENT_PORT=$COMPONENT_PORT
		PROSODY_LOG_LEVEL=${MM_PROSODY_LOG_LEVEL:-info}
		USER_DOMAIN=localhost
		ACCOUNTS="$MM_ACCOUNTS"
		PASSWORD=$MM_PASSWORD
		CONFERENCE_DOMAIN=conference.localhost
		MAIN_MIX_DOMAIN=mix.localhost
		MAIN_MUC_DOMAIN=muc.localhost
		MAIN_MIX_SECRET=$(mm_secret)
		MAIN_MUC_SECRET=$(mm_secret)
		ALT_MIX_DOMAIN=mix2.localhost
		ALT_MUC_DOMAIN=muc2.localhost
		ALT_MIX_SECRET=$(mm_secret)
		ALT_MUC_SECRET=$(mm_secret)
		FANOUT_DOMAIN=fanout.localhost
		FANOUT_SECRET=$(mm_secret)
		BINARY=${MM_BIN:-$(mm_target_dir)/debug/mixmuc}
	ENV
}

mm_bed_load() {
	[ -f "$1/bed.env" ] || mm_die "$1 is not a test bed (no bed.env); run mm_bed_init" || return 1
	# shellcheck disable=SC1091
	. "$1/bed.env"
}

mm_prosody_start() {
	local dir="$1" pdir vhost_modules="" plugin_path pid user
	mm_bed_load "$dir" || return 1
	pdir="$BED_DIR/prosody"
	if [ -f "$pdir/pid" ] && mm_pid_alive "$(cat "$pdir/pid")"; then
		mm_log "Prosody already running (pid $(cat "$pdir/pid"))"
		return 0
	fi
	for port in "$C2S_PORT" "$COMPONENT_PORT"; do
		! mm_port_open "$port" || mm_die "port $port on 127.0.0.1 is already taken; set MM_C2S_PORT / MM_COMPONENT_PORT" || return 1
	done
	mkdir -p "$pdir/data" "$pdir/certs"
	plugin_path="$MM_ROOT/contrib/prosody"
	if [ -f "$plugin_path/mod_mix_pam.lua" ]; then
		vhost_modules='"mix_pam";'
	fi
	if [ -f "$plugin_path/mod_component_multicast.lua" ]; then
		vhost_modules="$vhost_modules"' "component_multicast";'
	fi
	sed -e "s|@PROSODY_DIR@|$pdir|g" \
		-e "s|@PLUGIN_PATH@|$plugin_path|g" \
		-e "s|@C2S_PORT@|$C2S_PORT|g" \
		-e "s|@COMPONENT_PORT@|$COMPONENT_PORT|g" \
		-e "s|@LOG_LEVEL@|$PROSODY_LOG_LEVEL|g" \
		-e "s|@VHOST_MODULES@|$vhost_modules|g" \
		-e "s|@MIX_DOMAIN@|$MAIN_MIX_DOMAIN|g" -e "s|@MIX_SECRET@|$MAIN_MIX_SECRET|g" \
		-e "s|@MUC_DOMAIN@|$MAIN_MUC_DOMAIN|g" -e "s|@MUC_SECRET@|$MAIN_MUC_SECRET|g" \
		-e "s|@MIX2_DOMAIN@|$ALT_MIX_DOMAIN|g" -e "s|@MIX2_SECRET@|$ALT_MIX_SECRET|g" \
		-e "s|@MUC2_DOMAIN@|$ALT_MUC_DOMAIN|g" -e "s|@MUC2_SECRET@|$ALT_MUC_SECRET|g" \
		-e "s|@CONFERENCE_DOMAIN@|$CONFERENCE_DOMAIN|g" \
		-e "s|@FANOUT_DOMAIN@|$FANOUT_DOMAIN|g" -e "s|@FANOUT_SECRET@|$FANOUT_SECRET|g" \
		"$MM_ROOT/scripts/prosody/prosody.cfg.lua.in" >"$pdir/prosody.cfg.lua"
	# Accounts are written to the data folder directly, before the server starts.
	if [ ! -f "$pdir/accounts.done" ]; then
		for user in $ACCOUNTS; do
			prosodyctl --config "$pdir/prosody.cfg.lua" register "$user" "$USER_DOMAIN" "$PASSWORD" \
				>>"$pdir/prosodyctl.out" 2>&1 ||
				{ cat "$pdir/prosodyctl.out" >&2; mm_die "prosodyctl register $user failed"; return 1; }
		done
		touch "$pdir/accounts.done"
	fi
	prosody --config "$pdir/prosody.cfg.lua" -F >>"$pdir/prosody.out" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$pdir/pid"
	if ! mm_wait_port "$C2S_PORT" "$pid" 20 || ! mm_wait_port "$COMPONENT_PORT" "$pid" 20; then
		tail -n 30 "$pdir/prosody.out" "$pdir/prosody.log" >&2 2>/dev/null || true
		mm_stop_pidfile "$pdir/pid" "$pdir/prosody.cfg.lua"
		mm_die "Prosody did not start listening on 127.0.0.1:$C2S_PORT and :$COMPONENT_PORT"
		return 1
	fi
	mm_log "Prosody up (pid $pid, c2s 127.0.0.1:$C2S_PORT, components 127.0.0.1:$COMPONENT_PORT, log $pdir/prosody.log)"
}

mm_prosody_stop() {
	mm_bed_load "$1" || return 1
	if [ -f "$BED_DIR/prosody/pid" ]; then
		mm_log "stopping Prosody (pid $(cat "$BED_DIR/prosody/pid"))"
		mm_stop_pidfile "$BED_DIR/prosody/pid" "$BED_DIR/prosody/prosody.cfg.lua"
	fi
}

# mm_mixmuc_domains NAME -> sets MIX_DOMAIN MUC_DOMAIN MIX_SECRET MUC_SECRET
mm_mixmuc_domains() {
	case "$1" in
	main) MIX_DOMAIN=$MAIN_MIX_DOMAIN MUC_DOMAIN=$MAIN_MUC_DOMAIN MIX_SECRET=$MAIN_MIX_SECRET MUC_SECRET=$MAIN_MUC_SECRET ;;
	# "standby": a second process for alt's domains (on a shared PostgreSQL
	# store), which waits while alt holds them (docs/deploy/scale-out.md).
	alt | standby) MIX_DOMAIN=$ALT_MIX_DOMAIN MUC_DOMAIN=$ALT_MUC_DOMAIN MIX_SECRET=$ALT_MIX_SECRET MUC_SECRET=$ALT_MUC_SECRET ;;
	*) mm_die "unknown mixmuc instance '$1' (main, alt or standby)"; return 1 ;;
	esac
}

# Write DIR/mixmuc-NAME/mixmuc.toml from the MM_* settings (overwrites).
mm_mixmuc_config() {
	local dir="$1" name="$2" idir
	mm_bed_load "$dir" || return 1
	mm_mixmuc_domains "$name" || return 1
	idir="$BED_DIR/mixmuc-$name"
	mkdir -p "$idir"
	# Instance "main" hands room messages to Prosody's multicast service
	# (contrib's mod_component_multicast) unless MM_MULTICAST=off; "alt"
	# sends one stanza per recipient.
	local multicast="# no multicast service"
	if [ "$name" = main ] && [ "${MM_MULTICAST:-on}" != off ] && [ -f "$MM_ROOT/contrib/prosody/mod_component_multicast.lua" ]; then
		multicast="multicast = \"$USER_DOMAIN\""
	fi
	cat >"$idir/mixmuc.toml" <<-TOML
		# Generated by scripts/lib.sh for the test bed $BED_DIR (instance $name).
		[server]
		host = "127.0.0.1"
		port = $COMPONENT_PORT
		# Short, so a restarted Prosody is found again quickly in tests.
		max_backoff_secs = 5
		$multicast

		[mix]
		domain = "$MIX_DOMAIN"
		secret = "$MIX_SECRET"

		[muc]
		domain = "$MUC_DOMAIN"
		secret = "$MUC_SECRET"

		[store]
		url = "${MM_STORE_URL:-sqlite://$idir/mixmuc.db}"

		[service]
		admins = ${MM_ADMINS:-[]}
		create_channels = ${MM_CREATE_CHANNELS:-\"anyone\"}
		local_domains = ${MM_LOCAL_DOMAINS:-[\"localhost\"]}
		# The interop suite and the demo were written for non-anonymous rooms
		# (real JIDs in items, status 100); the service's default is "hidden".
		jid_visibility = ${MM_JID_VISIBILITY:-\"visible\"}
		idle_session_check_secs = ${MM_IDLE_SESSION_CHECK_SECS:-900}

		[limits]
		# The interop suite sends faster than a person and its few users
		# create hundreds of channels; the service's defaults are 1 message/s
		# and 0.5 presence/s with bursts of 10, and 100 channels per user.
		message_rate = ${MM_MESSAGE_RATE:-0}
		presence_rate = ${MM_PRESENCE_RATE:-0}
		channels_per_user = ${MM_CHANNELS_PER_USER:-0}
		channels_per_domain = ${MM_CHANNELS_PER_DOMAIN:-0}

		[log]
		filter = "${MM_LOG_FILTER:-info}"
		format = "${MM_LOG_FORMAT:-text}"
	TOML
	if [ -n "${MM_METRICS_LISTEN:-}" ]; then
		printf '\n[metrics]\nlisten = "%s"\n' "$MM_METRICS_LISTEN" >>"$idir/mixmuc.toml"
	fi
}

# mm_mixmuc_env: sets MM_ENV_ARGS, the `env` arguments that run the binary with the bed's
# config alone (no MIXMUC_* from the caller's environment) and without colours in the log.
mm_mixmuc_env() {
	local var
	MM_ENV_ARGS=()
	for var in $(compgen -e); do
		case "$var" in MIXMUC_*) MM_ENV_ARGS+=(-u "$var") ;; esac
	done
	MM_ENV_ARGS+=(NO_COLOR=1)
}

# mm_mixmuc_wait_link DIR NAME OFFSET [TIMEOUT_S]: both domains logged "link up" after OFFSET.
mm_mixmuc_wait_link() {
	local dir="$1" name="$2" offset="$3" timeout="${4:-30}" idir pid deadline d ok
	mm_bed_load "$dir" || return 1
	mm_mixmuc_domains "$name" || return 1
	idir="$BED_DIR/mixmuc-$name"
	pid="$(cat "$idir/pid" 2>/dev/null || true)"
	deadline=$((SECONDS + timeout))
	while :; do
		ok=1
		for d in "$MIX_DOMAIN" "$MUC_DOMAIN"; do
			tail -c "+$((offset + 1))" "$idir/mixmuc.log" 2>/dev/null | grep -a 'link up' | grep -qaF "$d" || ok=0
		done
		[ "$ok" = 1 ] && return 0
		if ! mm_pid_alive "$pid"; then
			tail -n 30 "$idir/mixmuc.log" >&2 2>/dev/null || true
			mm_die "mixmuc ($name) exited before both links were up"
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			tail -n 30 "$idir/mixmuc.log" >&2 2>/dev/null || true
			mm_die "mixmuc ($name): no 'link up' for both $MIX_DOMAIN and $MUC_DOMAIN within ${timeout}s"
			return 1
		fi
		sleep 0.1
	done
}

mm_mixmuc_start() {
	local dir="$1" name="${2:-main}" idir pid offset
	mm_bed_load "$dir" || return 1
	mm_mixmuc_domains "$name" || return 1
	idir="$BED_DIR/mixmuc-$name"
	[ -x "$BINARY" ] || mm_die "no mixmuc binary at $BINARY (cargo build first)" || return 1
	if [ -f "$idir/pid" ] && mm_pid_alive "$(cat "$idir/pid")"; then
		mm_log "mixmuc ($name) already running (pid $(cat "$idir/pid"))"
		return 0
	fi
	[ -f "$idir/mixmuc.toml" ] || mm_mixmuc_config "$dir" "$name" || return 1
	mm_mixmuc_env
	if ! env "${MM_ENV_ARGS[@]}" "$BINARY" check-config --config "$idir/mixmuc.toml" >>"$idir/mixmuc.log" 2>&1; then
		tail -n 20 "$idir/mixmuc.log" >&2
		mm_die "mixmuc check-config rejected $idir/mixmuc.toml"
		return 1
	fi
	offset="$(stat -c %s "$idir/mixmuc.log" 2>/dev/null || echo 0)"
	# A simple command in the background: $! is the mixmuc process itself (env execs it).
	env "${MM_ENV_ARGS[@]}" "$BINARY" serve --config "$idir/mixmuc.toml" >>"$idir/mixmuc.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$idir/pid"
	if [ "${MM_START_NOWAIT:-0}" = 1 ]; then
		# A standby: its links wait while another process holds the domains.
		mm_log "mixmuc ($name) started (pid $pid, $MIX_DOMAIN + $MUC_DOMAIN, log $idir/mixmuc.log); not waiting for its links"
		return 0
	fi
	if ! mm_mixmuc_wait_link "$dir" "$name" "$offset" "${MM_START_TIMEOUT:-30}"; then
		mm_stop_pidfile "$idir/pid" "$idir/mixmuc.toml"
		return 1
	fi
	mm_log "mixmuc ($name) up (pid $pid, $MIX_DOMAIN + $MUC_DOMAIN, log $idir/mixmuc.log)"
}

mm_mixmuc_stop() {
	local dir="$1" name="${2:-main}"
	mm_bed_load "$dir" || return 1
	if [ -f "$BED_DIR/mixmuc-$name/pid" ]; then
		mm_log "stopping mixmuc ($name, pid $(cat "$BED_DIR/mixmuc-$name/pid"))"
		mm_stop_pidfile "$BED_DIR/mixmuc-$name/pid" "$BED_DIR/mixmuc-$name/mixmuc.toml"
	fi
}

mm_bed_up() {
	mm_bed_init "$1" && mm_prosody_start "$1" && mm_mixmuc_start "$1" main
}

mm_bed_down() {
	local dir="$1" f
	[ -f "$dir/bed.env" ] || return 0
	for f in "$dir"/mixmuc-*/pid; do
		[ -f "$f" ] || continue
		mm_mixmuc_stop "$dir" "$(basename "$(dirname "$f")" | sed 's/^mixmuc-//')" || true
	done
	mm_pg_stop "$dir" || true
	mm_prosody_stop "$dir" || true
}

# ---------------------------------------------------------------- PostgreSQL

# The folder of the PostgreSQL server binaries (initdb, postgres, pg_isready): the highest
# version under /usr/lib/postgresql (Debian's layout), or MM_PG_BINDIR.
mm_pg_bindir() {
	local d
	if [ -n "${MM_PG_BINDIR:-}" ]; then
		[ -x "$MM_PG_BINDIR/postgres" ] && [ -x "$MM_PG_BINDIR/initdb" ] && { printf '%s\n' "$MM_PG_BINDIR"; return 0; }
		mm_die "MM_PG_BINDIR=$MM_PG_BINDIR has no postgres and initdb"
		return 1
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_isready" ]; then
			printf '%s\n' "$d"
			return 0
		fi
	done
	mm_die "no PostgreSQL server binaries (initdb, postgres) under /usr/lib/postgresql; install the Debian package postgresql"
}

# mm_pg_user: sets MM_PG_AS, the command prefix that runs a program as the user owning the
# private server. PostgreSQL refuses to run as root (initdb: "cannot be run as root";
# postgres: "root execution of the PostgreSQL server is not permitted"), so as root it is
# the system account "postgres" (made by the Debian package) through setpriv, which execs:
# in `"${MM_PG_AS[@]}" postgres ... &`, $! is the server's own PID. Otherwise, nothing:
# the calling user.
mm_pg_user() {
	MM_PG_AS=()
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 || mm_die "running as root, and there is no user postgres to run PostgreSQL as" || return 1
		MM_PG_AS=(setpriv --reuid=postgres --regid=postgres --init-groups --reset-env --)
	fi
}

# mm_pg_pick_port: the first of 25432, 25433, ... (up to +99) nobody listens on.
mm_pg_pick_port() {
	local n
	for n in $(seq 0 99); do
		mm_port_open $((25432 + n)) || { printf '%s\n' $((25432 + n)); return 0; }
	done
	mm_die "no free port between 25432 and 25531 for the private PostgreSQL"
}

# mm_pg_start DIR: a private PostgreSQL server for the bed, in DIR/postgres/: the cluster in
# data/ (made by initdb the first time: user postgres, trust authentication, loopback only),
# its Unix socket in sock/, its log in postgres.log, listening on 127.0.0.1:PORT (picked
# the first time, kept in DIR/postgres/port so a restart is found at the same address).
# The server runs in the foreground of a background job; its PID is in DIR/postgres/pid.
# Starting it again after mm_pg_stop reuses the data. As root, DIR/postgres belongs to
# the user "postgres" and DIR itself gets o+x (traverse only) so that user reaches it.
mm_pg_start() {
	local dir="$1" bin pgdir port pid
	mm_bed_load "$dir" || return 1
	bin="$(mm_pg_bindir)" || return 1
	pgdir="$BED_DIR/postgres"
	if [ -f "$pgdir/pid" ] && mm_pid_alive "$(cat "$pgdir/pid")"; then
		mm_log "PostgreSQL already running (pid $(cat "$pgdir/pid"))"
		return 0
	fi
	mm_pg_user || return 1
	mkdir -p "$pgdir/sock"
	if [ "$(id -u)" = 0 ]; then
		chmod o+x "$BED_DIR"
		chown -R postgres:postgres "$pgdir"
		"${MM_PG_AS[@]}" test -x "$pgdir" || mm_die "the user postgres cannot reach $pgdir (a parent folder without o+x?)" || return 1
	fi
	if [ ! -f "$pgdir/data/PG_VERSION" ]; then
		"${MM_PG_AS[@]}" "$bin/initdb" -D "$pgdir/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 \
			>"$pgdir/initdb.out" 2>&1 ||
			{ cat "$pgdir/initdb.out" >&2; mm_die "initdb failed"; return 1; }
	fi
	if [ -f "$pgdir/port" ]; then
		port="$(cat "$pgdir/port")"
		! mm_port_open "$port" || mm_die "port $port (the private PostgreSQL's) is taken by another process" || return 1
	else
		port="$(mm_pg_pick_port)" || return 1
		echo "$port" >"$pgdir/port"
	fi
	# Small: it serves one test. fsync off: the trial is about the server going away and
	# coming back (a clean fast shutdown writes everything), not about the disk.
	"${MM_PG_AS[@]}" "$bin/postgres" -D "$pgdir/data" -p "$port" -k "$pgdir/sock" \
		-c listen_addresses=127.0.0.1 -c shared_buffers=16MB -c max_connections=40 \
		-c fsync=off -c log_min_messages=warning \
		>>"$pgdir/postgres.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$pgdir/pid"
	local deadline=$((SECONDS + 30))
	until "${MM_PG_AS[@]}" "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1; do
		if ! mm_pid_alive "$pid" || [ "$SECONDS" -ge "$deadline" ]; then
			tail -n 30 "$pgdir/postgres.log" >&2 2>/dev/null || true
			mm_pg_stop "$dir" immediate
			mm_die "PostgreSQL did not get ready on 127.0.0.1:$port"
			return 1
		fi
		sleep 0.1
	done
	mm_log "PostgreSQL up (pid $pid, 127.0.0.1:$port, data $pgdir/data, log $pgdir/postgres.log)"
}

# mm_pg_stop DIR [MODE]: stops the private server by its PID. MODE fast (default: SIGINT,
# PostgreSQL's "fast" shutdown: open sessions are ended, then a checkpoint) or immediate
# (SIGQUIT: no checkpoint, recovery at the next start). SIGKILL after 10 s.
mm_pg_stop() {
	local dir="$1" mode="${2:-fast}" pgdir pid sig
	mm_bed_load "$dir" || return 1
	pgdir="$BED_DIR/postgres"
	[ -f "$pgdir/pid" ] || return 0
	pid="$(cat "$pgdir/pid")"
	case "$mode" in fast) sig=INT ;; immediate) sig=QUIT ;; *) mm_die "mm_pg_stop: mode fast or immediate"; return 1 ;; esac
	if mm_pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pgdir/data"; then
		kill "-$sig" "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			mm_pid_alive "$pid" || break
			sleep 0.1
		done
		if mm_pid_alive "$pid"; then
			mm_log "PostgreSQL (pid $pid) still running 10 s after SIG$sig; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.2
		fi
		wait "$pid" 2>/dev/null || true
		mm_log "PostgreSQL stopped ($mode, pid $pid)"
	fi
	rm -f "$pgdir/pid"
}

# mm_pg_url DIR: the URL of the private server's database "postgres" (for [store] url).
mm_pg_url() {
	mm_bed_load "$1" || return 1
	[ -f "$BED_DIR/postgres/port" ] || mm_die "no private PostgreSQL in $1 (mm_pg_start first)" || return 1
	printf 'postgres://postgres@127.0.0.1:%s/postgres\n' "$(cat "$BED_DIR/postgres/port")"
}

# ---------------------------------------------------------------- ejabberd

# mm_ejabberd_install: the Debian package ejabberd, when ejabberdctl is missing. Its system
# service is kept from starting (mm_apt_install); we only ever run private servers.
mm_ejabberd_install() {
	command -v ejabberdctl >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] || mm_die "ejabberd is missing; run as root or install the Debian package ejabberd" || return 1
	mm_apt_install ejabberd || return 1
	command -v ejabberdctl >/dev/null 2>&1 || mm_die "the package ejabberd brought no ejabberdctl"
}

# mm_ejabberd_node DIR: the Erlang node name of DIR's private ejabberd (one per folder, so it
# never meets a system ejabberd's node or another test's).
mm_ejabberd_node() {
	printf 'mmej%s@localhost\n' "$(printf '%s' "$(cd "$1" && pwd)" | cksum | cut -d' ' -f1)"
}

# mm_ejabberd_beam_pid NODE: the beam.smp running NODE (not any other Erlang VM on the machine).
mm_ejabberd_beam_pid() {
	local p
	for p in /proc/[0-9]*; do
		if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "beam.smp.* -s\{0,1\}name $1 "; then
			basename "$p"
			return 0
		fi
	done
	return 1
}

# mm_ejabberd_user: sets MM_EJ_AS, the command prefix that runs a program as the user ejabberd
# with that user's HOME (its Erlang cookie, which ejabberdctl's commands need to reach the
# node). As root through setpriv, which keeps our open-files limit (ejabberdctl's own `su`
# resets it to 1,024) and execs, so in `(exec "${MM_EJ_AS[@]}" cmd) &`, $! is cmd itself.
# As another user: nothing (that user runs it).
mm_ejabberd_user() {
	MM_EJ_AS=()
	if [ "$(id -u)" = 0 ]; then
		id ejabberd >/dev/null 2>&1 || mm_die "running as root, and there is no user ejabberd to run ejabberd as" || return 1
		MM_EJ_AS=(env HOME="$(getent passwd ejabberd | cut -d: -f6)" setpriv --reuid=ejabberd --regid=ejabberd --init-groups)
	fi
}

# mm_ejabberd_start DIR: a private ejabberd with the configuration DIR/ejabberd.yml (written by
# the caller; every listener on 127.0.0.1). Writes DIR/ejabberdctl.cfg (from
# scripts/bench.d/ejabberdctl.cfg.in: node name, an Erlang distribution port of its own on
# 127.0.0.1 without epmd), spool/, logs/ (ejabberd.log, error.log) and ejabberd.out; waits until
# every `port:` of the configuration accepts connections (60 s). DIR/pid is the beam.smp's PID,
# DIR/ctl.pid the ejabberdctl job's. As root, DIR belongs to the user ejabberd and its parent
# folder gets o+x (traverse only) so that user reaches it.
mm_ejabberd_start() {
	local dir="$1" node port ports dist pid beam deadline
	command -v ejabberdctl >/dev/null 2>&1 || mm_die "no ejabberdctl (mm_ejabberd_install)" || return 1
	[ -f "$dir/ejabberd.yml" ] || mm_die "no $dir/ejabberd.yml" || return 1
	dir="$(cd "$dir" && pwd)"
	if [ -f "$dir/pid" ] && mm_pid_alive "$(cat "$dir/pid")"; then
		mm_log "ejabberd already running (pid $(cat "$dir/pid"))"
		return 0
	fi
	node="$(mm_ejabberd_node "$dir")"
	ports="$(sed -n 's/^[[:space:]-]*port:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$dir/ejabberd.yml")"
	[ -n "$ports" ] || mm_die "$dir/ejabberd.yml has no listener port" || return 1
	for port in $ports; do
		! mm_port_open "$port" || mm_die "port $port on 127.0.0.1 is already taken" || return 1
	done
	dist=""
	for port in $(seq 25950 26049); do
		mm_port_open "$port" || { dist="$port"; break; }
	done
	[ -n "$dist" ] || mm_die "no free port between 25950 and 26049 for ejabberd's Erlang distribution" || return 1
	mkdir -p "$dir/spool" "$dir/logs" "$dir/modules.d"
	sed -e "s|@NODE@|$node|g" -e "s|@DIST_PORT@|$dist|g" -e "s|@DIR@|$dir|g" \
		"$MM_ROOT/scripts/bench.d/ejabberdctl.cfg.in" >"$dir/ejabberdctl.cfg"
	mm_ejabberd_user || return 1
	if [ "$(id -u)" = 0 ]; then
		chmod o+x "$(dirname "$dir")"
		chown -R ejabberd: "$dir"
		"${MM_EJ_AS[@]}" test -w "$dir/spool" || mm_die "the user ejabberd cannot reach $dir (a parent folder without o+x?)" || return 1
	fi
	(cd "$dir/spool" && exec "${MM_EJ_AS[@]}" ejabberdctl -c "$dir/ejabberdctl.cfg" -s "$dir/spool" -l "$dir/logs" foreground) \
		>>"$dir/ejabberd.out" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$dir/ctl.pid"
	deadline=$((SECONDS + 60))
	for port in $ports; do
		until mm_port_open "$port"; do
			if ! mm_pid_alive "$pid" || [ "$SECONDS" -ge "$deadline" ]; then
				tail -n 30 "$dir/ejabberd.out" "$dir/logs/error.log" >&2 2>/dev/null || true
				mm_ejabberd_stop "$dir"
				mm_die "ejabberd did not start listening on 127.0.0.1:$port (log $dir/logs/ejabberd.log)"
				return 1
			fi
			sleep 0.2
		done
	done
	if ! beam="$(mm_ejabberd_beam_pid "$node")"; then
		mm_ejabberd_stop "$dir"
		mm_die "ejabberd listens, but there is no beam.smp for node $node"
		return 1
	fi
	echo "$beam" >"$dir/pid"
	mm_log "ejabberd up (beam.smp pid $beam, node $node, ports ${ports//$'\n'/ }, log $dir/logs/ejabberd.log)"
}

# mm_ejabberd_ctl DIR ARGS...: ejabberdctl ARGS against DIR's running ejabberd (e.g.
# `register alice localhost pass`).
mm_ejabberd_ctl() {
	local dir
	dir="$(cd "$1" && pwd)" || return 1
	shift
	mm_ejabberd_user || return 1
	(cd "$dir/spool" && exec "${MM_EJ_AS[@]}" ejabberdctl -c "$dir/ejabberdctl.cfg" -s "$dir/spool" -l "$dir/logs" "$@")
}

# mm_ejabberd_stop DIR: TERM to the beam.smp of DIR's node (by the PID in DIR/pid, checked
# against its command line; looked up by node name when the start did not get that far), KILL
# after 10 s; then the ejabberdctl job by its PID.
mm_ejabberd_stop() {
	local dir="$1" node beam
	[ -d "$dir" ] || return 0
	dir="$(cd "$dir" && pwd)"
	node="$(mm_ejabberd_node "$dir")"
	beam="$(cat "$dir/pid" 2>/dev/null || true)"
	[ -n "$beam" ] || beam="$(mm_ejabberd_beam_pid "$node" || true)"
	if [ -n "$beam" ]; then
		mm_kill_pid "$beam" "name $node "
		mm_log "ejabberd stopped (beam.smp pid $beam, node $node)"
	fi
	rm -f "$dir/pid"
	if [ -f "$dir/ctl.pid" ]; then
		mm_kill_pid "$(cat "$dir/ctl.pid")" ejabberdctl
		rm -f "$dir/ctl.pid"
	fi
}
