"""Ad-hoc commands (XEP-0050, in the style of XEP-0133) with slixmpp's
xep_0050 through a real Prosody (issue 24; docs/muc.md and docs/mix.md,
"Ad-hoc commands").

The instance "alt" runs with admin@localhost as its service admin. Bob
creates a room on its MUC domain (its owner), Carol enters it as a MUC
occupant, Alice joins the same channel as a MIX client through her
server's mod_mix_pam. The admin runs every service command on both
domains; Bob (a room owner, no service admin) is refused each of them and
runs the room's own command (clear the history), which Carol may not. A
service-wide ban is then seen by a MUC client and a MIX client.
"""

from __future__ import annotations

import pytest
from slixmpp import JID
from slixmpp.exceptions import IqError

from bed import IQ_TIMEOUT, unique_name
from test_muc import RoomLog, accept_instant_room, body, codes, enter, has_destroy, is_error, kind, mam_all, muc_item, nick_of, say

pytestmark = pytest.mark.usefixtures("mix_pam")

NS_COMMANDS = "http://jabber.org/protocol/commands"
NS_PUBSUB_EVENT = "http://jabber.org/protocol/pubsub#event"

LIST = "urn:mixmuc:admin:0#list-channels"
STATS = "urn:mixmuc:admin:0#statistics"
DESTROY = "urn:mixmuc:admin:0#destroy-channel"
BAN = "urn:mixmuc:admin:0#ban"
UNBAN = "urn:mixmuc:admin:0#unban"
KICK = "urn:mixmuc:admin:0#kick"
ANNOUNCE = "http://jabber.org/protocol/admin#announce"
CLEAR = "urn:mixmuc:room:0#clear-history"
SERVICE_COMMANDS = [LIST, STATS, DESTROY, BAN, UNBAN, KICK, ANNOUNCE]


def form(client, **fields):
    """A submitted XEP-0004 form (field names with '_' for '-')."""
    f = client.plugin["xep_0004"].make_form(ftype="submit")
    for var, value in fields.items():
        f.add_field(var=var.replace("_", "-"), value=value)
    return f


async def command(client, to: str, node: str, action: str = "execute", sessionid: str | None = None, **fields):
    """One step of a command: the <command/> of the result."""
    payload = form(client, **fields) if fields else None
    iq = await client.plugin["xep_0050"].send_command(JID(to), node, action=action, sessionid=sessionid, payload=payload, timeout=IQ_TIMEOUT)
    return iq["command"]


async def run(client, to: str, node: str, **fields):
    """execute → the form → complete with FIELDS: the completed <command/>."""
    first = await command(client, to, node)
    assert first["status"] == "executing", str(first)
    assert first["form"]["type"] == "form", str(first)
    done = await command(client, to, node, action="complete", sessionid=first["sessionid"], **fields)
    assert done["status"] == "completed", str(done)
    return done


async def refused(coro) -> tuple[str, str]:
    """(condition, text) of the IQ error a request gets."""
    try:
        got = await coro
    except IqError as err:
        return err.iq["error"]["condition"], err.iq["error"]["text"]
    raise AssertionError(f"not refused: {got}")


def note(cmd) -> str:
    return cmd.xml.findtext(f"{{{NS_COMMANDS}}}note") or ""


async def command_nodes(client, to: str) -> list[str]:
    iq = await client.plugin["xep_0050"].get_commands(JID(to), timeout=IQ_TIMEOUT)
    return sorted(node for _, node, _ in iq["disco_items"]["items"])


async def setup(bed, xmpp, inst, prefix: str):
    """admin, bob (room owner), carol (MUC occupant), alice (MIX participant)."""
    admin = await xmpp.connect("admin")
    bob = await xmpp.connect("bob")
    carol = await xmpp.connect("carol")
    alice = await xmpp.connect("alice")
    for c in (admin, bob, carol):
        c.register_plugin("xep_0050")
    room = f"{unique_name(prefix)}@{inst.muc}"
    entry = await enter(bob, room, "Bob")
    assert entry.error is None, str(entry.error)
    await accept_instant_room(bob, room)
    channel = f"{JID(room).user}@{inst.mix}"
    assert (await enter(carol, room, "Carol", seen_by=[bob])).error is None
    await alice.mix_join(channel, "Alice")
    return admin, bob, carol, alice, room, channel


def is_unavailable_of(nick: str, code: int):
    return lambda s: kind(s) == "presence" and s["type"] == "unavailable" and nick_of(s) == nick and code in codes(s)


