"""Administration (XEP-0045 §8-9 muc#admin; MIX-ADMIN banned/allowed nodes) with
real slixmpp clients: slixmpp's xep_0045 set_affiliation / set_role /
get_affiliation_list / get_roles_list against mixmuc's MUC domain, a mixed
channel where a ban in one view holds in the other (MIX side through the bed's
mod_mix_pam), and a differential run of the same admin scenario against
Prosody's own MUC (``conference.localhost``), differences as docs/muc.md
states them.
"""

from __future__ import annotations

import pytest
from slixmpp import JID
from slixmpp.exceptions import IqError

from bed import IQ_TIMEOUT, unique_name
from test_mixed import NODE_PARTICIPANTS, participant_events
from test_muc import (RoomLog, codes, describe, enter, error, is_error, kind, muc_item, new_room, nick_of,
                      NS_MUC_USER)
from test_muc_differential import MIXMUC, PROSODY, compare, open_room, targets

NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NODE_BANNED = "urn:xmpp:mix:nodes:banned"
NODE_ALLOWED = "urn:xmpp:mix:nodes:allowed"


def reason_of(stanza) -> str | None:
    e = stanza.xml.find(f"{{{NS_MUC_USER}}}x/{{{NS_MUC_USER}}}item/{{{NS_MUC_USER}}}reason")
    return None if e is None else e.text


def actor_of(stanza) -> dict | None:
    e = stanza.xml.find(f"{{{NS_MUC_USER}}}x/{{{NS_MUC_USER}}}item/{{{NS_MUC_USER}}}actor")
    return None if e is None else dict(e.attrib)


async def iq_condition(coro) -> str:
    """'result', or the error condition of a slixmpp IQ call."""
    try:
        await coro
        return "result"
    except IqError as err:
        return err.iq["error"]["condition"]


def leaving(nick: str):
    return lambda s: kind(s) == "presence" and nick_of(s) == nick and s["type"] == "unavailable"


def muc(client):
    return client.plugin["xep_0045"]


async def room_with(bed, xmpp, prefix: str):
    """A room on mixmuc with Alice (owner), Bob and Carol in it."""
    alice, bob, carol = await xmpp.connect("alice"), await xmpp.connect("bob"), await xmpp.connect("carol")
    room, _ = await new_room(bed, alice, "Alice", prefix)
    await enter(bob, room, "Bob", seen_by=[alice])
    await enter(carol, room, "Carol", seen_by=[alice, bob])
    return room, alice, bob, carol


# ---------------------------------------------------------------------------
# mixmuc's MUC view

async def test_ban_with_reason(bed, xmpp):
    """The owner bans Bob: Bob gets 301 + 110 with the reason and the actor, Carol
    gets 301; the outcast list names Bob; Bob cannot come back."""
    room, alice, bob, carol = await room_with(bed, xmpp, "ban")
    bob_log, carol_log = RoomLog(bob, room), RoomLog(carol, room)
    await muc(alice).set_affiliation(room, "outcast", jid=bed.jid("bob"), reason="Treason", timeout=IQ_TIMEOUT)
    own = (await bob_log.until(leaving("Bob"), what="Bob's ban"))[-1]
    assert codes(own) == {301, 110} and reason_of(own) == "Treason", str(own)
    assert actor_of(own) == {"nick": "Alice"}, str(own)
    assert muc_item(own)["affiliation"] == "outcast" and muc_item(own)["role"] == "none"
    seen = (await carol_log.until(leaving("Bob"), what="Bob's ban"))[-1]
    assert codes(seen) == {301} and reason_of(seen) == "Treason", str(seen)
    assert [JID(j) for j in await muc(alice).get_affiliation_list(room, "outcast", timeout=IQ_TIMEOUT)] == [JID(bed.jid("bob"))]
    again = await enter(bob, room, "Bob")
    assert again.error is not None and error(again.error) == ("auth", "forbidden"), describe(again.stanzas)


