"""The leak suite: no real JID that must stay hidden reaches anyone who may not see it.

One scenario per row of ``ROWS``: a channel created through MIX, put in the
row's first JID visibility mode (``MODES``), with people in both views (MIX
participants joined through the bed's Prosody and contrib's mod_mix_pam, MUC
occupants, one user in both, an owner in the room and another acting from
outside it, an outsider who never joins, victims for the bans). Every client
records every stanza it receives (``leaks.Recorder``: the raw element, before
slixmpp reads it). The operations (``OPS``: joins, leaves, messages, nick and
presence changes, private messages, IQs to occupants and proxy JIDs, MAM with
every filter, disco, PubSub reads, invitations, kicks, bans, voice, subject,
retraction and moderation in both views, nick registration in both views,
the room's avatar)
run in a random order drawn from the seed, split into the row's phases; between
two phases the owner switches the mode (muc#owner form). Then ``leaks.judge``
checks every stanza of every recipient that is not a moderator against the
rule written in leaks.py: a real JID may appear only where the mode of the
phase (for archived messages: of the phase they were archived in) reveals it,
plus four narrow exceptions (one's own JID; answers repeating what the
recipient sent; the inviter named in an invitation; stanzas straight from
that person).

Positive control: in every phase whose mode reveals JIDs, recipients of both
views must have seen other people's JIDs, so the recorder and the judge are
shown to find JIDs where they are; ``test_judge`` plants JIDs in made-up
stanzas to show the judge fails.

Reproduce a run: ``MM_LEAK_SEED=<seed printed on failure> scripts/test -k leaks``.

Extension points: a mode is a row of ``MODES`` (the owner-form fields that set
it and whose JIDs it reveals); a scenario is a row of ``ROWS`` (its phases and
the XEP-0404 preference each MIX joiner asks for on joining); an operation is
a function added to ``OPS`` (each runs once in every phase).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import random
import secrets
import time
from types import SimpleNamespace

import pytest
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET

import leaks
from bed import IQ_TIMEOUT, NS_MIX_CORE, NS_MIX_PAM, NS_MUC, Client, unique_name
from leaks import NS_CLIENT, NS_MAM, NS_MUC_USER, Mode, Person, Received, Recorder, body, judge, local
from test_muc import NS_MUC_OWNER
from test_muc_differential import submit_config

NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
NS_RSM = "http://jabber.org/protocol/rsm"
NS_DATA = "jabber:x:data"
NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin"
NODES = {n: f"urn:xmpp:mix:nodes:{n}" for n in
         ("messages", "participants", "presence", "info", "config", "allowed", "banned", "jidmap")}
JOIN_NODES = ("messages", "participants", "presence", "info")

SEED = int(os.environ.get("MM_LEAK_SEED") or secrets.randbelow(2**32))

# ---------------------------------------------------------------------------
# The tables

#: JID visibility modes: how the owner sets one, whose real JID it shows to
#: every participant.
MODES = {
    "jid-hidden": Mode("jid-hidden", {"muc#roomconfig_whois": "moderators"}, lambda person: False),
    "jid-visible": Mode("jid-visible", {"muc#roomconfig_whois": "anyone"}, lambda person: True),
    "jid-maybe-visible": Mode("jid-maybe-visible", {"muc#roomconfig_whois": "preference"}, lambda person: person.pref == "always"),
}

#: The scenarios: the channel's mode in each phase (the owner switches
#: between phases), the XEP-0404 JID visibility preference each MIX joiner
#: asks for in its join (roles not named: "default"), and whether the cast's
#: "admin" is a service admin (then the row runs on mixmuc instance "alt").
ROWS = [
    {"id": "hidden-visible-hidden", "phases": ["jid-hidden", "jid-visible", "jid-hidden"], "prefs": {}},
    {"id": "visible-hidden", "phases": ["jid-visible", "jid-hidden"], "prefs": {}},
    # jid-maybe-visible: only the one whose preference is "always" is shown;
    # "prefer not" is shown once the channel is jid-visible.
    {"id": "maybe-visible-maybe", "phases": ["jid-maybe-visible", "jid-visible", "jid-maybe-visible"],
     "prefs": {"mix_a": "always", "mix_b": "prefer not"}},
    # "never" holds through a switch to jid-hidden and back.
    {"id": "maybe-hidden-maybe", "phases": ["jid-maybe-visible", "jid-hidden", "jid-maybe-visible"],
     "prefs": {"mix_a": "never", "mix_b": "prefer not"}},
    # On mixmuc instance "alt" (no multicast) with the cast's admin as service admin.
    {"id": "hidden-service-admin", "phases": ["jid-hidden"], "prefs": {}, "service_admin": True},
]

#: The cast: role, view ("mix" joins through its server, "muc" enters the
#: room, "both" does both, "none" never joins), moderator, first nick.
CAST = [
    ("owner", "muc", True, "Boss"),         # created the channel, in the room
    ("owner2", "none", True, None),         # an owner acting from outside the room
    ("admin", "none", True, None),          # a service admin (rows with "service_admin"), acting from outside
    ("mix_a", "mix", False, "Ash"),
    ("mix_b", "mix", False, "Birch"),
    ("muc_a", "muc", False, "Cedar"),
    ("muc_b", "muc", False, "Dogwood"),
    ("dual", "both", False, "Elm"),
    ("outsider", "none", False, None),
    ("victim1", "muc", False, "Fir"),        # banned by the owner in the room (muc#admin)
    ("victim2", "mix", False, "Gum"),        # banned by owner2 from outside (muc#admin: <actor jid/>)
    ("victim3", "mix", False, "Hazel"),      # banned through the MIX banned node
]


# ---------------------------------------------------------------------------
# The scenario

class Scenario:
    def __init__(self, bed, xmpp, row: dict, seed: int):
        self.bed, self.xmpp, self.row, self.seed = bed, xmpp, row, seed
        self.inst = bed.main  # or the "alt" instance, for a row with a service admin (run_row)
        self.rng = random.Random(f"{seed}/{row['id']}")
        self.modes = [MODES[m] for m in row["phases"]]
        self.phase = 0
        token = leaks.new_token()
        self.people: dict[str, Person] = {}
        self.nick: dict[str, str | None] = {}
        for role, view, moderator, nick in CAST:
            user = f"leak-{role.replace('_', '')}-{token}"
            self.people[role] = Person(role, user, f"{user}@{bed.user_domain}", f"leakres-{role}-{token}", view,
                                       moderator, row["prefs"].get(role, "default"))
            self.nick[role] = nick
        self.clients: dict[str, Client] = {}
        self.recs: dict[str, Recorder] = {}
        self.retired: list[Recorder] = []  # records of clients that went away
        self.name = unique_name("leak")
        #: Who acts from outside the room: owner2, and the service admin where there is one.
        self.outside = ["owner2", "admin"] if row.get("service_admin") else ["owner2"]
        self.invitations: set[tuple[str, str]] = set()
        self.counter = itertools.count(1)
        self.t0 = time.time() - 5
        self.log: list[str] = []
        self.timing: dict[str, float] = {}

    @property
    def channel(self) -> str:
        return f"{self.name}@{self.inst.mix}"

    @property
    def room(self) -> str:
        return f"{self.name}@{self.inst.muc}"

    @property
    def mode(self) -> Mode:
        return self.modes[self.phase]

    def reveals(self, role: str) -> bool:
        return self.mode.reveals(self.people[role])

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    async def connect(self) -> None:
        leaks.register_accounts(self.bed, [p.user for p in self.people.values()])
        await asyncio.gather(*(self.connect_one(p) for p in self.people.values()))

    async def connect_one(self, person: Person) -> None:
        """A client for PERSON, recorded from its first byte (a reconnection keeps the old record)."""
        client = Client(f"{person.jid}/{person.resource}", self.bed.password)
        self.xmpp.clients.append(client)
        if person.role in self.recs:
            self.retired.append(self.recs[person.role])
        self.recs[person.role] = Recorder(person, client)
        self.recs[person.role].phase = self.phase
        await client.start(*self.bed.c2s)
        self.clients[person.role] = client

    async def setup(self) -> None:
        owner = self.clients["owner"]
        assert await owner.create_channel(self.inst.mix, self.name) == self.name
        await configure(self, self.mode)
        await muc_enter(self, "owner")
        await admin_set(self, "owner", {"jid": self.people["owner2"].jid, "affiliation": "owner"})
        joiners = [role for role, view, _, _ in CAST if view != "none" and role != "owner"]
        self.rng.shuffle(joiners)
        for role in joiners:
            if self.people[role].view in ("mix", "both"):
                await mix_join(self, role)
            if self.people[role].view in ("muc", "both"):
                await muc_enter(self, role)

    async def barrier(self) -> None:
        """Every client asks both domains something and waits for the answer: what
        mixmuc sent a client before that answer has reached it."""
        async def ask(client, domain):
            iq = client.make_iq_get(queryxmlns=NS_DISCO_INFO, ito=domain)
            await iq.send(timeout=IQ_TIMEOUT)
        await asyncio.gather(*(ask(c, d) for c in self.clients.values()
                               for d in (self.inst.mix, self.inst.muc)))

    async def switch(self, phase: int) -> None:
        await self.barrier()
        self.phase = phase
        for rec in self.recs.values():
            rec.phase = phase
        await configure(self, self.mode)

    def plan(self) -> list[list]:
        """The operations of each phase: every operation of OPS, in an order drawn for that phase."""
        plan = []
        for _ in self.modes:
            ops = list(OPS)
            self.rng.shuffle(ops)
            plan.append(ops)
        return plan

    async def run(self) -> None:
        t = time.monotonic()
        await self.connect()
        self.timing["connect"] = time.monotonic() - t
        t = time.monotonic()
        await self.setup()
        self.timing["setup"] = time.monotonic() - t
        for phase, chunk in enumerate(self.plan()):
            if phase:
                await self.switch(phase)
                self.log.append(f"-- phase {phase}: {self.mode.name}")
            for op in chunk:
                self.log.append(op.__name__)
                t = time.monotonic()
                await op(self)
                self.timing[op.__name__] = self.timing.get(op.__name__, 0) + time.monotonic() - t
        self.log.append("destroy")
        await destroy(self)
        await self.barrier()

    def verdict(self):
        archives = {self.channel.lower(), self.room.lower()}
        return judge([*self.recs.values(), *self.retired], list(self.people.values()), self.modes, archives, self.invitations)


# ---------------------------------------------------------------------------
# Small actions (each waits for the answer that shows it was done)

def raw(xml: str) -> ET.Element:
    return ET.fromstring(xml)


def frm(el) -> str:
    return (el.get("from") or "").lower()


def from_room(s: Scenario, nick: str | None = None):
    target = s.room.lower() if nick is None else f"{s.room}/{nick}".lower()
    return lambda el: frm(el) == target


def self_presence(s: Scenario, nick: str):
    def pred(el):
        if local(el.tag) != "presence" or frm(el) != f"{s.room}/{nick}".lower():
            return False
        if el.get("type") == "error":
            return True
        return any(st.get("code") == "110" for st in el.iter(f"{{{NS_MUC_USER}}}status"))
    return pred


async def iq(s: Scenario, role: str, to: str, itype: str, payload: str):
    """Send an IQ; ('result', element) or ('error', condition)."""
    stanza = s.clients[role].make_iq(ito=to, itype=itype)
    stanza.append(raw(payload))
    try:
        result = await stanza.send(timeout=IQ_TIMEOUT)
        return "result", result.xml
    except IqError as err:
        return "error", err.iq["error"]["condition"]


async def configure(s: Scenario, mode_or_fields) -> None:
    fields = mode_or_fields.room_config if isinstance(mode_or_fields, Mode) else mode_or_fields
    status, answer = await submit_config(s.clients["owner"], s.room, fields)
    assert status == "result", f"owner form {fields}: {answer}"


async def admin_set(s: Scenario, actor: str, item: dict[str, str], reason: str | None = None) -> None:
    attrs = " ".join(f"{k}='{v}'" for k, v in item.items())
    inner = f"<reason>{reason}</reason>" if reason else ""
    status, answer = await iq(s, actor, s.room, "set",
                              f"<query xmlns='{NS_MUC_ADMIN}'><item {attrs}>{inner}</item></query>")
    assert status == "result", f"muc#admin {item} by {actor}: {answer}"


async def muc_enter(s: Scenario, role: str) -> None:
    rec, nick = s.recs[role], s.nick[role]
    mark = rec.mark()
    p = s.clients[role].make_presence(pto=f"{s.room}/{nick}")
    p.append(raw(f"<x xmlns='{NS_MUC}'><history maxstanzas='20'/></x>"))
    p.send()
    got = await rec.expect(self_presence(s, nick), f"self-presence in {s.room}", mark)
    assert got.get("type") != "error", f"{role} could not enter: {ET.tostring(got, encoding='unicode')}"
    await rec.expect(lambda el: from_room(s)(el) and el.find(f"{{{NS_CLIENT}}}subject") is not None,
                     "the subject", mark)


async def muc_leave(s: Scenario, role: str) -> None:
    rec, nick = s.recs[role], s.nick[role]
    mark = rec.mark()
    s.clients[role].make_presence(pto=f"{s.room}/{nick}", ptype="unavailable").send()
    await rec.expect(lambda el: self_presence(s, nick)(el) and el.get("type") == "unavailable",
                     "own unavailable presence", mark)


async def mix_join(s: Scenario, role: str) -> None:
    client, person = s.clients[role], s.people[role]
    subs = "".join(f"<subscribe node='{NODES[n]}'/>" for n in JOIN_NODES)
    status, answer = await iq(s, role, client.boundjid.bare, "set",
                              f"<client-join xmlns='{NS_MIX_PAM}' channel='{s.channel}'>"
                              f"<join xmlns='{NS_MIX_CORE}'>{subs}<nick>{s.nick[role]}</nick>"
                              f"{leaks.preference_form(person.pref)}</join></client-join>")
    assert status == "result", f"{role}'s MIX join: {answer}"


async def mix_leave(s: Scenario, role: str) -> None:
    client = s.clients[role]
    status, answer = await iq(s, role, client.boundjid.bare, "set",
                              f"<client-leave xmlns='{NS_MIX_PAM}' channel='{s.channel}'>"
                              f"<leave xmlns='{NS_MIX_CORE}'/></client-leave>")
    assert status == "result", f"{role}'s MIX leave: {answer}"


async def groupchat(s: Scenario, role: str, view: str, text: str | None = None, subject: str | None = None) -> None:
    """ROLE posts in VIEW ("muc": to the room, "mix": to the channel); waits for its copy."""
    to = s.room if view == "muc" else s.channel
    rec = s.recs[role]
    mark = rec.mark()
    msg = s.clients[role].make_message(mto=to, mtype="groupchat", mbody=text)
    if subject is not None:
        msg["subject"] = subject
    msg.send()

    def echo(el):
        if local(el.tag) != "message" or (el.get("from") or "").lower().partition("/")[0] != to.lower():
            return False
        if el.get("type") == "error":
            return True
        if subject is not None:
            return (el.findtext(f"{{{NS_CLIENT}}}subject") or "") == subject
        return body(el) == text
    got = await rec.expect(echo, f"the copy of {text or subject!r}", mark)
    assert got.get("type") != "error", f"{role}'s groupchat: {ET.tostring(got, encoding='unicode')}"


async def participants(s: Scenario) -> dict[str, str]:
    """nick -> bare proxy JID, from the participants node (read by the owner)."""
    status, answer = await iq(s, "owner", s.channel, "get",
                              f"<pubsub xmlns='{NS_PUBSUB}'><items node='{NODES['participants']}'/></pubsub>")
    assert status == "result", answer
    out = {}
    for item in answer.iter(f"{{{NS_PUBSUB}}}item"):
        nick = item.findtext(f"{{{NS_MIX_CORE}}}participant/{{{NS_MIX_CORE}}}nick")
        if nick:
            out[nick] = item.get("id")
    return out


def chat(s: Scenario, role: str, to: str, text: str) -> int:
    """Send a private message; returns nothing useful but the sender's mark."""
    s.clients[role].make_message(mto=to, mtype="chat", mbody=text).send()
    return s.recs[role].mark()