def retracts_participant(s) -> bool:
    return s.xml.find(f".//{{{NS_PUBSUB_EVENT}}}retract") is not None


@pytest.mark.deadline(120)
async def test_every_command_as_admin_and_not(bed, xmpp, alt_instance):
    with alt_instance(admins=[bed.jid("admin")]) as inst:
        admin, bob, carol, alice, room, channel = await setup(bed, xmpp, inst, "adhoc")

        # The command lists: all seven for the admin on both domains, none for
        # Bob; the room's own command for its owner only.
        for domain in (inst.muc, inst.mix):
            assert await command_nodes(admin, domain) == sorted(SERVICE_COMMANDS)
            assert await command_nodes(bob, domain) == []
        assert await command_nodes(bob, room) == [CLEAR]
        assert await command_nodes(bob, channel) == [CLEAR]
        assert await command_nodes(carol, room) == []

        # Every service command is forbidden to Bob, with or without a form.
        for domain in (inst.muc, inst.mix):
            for node in SERVICE_COMMANDS:
                cond, _ = await refused(command(bob, domain, node))
                assert cond == "forbidden", (domain, node)
        cond, _ = await refused(command(bob, inst.muc, BAN, action="complete", jid=bed.jid("carol")))
        assert cond == "forbidden"

        # Statistics: one stage.
        stats = await command(admin, inst.muc, STATS)
        assert stats["status"] == "completed", str(stats)
        values = stats["form"]["values"]
        assert int(values["channels"]) >= 1 and int(values["participants"]) >= 3 and int(values["occupants"]) >= 2, values

        # List channels: a bad value names the field; then the page with our room.
        first = await command(admin, inst.mix, LIST)
        assert first["form"]["values"]["max"] == "50"
        cond, text = await refused(command(admin, inst.mix, LIST, action="complete", sessionid=first["sessionid"], max="lots"))
        assert (cond, text) == ("bad-request", "max: 'lots' is not a number from 1 to 500")
        done = await command(admin, inst.mix, LIST, action="complete", sessionid=first["sessionid"], page="1", max="500")
        assert done["status"] == "completed", str(done)
        rows = {item["channel"]: item for item in done["form"]["items"]}
        assert channel in rows, list(rows)
        assert rows[channel]["participants"] == "3", rows[channel]
        # Cancel ends a session; it cannot be completed afterwards.
        first = await command(admin, inst.muc, LIST)
        canceled = await command(admin, inst.muc, LIST, action="cancel", sessionid=first["sessionid"])
        assert canceled["status"] == "canceled"
        cond, _ = await refused(command(admin, inst.muc, LIST, action="complete", sessionid=first["sessionid"], page="1"))
        assert cond == "bad-request"

        # Announce: from the room to both MUC occupants, from the channel to Alice (MIX).
        bob_log, carol_log, alice_log = RoomLog(bob, room), RoomLog(carol, room), RoomLog(alice, channel)
        done = await run(admin, inst.muc, ANNOUNCE, announcement="Maintenance at noon")
        assert "Announced in" in note(done)
        for log in (bob_log, carol_log, alice_log):
            got = (await log.until(lambda s: kind(s) == "message" and body(s) == "Maintenance at noon", what="the announcement"))[-1]
            assert got["from"] == JID(log.room), str(got)
            assert got["type"] == "groupchat"
        # Not archived.
        assert not any(body(m) == "Maintenance at noon" for _, m in await mam_all(bob, room))

        # Kick Carol from every room: 307 to her and to Bob; she may come back.
        done = await run(admin, inst.mix, KICK, jid=bed.jid("carol"), reason="Calm down")
        assert note(done).startswith(f"{bed.jid('carol')} was removed from "), note(done)
        own = (await carol_log.until(is_unavailable_of("Carol", 307), what="Carol's kick"))[-1]
        assert 110 in codes(own) and own.xml.findtext(".//{http://jabber.org/protocol/muc#user}reason") == "Calm down"
        await bob_log.until(is_unavailable_of("Carol", 307), what="Carol's kick seen by Bob")
        await alice_log.until(retracts_participant, what="Carol's participant item retracted (MIX view of the kick)")
        assert (await enter(carol, room, "Carol", seen_by=[bob])).error is None

        # The room's command: Carol is refused, Bob (owner) clears the history.
        await say(bob, room, "something to forget", log=bob_log)
        cond, _ = await refused(command(carol, room, CLEAR))
        assert cond == "forbidden"
        cond, text = await refused(command(bob, room, CLEAR, action="complete", confirm="perhaps"))
        assert (cond, text) == ("bad-request", "confirm: 'perhaps' is not a boolean")
        done = await run(bob, room, CLEAR, confirm="1")
        assert "archived message(s) deleted" in note(done), note(done)
        assert await mam_all(bob, room) == []
        assert await mam_all(alice, channel) == []

        # Ban and unban (the ban itself is seen in the next test).
        done = await run(admin, inst.muc, BAN, jid="spam.example", reason="spam")
        assert note(done) == "spam.example is banned from the service; removed from 0 channel(s)."
        first = await command(admin, inst.muc, UNBAN)
        assert "spam.example" in (first["form"]["instructions"] or ""), str(first)
        done = await command(admin, inst.muc, UNBAN, action="complete", sessionid=first["sessionid"], jid="spam.example")
        assert note(done) == "spam.example is no longer banned from the service."
        cond, _ = await refused(command(admin, inst.muc, UNBAN, action="complete", jid="spam.example"))
        assert cond == "item-not-found"

        # Destroy with a reason: both MUC occupants get the destroy, the channel is gone for MIX too.
        done = await run(admin, inst.mix, DESTROY, channel=room, reason="Closing time")
        assert note(done) == f"The channel {JID(room).user} was destroyed."
        for log in (bob_log, carol_log):
            got = (await log.until(lambda s: kind(s) == "presence" and has_destroy(s), what="the destroy"))[-1]
            assert got.xml.findtext(".//{http://jabber.org/protocol/muc#user}reason") == "Closing time"
        await alice_log.until(retracts_participant, what="Alice's participant item retracted")
        items = [str(j) for j, _, _ in (await alice.plugin["xep_0030"].get_items(jid=inst.mix, timeout=IQ_TIMEOUT))["disco_items"]["items"]]
        assert channel not in items