async def test_kick_voice_and_role_lists(bed, xmpp):
    """A kick says 307 and the user may come back; a visitor cannot speak; the
    role lists show moderators and visitors."""
    room, alice, bob, carol = await room_with(bed, xmpp, "kick")
    carol_log = RoomLog(carol, room)
    await muc(alice).set_role(room, "Carol", "none", reason="Out", timeout=IQ_TIMEOUT)
    own = (await carol_log.until(leaving("Carol"), what="Carol's kick"))[-1]
    assert codes(own) == {307, 110} and reason_of(own) == "Out", str(own)
    carol_log.close()
    assert (await enter(carol, room, "Carol")).error is None

    bob_log = RoomLog(bob, room)
    await muc(alice).set_role(room, "Bob", "visitor", timeout=IQ_TIMEOUT)
    changed = (await bob_log.until(lambda s: kind(s) == "presence" and nick_of(s) == "Bob", what="Bob's new role"))[-1]
    assert muc_item(changed)["role"] == "visitor" and 110 in codes(changed), str(changed)
    assert await muc(alice).get_roles_list(room, "visitor", timeout=IQ_TIMEOUT) == ["Bob"]
    assert await muc(alice).get_roles_list(room, "moderator", timeout=IQ_TIMEOUT) == ["Alice"]
    bob.send_message(mto=room, mbody="may I?", mtype="groupchat")
    refused = (await bob_log.until(lambda s: kind(s) == "message", what="the refusal"))[-1]
    assert is_error(refused) and error(refused)[1] == "forbidden", str(refused)
    # Bob may not see role lists; nor kick.
    assert await iq_condition(muc(bob).get_roles_list(room, "moderator", timeout=IQ_TIMEOUT)) == "forbidden"
    assert await iq_condition(muc(bob).set_role(room, "Carol", "none", timeout=IQ_TIMEOUT)) == "forbidden"


async def test_privilege_rules(bed, xmpp):
    """Members and others may not change affiliations (forbidden); an admin may not
    touch the owner (not-allowed); the last owner may not step down (conflict);
    a request with several items is applied whole."""
    room, alice, bob, carol = await room_with(bed, xmpp, "rules")
    assert await iq_condition(muc(bob).set_affiliation(room, "outcast", jid=bed.jid("carol"), timeout=IQ_TIMEOUT)) == "forbidden"
    await muc(alice).set_affiliation(room, "admin", jid=bed.jid("bob"), timeout=IQ_TIMEOUT)
    assert await iq_condition(muc(bob).set_affiliation(room, "outcast", jid=bed.jid("alice"), timeout=IQ_TIMEOUT)) == "not-allowed"
    assert await iq_condition(muc(bob).set_affiliation(room, "owner", jid=bed.jid("carol"), timeout=IQ_TIMEOUT)) == "not-allowed"
    assert await iq_condition(muc(alice).set_affiliation(room, "member", jid=bed.jid("alice"), timeout=IQ_TIMEOUT)) == "conflict"
    # Two items, the second refused: neither applied.
    status = await iq_condition(muc(alice).send_affiliation_list(
        room, [(bed.jid("carol"), "member"), (bed.jid("alice"), "none")], timeout=IQ_TIMEOUT))
    assert status == "conflict"
    assert await muc(alice).get_affiliation_list(room, "member", timeout=IQ_TIMEOUT) == []
    await muc(alice).send_affiliation_list(room, [(bed.jid("carol"), "member"), (bed.jid("dave"), "member")], timeout=IQ_TIMEOUT)
    members = {JID(j) for j in await muc(alice).get_affiliation_list(room, "member", timeout=IQ_TIMEOUT)}
    assert members == {JID(bed.jid("carol")), JID(bed.jid("dave"))}
    # The admin may list members but not owners.
    assert len(await muc(bob).get_affiliation_list(room, "member", timeout=IQ_TIMEOUT)) == 2
    assert await iq_condition(muc(bob).get_affiliation_list(room, "owner", timeout=IQ_TIMEOUT)) == "forbidden"


# ---------------------------------------------------------------------------
# Both views (MIX through mod_mix_pam)

async def banned_node(client, channel: str, node: str = NODE_BANNED) -> list[str]:
    iq = client.raw_iq(channel, "get", f"<pubsub xmlns='{NS_PUBSUB}'><items node='{node}'/></pubsub>")
    result = await iq.send(timeout=IQ_TIMEOUT)
    return [i.get("id") for i in result.xml.iter(f"{{{NS_PUBSUB}}}item")]


def pubsub_write(client, channel: str, op: str, node: str, jid: str):
    return client.raw_iq(channel, "set", f"<pubsub xmlns='{NS_PUBSUB}'><{op} node='{node}'><item id='{jid}'/></{op}></pubsub>")


