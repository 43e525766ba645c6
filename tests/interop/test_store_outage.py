"""Store outages (issue "Safe to expose"): PostgreSQL goes away under load and
comes back.

mixmuc instance "alt" runs on the bed's own PostgreSQL server (scripts/lib.sh
``mm_pg_start``: own data folder, port and socket folder in the bed; the
system's PostgreSQL is never touched). Alice sends to the channel through
MUC, Carol through MIX (joined through her server, mod_mix_pam), Bob watches
in MUC, each message with an id and body of its own. Mid-load the server is
stopped (a fast shutdown, its sessions ended; then again with an immediate
one, as in a crash) for a few seconds, requests
of other kinds are sent during the outage, then it is started again. Then:

- every message sent got its reflection (the MUC echo, the MIX sender's own
  copy) or an error, ``internal-server-error`` or of type ``wait``; none got
  nothing;
- whatever anyone received as a reflection is in the archive afterwards, and
  nothing is archived twice;
- the outage was felt (some messages got an error) and the IQs and the join
  sent during it were answered with an error, not silence;
- after PostgreSQL is back, messages flow and joins work through both views,
  with the same mixmuc process (no restart).

A second test starts mixmuc while the store is down: it exits non-zero,
saying which store it could not reach, within its acquire timeout.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time

import pytest
from slixmpp.exceptions import IqError, IqTimeout

from bed import IQ_TIMEOUT, unique_name
from test_mix import client_join, mam, send_groupchat, submission_id
from test_muc import RoomLog, body, enter, error, is_error, kind, nick_of

pytestmark = pytest.mark.usefixtures("mix_pam")

#: Seconds of load before the outage, of outage, and of load after it.
BEFORE, OUTAGE, AFTER = 1.5, 4.0, 2.5
#: Seconds between two messages of one sender.
PACE = 0.025
#: The store's acquire timeout in the config of this test (ms): the longest a
#: request waits for a connection before its error.
ACQUIRE_TIMEOUT_MS = 1000


def wait_error(stanza) -> bool:
    """An error saying: try again later (the store is not there)."""
    etype, condition = error(stanza)
    return condition == "internal-server-error" or etype == "wait"


class Sender:
    """One client sending numbered messages to the channel through one view."""

    def __init__(self, client, to: str, prefix: str, mix: bool):
        self.client, self.to, self.prefix, self.mix = client, to, prefix, mix
        self.sent: dict[str, float] = {}  # id -> monotonic time sent
        self.log = RoomLog(client, to)

    async def run(self, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            msg_id = f"{self.prefix}-{n}"
            if self.mix:
                send_groupchat(self.client, self.to, f"{self.prefix}{n}", msg_id=msg_id)
            else:
                msg = self.client.make_message(mto=self.to, mbody=f"{self.prefix}{n}", mtype="groupchat")
                msg["id"] = msg_id
                msg.send()
            self.sent[msg_id] = time.monotonic()
            n += 1
            await asyncio.sleep(PACE)

    def outcomes(self) -> tuple[dict[str, object], dict[str, object]]:
        """(reflections by id, errors by id) among what came back."""
        echoes, errors = {}, {}
        for s in self.log.seen:
            if kind(s) != "message":
                continue
            if is_error(s):
                if s["id"] in self.sent:
                    errors[s["id"]] = s
            elif self.mix:
                sid = submission_id(s)
                if sid in self.sent:
                    echoes[sid] = s
            elif nick_of(s) == "Alice" and s["id"] in self.sent:
                echoes[s["id"]] = s
        return echoes, errors

    def received_bodies(self) -> set[str]:
        """Bodies of every room message this client received (not errors)."""
        return {body(s) for s in self.log.seen if kind(s) == "message" and not is_error(s) and body(s)}


async def answer_of(coro, timeout: float = IQ_TIMEOUT) -> tuple[str, object, float]:
    """('result', iq | None, seconds), ('error', (type, condition), seconds) or ('silence', None, seconds)."""
    t0 = time.monotonic()
    try:
        got = await asyncio.wait_for(coro, timeout)
        return "result", got, time.monotonic() - t0
    except IqError as e:
        return "error", (e.iq["error"]["type"], e.iq["error"]["condition"]), time.monotonic() - t0
    except (IqTimeout, asyncio.TimeoutError):
        return "silence", None, time.monotonic() - t0


def config_pg(bed, url: str):
    path = bed.mixmuc_config("alt", store_url=url)
    text = path.read_text()
    # The acquire timeout is the store's; short here so that the test is quick.
    path.write_text(text.replace("[store]\n", f"[store]\nacquire_timeout_ms = {ACQUIRE_TIMEOUT_MS}\n", 1))
    return path


async def archived_bodies(client, room: str) -> list[str]:
    bodies, after = [], None
    while True:
        page = await mam(client, room, rsm={"max": "250", **({"after": after} if after else {})})
        bodies += [m.findtext("{jabber:client}body") for m in page.messages]
        if page.complete or not page.messages:
            return bodies
        after = page.last


@pytest.mark.deadline(90)
@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_postgres_restart_under_load(bed, xmpp, mode):
    """MODE: how PostgreSQL is stopped: "fast" (SIGINT: it ends its sessions,
    each client is told 57P01) or "immediate" (SIGQUIT: its processes quit,
    recovery from the WAL at the next start)."""
    url = await asyncio.to_thread(bed.pg_start)
    try:
        config_pg(bed, url)
        await asyncio.to_thread(bed.mixmuc_start, "alt")
        try:
            await outage_trial(bed, xmpp, mode)
        finally:
            await xmpp.close_all()
            await asyncio.to_thread(bed.mixmuc_stop, "alt")
    finally:
        await asyncio.to_thread(bed.pg_stop)


async def outage_trial(bed, xmpp, mode: str):
    pid = bed.mixmuc_pid("alt")
    alice, bob, carol, dave, eve = [await xmpp.connect(u) for u in ("alice", "bob", "carol", "dave", "eve")]
    name = await alice.create_channel(bed.alt.mix, unique_name("outage"))
    room, channel = f"{name}@{bed.alt.muc}", f"{name}@{bed.alt.mix}"
    assert (await enter(alice, room, "Alice")).error is None
    assert (await enter(bob, room, "Bob", seen_by=[alice])).error is None
    await client_join(carol, channel, "Carol")
    bob_log = RoomLog(bob, room)
    senders = [Sender(alice, room, "a", mix=False), Sender(carol, channel, "c", mix=True)]
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(s.run(stop)) for s in senders]
    probes: dict[str, tuple[str, object, float]] = {}
    try:
        await asyncio.sleep(BEFORE)
        t_down = time.monotonic()
        await asyncio.to_thread(bed.pg_stop, mode)
        await asyncio.sleep(0.5)
        # Requests of other kinds during the outage, at the same time.
        mam_iq = bob.raw_iq(room, "set", "<query xmlns='urn:xmpp:mam:2'/>")
        disco_iq = bob.raw_iq(channel, "get", "<query xmlns='http://jabber.org/protocol/disco#info' node='mix'/>")

        async def muc_join():
            entry = await enter(eve, room, "Eve", timeout=IQ_TIMEOUT)
            if entry.error is not None:
                raise IqError(entry.error)
            return entry

        names = ["mam", "disco", "muc-join", "mix-join"]
        results = await asyncio.gather(
            answer_of(mam_iq.send(timeout=IQ_TIMEOUT)),
            answer_of(disco_iq.send(timeout=IQ_TIMEOUT)),
            answer_of(muc_join()),
            answer_of(client_join(dave, channel, "Dave")),
        )
        probes = dict(zip(names, results))
        await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - t_down)))
        await asyncio.to_thread(bed.pg_start)
        t_up = time.monotonic()
        await asyncio.sleep(AFTER)
    finally:
        stop.set()
        await asyncio.gather(*tasks)

    # Every message is answered, one way or the other (wait for the last ones).
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if all(len(e) + len(r) >= len(s.sent) for s in senders for e, r in [s.outcomes()]):
            break
        await asyncio.sleep(0.2)

    report = []
    silent, wrong_errors = [], []
    errors_total = echoed_after = 0
    for s in senders:
        echoes, errors = s.outcomes()
        both = set(echoes) & set(errors)
        assert not both, f"{s.prefix}: reflected and refused: {sorted(both)[:5]}"
        silent += [i for i in s.sent if i not in echoes and i not in errors]
        wrong_errors += [(i, error(e)) for i, e in errors.items() if not wait_error(e)]
        errors_total += len(errors)
        echoed_after += sum(1 for i in echoes if s.sent[i] > t_up)
        first_err = min((s.sent[i] for i in errors), default=None)
        last_err = max((s.sent[i] for i in errors), default=None)
        span = "" if first_err is None else f", errors for messages sent {first_err - t_down:+.2f}..{last_err - t_down:+.2f} s from the stop"
        report.append(f"{s.prefix}: sent {len(s.sent)}, reflected {len(echoes)}, errors {len(errors)}{span}")
    report.append("probes during the outage: " + ", ".join(f"{k}: {v[0]} {v[1] if v[0] == 'error' else ''} in {v[2]:.2f} s" for k, v in probes.items()))
    report.insert(0, f"{mode} stop; PostgreSQL down for {t_up - t_down:.2f} s")
    print("\n".join(report))
    assert not silent, f"{len(silent)} messages got neither reflection nor error: {sorted(silent)[:10]}"
    assert not wrong_errors, f"errors other than internal-server-error / wait: {wrong_errors[:5]}"
    assert errors_total > 0, "no message was refused: the outage was not felt, the trial proves nothing"
    assert echoed_after > 0, "nothing sent after PostgreSQL came back was reflected"

    # IQs and joins during the outage: an error, not silence (the disco of a
    # channel may come from the cache, so a result is an answer too).
    for what in ("mam", "muc-join", "mix-join"):
        outcome, detail, _ = probes[what]
        assert outcome == "error", f"{what} during the outage: {outcome} {detail}"
        assert detail[1] == "internal-server-error" or detail[0] == "wait", f"{what}: {detail}"
    assert probes["disco"][0] in ("result", "error"), f"disco during the outage: {probes['disco']}"

    # Back to normal without a restart: messages through both views, joins through both.
    bob_log.drain()
    alice.send_message(mto=room, mbody="after-muc", mtype="groupchat")
    send_groupchat(carol, channel, "after-mix")
    await bob_log.until(lambda s: kind(s) == "message" and body(s) == "after-mix", what="after-mix", timeout=10)
    assert "after-muc" in {body(s) for s in bob_log.seen}
    entry = await enter(eve, room, "Eve")
    assert entry.error is None, f"entering after the outage: {error(entry.error)}"
    await client_join(dave, channel, "Dave")
    assert bed.mixmuc_pid("alt") == pid, "mixmuc was restarted"
    os.kill(pid, 0)

    # Nothing reflected that is not archived; nothing archived twice.
    archived = await archived_bodies(bob, room)
    dupes = {b for b in archived if archived.count(b) > 1}
    assert not dupes, f"archived twice: {sorted(dupes)[:10]}"
    received = set()
    for client_log in [bob_log, *(s.log for s in senders)]:
        received |= {body(s) for s in client_log.seen if kind(s) == "message" and not is_error(s) and body(s)}
    received = {b for b in received if b[0] in "ac" and b[1:].isdigit()}
    missing = received - set(archived)
    assert not missing, f"received but not archived: {sorted(missing)[:10]}"
    refused_but_archived = sum(1 for s in senders for i in s.outcomes()[1] if f"{s.prefix}{i.split('-')[1]}" in archived)
    print(f"received {len(received)} distinct, archived {len(archived)}, refused but archived {refused_but_archived}")


@pytest.mark.deadline(60)
async def test_store_down_at_start(bed):
    """mixmuc started while its PostgreSQL is down exits non-zero within
    about its acquire timeout, naming the store (without a password); a
    supervisor restarts it (docs/security.md, "Store outages")."""
    url = await asyncio.to_thread(bed.pg_start)
    await asyncio.to_thread(bed.pg_stop)
    path = config_pg(bed, url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIXMUC_")}
    binary = bed.env["BINARY"]
    t0 = time.monotonic()
    proc = await asyncio.to_thread(subprocess.run, [binary, "serve", "--config", str(path)],
                                   capture_output=True, text=True, timeout=30, env={**env, "NO_COLOR": "1"})
    took = time.monotonic() - t0
    print(f"exit {proc.returncode} after {took:.2f} s: {proc.stderr.strip().splitlines()[-1:]}")
    assert proc.returncode != 0
    assert took < ACQUIRE_TIMEOUT_MS / 1000 + 5, f"took {took:.1f} s"
    assert "store" in proc.stderr and url in proc.stderr, proc.stderr
