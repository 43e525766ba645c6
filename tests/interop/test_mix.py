"""XEP-0369 (MIX-CORE) used for real, end to end.

Real slixmpp clients on the bed's Prosody, which runs contrib's mod_mix_pam
(XEP-0405), talk to mixmuc's MIX domain: create, join and leave through
client-join / client-leave, setnick, messages both ways, pass-through of unknown
payloads, the participants node, update-subscription, the channel's MAM with RSM
paging, catching up after being offline, destroy, and the errors a client sees.

Every wait has a timeout (``IQ_TIMEOUT`` for IQs, ``WAIT`` for messages), and every
test has the conftest deadline, so no test hangs.
"""

from __future__ import annotations

import asyncio
import uuid
from xml.sax.saxutils import quoteattr, escape

import pytest
from slixmpp import JID
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from bed import IQ_TIMEOUT, NS_MIX_CORE, NS_MIX_PAM, unique_name

pytestmark = pytest.mark.usefixtures("mix_pam")

NS_MIX_ROSTER = "urn:xmpp:mix:roster:0"
NS_MAM = "urn:xmpp:mam:2"
NS_RSM = "http://jabber.org/protocol/rsm"
NS_SID = "urn:xmpp:sid:0"
NS_FORWARD = "urn:xmpp:forward:0"
NS_CLIENT = "jabber:client"
NS_ROSTER = "jabber:iq:roster"
NODE_MESSAGES = "urn:xmpp:mix:nodes:messages"
NODE_PARTICIPANTS = "urn:xmpp:mix:nodes:participants"
NODE_INFO = "urn:xmpp:mix:nodes:info"
ALL_NODES = {NODE_MESSAGES, NODE_PARTICIPANTS, NODE_INFO}

#: Seconds to wait for a message that should arrive.
WAIT = 10
#: Seconds of silence that count as "nothing came" once the same batch reached others.
QUIET = 1.5


# ---------------------------------------------------------------------------
# Helpers (this file's own; bed.py belongs to others)

def q(ns: str, *names: str) -> str:
    """ElementTree path of NAMES in namespace NS: q(NS, 'mix', 'nick') -> '{ns}mix/{ns}nick'."""
    return "/".join(f"{{{ns}}}{n}" for n in names)


async def client_join(client, channel: str, nick: str | None, nodes=ALL_NODES):
    """Raw XEP-0405 client-join to the user's own bare JID; returns the inner <join/> of
    the answer (an ElementTree element). Raises IqError on an error answer."""
    nick_xml = f"<nick>{escape(nick)}</nick>" if nick is not None else ""
    subs = "".join(f"<subscribe node={quoteattr(n)}/>" for n in sorted(nodes))
    iq = client.raw_iq(client.boundjid.bare, "set",
                       f"<client-join xmlns='{NS_MIX_PAM}' channel={quoteattr(channel)}>"
                       f"<join xmlns='{NS_MIX_CORE}'>{nick_xml}{subs}</join></client-join>")
    result = await iq.send(timeout=IQ_TIMEOUT)
    join = result.xml.find(q(NS_MIX_PAM, "client-join") + "/" + q(NS_MIX_CORE, "join"))
    assert join is not None, f"client-join result without <client-join><join/>: {result}"
    return join


async def new_channel(bed, owner, prefix: str = "mix") -> str:
    name = await owner.create_channel(bed.main.mix, unique_name(prefix))
    return f"{name}@{bed.main.mix}"


async def setup(bed, xmpp, *users: str, prefix: str = "mix"):
    """A new channel created by the first user, joined (client-join, nick = User) by all.

    Returns (channel, clients, participant ids by bare JID)."""
    clients = [await xmpp.connect(u) for u in users]
    channel = await new_channel(bed, clients[0], prefix)
    pids = {}
    for user, client in zip(users, clients):
        join = await client_join(client, channel, user.capitalize())
        pids[bed.jid(user)] = join.get("id")
    return channel, clients, pids


def send_groupchat(client, channel: str, body: str | None, *, msg_id: str | None = None,
                   extra: list[str] = ()) -> str:
    """A groupchat message with id MSG_ID (a fresh one by default); returns the id."""
    msg = client.make_message(mto=channel, mbody=body, mtype="groupchat")
    msg_id = msg_id or f"sub-{uuid.uuid4().hex[:12]}"
    msg["id"] = msg_id
    for xml in extra:
        msg.append(ET.fromstring(xml))
    msg.send()
    return msg_id


def stanza_ids(msg, by: str | None = None) -> list[tuple[str, str]]:
    """(by, id) of each <stanza-id/> of a message, optionally only those BY."""
    out = [(e.get("by"), e.get("id")) for e in msg.xml.findall(q(NS_SID, "stanza-id"))]
    return [x for x in out if by is None or x[0] == by]


def submission_id(msg) -> str | None:
    el = msg.xml.find(q(NS_MIX_CORE, "mix", "submission-id"))
    return None if el is None else (el.text or "")


async def assert_quiet(client, event: str, seconds: float = QUIET, what: str = "") -> None:
    """Nothing queued for EVENT within SECONDS (queue(EVENT) must have been called before)."""
    queue = client.queue(event)
    try:
        got = await asyncio.wait_for(queue.get(), seconds)
    except asyncio.TimeoutError:
        return
    raise AssertionError(f"{client.boundjid}: unexpected {event} {what}: {got}")


