"""Invitations with real slixmpp clients (docs/muc.md "Invitations").

* Mediated MUC invitations (XEP-0045 §7.8.2): the invitee gets the room's
  message with <invite from=inviter><reason/></invite>, the XEP-0249 element,
  a body, and the MIX <invitation/> for the same channel; a decline is relayed
  to the inviter from the room. Compared with Prosody's MUC.
* A MIX-capable invitee (XEP-0408 §2.1) joins through its own server with the
  <invitation/> it was given, mediated or asked of the channel (XEP-0369 seed
  "Inviting another User"), and becomes a member of a members-only channel.
"""

from __future__ import annotations

import pytest
from slixmpp import JID
from slixmpp.xmlstream import ET

from bed import IQ_TIMEOUT, NS_MIX_CORE, NS_MIX_PAM, unique_name
from test_muc import NS_MUC_USER, body, enter
from test_muc_differential import compare, open_room, run
from test_muc_private import Inbox

NS_CONFERENCE = "jabber:x:conference"


def invite(client, room: str, to: str, reason: str | None = None, msg_id: str | None = None):
    msg = client.make_message(mto=room)
    if msg_id:
        msg["id"] = msg_id
    x = ET.SubElement(msg.xml, f"{{{NS_MUC_USER}}}x")
    i = ET.SubElement(x, f"{{{NS_MUC_USER}}}invite", {"to": to})
    if reason is not None:
        ET.SubElement(i, f"{{{NS_MUC_USER}}}reason").text = reason
    msg.send()


def decline(client, room: str, to: str, reason: str):
    msg = client.make_message(mto=room)
    x = ET.SubElement(msg.xml, f"{{{NS_MUC_USER}}}x")
    d = ET.SubElement(x, f"{{{NS_MUC_USER}}}decline", {"to": to})
    ET.SubElement(d, f"{{{NS_MUC_USER}}}reason").text = reason
    msg.send()


def user_x_child(stanza, name: str):
    return stanza.xml.find(f"{{{NS_MUC_USER}}}x/{{{NS_MUC_USER}}}{name}")


def is_invite(stanza) -> bool:
    return user_x_child(stanza, "invite") is not None


def is_decline(stanza) -> bool:
    return user_x_child(stanza, "decline") is not None


def invitation_of(stanza) -> ET.Element | None:
    return stanza.xml.find(f"{{{NS_MIX_CORE}}}invitation")


# ---------------------------------------------------------------------------
# Differential: mediated invitation and decline, Prosody's MUC and mixmuc

async def invitation_flow(t, alice, carol) -> dict:
    room, _ = await open_room(t, alice)
    alice_in, carol_in = Inbox(alice), Inbox(carol)
    invite(alice, room, carol.boundjid.bare, "come along", "inv-1")
    got = await carol_in.until(is_invite, "the invitation")
    inv = user_x_child(got, "invite")
    conference = got.xml.find(f"{{{NS_CONFERENCE}}}x")
    decline(carol, room, str(alice.boundjid), "too busy")
    declined = await alice_in.until(is_decline, "the decline")
    dec = user_x_child(declined, "decline")
    return {
        "from_room": got["from"] == JID(room),
        "invite_from": JID(inv.get("from")) == alice.boundjid,
        "reason": inv.findtext(f"{{{NS_MUC_USER}}}reason"),
        "xep0249": None if conference is None else (JID(conference.get("jid")) == JID(room), conference.text),
        "body_names_room": room in (body(got) or ""),
        "id_kept": got["id"] == "inv-1",
        "mix_invitation": invitation_of(got) is not None,
        "decline_from_room": declined["from"] == JID(room),
        "decline_from": JID(dec.get("from")) == carol.boundjid,
        "decline_reason": dec.findtext(f"{{{NS_MUC_USER}}}reason"),
        "decline_body": bool(body(declined)),
    }


async def test_mediated_invitation_like_prosody(bed, xmpp):
    alice, carol = await xmpp.connect("alice"), await xmpp.connect("carol")
    compare("mediated invitation", await run(bed, invitation_flow, alice, carol), documented={
        "mix_invitation": (False, True, "the MIX <invitation/> travels beside the MUC one (XEP-0408 §2.1)"),
    })