@pytest.mark.usefixtures("mix_pam")
async def test_ban_in_one_view_holds_in_the_other(bed, xmpp):
    """Alice owns a channel and is in it through MIX; Bob is a MUC occupant, Carol a
    MIX participant. Alice bans Bob through MIX-ADMIN (banned node): Bob gets 301
    and may not join through MIX either. Alice bans Carol through muc#admin:
    Carol's MIX client sees her participant item retracted, the banned node
    lists her and her MIX join is refused."""
    alice, bob, carol = await xmpp.connect("alice"), await xmpp.connect("bob"), await xmpp.connect("carol")
    name = await alice.create_channel(bed.main.mix, unique_name("xban"))
    channel, room = f"{name}@{bed.main.mix}", f"{name}@{bed.main.muc}"
    await alice.mix_join(channel, "Alice")
    await carol.mix_join(channel, "Carol")
    bob_log = RoomLog(bob, room)
    entry = await enter(bob, room, "Bob", log=bob_log)
    assert entry.error is None, describe(entry.stanzas)

    # Non-admins: forbidden in the MIX view too.
    assert await carol.iq_error(pubsub_write(carol, channel, "publish", NODE_BANNED, bed.jid("bob"))) == ("auth", "forbidden")
    assert await carol.iq_error(carol.raw_iq(channel, "get", f"<pubsub xmlns='{NS_PUBSUB}'><items node='{NODE_BANNED}'/></pubsub>")) == ("auth", "forbidden")

    await pubsub_write(alice, channel, "publish", NODE_BANNED, bed.jid("bob")).send(timeout=IQ_TIMEOUT)
    gone = (await bob_log.until(leaving("Bob"), what="Bob's ban"))[-1]
    assert codes(gone) == {301, 110}, str(gone)
    assert [JID(j) for j in await muc(alice).get_affiliation_list(room, "outcast", timeout=IQ_TIMEOUT)] == [JID(bed.jid("bob"))]
    with pytest.raises(IqError) as refused:
        await bob.mix_join(channel, "Bob")
    assert refused.value.iq["error"]["condition"] == "forbidden"

    carol_log = RoomLog(carol, channel)
    await muc(alice).set_affiliation(room, "outcast", jid=bed.jid("carol"), timeout=IQ_TIMEOUT)
    got = await carol_log.until(lambda s: kind(s) == "message" and any(e[0] == "retract" for e in participant_events(s)),
                                what="Carol's retraction")
    assert [e for e in participant_events(got[-1]) if e[0] == "retract"], describe(got)
    assert sorted(await banned_node(alice, channel)) == sorted([bed.jid("bob"), bed.jid("carol")])
    people = await alice.plugin["xep_0369"].list_participants(JID(channel), timeout=IQ_TIMEOUT)
    assert {nick for _, nick, _ in people} == {"Alice"}, people
    with pytest.raises(IqError) as refused:
        await carol.mix_join(channel, "Carol")
    assert refused.value.iq["error"]["condition"] == "forbidden"

    # Lifting the ban in the MIX view lets Bob back into the room.
    await pubsub_write(alice, channel, "retract", NODE_BANNED, bed.jid("bob")).send(timeout=IQ_TIMEOUT)
    assert (await enter(bob, room, "Bob")).error is None


# ---------------------------------------------------------------------------
# Differential: the same admin scenario on Prosody's MUC and on mixmuc

