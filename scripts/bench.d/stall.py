#!/usr/bin/env python3
"""Memory with a stalled recipient (scripts/bench --scenario stall, stall-server).

    stall.py c2s    --env ENV --raw DIR --db MIXMUC_DB [--duration 600] ...
    stall.py server --env ENV --raw DIR --db MIXMUC_DB [--duration 600] ...

c2s: a room of mixmuc's MUC domain flooded through the bench's Prosody by
the load generator (mixmuc-bench c2s: --occupants sessions, --senders of
them sending --rate messages/s in all, for --duration seconds) while one
more occupant, a raw c2s client, joins the room first (creating it) and
then never reads its socket again; Prosody buffers what it cannot write to
that client (and closes it after its send_timeout, 180 s). In the middle
of the run Prosody itself is stopped (SIGSTOP) for --stop-server-for
seconds and continued (SIGCONT).

server: mixmuc's own link stalls. The script plays the XMPP server to the
bench's second mixmuc (S5's, on S5_PORT, no multicast): synthetic users
enter a room of its MUC domain and one of them floods it at --rate
messages/s, while the server alternately reads mixmuc's link for
--read-secs and stops reading it for --stall-secs. While it does not read,
mixmuc's queue fills up to [server] send_queue_bytes, mixmuc stops reading,
and the flood waits in the kernel's buffers (the sender blocks).

Both sample VmRSS of mixmuc (and Prosody) every --sample seconds into
DIR/<name>.rss.csv and write DIR/<name>.json: messages sent, copies
delivered (server mode: counted here; c2s: the tool's), messages archived
(counted in mixmuc's SQLite store), RSS at start, after one minute,
highest and at the end.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from procstat import memory_kb  # noqa: E402
from bench import parse_env  # noqa: E402


# ---------------------------------------------------------------- sampling

class RssLog:
    """VmRSS of the named processes every INTERVAL seconds, with events."""

    def __init__(self, pids: dict[str, int], interval: float):
        self.pids = pids
        self.interval = interval
        self.rows: list[dict] = []
        self.events: list[tuple[float, str]] = []
        self.t0 = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def event(self, what: str) -> None:
        t = round(time.monotonic() - self.t0, 1)
        self.events.append((t, what))
        print(f"[stall] {t:7.1f} s {what}", file=sys.stderr, flush=True)

    def sample(self) -> None:
        row: dict = {"t_s": round(time.monotonic() - self.t0, 1)}
        for name, pid in self.pids.items():
            row[f"{name}_rss_kb"] = memory_kb(pid).get("VmRSS")
        self.rows.append(row)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> "RssLog":
        self.t0 = time.monotonic()
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def write_csv(self, path: Path) -> None:
        keys = ["t_s"] + [f"{n}_rss_kb" for n in self.pids]
        with open(path, "w") as f:
            f.write(",".join(keys) + "\n")
            for r in self.rows:
                f.write(",".join("" if r.get(k) is None else str(r[k]) for k in keys) + "\n")

    def summary(self, name: str) -> dict:
        key = f"{name}_rss_kb"
        rows = [r for r in self.rows if r.get(key) is not None]
        if not rows:
            return {}
        after_1min = next((r[key] for r in rows if r["t_s"] >= 60), None)
        top = max(rows, key=lambda r: r[key])
        return {"start_kb": rows[0][key], "after_1min_kb": after_1min, "max_kb": top[key], "max_at_s": top["t_s"], "end_kb": rows[-1][key]}


def archived(db: str, room: str) -> int | None:
    """Messages of ROOM (a channel's name) in mixmuc's archive."""
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        n = c.execute("SELECT count(*) FROM archive WHERE channel = ?", (room,)).fetchone()[0]
        c.close()
        return n
    except sqlite3.Error as e:
        print(f"[stall] archive count failed: {e}", file=sys.stderr)
        return None


# ---------------------------------------------------------------- a raw c2s client that stops reading

class RawClient:
    """Just enough c2s to register, log in, bind and enter a MUC room."""

    def __init__(self, host: str, port: int, domain: str):
        self.domain = domain
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small receive buffer: the client's stall reaches Prosody soon.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((host, port))
        self.sock.settimeout(30)
        self.buf = b""

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode())

    def until(self, pattern: bytes) -> bytes:
        """Reads until PATTERN (a regex) is in what was read; consumes up to it."""
        rx = re.compile(pattern, re.S)
        while True:
            m = rx.search(self.buf)
            if m:
                got, self.buf = self.buf[: m.end()], self.buf[m.end():]
                return got
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError(f"connection closed waiting for {pattern!r}; read {self.buf[-500:]!r}")
            self.buf += chunk

    def open_stream(self) -> bytes:
        self.send(f"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{self.domain}' version='1.0'>")
        return self.until(rb"</stream:features>")

    def login(self, user: str, password: str) -> None:
        self.open_stream()
        self.send(f"<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>{user}</username><password>{password}</password></query></iq>")
        self.until(rb"<iq[^>]*id=.reg1.*?(?:/>|</iq>)")  # result, or conflict when it exists
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        self.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>")
        self.until(rb"<success[^>]*(?:/>|</success>)")
        self.open_stream()
        self.send("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>stalled</resource></bind></iq>")
        self.until(rb"id=.bind1.*?</iq>")

    def enter(self, room_jid: str, nick: str) -> None:
        self.send(f"<presence to='{room_jid}/{nick}'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>")
        got = self.until(rb"<status code=.110.")
        got += self.until(rb"</presence>")
        if b"code='201'" in got or b'code="201"' in got:
            # Created (and locked): the instant room.
            self.send(f"<iq type='set' id='own1' to='{room_jid}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>")
            self.until(rb"<iq[^>]*id=.own1.*?(?:/>|</iq>)")


def cmd_c2s(a: argparse.Namespace) -> int:
    env = parse_env(Path(a.env))
    raw = Path(a.raw)
    raw.mkdir(parents=True, exist_ok=True)
    name = "stall-c2s"
    host, port = env["PROSODY_C2S"].rsplit(":", 1)
    muc = env["MUC_DOMAIN"]
    room = f"stall-{os.urandom(3).hex()}"
    room_name = f"{room}-0"
    pids = {"mixmuc": int(env["MIXMUC_PID"]), "prosody": int(env["PROSODY_PID"])}
    stalled = RawClient(host, int(port), "localhost")
    stalled.login("stalled", "pass")
    stalled.enter(f"{room_name}@{muc}", "stalled")
    # From here on the client never reads again.
    argv = [env["TOOL"], "c2s", "--server", env["PROSODY_C2S"], "--domain", "localhost", "--user-prefix", "stallu",
            "--password", "pass", "--register", "--muc-domain", muc, "--rooms", "1", "--occupants", str(a.occupants),
            "--senders", str(a.senders), "--rate", str(a.rate), "--duration", str(a.duration), "--warmup", "0",
            "--grace", str(a.grace), "--room-prefix", room, "--connect-concurrency", "50",
            "--saturation-p99-ms", "600000", "--out", str(raw / f"{name}.tool.json")]
    for n, p in pids.items():
        argv += ["--pid", f"{n}={p}"]
    print(f"[stall] {' '.join(argv)}", file=sys.stderr, flush=True)
    log = open(raw / f"{name}.tool.log", "w")
    stop_at = a.stop_server_at if a.stop_server_at >= 0 else a.duration / 2
    with RssLog(pids, a.sample) as rss:
        rss.event(f"room {room_name}@{muc}: the stalled occupant is in and reads no more")
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)
        rss.event("load generator started (it connects and joins, then floods)")
        stopped = False
        deadline = time.monotonic() + a.duration + 600
        while proc.poll() is None and time.monotonic() < deadline:
            t = time.monotonic() - rss.t0
            if a.stop_server_for > 0 and not stopped and t >= stop_at:
                os.kill(pids["prosody"], signal.SIGSTOP)
                rss.event(f"Prosody stopped (SIGSTOP) for {a.stop_server_for} s")
                time.sleep(a.stop_server_for)
                os.kill(pids["prosody"], signal.SIGCONT)
                rss.event("Prosody continued (SIGCONT)")
                stopped = True
            time.sleep(0.5)
        if proc.poll() is None:
            proc.kill()
            rss.event("load generator killed (overran)")
        proc.wait()
        rss.event(f"load generator ended ({proc.returncode})")
    log.close()
    stalled.sock.close()
    rss.write_csv(raw / f"{name}.rss.csv")
    tool = {}
    tj = raw / f"{name}.tool.json"
    if tj.exists():
        tool = json.loads(tj.read_text())
    steps = [s for s in tool.get("steps", []) if s.get("phase") == "measure"]
    sent = sum(s.get("sent", 0) for s in steps)
    record = {
        "scenario": name, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "room": f"{room_name}@{muc}",
        "duration_s": a.duration, "rate": a.rate, "occupants": a.occupants + 1, "senders": a.senders,
        "stop_server_at_s": stop_at if a.stop_server_for > 0 else None, "stop_server_for_s": a.stop_server_for,
        "sent": sent, "expected": sum(s.get("expected", 0) for s in steps), "delivered": sum(s.get("delivered", 0) for s in steps),
        "losses": sum(s.get("losses", 0) for s in steps), "duplicates": sum(s.get("duplicates", 0) for s in steps),
        "errors": sum(s.get("errors", 0) for s in steps),
        "archived": archived(a.db, room_name), "tool_exit": proc.returncode,
        "mixmuc_rss": rss.summary("mixmuc"), "prosody_rss": rss.summary("prosody"), "events": rss.events,
    }
    (raw / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"[stall] {name}: {json.dumps({k: record[k] for k in ('sent', 'delivered', 'losses', 'archived', 'mixmuc_rss', 'prosody_rss')})}", file=sys.stderr)
    return 0 if proc.returncode == 0 else 1


# ---------------------------------------------------------------- the server stops reading mixmuc's link

class Component:
    """One accepted XEP-0114 connection from mixmuc, raw."""

    PING = re.compile(rb"<iq [^>]*?type=.get.[^>]*>\s*<ping xmlns=.urn:xmpp:ping.")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = b""
        self.domain = ""
        self.lock = threading.Lock()
        self.copies = 0  # groupchat messages received
        self.bytes = 0

    def handshake(self) -> None:
        while b">" not in self.buf.split(b"<stream:stream", 1)[-1]:
            self.buf += self.sock.recv(4096)
        m = re.search(rb"to=['\"]([^'\"]+)", self.buf)
        self.domain = m.group(1).decode() if m else "?"
        self.buf = b""
        self.send(f"<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' from='{self.domain}' id='stall{os.urandom(4).hex()}'>")
        while b"</handshake>" not in self.buf:
            self.buf += self.sock.recv(4096)
        self.buf = b""
        self.send("<handshake/>")

    def send(self, text: str) -> None:
        with self.lock:
            self.sock.sendall(text.encode())

    def read_some(self) -> bool:
        data = self.sock.recv(256 * 1024)
        if not data:
            return False
        self.bytes += len(data)
        tail = self.buf[-64:] + data
        self.copies += tail.count(b"type='groupchat'") - self.buf[-64:].count(b"type='groupchat'")
        # Answer mixmuc's keepalive pings (it pings itself through us).
        for m in self.PING.finditer(tail):
            head = m.group(0).decode(errors="replace")
            ident = re.search(r"id=['\"]([^'\"]+)", head)
            frm = re.search(r"from=['\"]([^'\"]+)", head)
            to = re.search(r"to=['\"]([^'\"]+)", head)
            if ident and frm and to:
                threading.Thread(target=self.send, args=(f"<iq type='result' id='{ident.group(1)}' from='{to.group(1)}' to='{frm.group(1)}'/>",), daemon=True).start()
        self.buf = tail[-64:]
        return True


def cmd_server(a: argparse.Namespace) -> int:
    env = parse_env(Path(a.env))
    raw = Path(a.raw)
    raw.mkdir(parents=True, exist_ok=True)
    name = "stall-server"
    muc, users = env["S5_MUC_DOMAIN"], "bench.local"
    room = f"stall-{os.urandom(3).hex()}"
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # No autotuning: when this server stops reading, mixmuc's writes stall
    # after this buffer and mixmuc's own socket buffer.
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    lsock.bind(("127.0.0.1", int(env["S5_PORT"])))
    lsock.listen(4)
    lsock.settimeout(60)
    links = {}
    while len(links) < 2:
        s, _ = lsock.accept()
        c = Component(s)
        c.handshake()
        links[c.domain] = c
        print(f"[stall] link up: {c.domain}", file=sys.stderr, flush=True)
    link = links[muc]
    others = [c for d, c in links.items() if d != muc]
    pid = int(env["S5_MIXMUC_PID"])
    reading = threading.Event()
    reading.set()
    done = threading.Event()

    def reader(c: Component, gated: bool) -> None:
        while not done.is_set():
            if gated and not reading.wait(0.2):
                continue
            try:
                if not c.read_some():
                    return
            except OSError:
                return

    threads = [threading.Thread(target=reader, args=(link, True), daemon=True)]
    threads += [threading.Thread(target=reader, args=(c, False), daemon=True) for c in others]
    for t in threads:
        t.start()
    room_jid = f"{room}@{muc}"
    # The room: the first user creates it and makes it an instant room, the others enter.
    x = "<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x>"
    link.send(f"<presence from='u0@{users}/r' to='{room_jid}/o0'>{x}</presence>")
    link.send(f"<iq type='set' id='own' from='u0@{users}/r' to='{room_jid}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>")
    for i in range(1, a.occupants):
        link.send(f"<presence from='u{i}@{users}/r' to='{room_jid}/o{i}'>{x}</presence>")
    # Joined: what they received so far (presences, the subject) is not the flood.
    time.sleep(2)
    base = link.copies
    sent = 0
    body = "m" * a.body
    with RssLog({"mixmuc": pid}, a.sample) as rss:
        rss.event(f"room {room_jid} with {a.occupants} occupants; flooding at {a.rate}/s, reading {a.read_secs} s / stalling {a.stall_secs} s")
        start = time.monotonic()
        end = start + a.duration
        phase_end = start + a.read_secs

        def schedule() -> None:
            nonlocal phase_end
            while not done.is_set():
                now = time.monotonic()
                if now >= end:
                    return
                if now >= phase_end:
                    if reading.is_set():
                        reading.clear()
                        rss.event(f"server stops reading mixmuc's link (sent {sent}, copies read {link.copies})")
                        phase_end = now + a.stall_secs
                    else:
                        reading.set()
                        rss.event(f"server reads again (sent {sent}, copies read {link.copies})")
                        phase_end = now + a.read_secs
                time.sleep(0.05)

        sched = threading.Thread(target=schedule, daemon=True)
        sched.start()
        # The flood: as fast as --rate allows; sendall blocks while mixmuc does not read.
        while time.monotonic() < end:
            due = start + sent / a.rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            try:
                link.send(f"<message type='groupchat' id='s{sent}' from='u{sent % a.senders}@{users}/r' to='{room_jid}'><body>{sent} {body}</body></message>")
            except OSError as e:
                rss.event(f"flood stopped: {e}")
                break
            sent += 1
        rss.event(f"flood ended: {sent} sent; the server reads until every copy is in")
        reading.set()
        expected = base + sent * a.occupants
        deadline = time.monotonic() + a.grace
        while link.copies < expected and time.monotonic() < deadline:
            time.sleep(0.5)
        rss.event(f"copies read {link.copies} of {expected}")
    done.set()
    rss.write_csv(raw / f"{name}.rss.csv")
    record = {
        "scenario": name, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "room": room_jid,
        "duration_s": a.duration, "rate": a.rate, "occupants": a.occupants, "body_bytes": a.body,
        "read_secs": a.read_secs, "stall_secs": a.stall_secs, "sent": sent, "expected_copies": expected - base,
        "copies_read": link.copies - base, "bytes_read": link.bytes, "archived": archived(a.db, room),
        "mixmuc_rss": rss.summary("mixmuc"), "events": rss.events,
    }
    (raw / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"[stall] {name}: {json.dumps({k: record[k] for k in ('sent', 'expected_copies', 'copies_read', 'archived', 'mixmuc_rss')})}", file=sys.stderr)
    for c in links.values():
        try:
            c.sock.close()
        except OSError:
            pass
    return 0 if link.copies == expected else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for cmd in ("c2s", "server"):
        r = sub.add_parser(cmd)
        r.add_argument("--env", required=True)
        r.add_argument("--raw", required=True)
        r.add_argument("--db", required=True, help="mixmuc's SQLite database (archive count)")
        r.add_argument("--duration", type=float, default=600)
        r.add_argument("--sample", type=float, default=2.0, help="seconds between RSS samples")
        r.add_argument("--grace", type=float, default=120)
    c = sub.choices["c2s"]
    c.add_argument("--rate", type=float, default=100, help="messages/s, all senders together")
    c.add_argument("--occupants", type=int, default=50, help="the load generator's occupants (the stalled one comes on top)")
    c.add_argument("--senders", type=int, default=5)
    c.add_argument("--stop-server-at", type=float, default=-1, help="seconds into the run (default: half the duration)")
    c.add_argument("--stop-server-for", type=float, default=60, help="seconds Prosody is stopped (0: never)")
    s = sub.choices["server"]
    s.add_argument("--rate", type=float, default=200, help="messages/s offered")
    s.add_argument("--occupants", type=int, default=50)
    s.add_argument("--senders", type=int, default=10)
    s.add_argument("--body", type=int, default=200, help="body bytes per message")
    s.add_argument("--read-secs", type=float, default=20)
    s.add_argument("--stall-secs", type=float, default=40)
    args = p.parse_args()
    return cmd_c2s(args) if args.cmd == "c2s" else cmd_server(args)


if __name__ == "__main__":
    sys.exit(main())
