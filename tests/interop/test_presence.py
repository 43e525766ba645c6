"""Presence in both views, with real slixmpp clients on the bed's Prosody.

* MUC (XEP-0045 §7.2, §7.7, §7.14): show, status and payloads (XEP-0115 caps,
  XEP-0153 avatar hash, unknown ones) on entering, on a same-nick update and in
  the exit message, kept for newcomers and across a restart of mixmuc; several
  sessions of one user show the most recently updated one; the same-nick
  update compared with Prosody's own MUC (conference.localhost).
* MIX-PRESENCE (XEP-0403) through contrib's mod_mix_pam (XEP-0405): a client's
  broadcast presence reaches the channels it shares presence with, and comes
  back to subscribers from the proxy JID with <mix xmlns='urn:xmpp:mix:presence:0'>;
  the presence node read with PubSub; MUC occupants in the MIX view and MIX
  participants (show/status, going offline) in the MUC view.
"""

from __future__ import annotations

import asyncio

import pytest
from slixmpp import JID
from slixmpp.xmlstream import ET

from bed import IQ_TIMEOUT, NS_MUC
from test_mix import ALL_NODES, client_join, new_channel, q
from test_muc import (RoomLog, codes, enter, is_error, kind, muc_item, new_room, nick_of, occupant_id)
from test_muc_differential import (compare, label, open_room, run)

NS_CLIENT = "jabber:client"
NS_CAPS = "http://jabber.org/protocol/caps"
NS_VCARD_UPDATE = "vcard-temp:x:update"
NS_MIX_PRESENCE = "urn:xmpp:mix:presence:0"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NODE_PRESENCE = "urn:xmpp:mix:nodes:presence"
CAPS = f"<c xmlns='{NS_CAPS}' hash='sha-1' node='https://mixmuc.example/test' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>"
AVATAR = f"<x xmlns='{NS_VCARD_UPDATE}'><photo>01b87fcd030b72895ff8e88db57ec525450f000d</photo></x>"
UNKNOWN = "<mood xmlns='urn:example:mood'>witchy</mood>"
#: Seconds of silence that count as "nothing more came".
QUIET = 1.5


def show(stanza) -> str | None:
    e = stanza.xml.find(f"{{{NS_CLIENT}}}show")
    return None if e is None else (e.text or "")


def status(stanza) -> str | None:
    e = stanza.xml.find(f"{{{NS_CLIENT}}}status")
    return None if e is None else (e.text or "")


TEST_CAPS_VER = "QgayPKawpkPSDYmwT/WM94uAlu0="
TEST_PHOTO = "01b87fcd030b72895ff8e88db57ec525450f000d"


def extensions(stanza) -> list[str]:
    """Which of the test's own payloads a presence carries: its caps (clients
    add their own <c/>, Prosody an empty avatar update: not these), its avatar
    hash, the unknown payload."""
    found = []
    if any(c.get("ver") == TEST_CAPS_VER for c in stanza.xml.findall(f"{{{NS_CAPS}}}c")):
        found.append(NS_CAPS)
    if any((ph.text or "") == TEST_PHOTO for ph in stanza.xml.findall(f"{{{NS_VCARD_UPDATE}}}x/{{{NS_VCARD_UPDATE}}}photo")):
        found.append(NS_VCARD_UPDATE)
    if stanza.xml.find("{urn:example:mood}mood") is not None:
        found.append("urn:example:mood")
    return found


def send_presence(client, to: str, *, ptype=None, pshow=None, pstatus=None, extra: str = "") -> None:
    p = client.make_presence(pto=to, ptype=ptype, pshow=pshow, pstatus=pstatus)
    for xml in filter(None, extra.split("|")):
        p.append(ET.fromstring(xml))
    p.send()


def presence_from(nick: str, *, unavailable: bool | None = None):
    def pred(s):
        if kind(s) != "presence" or nick_of(s) != nick:
            return False
        return unavailable is None or (s["type"] == "unavailable") == unavailable
    return pred


# ---------------------------------------------------------------------------
# MUC

