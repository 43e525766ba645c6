"""Hostile input through the real server (issue "Safe to expose"): a stanza
with a name or value the XML parser refuses, or over the size limit, in the
middle of steady traffic costs its sender an error and nothing else. Every
message around it is archived and echoed, the component link is not
dropped (no "link lost" in mixmuc's log), and mixmuc keeps its PID.

(The same at the link level, without a server: tests/link_robustness.rs.)
"""

from __future__ import annotations

import asyncio
import os

import pytest
from slixmpp.xmlstream import ET

from bed import IQ_TIMEOUT
from test_muc import RoomLog, enter, kind, new_room

#: Messages sent around the hostile stanzas.
STEADY = 120


async def test_oversized_stanzas_do_not_take_the_link_down(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    room, _ = await new_room(bed, alice, "Alice", "hostile")
    await enter(bob, room, "Bob", seen_by=[alice])
    log_before = bed.log_offset()
    pid = (bed.dir / "mixmuc-main" / "pid").read_text().strip() if (bed.dir / "mixmuc-main" / "pid").exists() else None
    bob_log = RoomLog(bob, room)
    # Answers are read raw: slixmpp 1.17 does not know the RFC 6120
    # condition policy-violation and fails on it.
    errors: dict[str, object] = {}

    def record(stanza):
        if stanza["type"] == "error" and stanza["id"] in ("h1", "h2", "h3"):
            errors[stanza["id"]] = stanza.xml
        return stanza
    alice.add_filter("in", record)

    long = "n" * 9000
    for i in range(STEADY):
        alice.send_message(mto=room, mbody=f"steady {i}", mtype="groupchat")
        if i == STEADY // 3:
            alice.send_raw(f"<iq type='get' id='h1' to='{bed.main.muc}'><query xmlns='http://jabber.org/protocol/disco#info' node='{long}'/></iq>")
        if i == STEADY // 2:
            alice.send_raw(f"<iq type='get' id='h2' to='{room}'><query xmlns='http://jabber.org/protocol/disco#items' node='{long}'/></iq>")
            # An over-long attribute on a message: its sender gets an error.
            alice.send_raw(f"<message type='groupchat' id='h3' to='{room}' xml:lang='{long}'><body>too long</body></message>")
        if i % 20 == 0:
            await asyncio.sleep(0.05)
    got = await bob_log.until(lambda s: kind(s) == "message" and (s["body"] or "") == f"steady {STEADY - 1}", timeout=60,
                              what="the last steady message")
    bodies = [s["body"] for s in got if kind(s) == "message" and (s["body"] or "").startswith("steady ")]
    assert bodies == [f"steady {i}" for i in range(STEADY)], f"missing or out of order: {sorted(set(f'steady {i}' for i in range(STEADY)) - set(bodies))}"
    for _ in range(IQ_TIMEOUT * 10):
        if len(errors) == 3:
            break
        await asyncio.sleep(0.1)
    assert sorted(errors) == ["h1", "h2", "h3"], errors
    for e in errors.values():
        assert e.find("{jabber:client}error/{urn:ietf:params:xml:ns:xmpp-stanzas}policy-violation") is not None
    log = bed.mixmuc_log().read_bytes()[log_before:].decode(errors="replace")
    assert "link lost" not in log and "reconnecting" not in log, log[-2000:]
    assert "stanza dropped before parsing" in log
    if pid is not None:
        assert (bed.dir / "mixmuc-main" / "pid").read_text().strip() == pid
        os.kill(int(pid), 0)


# ---------------------------------------------------------------------------
# The hostile client: many malformed or hostile requests of every kind, to
# both domains, through Prosody (stanzas over Prosody's own c2s size limit
# never reach mixmuc: Prosody closes that client's stream; mixmuc's own size
# limit is tested at the link, tests/link_robustness.rs). Each request that needs an answer gets the
# error named; error stanzas get none; nothing internal reaches the client;
# mixmuc keeps its PID and its links.

NO_ANSWER = ()
STANZAS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas"


#: Cases whose label starts with one of these are sent by the room's owner
#: (alice): their answer is about the value, not about who may ask.
BY_OWNER = ("mam:", "admin:", "owner:", "muc: invitation to a malformed JID", "muc: 11 invitations")


def hostile_cases(bed, room: str, channel: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(label, stanza xml with id '{id}', allowed error conditions; () = no answer).
    Sent by a stranger (eve) unless the label starts with one of BY_OWNER."""
    mix, muc = bed.main.mix, bed.main.muc
    long = "L" * 9000
    deep = "<a xmlns='urn:example:deep'>" * 300 + "</a>" * 300
    cases: list[tuple[str, str, tuple[str, ...]]] = []
    targets = {"mix service": mix, "muc service": muc, "channel": channel, "room": room}
    for tname, to in targets.items():
        iq = lambda t, body: f"<iq type='{t}' id='{{id}}' to='{to}'>{body}</iq>"  # noqa: E731
        cases += [
            (f"{tname}: unknown get", iq("get", "<query xmlns='urn:example:nothing'/>"), ("service-unavailable",)),
            (f"{tname}: unknown set", iq("set", "<query xmlns='urn:example:nothing'/>"), ("service-unavailable",)),
            (f"{tname}: get without payload", iq("get", ""), ("bad-request",)),
            (f"{tname}: get with two payloads", iq("get", "<ping xmlns='urn:xmpp:ping'/><ping xmlns='urn:xmpp:ping'/>"), ("bad-request",)),
            (f"{tname}: disco#info of an unknown node", iq("get", "<query xmlns='http://jabber.org/protocol/disco#info' node='urn:example:nosuch'/>"), ("item-not-found",)),
            (f"{tname}: disco#items of an unknown node", iq("get", "<query xmlns='http://jabber.org/protocol/disco#items' node='urn:example:nosuch'/>"), ("item-not-found",)),
            (f"{tname}: disco node over the token limit", iq("get", f"<query xmlns='http://jabber.org/protocol/disco#info' node='{long}'/>"), ("policy-violation",)),
            (f"{tname}: xml:lang over the token limit", f"<iq type='get' id='{{id}}' to='{to}' xml:lang='{long}'><ping xmlns='urn:xmpp:ping'/></iq>", ("policy-violation",)),
            (f"{tname}: element name over the token limit", iq("get", f"<{long} xmlns='urn:example:x'/>"), ("policy-violation",)),
            (f"{tname}: 300 levels deep", iq("get", deep), ("service-unavailable",)),
            (f"{tname}: iq of a bogus type", f"<iq type='bogus' id='{{id}}' to='{to}'><ping xmlns='urn:xmpp:ping'/></iq>", ("bad-request",)),
            (f"{tname}: iq error", f"<iq type='error' id='{{id}}' to='{to}'><error type='cancel'><item-not-found xmlns='{STANZAS_NS}'/></error></iq>", NO_ANSWER),
            (f"{tname}: iq result nobody asked for", f"<iq type='result' id='{{id}}' to='{to}'/>", NO_ANSWER),
            (f"{tname}: message error", f"<message type='error' id='{{id}}' to='{to}'><error type='cancel'><gone xmlns='{STANZAS_NS}'/></error></message>", NO_ANSWER),
            (f"{tname}: presence error", f"<presence type='error' id='{{id}}' to='{to}'><error type='cancel'><gone xmlns='{STANZAS_NS}'/></error></presence>", NO_ANSWER),
            (f"{tname}: message of a bogus type", f"<message type='bogus' id='{{id}}' to='{to}'><body>x</body></message>", ("bad-request",)),
            (f"{tname}: presence of a bogus type", f"<presence type='bogus' id='{{id}}' to='{to}'/>", ("bad-request",)),
            (f"{tname}: message with an over-long xml:lang", f"<message type='chat' id='{{id}}' to='{to}' xml:lang='{long}'><body>x</body></message>", ("policy-violation",)),
            # An id over the token limit cannot be answered (the answer needs it).
            (f"{tname}: iq with an over-long id", f"<iq type='get' id='{long}' to='{to}'><ping xmlns='urn:xmpp:ping'/></iq>", NO_ANSWER),
        ]
    mam = lambda fields, rsm="": f"<iq type='set' id='{{id}}' to='{room}'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>{fields}</x>{rsm}</query></iq>"  # noqa: E731
    field = lambda var, *vs: f"<field var='{var}'>" + "".join(f"<value>{v}</value>" for v in vs) + "</field>"  # noqa: E731
    rsm = lambda body: f"<set xmlns='http://jabber.org/protocol/rsm'>{body}</set>"  # noqa: E731
    cases += [
        ("mam: start is no date", mam(field("start", "yesterday")), ("bad-request",)),
        ("mam: end is no date", mam(field("end", "2024-13-45T99:99:99Z")), ("bad-request",)),
        ("mam: with a@b@c", mam(field("with", "a@b@c")), ("jid-malformed",)),
        ("mam: with 64 KB", mam(field("with", "w" * 65536)), ("jid-malformed",)),
        ("mam: unknown field", mam(field("colour", "red")), ("bad-request",)),
        ("mam: two values for start", mam(field("start", "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z")), ("bad-request",)),
        ("mam: after-id unknown", mam(field("after-id", "nosuch")), ("item-not-found",)),
        ("mam: before-id unknown", mam(field("before-id", "nosuch")), ("item-not-found",)),
        ("mam: ids unknown", mam(field("ids", "nosuch")), ("item-not-found",)),
        ("mam: 251 ids", mam(field("ids", *[f"i{i}" for i in range(251)])), ("policy-violation",)),
        ("mam: rsm max abc", mam("", rsm("<max>abc</max>")), ("bad-request",)),
        ("mam: rsm max huge", mam("", rsm("<max>99999999999999999999999999</max>")), ("bad-request",)),
        ("mam: rsm max negative", mam("", rsm("<max>-1</max>")), ("bad-request",)),
        ("mam: rsm after unknown", mam("", rsm("<after>nosuch</after>")), ("item-not-found",)),
        ("mam: rsm after 64 KB", mam("", rsm(f"<after>{'a' * 65536}</after>")), ("item-not-found",)),
        ("mam: rsm index", mam("", rsm("<index>3</index>")), ("feature-not-implemented",)),
        ("mam: wrong form type", f"<iq type='set' id='{{id}}' to='{room}'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:example:other</value></field></x></query></iq>", ("bad-request",)),
        ("mam: on the service", f"<iq type='set' id='{{id}}' to='{muc}'><query xmlns='urn:xmpp:mam:2'/></iq>", ("service-unavailable",)),
        ("stranger: mam of a room one is not in", f"<iq type='set' id='{{id}}' to='{room}'><query xmlns='urn:xmpp:mam:2'/></iq>", ("forbidden",)),
        ("stranger: muc#admin list", f"<iq type='get' id='{{id}}' to='{room}'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast'/></query></iq>", ("forbidden",)),
        ("stranger: muc#admin ban", f"<iq type='set' id='{{id}}' to='{room}'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast' jid='alice@localhost'/></query></iq>", ("forbidden",)),
        ("stranger: muc#owner form", f"<iq type='get' id='{{id}}' to='{room}'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>", ("forbidden",)),
        ("stranger: muc#owner destroy", f"<iq type='set' id='{{id}}' to='{room}'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>", ("forbidden",)),
        ("stranger: invitation from outside", f"<message id='{{id}}' to='{room}'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='x@localhost'/></x></message>", ("not-acceptable",)),
    ]
    admin = lambda item: f"<iq type='set' id='{{id}}' to='{room}'><query xmlns='http://jabber.org/protocol/muc#admin'>{item}</query></iq>"  # noqa: E731
    cases += [
        ("admin: unknown affiliation", admin("<item affiliation='emperor' jid='x@localhost'/>"), ("bad-request",)),
        ("admin: unknown role", admin("<item role='god' nick='Alice'/>"), ("bad-request",)),
        ("admin: item naming nothing", admin("<item affiliation='member'/>"), ("bad-request",)),
        ("admin: malformed jid", admin("<item affiliation='member' jid='@@'/>"), ("bad-request", "jid-malformed")),
        ("admin: empty query", admin(""), ("bad-request",)),
        ("admin: kick of an unknown nick", admin("<item role='none' nick='Nobody'/>"), ("item-not-found",)),
        ("admin: ban of one's own server", admin(f"<item affiliation='outcast' jid='{bed.user_domain}'/>"), ("conflict",)),
        ("admin: get of an unknown list", f"<iq type='get' id='{{id}}' to='{room}'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='emperor'/></query></iq>", ("bad-request",)),
    ]
    owner = lambda fields: f"<iq type='set' id='{{id}}' to='{room}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>{fields}</x></query></iq>"  # noqa: E731
    cases += [
        ("owner: whois everyone", owner(field("muc#roomconfig_whois", "everyone")), ("not-acceptable",)),
        ("owner: maxusers -5", owner(field("muc#roomconfig_maxusers", "-5")), ("bad-request",)),
        ("owner: maxusers 0", owner(field("muc#roomconfig_maxusers", "0")), ("not-acceptable",)),
        ("owner: maxusers abc", owner(field("muc#roomconfig_maxusers", "abc")), ("bad-request",)),
        ("owner: boolean maybe", owner(field("muc#roomconfig_moderatedroom", "maybe")), ("bad-request",)),
        ("owner: owner list of a full JID", owner(field("muc#roomconfig_roomowners", "x@localhost/r")), ("bad-request", "not-acceptable")),
        ("owner: empty owner list", owner(field("muc#roomconfig_roomowners")), ("not-acceptable",)),
        ("owner: password protected", owner(field("muc#roomconfig_passwordprotectedroom", "1")), ("not-acceptable",)),
        ("owner: allowpm everybody", owner(field("muc#roomconfig_allowpm", "everybody")), ("not-acceptable",)),
        ("owner: lang 1en", owner(field("muc#roomconfig_lang", "1en")), ("not-acceptable",)),
        ("owner: wrong form type", f"<iq type='set' id='{{id}}' to='{room}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:example:other</value></field></x></query></iq>", ("bad-request",)),
        ("owner: a form of type result", f"<iq type='set' id='{{id}}' to='{room}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='result'/></query></iq>", ("bad-request",)),
        ("owner: destroy with a malformed alternate", f"<iq type='set' id='{{id}}' to='{room}'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='@@@'/></query></iq>", ("jid-malformed",)),
    ]
    mixiq = lambda t, body, to=channel: f"<iq type='{t}' id='{{id}}' to='{to}'>{body}</iq>"  # noqa: E731
    pubsub = lambda body: mixiq("get", f"<pubsub xmlns='http://jabber.org/protocol/pubsub'>{body}</pubsub>")  # noqa: E731
    cases += [
        ("mix: join with a blank nick", mixiq("set", "<join xmlns='urn:xmpp:mix:core:1'><nick>   </nick></join>"), ("bad-request",)),
        ("mix: join with a right-to-left override in the nick", mixiq("set", "<join xmlns='urn:xmpp:mix:core:1'><nick>bo&#x202E;b</nick></join>"), ("bad-request",)),
        ("mix: join with an invisible nick", mixiq("set", "<join xmlns='urn:xmpp:mix:core:1'><nick>bo&#x200B;b</nick></join>"), ("bad-request",)),
        ("mix: join with an unknown child", mixiq("set", "<join xmlns='urn:xmpp:mix:core:1'><bogus/></join>"), ("bad-request",)),
        ("mix: join of a missing channel", mixiq("set", "<join xmlns='urn:xmpp:mix:core:1'/>", f"nosuch-hostile@{mix}"), ("item-not-found",)),
        ("mix: join with a bad preference", mixiq("set", "<join xmlns='urn:xmpp:mix:core:1'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:anon:0</value></field><field var='JID Visibility'><value>sometimes</value></field></x></join>"), ("bad-request",)),
        ("mix: setnick by a non-participant", mixiq("set", "<setnick xmlns='urn:xmpp:mix:core:1'><nick>x</nick></setnick>"), ("forbidden",)),
        ("mix: leave of a channel one is not in", mixiq("set", "<leave xmlns='urn:xmpp:mix:core:1'/>"), NO_ANSWER + ("__result__",)),
        ("mix: items without a node", pubsub("<items/>"), ("bad-request",)),
        ("mix: items of an unknown node", pubsub("<items node='urn:example:nosuch'/>"), ("item-not-found", "forbidden")),
        ("mix: subscriptions", pubsub("<subscriptions/>"), ("feature-not-implemented",)),
        ("mix: JID map by a non-administrator", pubsub("<items node='urn:xmpp:mix:nodes:jidmap'/>"), ("forbidden",)),
        ("mix: config by a non-owner", pubsub("<items node='urn:xmpp:mix:nodes:config'/>"), ("forbidden",)),
        ("mix: publish to participants", mixiq("set", "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:participants'><item/></publish></pubsub>"), ("feature-not-implemented",)),
        ("mix: info publish by a non-owner", mixiq("set", "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:info'><item><x xmlns='jabber:x:data' type='submit'><field var='Name'><value>pwned</value></field></x></item></publish></pubsub>"), ("forbidden",)),
        ("mix: ban publish by a non-admin", mixiq("set", "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:banned'><item id='x@localhost'/></publish></pubsub>"), ("forbidden",)),
        ("mix: user-preference by a non-participant", mixiq("get", "<user-preference xmlns='urn:xmpp:mix:anon:0'/>"), ("forbidden",)),
        ("mix: create with a # in the name", mixiq("set", "<create xmlns='urn:xmpp:mix:core:1' channel='a#b'/>", mix), ("bad-request",)),
        ("mix: create of an existing channel", mixiq("set", f"<create xmlns='urn:xmpp:mix:core:1' channel='{channel.split('@')[0]}'/>", mix), ("conflict",)),
        ("mix: destroy by a non-owner", mixiq("set", f"<destroy xmlns='urn:xmpp:mix:core:1' channel='{channel.split('@')[0]}'/>", mix), ("forbidden",)),
        ("mix: IQ to an unknown proxy JID", mixiq("get", "<ping xmlns='urn:xmpp:ping'/>", f"nosuch#{channel}"), ("item-not-found", "forbidden")),
        ("mix: message to an unknown proxy JID", f"<message type='chat' id='{{id}}' to='nosuch#{channel}'><body>x</body></message>", ("item-not-found", "forbidden")),
        ("mix: groupchat by a non-participant", f"<message type='groupchat' id='{{id}}' to='{channel}'><body>x</body></message>", ("forbidden",)),
        ("mix: invite for a non-participant", mixiq("get", "<invite xmlns='urn:xmpp:mix:core:1'><invitee>x@localhost</invitee></invite>"), ("forbidden",)),
    ]
    cases += [
        ("muc: presence to the bare room", f"<presence id='{{id}}' to='{room}'/>", ("jid-malformed",)),
        ("muc: plain presence to a missing room", f"<presence id='{{id}}' to='nosuch-hostile@{muc}/me'/>", ("item-not-found",)),
        ("muc: groupchat to a missing room", f"<message type='groupchat' id='{{id}}' to='nosuch-hostile@{muc}'><body>x</body></message>", ("item-not-found",)),
        ("muc: private message to an unknown nick", f"<message type='chat' id='{{id}}' to='{room}/Nobody'><body>x</body></message>", ("item-not-found", "not-acceptable")),
        ("muc: IQ to an unknown nick", f"<iq type='get' id='{{id}}' to='{room}/Nobody'><ping xmlns='urn:xmpp:ping'/></iq>", ("item-not-found", "not-acceptable")),
        ("muc: 11 invitations", f"<message id='{{id}}' to='{room}'><x xmlns='http://jabber.org/protocol/muc#user'>" + "".join(f"<invite to='u{i}@localhost'/>" for i in range(11)) + "</x></message>", ("policy-violation",)),
        ("muc: invitation to a malformed JID", f"<message id='{{id}}' to='{room}'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='@@@'/></x></message>", ("jid-malformed",)),
        ("muc: decline nobody asked for", f"<message id='{{id}}' to='{room}'><x xmlns='http://jabber.org/protocol/muc#user'><decline to='victim@localhost'/></x></message>", ("item-not-found",)),
        ("muc: user data with nothing in it", f"<message id='{{id}}' to='{room}'><x xmlns='http://jabber.org/protocol/muc#user'/></message>", ("bad-request",)),
        ("muc: self-ping from outside", f"<iq type='get' id='{{id}}' to='{room}/Alice'><ping xmlns='urn:xmpp:ping'/></iq>", ("not-acceptable",)),
    ]
    return cases


@pytest.mark.deadline(180)
async def test_hostile_client_gets_errors_and_changes_nothing(bed, xmpp):
    alice = await xmpp.connect("alice")
    room, _ = await new_room(bed, alice, "Alice", "hostile2")
    channel = room.replace(f"@{bed.main.muc}", f"@{bed.main.mix}")
    mallory = await xmpp.connect("eve")
    pid = (bed.dir / "mixmuc-main" / "pid").read_text().strip()
    log_before = bed.log_offset()
    cases = hostile_cases(bed, room, channel)
    answers: dict[str, object] = {}

    def record(stanza):
        sid = stanza["id"]
        if isinstance(sid, str) and sid.startswith("hx"):
            answers[sid] = stanza.xml
        return stanza
    mallory.add_filter("in", record)
    alice.add_filter("in", record)
    for n, (label, xml, _) in enumerate(cases):
        sender = alice if label.startswith(BY_OWNER) else mallory
        sender.send_raw(xml.replace("{id}", f"hx{n}"))
        if n % 10 == 9:
            await asyncio.sleep(0.1)
    # Wait until every request that needs an answer has one (or time is up),
    # then a quiet moment for those that must get none.
    wanted = {f"hx{n}" for n, (_, _, allowed) in enumerate(cases) if allowed}
    for _ in range(300):
        if wanted <= answers.keys():
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)
    problems = []
    for n, (label, _, allowed) in enumerate(cases):
        got = answers.get(f"hx{n}")
        if not allowed or allowed == ("__result__",):
            if got is not None and got.get("type") == "error":
                problems.append(f"{label}: answered an error, wanted none: {ET.tostring(got, encoding='unicode')[:300]}")
            continue
        if "__result__" in allowed and got is not None and got.get("type") == "result":
            continue
        if got is None:
            problems.append(f"{label}: no answer")
            continue
        err = got.find("{jabber:client}error")
        conditions = [c.tag.split("}")[1] for c in (err if err is not None else []) if c.tag.startswith(f"{{{STANZAS_NS}}}") and not c.tag.endswith("}text")]
        if got.get("type") != "error" or not conditions or conditions[0] not in allowed:
            problems.append(f"{label}: wanted {allowed}, got {ET.tostring(got, encoding='unicode')[:300]}")
            continue
        text = err.findtext(f"{{{STANZAS_NS}}}text") or ""
        if len(text) > 200 or any(w in text.lower() for w in ("internal", "panick", "parse error", "invalid digit", "sqlx", "rxml")):
            problems.append(f"{label}: the error text says too much: {text[:200]}")
    print(f"{len(cases)} hostile requests, {len(problems)} problems")
    assert not problems, "\n".join(problems)
    assert len(cases) >= 150, len(cases)
    log = bed.mixmuc_log().read_bytes()[log_before:].decode(errors="replace")
    assert "link lost" not in log and "panicked" not in log, log[-3000:]
    assert (bed.dir / "mixmuc-main" / "pid").read_text().strip() == pid
    os.kill(int(pid), 0)
