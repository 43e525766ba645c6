"""Sessions that vanish without an unavailable presence (docs/muc.md "Sessions that
vanish"): the next stanza mixmuc sends them bounces, and the bounce removes them.

A client that drops its TCP connection is not enough to make a ghost: Prosody sends
the unavailable presence on its behalf. What leaves ghosts in practice is an
unavailable presence that never reaches mixmuc: the user's server vanishing, or
mixmuc's link being down when the user leaves. The second is what this test does,
with nothing forged: Bob is in the room, mixmuc stops, Bob's client drops its
connection (Prosody's unavailable presence for him finds no component), mixmuc
starts again with Bob still an occupant in its store. Alice's next groupchat goes
to Bob's full JID too; Prosody bounces it (groupchat to a resource that is not
online: service-unavailable, RFC 6121 §8.5.3.2.1), and Alice sees Bob leave with
status 333.

The second test makes the same ghost in a room where no one speaks: the idle-session
check (docs/muc.md "Housekeeping"), run every half second on an instance configured
with a 2 s check time, pings it; Prosody answers for the session it no longer has
(service-unavailable, to the ping and to the disco#info that follows), and Alice sees
Bob leave with status 333 without anyone sending the room anything. Alice, pinged
too, answers and stays.
"""

from __future__ import annotations

import asyncio

import pytest
from slixmpp import JID

from bed import unique_name

NS_PING = "urn:xmpp:ping"
from test_muc import RoomLog, accept_instant_room, codes, enter, kind, nick_of, say


@pytest.mark.deadline(150)
async def test_vanished_occupant_leaves_after_a_bounce(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    room = f"{unique_name('vanish')}@{bed.main.muc}"
    await enter(alice, room, "Alice")
    await accept_instant_room(alice, room)
    await enter(bob, room, "Bob")

    await asyncio.to_thread(bed.mixmuc_stop, "main")
    try:
        bob.abort()  # the TCP connection ends, no unavailable from the client
        await asyncio.sleep(1)
    finally:
        offset = bed.log_offset("main")
        await asyncio.to_thread(bed.mixmuc_start, "main")
        await asyncio.to_thread(bed.wait_link, "main", offset, 60)

    log = RoomLog(alice, room)
    await say(alice, room, "anyone there?", log=log)
    gone = await log.until(lambda s: kind(s) == "presence" and nick_of(s) == "Bob", what="Bob's unavailable presence")
    presence = gone[-1]
    assert presence["type"] == "unavailable" and 333 in codes(presence), str(presence)
    assert presence["from"] == JID(f"{room}/Bob"), str(presence)
    # He is gone for good: the next message bounces nowhere and shows nothing more of him.
    await say(alice, room, "still here?", log=log)
    later = await log.settle()
    assert not [s for s in later if kind(s) == "presence" and nick_of(s) == "Bob"], [str(s) for s in later]


@pytest.mark.deadline(30)
async def test_idle_check_removes_a_ghost_in_a_silent_room(bed, xmpp, alt_instance):
    with alt_instance(idle_session_check_secs=2) as inst:
        alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
        room = f"{unique_name('vanish-idle')}@{inst.muc}"
        await enter(alice, room, "Alice")
        await accept_instant_room(alice, room)
        await enter(bob, room, "Bob")
        pings = []

        def ping_in(stanza):
            if kind(stanza) == "iq" and stanza["type"] == "get" and stanza.xml.find(f"{{{NS_PING}}}ping") is not None:
                pings.append(stanza["from"])
            return stanza

        alice.add_filter("in", ping_in)
        # Open before the restart: the first round may run as soon as the link is up.
        log = RoomLog(alice, room)

        await asyncio.to_thread(bed.mixmuc_stop, inst.name)
        try:
            bob.abort()  # the TCP connection ends, no unavailable from the client
            await asyncio.sleep(1)
        finally:
            offset = bed.log_offset(inst.name)
            await asyncio.to_thread(bed.mixmuc_start, inst.name)
            await asyncio.to_thread(bed.wait_link, inst.name, offset, 20)

        gone = await log.until(lambda s: kind(s) == "presence" and nick_of(s) == "Bob" and s["type"] == "unavailable",
                               timeout=15, what="Bob's unavailable presence")
        presence = gone[-1]
        assert presence["type"] == "unavailable" and 333 in codes(presence), str(presence)
        assert presence["from"] == JID(f"{room}/Bob"), str(presence)
        assert presence["status"] == "Kicked: service unavailable", str(presence)
        # No one said anything in the room: the check alone found him.
        assert not [s for s in gone if kind(s) == "message"], [str(s) for s in gone]
        # Alice was asked too, from the room's own JID, answered, and is still there.
        await log.settle(quiet=2.5)
        assert pings and all(p == JID(room) for p in pings), pings
        echo, _ = await say(alice, room, "still here", log=log)
        assert echo["from"] == JID(f"{room}/Alice"), str(echo)
        alice.del_filter("in", ping_in)
