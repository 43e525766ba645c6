"""Room messages as fan-outs: through Prosody's multicast service or one stanza per recipient.

mixmuc hands a room message to its link once (docs/architecture.md, "Fan-out").
Instance "main" of the bed has ``[server] multicast = "localhost"`` and the bed's
Prosody loads contrib's mod_component_multicast, so the link sends one stanza per
message and Prosody makes the copies; instance "alt" has no multicast service and
sends one stanza per recipient. Both must give every session exactly one copy,
identical but for ``to``, MUC sessions and MIX participants alike.
"""

from __future__ import annotations

import asyncio

import pytest
from slixmpp import JID

from bed import unique_name
from test_muc import QUIET, RoomLog, accept_instant_room, body, enter, kind, occupant_ids, room_stanza_id

MULTICAST_ON = "room messages go through the server's multicast service"
MULTICAST_OFF = "does not announce XEP-0033 multicast"


def log_text(bed, name: str) -> str:
    return bed.mixmuc_log(name).read_text(errors="replace")


async def copies_of(logs: list[RoomLog], text: str) -> list[list]:
    """For each log: every message with body TEXT that arrived until the room was quiet."""
    for log in logs:
        await log.until(lambda s: kind(s) == "message" and body(s) == text, what=f"{text!r}")
    await asyncio.sleep(QUIET)
    for log in logs:
        log.drain()
    return [[s for s in log.seen if kind(s) == "message" and body(s) == text] for log in logs]


async def room_of_three(bed, xmpp, muc_domain: str):
    """alice (two sessions) and bob in a new room; returns (room, [logs], sender)."""
    alice1 = await xmpp.connect("alice", resource="fan1")
    alice2 = await xmpp.connect("alice", resource="fan2")
    bob = await xmpp.connect("bob")
    room = f"{unique_name('fan')}@{muc_domain}"
    entry = await enter(alice1, room, "Alice")
    assert entry.error is None
    await accept_instant_room(alice1, room)
    await enter(alice2, room, "Alice")
    await enter(bob, room, "Bob", seen_by=[alice1, alice2])
    return room, alice1, [RoomLog(c, room) for c in (alice1, alice2, bob)]


def check_copies(logs: list[RoomLog], per_session: list[list], room: str, sender_nick: str) -> None:
    for copies in per_session:
        assert len(copies) == 1, f"expected exactly one copy, got {len(copies)}: {[str(c) for c in copies]}"
    first = [c[0] for c in per_session]
    for log, c in zip(logs, first):
        assert c["to"] == log.client.boundjid, f"copy for {log.client.boundjid} addressed to {c['to']}"
    for c in first:
        assert c["from"] == JID(f"{room}/{sender_nick}") and c["type"] == "groupchat", str(c)
        assert c.xml.find("{http://jabber.org/protocol/address}addresses") is None, f"addresses leaked: {c}"
    assert len({room_stanza_id(c, room) for c in first}) == 1, "one archive id on every copy"
    assert len({tuple(occupant_ids(c)) for c in first}) == 1


async def test_main_instance_uses_the_multicast_service(bed):
    """Both links of instance "main" found Prosody's multicast service at link-up."""
    if not bed.has_component_multicast:
        pytest.skip("contrib/prosody/mod_component_multicast.lua is not loaded")
    text = log_text(bed, "main")
    for domain in (bed.main.mix, bed.main.muc):
        assert any(MULTICAST_ON in line and domain in line for line in text.splitlines()), \
            f"no multicast line for {domain} in {bed.mixmuc_log('main')}"
    assert MULTICAST_OFF not in text


async def test_room_message_through_multicast_reaches_each_session_once(bed, xmpp):
    """Instance main: three sessions (two of one user), one copy each, same ids."""
    room, sender, logs = await room_of_three(bed, xmpp, bed.main.muc)
    text = f"via multicast {unique_name('m')}"
    sender.send_message(mto=room, mbody=text, mtype="groupchat")
    check_copies(logs, await copies_of(logs, text), room, "Alice")


async def test_room_message_without_multicast_reaches_each_session_once(bed, xmpp, alt_instance):
    """Instance alt (no multicast service): the same, one stanza per recipient."""
    with alt_instance() as alt:
        assert MULTICAST_ON not in log_text(bed, "alt")
        room, sender, logs = await room_of_three(bed, xmpp, alt.muc)
        text = f"one by one {unique_name('m')}"
        sender.send_message(mto=room, mbody=text, mtype="groupchat")
        check_copies(logs, await copies_of(logs, text), room, "Alice")


async def test_mix_and_muc_members_each_get_one_copy_through_multicast(bed, xmpp, mix_pam):
    """A channel with a MIX participant (bare JID, through mod_mix_pam) and a MUC
    occupant: a MUC message reaches the MIX participant once and the occupant once."""
    alice = await xmpp.connect("alice")
    carol = await xmpp.connect("carol")
    name = await alice.create_channel(bed.main.mix, unique_name("fanmix"))
    await carol.mix_join(f"{name}@{bed.main.mix}", "Carol")
    room = f"{name}@{bed.main.muc}"
    await enter(alice, room, "Alice")
    carol_got: list = []
    carol.add_event_handler("groupchat_message", lambda m: carol_got.append(m))
    log = RoomLog(alice, room)
    text = f"to both views {unique_name('m')}"
    alice.send_message(mto=room, mbody=text, mtype="groupchat")
    await log.until(lambda s: kind(s) == "message" and body(s) == text, what="the echo")
    for _ in range(50):
        if any(m["body"] == text for m in carol_got):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(QUIET)
    mine = [m for m in carol_got if m["body"] == text]
    assert len(mine) == 1, f"the MIX participant got {len(mine)} copies: {[str(m) for m in mine]}"
    assert mine[0]["from"].bare == JID(f"{name}@{bed.main.mix}").bare, str(mine[0])
    assert mine[0].xml.find("{http://jabber.org/protocol/address}addresses") is None
    assert len([s for s in log.seen if kind(s) == "message" and body(s) == text]) == 1