async def admin_scenario(t, alice, bob, carol) -> dict:
    room, _ = await open_room(t, alice)
    await enter(bob, room, "Bob", seen_by=[alice])
    await enter(carol, room, "Carol", seen_by=[alice, bob])
    obs: dict = {}
    alice_log, bob_log, carol_log = RoomLog(alice, room), RoomLog(bob, room), RoomLog(carol, room)

    # Membership: re-announced with the new affiliation.
    await muc(alice).set_affiliation(room, "member", jid=bed_jid(carol), timeout=IQ_TIMEOUT)
    seen = (await bob_log.until(lambda s: kind(s) == "presence" and nick_of(s) == "Carol", what="Carol's membership"))[-1]
    obs["member_presence"] = (seen["type"], muc_item(seen)["affiliation"], muc_item(seen)["role"], tuple(sorted(codes(seen))))
    obs["member_list"] = [JID(j).bare for j in await muc(alice).get_affiliation_list(room, "member", timeout=IQ_TIMEOUT)] == [bed_jid(carol)]

    # Voice revoked, then kicked with a reason.
    await muc(alice).set_role(room, "Carol", "visitor", timeout=IQ_TIMEOUT)
    seen = (await bob_log.until(lambda s: kind(s) == "presence" and nick_of(s) == "Carol", what="Carol's voice"))[-1]
    obs["visitor_presence"] = (muc_item(seen)["affiliation"], muc_item(seen)["role"])
    carol.send_message(mto=room, mbody="may I?", mtype="groupchat")
    refused = (await carol_log.until(lambda s: kind(s) == "message" and (is_error(s) or s["body"] == "may I?"),
                                     what="the visitor's message"))[-1]
    obs["visitor_message"] = error(refused)[1] if is_error(refused) else "reflected"
    await muc(alice).set_role(room, "Carol", "none", reason="Out", timeout=IQ_TIMEOUT)
    own = (await carol_log.until(leaving("Carol"), what="Carol's kick"))[-1]
    seen = (await bob_log.until(leaving("Carol"), what="Carol's kick"))[-1]
    obs["kick_codes"] = (sorted(codes(own)), sorted(codes(seen)), reason_of(own), reason_of(seen))

    # Privileges.
    obs["non_admin_ban"] = await iq_condition(muc(bob).set_affiliation(room, "outcast", jid=bed_jid(alice), timeout=IQ_TIMEOUT))
    obs["non_moderator_kick"] = await iq_condition(muc(bob).set_role(room, "Alice", "none", timeout=IQ_TIMEOUT))
    obs["last_owner_steps_down"] = await iq_condition(muc(alice).set_affiliation(room, "member", jid=bed_jid(alice), timeout=IQ_TIMEOUT))
    obs["kick_unknown_nick"] = await iq_condition(muc(alice).set_role(room, "Nobody", "none", timeout=IQ_TIMEOUT))
    obs["non_admin_lists_outcasts"] = await iq_condition(muc(bob).get_affiliation_list(room, "outcast", timeout=IQ_TIMEOUT))
    # Two items in one request: a member and a refused last-owner change.
    status = await iq_condition(muc(alice).send_affiliation_list(room, [(bed_jid(bob), "member"), (bed_jid(alice), "none")], timeout=IQ_TIMEOUT))
    members = {JID(j).bare for j in await muc(alice).get_affiliation_list(room, "member", timeout=IQ_TIMEOUT)}
    obs["two_items_one_refused"] = (status, bed_jid(bob) in members)

    # Ban with a reason.
    await muc(alice).set_affiliation(room, "outcast", jid=bed_jid(bob), reason="Treason", timeout=IQ_TIMEOUT)
    own = (await bob_log.until(leaving("Bob"), what="Bob's ban"))[-1]
    seen = (await alice_log.until(leaving("Bob"), what="Bob's ban"))[-1]
    obs["ban"] = (sorted(codes(own)), sorted(codes(seen)), muc_item(own)["affiliation"], reason_of(own), reason_of(seen))
    obs["ban_actor"] = actor_of(own) is not None
    obs["outcasts"] = [JID(j).bare for j in await muc(alice).get_affiliation_list(room, "outcast", timeout=IQ_TIMEOUT)] == [bed_jid(bob)]
    again = await enter(bob, room, "Bob")
    obs["banned_reenters"] = error(again.error) if again.error is not None else "entered"
    # Last, as Prosody lets Alice kick herself out.
    obs["self_kick"] = await iq_condition(muc(alice).set_role(room, "Alice", "none", timeout=IQ_TIMEOUT))
    for log in (alice_log, bob_log, carol_log):
        log.close()
    return obs


def bed_jid(client) -> str:
    return str(client.boundjid.bare)


async def test_admin_differential(bed, xmpp):
    alice, bob, carol = await xmpp.connect("alice"), await xmpp.connect("bob"), await xmpp.connect("carol")
    obs = {}
    for t in targets(bed):
        obs[t.name] = await admin_scenario(t, alice, bob, carol)
    compare("admin", obs, documented={
        "non_admin_ban": ("not-allowed", "forbidden", "XEP-0045 §9.1 says forbidden for non-admins"),
        "non_moderator_kick": ("not-allowed", "forbidden", "XEP-0045 §8.2 says forbidden for non-moderators"),
        "self_kick": ("result", "conflict", "XEP-0045 §8.2 lets a service refuse a self-kick with conflict"),
        "two_items_one_refused": (("result", True), ("conflict", False),
                                  "Prosody applies only the first item; mixmuc checks every item, then applies all or none"),
    }, variations={
        "ban_actor": "the actor is optional (XEP-0045 MAY)",
    })
