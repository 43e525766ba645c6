"""IQs relayed through rooms and channels, with real slixmpp clients and Prosody
(docs/muc.md "IQs to occupants", docs/mix.md "IQs to participants").

* MUC: an occupant fetches another occupant's vCard at room/nick (the service asks
  the occupant's server, at its bare JID, which answers from the vCard the user
  published with XEP-0054), pings it and asks its client's version (relayed to the
  occupant's session, from room/<asker's nick>); errors come back as errors.
* MIX (through the bed's Prosody and contrib's mod_mix_pam): a MIX client fetches a
  participant's vCard at the participant's bare proxy JID (XEP-0404).
"""

from __future__ import annotations

import pytest
from slixmpp import JID
from slixmpp.exceptions import IqError

from bed import IQ_TIMEOUT, unique_name
from test_muc import accept_instant_room, enter

NS_VCARD = "vcard-temp"


async def publish_vcard(client, full_name: str) -> None:
    """The user's own vCard, stored by its server (XEP-0054)."""
    client.register_plugin("xep_0054")
    vcard = client.plugin["xep_0054"].make_vcard()
    vcard["FN"] = full_name
    await client.plugin["xep_0054"].publish_vcard(vcard, timeout=IQ_TIMEOUT)


def full_name(iq) -> str | None:
    fn = iq.xml.find(f"{{{NS_VCARD}}}vCard/{{{NS_VCARD}}}FN")
    return None if fn is None else fn.text


def requests_seen(client) -> list:
    """Every IQ get/set the client receives from now on."""
    seen = []

    def record(stanza):
        if stanza.xml.tag.endswith("}iq") and stanza["type"] in ("get", "set"):
            seen.append(stanza)
        return stanza
    client.add_filter("in", record)
    return seen


async def test_relay_muc_vcard_ping_and_version(bed, xmpp):
    """Alice fetches Bob's vCard at room/Bob, pings him and asks his client's
    version; Bob's client sees the requests from room/Alice, never Alice's JID;
    Alice gets the answers from room/Bob, never Bob's JID."""
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    await publish_vcard(bob, "Bob of the Relay")
    bob.register_plugin("xep_0092")
    room = f"{unique_name('iqrelay')}@{bed.main.muc}"
    await enter(alice, room, "Alice")
    await accept_instant_room(alice, room)
    await enter(bob, room, "Bob")
    seen_by_bob = requests_seen(bob)

    answer = await alice.raw_iq(f"{room}/Bob", "get", "<vCard xmlns='vcard-temp'/>").send(timeout=IQ_TIMEOUT)
    assert answer["from"] == JID(f"{room}/Bob") and full_name(answer) == "Bob of the Relay", str(answer)
    assert bed.jid("bob") not in str(answer), "the answer does not show Bob's real JID"

    answer = await alice.raw_iq(f"{room}/Bob", "get", "<ping xmlns='urn:xmpp:ping'/>").send(timeout=IQ_TIMEOUT)
    assert answer["type"] == "result" and answer["from"] == JID(f"{room}/Bob"), str(answer)
    answer = await alice.raw_iq(f"{room}/Bob", "get", "<query xmlns='jabber:iq:version'/>").send(timeout=IQ_TIMEOUT)
    assert answer["from"] == JID(f"{room}/Bob") and answer["software_version"]["name"], str(answer)

    # Bob's client got the ping and the version query (his server answered the vCard).
    assert len(seen_by_bob) == 2, [str(s) for s in seen_by_bob]
    for request in seen_by_bob:
        assert request["from"] == JID(f"{room}/Alice"), str(request)
        assert bed.jid("alice") not in str(request), "the request does not show Alice's real JID"


async def test_relay_muc_errors(bed, xmpp):
    """An unknown nick: item-not-found; an asker outside the room: not-acceptable;
    a request Bob's client does not support: its error, from room/Bob."""
    alice, bob, carol = await xmpp.connect("alice"), await xmpp.connect("bob"), await xmpp.connect("carol")
    room = f"{unique_name('iqrelayerr')}@{bed.main.muc}"
    await enter(alice, room, "Alice")
    await accept_instant_room(alice, room)
    await enter(bob, room, "Bob")
    assert await alice.iq_error(alice.raw_iq(f"{room}/Nobody", "get", "<ping xmlns='urn:xmpp:ping'/>")) == ("cancel", "item-not-found")
    assert (await carol.iq_error(carol.raw_iq(f"{room}/Bob", "get", "<vCard xmlns='vcard-temp'/>")))[1] == "not-acceptable"
    with pytest.raises(IqError) as failed:
        await alice.raw_iq(f"{room}/Bob", "get", "<query xmlns='urn:example:nothing'/>").send(timeout=IQ_TIMEOUT)
    err = failed.value.iq
    assert err["from"] == JID(f"{room}/Bob"), str(err)
    assert err["error"]["condition"] in ("service-unavailable", "feature-not-implemented"), str(err)
    assert bed.jid("bob") not in str(err), "the error does not show Bob's real JID"


@pytest.mark.usefixtures("mix_pam")
async def test_relay_mix_vcard_through_proxy_jid(bed, xmpp):
    """Alice (MIX) fetches Bob's vCard at his bare proxy JID, found in the
    participants node; Carol, not a participant, is refused (forbidden)."""
    alice, bob, carol = await xmpp.connect("alice"), await xmpp.connect("bob"), await xmpp.connect("carol")
    await publish_vcard(bob, "Bob the Participant")
    name = await alice.create_channel(bed.main.mix, unique_name("iqrelaymix"))
    channel = f"{name}@{bed.main.mix}"
    await alice.mix_join(channel, "Alice")
    await bob.mix_join(channel, "Bob")
    items = await alice.plugin["xep_0369"].list_participants(JID(channel), timeout=IQ_TIMEOUT)
    bob_proxy = next(item_id for item_id, nick, _ in items if nick == "Bob")

    answer = await alice.raw_iq(bob_proxy, "get", "<vCard xmlns='vcard-temp'/>").send(timeout=IQ_TIMEOUT)
    assert answer["from"] == JID(bob_proxy) and full_name(answer) == "Bob the Participant", str(answer)
    assert bed.jid("bob") not in str(answer), "the answer does not show Bob's real JID"
    assert await carol.iq_error(carol.raw_iq(bob_proxy, "get", "<vCard xmlns='vcard-temp'/>")) == ("auth", "forbidden")