async def test_occupant_presence_on_entering_updating_and_leaving(bed, xmpp):
    alice, bob, carol = [await xmpp.connect(u) for u in ("alice", "bob", "carol")]
    room, _ = await new_room(bed, alice, "Alice", prefix="pres")
    alice_log = RoomLog(alice, room)
    # Entering with show, status, caps, avatar hash and an unknown payload.
    bob_log = RoomLog(bob, room)
    join = bob.plugin["xep_0045"].make_join_stanza(JID(room), "Bob", presence_options={"pshow": "dnd", "pstatus": "Brewing"})
    for xml in (CAPS, AVATAR, UNKNOWN):
        join.append(ET.fromstring(xml))
    join.send()
    own = (await bob_log.until(lambda s: kind(s) == "presence" and 110 in codes(s), what="self-presence"))[-1]
    seen = (await alice_log.until(presence_from("Bob"), what="Bob entering"))[-1]
    for p in (own, seen):
        assert (show(p), status(p)) == ("dnd", "Brewing"), p
        assert extensions(p) == [NS_CAPS, NS_VCARD_UPDATE, "urn:example:mood"], p
        assert p.xml.find(f"{{{NS_MUC}}}x") is None, "the client's <x xmlns=muc> is not reflected"
    bob_id = occupant_id(seen)

    # A same-nick update: everyone sees it, Bob with 110.
    send_presence(bob, f"{room}/Bob", pshow="away", pstatus="Gathering herbs", extra=CAPS)
    own = (await bob_log.until(presence_from("Bob"), what="own update"))[-1]
    seen = (await alice_log.until(presence_from("Bob"), what="Bob's update"))[-1]
    assert 110 in codes(own) and 110 not in codes(seen)
    for p in (own, seen):
        assert (p["type"], show(p), status(p), extensions(p)) == ("away", "away", "Gathering herbs", [NS_CAPS]), p
        assert occupant_id(p) == bob_id and muc_item(p)["role"] == "participant"

    # A newcomer sees Bob's current presence.
    entry = await enter(carol, room, "Carol")
    bob_seen = [p for p in entry.others if nick_of(p) == "Bob"]
    assert [(show(p), status(p)) for p in bob_seen] == [("away", "Gathering herbs")], entry.others

    # The exit message reaches the others.
    alice_log.drain()
    send_presence(bob, f"{room}/Bob", ptype="unavailable", pstatus="gone where the goblins go")
    gone = (await alice_log.until(presence_from("Bob"), what="Bob leaving"))[-1]
    assert (gone["type"], status(gone)) == ("unavailable", "gone where the goblins go")