async def received(s: Scenario, role: str, text: str, mark: int):
    return await s.recs[role].expect(lambda el: local(el.tag) == "message" and body(el) == text,
                                     f"the message {text!r}", mark)


# ---------------------------------------------------------------------------
# Operations (each leaves everyone where it was: in the channel, in the room)

async def talk(s: Scenario) -> None:
    """Someone posts in each view (MUC occupants, MIX participants, the user in both, the owner)."""
    for role, view in (("muc_a", "muc"), ("mix_a", "mix"), ("dual", "mix"), ("dual", "muc"),
                       ("mix_b", "mix"), ("owner", "muc")):
        await groupchat(s, role, view, s.fresh(f"{role} says "))


async def muc_rejoin(s: Scenario) -> None:
    await muc_leave(s, "muc_b")
    await muc_enter(s, "muc_b")


async def dual_muc_rejoin(s: Scenario) -> None:
    """The user in both views leaves the room (it stays a MIX participant) and comes back."""
    await muc_leave(s, "dual")
    await muc_enter(s, "dual")


async def mix_rejoin(s: Scenario) -> None:
    await mix_leave(s, "mix_a")
    await mix_join(s, "mix_a")


async def mix_nick(s: Scenario) -> None:
    new = s.fresh("Birch")
    status, answer = await iq(s, "mix_b", s.channel, "set",
                              f"<setnick xmlns='{NS_MIX_CORE}'><nick>{new}</nick></setnick>")
    assert status == "result", answer
    s.nick["mix_b"] = new


