"""Private messages with real slixmpp clients (docs/muc.md "Private messages",
docs/mix.md "Private messages").

* MUC <-> MUC: a chat message to room/nick reaches every session of that
  occupant from room/<sender's nick>, with <x muc#user/> and occupant-id.
* MUC <-> MIX (through the bed's Prosody and contrib's mod_mix_pam): a MUC
  occupant's message to the nick of a MIX participant reaches the MIX client
  from the sender's proxy JID (<participant-id>#<channel>@mix/<session>); the
  answer to that proxy JID comes back to the occupant from room/<nick>; a MIX
  client can write to the bare proxy JID of an occupant found in the
  participants node.
* The same MUC scenario against Prosody's own MUC (conference.localhost),
  differences written down in docs/muc.md.
"""

from __future__ import annotations

import asyncio

import pytest
from slixmpp import JID

from bed import IQ_TIMEOUT, NS_MIX_CORE, unique_name
from test_muc import NS_MUC_USER, accept_instant_room, body, describe, enter, error, is_error, kind, occupant_id
from test_muc_differential import compare, open_room, run

#: How long to wait for something that should not come.
SILENCE = 1.0


class Inbox:
    """Every message a client receives (not groupchat, not MAM), in order."""

    def __init__(self, client):
        self.client = client
        self._queue: asyncio.Queue = asyncio.Queue()
        client.add_filter("in", self._in)

    def _in(self, stanza):
        try:
            if kind(stanza) == "message" and stanza["type"] != "groupchat":
                self._queue.put_nowait(stanza)
        except Exception:  # a filter must never break the client
            pass
        return stanza

    async def until(self, pred, what: str, timeout: float = IQ_TIMEOUT):
        got = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                stanza = await asyncio.wait_for(self._queue.get(), max(deadline - loop.time(), 0.01))
            except asyncio.TimeoutError:
                raise AssertionError(f"{self.client.boundjid}: no {what} within {timeout}s; got:\n"
                                     f"{describe(got)}") from None
            got.append(stanza)
            if pred(stanza):
                return stanza

    async def quiet(self, seconds: float = SILENCE) -> list:
        got = []
        while True:
            try:
                got.append(await asyncio.wait_for(self._queue.get(), seconds))
            except asyncio.TimeoutError:
                return got


def has_user_x(stanza) -> bool:
    return stanza.xml.find(f"{{{NS_MUC_USER}}}x") is not None


def pm(client, to: str, text: str, msg_id: str | None = None):
    msg = client.make_message(mto=to, mbody=text, mtype="chat")
    if msg_id:
        msg["id"] = msg_id
    msg.send()


async def test_private_message_between_occupants(bed, xmpp):
    """Both of Bob's sessions get Alice's private message from room/Alice, with
    <x muc#user/> and Alice's occupant-id; Bob's answer reaches Alice."""
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    bob2 = await xmpp.connect("bob", resource="second")
    room = f"{unique_name('pm')}@{bed.main.muc}"
    alice_entry = await enter(alice, room, "Alice")
    await accept_instant_room(alice, room)
    bob_entry = await enter(bob, room, "Bob")
    await enter(bob2, room, "Bob")
    inboxes = {c: Inbox(c) for c in (alice, bob, bob2)}

    pm(alice, f"{room}/Bob", "psst", "pm-1")
    for session in (bob, bob2):
        got = await inboxes[session].until(lambda s: body(s) == "psst", "Alice's private message")
        assert got["from"] == JID(f"{room}/Alice") and got["type"] == "chat", str(got)
        assert got["id"] == "pm-1" and has_user_x(got), str(got)
        assert occupant_id(got) == alice_entry.occupant_id, str(got)

    pm(bob, f"{room}/Alice", "what?")
    got = await inboxes[alice].until(lambda s: body(s) == "what?", "Bob's answer")
    assert got["from"] == JID(f"{room}/Bob") and occupant_id(got) == bob_entry.occupant_id, str(got)


