"""Retraction and moderation with real clients, one archive in both views
(issue 21; docs/muc.md and docs/mix.md, "Retraction and moderation").

Bob creates a room on mixmuc's MUC domain (owner, so a moderator) with
slixmpp's xep_0045; Carol is a plain MUC occupant; Alice is a MIX client
(xep_0369/xep_0405) in the same channel through her server's mod_mix_pam.
Retractions are sent with slixmpp's xep_0424 and moderation with xep_0425;
the MIX retraction is built by hand (slixmpp has no helper for it). Every
participant must see the same outcome in its own dialect, and MAM in both
views must return the tombstone in place of the message.

Prosody 0.12 has no moderation of its own (mod_muc_moderation is a
community module), so there is no differential run here.
"""

from __future__ import annotations

import pytest
from slixmpp import JID
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET

from bed import IQ_TIMEOUT, NS_MIX_CORE
from test_muc import RoomLog, body, enter, kind, mam_all, new_room, occupant_id, room_stanza_id, say

pytestmark = pytest.mark.usefixtures("mix_pam")

NS_RETRACT = "urn:xmpp:message-retract:1"
NS_MODERATE = "urn:xmpp:message-moderate:1"


def retract_of(stanza) -> str | None:
    """The id a message retracts (XEP-0424), if it is a retraction."""
    e = stanza.xml.find(f"{{{NS_RETRACT}}}retract")
    return None if e is None else e.get("id")


def mix_retract_of(stanza) -> str | None:
    e = stanza.xml.find(f"{{{NS_MIX_CORE}}}retract")
    return None if e is None else e.get("id")


async def setup(bed, xmpp, prefix: str):
    bob = await xmpp.connect("bob")
    carol = await xmpp.connect("carol")
    alice = await xmpp.connect("alice")
    for c in (bob, carol):
        c.register_plugin("xep_0424")
        c.register_plugin("xep_0425")
    room, _ = await new_room(bed, bob, "Bob", prefix)
    channel = f"{JID(room).user}@{bed.main.mix}"
    await enter(carol, room, "Carol")
    await alice.mix_join(channel, "Alice")
    return bob, carol, alice, room, channel


async def test_sender_retracts_in_both_views(bed, xmpp):
    """Carol retracts her groupchat with XEP-0424 (by its stanza-id): every
    occupant gets the retraction from room/Carol (slixmpp's message_retract
    fires), Alice gets it through MIX with the MIX <retract/>. Alice retracts
    hers with the MIX retraction: the room sees XEP-0424 from room/Alice with
    her occupant id. MAM in both views: tombstones, the text gone."""
    bob, carol, alice, room, channel = await setup(bed, xmpp, "retract")
    bob_log, carol_log, alice_log = RoomLog(bob, room), RoomLog(carol, room), RoomLog(alice, channel)

    echo, _ = await say(carol, room, "I said too much", log=carol_log)
    sid = room_stanza_id(echo, room)
    await alice_log.until(lambda s: body(s) == "I said too much", what="Carol's message through MIX")
    bob.queue("message_retract")
    carol.plugin["xep_0424"].send_retraction(JID(room), sid, mtype="groupchat")
    seen = await bob.next("message_retract")
    assert seen["from"] == JID(f"{room}/Carol") and retract_of(seen) == sid, str(seen)
    assert occupant_id(seen) == occupant_id(echo), "the retraction carries the author's occupant id"
    own = (await carol_log.until(lambda s: retract_of(s) == sid, what="Carol's own retraction"))[-1]
    assert own["from"] == JID(f"{room}/Carol")
    got = (await alice_log.until(lambda s: mix_retract_of(s) == sid, what="the MIX retraction"))[-1]
    assert retract_of(got) == sid, str(got)

    alice.send_message(mto=channel, mbody="and so did I", mtype="groupchat")
    mine = (await alice_log.until(lambda s: body(s) == "and so did I", what="Alice's own copy"))[-1]
    shown = (await bob_log.until(lambda s: body(s) == "and so did I", what="Alice's message in the room"))[-1]
    alice_id = mine["id"]
    assert room_stanza_id(shown, room) == alice_id
    msg = alice.make_message(mto=channel, mtype="groupchat")
    msg.append(ET.fromstring(f"<retract xmlns='{NS_MIX_CORE}' id='{alice_id}'/>"))
    msg.send()
    seen = (await bob_log.until(lambda s: retract_of(s) == alice_id, what="Alice's retraction in the room"))[-1]
    assert seen["from"] == JID(f"{room}/Alice") and occupant_id(seen) == occupant_id(shown), str(seen)

    rows = await mam_all(bob, room)
    by_id = dict(rows)
    for target in (sid, alice_id):
        tomb = by_id[target]
        assert tomb.xml.find(f"{{{NS_RETRACT}}}retracted") is not None, str(tomb)
        assert body(tomb) is None, str(tomb)
    assert not any("too much" in str(f) or "so did I" in str(f) for _, f in rows)
    mix = await alice.plugin["xep_0313"].retrieve(jid=JID(channel), rsm={"max": 50}, timeout=IQ_TIMEOUT)
    mix_rows = {r["mam_result"]["id"]: r["mam_result"]["forwarded"]["stanza"] for r in mix["mam"]["results"]}
    assert set(mix_rows) == set(by_id), "one archive, the same ids in both views"
    for target in (sid, alice_id):
        assert mix_rows[target].xml.find(f"{{{NS_MIX_CORE}}}retracted") is not None, str(mix_rows[target])