@pytest.mark.deadline(120)
async def test_occupant_presence_survives_a_restart(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    room, _ = await new_room(bed, alice, "Alice", prefix="prest")
    await enter(bob, room, "Bob", pshow="xa", pstatus="Asleep in the cauldron")
    log = RoomLog(bob, room)
    send_presence(bob, f"{room}/Bob", pshow="dnd", pstatus="Stirring")
    await log.until(presence_from("Bob"), what="own update")
    await asyncio.to_thread(bed.mixmuc_restart, "main")
    carol = await xmpp.connect("carol")
    entry = await enter(carol, room, "Carol")
    shown = {nick_of(p): (show(p), status(p)) for p in entry.others}
    assert shown == {"Alice": (None, None), "Bob": ("dnd", "Stirring")}, entry.others


async def test_several_sessions_show_the_most_recently_updated(bed, xmpp):
    alice = await xmpp.connect("alice")
    bob1, bob2 = await xmpp.connect("bob"), await xmpp.connect("bob")
    room, _ = await new_room(bed, alice, "Alice", prefix="pres2")
    await enter(bob1, room, "Bob", seen_by=[alice])
    await enter(bob2, room, "Bob")
    log = RoomLog(alice, room)
    send_presence(bob2, f"{room}/Bob", pshow="away")
    assert show((await log.until(presence_from("Bob"), what="bob2's update"))[-1]) == "away"
    send_presence(bob1, f"{room}/Bob", pshow="dnd")
    assert show((await log.until(presence_from("Bob"), what="bob1's update"))[-1]) == "dnd"
    carol = await xmpp.connect("carol")
    entry = await enter(carol, room, "Carol")
    assert [show(p) for p in entry.others if nick_of(p) == "Bob"] == ["dnd"]


# ---------------------------------------------------------------------------
# Differential: a same-nick update against Prosody's MUC

async def presence_update(t, alice, bob, carol) -> dict:
    room, _ = await open_room(t, alice)
    first = await enter(bob, room, "Bob", seen_by=[alice])
    alice_log, bob_log = RoomLog(alice, room), RoomLog(bob, room)
    send_presence(bob, f"{room}/Bob", pshow="away", pstatus="Gathering herbs", extra=f"{CAPS}|{AVATAR}")
    own = (await bob_log.until(presence_from("Bob"), what="own update"))[-1]
    seen = (await alice_log.until(presence_from("Bob"), what="Bob's update"))[-1]
    obs = {}
    for who, p in (("self", own), ("others", seen)):
        item = muc_item(p) or {}
        obs[who] = label(p)
        obs[f"{who}_show_status"] = (show(p), status(p))
        obs[f"{who}_extensions"] = extensions(p)
        obs[f"{who}_item"] = (item.get("affiliation"), item.get("role"), JID(item.get("jid", "")) == bob.boundjid)
        obs[f"{who}_occupant_id_kept"] = occupant_id(p) == first.occupant_id
    obs["nothing_else"] = [label(s) for s in await alice_log.settle(QUIET)]
    entry = await enter(carol, room, "Carol")
    obs["newcomer_sees"] = [(show(p), status(p), extensions(p)) for p in entry.others if nick_of(p) == "Bob"]
    send_presence(bob, f"{room}/Bob")
    back = (await alice_log.until(presence_from("Bob"), what="Bob back"))[-1]
    obs["back_to_available"] = (back["type"], show(back), status(back))
    return obs


async def test_same_nick_presence_update_like_prosody(bed, xmpp):
    alice, bob, carol = [await xmpp.connect(u) for u in ("alice", "bob", "carol")]
    compare("same-nick presence update", await run(bed, presence_update, alice, bob, carol))


# ---------------------------------------------------------------------------
# MIX-PRESENCE through mod_mix_pam

async def presence_items(client, channel: str) -> dict[str, object]:
    """The presence node read with PubSub: item id -> its <presence/>."""
    iq = client.raw_iq(channel, "get", f"<pubsub xmlns='{NS_PUBSUB}'><items node='{NODE_PRESENCE}'/></pubsub>")
    result = await iq.send(timeout=IQ_TIMEOUT)
    items = result.xml.findall(q(NS_PUBSUB, "pubsub", "items", "item"))
    return {i.get("id"): i.find(f"{{{NS_CLIENT}}}presence") for i in items}


def from_channel(channel: str, who=None, *, unavailable: bool = False):
    """A presence from CHANNEL's proxy JIDs (<id>#<channel>@mix/...) about WHO's client."""
    node, domain = channel.split("@")

    def pred(p):
        frm = p["from"]
        if frm.domain != domain or not frm.user.endswith(f"#{node}"):
            return False
        if (p["type"] == "unavailable") != unavailable:
            return False
        jid = p.xml.find(q(NS_MIX_PRESENCE, "mix", "jid"))
        return who is None or (jid is not None and JID(jid.text) == who.boundjid)
    return pred


async def next_presence(queue: asyncio.Queue, pred, what: str, timeout: float = IQ_TIMEOUT):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = []
    while True:
        try:
            p = await asyncio.wait_for(queue.get(), max(deadline - loop.time(), 0.01))
        except asyncio.TimeoutError:
            raise AssertionError(f"no {what} within {timeout}s; saw: {[str(s) for s in seen]}") from None
        seen.append(p)
        if pred(p):
            return p


@pytest.mark.usefixtures("mix_pam")
@pytest.mark.deadline(90)
async def test_mix_presence_through_the_participants_server_and_the_muc_view(bed, xmpp):
    alice, bob, carol = [await xmpp.connect(u) for u in ("alice", "bob", "carol")]
    channel = await new_channel(bed, alice, "mixpres")
    room = channel.replace(f"@{bed.main.mix}", f"@{bed.main.muc}")
    alice_presence = alice.queue("presence")
    join = await client_join(alice, channel, "Alice", nodes=ALL_NODES | {NODE_PRESENCE})
    assert NODE_PRESENCE in {s.get("node") for s in join.findall(q("urn:xmpp:mix:core:1", "subscribe"))}
    join = await client_join(bob, channel, "Bob", nodes=ALL_NODES | {NODE_PRESENCE})
    bob_pid = join.get("id")

    # Bob's client sets its status; his server shares it with the channel,
    # which sends it to Alice from Bob's proxy JID (XEP-0403 listings 2-4).
    bob.send_presence(pshow="dnd", pstatus="Making a Brew")
    p = await next_presence(alice_presence, lambda p: from_channel(channel, bob)(p) and show(p) == "dnd",
                            "Bob's presence through the channel")
    # The proxy full JID's resource is the session's opaque token in every
    # mode (so a mode change never renames it); a JID-visible channel
    # shows the real full JID in <jid/>.
    assert p["from"].user == f"{bob_pid}#{channel.split('@')[0]}" and p["from"].resource not in ("", bob.boundjid.resource)
    assert p.xml.find(q(NS_MIX_PRESENCE, "mix", "jid")).text == str(bob.boundjid)
    assert (status(p), p.xml.find(q(NS_MIX_PRESENCE, "mix", "nick")).text) == ("Making a Brew", "Bob")

    # The presence node, read with PubSub, has an item for Bob's client.
    items = await presence_items(alice, channel)
    key = f"{bob_pid}#{channel}/{p['from'].resource}"
    assert key in items, items.keys()
    assert items[key].find(f"{{{NS_CLIENT}}}show").text == "dnd"

    # A MUC occupant sees Bob (and Alice, whose presence her server shared on joining).
    entry = await enter(carol, room, "Carol")
    shown = {nick_of(p): (show(p), status(p)) for p in entry.others}
    assert shown.get("Bob") == ("dnd", "Making a Brew"), shown
    assert "Alice" in shown, shown
    assert all(occupant_id(p) for p in entry.others)

    # Bob changes his status: Carol sees it as an occupant presence.
    carol_log = RoomLog(carol, room)
    bob.send_presence(pshow="away", pstatus="Gathering herbs")
    seen = (await carol_log.until(lambda s: presence_from("Bob")(s) and show(s) == "away", what="Bob's update"))[-1]
    assert status(seen) == "Gathering herbs" and not is_error(seen)

    # Carol's MUC presence change reaches Alice as MIX presence from Carol's proxy JID.
    send_presence(carol, f"{room}/Carol", pshow="chat", pstatus="Here", extra=CAPS)
    p = await next_presence(alice_presence, lambda p: from_channel(channel, carol)(p) and show(p) == "chat",
                            "Carol's MUC presence in the MIX view")
    assert (status(p), p.xml.find(q(NS_MIX_PRESENCE, "mix", "nick")).text) == ("Here", "Carol")
    assert extensions(p) == [NS_CAPS]

    # Bob goes offline: the MUC view loses him, the MIX view gets unavailable.
    await bob.stop()
    gone = (await carol_log.until(presence_from("Bob", unavailable=True), what="Bob going offline"))[-1]
    assert gone["type"] == "unavailable"
    await next_presence(alice_presence, from_channel(channel, bob, unavailable=True), "Bob's unavailable")
    assert key not in await presence_items(alice, channel)

    # Carol leaves the room: unavailable from her proxy JID.
    send_presence(carol, f"{room}/Carol", ptype="unavailable")
    await next_presence(alice_presence, from_channel(channel, carol, unavailable=True), "Carol's unavailable")


@pytest.mark.usefixtures("mix_pam")
async def test_participants_server_asks_for_the_presence_it_does_not_have(bed, xmpp):
    """XEP-0405 2.9.3: a resource comes online and mod_mix_pam has nothing for a
    channel the user shares presence with: it asks the channel (available presence
    from the bare JID), and the channel's answer brings who is online."""
    alice, carol = await xmpp.connect("alice"), await xmpp.connect("carol")
    channel = await new_channel(bed, alice, "refresh")
    room = channel.replace(f"@{bed.main.mix}", f"@{bed.main.muc}")
    await enter(carol, room, "Carol", pshow="chat", pstatus="Here")
    dave = await xmpp.connect("dave", presence=False)
    # Joined without the presence node, then again with it: a repeated join gets no
    # presence from the channel, so the server has none for it.
    await client_join(dave, channel, "Dave", nodes=ALL_NODES)
    await client_join(dave, channel, "Dave", nodes=ALL_NODES | {NODE_PRESENCE})
    queue = dave.queue("presence")
    dave.send_presence()
    p = await next_presence(queue, from_channel(channel, carol), "Carol's presence after the refresh")
    assert (show(p), status(p)) == ("chat", "Here")