async def test_private_message_errors(bed, xmpp):
    """An unknown nick: item-not-found; a sender outside the room: not-acceptable
    (IQs to occupants: test_iq_relay.py)."""
    alice, carol = await xmpp.connect("alice"), await xmpp.connect("carol")
    room = f"{unique_name('pmerr')}@{bed.main.muc}"
    await enter(alice, room, "Alice")
    alice_in, carol_in = Inbox(alice), Inbox(carol)
    pm(alice, f"{room}/Nobody", "hello?")
    got = await alice_in.until(is_error, "an error")
    assert error(got) == ("cancel", "item-not-found"), str(got)
    pm(carol, f"{room}/Alice", "let me in")
    got = await carol_in.until(is_error, "an error")
    assert error(got)[1] == "not-acceptable", str(got)


@pytest.mark.usefixtures("mix_pam")
async def test_private_messages_between_muc_and_mix(bed, xmpp):
    """Bob (MUC) writes to Alice's nick; Alice (MIX, via her server) gets it from
    Bob's proxy JID with his nick; her answer to that proxy JID reaches Bob from
    room/Alice. Alice can also start a conversation at Bob's bare proxy JID."""
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    name = await alice.create_channel(bed.main.mix, unique_name("pmmix"))
    channel, room = f"{name}@{bed.main.mix}", f"{name}@{bed.main.muc}"
    await alice.mix_join(channel, "Alice")
    bob_entry = await enter(bob, room, "Bob")
    alice_in, bob_in = Inbox(alice), Inbox(bob)

    pm(bob, f"{room}/Alice", "from the room")
    got = await alice_in.until(lambda s: body(s) == "from the room", "Bob's private message")
    sender = got["from"]
    assert sender.domain == bed.main.mix and sender.resource, str(got)
    assert sender.user == f"{bob_entry.occupant_id}#{name}", "Bob's proxy JID: participant id # channel"
    nick = got.xml.find(f"{{{NS_MIX_CORE}}}mix/{{{NS_MIX_CORE}}}nick")
    assert nick is not None and nick.text == "Bob", str(got)
    assert bed.jid("bob") not in str(got), "the proxy JID hides Bob's real JID"

    pm(alice, str(sender), "from MIX")
    got = await bob_in.until(lambda s: body(s) == "from MIX", "Alice's answer")
    assert got["from"] == JID(f"{room}/Alice") and has_user_x(got), str(got)

    items = await alice.plugin["xep_0369"].list_participants(JID(channel), timeout=IQ_TIMEOUT)
    bob_proxy = next(item_id for item_id, n, _ in items if n == "Bob")
    pm(alice, bob_proxy, "to your proxy")
    got = await bob_in.until(lambda s: body(s) == "to your proxy", "Alice's message to Bob's proxy JID")
    assert got["from"] == JID(f"{room}/Alice"), str(got)


# ---------------------------------------------------------------------------
# Differential: the same scenario against Prosody's MUC

async def private_details(t, alice, bob) -> dict:
    room, first = await open_room(t, alice)
    bob_entry = await enter(bob, room, "Bob")
    alice_in, bob_in = Inbox(alice), Inbox(bob)
    pm(alice, f"{room}/Bob", "psst", "diff-pm")
    got = await bob_in.until(lambda s: body(s) == "psst", "the private message")
    pm(alice, f"{room}/Nobody", "anyone?")
    unknown = await alice_in.until(is_error, "an error")
    msg = alice.make_message(mto=f"{room}/Bob", mbody="as groupchat", mtype="groupchat")
    msg.send()
    as_groupchat = await alice_in.until(is_error, "an error")
    pm(bob, f"{room}/bob", "case")
    case = await bob_in.until(lambda s: body(s) == "case" or is_error(s), "the message or an error")
    return {
        "from": str(got["from"]) == f"{room}/Alice",
        "type_and_id_kept": (got["type"], got["id"]) == ("chat", "diff-pm"),
        "muc_user_x": has_user_x(got),
        "occupant_id_is_the_senders": occupant_id(got) == first.occupant_id,
        "unknown_nick": error(unknown),
        "groupchat_to_nick": error(as_groupchat)[1],
        "nick_case": "error" if is_error(case) else "delivered",
        "bob_entered": bob_entry.error is None,
    }


async def test_private_messages_like_prosody(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    compare("private message details", await run(bed, private_details, alice, bob), documented={
        "nick_case": ("error", "delivered", "nicks are case-insensitive (one namespace with MIX)"),
    })
