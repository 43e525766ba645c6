"""MIX and MUC in one channel (XEP-0408, docs/muc.md "How the two views see each other").

Bob is a MUC-only client (slixmpp xep_0045) in coven@muc.localhost; Alice is a
MIX client (slixmpp xep_0369/xep_0405) that joined coven@mix.localhost through
her own server (contrib's mod_mix_pam on the bed's Prosody). They must see each
other arrive, change nick and go, talk both ways, and find the same archive ids
in both views.
"""

from __future__ import annotations

import pytest
from slixmpp import JID
from slixmpp.xmlstream import ET

from bed import IQ_TIMEOUT, IqError, NS_MIX_CORE, NS_MIX_PAM, unique_name
from test_muc import (RoomLog, body, codes, describe, enter, error, has_destroy, kind, mam_all, muc_item,
                      nick_of, occupant_id, room_stanza_id, say)

pytestmark = pytest.mark.usefixtures("mix_pam")

NS_PUBSUB_EVENT = "http://jabber.org/protocol/pubsub#event"
NODE_PARTICIPANTS = "urn:xmpp:mix:nodes:participants"


class Mixed:
    """One channel with Alice (MIX, via her server) and Bob (MUC)."""

    def __init__(self, bed, alice, bob, name: str):
        self.bed, self.alice, self.bob = bed, alice, bob
        self.name = name
        self.channel = f"{name}@{bed.main.mix}"
        self.room = f"{name}@{bed.main.muc}"

    async def participants(self, client=None) -> dict[str, tuple[str, str | None]]:
        """The MIX participants node as CLIENT sees it: nick -> (participant id, jid)."""
        client = client or self.alice
        items = await client.plugin["xep_0369"].list_participants(JID(self.channel), timeout=IQ_TIMEOUT)
        return {nick: (item_id.split("#", 1)[0], str(jid) if jid else None) for item_id, nick, jid in items}


async def mixed(bed, xmpp, prefix: str) -> Mixed:
    alice = await xmpp.connect("alice")
    bob = await xmpp.connect("bob")
    name = await alice.create_channel(bed.main.mix, unique_name(prefix))
    return Mixed(bed, alice, bob, name)


def participant_events(msg) -> list[tuple[str, str, str | None]]:
    """('publish'|'retract', item id, nick) for each participants-node item of a PubSub event."""
    out = []
    event = msg.xml.find(f"{{{NS_PUBSUB_EVENT}}}event")
    if event is None:
        return out
    for items in event.findall(f"{{{NS_PUBSUB_EVENT}}}items"):
        if items.get("node") != NODE_PARTICIPANTS:
            continue
        for item in items:
            action = item.tag.rpartition("}")[2]
            if action == "item":
                nick = item.find(f"{{{NS_MIX_CORE}}}participant/{{{NS_MIX_CORE}}}nick")
                out.append(("publish", item.get("id"), None if nick is None else nick.text))
            elif action == "retract":
                out.append(("retract", item.get("id"), None))
    return out


async def participant_event(log: RoomLog, pred, what: str):
    """The next participants-node event on LOG (a RoomLog on the MIX channel) PRED accepts."""
    got = await log.until(lambda s: kind(s) == "message" and any(pred(e) for e in participant_events(s)),
                          what=what)
    return [e for e in participant_events(got[-1]) if pred(e)][0]


def mix_field(msg, name: str) -> str | None:
    e = msg.xml.find(f"{{{NS_MIX_CORE}}}mix/{{{NS_MIX_CORE}}}{name}")
    return None if e is None else e.text


async def test_mix_participant_appears_as_occupant(bed, xmpp):
    """Bob is in the room; when Alice joins through MIX with a nick, Bob gets her
    presence as an occupant (owner/moderator, her bare JID, occupant-id = her
    participant id), and Alice's participants node lists Bob."""
    m = await mixed(bed, xmpp, "arrive")
    first = await enter(m.bob, m.room, "Bob")
    assert first.error is None, describe(first.stanzas)
    bob_log = RoomLog(m.bob, m.room)

    await m.alice.mix_join(m.channel, "Alice")
    arrived = (await bob_log.until(lambda s: kind(s) == "presence", what="Alice's presence"))[-1]
    assert arrived["from"] == JID(f"{m.room}/Alice") and arrived["type"] == "available", str(arrived)
    assert 110 not in codes(arrived)
    item = muc_item(arrived)
    assert (item["affiliation"], item["role"]) == ("owner", "moderator"), str(arrived)
    assert JID(item["jid"]) == JID(bed.jid("alice")), str(arrived)

    people = await m.participants()
    assert set(people) == {"Alice", "Bob"}, people
    assert people["Bob"][1] == bed.jid("bob") and people["Alice"][1] == bed.jid("alice")
    assert occupant_id(arrived) == people["Alice"][0], "occupant-id is the participant id (docs/muc.md)"
    assert first.occupant_id == people["Bob"][0]


