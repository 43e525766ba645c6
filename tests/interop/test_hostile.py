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