async def next_matching(client, event: str, pred, timeout: float = WAIT):
    """The next EVENT for which PRED holds (others are dropped); fails after TIMEOUT s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        left = deadline - loop.time()
        if left <= 0:
            raise AssertionError(f"{client.boundjid}: no matching {event} within {timeout}s")
        item = await client.next(event, timeout=left)
        if pred(item):
            return item


def catch(client, name: str, xpath: str) -> asyncio.Queue:
    """Every stanza matching XPATH from now on, in a queue (a handler next to slixmpp's own)."""
    queue: asyncio.Queue = asyncio.Queue()
    client.register_handler(Callback(name, MatchXPath(xpath), queue.put_nowait))
    return queue


async def get(queue: asyncio.Queue, what: str, timeout: float = WAIT):
    try:
        return await asyncio.wait_for(queue.get(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"no {what} within {timeout}s") from None


async def mix_roster(client) -> dict[str, str | None]:
    """Annotated roster get (xep_0405): channel JID -> participant-id of its <channel/> mark."""
    _contacts, channels = await client.plugin["xep_0405"].get_mix_roster(timeout=IQ_TIMEOUT)
    return {str(item["jid"]): item["channel"]["participant-id"] for item in channels}


async def plain_roster(client) -> set[str]:
    iq = client.make_iq_get()
    iq.enable("roster")
    result = await iq.send(timeout=IQ_TIMEOUT)
    return {str(j) for j in result["roster"]["items"]}


class MamPage:
    def __init__(self, messages, fin):
        self.messages = messages  # the forwarded <message/> elements, in the order received
        self.fin = fin
        self.complete = fin.get("complete") in ("true", "1")
        rsm = fin.find(q(NS_RSM, "set"))
        def text(name):
            el = rsm.find(q(NS_RSM, name)) if rsm is not None else None
            return None if el is None else el.text
        self.first, self.last = text("first"), text("last")
        count = text("count")
        self.count = int(count) if count is not None else None
        self.result_ids = [m.get("_result_id") for m in messages]
        self.stamps = [m.get("_stamp") for m in messages]

    @property
    def ids(self) -> list[str]:
        return [m.get("id") for m in self.messages]

    @property
    def bodies(self) -> list[str | None]:
        return [m.findtext(q(NS_CLIENT, "body")) for m in self.messages]


async def mam(client, archive: str, *, fields: dict[str, str | list[str]] | None = None,
              rsm: dict[str, str | None] | None = None) -> MamPage:
    """A raw XEP-0313 query (urn:xmpp:mam:2) to ARCHIVE. A field value may be a list (several
    <value/>s); RSM values None give empty elements ({'before': None} is <before/>; a value
    of True gives <name/> too). Returns the forwarded messages and the <fin/>."""
    queryid = f"q-{uuid.uuid4().hex[:10]}"
    form = ""
    if fields:
        form = ("<x xmlns='jabber:x:data' type='submit'>"
                f"<field var='FORM_TYPE' type='hidden'><value>{NS_MAM}</value></field>"
                + "".join(f"<field var={quoteattr(k)}>"
                          + "".join(f"<value>{escape(x)}</value>" for x in ([v] if isinstance(v, str) else v))
                          + "</field>" for k, v in fields.items())
                + "</x>")
    rsm_xml = ""
    if rsm:
        rsm_xml = f"<set xmlns='{NS_RSM}'>" + "".join(
            f"<{k}/>" if v is None or v is True else f"<{k}>{escape(str(v))}</{k}>"
            for k, v in rsm.items() if k != "flip-page") + "</set>"
        if "flip-page" in rsm:
            rsm_xml += "<flip-page/>"
    collected, broken = [], []

    def on_result(msg):
        result = msg.xml.find(q(NS_MAM, "result"))
        if result is None or result.get("queryid") != queryid:
            return
        inner = result.find(q(NS_FORWARD, "forwarded") + "/" + q(NS_CLIENT, "message"))
        if inner is None:  # checked below: an assertion in a handler would only be logged
            broken.append(str(msg))
            return
        delay = result.find(q(NS_FORWARD, "forwarded") + "/{urn:xmpp:delay}delay")
        inner = ET.fromstring(ET.tostring(inner))
        inner.set("_result_id", result.get("id"))
        inner.set("_stamp", delay.get("stamp") if delay is not None else "")
        collected.append(inner)

    handler = f"mam-{queryid}"
    client.register_handler(Callback(handler, MatchXPath(f"{{{NS_CLIENT}}}message/{{{NS_MAM}}}result"), on_result))
    try:
        iq = client.raw_iq(archive, "set", f"<query xmlns='{NS_MAM}' queryid='{queryid}'>{form}{rsm_xml}</query>")
        result = await iq.send(timeout=IQ_TIMEOUT)
    finally:
        client.remove_handler(handler)
    assert not broken, f"MAM results without a forwarded <message/>: {broken}"
    fin = result.xml.find(q(NS_MAM, "fin"))
    assert fin is not None, f"MAM answer without <fin/>: {result}"
    return MamPage(list(collected), fin)


async def error_of(coro) -> tuple[str, str]:
    """(type, condition) of the IqError that CORO raises."""
    try:
        result = await coro
    except IqError as err:
        return err.iq["error"]["type"], err.iq["error"]["condition"]
    raise AssertionError(f"expected an error, got: {result}")


# ---------------------------------------------------------------------------
# Create and join

async def test_create_then_client_join_returns_participant_id_and_roster_item(bed, xmpp):
    alice = await xmpp.connect("alice")
    # create: the name is normalised (nodeprep), the creator can then join.
    wanted = unique_name("Coven")
    name = await alice.create_channel(bed.main.mix, wanted)
    assert name == wanted.lower()
    channel = f"{name}@{bed.main.mix}"
    assert channel in [j for j, _ in await alice.disco_items(bed.main.mix)]

    # The annotated roster has no channel yet; the annotation then applies to pushes.
    assert channel not in await mix_roster(alice)
    pushes = catch(alice, "roster-push", f"{{{NS_CLIENT}}}iq[@type='set']/{{{NS_ROSTER}}}query")

    join = await client_join(alice, channel, "Alice")
    pid = join.get("id")
    assert pid, f"join result without a participant id: {ET.tostring(join)}"
    assert join.get("jid") in (None, f"{pid}#{channel}"), "seed proxy JID, when given, is id#channel"
    assert {s.get("node") for s in join.findall(q(NS_MIX_CORE, "subscribe"))} == ALL_NODES
    assert join.findtext(q(NS_MIX_CORE, "nick")) == "Alice"

    # The roster push for the new channel item carries the mark (this session annotated).
    push = await get(pushes, "roster push for the channel")
    item = push.xml.find(f"{q(NS_ROSTER, 'query', 'item')}[@jid='{channel}']")
    assert item is not None, f"roster push without the channel: {push}"
    mark = item.find(q(NS_MIX_ROSTER, "channel"))
    assert mark is not None and mark.get("participant-id") == pid, f"push not annotated: {push}"

    # And the annotated roster (xep_0405 get_mix_roster) lists it with the participant id.
    assert (await mix_roster(alice)).get(channel) == pid
    # Through slixmpp's high-level join too: a second join keeps the participant id.
    await alice.mix_join(channel, "Alice")
    assert (await mix_roster(alice)).get(channel) == pid


async def test_unannotated_roster_has_no_channel_mark(bed, xmpp):
    channel, (alice,), pids = await setup(bed, xmpp, "alice")
    other = await xmpp.connect("alice")  # another session, which did not ask for annotation
    iq = other.make_iq_get()
    iq.enable("roster")
    result = await iq.send(timeout=IQ_TIMEOUT)
    item = result.xml.find(f"{q(NS_ROSTER, 'query', 'item')}[@jid='{channel}']")
    assert item is not None, "the channel is an ordinary roster item"
    assert item.find(q(NS_MIX_ROSTER, "channel")) is None
    assert (await mix_roster(alice))[channel] == pids[bed.jid("alice")]


async def test_join_leaves_out_nodes_the_channel_does_not_have(bed, xmpp):
    alice = await xmpp.connect("alice")
    channel = await new_channel(bed, alice)
    # A node mixmuc does not have is left out of the result; without the presence node
    # the user's server shares no presence with the channel (roster subscription "none").
    join = await client_join(alice, channel, "Alice", nodes=ALL_NODES | {"urn:example:no-such-node"})
    assert {s.get("node") for s in join.findall(q(NS_MIX_CORE, "subscribe"))} == ALL_NODES
    iq = alice.make_iq_get()
    iq.enable("roster")
    roster = await iq.send(timeout=IQ_TIMEOUT)
    item = roster.xml.find(f"{q(NS_ROSTER, 'query', 'item')}[@jid='{channel}']")
    assert item is not None and item.get("subscription") == "none", str(roster)
    # Only unknown nodes: nothing to join.
    bob = await xmpp.connect("bob")
    assert await error_of(client_join(bob, channel, "Bob", nodes={"urn:example:no-such-node"})) \
        == ("cancel", "item-not-found")
    assert channel not in await plain_roster(bob)


# ---------------------------------------------------------------------------
# Nicks

async def test_setnick_returns_the_normalised_nick(bed, xmpp):
    channel, (alice, bob), _ = await setup(bed, xmpp, "alice", "bob")
    mix = alice.plugin["xep_0369"]
    # Fullwidth letters (NFKC), an em space (non-ASCII space mapped), runs collapsed, trimmed.
    nick = await mix.set_nick(JID(channel), "  \uff34hird\u2003\u2003Witch  ", timeout=IQ_TIMEOUT)
    assert nick == "Third Witch"
    participants = await bob.plugin["xep_0369"].list_participants(channel, timeout=IQ_TIMEOUT)
    assert ("Third Witch", bed.jid("alice")) in {(n, str(j)) for _, n, j in participants}
    # Messages carry the new nick.
    bob.queue("mix_message")
    send_groupchat(alice, channel, "renamed")
    msg = await bob.next("mix_message")
    assert msg["mix"]["nick"] == "Third Witch"


async def test_setnick_conflict_between_two_users(bed, xmpp):
    channel, (alice, bob), _ = await setup(bed, xmpp, "alice", "bob")
    assert await alice.plugin["xep_0369"].set_nick(JID(channel), "Hecate", timeout=IQ_TIMEOUT) == "Hecate"
    # Same nick, other case: conflict (comparison is case-insensitive).
    for attempt in ("Hecate", "hecate", " HECATE "):
        assert await error_of(bob.plugin["xep_0369"].set_nick(JID(channel), attempt, timeout=IQ_TIMEOUT)) \
            == ("cancel", "conflict"), attempt
    # Bob keeps his nick; Alice may set her own nick again.
    participants = {str(j): n for _, n, j in
                    await alice.plugin["xep_0369"].list_participants(channel, timeout=IQ_TIMEOUT)}
    assert participants == {bed.jid("alice"): "Hecate", bed.jid("bob"): "Bob"}
    assert await alice.plugin["xep_0369"].set_nick(JID(channel), "hecate", timeout=IQ_TIMEOUT) == "hecate"
    # Once Alice moved on, the nick is free for Bob.
    assert await alice.plugin["xep_0369"].set_nick(JID(channel), "Maiden", timeout=IQ_TIMEOUT) == "Maiden"
    assert await bob.plugin["xep_0369"].set_nick(JID(channel), "Hecate", timeout=IQ_TIMEOUT) == "Hecate"


async def test_setnick_by_non_participant_is_forbidden(bed, xmpp):
    channel, _, _ = await setup(bed, xmpp, "alice")
    eve = await xmpp.connect("eve")
    assert await error_of(eve.plugin["xep_0369"].set_nick(JID(channel), "Eve", timeout=IQ_TIMEOUT)) \
        == ("auth", "forbidden")


# ---------------------------------------------------------------------------
# Messages

async def test_messages_both_ways(bed, xmpp):
    channel, (alice, bob), pids = await setup(bed, xmpp, "alice", "bob")
    for c in (alice, bob):
        c.queue("mix_message")

    for sender, receiver, user, other in ((alice, bob, "alice", "bob"), (bob, alice, "bob", "alice")):
        sent_id = send_groupchat(sender, channel, f"hello from {user}")
        own = await sender.next("mix_message")
        copy = await receiver.next("mix_message")
        for m in (own, copy):
            assert m["type"] == "groupchat"
            assert m["body"] == f"hello from {user}"
            assert str(m["from"]) == f"{channel}/{pids[bed.jid(user)]}", "from = channel/participant-id"
            assert m["mix"]["nick"] == user.capitalize()
            assert m["mix"]["jid"] == bed.jid(user)
            # The message id is the channel's archive id, which is also its stanza-id.
            assert stanza_ids(m, by=channel) == [(channel, m["id"])], str(m)
            assert m["id"] != sent_id
        assert own["id"] == copy["id"]
        # Only the sender's copy names the id it submitted, inside <mix/>.
        assert submission_id(own) == sent_id, str(own)
        assert submission_id(copy) is None, str(copy)
        # mod_mix_pam archived each copy in the recipient's own archive (stanza-id by the user).
        assert len(stanza_ids(own, by=bed.jid(user))) == 1, str(own)
        assert len(stanza_ids(copy, by=bed.jid(other))) == 1, str(copy)


async def test_every_resource_of_a_participant_gets_a_copy(bed, xmpp):
    channel, (alice, bob), _ = await setup(bed, xmpp, "alice", "bob")
    bob2 = await xmpp.connect("bob", resource="second")
    for c in (bob, bob2):
        c.queue("mix_message")
    send_groupchat(alice, channel, "to both of you")
    a, b = await bob.next("mix_message"), await bob2.next("mix_message")
    assert a["id"] == b["id"] and a["body"] == b["body"] == "to both of you"
    assert str(a["to"]) == str(bob.boundjid) and str(b["to"]) == str(bob2.boundjid)


async def test_unknown_payloads_pass_through(bed, xmpp):
    channel, (alice, bob), _ = await setup(bed, xmpp, "alice", "bob")
    bob.queue("mix_message")
    foo = "<foo xmlns='urn:example:foo' a='1'><bar>x &amp; y</bar><baz xmlns='urn:example:baz'/></foo>"
    origin = f"origin-{uuid.uuid4().hex[:8]}"
    send_groupchat(alice, channel, "with payloads", extra=[
        foo,
        f"<origin-id xmlns='{NS_SID}' id='{origin}'/>",
        "<thread xmlns='jabber:client'>t-42</thread>",
    ])
    msg = await bob.next("mix_message")
    got = msg.xml.find("{urn:example:foo}foo")
    assert got is not None, f"custom payload lost: {msg}"
    assert got.get("a") == "1"
    assert got.findtext("{urn:example:foo}bar") == "x & y"
    assert got.find("{urn:example:baz}baz") is not None
    assert msg.xml.find(q(NS_SID, "origin-id")).get("id") == origin
    assert msg["thread"] == "t-42"

    # The archive gives the same message as the live copy (apart from what bob's own
    # server added: its stanza-id by bob@localhost).
    def children(el):
        return sorted(ET.tostring(c).decode() for c in el
                      if not (c.tag == q(NS_SID, "stanza-id") and c.get("by") != channel))
    page = await mam(bob, channel)
    archived = [m for m in page.messages if m.get("id") == msg["id"]]
    assert len(archived) == 1
    assert children(archived[0]) == children(msg.xml), (ET.tostring(archived[0]), str(msg))
    assert archived[0].get("from") == str(msg["from"])

    # A message whose only content is an unknown payload is a message too.
    send_groupchat(alice, channel, None, extra=["<foo xmlns='urn:example:foo'>alone</foo>"])
    msg = await bob.next("mix_message")
    assert msg.xml.findtext("{urn:example:foo}foo") == "alone"
    assert msg["body"] == ""


async def test_big_message_passes_through_live_and_archive(bed, xmpp):
    channel, (alice, bob), _ = await setup(bed, xmpp, "alice", "bob")
    bob.queue("mix_message")
    body = "".join(f"{n:05} \u00e9\u4e2d " for n in range(3000))  # about 27 000 characters
    send_groupchat(alice, channel, body)
    msg = await bob.next("mix_message")
    assert msg["body"] == body
    page = await mam(bob, channel)
    assert page.bodies == [body]


async def test_what_the_sender_cannot_forge_is_replaced(bed, xmpp):
    channel, (alice, bob), _ = await setup(bed, xmpp, "alice", "bob")
    bob.queue("mix_message")
    send_groupchat(alice, channel, "forged", extra=[
        f"<mix xmlns='{NS_MIX_CORE}'><nick>Queen</nick><jid>queen@localhost</jid></mix>",
        f"<stanza-id xmlns='{NS_SID}' id='forged-id' by='{channel}'/>",
    ])
    msg = await bob.next("mix_message")
    mixes = msg.xml.findall(q(NS_MIX_CORE, "mix"))
    assert len(mixes) == 1, str(msg)
    assert msg["mix"]["nick"] == "Alice" and msg["mix"]["jid"] == bed.jid("alice")
    assert stanza_ids(msg, by=channel) == [(channel, msg["id"])], str(msg)


# ---------------------------------------------------------------------------
# Participants and subscriptions

async def test_participants_list_has_nicks_and_jids(bed, xmpp):
    channel, (alice, bob, carol), pids = await setup(bed, xmpp, "alice", "bob", "carol")
    for client in (alice, bob, carol):
        participants = await client.plugin["xep_0369"].list_participants(channel, timeout=IQ_TIMEOUT)
        assert sorted((item_id, nick, str(jid)) for item_id, nick, jid in participants) == sorted(
            (f"{pids[bed.jid(u)]}#{channel}", u.capitalize(), bed.jid(u)) for u in ("alice", "bob", "carol"))
    # Non-participants do not see the list.
    eve = await xmpp.connect("eve")
    assert await error_of(eve.plugin["xep_0369"].list_participants(channel, timeout=IQ_TIMEOUT)) \
        == ("auth", "forbidden")


async def test_participants_node_event_on_join(bed, xmpp):
    channel, (alice,), _ = await setup(bed, xmpp, "alice")
    alice.queue("mix_participant_info_publish")
    bob = await xmpp.connect("bob")
    join = await client_join(bob, channel, "Bob")
    proxy = f"{join.get('id')}#{channel}"
    # Alice's own join may still be announced to her; the first item about Bob is the one.
    event = await next_matching(alice, "mix_participant_info_publish",
                                lambda e: e["pubsub_event"]["items"]["item"]["id"] == proxy)
    item = event["pubsub_event"]["items"]["item"]
    # XEP-0369 7.1.3: the participants node item published for a join carries the nick
    # given in the join (a participant is never announced without its nick).
    assert item["mix_participant"]["nick"] == "Bob", f"first participants item for Bob: {event}"
    assert str(item["mix_participant"]["jid"]) == bed.jid("bob")
    # One join, one notification.
    try:
        again = await next_matching(alice, "mix_participant_info_publish",
                                    lambda e: e["pubsub_event"]["items"]["item"]["id"] == proxy, timeout=QUIET)
    except AssertionError:
        again = None
    assert again is None, f"a second participants notification for one join: {again}"
    assert str(item["mix_participant"]["jid"]) == bed.jid("bob")


async def test_update_subscription_stops_and_restarts_copies(bed, xmpp):
    channel, (alice, bob), _ = await setup(bed, xmpp, "alice", "bob")
    mix = bob.plugin["xep_0369"]
    for c in (alice, bob):
        c.queue("mix_message")

    not_sub, not_unsub = await mix.update_subscription(JID(channel), unsubscribe={NODE_MESSAGES}, timeout=IQ_TIMEOUT)
    assert (not_sub, not_unsub) == (set(), set()), "the result confirms the unsubscription"
    send_groupchat(alice, channel, "bob does not hear this")
    assert (await alice.next("mix_message"))["body"] == "bob does not hear this"
    await assert_quiet(bob, "mix_message", what="after unsubscribing from messages")
    # Still a participant: listed, and may post.
    participants = await alice.plugin["xep_0369"].list_participants(channel, timeout=IQ_TIMEOUT)
    assert bed.jid("bob") in {str(j) for _, _, j in participants}

    not_sub, not_unsub = await mix.update_subscription(JID(channel), subscribe={NODE_MESSAGES}, timeout=IQ_TIMEOUT)
    assert (not_sub, not_unsub) == (set(), set()), "the result confirms the subscription"
    send_groupchat(alice, channel, "bob hears this")
    assert (await bob.next("mix_message"))["body"] == "bob hears this"
    assert (await alice.next("mix_message"))["body"] == "bob hears this"


@pytest.mark.deadline(90)
async def test_concurrent_senders_everyone_sees_one_order(bed, xmpp):
    channel, clients, _ = await setup(bed, xmpp, "alice", "bob", "carol")
    alice, bob, carol = clients
    for c in clients:
        c.queue("mix_message")
    n = 40
    for i in range(n):  # interleaved, without waiting: the channel serialises them
        send_groupchat(alice, channel, f"a{i}")
        send_groupchat(bob, channel, f"b{i}")
    orders = []
    for c in clients:
        orders.append([(await c.next("mix_message", timeout=30))["id"] for _ in range(2 * n)])
    assert orders[0] == orders[1] == orders[2], "every participant gets the messages in the same order"
    page = await mam(carol, channel, rsm={"max": 2 * n})
    assert page.ids == orders[0], "the archive has the order the participants saw"
    bodies = page.bodies
    assert [b for b in bodies if b.startswith("a")] == [f"a{i}" for i in range(n)]
    assert [b for b in bodies if b.startswith("b")] == [f"b{i}" for i in range(n)]


async def test_several_bodies_and_languages_pass_through(bed, xmpp):
    channel, (alice, bob), _ = await setup(bed, xmpp, "alice", "bob")
    bob.queue("mix_message")
    send_groupchat(alice, channel, "Hello \u2764 <&>", extra=[
        "<body xmlns='jabber:client' xml:lang='de'>Hallo \u00e4\u00f6\u00fc</body>",
        "<subject xmlns='jabber:client'>Topic? no: a message subject</subject>",
    ])
    msg = await bob.next("mix_message")
    bodies = {b.get("{http://www.w3.org/XML/1998/namespace}lang"): b.text for b in msg.xml.findall(q(NS_CLIENT, "body"))}
    assert "Hello \u2764 <&>" in bodies.values()
    assert bodies.get("de") == "Hallo \u00e4\u00f6\u00fc"
    assert msg.xml.findtext(q(NS_CLIENT, "subject")) == "Topic? no: a message subject"


async def test_client_join_with_a_taken_nick_is_refused_and_leaves_no_trace(bed, xmpp):
    channel, (alice,), _ = await setup(bed, xmpp, "alice")
    bob = await xmpp.connect("bob")
    assert await error_of(client_join(bob, channel, "ALICE")) == ("cancel", "conflict")
    assert channel not in await plain_roster(bob), "no roster item for a failed join"
    participants = await alice.plugin["xep_0369"].list_participants(channel, timeout=IQ_TIMEOUT)
    assert [str(j) for _, _, j in participants] == [bed.jid("alice")]
    # A failed join left no participant behind: bob's message is refused.
    bob.queue("message_error")
    send_groupchat(bob, channel, "am I in?")
    assert (await bob.next("message_error"))["error"]["condition"] == "forbidden"


async def test_client_join_to_a_missing_channel_is_item_not_found(bed, xmpp):
    bob = await xmpp.connect("bob")
    channel = f"{unique_name('nosuch')}@{bed.main.mix}"
    assert await error_of(client_join(bob, channel, "Bob")) == ("cancel", "item-not-found")
    assert channel not in await plain_roster(bob)


async def test_leave_then_join_again(bed, xmpp):
    channel, (alice, bob), pids = await setup(bed, xmpp, "alice", "bob")
    await bob.mix_leave(channel)
    join = await client_join(bob, channel, "Bob")
    assert join.get("id")
    assert (await mix_roster(bob)).get(channel) == join.get("id")
    bob.queue("mix_message")
    send_groupchat(alice, channel, "welcome again")
    msg = await bob.next("mix_message")
    assert msg["body"] == "welcome again"


async def test_unsubscribed_from_participants_gets_no_participant_events(bed, xmpp):
    channel, (alice, carol), _ = await setup(bed, xmpp, "alice", "carol")
    await asyncio.sleep(0.3)  # let the join notifications of the setup arrive first
    _, failed = await carol.plugin["xep_0369"].update_subscription(
        JID(channel), unsubscribe={NODE_PARTICIPANTS}, timeout=IQ_TIMEOUT)
    assert failed == set()
    alice.queue("mix_participant_info_publish")
    carol.queue("mix_participant_info_publish")
    dave = await xmpp.connect("dave")
    join = await client_join(dave, channel, "Dave")
    proxy = f"{join.get('id')}#{channel}"
    await next_matching(alice, "mix_participant_info_publish",
                        lambda e: e["pubsub_event"]["items"]["item"]["id"] == proxy)
    await assert_quiet(carol, "mix_participant_info_publish", what="after unsubscribing from participants")
    # Carol still gets messages.
    carol.queue("mix_message")
    send_groupchat(dave, channel, "hi all")
    assert (await carol.next("mix_message"))["body"] == "hi all"


@pytest.mark.parametrize("nick", ["", "   ", "bad\u007fdel", "c1\u0085control", "\u200b"])
async def test_invalid_nick_is_bad_request(bed, xmpp, nick):
    channel, (alice,), _ = await setup(bed, xmpp, "alice")
    iq = alice.raw_iq(channel, "set", f"<setnick xmlns='{NS_MIX_CORE}'><nick>{escape(nick)}</nick></setnick>")
    assert await alice.iq_error(iq) == ("modify", "bad-request"), repr(nick)
    participants = await alice.plugin["xep_0369"].list_participants(channel, timeout=IQ_TIMEOUT)
    assert [n for _, n, _ in participants] == ["Alice"]


# ---------------------------------------------------------------------------
# Archive

@pytest.mark.deadline(180)
async def test_mam_paging_over_300_messages(bed, xmpp):
    channel, (alice, bob), _ = await setup(bed, xmpp, "alice", "bob")
    total, size = 300, 50
    alice.queue("mix_message")
    for n in range(total):
        send_groupchat(alice, channel, f"msg {n:03}")
    live = [await alice.next("mix_message", timeout=60) for _ in range(total)]
    assert [m["body"] for m in live] == [f"msg {n:03}" for n in range(total)], "live order = send order"
    ids = [m["id"] for m in live]
    assert len(set(ids)) == total

    # Forward: first page without <after/>, then after = last of the previous page.
    seen, after, pages = [], None, 0
    while True:
        page = await mam(bob, channel, rsm={"max": size, **({"after": after} if after else {})})
        pages += 1
        assert len(page.messages) == size, f"page {pages}: {len(page.messages)} results"
        assert page.count == total
        assert (page.first, page.last) == (page.ids[0], page.ids[-1])
        assert page.result_ids == page.ids, "result id = archived message id"
        seen.extend(page.messages)
        if page.complete:
            break
        assert pages < total // size, f"page {pages} (the last one) is not marked complete"
        after = page.last
    assert pages == total // size, f"complete only on the last page; got complete on page {pages}"
    assert [m.get("id") for m in seen] == ids, "forward pages: every message once, in order"
    assert [m.findtext(q(NS_CLIENT, "body")) for m in seen] == [f"msg {n:03}" for n in range(total)]
    sample = seen[7]
    assert sample.get("type") == "groupchat"
    assert sample.findtext(q(NS_MIX_CORE, "mix", "nick")) == "Alice"
    assert sample.find(f"{q(NS_SID, 'stanza-id')}[@by='{channel}']").get("id") == sample.get("id")

    # Backward: <before/> gives the last page, then before = first of the previous page.
    back, before, pages = [], None, 0
    while True:
        page = await mam(bob, channel, rsm={"max": size, "before": before})
        pages += 1
        assert len(page.messages) == size, f"backward page {pages}: {len(page.messages)} results"
        assert page.count == total
        assert (page.first, page.last) == (page.ids[0], page.ids[-1])
        assert page.ids == sorted(page.ids, key=ids.index), "each page is in chronological order"
        back = page.messages + back
        if page.complete:
            break
        assert pages < total // size, f"backward page {pages} not marked complete"
        before = page.first
    assert pages == total // size, f"backward: complete only on the page with the oldest; got page {pages}"
    assert [m.get("id") for m in back] == ids, "backward pages: every message once, in order"

    # The same archive through slixmpp's own RSM iteration (xep_0313 iterate), both ways.
    forward = [m["mam_result"]["forwarded"]["stanza"]["id"] async for m in
               bob.plugin["xep_0313"].iterate(jid=JID(channel), rsm={"max": size})]
    assert forward == ids
    backward = [m["mam_result"]["forwarded"]["stanza"]["id"] async for m in
                bob.plugin["xep_0313"].iterate(jid=JID(channel), rsm={"max": size}, reverse=True)]
    assert backward == ids[::-1]

    # A page size that does not divide the count: the short page is the last one each way.
    forward, after = [], None
    for n, expected in enumerate((70, 70, 70, 70, 20), 1):
        page = await mam(bob, channel, rsm={"max": 70, **({"after": after} if after else {})})
        assert len(page.messages) == expected and page.complete == (n == 5), (n, len(page.messages), page.complete)
        forward.extend(page.ids)
        after = page.last
    assert forward == ids
    backward, before = [], None
    for n, expected in enumerate((70, 70, 70, 70, 20), 1):
        page = await mam(bob, channel, rsm={"max": 70, "before": before})
        assert len(page.messages) == expected and page.complete == (n == 5), (n, len(page.messages), page.complete)
        backward = page.ids + backward
        before = page.first
    assert backward == ids
    # max above the service's limit (250) is cut down, and the page says it is not the end.
    page = await mam(bob, channel, rsm={"max": 1000})
    assert page.ids == ids[:250] and not page.complete and page.count == total
    # max=0: just the count.
    page = await mam(bob, channel, rsm={"max": 0})
    assert page.messages == [] and page.count == total


async def test_mam_after_id_and_before_id_fields(bed, xmpp):
    channel, (alice, bob), _ = await setup(bed, xmpp, "alice", "bob")
    alice.queue("mix_message")
    for n in range(10):
        send_groupchat(alice, channel, f"m{n}")
    ids = [(await alice.next("mix_message"))["id"] for _ in range(10)]
    page = await mam(bob, channel, fields={"after-id": ids[3]})
    assert page.ids == ids[4:] and page.complete
    page = await mam(bob, channel, fields={"before-id": ids[3]})
    assert page.ids == ids[:3] and page.complete
    page = await mam(bob, channel, fields={"after-id": ids[2], "before-id": ids[6]})
    assert page.ids == ids[3:6]
    alice_pid = (await mix_roster(alice))[channel]
    page = await mam(bob, channel, fields={"with": f"{channel}/{alice_pid}"}, rsm={"max": 4})
    assert page.ids == ids[:4] and not page.complete and page.count == 10
    # with = a real bare JID: that user's messages only.
    send_groupchat(bob, channel, "from bob")
    bob_id = (await alice.next("mix_message"))["id"]
    page = await mam(bob, channel, fields={"with": bed.jid("bob")})
    assert page.ids == [bob_id] and page.count == 1
    page = await mam(bob, channel, fields={"with": bed.jid("alice")})
    assert page.ids == ids and page.count == 10
    # ids: exactly those messages, in archive order.
    page = await mam(bob, channel, fields={"ids": [ids[5], ids[1]]})
    assert page.ids == [ids[1], ids[5]]
    assert await error_of(mam(bob, channel, fields={"ids": [ids[1], "no-such-id"]})) == ("cancel", "item-not-found")
    # flip-page: the same page, newest first.
    page = await mam(bob, channel, fields={"with": bed.jid("alice")}, rsm={"max": 3, "before": None, "flip-page": True})
    assert page.ids == ids[-1:-4:-1]
    # An unknown id is an error, not an empty page.
    assert await error_of(mam(bob, channel, fields={"after-id": "no-such-id"})) == ("cancel", "item-not-found")


async def test_mam_start_and_end_times(bed, xmpp):
    channel, (alice, bob), _ = await setup(bed, xmpp, "alice", "bob")
    alice.queue("mix_message")
    for n in range(6):
        send_groupchat(alice, channel, f"t{n}")
        await alice.next("mix_message")
        await asyncio.sleep(0.05)  # distinct millisecond stamps
    everything = await mam(bob, channel)
    ids, stamps = everything.ids, everything.stamps
    assert len(ids) == 6 and all(stamps), everything.stamps
    assert stamps == sorted(stamps)
    # start and end are inclusive (XEP-0313 4.1.2), with the stamps the archive gives.
    page = await mam(bob, channel, fields={"start": stamps[2]})
    assert page.ids == ids[2:], (stamps, page.stamps)
    page = await mam(bob, channel, fields={"end": stamps[3]})
    assert page.ids == ids[:4], (stamps, page.stamps)
    page = await mam(bob, channel, fields={"start": stamps[1], "end": stamps[4]})
    assert page.ids == ids[1:5] and page.count == 4


async def test_mam_by_non_participant_is_forbidden(bed, xmpp):
    channel, _, _ = await setup(bed, xmpp, "alice")
    eve = await xmpp.connect("eve")
    assert await error_of(mam(eve, channel)) == ("auth", "forbidden")


@pytest.mark.deadline(90)
async def test_offline_participant_catches_up_from_channel_archive(bed, xmpp):
    channel, (alice, bob), _ = await setup(bed, xmpp, "alice", "bob")
    for c in (alice, bob):
        c.queue("mix_message")
    for n in range(3):
        send_groupchat(alice, channel, f"before {n}")
    seen = [await bob.next("mix_message") for _ in range(3)]
    last_seen = seen[-1]["id"]
    for _ in range(3):
        await alice.next("mix_message")

    await bob.stop()
    await asyncio.sleep(0.5)
    missed = []
    for n in range(5):
        send_groupchat(alice, channel, f"while away {n}")
        missed.append((await alice.next("mix_message"))["id"])

    bob = await xmpp.connect("bob", resource="back")
    # The channel's archive, after the last id bob saw (after-id field, and RSM after).
    page = await mam(bob, channel, fields={"after-id": last_seen})
    assert page.ids == missed and page.complete
    assert page.bodies == [f"while away {n}" for n in range(5)]
    page = await mam(bob, channel, rsm={"after": last_seen, "max": 50})
    assert page.ids == missed and page.complete and page.count == 8
    # mod_mix_pam kept them in bob's own archive too (XEP-0405 2.11), not bounced.
    own = await mam(bob, bed.jid("bob"), fields={"with": channel})
    assert [m.get("id") for m in own.messages][-5:] == missed
    # And bob is still a participant who gets live messages.
    bob.queue("mix_message")
    send_groupchat(alice, channel, "welcome back")
    assert (await bob.next("mix_message"))["body"] == "welcome back"


# ---------------------------------------------------------------------------
# Leave and destroy

async def test_client_leave_removes_roster_item_and_stops_messages(bed, xmpp):
    channel, (alice, bob), _ = await setup(bed, xmpp, "alice", "bob")
    assert channel in await mix_roster(bob)
    pushes = catch(bob, "roster-push", f"{{{NS_CLIENT}}}iq[@type='set']/{{{NS_ROSTER}}}query")
    alice.queue("mix_participant_info_retract")

    result = await bob.plugin["xep_0405"].leave_channel(JID(channel), timeout=IQ_TIMEOUT)
    assert result.xml.find(q(NS_MIX_PAM, "client-leave") + "/" + q(NS_MIX_CORE, "leave")) is not None, str(result)
    push = await get(pushes, "roster push removing the channel")
    item = push.xml.find(f"{q(NS_ROSTER, 'query', 'item')}[@jid='{channel}']")
    assert item is not None and item.get("subscription") == "remove", str(push)
    assert channel not in await mix_roster(bob)
    assert channel not in await plain_roster(bob)
    # Alice is told (participants node retraction), and bob is off the list.
    await alice.next("mix_participant_info_retract")
    participants = await alice.plugin["xep_0369"].list_participants(channel, timeout=IQ_TIMEOUT)
    assert [str(j) for _, _, j in participants] == [bed.jid("alice")]

    for c in (alice, bob):
        c.queue("mix_message")
    send_groupchat(alice, channel, "bob has gone")
    await alice.next("mix_message")
    await assert_quiet(bob, "mix_message", what="after leaving")
    # Nor may bob read the archive any more, and his nick is free for others.
    assert await error_of(mam(bob, channel)) == ("auth", "forbidden")
    assert await alice.plugin["xep_0369"].set_nick(JID(channel), "bob", timeout=IQ_TIMEOUT) == "bob"


async def test_destroy_by_owner_only(bed, xmpp):
    channel, (alice, bob), _ = await setup(bed, xmpp, "alice", "bob", prefix="doomed")
    name = JID(channel).user
    muc_jid = f"{name}@{bed.main.muc}"
    assert channel in [j for j, _ in await alice.disco_items(bed.main.mix)]
    assert muc_jid in [j for j, _ in await alice.disco_items(bed.main.muc)]

    destroy = f"<destroy xmlns='{NS_MIX_CORE}' channel='{name}'/>"
    # A participant who is not an owner may not destroy it.
    assert await bob.iq_error(bob.raw_iq(bed.main.mix, "set", destroy)) == ("auth", "forbidden")
    assert channel in [j for j, _ in await bob.disco_items(bed.main.mix)]

    bob.queue("mix_participant_info_retract")
    await alice.raw_iq(bed.main.mix, "set", destroy).send(timeout=IQ_TIMEOUT)
    # Gone from both domains.
    assert channel not in [j for j, _ in await alice.disco_items(bed.main.mix)]
    assert muc_jid not in [j for j, _ in await alice.disco_items(bed.main.muc)]
    for jid in (channel, muc_jid):
        iq = alice.raw_iq(jid, "get", "<query xmlns='http://jabber.org/protocol/disco#info'/>")
        assert await alice.iq_error(iq) == ("cancel", "item-not-found"), jid
    # Former participants are told their own item is gone (docs/mix.md's choice).
    retract = await bob.next("mix_participant_info_retract")
    assert retract["pubsub_event"]["items"]["retract"]["id"].endswith(f"#{channel}")
    # A second destroy: the channel is unknown.
    assert await alice.iq_error(alice.raw_iq(bed.main.mix, "set", destroy)) == ("cancel", "item-not-found")
    # Bob's server still lists the dead channel; client-leave cleans it up.
    assert channel in await mix_roster(bob)
    try:
        await bob.plugin["xep_0405"].leave_channel(JID(channel), timeout=IQ_TIMEOUT)
    except IqError as err:
        assert err.iq["error"]["condition"] == "item-not-found", str(err.iq)
    assert channel not in await mix_roster(bob)


async def test_service_admin_may_destroy_any_channel(bed, xmpp, alt_instance):
    with alt_instance(admins=[bed.jid("admin")]) as inst:
        alice = await xmpp.connect("alice")
        name = await alice.create_channel(inst.mix, unique_name("adm"))
        channel = f"{name}@{inst.mix}"
        await client_join(alice, channel, "Alice")
        admin = await xmpp.connect("admin")
        bob = await xmpp.connect("bob")
        destroy = f"<destroy xmlns='{NS_MIX_CORE}' channel='{name}'/>"
        assert await bob.iq_error(bob.raw_iq(inst.mix, "set", destroy)) == ("auth", "forbidden")
        await admin.raw_iq(inst.mix, "set", destroy).send(timeout=IQ_TIMEOUT)
        assert channel not in [j for j, _ in await alice.disco_items(inst.mix)]
        assert f"{name}@{inst.muc}" not in [j for j, _ in await alice.disco_items(inst.muc)]


async def test_channel_created_again_after_destroy_starts_empty(bed, xmpp):
    channel, (alice, bob), _ = await setup(bed, xmpp, "alice", "bob", prefix="phoenix")
    name = JID(channel).user
    alice.queue("mix_message")
    send_groupchat(bob, channel, "old times")
    await alice.next("mix_message")
    await alice.raw_iq(bed.main.mix, "set",
                       f"<destroy xmlns='{NS_MIX_CORE}' channel='{name}'/>").send(timeout=IQ_TIMEOUT)
    assert await alice.create_channel(bed.main.mix, name) == name
    # Nobody from the old channel is a participant of the new one, nor holds a nick there.
    bob.queue("message_error")
    sent = send_groupchat(bob, channel, "am I still in?")
    err = await bob.next("message_error")
    assert err["id"] == sent and err["error"]["condition"] == "forbidden", str(err)
    join = await client_join(alice, channel, "Bob")  # bob's old nick is free
    assert join.findtext(q(NS_MIX_CORE, "nick")) == "Bob"
    participants = await alice.plugin["xep_0369"].list_participants(channel, timeout=IQ_TIMEOUT)
    assert [(n, str(j)) for _, n, j in participants] == [("Bob", bed.jid("alice"))]
    # The archive of the destroyed channel is gone (keep_archive_on_destroy is off).
    page = await mam(alice, channel)
    assert page.messages == [] and page.count == 0 and page.complete


async def test_nick_is_shared_with_the_muc_view(bed, xmpp):
    channel, (alice,), _ = await setup(bed, xmpp, "alice")
    room = f"{JID(channel).user}@{bed.main.muc}"
    carol = await xmpp.connect("carol")
    await carol.plugin["xep_0045"].join_muc_wait(JID(room), "Crone", maxstanzas=0, timeout=IQ_TIMEOUT)
    # A MUC occupant's nick is taken for MIX participants, and the other way round.
    assert await error_of(alice.plugin["xep_0369"].set_nick(JID(channel), "crone", timeout=IQ_TIMEOUT)) \
        == ("cancel", "conflict")
    # The MUC occupant hears the MIX participant.
    carol.queue("groupchat_message")
    send_groupchat(alice, channel, "hello MUC")
    msg = await next_matching(carol, "groupchat_message", lambda m: m["body"] == "hello MUC")
    assert str(msg["from"]) == f"{room}/Alice"
    # And the MIX participant hears the MUC occupant.
    alice.queue("mix_message")
    carol.send_message(mto=room, mbody="hello MIX", mtype="groupchat")
    msg = await next_matching(alice, "mix_message", lambda m: m["body"] == "hello MIX")
    assert msg["mix"]["nick"] == "Crone"


# ---------------------------------------------------------------------------
# Errors a real client sees

async def test_message_from_non_participant_is_forbidden(bed, xmpp):
    channel, (alice,), _ = await setup(bed, xmpp, "alice")
    eve = await xmpp.connect("eve")
    eve.queue("message_error")
    alice.queue("mix_message")
    sent = send_groupchat(eve, channel, "let me in")
    err = await eve.next("message_error")
    assert err["id"] == sent and err["from"].bare == channel, str(err)
    assert (err["error"]["type"], err["error"]["condition"]) == ("auth", "forbidden"), str(err)
    await assert_quiet(alice, "mix_message", what="from a non-participant")


async def test_message_before_setting_a_nick_is_not_acceptable(bed, xmpp):
    channel, (alice,), _ = await setup(bed, xmpp, "alice")
    dave = await xmpp.connect("dave")
    join = await client_join(dave, channel, None)
    assert join.get("id") and join.find(q(NS_MIX_CORE, "nick")) is None
    dave.queue("message_error")
    alice.queue("mix_message")
    sent = send_groupchat(dave, channel, "who am I")
    err = await dave.next("message_error")
    assert err["id"] == sent and err["from"].bare == channel, str(err)
    assert (err["error"]["type"], err["error"]["condition"]) == ("modify", "not-acceptable"), str(err)
    await assert_quiet(alice, "mix_message", what="from a participant without a nick")
    # With a nick, the same participant is heard.
    assert await dave.plugin["xep_0369"].set_nick(JID(channel), "Dave", timeout=IQ_TIMEOUT) == "Dave"
    send_groupchat(dave, channel, "now I am Dave")
    msg = await alice.next("mix_message")
    assert msg["body"] == "now I am Dave" and msg["mix"]["nick"] == "Dave"


async def test_message_of_type_chat_is_bad_request(bed, xmpp):
    channel, (alice,), _ = await setup(bed, xmpp, "alice")
    alice.queue("message_error")
    msg = alice.make_message(mto=channel, mbody="not groupchat", mtype="chat")
    msg["id"] = "chat-1"
    msg.send()
    err = await alice.next("message_error")
    assert err["id"] == "chat-1"
    assert err["error"]["condition"] == "bad-request", str(err)


async def test_message_after_leaving_is_forbidden(bed, xmpp):
    channel, (alice, bob), _ = await setup(bed, xmpp, "alice", "bob")
    await bob.mix_leave(channel)
    bob.queue("message_error")
    sent = send_groupchat(bob, channel, "still here?")
    err = await bob.next("message_error")
    assert err["id"] == sent and err["error"]["condition"] == "forbidden", str(err)


async def test_empty_message_is_bad_request(bed, xmpp):
    channel, (alice,), _ = await setup(bed, xmpp, "alice")
    alice.queue("message_error")
    alice.queue("mix_message")
    sent = send_groupchat(alice, channel, None)
    err = await alice.next("message_error")
    assert err["id"] == sent and err["error"]["condition"] == "bad-request", str(err)
    await assert_quiet(alice, "mix_message", what="for an empty message")


async def test_message_to_destroyed_channel_is_item_not_found(bed, xmpp):
    channel, (alice,), _ = await setup(bed, xmpp, "alice")
    await alice.raw_iq(bed.main.mix, "set",
                       f"<destroy xmlns='{NS_MIX_CORE}' channel='{JID(channel).user}'/>").send(timeout=IQ_TIMEOUT)
    alice.queue("message_error")
    sent = send_groupchat(alice, channel, "anyone?")
    err = await alice.next("message_error")
    assert err["id"] == sent and err["error"]["condition"] == "item-not-found", str(err)