async def test_invitation_by_non_occupant_is_refused(bed, xmpp):
    """mixmuc: only someone in the channel invites (Prosody lets anyone with a
    default role in an open room; docs/muc.md)."""
    alice, carol = await xmpp.connect("alice"), await xmpp.connect("carol")
    room = f"{unique_name('inv')}@{bed.main.muc}"
    await enter(alice, room, "Alice")
    carol_in = Inbox(carol)
    invite(carol, room, bed.jid("dave"))
    got = await carol_in.until(lambda s: s["type"] == "error", "an error")
    assert got["error"]["condition"] == "not-acceptable", str(got)


# ---------------------------------------------------------------------------
# MIX invitations

def join_with_invitation(client, channel: str, invitation: ET.Element, nick: str):
    """client-join through the user's server, with the invitation in <join/>."""
    iq = client.make_iq_set(ito=client.boundjid.bare)
    subscribe = "<subscribe node='urn:xmpp:mix:nodes:messages'/><subscribe node='urn:xmpp:mix:nodes:participants'/>"
    wrapper = ET.fromstring(f"<client-join xmlns='{NS_MIX_PAM}' channel='{channel}'>"
                            f"<join xmlns='{NS_MIX_CORE}'>{subscribe}<nick>{nick}</nick></join></client-join>")
    wrapper.find(f"{{{NS_MIX_CORE}}}join").append(invitation)
    iq.append(wrapper)
    return iq


@pytest.mark.usefixtures("mix_pam")
async def test_mix_invitee_joins_with_the_mediated_invitation(bed, xmpp):
    """Bob (MUC, the owner) invites Carol; Carol's MIX
    client joins through her server with the <invitation/> from the room's
    message and appears in the room."""
    bob, carol = await xmpp.connect("bob"), await xmpp.connect("carol")
    name = await bob.create_channel(bed.main.mix, unique_name("invmix"))
    channel, room = f"{name}@{bed.main.mix}", f"{name}@{bed.main.muc}"
    await enter(bob, room, "Bob")
    carol_in = Inbox(carol)
    invite(bob, room, bed.jid("carol"), "join us")
    got = await carol_in.until(is_invite, "the invitation")
    invitation = invitation_of(got)
    assert invitation is not None, str(got)
    assert invitation.findtext(f"{{{NS_MIX_CORE}}}channel") == channel
    result = await join_with_invitation(carol, channel, invitation, "Carol").send(timeout=IQ_TIMEOUT)
    assert result["type"] == "result", str(result)
    items = await carol.plugin["xep_0369"].list_participants(JID(channel), timeout=IQ_TIMEOUT)
    assert {n for _, n, _ in items} == {"Bob", "Carol"}


@pytest.mark.usefixtures("mix_pam")
async def test_mix_invitation_request_and_join(bed, xmpp):
    """Alice (MIX) asks the channel for an invitation for Dave, sends it to him
    in a message; Dave joins with it. A tampered invitation is refused."""
    alice, dave = await xmpp.connect("alice"), await xmpp.connect("dave")
    name = await alice.create_channel(bed.main.mix, unique_name("invreq"))
    channel = f"{name}@{bed.main.mix}"
    await alice.mix_join(channel, "Alice")
    iq = alice.raw_iq(channel, "get", f"<invite xmlns='{NS_MIX_CORE}'><invitee>{bed.jid('dave')}</invitee></invite>")
    result = await iq.send(timeout=IQ_TIMEOUT)
    invitation = result.xml.find(f"{{{NS_MIX_CORE}}}invite/{{{NS_MIX_CORE}}}invitation")
    assert invitation is not None, str(result)
    assert invitation.findtext(f"{{{NS_MIX_CORE}}}inviter") == bed.jid("alice")

    dave_in = Inbox(dave)
    msg = alice.make_message(mto=bed.jid("dave"), mbody="Would you like to join?")
    msg.append(invitation)
    msg.send()
    got = await dave_in.until(lambda s: invitation_of(s) is not None, "Alice's invitation")
    received = invitation_of(got)

    tampered = ET.fromstring(ET.tostring(received))
    tampered.find(f"{{{NS_MIX_CORE}}}token").text += "x"
    assert await dave.iq_error(join_with_invitation(dave, channel, tampered, "Dave")) == ("auth", "forbidden")
    result = await join_with_invitation(dave, channel, received, "Dave").send(timeout=IQ_TIMEOUT)
    assert result["type"] == "result", str(result)