async def test_moderator_removes_spam(bed, xmpp):
    """Bob (owner, a moderator) removes Carol's message with XEP-0425: slixmpp's
    moderated_message fires for every occupant, with Bob as moderator and the
    reason; Alice is told through MIX. Carol (no moderator) may not remove
    Bob's message (forbidden), nor retract it as hers; an unknown id is
    item-not-found. MAM shows the tombstone with the moderator."""
    bob, carol, alice, room, channel = await setup(bed, xmpp, "moderate")
    carol_log, alice_log = RoomLog(carol, room), RoomLog(alice, channel)
    echo, _ = await say(carol, room, "cheap potions, DM me", log=carol_log)
    spam = room_stanza_id(echo, room)
    await alice_log.until(lambda s: body(s) == "cheap potions, DM me", what="the spam through MIX")

    carol.queue("moderated_message")
    await bob.plugin["xep_0425"].moderate(JID(room), spam, "spam", timeout=IQ_TIMEOUT)
    seen = await carol.next("moderated_message")
    retract = seen["retract"]
    assert retract["id"] == spam and seen["from"] == JID(room), str(seen)
    assert retract["moderated"]["by"] == JID(f"{room}/Bob"), str(seen)
    assert retract["reason"] == "spam", str(seen)
    got = (await alice_log.until(lambda s: mix_retract_of(s) == spam, what="the removal through MIX"))[-1]
    assert got.xml.find(f"{{{NS_RETRACT}}}retract/{{{NS_MODERATE}}}moderated") is not None, str(got)

    bob_log = RoomLog(bob, room)
    mine, _ = await say(bob, room, "welcome, all", log=bob_log)
    bobs = room_stanza_id(mine, room)
    with pytest.raises(IqError) as err:
        await carol.plugin["xep_0425"].moderate(JID(room), bobs, "no", timeout=IQ_TIMEOUT)
    assert err.value.iq["error"]["condition"] == "forbidden"
    with pytest.raises(IqError) as err:
        await bob.plugin["xep_0425"].moderate(JID(room), "no-such-message", "x", timeout=IQ_TIMEOUT)
    assert err.value.iq["error"]["condition"] == "item-not-found"
    carol.plugin["xep_0424"].send_retraction(JID(room), bobs, mtype="groupchat")
    refused = (await carol_log.until(lambda s: kind(s) == "message" and s["type"] == "error", what="the refusal"))[-1]
    assert refused["error"]["condition"] == "forbidden", str(refused)

    rows = dict(await mam_all(carol, room))
    tomb = rows[spam]
    assert body(tomb) is None and tomb.xml.find(f"{{{NS_RETRACT}}}retracted/{{{NS_MODERATE}}}moderated") is not None, str(tomb)
    assert body(rows[bobs]) == "welcome, all", "an unauthorised attempt changes nothing"