async def test_mix_participant_without_nick_appears_when_nick_set(bed, xmpp):
    """A MIX participant without a nick is invisible in the MUC view; it appears as
    an occupant when it sets its nick (docs/muc.md)."""
    m = await mixed(bed, xmpp, "nonick")
    entry = await enter(m.bob, m.room, "Bob")
    bob_log = RoomLog(m.bob, m.room)

    # client-join with no <nick/> (slixmpp's join_channel always sends one).
    iq = m.alice.make_iq_set(ito=m.alice.boundjid.bare)
    subscribe = "".join(f"<subscribe node='urn:xmpp:mix:nodes:{n}'/>" for n in ("messages", "participants"))
    iq.append(ET.fromstring(f"<client-join xmlns='{NS_MIX_PAM}' channel='{m.channel}'>"
                            f"<join xmlns='{NS_MIX_CORE}'>{subscribe}</join></client-join>"))
    await iq.send(timeout=IQ_TIMEOUT)
    assert [s for s in await bob_log.settle() if kind(s) == "presence"] == []
    assert len(await m.participants(m.alice)) == 2  # Bob, and Alice without a nick

    assert await m.alice.plugin["xep_0369"].set_nick(JID(m.channel), "Alice", timeout=IQ_TIMEOUT) == "Alice"
    arrived = (await bob_log.until(lambda s: kind(s) == "presence", what="Alice's presence"))[-1]
    assert arrived["from"] == JID(f"{m.room}/Alice") and arrived["type"] == "available", str(arrived)
    assert codes(arrived) == set(), "a newcomer, not a nick change"
    assert occupant_id(arrived) and occupant_id(arrived) != entry.occupant_id


async def test_muc_occupant_appears_as_participant(bed, xmpp):
    """Alice is in the channel through MIX; Bob entering the room is published on the
    participants node, and Alice is among the occupants Bob sees on entering."""
    m = await mixed(bed, xmpp, "arrive2")
    await m.alice.mix_join(m.channel, "Alice")
    alice_log = RoomLog(m.alice, m.channel)

    entry = await enter(m.bob, m.room, "Bob")
    assert entry.error is None, describe(entry.stanzas)
    assert [nick_of(p) for p in entry.others] == ["Alice"], describe(entry.stanzas)
    event = await participant_event(alice_log, lambda e: e[0] == "publish" and e[2] == "Bob", "Bob's item")
    people = await m.participants()
    assert event[1] == f"{people['Bob'][0]}#{m.channel}", event
    assert people["Bob"] == (entry.occupant_id, bed.jid("bob")), people


async def test_messages_both_ways_share_archive_ids(bed, xmpp):
    """Bob's groupchat reaches Alice as a MIX message (mix_message fires) whose id is
    the stanza-id Bob's echo carries; Alice's MIX message reaches Bob as a groupchat
    (groupchat_message fires) with her id kept and her MIX message id as stanza-id."""
    m = await mixed(bed, xmpp, "talk")
    await m.alice.mix_join(m.channel, "Alice")
    await enter(m.bob, m.room, "Bob")
    people = await m.participants()
    bob_mix_log = RoomLog(m.bob, m.channel)  # a MUC-only user gets nothing from the MIX domain
    m.alice.queue("mix_message")
    m.bob.queue("groupchat_message")

    sent = m.bob.make_message(mto=m.room, mbody="from the room", mtype="groupchat")
    sent["id"] = "bob-1"
    sent.send()
    echo = await m.bob.next("groupchat_message")
    assert echo["id"] == "bob-1" and echo["from"] == JID(f"{m.room}/Bob"), str(echo)
    archive_id = room_stanza_id(echo, m.room)
    assert archive_id, str(echo)
    got = await m.alice.next("mix_message")
    assert got["body"] == "from the room", str(got)
    assert got["from"] == JID(f"{m.channel}/{people['Bob'][0]}"), str(got)
    assert mix_field(got, "nick") == "Bob" and mix_field(got, "jid") == bed.jid("bob"), str(got)
    assert got["id"] == archive_id, "the MIX message id is the MUC stanza-id"
    assert room_stanza_id(got, m.channel) == archive_id, str(got)
    assert mix_field(got, "submission-id") is None, "only the sender's own MIX copy names its submission"

    sent = m.alice.make_message(mto=m.channel, mbody="from the channel", mtype="groupchat")
    sent["id"] = "alice-1"
    sent.send()
    own = await m.alice.next("mix_message")
    assert own["body"] == "from the channel" and mix_field(own, "submission-id") == "alice-1", str(own)
    seen = await m.bob.next("groupchat_message")
    assert seen["body"] == "from the channel", str(seen)
    assert seen["from"] == JID(f"{m.room}/Alice"), str(seen)
    assert seen["id"] == "alice-1", "the MUC view keeps the sender's id"
    assert room_stanza_id(seen, m.room) == own["id"], "the MUC stanza-id is the MIX message id"
    assert occupant_id(seen) == people["Alice"][0]

    assert await bob_mix_log.settle() == []


