"""A standby behind Prosody (issue 25; docs/deploy/scale-out.md): a second mixmuc
process for the same domains on the same PostgreSQL store waits for the store's
active lock ("standing by") without connecting its links, and takes over both
domains together when the active one dies.

Instance "alt" runs on the bed's private PostgreSQL; instance "standby" (alt's
domains, the same store) is started beside it and must say it stands by. Carol
is in a room through MUC, Alice in the same channel through MIX (her server's
mod_mix_pam); they talk. Then alt is killed with SIGKILL (no goodbye, as in a
crash): the standby must hold both domains soon after, and with no client doing
anything again (no rejoin) Carol's and Alice's messages reach each other through
it, and MAM holds every message of before and after, once each.

The takeover time is printed (docs/deploy/scale-out.md reports it); the test
only bounds it loosely (a timed assertion is not a benchmark).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
from slixmpp import JID

from bed import unique_name
from test_muc import RoomLog, accept_instant_room, body, enter, kind, mam_all

pytestmark = pytest.mark.usefixtures("mix_pam")

#: Generous: the takeover is expected within about a second.
TAKEOVER_BOUND_S = 15


def log_text(bed, name: str) -> str:
    path = bed.dir / f"mixmuc-{name}" / "mixmuc.log"
    return path.read_text(errors="replace") if path.exists() else ""


async def wait_log(bed, name: str, pred, timeout: float, what: str) -> float:
    start = time.monotonic()
    while not pred(log_text(bed, name)):
        if time.monotonic() - start > timeout:
            raise AssertionError(f"mixmuc ({name}): no {what} within {timeout}s; log tail:\n"
                                 + "\n".join(log_text(bed, name).splitlines()[-15:]))
        await asyncio.sleep(0.05)
    return time.monotonic() - start


def links_up_after(text: str, marker: int, domains) -> bool:
    tail = text[marker:]
    return all(any("link up" in line and d in line for line in tail.splitlines()) for d in domains)


@pytest.mark.deadline(120)
async def test_standby_takes_over_after_a_crash(bed, xmpp, alt_instance):
    url = bed.pg_start()
    with alt_instance(store_url=url) as inst:
        bed.mixmuc_config("standby", store_url=url)
        bed.mixmuc_start("standby", wait=False)
        try:
            await wait_log(bed, "standby", lambda t: "another process is active on this store: standing by" in t, 15, "'standing by'")
            await asyncio.sleep(1.5)
            waiting = log_text(bed, "standby")
            assert "connecting" not in waiting and "link up" not in waiting, "the standby connected while alt is active"

            carol = await xmpp.connect("carol")
            alice = await xmpp.connect("alice")
            room = f"{unique_name('standby')}@{inst.muc}"
            channel = f"{JID(room).user}@{inst.mix}"
            assert (await enter(carol, room, "Carol")).error is None
            await accept_instant_room(carol, room)
            await alice.mix_join(channel, "Alice")
            carol_log, alice_log = RoomLog(carol, room), RoomLog(alice, channel)
            carol.send_message(mto=room, mbody="before the crash", mtype="groupchat")
            await alice_log.until(lambda s: body(s) == "before the crash", what="carol's message through alt")

            marker = len(log_text(bed, "standby"))
            os.kill(bed.mixmuc_pid("alt"), signal.SIGKILL)
            took = await wait_log(bed, "standby", lambda t: links_up_after(t, marker, (inst.mix, inst.muc)),
                                  TAKEOVER_BOUND_S, "'link up' for both domains after alt's death")
            print(f"standby took over both domains {took:.2f} s after SIGKILL")

            # Nobody rejoins: the occupants and participants are in the store.
            carol.send_message(mto=room, mbody="after the crash", mtype="groupchat")
            await alice_log.until(lambda s: body(s) == "after the crash", what="carol's message through the standby")
            alice.send_message(mto=channel, mbody="heard you", mtype="groupchat")
            await carol_log.until(lambda s: kind(s) == "message" and body(s) == "heard you", what="alice's answer in the room")

            bodies = [body(m) for _, m in await mam_all(carol, room)]
            for text in ("before the crash", "after the crash", "heard you"):
                assert bodies.count(text) == 1, f"{text!r} archived {bodies.count(text)} times: {bodies}"
        finally:
            bed.mixmuc_stop("standby")
