"""mixmuc demo: a short scripted scenario with real slixmpp clients.

Run by scripts/demo against a running test bed (private Prosody + mixmuc):

    python tests/interop/demo.py BED_DIR

It prints what each client sends and sees, and exits non-zero if any step fails.
To extend it, add an ``async def`` decorated with ``@scene("...")``: scenes run in
the order they are defined, share one ``Demo`` object (clients by name, a ``state``
dict for values such as the channel name), and fail with ``check(...)``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import urllib.request
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from slixmpp import JID  # noqa: E402
from bed import (Bed, Client, FORM_MIX_MIRROR, FORM_MUC_MIRROR, NS_MIX_CORE,  # noqa: E402
                 NS_MUC)

SCENE_TIMEOUT = 30
SCENES = []


def scene(title: str):
    def register(func):
        SCENES.append((title, func))
        return func
    return register


class DemoFailure(AssertionError):
    pass


class Skip(Exception):
    """A scene that cannot run on this bed (e.g. no mod_mix_pam): said, not failed."""


def check(condition: bool, what: str) -> None:
    if not condition:
        raise DemoFailure(what)
    print(f"      ok: {what}")


class Demo:
    def __init__(self, bed: Bed):
        self.bed = bed
        self.clients: dict[str, Client] = {}
        self.state: dict[str, object] = {}

    async def client(self, user: str) -> Client:
        """The connected client of USER, connecting it on first use."""
        if user not in self.clients:
            client = await self.bed.connect(user, resource="demo")
            self.clients[user] = client
            say(f"{client.boundjid} is online")
        return self.clients[user]

    async def close(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.clients.values()), return_exceptions=True)


def say(line: str) -> None:
    print(f"    {line}")


def show_info(domain: str, info) -> None:
    for category, typ, name in sorted(info.identities, key=str):
        say(f"identity: {category}/{typ}" + (f" ({name})" if name else ""))
    interesting = sorted(f for f in info.features if "mix" in f or "muc" in f)
    say("features: " + ", ".join(interesting))
    for form_type, fields in info.forms.items():
        say(f"form {form_type}: " + ", ".join(f"{k}={v}" for k, v in fields.items()))


# --------------------------------------------------------------------------
# The scenario: alice and bob use MIX (through their own server, XEP-0405),
# carol uses MUC only.

@scene("alice discovers the MIX domain")
async def discover_mix(demo: Demo):
    alice = await demo.client("alice")
    mix, muc = demo.bed.main.mix, demo.bed.main.muc
    say(f"alice -> {mix}: disco#info")
    info = await alice.disco_info(mix)
    show_info(mix, info)
    check(NS_MIX_CORE in info.features, f"{mix} speaks MIX ({NS_MIX_CORE})")
    check(info.forms.get(FORM_MUC_MIRROR, {}).get("muc-mirror") == muc,
          f"{mix} names its MUC mirror {muc}")


@scene("carol, a MUC user, discovers the MUC domain")
async def discover_muc(demo: Demo):
    carol = await demo.client("carol")
    mix, muc = demo.bed.main.mix, demo.bed.main.muc
    say(f"carol -> {muc}: disco#info")
    info = await carol.disco_info(muc)
    show_info(muc, info)
    check(NS_MUC in info.features, f"{muc} speaks MUC")
    check(info.forms.get(FORM_MIX_MIRROR, {}).get("mix-mirror") == mix,
          f"{muc} names its MIX mirror {mix}")


@scene("alice creates a channel")
async def create(demo: Demo):
    alice = await demo.client("alice")
    name = "coven"
    existing = {jid for jid, _ in await alice.disco_items(demo.bed.main.mix)}
    if f"{name}@{demo.bed.main.mix}" in existing:
        name = f"coven-{len(existing)}"
    say(f"alice -> {demo.bed.main.mix}: <create channel='{name}'/>")
    created = await alice.create_channel(demo.bed.main.mix, name)
    say(f"{demo.bed.main.mix} -> alice: <create channel='{created}'/>")
    check(created == name, f"channel {name} created")
    demo.state["channel"] = name
    say(f"alice -> {demo.bed.main.mix}: <create/> (ad hoc)")
    adhoc = await alice.create_channel(demo.bed.main.mix)
    check(bool(adhoc), f"ad-hoc channel created with the generated name {adhoc!r}")
    demo.state["adhoc"] = adhoc


@scene("the channel is listed on both domains")
async def listed(demo: Demo):
    bob = await demo.client("bob")
    name = demo.state["channel"]
    for domain in (demo.bed.main.mix, demo.bed.main.muc):
        say(f"bob -> {domain}: disco#items")
        items = [jid for jid, _ in await bob.disco_items(domain)]
        for jid in items:
            say(f"  {jid}")
        check(f"{name}@{domain}" in items, f"{name}@{domain} is listed")


@scene("alice and bob join the channel through their own server and talk (MIX)")
async def mix_talk(demo: Demo):
    if not demo.bed.has_mix_pam:
        raise Skip("Prosody runs without contrib/prosody/mod_mix_pam.lua")
    alice, bob = await demo.client("alice"), await demo.client("bob")
    channel = f"{demo.state['channel']}@{demo.bed.main.mix}"
    for user, client in (("alice", alice), ("bob", bob)):
        say(f"{user} -> {demo.bed.user_domain}: <client-join channel='{channel}'><join><nick>{user.capitalize()}</nick>...")
        await client.mix_join(channel, user.capitalize())
        say(f"{demo.bed.user_domain} -> {user}: <client-join> result, {user} is a participant")
    bob.queue("mix_message")
    say(f"alice -> {channel}: groupchat 'Double, double toil and trouble'")
    alice.send_message(mto=channel, mbody="Double, double toil and trouble", mtype="groupchat")
    msg = await bob.next("mix_message")
    say(f"bob <- {msg['from']}: [{msg['mix']['nick']}] {msg['body']}  (id {msg['id']})")
    check(msg["body"] == "Double, double toil and trouble", "bob got alice's message")
    check(msg["mix"]["nick"] == "Alice", "the message names alice's nick")



@scene("carol enters the same channel as a MUC room and talks with the MIX users")
async def muc_and_mix_talk(demo: Demo):
    if not demo.bed.has_mix_pam:
        raise Skip("Prosody runs without contrib/prosody/mod_mix_pam.lua")
    alice, bob = await demo.client("alice"), await demo.client("bob")
    carol = await demo.client("carol")
    name = demo.state["channel"]
    room, channel = f"{name}@{demo.bed.main.muc}", f"{name}@{demo.bed.main.mix}"
    say(f"carol -> {room}/Carol: <presence><x xmlns='http://jabber.org/protocol/muc'/></presence>")
    presences = carol.queue("groupchat_presence")
    await carol.plugin["xep_0045"].join_muc_wait(JID(room), "Carol", timeout=15)
    seen = []
    while not presences.empty():
        p = presences.get_nowait()
        seen.append(p["from"].resource)
        say(f"carol <- {p['from']}: presence, codes {sorted(p['muc']['status_codes'])}")
    check({"Alice", "Bob"} <= set(seen), "carol sees the MIX participants Alice and Bob as occupants")
    parts = await alice.plugin["xep_0369"].list_participants(JID(channel), timeout=15)
    say(f"alice: participants of {channel}: {[nick for _, nick, _ in parts]}")
    check("Carol" in [nick for _, nick, _ in parts], "alice sees carol as a participant of the MIX channel")

    alice.queue("mix_message")
    carol.queue("groupchat_message")
    say(f"carol -> {room}: groupchat 'By the pricking of my thumbs'")
    carol.send_message(mto=room, mbody="By the pricking of my thumbs", mtype="groupchat")
    msg = await alice.next("mix_message")
    while msg["body"] != "By the pricking of my thumbs":
        msg = await alice.next("mix_message")
    say(f"alice <- {msg['from']}: [{msg['mix']['nick']}] {msg['body']}  (id {msg['id']})")
    check(msg["mix"]["nick"] == "Carol", "alice (MIX) got carol's (MUC) message")
    echo = await carol.next("groupchat_message")
    while echo["body"] != "By the pricking of my thumbs":
        echo = await carol.next("groupchat_message")
    check(echo["stanza_id"]["id"] == msg["id"], "one archive id: carol's stanza-id is alice's MIX message id")

    say(f"alice -> {channel}: groupchat 'Something wicked this way comes'")
    alice.send_message(mto=channel, mbody="Something wicked this way comes", mtype="groupchat")
    got = await carol.next("groupchat_message")
    while got["body"] != "Something wicked this way comes":
        got = await carol.next("groupchat_message")
    say(f"carol <- {got['from']}: {got['body']}  (stanza-id {got['stanza_id']['id']})")
    check(got["from"].resource == "Alice", "carol (MUC) got alice's (MIX) message from the room as Alice")


@scene("carol (MUC) and alice (MIX) talk privately: the channel relays it both ways, neither real JID shown")
async def private_across_views(demo: Demo):
    if not demo.bed.has_mix_pam:
        raise Skip("Prosody runs without contrib/prosody/mod_mix_pam.lua")
    alice, carol = await demo.client("alice"), await demo.client("carol")
    room = f"{demo.state['channel']}@{demo.bed.main.muc}"
    alice.queue("message")
    carol.queue("message")

    async def chat(client, text):
        got = await client.next("message")
        while got["type"] != "chat" or got["body"] != text:
            got = await client.next("message")
        return got

    say(f"carol -> {room}/Alice: chat 'Fair is foul'")
    carol.send_message(mto=JID(f"{room}/Alice"), mbody="Fair is foul", mtype="chat")
    got = await chat(alice, "Fair is foul")
    say(f"alice <- {got['from']}: [{got['mix']['nick']}] {got['body']}")
    check(got["from"].domain == demo.bed.main.mix and "#" in got["from"].user,
          "alice (MIX) got it from carol's proxy JID on the MIX domain, with her nick")
    check(demo.bed.jid("carol") not in str(got), "the proxy JID does not show carol's real JID")
    say(f"alice -> {got['from']}: chat 'and foul is fair'")
    alice.send_message(mto=got["from"], mbody="and foul is fair", mtype="chat")
    back = await chat(carol, "and foul is fair")
    say(f"carol <- {back['from']}: {back['body']}")
    check(back["from"] == JID(f"{room}/Alice"), "carol (MUC) got the answer from the room as Alice")
    check(demo.bed.jid("alice") not in str(back), "nor does the room show alice's")

@scene("alice makes the channel jid-maybe-visible (XEP-0404); bob lets his JID show: carol (MUC) sees his, not alice's")
async def jid_visibility(demo: Demo):
    if not demo.bed.has_mix_pam:
        raise Skip("Prosody runs without contrib/prosody/mod_mix_pam.lua")
    alice, bob, carol = await demo.client("alice"), await demo.client("bob"), await demo.client("carol")
    name = demo.state["channel"]
    room, channel = f"{name}@{demo.bed.main.muc}", f"{name}@{demo.bed.main.mix}"
    form = ("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>{ft}</value></field>"
            "<field var='{var}'><value>{value}</value></field></x>")
    say(f"alice -> {channel}: publish to the info node: JID Visibility = jid-maybe-visible")
    await alice.raw_iq(channel, "set", "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:info'><item>"
                       + form.format(ft="urn:xmpp:mix:core:1", var="JID Visibility", value="jid-maybe-visible")
                       + "</item></publish></pubsub>").send(timeout=15)
    say(f"bob -> {channel}: <user-preference/> JID Visibility = always")
    answer = await bob.raw_iq(channel, "set", "<user-preference xmlns='urn:xmpp:mix:anon:0'>"
                              + form.format(ft="urn:xmpp:mix:anon:0", var="JID Visibility", value="always")
                              + "</user-preference>").send(timeout=15)
    check(">always<" in str(answer), "the channel keeps bob's preference")
    say(f"carol leaves {room} and enters again")
    carol.plugin["xep_0045"].leave_muc(JID(room), "Carol")
    await asyncio.sleep(0.5)
    presences = carol.queue("groupchat_presence")
    while not presences.empty():
        presences.get_nowait()
    await carol.plugin["xep_0045"].join_muc_wait(JID(room), "Carol", timeout=15)
    shown = {}
    while not presences.empty():
        p = presences.get_nowait()
        shown[p["from"].resource] = p["muc"]["jid"]
        say(f"carol <- {p['from']}: item jid {str(p['muc']['jid']) or '(none)'}")
    check(str(shown.get("Bob", "")).startswith(demo.bed.jid("bob")), "carol sees bob's real JID: he allowed it")
    check(not str(shown.get("Alice", "")), "carol does not see alice's: the channel hides it")


@scene("alice (MIX, the owner) removes carol's spam (XEP-0425): carol (MUC) and bob (MIX) are told; the archive keeps a tombstone")
async def moderation(demo: Demo):
    if not demo.bed.has_mix_pam:
        raise Skip("Prosody runs without contrib/prosody/mod_mix_pam.lua")
    alice, bob, carol = await demo.client("alice"), await demo.client("bob"), await demo.client("carol")
    name = demo.state["channel"]
    room, channel = f"{name}@{demo.bed.main.muc}", f"{name}@{demo.bed.main.mix}"
    retract = "{urn:xmpp:message-retract:1}retract"
    carol.queue("groupchat_message")
    bob.queue("mix_message")
    say(f"carol -> {room}: groupchat 'cheap potions, DM me'")
    carol.send_message(mto=room, mbody="cheap potions, DM me", mtype="groupchat")
    echo = await carol.next("groupchat_message")
    while echo["body"] != "cheap potions, DM me":
        echo = await carol.next("groupchat_message")
    sid = echo["stanza_id"]["id"]
    got = await bob.next("mix_message")
    while got["body"] != "cheap potions, DM me":
        got = await bob.next("mix_message")
    say(f"bob <- {got['from']}: [{got['mix']['nick']}] {got['body']}  (id {got['id']})")
    say(f"alice -> {channel}: <moderate id='{sid}'><retract/><reason>spam</reason></moderate>")
    await alice.raw_iq(channel, "set", f"<moderate xmlns='urn:xmpp:message-moderate:1' id='{sid}'>"
                       "<retract xmlns='urn:xmpp:message-retract:1'/><reason>spam</reason></moderate>").send(timeout=15)
    told = await carol.next("groupchat_message")
    while told.xml.find(retract) is None:
        told = await carol.next("groupchat_message")
    say(f"carol <- {told['from']}: retract {told.xml.find(retract).get('id')}, reason "
        f"{told.xml.findtext(retract + '/{urn:xmpp:message-retract:1}reason')!r}")
    check(told.xml.find(retract).get("id") == sid and told["from"] == JID(room), "carol (MUC) is told by the room which message went")
    gone = await bob.next("mix_message")
    while gone.xml.find(f"{{{NS_MIX_CORE}}}retract") is None:
        gone = await bob.next("mix_message")
    say(f"bob <- {gone['from']}: MIX retract {gone.xml.find(f'{{{NS_MIX_CORE}}}retract').get('id')}")
    check(gone.xml.find(f"{{{NS_MIX_CORE}}}retract").get("id") == sid, "bob (MIX) is told in the MIX dialect")
    page = await carol.plugin["xep_0313"].retrieve(jid=JID(room), rsm={"max": 50, "before": ""}, timeout=15)
    stones = [r["mam_result"]["forwarded"]["stanza"] for r in page["mam"]["results"] if r["mam_result"]["id"] == sid]
    check(bool(stones) and stones[0].xml.find("{urn:xmpp:message-retract:1}retracted") is not None and "potions" not in str(stones[0]),
          "MAM returns a tombstone in its place, without the text")


@scene("the operator: /health and /metrics, then admin@ (a service admin) bans carol from the whole service from a client (XEP-0050)")
async def operator(demo: Demo):
    if not demo.bed.has_mix_pam:
        raise Skip("Prosody runs without contrib/prosody/mod_mix_pam.lua")
    listen = os.environ.get("MM_METRICS_LISTEN")
    if not listen:
        raise Skip("no [metrics] listen in this bed (scripts/demo sets one)")
    base = f"http://{listen}"
    health = await asyncio.to_thread(lambda: urllib.request.urlopen(base + "/health", timeout=5).read().decode().strip())
    say(f"GET {base}/health -> {health!r}")
    check(health == "ok", "both links up and the store answers")
    text = await asyncio.to_thread(lambda: urllib.request.urlopen(base + "/metrics", timeout=5).read().decode())
    shown = [line for line in text.splitlines()
             if line.startswith(("mixmuc_stanzas_in_total{domain=\"muc\",kind=\"message\"}", "mixmuc_fanout_copies_total",
                                 "mixmuc_channels ", "mixmuc_link_up"))]
    for line in shown:
        say(f"  {line}")
    check(any(line.startswith("mixmuc_link_up") and line.endswith(" 1") for line in shown), "Prometheus metrics: links up, stanzas counted")

    admin, bob, carol = await demo.client("admin"), await demo.client("bob"), await demo.client("carol")
    admin.register_plugin("xep_0050")
    name = demo.state["channel"]
    room = f"{name}@{demo.bed.main.muc}"
    commands = await admin.plugin["xep_0050"].get_commands(JID(demo.bed.main.muc), timeout=15)
    nodes = [node for _, node, _ in commands["disco_items"]["items"]]
    say(f"admin: commands of {demo.bed.main.muc}: {nodes}")
    check("urn:mixmuc:admin:0#ban" in nodes, "a service admin sees the admin commands")
    carol.queue("groupchat_presence")
    bob.queue("pubsub_retract")
    form = admin.plugin["xep_0004"].make_form(ftype="submit")
    form.add_field(var="jid", value=demo.bed.jid("carol"))
    form.add_field(var="reason", value="spam wave")
    first = await admin.plugin["xep_0050"].send_command(JID(demo.bed.main.muc), "urn:mixmuc:admin:0#ban", timeout=15)
    done = await admin.plugin["xep_0050"].send_command(JID(demo.bed.main.muc), "urn:mixmuc:admin:0#ban", action="complete",
                                                     sessionid=first["command"]["sessionid"], payload=form, timeout=15)
    say(f"admin -> ban {demo.bed.jid('carol')}: {done['command'].xml.findtext('{http://jabber.org/protocol/commands}note')}")
    gone = await carol.next("groupchat_presence")
    while not (gone["type"] == "unavailable" and 301 in gone["muc"]["status_codes"]):
        gone = await carol.next("groupchat_presence")
    say(f"carol <- {gone['from']}: unavailable, codes {sorted(gone['muc']['status_codes'])}")
    check(True, "carol (MUC) is banned from the room (301)")
    retracted = await bob.next("pubsub_retract")
    say(f"bob <- {retracted['from']}: participants node, retract")
    check(True, "bob (MIX) sees carol leave the participants")
    try:
        await carol.plugin["xep_0045"].join_muc_wait(JID(room), "Carol", timeout=10)
        refused = None
    except Exception as exc:  # slixmpp raises on the error presence
        refused = exc
    check(refused is not None, "carol cannot enter the room again")
    first = await admin.plugin["xep_0050"].send_command(JID(demo.bed.main.muc), "urn:mixmuc:admin:0#unban", timeout=15)
    form = admin.plugin["xep_0004"].make_form(ftype="submit")
    form.add_field(var="jid", value=demo.bed.jid("carol"))
    await admin.plugin["xep_0050"].send_command(JID(demo.bed.main.muc), "urn:mixmuc:admin:0#unban", action="complete",
                                              sessionid=first["command"]["sessionid"], payload=form, timeout=15)
    say("admin -> unban carol")


# --------------------------------------------------------------------------

async def run(bed_dir: str) -> int:
    demo = Demo(Bed(bed_dir))
    failed = 0
    try:
        for number, (title, func) in enumerate(SCENES, 1):
            print(f"\n[{number}/{len(SCENES)}] {title}")
            try:
                await asyncio.wait_for(func(demo), SCENE_TIMEOUT)
            except Skip as why:
                print(f"      skipped: {why}")
            except Exception as exc:  # one failed scene ends the demo
                failed = 1
                reason = "timed out" if isinstance(exc, asyncio.TimeoutError) else f"{type(exc).__name__}: {exc}"
                print(f"      FAILED: {reason}")
                if not isinstance(exc, (DemoFailure, asyncio.TimeoutError)):
                    traceback.print_exc()
                for user, client in demo.clients.items():
                    print(f"\n--- last stanzas of {user}")
                    for line in list(client.transcript)[-20:]:
                        print(line)
                break
    finally:
        await demo.close()
    # The bed is removed after a passing demo (scripts/demo), kept after a failure.
    print("\ndemo " + (f"FAILED (logs in {demo.bed.dir})" if failed else "passed"))
    return failed


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} BED_DIR (a bed started by scripts/bed up)")
    sys.exit(asyncio.run(run(sys.argv[1])))