@pytest.mark.deadline(120)
async def test_service_wide_ban_seen_from_muc_and_mix(bed, xmpp, alt_instance):
    with alt_instance(admins=[bed.jid("admin")]) as inst:
        admin, bob, carol, alice, room, channel = await setup(bed, xmpp, inst, "svcban")
        bob_log, carol_log, alice_log = RoomLog(bob, room), RoomLog(carol, room), RoomLog(alice, channel)

        try:
            # Carol (MUC) is banned from the service: 301 to her and to Bob.
            done = await run(admin, inst.muc, BAN, jid=bed.jid("carol"), reason="Spam")
            # (Other tests' rooms on this instance may hold Carol too.)
            assert note(done).startswith(f"{bed.jid('carol')} is banned from the service; removed from "), note(done)
            own = (await carol_log.until(is_unavailable_of("Carol", 301), what="Carol's ban"))[-1]
            assert 110 in codes(own) and muc_item(own)["role"] == "none"
            await bob_log.until(is_unavailable_of("Carol", 301), what="Carol's ban seen by Bob")
            await alice_log.until(retracts_participant, what="Carol's participant item retracted (MIX view of the ban)")
            # Refused on entering, as an outcast: 403 forbidden; in any room.
            entry = await enter(carol, room, "Carol")
            assert entry.error is not None and entry.error["error"]["condition"] == "forbidden", str(entry.stanzas)
            other = f"{unique_name('svcban2')}@{inst.muc}"
            assert (await enter(bob, other, "Bob")).error is None
            await accept_instant_room(bob, other)
            entry = await enter(carol, other, "Carol")
            assert entry.error is not None and entry.error["error"]["condition"] == "forbidden", str(entry.stanzas)

            # Alice (MIX) is banned: her participant item is retracted, Bob sees her go.
            done = await run(admin, inst.mix, BAN, jid=bed.jid("alice"))
            assert note(done).startswith(f"{bed.jid('alice')} is banned from the service; removed from "), note(done)
            await alice_log.until(retracts_participant, what="Alice's own item retracted")
            await bob_log.until(is_unavailable_of("Alice", 301), what="Alice's ban seen by Bob")
            # Her MIX join is refused.
            cond, _ = await refused(alice.plugin["xep_0405"].join_channel(JID(channel), "Alice", timeout=IQ_TIMEOUT))
            assert cond == "forbidden"

            # Lifted: Carol comes back.
            await run(admin, inst.mix, UNBAN, jid=bed.jid("carol"))
            entry = await enter(carol, room, "Carol")
            assert entry.error is None, str(entry.stanzas)
        finally:
            # The alt instance's store outlives the test: lift what is left.
            for who in ("carol", "alice"):
                try:
                    await command(admin, inst.mix, UNBAN, action="complete", jid=bed.jid(who))
                except IqError:
                    pass
