"""MIX-ANON (XEP-0404) with real clients: slixmpp's xep_0404 plugin (user
preferences), xep_0060 (the info and JID map nodes) and xep_0045 (a MUC
occupant of the same room), through Prosody and contrib's mod_mix_pam.

One channel made jid-maybe-visible by its owner through the info node: a
participant who joined with the preference `always` is shown to a MUC
occupant, one with the default preference is not; the JID map is for the
owner only; a participant's 'Private Messages' preference `block` refuses a
MUC occupant's private message; a switch to jid-visible removes the
participant whose preference is `never` and nobody but it hears its JID.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

import pytest
from slixmpp import JID
from slixmpp.exceptions import IqError

from bed import IQ_TIMEOUT, NS_MIX_CORE, NS_MIX_PAM
from test_mix import error_of, new_channel, q
from test_muc import RoomLog, codes, enter, kind, muc_item, nick_of

pytestmark = pytest.mark.usefixtures("mix_pam")

NS_ANON = "urn:xmpp:mix:anon:0"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_DATA = "jabber:x:data"
NODE_MESSAGES = "urn:xmpp:mix:nodes:messages"
NODE_PARTICIPANTS = "urn:xmpp:mix:nodes:participants"
NODE_INFO = "urn:xmpp:mix:nodes:info"
NODE_JIDMAP = "urn:xmpp:mix:nodes:jidmap"


def form_xml(form_type: str, ftype: str, fields: dict[str, str]) -> str:
    f = "".join(f"<field var={quoteattr(k)}><value>{v}</value></field>" for k, v in fields.items())
    return (f"<x xmlns='{NS_DATA}' type='{ftype}'><field var='FORM_TYPE' type='hidden'>"
            f"<value>{form_type}</value></field>{f}</x>")


def form_values(x) -> dict[str, str]:
    return {f.get("var"): (f.findtext(f"{{{NS_DATA}}}value") or "") for f in x.findall(f"{{{NS_DATA}}}field")
            if f.get("var") != "FORM_TYPE"}


async def join_with_prefs(client, channel: str, nick: str, prefs: dict[str, str]):
    """XEP-0405 client-join whose <join/> carries a XEP-0404 preference form;
    returns the inner <join/> of the result."""
    subs = "".join(f"<subscribe node='{n}'/>" for n in (NODE_MESSAGES, NODE_PARTICIPANTS))
    form = form_xml(NS_ANON, "submit", prefs) if prefs else ""
    iq = client.raw_iq(client.boundjid.bare, "set",
                       f"<client-join xmlns='{NS_MIX_PAM}' channel={quoteattr(channel)}>"
                       f"<join xmlns='{NS_MIX_CORE}'><nick>{nick}</nick>{subs}{form}</join></client-join>")
    result = await iq.send(timeout=IQ_TIMEOUT)
    return result.xml.find(q(NS_MIX_PAM, "client-join") + "/" + q(NS_MIX_CORE, "join"))


async def set_mode(owner, channel: str, mode: str):
    """Publish the info node's item with a new JID Visibility."""
    item = f"<item>{form_xml(NS_MIX_CORE, 'submit', {'JID Visibility': mode})}</item>"
    return await owner.raw_iq(channel, "set", f"<pubsub xmlns='{NS_PUBSUB}'><publish node='{NODE_INFO}'>{item}</publish></pubsub>").send(timeout=IQ_TIMEOUT)


async def node_items(client, channel: str, node: str):
    return await client.plugin["xep_0060"].get_items(JID(channel), node, timeout=IQ_TIMEOUT)