async def muc_nick(s: Scenario) -> None:
    rec, new = s.recs["muc_b"], s.fresh("Dogwood")
    mark = rec.mark()
    s.clients["muc_b"].make_presence(pto=f"{s.room}/{new}").send()
    got = await rec.expect(self_presence(s, new), "the new nick's self-presence", mark)
    assert got.get("type") != "error", ET.tostring(got, encoding="unicode")
    s.nick["muc_b"] = new


SHOWS = itertools.cycle(["away", "dnd", "xa", "chat"])


async def muc_presence(s: Scenario) -> None:
    rec, nick, show = s.recs["muc_a"], s.nick["muc_a"], next(SHOWS)
    mark = rec.mark()
    s.clients["muc_a"].make_presence(pto=f"{s.room}/{nick}", pshow=show, pstatus=s.fresh("busy ")).send()
    await rec.expect(lambda el: self_presence(s, nick)(el) and el.findtext(f"{{{NS_CLIENT}}}show") == show,
                     "own presence update", mark)


async def mix_presence(s: Scenario) -> None:
    """mix_b's client changes its presence; its server shares it with the channel."""
    show = next(SHOWS)
    rec = s.recs["owner"]
    mark = rec.mark()
    s.clients["mix_b"].send_presence(pshow=show, pstatus=s.fresh("elsewhere "))
    await rec.expect(lambda el: local(el.tag) == "presence" and from_room(s, s.nick["mix_b"])(el)
                     and el.findtext(f"{{{NS_CLIENT}}}show") == show, "mix_b's presence in the room", mark)


async def mix_reconnect(s: Scenario) -> None:
    """mix_b's client goes offline and comes back: its server tells the channel,
    which sends the new session the presence of everyone online (XEP-0405 2.9.3)."""
    nick = s.nick["mix_b"]
    mark = s.recs["owner"].mark()
    await s.clients["mix_b"].stop()
    await s.recs["owner"].expect(lambda el: local(el.tag) == "presence" and from_room(s, nick)(el)
                                 and el.get("type") == "unavailable", "mix_b going offline", mark)
    mark = s.recs["owner"].mark()
    await s.connect_one(s.people["mix_b"])
    await s.recs["owner"].expect(lambda el: local(el.tag) == "presence" and from_room(s, nick)(el)
                                 and el.get("type") is None, "mix_b back online", mark)


