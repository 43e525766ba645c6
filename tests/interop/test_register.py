"""Registered nicks with real clients (issue 21; docs/muc.md "Registration",
docs/mix.md "Nick registration").

The room registration scenario (XEP-0045 §7.10, §7.12) runs against
Prosody's own MUC and against mixmuc's MUC domain and is compared like the
other differential tests; then a MIX client (through her server's
mod_mix_pam) registers a nick with the MIX service and a MUC client finds
it reserved in the room view.
"""

from __future__ import annotations

import pytest
from slixmpp import JID
from slixmpp.xmlstream import ET

from bed import IQ_TIMEOUT, NS_MIX_CORE
from test_muc import enter, error, iq_result_or_error, new_room
from test_muc_differential import compare, open_room, run

NS_REGISTER = "jabber:iq:register"
NS_DATA = "jabber:x:data"
NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"


async def register_get(client, room: str):
    iq = client.make_iq_get(ito=room)
    iq.append(ET.Element(f"{{{NS_REGISTER}}}query"))
    status, answer = await iq_result_or_error(iq)
    if status == "error":
        return ("error", answer[1])
    q = answer.xml.find(f"{{{NS_REGISTER}}}query")
    if q.find(f"{{{NS_REGISTER}}}registered") is not None:
        return ("registered", q.findtext(f"{{{NS_REGISTER}}}username"))
    form = q.find(f"{{{NS_DATA}}}x")
    return ("form", sorted(f.get("var") for f in form.findall(f"{{{NS_DATA}}}field")))


async def register_set(client, room: str, nick: str | None, remove: bool = False):
    iq = client.make_iq_set(ito=room)
    q = ET.SubElement(iq.xml, f"{{{NS_REGISTER}}}query")
    if remove:
        ET.SubElement(q, f"{{{NS_REGISTER}}}remove")
    else:
        x = ET.SubElement(q, f"{{{NS_DATA}}}x", {"type": "submit"})
        for var, value in (("FORM_TYPE", "http://jabber.org/protocol/muc#register"), ("muc#register_roomnick", nick)):
            f = ET.SubElement(x, f"{{{NS_DATA}}}field", {"var": var})
            ET.SubElement(f, f"{{{NS_DATA}}}value").text = value
    status, answer = await iq_result_or_error(iq)
    return status if status == "result" else answer[1]


async def set_affiliation(client, room: str, jid: str, affiliation: str):
    iq = client.make_iq_set(ito=room)
    q = ET.SubElement(iq.xml, f"{{{NS_MUC_ADMIN}}}query")
    ET.SubElement(q, f"{{{NS_MUC_ADMIN}}}item", {"affiliation": affiliation, "jid": jid})
    await iq.send(timeout=IQ_TIMEOUT)


async def member_nicks(client, room: str) -> list:
    iq = client.make_iq_get(ito=room)
    q = ET.SubElement(iq.xml, f"{{{NS_MUC_ADMIN}}}query")
    ET.SubElement(q, f"{{{NS_MUC_ADMIN}}}item", {"affiliation": "member"})
    answer = await iq.send(timeout=IQ_TIMEOUT)
    return sorted((JID(i.get("jid")).bare, i.get("nick")) for i in answer.xml.iter(f"{{{NS_MUC_ADMIN}}}item"))


async def reserved_nick(client, room: str):
    iq = client.make_iq_get(ito=room)
    ET.SubElement(iq.xml, f"{{{NS_DISCO_INFO}}}query", {"node": "x-roomuser-item"})
    answer = await iq.send(timeout=IQ_TIMEOUT)
    ids = answer.xml.findall(f"{{{NS_DISCO_INFO}}}query/{{{NS_DISCO_INFO}}}identity")
    return [i.get("name") for i in ids]


async def registration(t, alice, bob, carol) -> dict:
    room, _ = await open_room(t, alice)
    obs = {"unaffiliated_get": await register_get(bob, room)}
    await set_affiliation(alice, room, JID(bob.boundjid).bare, "member")
    obs["member_get"] = await register_get(bob, room)
    obs["register"] = await register_set(bob, room, "Robert")
    obs["registered_get"] = await register_get(bob, room)
    obs["reserved_nick_disco"] = await reserved_nick(bob, room)
    obs["carol_reserved_nick_disco"] = await reserved_nick(carol, room)
    taken = await enter(carol, room, "Robert")
    obs["other_enters_as_it"] = error(taken.error)[1] if taken.error is not None else "entered"
    mine = await enter(bob, room, "Robert")
    obs["owner_enters_as_it"] = error(mine.error)[1] if mine.error is not None else "entered"
    obs["member_list"] = [n for _, n in await member_nicks(alice, room)]
    await set_affiliation(alice, room, JID(carol.boundjid).bare, "member")
    obs["other_registers_it"] = await register_set(carol, room, "Robert")
    obs["remove"] = await register_set(bob, room, None, remove=True)
    return obs


async def test_room_registration_like_prosody(bed, xmpp):
    alice, bob, carol = await xmpp.connect("alice"), await xmpp.connect("bob"), await xmpp.connect("carol")
    obs = await run(bed, registration, alice, bob, carol)
    compare("registration", obs)
    assert obs["mixmuc"]["member_get"] == ("form", ["FORM_TYPE", "muc#register_roomnick"])
    assert obs["mixmuc"]["registered_get"] == ("registered", "Robert")
    assert obs["mixmuc"]["other_enters_as_it"] == "conflict"


@pytest.mark.usefixtures("mix_pam")
async def test_mix_service_registration_reserves_the_nick_in_the_room(bed, xmpp):
    """Alice registers a nick with the MIX service (the seed's <register/>);
    her nick in a channel she is in becomes it, and Bob may not enter the
    room view as it (conflict)."""
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    room, _ = await new_room(bed, bob, "Bob", "mixreg")
    channel = f"{JID(room).user}@{bed.main.mix}"
    await alice.mix_join(channel, "Al")
    wanted = f"Alice{JID(room).user[-6:]}"
    iq = alice.make_iq_set(ito=bed.main.mix)
    ET.SubElement(ET.SubElement(iq.xml, f"{{{NS_MIX_CORE}}}register"), f"{{{NS_MIX_CORE}}}nick").text = wanted
    answer = await iq.send(timeout=IQ_TIMEOUT)
    assert answer.xml.findtext(f"{{{NS_MIX_CORE}}}register/{{{NS_MIX_CORE}}}nick") == wanted, str(answer)
    carol = await xmpp.connect("carol")
    taken = await enter(carol, room, wanted.lower())
    assert taken.error is not None and error(taken.error)[1] == "conflict"
    items = await alice.plugin["xep_0369"].list_participants(JID(channel), timeout=IQ_TIMEOUT)
    assert wanted in [nick for _, nick, _ in items], items