async def test_mam_on_both_domains_returns_the_same_ids(bed, xmpp):
    """MAM on coven@mix and on coven@muc: the same messages, the same ids, in order."""
    m = await mixed(bed, xmpp, "archive")
    await m.alice.mix_join(m.channel, "Alice")
    await enter(m.bob, m.room, "Bob")
    log = RoomLog(m.bob, m.room)
    m.alice.queue("mix_message")
    live = []
    for n in range(4):
        if n % 2:
            echo, _ = await say(m.bob, m.room, f"muc {n}", log=log)
        else:
            m.alice.send_message(mto=m.channel, mbody=f"mix {n}", mtype="groupchat")
            echo = (await log.until(lambda s: body(s) == f"mix {n}"))[-1]
        live.append(room_stanza_id(echo, m.room))

    muc_rows = await mam_all(m.bob, m.room, page=3)
    assert [i for i, _ in muc_rows] == live
    mix = await m.alice.plugin["xep_0313"].retrieve(jid=JID(m.channel), rsm={"max": 50}, timeout=IQ_TIMEOUT)
    mix_ids = [r["mam_result"]["id"] for r in mix["mam"]["results"]]
    assert mix_ids == live
    for r in mix["mam"]["results"]:
        fwd = r["mam_result"]["forwarded"]["stanza"]
        assert fwd["from"].bare == JID(m.channel).bare and fwd.xml.find(f"{{{NS_MIX_CORE}}}mix") is not None, str(fwd)
    for (_, fwd), n in zip(muc_rows, range(4)):
        assert nick_of(fwd) == ("Bob" if n % 2 else "Alice"), str(fwd)


async def test_muc_nick_change_shows_in_mix(bed, xmpp):
    """Bob's MUC nick change (303) updates his item on the participants node."""
    m = await mixed(bed, xmpp, "renick")
    await m.alice.mix_join(m.channel, "Alice")
    entry = await enter(m.bob, m.room, "Bob")
    alice_log = RoomLog(m.alice, m.channel)

    assert await m.bob.plugin["xep_0045"].set_self_nick(JID(m.room), "Robert", timeout=IQ_TIMEOUT) == "Robert"
    event = await participant_event(alice_log, lambda e: e[0] == "publish" and e[2] == "Robert", "Robert's item")
    assert event[1].split("#")[0] == entry.occupant_id
    people = await m.participants()
    assert set(people) == {"Alice", "Robert"} and people["Robert"][1] == bed.jid("bob"), people

    m.alice.queue("mix_message")
    await say(m.bob, m.room, "renamed")
    got = await m.alice.next("mix_message")
    assert mix_field(got, "nick") == "Robert", str(got)


async def test_mix_nick_change_and_leave_show_in_muc(bed, xmpp):
    """Alice's MIX setnick is a 303 for Bob; her MIX leave is her unavailable presence."""
    m = await mixed(bed, xmpp, "mixrenick")
    await m.alice.mix_join(m.channel, "Alice")
    await enter(m.bob, m.room, "Bob")
    log = RoomLog(m.bob, m.room)

    assert await m.alice.plugin["xep_0369"].set_nick(JID(m.channel), "Ally", timeout=IQ_TIMEOUT) == "Ally"
    got = await log.until(lambda s: kind(s) == "presence" and s["type"] != "unavailable", what="Ally's presence")
    assert [(s["type"], nick_of(s)) for s in got] == [("unavailable", "Alice"), ("available", "Ally")], describe(got)
    assert codes(got[0]) == {303} and muc_item(got[0]).get("nick") == "Ally", str(got[0])
    assert occupant_id(got[0]) == occupant_id(got[1])

    await m.alice.mix_leave(m.channel)
    gone = (await log.until(lambda s: kind(s) == "presence", what="Ally leaving"))[-1]
    assert gone["type"] == "unavailable" and nick_of(gone) == "Ally", str(gone)
    assert muc_item(gone)["role"] == "none", str(gone)


