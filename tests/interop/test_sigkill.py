"""SIGKILL trials (issue "Safe to expose"): under steady room traffic through
Prosody, mixmuc is killed with SIGKILL at random moments and started again,
KILLS times. Nothing that anyone received is missing from the archive, and
nothing is archived twice. (A message that was inside mixmuc when it was
killed is neither archived nor answered: its sender hears nothing, as from
a server that died; what was reflected was archived first.)

The seed of the kill moments is printed; MM_KILL_SEED replays it.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal

import pytest

from test_mix import mam
from test_muc import RoomLog, enter, kind, new_room

#: How many times mixmuc is killed.
KILLS = 12
SEED = int(os.environ.get("MM_KILL_SEED") or secrets.randbelow(2**32))


def mixmuc_pid(bed) -> int:
    return int((bed.dir / "mixmuc-main" / "pid").read_text().strip())


async def kill_and_restart(bed) -> None:
    pid = mixmuc_pid(bed)
    os.kill(pid, signal.SIGKILL)
    for _ in range(200):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.02)
    offset = bed.log_offset()
    await asyncio.to_thread(bed.mixmuc_start, "main")
    await asyncio.to_thread(bed.wait_link, "main", offset, 60)


@pytest.mark.deadline(240)
async def test_sigkill_loses_nothing_reflected_and_archives_nothing_twice(bed, xmpp):
    rng = random.Random(SEED)
    print(f"MM_KILL_SEED={SEED}")
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    room, _ = await new_room(bed, alice, "Alice", "sigkill")
    await enter(bob, room, "Bob", seen_by=[alice])
    bob_log = RoomLog(bob, room)
    sent = 0
    stop = asyncio.Event()

    async def sender():
        nonlocal sent
        while not stop.is_set():
            alice.send_message(mto=room, mbody=f"m{sent}", mtype="groupchat")
            sent += 1
            await asyncio.sleep(0.01)

    task = asyncio.ensure_future(sender())
    try:
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.1, 0.8))
            await kill_and_restart(bed)
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        await task
    await asyncio.sleep(1.0)
    received = [s["body"] for s in bob_log.drain() + bob_log.seen if kind(s) == "message" and (s["body"] or "").startswith("m")]
    bob_log.close()
    archived, after = [], None
    while True:
        page = await mam(alice, room, rsm={"max": "250", **({"after": after} if after else {})})
        archived += [m.findtext("{jabber:client}body") for m in page.messages]
        if page.complete or not page.messages:
            break
        after = page.last
    archived_bodies = [b for b in archived if b and b.startswith("m")]
    print(f"sent {sent}, bob received {len(set(received))}, archived {len(archived_bodies)}")
    assert len(archived_bodies) == len(set(archived_bodies)), f"a message archived twice (seed {SEED})"
    missing = set(received) - set(archived_bodies)
    assert not missing, f"received but not archived (seed {SEED}): {sorted(missing)[:10]}"
    assert len(set(received)) > sent // 4, f"too little got through to prove anything: {len(set(received))} of {sent}"
