"""Seeing how the service does (issue "Run it like a service"): the metrics and
health listener (``[metrics] listen``), JSON logs (``[log] format``) and SIGHUP.

Instance "alt" runs with a listener on a free loopback port. Through a real
Prosody, slixmpp clients enter a room and talk; ``/metrics`` is scraped before
and after, and the counters must move by at least what was sent: stanzas in and
out by domain and kind, fan-out copies, the dispatch and archive histograms,
an error by its condition, the archive's rows. ``/health`` answers 200 while
both links are up, and 503 naming the links once Prosody is stopped.

A second test runs "alt" with JSON logs at ``info``: a refused request logs
nothing (its line is ``debug``). The config is rewritten with ``debug`` and
the process gets SIGHUP: the same request now logs a JSON line that carries the
stanza's id, the channel and the sender's bare JID.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import time
import urllib.error
import urllib.request

from bed import unique_name
from test_muc import RoomLog, accept_instant_room, body, enter, error, is_error, kind, say


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


SAMPLE = re.compile(r'^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$')


def scrape(base: str) -> dict[tuple[str, frozenset], float]:
    """The samples of /metrics: (name, labels) -> value."""
    status, text = get(base + "/metrics")
    assert status == 200, text
    assert text.rstrip().endswith("# EOF"), "an OpenMetrics exposition ends with # EOF"
    out = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m["labels"] or ""))
            out[(m["name"], labels)] = float(m["value"])
    return out


def value(samples, name: str, **labels) -> float:
    key = (name, frozenset(labels.items()))
    assert key in samples, f"no sample {name}{labels}; have {sorted(n for n, _ in samples)}"
    return samples[key]


async def until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        got = await asyncio.to_thread(check)
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.2)


async def test_metrics_move_and_health_follows_the_links(bed, xmpp, alt_instance):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with alt_instance(metrics_listen=f"127.0.0.1:{port}") as inst:
        await until(lambda: get(base + "/health")[0] == 200, 10, "/health 200 with both links up")
        assert get(base + "/health")[1].strip() == "ok"
        assert get(base + "/nothing")[0] == 404
        alice = await xmpp.connect("alice")
        bob = await xmpp.connect("bob")
        room = f"{unique_name('observe')}@{inst.muc}"
        entry = await enter(alice, room, "alice")
        assert entry.error is None
        await accept_instant_room(alice, room)
        assert (await enter(bob, room, "bob", seen_by=[alice])).error is None

        before = scrape(base)
        n = 10
        log = RoomLog(alice, room)
        bob_log = RoomLog(bob, room)
        for i in range(n):
            await say(alice, room, f"metrics {i}", log=log)
        await bob_log.until(lambda s: kind(s) == "message" and body(s) == f"metrics {n - 1}", what="bob's last copy")
        # An error by its condition: a message to a room nobody is in.
        stray = RoomLog(alice, f"{unique_name('nobody')}@{inst.muc}")
        alice.make_message(mto=stray.room, mbody="hello?", mtype="groupchat").send()
        got = await stray.until(is_error, what="the error for a room that does not exist")
        condition = error(got[-1])[1]
        after = scrape(base)

        def moved(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        assert moved("mixmuc_stanzas_in_total", domain="muc", kind="message") >= n + 1
        # Each message: alice's echo and bob's copy.
        assert moved("mixmuc_stanzas_out_total", domain="muc", kind="message") >= 2 * n
        assert moved("mixmuc_fanout_copies_total", domain="muc") >= 2 * n
        assert moved("mixmuc_dispatch_seconds_count") >= n + 1
        assert moved("mixmuc_archive_append_seconds_count") >= 1
        assert value(after, "mixmuc_stanza_errors_total", condition=condition) >= 1
        assert value(after, "mixmuc_link_up", domain="mix") == 1
        assert value(after, "mixmuc_link_up", domain="muc") == 1
        assert value(after, "mixmuc_link_connects_total", domain="muc") >= 1
        assert value(after, "mixmuc_store_up") == 1
        assert value(after, "mixmuc_link_queue_bound_bytes", domain="muc") > 0
        # The store's totals are read at most every few seconds.
        await until(lambda: value(scrape(base), "mixmuc_archive_rows") >= n, 15, "archive_rows counting the messages")
        totals = scrape(base)
        assert value(totals, "mixmuc_channels") >= 1
        assert value(totals, "mixmuc_occupants") >= 2
        assert value(totals, "mixmuc_participants") >= 2

        # Prosody goes away: both links drop, /health says so.
        await xmpp.close_all()
        bed.prosody_stop()
        try:
            status, why = await until(lambda: (lambda r: r if r[0] == 503 else None)(get(base + "/health")), 15, "/health 503")
            assert "link down" in why and "mix" in why and "muc" in why, why
            assert value(scrape(base), "mixmuc_link_up", domain="muc") == 0
        finally:
            bed.prosody_start()
        await until(lambda: get(base + "/health")[0] == 200, 30, "/health 200 again after Prosody is back")


def json_lines(path, offset: int) -> list[dict]:
    with open(path, "rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


async def test_sighup_changes_the_log_filter_and_lines_carry_the_request(bed, xmpp, alt_instance):
    with alt_instance(log_format="json", log_filter="info") as inst:
        logfile = bed.dir / "mixmuc-alt" / "mixmuc.log"
        alice = await xmpp.connect("alice")
        room = f"{unique_name('hup')}@{inst.muc}"

        async def refused(msg_id: str) -> None:
            # A message to a room alice is not in: refused, logged at debug.
            log = RoomLog(alice, room)
            m = alice.make_message(mto=room, mbody="not in", mtype="groupchat")
            m["id"] = msg_id
            m.send()
            await log.until(is_error, what="the refusal")
            log.close()

        offset = logfile.stat().st_size
        await refused("before-hup")
        await asyncio.sleep(0.5)
        started = json_lines(logfile, 0)
        assert [l for l in started if l.get("fields", {}).get("message") == "link up"], "the log is JSON lines"
        assert not [l for l in json_lines(logfile, offset) if "before-hup" in json.dumps(l)], "nothing at debug before SIGHUP"

        bed.mixmuc_config("alt", log_format="json", log_filter="debug")
        offset = logfile.stat().st_size
        os.kill(bed.mixmuc_pid("alt"), signal.SIGHUP)
        await until(lambda: [l for l in json_lines(logfile, offset) if "log filter changed" in l.get("fields", {}).get("message", "")],
                    10, "the SIGHUP's log line")
        await refused("after-hup")
        await asyncio.sleep(0.5)
        mine = [l for l in json_lines(logfile, offset) if l.get("span", {}).get("id") == "after-hup"]
        assert mine, "a debug line for the refused request after SIGHUP"
        span = mine[0]["span"]
        assert span["channel"] == room.split("@")[0]
        assert span["sender"] == bed.jid("alice")
        assert span["kind"] == "message"
        assert mine[0]["level"] == "DEBUG"