async def private_muc_to_muc(s: Scenario) -> None:
    text = s.fresh("psst ")
    mark = s.recs["muc_b"].mark()
    chat(s, "muc_a", f"{s.room}/{s.nick['muc_b']}", text)
    await received(s, "muc_b", text, mark)


async def private_muc_to_mix(s: Scenario) -> None:
    """muc_b writes to mix_a's nick (reaches mix_a from muc_b's proxy JID); mix_a answers that JID."""
    text = s.fresh("to the MIX side ")
    mark = s.recs["mix_a"].mark()
    chat(s, "muc_b", f"{s.room}/{s.nick['mix_a']}", text)
    got = await received(s, "mix_a", text, mark)
    answer = s.fresh("back to the room ")
    mark = s.recs["muc_b"].mark()
    chat(s, "mix_a", got.get("from"), answer)
    await received(s, "muc_b", answer, mark)


async def private_to_proxies(s: Scenario) -> None:
    """mix_b writes to the bare proxy JIDs of a MUC occupant, a MIX participant and
    the user in both views (which has a MUC session)."""
    proxies = await participants(s)
    for target in ("muc_a", "mix_a", "dual"):
        text = s.fresh(f"proxy note to {target} ")
        mark = s.recs[target].mark()
        chat(s, "mix_b", proxies[s.nick[target]], text)
        await received(s, target, text, mark)


#: IQs sent to people in the channel: (sender, how the target is addressed,
#: target, payload). "nick": room/nick (MUC view); "proxy": the bare proxy
#: JID from the participants node; "session": the proxy full JID the target
#: writes from (the target sends the sender a private message first).
#: Whether the service refuses or relays them, every stanza is judged.
IQS_TO_OCCUPANTS = [
    ("muc_a", "nick", "mix_b", f"<query xmlns='{NS_DISCO_INFO}'/>"),
    ("muc_a", "nick", "muc_b", "<vCard xmlns='vcard-temp'/>"),
    ("muc_a", "nick", "muc_a", "<ping xmlns='urn:xmpp:ping'/>"),  # self-ping (XEP-0410)
    ("dual", "nick", "muc_a", "<query xmlns='jabber:iq:version'/>"),
    ("mix_a", "proxy", "muc_b", f"<query xmlns='{NS_DISCO_INFO}'/>"),
    ("mix_a", "proxy", "mix_b", "<vCard xmlns='vcard-temp'/>"),
    ("mix_a", "session", "muc_b", f"<query xmlns='{NS_DISCO_INFO}'/>"),
    ("mix_b", "session", "mix_a", "<ping xmlns='urn:xmpp:ping'/>"),
]


async def session_jid(s: Scenario, sender: str, target: str) -> str:
    """The proxy full JID TARGET's messages reach SENDER (a MIX participant) from."""
    proxies = await participants(s)
    via_room = s.people[target].view in ("muc", "both")
    text = s.fresh(f"{target} to {sender} ")
    mark = s.recs[sender].mark()
    chat(s, target, f"{s.room}/{s.nick[sender]}" if via_room else proxies[s.nick[sender]], text)
    return (await received(s, sender, text, mark)).get("from")


async def iq_to_occupants(s: Scenario) -> None:
    """The IQs of IQS_TO_OCCUPANTS."""
    proxies = await participants(s)
    for sender, how, target, payload in IQS_TO_OCCUPANTS:
        if how == "nick":
            to = f"{s.room}/{s.nick[target]}"
        elif how == "proxy":
            to = proxies[s.nick[target]]
        else:
            to = await session_jid(s, sender, target)
        await iq(s, sender, to, "get", payload)


async def outsider_pokes(s: Scenario) -> None:
    """The outsider writes to the room, to an occupant, to the channel, asks for a
    nick and for the admin lists: refusals that must name nobody."""
    for to, mtype in ((s.room, "groupchat"), (f"{s.room}/{s.nick['muc_a']}", "chat"),
                      (s.channel, "groupchat")):
        rec = s.recs["outsider"]
        mark = rec.mark()
        msg = s.clients["outsider"].make_message(mto=to, mtype=mtype, mbody=s.fresh("let me in "))
        msg.send()
        await rec.expect(lambda el: el.get("type") == "error" and el.get("id") == msg["id"],
                         f"the error to its {mtype} to {to}", mark)
    await iq(s, "outsider", s.channel, "set", f"<setnick xmlns='{NS_MIX_CORE}'><nick>Intruder</nick></setnick>")
    await admin_lists(s, "outsider")


async def admin_lists(s: Scenario, role: str) -> None:
    for attr in ("affiliation='owner'", "affiliation='admin'", "affiliation='member'",
                 "affiliation='outcast'", "role='moderator'", "role='participant'", "role='visitor'"):
        status, answer = await iq(s, role, s.room, "get", f"<query xmlns='{NS_MUC_ADMIN}'><item {attr}/></query>")
        assert status == "error", f"{role} read the {attr} list"


async def lists_by_participants(s: Scenario) -> None:
    """Non-moderators ask for the affiliation and role lists (they carry real JIDs): refused."""
    for role in ("muc_a", "dual"):
        await admin_lists(s, role)


def mam_form(fields: dict[str, str]) -> str:
    out = [f"<x xmlns='{NS_DATA}' type='submit'><field var='FORM_TYPE' type='hidden'><value>{NS_MAM}</value></field>"]
    for var, value in fields.items():
        values = value if isinstance(value, list) else [value]
        out.append(f"<field var='{var}'>" + "".join(f"<value>{v}</value>" for v in values) + "</field>")
    return "".join(out) + "</x>"


async def mam(s: Scenario, role: str, archive: str, fields: dict, rsm: str = "", flip: bool = False):
    """One MAM query: ('result', [archive ids]) or ('error', condition)."""
    qid = s.fresh("q")
    rec = s.recs[role]
    mark = rec.mark()
    status, answer = await iq(s, role, archive, "set",
                              f"<query xmlns='{NS_MAM}' queryid='{qid}'>{mam_form(fields)}"
                              f"<set xmlns='{NS_RSM}'>{rsm}</set>{'<flip-page/>' if flip else ''}</query>")
    if status == "error":
        return status, answer
    ids = [r.xml.find(f"{{{NS_MAM}}}result").get("id") for r in rec.received[mark:]
           if local(r.xml.tag) == "message" and r.xml.find(f"{{{NS_MAM}}}result") is not None
           and r.xml.find(f"{{{NS_MAM}}}result").get("queryid") == qid]
    return status, ids