async def test_nick_conflicts_across_views(bed, xmpp):
    """One nick namespace: MUC nicks taken by MIX participants and the reverse are
    conflicts, case-insensitively."""
    m = await mixed(bed, xmpp, "clash")
    await m.alice.mix_join(m.channel, "Alice")
    await enter(m.bob, m.room, "Bob")
    carol = await xmpp.connect("carol")
    dave = await xmpp.connect("dave")

    # MUC -> a MIX participant's nick: entering and changing nick.
    refused = await enter(carol, m.room, "ALICE")
    assert refused.error is not None and error(refused.error)[1] == "conflict", describe(refused.stanzas)
    log = RoomLog(m.bob, m.room)
    m.bob.send_presence(pto=f"{m.room}/alice")
    answer = (await log.until(lambda s: kind(s) == "presence"))[-1]
    assert answer["type"] == "error" and error(answer)[1] == "conflict", str(answer)

    # MIX -> a MUC occupant's nick: setnick, and a join with that nick.
    with pytest.raises(IqError) as err:
        await m.alice.plugin["xep_0369"].set_nick(JID(m.channel), "bob", timeout=IQ_TIMEOUT)
    assert err.value.iq["error"]["condition"] == "conflict", str(err.value.iq)
    with pytest.raises(IqError) as err:
        await dave.mix_join(m.channel, "BOB")
    assert err.value.iq["error"]["condition"] == "conflict", str(err.value.iq)

    assert set(await m.participants()) == {"Alice", "Bob"}


async def test_muc_leave_removes_participant(bed, xmpp):
    """Bob leaving the room (his last session) retracts his participants-node item."""
    m = await mixed(bed, xmpp, "muclave")
    await m.alice.mix_join(m.channel, "Alice")
    entry = await enter(m.bob, m.room, "Bob")
    alice_log = RoomLog(m.alice, m.channel)

    m.bob.plugin["xep_0045"].leave_muc(JID(m.room), "Bob")
    event = await participant_event(alice_log, lambda e: e[0] == "retract", "Bob's retraction")
    assert event[1] == f"{entry.occupant_id}#{m.channel}", event
    assert set(await m.participants()) == {"Alice"}


async def test_mix_destroy_tells_muc_occupants(bed, xmpp):
    """A MIX destroy removes Bob from the room: unavailable presence with 110 and
    <destroy/> (XEP-0045 §10.9); the room is gone from the MUC domain."""
    m = await mixed(bed, xmpp, "destroy")
    await m.alice.mix_join(m.channel, "Alice")
    await enter(m.bob, m.room, "Bob")
    log = RoomLog(m.bob, m.room)

    iq = m.alice.raw_iq(bed.main.mix, "set", f"<destroy xmlns='{NS_MIX_CORE}' channel='{m.name}'/>")
    await iq.send(timeout=IQ_TIMEOUT)
    gone = (await log.until(lambda s: kind(s) == "presence", what="the destroy presence"))[-1]
    assert gone["type"] == "unavailable" and gone["from"] == JID(f"{m.room}/Bob"), str(gone)
    assert has_destroy(gone) and 110 in codes(gone), str(gone)
    assert muc_item(gone)["role"] == "none", str(gone)

    with pytest.raises(IqError) as err:
        await m.bob.plugin["xep_0030"].get_info(jid=m.room, timeout=IQ_TIMEOUT, cached=False)
    assert err.value.iq["error"]["condition"] == "item-not-found"
    m.bob.send_message(mto=m.room, mbody="anyone?", mtype="groupchat")
    answer = (await log.until(lambda s: kind(s) == "message"))[-1]
    assert answer["type"] == "error", str(answer)


async def test_mix_destroy_sends_no_mix_events_to_muc_only_user(bed, xmpp):
    """Bob never joined through MIX and subscribed to no MIX node: the destroy must
    reach him as MUC (the <destroy/> presence) only, not as a PubSub retraction
    from coven@mix to his bare JID."""
    m = await mixed(bed, xmpp, "destroy2")
    await m.alice.mix_join(m.channel, "Alice")
    await enter(m.bob, m.room, "Bob")
    room_log = RoomLog(m.bob, m.room)
    mix_log = RoomLog(m.bob, m.channel)

    iq = m.alice.raw_iq(bed.main.mix, "set", f"<destroy xmlns='{NS_MIX_CORE}' channel='{m.name}'/>")
    await iq.send(timeout=IQ_TIMEOUT)
    await room_log.until(lambda s: kind(s) == "presence" and has_destroy(s), what="the destroy presence")
    stray = await mix_log.settle()
    assert stray == [], "a MUC-only user got MIX traffic:\n" + describe(stray)
