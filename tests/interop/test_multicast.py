"""contrib's mod_component_multicast: XEP-0033 fan-out of one stanza from a trusted
component, through the bed's Prosody, to real slixmpp clients.

The sender is a raw XEP-0114 component (component.py) on the test-only domain
fanout.localhost; the multicast service is the VirtualHost, localhost.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import pytest
from slixmpp import JID

from component import RawComponent

NS_ADDRESS = "http://jabber.org/protocol/address"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_SID = "urn:xmpp:sid:0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Namespaces a stanza's own elements may carry: none (as written by the component),
# the component stream's, or the client stream's.
STANZA_NS = {"", "jabber:client", "jabber:component:accept"}


@pytest.fixture
def fanout(bed):
    """An async context manager: the raw component connected as fanout.localhost."""
    if not bed.has_component_multicast:
        pytest.skip("contrib/prosody/mod_component_multicast.lua is not there")
    domain, secret = bed.fanout
    return lambda: RawComponent.connect("127.0.0.1", bed.component_port, domain, secret)


def split_tag(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def canonical(elem: ET.Element, *, lang: str | None = None, top: bool = True):
    """A comparable form of a stanza: stream namespaces folded, 'to' left out, and
    xml:lang set to LANG when given (streams add their default language)."""
    ns, name = split_tag(elem.tag)
    if ns in STANZA_NS:
        ns = ""
    attrs = {k: v for k, v in elem.attrib.items() if not (top and k == "to")}
    if top and lang is not None:
        attrs[XML_LANG] = lang
    children = [canonical(child, top=False) for child in elem]
    return (ns, name, tuple(sorted(attrs.items())), (elem.text or "").strip(), tuple(children))


def addresses_of(elem: ET.Element) -> ET.Element | None:
    return elem.find(f"{{{NS_ADDRESS}}}addresses")


def without_addresses(xml: str) -> ET.Element:
    elem = ET.fromstring(xml)
    for child in elem.findall(f"{{{NS_ADDRESS}}}addresses"):
        elem.remove(child)
    return elem


def inbox(client, domain: str, kinds=("message", "presence")) -> asyncio.Queue:
    """Every stanza of KINDS the client receives from DOMAIN, as raw XML."""
    queue: asyncio.Queue = asyncio.Queue()

    def grab(stanza):
        name = split_tag(stanza.xml.tag)[1]
        sender_domain = stanza.xml.get("from", "").split("/")[0].split("@")[-1]
        if name in kinds and sender_domain == domain:
            queue.put_nowait(ET.fromstring(ET.tostring(stanza.xml)))
        return stanza

    client.add_filter("in", grab)
    return queue


async def first(queue: asyncio.Queue, pred, timeout: float = 10) -> ET.Element:
    """The first queued stanza for which PRED is true."""
    async def search():
        while True:
            elem = await queue.get()
            if pred(elem):
                return elem
    try:
        return await asyncio.wait_for(search(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"no matching stanza within {timeout}s") from None


async def until_marker(queue: asyncio.Queue, marker_id: str, timeout: float = 10) -> list[ET.Element]:
    """The stanzas received before the one with id MARKER_ID (which must arrive)."""
    got = []
    while True:
        try:
            elem = await asyncio.wait_for(queue.get(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"marker {marker_id} not received; before it: "
                                 f"{[ET.tostring(e).decode() for e in got]}") from None
        if elem.get("id") == marker_id:
            return got
        got.append(elem)


def address_xml(*addresses: tuple[str, str]) -> str:
    return "".join(f"<address type='{t}' jid='{j}'/>" for t, j in addresses)


async def connected(xmpp, *users):
    return [await xmpp.connect(user) for user in users]


def room(bed) -> str:
    return f"room@{bed.fanout[0]}"


def send_markers(comp, sender: str, jids, marker_id: str) -> None:
    for jid in jids:
        comp.send(f"<message from='{sender}' to='{jid}' id='{marker_id}'><body>marker</body></message>")


async def expect_error(comp, stanza_id: str, condition: str) -> ET.Element:
    answer = await comp.next()
    assert answer.get("id") == stanza_id, ET.tostring(answer).decode()
    assert answer.get("type") == "error", ET.tostring(answer).decode()
    error = answer.find("{jabber:component:accept}error")
    assert error is not None and error.find(f"{{{NS_STANZAS}}}{condition}") is not None, \
        ET.tostring(answer).decode()
    return answer


# ---------------------------------------------------------------------------

async def test_host_advertises_multicast(bed, xmpp, fanout):
    alice, = await connected(xmpp, "alice")
    info = await alice.disco_info(bed.user_domain)
    assert NS_ADDRESS in info.features


async def test_groupchat_to_full_jids_arrives_once_unchanged(bed, xmpp, fanout):
    alice, bob, carol, dave = await connected(xmpp, "alice", "bob", "carol", "dave")
    sender = f"{room(bed)}/Nick"
    queues = {c: inbox(c, bed.fanout[0]) for c in (alice, bob, carol, dave)}
    recipients = [c.boundjid.full for c in (alice, bob, carol)]
    stanza = (
        f"<message from='{sender}' to='{bed.user_domain}' type='groupchat' id='mc-1' xml:lang='fr'>"
        f"<addresses xmlns='{NS_ADDRESS}'>{address_xml(*(('bcc', j) for j in recipients))}</addresses>"
        "<body>hello, room</body>"
        "<x xmlns='urn:example:unknown' a='1'><y>payload &amp; more</y></x>"
        "</message>"
    )
    async with fanout() as comp:
        comp.send(stanza)
        send_markers(comp, sender, recipients + [dave.boundjid.full], "marker-1")
        expected = canonical(without_addresses(stanza))
        for client in (alice, bob, carol):
            got = await until_marker(queues[client], "marker-1")
            assert len(got) == 1, f"{client.boundjid}: {[ET.tostring(e).decode() for e in got]}"
            copy = got[0]
            assert copy.get("to") == client.boundjid.full
            assert copy.get(XML_LANG) == "fr"
            assert addresses_of(copy) is None
            assert canonical(copy) == expected
        assert await until_marker(queues[dave], "marker-1") == [], "dave was not a recipient"


async def test_bare_jid_recipients_get_their_own_copy(bed, xmpp, fanout):
    """Bare JIDs go through Prosody's normal path: top resource, the account's MAM."""
    eve, dave = await connected(xmpp, "eve", "dave")
    sender = f"{room(bed)}/Nick"
    queues = {c: inbox(c, bed.fanout[0]) for c in (eve, dave)}
    stanza = (
        f"<message from='{sender}' to='{bed.user_domain}' type='chat' id='mc-bare'>"
        f"<addresses xmlns='{NS_ADDRESS}'>"
        f"{address_xml(('bcc', bed.jid('eve')), ('bcc', bed.jid('dave')))}</addresses>"
        "<body>to your account</body></message>"
    )
    async with fanout() as comp:
        comp.send(stanza)
        send_markers(comp, sender, [eve.boundjid.full, dave.boundjid.full], "marker-bare")
        for client in (eve, dave):
            got = await until_marker(queues[client], "marker-bare")
            assert len(got) == 1
            copy = got[0]
            assert copy.get("to") == client.boundjid.bare
            assert addresses_of(copy) is None
            assert copy.findtext("{jabber:client}body") == "to your account"
            # mod_mam archived it for this account only: one stanza-id, by the recipient.
            by = [sid.get("by") for sid in copy.findall(f"{{{NS_SID}}}stanza-id")]
            assert by == [client.boundjid.bare]
    for client in (eve, dave):
        result = await client.plugin["xep_0313"].retrieve(with_jid=JID(room(bed)), timeout=10)
        bodies = [m["mam_result"]["forwarded"]["stanza"]["body"] for m in result["mam"]["results"]]
        assert "to your account" in bodies, f"{client.boundjid}: {bodies}"


async def test_delivery_errors_come_back_as_for_direct_stanzas(bed, xmpp, fanout):
    """groupchat to a bare JID is bounced by mod_message (no MIX channel): the
    component gets the same error it would get for a direct stanza."""
    bob, = await connected(xmpp, "bob")
    sender = f"{room(bed)}/Nick"
    async with fanout() as comp:
        comp.send(f"<message from='{sender}' to='{bed.jid('bob')}' type='groupchat' id='direct'><body>x</body></message>")
        direct = await expect_error(comp, "direct", "service-unavailable")
        comp.send(f"<message from='{sender}' to='{bed.user_domain}' type='groupchat' id='multi'>"
                  f"<addresses xmlns='{NS_ADDRESS}'>{address_xml(('bcc', bed.jid('bob')))}</addresses>"
                  "<body>x</body></message>")
        multi = await expect_error(comp, "multi", "service-unavailable")
        assert (multi.get("from"), multi.get("to")) == (direct.get("from"), direct.get("to")) \
            == (bed.jid("bob"), sender)


async def test_presence_multicast(bed, xmpp, fanout):
    alice, bob, carol = await connected(xmpp, "alice", "bob", "carol")
    sender = f"{room(bed)}/Nick"
    queues = {c: inbox(c, bed.fanout[0]) for c in (alice, bob, carol)}
    recipients = [alice.boundjid.full, bob.boundjid.full, bed.jid("carol")]
    available = (
        f"<presence from='{sender}' to='{bed.user_domain}' id='pr-1'>"
        f"<addresses xmlns='{NS_ADDRESS}'>{address_xml(*(('bcc', j) for j in recipients))}</addresses>"
        "<show>away</show><x xmlns='http://jabber.org/protocol/muc#user'>"
        "<item affiliation='none' role='participant'/></x></presence>"
    )
    unavailable = (
        f"<presence from='{sender}' to='{bed.user_domain}' type='unavailable' id='pr-2'>"
        f"<addresses xmlns='{NS_ADDRESS}'>{address_xml(*(('bcc', j) for j in recipients))}</addresses>"
        "<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none'/></x></presence>"
    )
    async with fanout() as comp:
        comp.send(available + unavailable)
        send_markers(comp, sender, [alice.boundjid.full, bob.boundjid.full, carol.boundjid.full], "marker-pr")
        for client, to in zip((alice, bob, carol), recipients):
            got = await until_marker(queues[client], "marker-pr")
            assert [g.get("id") for g in got] == ["pr-1", "pr-2"], \
                f"{client.boundjid}: {[ET.tostring(e).decode() for e in got]}"
            assert [g.get("to") for g in got] == [to, to]
            assert canonical(got[0], lang="en") == canonical(without_addresses(available), lang="en")
            assert canonical(got[1], lang="en") == canonical(without_addresses(unavailable), lang="en")


async def test_to_and_cc_are_shown_and_marked_delivered(bed, xmpp, fanout):
    alice, bob, carol = await connected(xmpp, "alice", "bob", "carol")
    sender = f"{room(bed)}/Nick"
    queues = {c: inbox(c, bed.fanout[0]) for c in (alice, bob, carol)}
    a, b, c = (x.boundjid.full for x in (alice, bob, carol))
    stanza = (
        f"<message from='{sender}' to='{bed.user_domain}' type='chat' id='mc-cc'>"
        f"<addresses xmlns='{NS_ADDRESS}'>"
        f"<address type='to' jid='{a}' desc='Alice'/><address type='cc' jid='{b}'/>"
        f"<address type='bcc' jid='{c}'/><address type='replyto' jid='{room(bed)}'/>"
        "</addresses><body>see the headers</body></message>"
    )
    shown = [("to", a, "true", "Alice"), ("cc", b, "true", None), ("replyto", room(bed), None, None)]
    async with fanout() as comp:
        comp.send(stanza)
        send_markers(comp, sender, [a, b, c], "marker-cc")
        for client in (alice, bob, carol):
            got = await until_marker(queues[client], "marker-cc")
            assert len(got) == 1
            addresses = addresses_of(got[0])
            assert addresses is not None
            seen = [(x.get("type"), x.get("jid"), x.get("delivered"), x.get("desc")) for x in addresses]
            assert seen == shown, f"{client.boundjid}: {seen}"


async def test_client_cannot_multicast(bed, xmpp, fanout):
    alice, bob = await connected(xmpp, "alice", "bob")
    alice_inbox = inbox(alice, bed.user_domain, kinds=("message",))
    bob_inbox = inbox(bob, bed.user_domain, kinds=("message",))
    msg = alice.make_message(mto=bed.user_domain, mbody="spam", mtype="chat")
    msg["id"] = "c2s-mc"
    msg.append(ET.fromstring(f"<addresses xmlns='{NS_ADDRESS}'>"
                             f"{address_xml(('bcc', bob.boundjid.full))}</addresses>"))
    msg.send()
    answer = await first(alice_inbox, lambda e: e.get("id") == "c2s-mc")
    assert (answer.get("type"), answer.get("from")) == ("error", bed.user_domain)
    assert answer.find(f"{{jabber:client}}error/{{{NS_STANZAS}}}forbidden") is not None
    # Alice's stanzas are handled in order: had the multicast reached Bob, it would
    # arrive before this marker.
    alice.send_message(mto=bob.boundjid.full, mbody="marker", mtype="chat")
    got = await first(bob_inbox, lambda e: True)
    assert (got.get("from"), got.findtext("{jabber:client}body")) == (alice.boundjid.full, "marker")


BAD = [
    pytest.param("<address type='cc'/>", "bad-request", id="no-jid"),
    pytest.param("<address type='bcc' jid='not@valid@localhost'/>", "jid-malformed", id="invalid-jid"),
    pytest.param("<address type='bcc' uri='sip:alice@example.org'/>", "jid-malformed", id="uri"),
    pytest.param("<address type='bcc' jid='alice@localhost' uri='sip:a@b'/>", "bad-request", id="jid-and-uri"),
    pytest.param("<address jid='alice@localhost'/>", "bad-request", id="no-type"),
    pytest.param("".join(f"<address type='bcc' jid='u{i}@localhost'/>" for i in range(10001)),
                 "not-acceptable", id="too-many"),
]


@pytest.mark.parametrize("bad, condition", BAD)
async def test_bad_addresses_are_refused_and_nothing_is_delivered(bed, xmpp, fanout, bad, condition):
    alice, = await connected(xmpp, "alice")
    sender = f"{room(bed)}/Nick"
    queue = inbox(alice, bed.fanout[0])
    async with fanout() as comp:
        # Alice's address is valid: the whole stanza is refused all the same.
        comp.send(f"<message from='{sender}' to='{bed.user_domain}' type='groupchat' id='bad'>"
                  f"<addresses xmlns='{NS_ADDRESS}'>{address_xml(('bcc', alice.boundjid.full))}{bad}"
                  "</addresses><body>x</body></message>")
        answer = await expect_error(comp, "bad", condition)
        assert answer.get("from") == bed.user_domain
        send_markers(comp, sender, [alice.boundjid.full], "marker-bad")
        assert await until_marker(queue, "marker-bad") == []


@pytest.mark.parametrize("addresses", [
    pytest.param("<address type='noreply'/><address type='replyto' jid='room@fanout.localhost'/>", id="no-recipient"),
    pytest.param("", id="empty"),
])
async def test_nothing_to_deliver_is_a_bad_request(bed, fanout, addresses):
    async with fanout() as comp:
        comp.send(f"<message from='{room(bed)}' to='{bed.user_domain}' type='groupchat' id='none'>"
                  f"<addresses xmlns='{NS_ADDRESS}'>{addresses}</addresses><body>x</body></message>")
        await expect_error(comp, "none", "bad-request")


async def test_already_delivered_addresses_are_not_delivered_again(bed, xmpp, fanout):
    alice, bob = await connected(xmpp, "alice", "bob")
    sender = f"{room(bed)}/Nick"
    queues = {c: inbox(c, bed.fanout[0]) for c in (alice, bob)}
    a, b = alice.boundjid.full, bob.boundjid.full
    async with fanout() as comp:
        comp.send(f"<message from='{sender}' to='{bed.user_domain}' type='chat' id='loop'>"
                  f"<addresses xmlns='{NS_ADDRESS}'><address type='to' jid='{a}' delivered='true'/>"
                  f"<address type='cc' jid='{b}'/></addresses><body>once</body></message>")
        send_markers(comp, sender, [a, b], "marker-loop")
        assert await until_marker(queues[alice], "marker-loop") == []
        got = await until_marker(queues[bob], "marker-loop")
        assert [g.get("id") for g in got] == ["loop"]
        shown = [(x.get("type"), x.get("jid"), x.get("delivered")) for x in addresses_of(got[0])]
        assert shown == [("to", a, "true"), ("cc", b, "true")]


async def test_errors_are_not_answered_with_errors(bed, xmpp, fanout):
    async with fanout() as comp:
        comp.send(f"<message from='{room(bed)}' to='{bed.user_domain}' type='error' id='err'>"
                  f"<addresses xmlns='{NS_ADDRESS}'><address type='noreply'/></addresses>"
                  "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
                  "</message>")
        comp.send(f"<iq from='{room(bed)}' to='{bed.user_domain}' type='get' id='after'>"
                  "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
        answer = await comp.next()
        assert (answer.get("id"), answer.get("type")) == ("after", "result"), ET.tostring(answer).decode()


# ---------------------------------------------------------------- compact form

NS_RECIPIENTS = "urn:mixmuc:recipients:0"


async def test_host_advertises_the_compact_form(bed, xmpp, fanout):
    alice, = await connected(xmpp, "alice")
    info = await alice.disco_info(bed.user_domain)
    assert NS_RECIPIENTS in info.features


async def test_compact_list_delivers_one_copy_each_without_the_list(bed, xmpp, fanout):
    alice, bob, carol, dave = await connected(xmpp, "alice", "bob", "carol", "dave")
    sender = f"{room(bed)}/Nick"
    queues = {c: inbox(c, bed.fanout[0]) for c in (alice, bob, carol, dave)}
    recipients = [c.boundjid.full for c in (alice, bob, carol)]
    # Bob twice: one copy all the same.
    listed = "\n".join(recipients + [bob.boundjid.full])
    stanza = (
        f"<message from='{sender}' to='{bed.user_domain}' type='groupchat' id='cmc-1'>"
        f"<recipients xmlns='{NS_RECIPIENTS}'>{listed}</recipients>"
        "<body>hello, compact room</body></message>"
    )
    async with fanout() as comp:
        comp.send(stanza)
        send_markers(comp, sender, recipients + [dave.boundjid.full], "marker-c1")
        expected = ET.fromstring(stanza)
        expected.remove(expected.find(f"{{{NS_RECIPIENTS}}}recipients"))
        for client in (alice, bob, carol):
            got = await until_marker(queues[client], "marker-c1")
            assert len(got) == 1, f"{client.boundjid}: {[ET.tostring(e).decode() for e in got]}"
            assert got[0].get("to") == client.boundjid.full
            assert got[0].find(f"{{{NS_RECIPIENTS}}}recipients") is None
            assert canonical(got[0], lang="-") == canonical(expected, lang="-")
        assert await until_marker(queues[dave], "marker-c1") == [], "dave was not a recipient"


@pytest.mark.parametrize("extra, condition", [
    pytest.param("\nnot@valid@localhost", "jid-malformed", id="invalid-jid"),
    pytest.param("".join(f"\nu{i}@localhost" for i in range(10001)), "not-acceptable", id="too-many"),
])
async def test_compact_bad_lists_are_refused_and_nothing_is_delivered(bed, xmpp, fanout, extra, condition):
    alice, = await connected(xmpp, "alice")
    sender = f"{room(bed)}/Nick"
    queue = inbox(alice, bed.fanout[0])
    async with fanout() as comp:
        comp.send(f"<message from='{sender}' to='{bed.user_domain}' type='groupchat' id='cbad'>"
                  f"<recipients xmlns='{NS_RECIPIENTS}'>{alice.boundjid.full}{extra}</recipients>"
                  "<body>x</body></message>")
        await expect_error(comp, "cbad", condition)
        send_markers(comp, sender, [alice.boundjid.full], "marker-cbad")
        assert await until_marker(queue, "marker-cbad") == []


async def test_compact_empty_list_is_a_bad_request(bed, fanout):
    async with fanout() as comp:
        comp.send(f"<message from='{room(bed)}' to='{bed.user_domain}' type='groupchat' id='cnone'>"
                  f"<recipients xmlns='{NS_RECIPIENTS}'/><body>x</body></message>")
        await expect_error(comp, "cnone", "bad-request")