@pytest.mark.deadline(90)
async def test_modes_preferences_and_jid_map_in_both_views(bed, xmpp):
    alice, bob, dave, carol = [await xmpp.connect(u) for u in ("alice", "bob", "dave", "carol")]
    channel = await new_channel(bed, alice, "anon")
    room = channel.replace(f"@{bed.main.mix}", f"@{bed.main.muc}")

    # The owner (a participant too) sets the mode through the info node; the node says so.
    await join_with_prefs(alice, channel, "Alice", {})
    await set_mode(alice, channel, "jid-maybe-visible")
    info = await node_items(alice, channel, NODE_INFO)
    x = info.xml.find(f".//{{{NS_DATA}}}x")
    assert form_values(x)["JID Visibility"] == "jid-maybe-visible"

    # Bob joins asking to be shown; the result lists every preference.
    join = await join_with_prefs(bob, channel, "Bob", {"JID Visibility": "always"})
    prefs = form_values(join.find(f"{{{NS_DATA}}}x"))
    assert prefs == {"JID Visibility": "always", "Private Messages": "allow", "vCard": "allow", "Presence": "share"}, prefs

    # Dave joins plainly, reads the template with the xep_0404 plugin and blocks private messages.
    await join_with_prefs(dave, channel, "Dave", {})
    template = await dave.plugin["xep_0404"].get_preferences(JID(channel), timeout=IQ_TIMEOUT)
    assert template["type"] == "form"
    fields = template.get_fields()
    assert [o["value"] for o in fields["JID Visibility"]["options"]] == ["default", "never", "always", "prefer not"]
    assert fields["JID Visibility"]["value"] == "default"
    # (The set is written by hand: slixmpp 1.17's set_preferences assigns the
    # form to a plugin attribute, which sends an empty form.)
    submit = form_xml(NS_ANON, "submit", {"Private Messages": "block"})
    result = await dave.raw_iq(channel, "set", f"<user-preference xmlns='{NS_ANON}'>{submit}</user-preference>").send(timeout=IQ_TIMEOUT)
    assert form_values(result.xml.find(f".//{{{NS_DATA}}}x"))["Private Messages"] == "block"

    # A MUC occupant (not a moderator) sees Bob's JID and not Dave's.
    entry = await enter(carol, room, "Carol")
    items = {nick_of(p): muc_item(p) for p in entry.others}
    assert items["Bob"].get("jid", "").startswith("bob@"), items
    assert "jid" not in items["Dave"], items

    # The JID map: forbidden to Dave, the whole map for the owner.
    assert (await error_of(node_items(dave, channel, NODE_JIDMAP)))[1] == "forbidden"
    jidmap = await node_items(alice, channel, NODE_JIDMAP)
    mapped = {e.findtext(f"{{{NS_ANON}}}jid") for e in jidmap.xml.iter(f"{{{NS_ANON}}}participant")}
    assert {str(bob.boundjid.bare), str(dave.boundjid.bare)} <= mapped, mapped

    # Dave blocks private messages: Carol's is refused.
    carol.queue("message_error")
    carol.send_message(mto=f"{room}/Dave", mbody="psst", mtype="chat")
    m = await carol.next("message_error")
    # (slixmpp does not know this RFC 6120 condition: read the element.)
    assert m.xml.find("{jabber:client}error/{urn:ietf:params:xml:ns:xmpp-stanzas}policy-violation") is not None, m


@pytest.mark.deadline(90)
async def test_a_switch_to_jid_visible_removes_who_refuses_it_unseen(bed, xmpp):
    alice, eve, carol = [await xmpp.connect(u) for u in ("alice", "eve", "carol")]
    channel = await new_channel(bed, alice, "anonswitch")
    room = channel.replace(f"@{bed.main.mix}", f"@{bed.main.muc}")
    await set_mode(alice, channel, "jid-hidden")
    # Never shown: refused in a jid-visible channel, accepted here.
    await join_with_prefs(eve, channel, "Eve", {"JID Visibility": "never"})
    await enter(eve, room, "Eve")
    await enter(carol, room, "Carol", seen_by=[eve])
    carol_log, erin_log = RoomLog(carol, room), RoomLog(eve, room)
    heard = []
    carol.add_filter("in", lambda s: (heard.append(str(s)), s)[1])

    await set_mode(alice, channel, "jid-visible")
    gone = await erin_log.until(lambda s: kind(s) == "presence" and s["type"] == "unavailable" and 110 in codes(s), what="Eve's removal")
    assert 307 in codes(gone[-1]), gone[-1]
    await carol_log.until(lambda s: kind(s) == "message" and 172 in codes(s), what="status 172")
    assert not any("eve@" in h for h in heard), [h for h in heard if "eve@" in h]
    # Eve may not come back with that preference.
    with pytest.raises(IqError) as refused:
        await join_with_prefs(eve, channel, "Eve", {"JID Visibility": "never"})
    assert refused.value.iq["error"]["condition"] == "not-acceptable"