def stamp(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


async def mam_every_filter(s: Scenario) -> None:
    """MAM in both views by non-moderators with every filter. A real JID as `with`
    is refused in a jid-hidden channel, and elsewhere answers only with the
    messages that showed that JID (or all, for the asker's own); the outsider is
    refused."""
    proxies = await participants(s)
    pid = {role: proxies[s.nick[role]].partition("#")[0] for role in ("muc_b", "mix_b")}
    for role, archive, occupants in (
            ("muc_a", s.room, [f"{s.room}/{s.nick['muc_b']}", f"{s.room}/{s.nick['mix_b']}"]),
            ("mix_a", s.channel, [f"{s.channel}/{pid['muc_b']}", f"{s.channel}/{pid['mix_b']}",
                                  proxies[s.nick["mix_b"]]])):
        status, ids = await mam(s, role, archive, {}, "<max>50</max>")
        assert status == "result", f"{role}: MAM without filter: {ids}"
        for occupant in occupants:
            await mam(s, role, archive, {"with": occupant})
        status, got = await mam(s, role, archive, {"with": s.people["mix_b"].jid})
        # Refused where the mode shows nobody; elsewhere answered with only
        # the messages that showed the sender's JID when archived (the judge
        # checks each against the phase it was archived in).
        expected = "error" if s.mode.name == "jid-hidden" and not s.reveals("mix_b") else "result"
        assert status == expected, (f"{role}: MAM with another's real JID in {s.mode.name}: {status} {got} "
                                    f"(seed {s.seed})")
        if status == "error":
            assert got == "forbidden", got
        status, got = await mam(s, role, archive, {"with": s.people[role].jid})
        assert status == "result", f"{role}: MAM with its own JID: {got}"
        await mam(s, role, archive, {"start": stamp(s.t0), "end": stamp(time.time() + 5)})
        if ids:
            await mam(s, role, archive, {"after-id": ids[0]})
            await mam(s, role, archive, {"before-id": ids[-1]})
            await mam(s, role, archive, {"ids": ids[:2]})
        status, page = await mam(s, role, archive, {}, "<max>2</max>")
        if status == "result" and page:
            await mam(s, role, archive, {}, f"<max>2</max><after>{page[-1]}</after>")
        await mam(s, role, archive, {}, "<max>2</max><before/>")
        await mam(s, role, archive, {}, "<max>2</max><before/>", flip=True)
    for archive in (s.room, s.channel):
        status, got = await mam(s, "outsider", archive, {})
        assert (status, got) == ("error", "forbidden"), f"the outsider's MAM on {archive}: {status} {got}"


async def disco(s: Scenario) -> None:
    """disco#info and #items on the services, the channel, the room, an occupant, a proxy JID."""
    proxies = await participants(s)
    targets = [(s.inst.mix, None), (s.inst.muc, None), (s.channel, None), (s.channel, "mix"),
               (s.room, None), (f"{s.room}/{s.nick['mix_a']}", None), (proxies[s.nick["muc_a"]], None)]
    for role in ("muc_b", "mix_b", "outsider"):
        for to, node in targets:
            node_attr = f" node='{node}'" if node else ""
            await iq(s, role, to, "get", f"<query xmlns='{NS_DISCO_INFO}'{node_attr}/>")
            await iq(s, role, to, "get", f"<query xmlns='{NS_DISCO_ITEMS}'{node_attr}/>")


async def pubsub_reads(s: Scenario) -> None:
    """Every MIX node read by participants of both views and by the outsider. The
    JID map (XEP-0404) is for administrators while the mode hides anyone."""
    hides = any(not s.mode.reveals(p) for p in s.people.values() if not p.moderator)
    for role in ("mix_a", "muc_a", "dual", "outsider"):
        for name, node in NODES.items():
            status, answer = await iq(s, role, s.channel, "get",
                                      f"<pubsub xmlns='{NS_PUBSUB}'><items node='{node}'/></pubsub>")
            if name == "jidmap" and hides:
                assert status == "error", (f"{role} read the JID map in {s.mode.name} (seed {s.seed}): "
                                           f"{ET.tostring(answer, encoding='unicode')}")


async def mediated(s: Scenario, sender: str, kind: str, to: str, recipient: str, reason: str = "") -> None:
    """SENDER sends the room a muc#user <invite/> or <decline/> (KIND) to TO;
    waits until RECIPIENT has it. SENDER's JID may reach RECIPIENT (rule 4)."""
    mark = s.recs[recipient].mark()
    msg = s.clients[sender].make_message(mto=s.room)
    msg.append(raw(f"<x xmlns='{NS_MUC_USER}'><{kind} to='{to}'><reason>{reason}</reason></{kind}></x>"))
    s.invitations.add((sender, recipient))
    msg.send()
    await s.recs[recipient].expect(lambda el: el.find(f"{{{NS_MUC_USER}}}x/{{{NS_MUC_USER}}}{kind}") is not None,
                                   f"the {kind}", mark)


async def invite_outsider(s: Scenario) -> None:
    """Mediated MUC invitation (muc_a -> outsider) and the outsider's decline; a MIX
    invitation asked of the channel by mix_a and sent to the outsider directly."""
    await mediated(s, "muc_a", "invite", s.people["outsider"].jid, "outsider", s.fresh("join us "))
    await mediated(s, "outsider", "decline", str(s.clients["muc_a"].boundjid), "muc_a", "busy")

    status, answer = await iq(s, "mix_a", s.channel, "get",
                              f"<invite xmlns='{NS_MIX_CORE}'><invitee>{s.people['outsider'].jid}</invitee></invite>")
    assert status == "result", answer
    invitation = answer.find(f"{{{NS_MIX_CORE}}}invite/{{{NS_MIX_CORE}}}invitation")
    assert invitation is not None, ET.tostring(answer, encoding="unicode")
    mark = s.recs["outsider"].mark()
    msg = s.clients["mix_a"].make_message(mto=s.people["outsider"].jid, mbody=s.fresh("come along "))
    msg.append(invitation)
    msg.send()
    await s.recs["outsider"].expect(lambda el: el.find(f"{{{NS_MIX_CORE}}}invitation") is not None,
                                    "the MIX invitation", mark)


async def invite_participant(s: Scenario) -> None:
    """A mediated invitation between two people already in the channel (dual -> mix_b)."""
    await mediated(s, "dual", "invite", s.people["mix_b"].jid, "mix_b")


def gone(s: Scenario, nick: str, code: str):
    return lambda el: (local(el.tag) == "presence" and from_room(s, nick)(el) and el.get("type") == "unavailable"
                       and any(st.get("code") == code for st in el.iter(f"{{{NS_MUC_USER}}}status")))


async def kick_occupant(s: Scenario) -> None:
    """The owner, in the room, kicks muc_b (307); muc_b comes back."""
    mark = s.recs["muc_b"].mark()
    await admin_set(s, "owner", {"nick": s.nick["muc_b"], "role": "none"}, "cool down")
    await s.recs["muc_b"].expect(gone(s, s.nick["muc_b"], "307"), "the kick", mark)
    await muc_enter(s, "muc_b")


async def kick_mix_participant(s: Scenario) -> None:
    """The owner kicks mix_b's nick: mix_b leaves the channel, then joins again."""
    mark = s.recs["owner"].mark()
    await admin_set(s, "owner", {"nick": s.nick["mix_b"], "role": "none"}, "out")
    await s.recs["owner"].expect(gone(s, s.nick["mix_b"], "307"), "mix_b's kick", mark)
    await mix_join(s, "mix_b")


async def affiliation_from_outside(s: Scenario) -> None:
    """owner2 (and the service admin), not in the room, make muc_a a member and take
    it back: the re-announced presences name an actor who has no nick."""
    for actor in s.outside:
        for affiliation in ("member", "none"):
            mark = s.recs["muc_a"].mark()
            await admin_set(s, actor, {"jid": s.people["muc_a"].jid, "affiliation": affiliation}, "paperwork")
            await s.recs["muc_a"].expect(
                lambda el: self_presence(s, s.nick["muc_a"])(el)
                and any(i.get("affiliation") == affiliation for i in el.iter(f"{{{NS_MUC_USER}}}item")),
                f"own presence as {affiliation}", mark)


async def ban_in_room(s: Scenario) -> None:
    """The owner, in the room, bans victim1 (a MUC occupant), lifts the ban; victim1 comes back."""
    mark = s.recs["victim1"].mark()
    await admin_set(s, "owner", {"jid": s.people["victim1"].jid, "affiliation": "outcast"}, "spam")
    await s.recs["victim1"].expect(gone(s, s.nick["victim1"], "301"), "the ban", mark)
    mark = s.recs["victim1"].mark()
    s.clients["victim1"].make_presence(pto=f"{s.room}/{s.nick['victim1']}").send()
    await s.recs["victim1"].expect(lambda el: self_presence(s, s.nick["victim1"])(el) and el.get("type") == "error",
                                   "the refusal of a banned user", mark)
    await admin_set(s, "owner", {"jid": s.people["victim1"].jid, "affiliation": "none"})
    await muc_enter(s, "victim1")


async def ban_from_outside(s: Scenario) -> None:
    """owner2 (and the service admin), not in the room, ban victim2 (a MIX participant)
    through muc#admin (the others' 301 names an actor without a nick), then lift it;
    victim2 joins again."""
    for actor in s.outside:
        mark = s.recs["owner"].mark()
        await admin_set(s, actor, {"jid": s.people["victim2"].jid, "affiliation": "outcast"}, "spam")
        await s.recs["owner"].expect(gone(s, s.nick["victim2"], "301"), "victim2's ban", mark)
        await admin_set(s, actor, {"jid": s.people["victim2"].jid, "affiliation": "none"})
        await mix_join(s, "victim2")


async def ban_through_mix(s: Scenario) -> None:
    """The owner bans victim3 on the MIX banned node, retracts it; victim3 joins again."""
    mark = s.recs["owner"].mark()
    for action in ("publish", "retract"):
        status, answer = await iq(s, "owner", s.channel, "set",
                                  f"<pubsub xmlns='{NS_PUBSUB}'><{action} node='{NODES['banned']}'>"
                                  f"<item id='{s.people['victim3'].jid}'/></{action}></pubsub>")
        assert status == "result", f"{action} on the banned node: {answer}"
        if action == "publish":
            await s.recs["owner"].expect(gone(s, s.nick["victim3"], "301"), "victim3's ban", mark)
    await mix_join(s, "victim3")


async def voice_request(s: Scenario) -> None:
    """In a moderated room muc_b, made a visitor, asks for voice (the request goes to
    moderators only); the owner grants it; the room opens again."""
    await configure(s, {"muc#roomconfig_moderatedroom": "1"})
    await admin_set(s, "owner", {"nick": s.nick["muc_b"], "role": "visitor"})
    mark = s.recs["owner"].mark()
    msg = s.clients["muc_b"].make_message(mto=s.room)
    msg.append(raw(f"<x xmlns='{NS_DATA}' type='submit'>"
                   f"<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>"
                   f"<field var='muc#role' type='list-single'><value>participant</value></field></x>"))
    msg.send()
    await s.recs["owner"].expect(lambda el: local(el.tag) == "message" and from_room(s)(el)
                                 and el.find(f"{{{NS_DATA}}}x") is not None, "the voice request", mark)
    await admin_set(s, "owner", {"nick": s.nick["muc_b"], "role": "participant"})
    await configure(s, {"muc#roomconfig_moderatedroom": "0"})


async def subject(s: Scenario) -> None:
    await groupchat(s, "muc_a", "muc", subject=s.fresh("Topic "))
    await groupchat(s, "mix_a", "mix", subject=s.fresh("Topic "))


NS_RETRACT = "urn:xmpp:message-retract:1"
NS_MODERATE = "urn:xmpp:message-moderate:1"
NS_REGISTER = "jabber:iq:register"
NS_VCARD = "vcard-temp"
NS_AVATAR_META = "urn:xmpp:avatar:metadata"
#: A 1x1 PNG; each use gets bytes of its own after its end (a new hash).
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


async def posted(s: Scenario, role: str, view: str, text: str) -> str:
    """ROLE posts TEXT in VIEW; the archive id of its copy (MUC: the room's stanza-id, MIX: the id)."""
    to = s.room if view == "muc" else s.channel
    rec = s.recs[role]
    mark = rec.mark()
    s.clients[role].make_message(mto=to, mtype="groupchat", mbody=text).send()
    got = await rec.expect(lambda el: local(el.tag) == "message" and frm(el).partition("/")[0] == to.lower()
                           and (el.get("type") == "error" or body(el) == text), f"the copy of {text!r}", mark)
    assert got.get("type") != "error", f"{role}'s groupchat: {ET.tostring(got, encoding='unicode')}"
    if view == "mix":
        return got.get("id")
    for sid in got.iter("{urn:xmpp:sid:0}stanza-id"):
        if (sid.get("by") or "").lower() == s.room.lower():
            return sid.get("id")
    raise AssertionError(f"no stanza-id by the room: {ET.tostring(got, encoding='unicode')}")


def retracts(archive_id: str):
    """A retraction of ARCHIVE_ID in either dialect (XEP-0424, or the MIX <retract/>)."""
    def pred(el):
        if local(el.tag) != "message":
            return False
        return any(r.get("id") == archive_id for tag in (f"{{{NS_RETRACT}}}retract", f"{{{NS_MIX_CORE}}}retract")
                   for r in el.iter(tag))
    return pred


async def retract_and_moderate(s: Scenario) -> None:
    """muc_a retracts its own message (XEP-0424), mix_a its own (the MIX <retract/>), the
    owner removes dual's (XEP-0425): each view is told, a MUC and a MIX watcher wait for it.
    Then MAM (both archives) returns the tombstones, read by participants of both views."""
    sid = await posted(s, "muc_a", "muc", s.fresh("muc_a regrets "))
    mark_b, mark_mix = s.recs["muc_b"].mark(), s.recs["mix_b"].mark()
    msg = s.clients["muc_a"].make_message(mto=s.room, mtype="groupchat", mbody="(retracted)")
    msg.append(raw(f"<retract xmlns='{NS_RETRACT}' id='{sid}'/>"))
    msg.send()
    await s.recs["muc_b"].expect(retracts(sid), "muc_a's retraction in the room", mark_b)
    await s.recs["mix_b"].expect(retracts(sid), "muc_a's retraction through MIX", mark_mix)

    mid = await posted(s, "mix_a", "mix", s.fresh("mix_a regrets "))
    mark_b, mark_mix = s.recs["muc_b"].mark(), s.recs["mix_b"].mark()
    msg = s.clients["mix_a"].make_message(mto=s.channel, mtype="groupchat")
    msg.append(raw(f"<retract xmlns='{NS_MIX_CORE}' id='{mid}'/>"))
    msg.send()
    await s.recs["muc_b"].expect(retracts(mid), "mix_a's retraction in the room", mark_b)
    await s.recs["mix_b"].expect(retracts(mid), "mix_a's retraction through MIX", mark_mix)

    spam = await posted(s, "dual", "muc", s.fresh("dual spams "))
    mark_b, mark_mix = s.recs["muc_b"].mark(), s.recs["mix_b"].mark()
    status, answer = await iq(s, "owner", s.room, "set",
                              f"<moderate xmlns='{NS_MODERATE}' id='{spam}'><retract xmlns='{NS_RETRACT}'/>"
                              f"<reason>spam</reason></moderate>")
    assert status == "result", f"moderation: {answer}"
    await s.recs["muc_b"].expect(retracts(spam), "the moderation in the room", mark_b)
    await s.recs["mix_b"].expect(retracts(spam), "the moderation through MIX", mark_mix)
    for role, archive in (("muc_b", s.room), ("mix_b", s.channel)):
        status, answer = await iq(s, role, archive, "set",
                                  f"<query xmlns='{NS_MAM}' queryid='{s.fresh('q')}'>"
                                  f"<set xmlns='{NS_RSM}'><max>20</max><before/></set></query>")
        assert status == "result", f"{role}'s MAM: {answer}"


async def register_nicks(s: Scenario) -> None:
    """The owner makes muc_b a member; muc_b registers its nick in the room (XEP-0045
    §7.10) and cancels it, then is no longer a member (which the room announces); mix_a, made
    a member, registers its nick with the channel (MIX <register/>) and loses the
    membership again. Participants read their own registration and the reserved-nick
    query."""
    nick = s.nick["muc_b"]
    mark = s.recs["muc_b"].mark()
    # Only members may register (as in Prosody).
    await admin_set(s, "owner", {"jid": s.people["muc_b"].jid, "affiliation": "member"})
    await s.recs["muc_b"].expect(
        lambda el: self_presence(s, nick)(el) and any(i.get("affiliation") == "member" for i in el.iter(f"{{{NS_MUC_USER}}}item")),
        "own presence as a member", mark)
    status, answer = await iq(s, "muc_b", s.room, "set",
                              f"<query xmlns='{NS_REGISTER}'><x xmlns='{NS_DATA}' type='submit'>"
                              f"<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value></field>"
                              f"<field var='muc#register_roomnick'><value>{nick}</value></field></x></query>")
    assert status == "result", f"muc_b's registration: {answer}"
    for role in ("muc_b", "muc_a"):
        await iq(s, role, s.room, "get", f"<query xmlns='{NS_REGISTER}'/>")
        await iq(s, role, s.room, "get", f"<query xmlns='{NS_DISCO_INFO}' node='x-roomuser-item'/>")
    mark = s.recs["muc_b"].mark()
    status, answer = await iq(s, "muc_b", s.room, "set", f"<query xmlns='{NS_REGISTER}'><remove/></query>")
    assert status == "result", f"muc_b's unregistration: {answer}"
    await admin_set(s, "owner", {"jid": s.people["muc_b"].jid, "affiliation": "none"})
    await s.recs["muc_b"].expect(
        lambda el: self_presence(s, nick)(el) and any(i.get("affiliation") == "none" for i in el.iter(f"{{{NS_MUC_USER}}}item")),
        "own presence without affiliation", mark)
    await admin_set(s, "owner", {"jid": s.people["mix_a"].jid, "affiliation": "member"})
    status, answer = await iq(s, "mix_a", s.channel, "set",
                              f"<register xmlns='{NS_MIX_CORE}'><nick>{s.nick['mix_a']}</nick></register>")
    assert status == "result", f"mix_a's MIX registration: {answer}"
    await admin_set(s, "owner", {"jid": s.people["mix_a"].jid, "affiliation": "none"})


async def room_avatar(s: Scenario) -> None:
    """The owner sets the room's avatar (vCard on the room JID); occupants are told (104),
    participants of both views read the vCard, the disco hash and the XEP-0084 node."""
    png = base64.b64decode(PNG_B64) + s.fresh("avatar").encode()
    mark = s.recs["muc_a"].mark()
    status, answer = await iq(s, "owner", s.room, "set",
                              f"<vCard xmlns='{NS_VCARD}'><PHOTO><TYPE>image/png</TYPE>"
                              f"<BINVAL>{base64.b64encode(png).decode()}</BINVAL></PHOTO></vCard>")
    assert status == "result", f"the room's avatar: {answer}"
    await s.recs["muc_a"].expect(lambda el: local(el.tag) == "message" and from_room(s)(el)
                                 and any(st.get("code") == "104" for st in el.iter(f"{{{NS_MUC_USER}}}status")),
                                 "status 104", mark)
    for role in ("muc_a", "mix_a", "outsider"):
        await iq(s, role, s.room, "get", f"<vCard xmlns='{NS_VCARD}'/>")
        await iq(s, role, s.room, "get", f"<query xmlns='{NS_DISCO_INFO}'/>")
        await iq(s, role, s.channel, "get", f"<pubsub xmlns='{NS_PUBSUB}'><items node='{NS_AVATAR_META}'/></pubsub>")


async def destroy(s: Scenario) -> None:
    """The end: the owner destroys the room (muc#owner); occupants and participants are told."""
    mark = s.recs["muc_a"].mark()
    status, answer = await iq(s, "owner", s.room, "set",
                              f"<query xmlns='{NS_MUC_OWNER}'><destroy><reason>done</reason></destroy></query>")
    assert status == "result", answer
    await s.recs["muc_a"].expect(lambda el: self_presence(s, s.nick["muc_a"])(el) and el.get("type") == "unavailable",
                                 "the destroy presence", mark)


#: The operations, each run once in every phase, in an order drawn for each phase.
OPS = [talk, mam_every_filter, mix_reconnect, muc_rejoin, dual_muc_rejoin, mix_rejoin, mix_nick, muc_nick, muc_presence, mix_presence,
       private_muc_to_muc, private_muc_to_mix, private_to_proxies, iq_to_occupants, disco, pubsub_reads,
       invite_outsider, invite_participant, kick_occupant, kick_mix_participant, affiliation_from_outside,
       ban_in_room, ban_from_outside, ban_through_mix, voice_request, subject, outsider_pokes,
       lists_by_participants, retract_and_moderate, register_nicks, room_avatar]


# ---------------------------------------------------------------------------
# The tests

@pytest.mark.usefixtures("mix_pam")
@pytest.mark.deadline(120)
@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
async def test_no_hidden_jid_leaks(bed, xmpp, alt_instance, row):
    s = Scenario(bed, xmpp, row, SEED)
    print(f"leak suite: MM_LEAK_SEED={SEED} row {row['id']}")
    try:
        if row.get("service_admin"):
            with alt_instance(admins=[s.people["admin"].jid]) as inst:
                s.inst = inst
                await s.run()
        else:
            await s.run()
    except BaseException as exc:
        raise AssertionError(f"(MM_LEAK_SEED={SEED}, row {row['id']}, channel {s.channel}) stopped in "
                             f"{s.log[-1] if s.log else 'setup'}: {exc}") from exc
    verdict = s.verdict()
    counts = {role: len(rec.received) for role, rec in s.recs.items()}
    print(f"operations: {', '.join(s.log)}\nstanzas received: {counts}\n"
          f"timing: {sorted(((round(v, 2), k) for k, v in s.timing.items()), reverse=True)}\n"
          f"JIDs the modes showed: {sorted((k, sorted(v)) for k, v in verdict.seen.items())}\n"
          f"archived messages never seen live (judged as hidden): {len(verdict.unplaced)}")
    where = f"MM_LEAK_SEED={SEED}, row {row['id']}, operations: {', '.join(s.log)}"
    assert not verdict.leaks, (f"{len(verdict.leaks)} hidden JIDs shown ({where}):\n"
                               + leaks.summary(verdict.leaks))
    # Positive control: where a mode reveals JIDs, both views saw some.
    for phase, mode in enumerate(s.modes):
        if any(mode.reveals(p) for p in s.people.values() if not p.moderator):
            for view in ("muc", "mix"):
                assert verdict.seen.get((phase, view)), (f"no {view} recipient saw any JID in phase {phase} "
                                                         f"({mode.name}): the recorder sees nothing ({where})")


def test_judge():
    """The judge finds a JID planted where it must not be, and accepts the exceptions."""
    def person(role, view="muc", moderator=False):
        return Person(role, f"leak-{role}-t0k3n", f"leak-{role}-t0k3n@localhost", f"res-{role}-t0k3n", view, moderator)
    alice, bob, boss = person("alice"), person("bob", "mix"), person("boss", moderator=True)
    hidden, visible = MODES["jid-hidden"], MODES["jid-visible"]
    room = "r@muc.localhost"

    def verdict(recipient, stanzas, sent=None, modes=(hidden,), invitations=()):
        rec = SimpleNamespace(person=recipient, received=[Received(p, raw(x)) for p, x in stanzas], sent=sent or {})
        return judge([rec], [alice, bob, boss], list(modes), {room}, set(invitations))

    item = (f"<presence xmlns='jabber:client' from='{room}/Bob'><x xmlns='{NS_MUC_USER}'>"
            f"<item jid='LEAK-BOB-T0K3N@localhost/res' role='participant'/></x></presence>")
    text = f"<message xmlns='jabber:client' from='{room}'><body>leak-bob-t0k3n@LOCALHOST</body></message>"
    assert [f.shown.role for f in verdict(alice, [(0, item), (0, text)]).leaks] == ["bob", "bob"]
    resource = f"<presence xmlns='jabber:client' from='p1#c@mix.localhost/RES-BOB-T0K3N'/>"
    assert [f.shown.role for f in verdict(alice, [(0, resource)]).leaks] == ["bob"], "a resource alone"
    # An unavailable presence may come from an address seen before (not the first time, not with a <jid/>).
    online = "<presence xmlns='jabber:client' from='p1#c@mix.localhost/res-bob-t0k3n'/>"
    offline = "<presence xmlns='jabber:client' type='unavailable' from='p1#c@mix.localhost/res-bob-t0k3n'/>"
    assert not verdict(alice, [(0, online), (1, offline)], modes=[visible, hidden]).leaks
    assert verdict(alice, [(1, offline)], modes=[visible, hidden]).leaks
    assert verdict(alice, [(0, online), (1, offline.replace("/>", "><jid>leak-bob-t0k3n@localhost</jid></presence>"))],
                   modes=[visible, hidden]).leaks
    assert not verdict(bob, [(0, item)]).leaks, "one's own JID"
    assert not verdict(boss, [(0, item)]).leaks, "moderators are not judged"
    assert not verdict(alice, [(0, item)], modes=[visible]).leaks
    assert verdict(alice, [(0, item)], modes=[visible]).seen == {(0, "muc"): {"bob"}}
    # An archived message is judged by the mode it was archived in.
    live = (f"<message xmlns='jabber:client' from='{room}/Bob' type='groupchat'><body>hi</body>"
            f"<stanza-id xmlns='urn:xmpp:sid:0' by='{room}' id='A1'/></message>")
    archived = (f"<message xmlns='jabber:client' from='{room}'><result xmlns='{NS_MAM}' id='A1'><forwarded "
                f"xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'><jid>leak-bob-t0k3n@localhost</jid>"
                f"</message></forwarded></result></message>")
    assert len(verdict(alice, [(0, live), (1, archived)], modes=[hidden, visible]).leaks) == 1
    assert not verdict(alice, [(0, live), (1, archived)], modes=[visible, hidden]).leaks
    # An answer may repeat what the recipient sent; an invitation names its inviter.
    error = f"<iq xmlns='jabber:client' type='error' id='x1'><q>leak-bob-t0k3n@localhost</q></iq>"
    assert not verdict(alice, [(0, error)], sent={"x1": "with leak-bob-t0k3n@localhost"}).leaks
    assert verdict(alice, [(0, error)], sent={"x1": "nothing"}).leaks
    invite = (f"<message xmlns='jabber:client' from='{room}'><x xmlns='{NS_MUC_USER}'>"
              f"<invite from='leak-bob-t0k3n@localhost/r'/></x></message>")
    assert not verdict(alice, [(0, invite)], invitations=[("bob", "alice")]).leaks
    assert verdict(alice, [(0, invite)]).leaks
