"""MIX end to end: clients join through their own server (XEP-0405, contrib's
mod_mix_pam on the bed's Prosody) and talk in a channel (XEP-0369)."""

import pytest

from bed import NS_MIX_PAM, unique_name

pytestmark = pytest.mark.usefixtures("mix_pam")


async def joined_channel(bed, xmpp, *users):
    """A new channel created by the first user, joined by every user (nick = name)."""
    clients = [await xmpp.connect(user) for user in users]
    name = await clients[0].create_channel(bed.main.mix, unique_name("talk"))
    channel = f"{name}@{bed.main.mix}"
    for user, client in zip(users, clients):
        await client.mix_join(channel, user.capitalize())
    return channel, clients


async def test_server_offers_mix_pam(bed, xmpp):
    alice = await xmpp.connect("alice")
    info = await alice.disco_info(bed.jid("alice"))
    assert NS_MIX_PAM in info.features


async def test_message_reaches_every_participant(bed, xmpp):
    channel, (alice, bob, carol) = await joined_channel(bed, xmpp, "alice", "bob", "carol")
    for client in (alice, bob, carol):
        client.queue("mix_message")
    alice.send_message(mto=channel, mbody="hello, coven", mtype="groupchat")

    copies = {c.boundjid.bare: await c.next("mix_message") for c in (alice, bob, carol)}
    ids = {m["id"] for m in copies.values()}
    assert len(ids) == 1, "every copy carries the same archive id"
    for user, msg in copies.items():
        assert msg["body"] == "hello, coven"
        assert msg["from"].bare == channel
        assert msg["mix"]["nick"] == "Alice"
        assert msg["mix"]["jid"] == bed.jid("alice")
        stanza_ids = {(sid.get("by"), sid.get("id")) for sid in msg.xml.findall("{urn:xmpp:sid:0}stanza-id")}
        assert (channel, msg["id"]) in stanza_ids, f"{user}: stanza-id by the channel = message id"
    # Only the sender's copy names the id it submitted (XEP-0369 submission-id).
    sender = copies[bed.jid("alice")].xml.find("{urn:xmpp:mix:core:1}mix/{urn:xmpp:mix:core:1}submission-id")
    other = copies[bed.jid("bob")].xml.find("{urn:xmpp:mix:core:1}mix/{urn:xmpp:mix:core:1}submission-id")
    assert sender is not None and other is None


async def test_participants_node_lists_joined_users(bed, xmpp):
    channel, (alice, bob) = await joined_channel(bed, xmpp, "alice", "bob")
    participants = await alice.plugin["xep_0369"].list_participants(channel, timeout=10)
    assert {(nick, str(jid)) for _, nick, jid in participants} == {
        ("Alice", bed.jid("alice")), ("Bob", bed.jid("bob"))}


async def test_archive_holds_the_messages(bed, xmpp):
    channel, (alice, bob) = await joined_channel(bed, xmpp, "alice", "bob")
    bob.queue("mix_message")
    for n in range(3):
        alice.send_message(mto=channel, mbody=f"line {n}", mtype="groupchat")
    ids = [(await bob.next("mix_message"))["id"] for _ in range(3)]
    result = await bob.plugin["xep_0313"].retrieve(jid=channel, timeout=10)
    rsm = result["mam_fin"]["rsm"]
    assert int(rsm["count"]) == 3
    assert (rsm["first"], rsm["last"]) == (ids[0], ids[-1])


async def test_leave_removes_participant(bed, xmpp):
    channel, (alice, bob) = await joined_channel(bed, xmpp, "alice", "bob")
    await bob.mix_leave(channel)
    participants = await alice.plugin["xep_0369"].list_participants(channel, timeout=10)
    assert [nick for _, nick, _ in participants] == ["Alice"]
    # Bob no longer gets the channel's messages; Alice still does.
    alice.queue("mix_message")
    bob_inbox = bob.queue("mix_message")
    alice.send_message(mto=channel, mbody="bye bob", mtype="groupchat")
    await alice.next("mix_message")
    assert bob_inbox.empty()
