"""The MUC view (XEP-0045) with real slixmpp MUC clients.

Every room on the MUC domain is a channel of the MIX domain (docs/muc.md).
These tests drive mixmuc's MUC domain with slixmpp's xep_0045 (and 0313,
0359, 0421) through the bed's Prosody, and check what a MUC client sees:
the order of the stanzas on entering, status codes, occupant-id, history,
subject, nick conflicts and changes, leaving, several sessions of one user,
self-ping, MAM on the room, errors and room disco.

The helpers at the top (``RoomLog``, ``enter``, the stanza readers) are
also used by test_mixed.py and test_muc_differential.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from slixmpp import JID
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET

from bed import IQ_TIMEOUT, NS_MIX_CORE, NS_MUC, unique_name

NS_CLIENT = "jabber:client"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner"
NS_SID = "urn:xmpp:sid:0"
NS_OCCUPANT_ID = "urn:xmpp:occupant-id:0"
NS_DELAY = "urn:xmpp:delay"
NS_MAM = "urn:xmpp:mam:2"
NS_PING = "urn:xmpp:ping"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
FORM_ROOMINFO = "http://jabber.org/protocol/muc#roominfo"
SELF_PING_OPTIMIZATION = "http://jabber.org/protocol/muc#self-ping-optimization"

#: Seconds of silence after which a room is taken to have said all it will.
QUIET = 0.7


# ---------------------------------------------------------------------------
# Reading stanzas (raw XML, so nothing depends on slixmpp's room bookkeeping)

def kind(stanza) -> str:
    """'message', 'presence' or 'iq'."""
    return stanza.xml.tag.rpartition("}")[2]


def codes(stanza) -> set[int]:
    """The muc#user status codes of a presence or message."""
    x = stanza.xml.find(f"{{{NS_MUC_USER}}}x")
    if x is None:
        return set()
    return {int(s.get("code")) for s in x.findall(f"{{{NS_MUC_USER}}}status")}


def muc_item(stanza) -> dict[str, str] | None:
    """The attributes of the first muc#user <item/>."""
    x = stanza.xml.find(f"{{{NS_MUC_USER}}}x")
    item = None if x is None else x.find(f"{{{NS_MUC_USER}}}item")
    return None if item is None else dict(item.attrib)


def muc_items(stanza) -> list[dict[str, str]]:
    x = stanza.xml.find(f"{{{NS_MUC_USER}}}x")
    return [] if x is None else [dict(i.attrib) for i in x.findall(f"{{{NS_MUC_USER}}}item")]


def has_destroy(stanza) -> bool:
    x = stanza.xml.find(f"{{{NS_MUC_USER}}}x")
    return x is not None and x.find(f"{{{NS_MUC_USER}}}destroy") is not None


def occupant_ids(stanza) -> list[str]:
    return [e.get("id") for e in stanza.xml.findall(f"{{{NS_OCCUPANT_ID}}}occupant-id")]


def occupant_id(stanza) -> str | None:
    """The one XEP-0421 occupant-id of a stanza (fails on more than one)."""
    ids = occupant_ids(stanza)
    assert len(ids) <= 1, f"more than one occupant-id: {stanza}"
    return ids[0] if ids else None


def stanza_ids(stanza) -> dict[str, str]:
    """XEP-0359 stanza-ids: by -> id."""
    return {e.get("by"): e.get("id") for e in stanza.xml.findall(f"{{{NS_SID}}}stanza-id")}


def room_stanza_id(stanza, room: str) -> str | None:
    """The stanza-id the room (by=ROOM) put on a message."""
    ids = {JID(by).bare.lower(): value for by, value in stanza_ids(stanza).items() if by}
    return ids.get(JID(room).bare.lower())


def delay(stanza) -> dict[str, str] | None:
    d = stanza.xml.find(f"{{{NS_DELAY}}}delay")
    return None if d is None else dict(d.attrib)


def body(stanza) -> str | None:
    b = stanza.xml.find(f"{{{NS_CLIENT}}}body")
    return None if b is None else (b.text or "")


def subject(stanza) -> str | None:
    s = stanza.xml.find(f"{{{NS_CLIENT}}}subject")
    return None if s is None else (s.text or "")


def is_subject(stanza) -> bool:
    """XEP-0045 §8.1: a groupchat message with a <subject/> and no <body/>."""
    return (kind(stanza) == "message" and stanza["type"] == "groupchat"
            and subject(stanza) is not None and body(stanza) is None)


def is_error(stanza) -> bool:
    return stanza["type"] == "error"


def error(stanza) -> tuple[str, str]:
    """(type, condition) of an error stanza."""
    err = stanza.xml.find(f"{{{NS_CLIENT}}}error")
    assert err is not None, f"not an error: {stanza}"
    conditions = [c.tag.rpartition("}")[2] for c in err
                  if c.tag.startswith(f"{{{NS_STANZAS}}}") and not c.tag.endswith("}text")]
    return err.get("type"), (conditions[0] if conditions else "")


def nick_of(stanza) -> str:
    return stanza["from"].resource


def is_self_presence(stanza) -> bool:
    return kind(stanza) == "presence" and 110 in codes(stanza)


def describe(stanzas) -> str:
    return "\n".join(f"  {s}" for s in stanzas) or "  (nothing)"


# ---------------------------------------------------------------------------
# Watching a room

class RoomLog:
    """Every message and presence a client receives from one room (the room's
    bare JID or any occupant JID), in arrival order. MAM results are left out.

    Create it before the action whose answer it should see.
    """

    def __init__(self, client, room: str):
        self.client = client
        self.room = JID(room).bare.lower()
        self._queue: asyncio.Queue = asyncio.Queue()
        self.seen: list = []
        client.add_filter("in", self._in)

    def _in(self, stanza):
        try:
            tag = stanza.xml.tag
            if tag in (f"{{{NS_CLIENT}}}message", f"{{{NS_CLIENT}}}presence") \
                    and stanza["from"].bare.lower() == self.room \
                    and stanza.xml.find(f"{{{NS_MAM}}}result") is None:
                self.seen.append(stanza)
                self._queue.put_nowait(stanza)
        except Exception:  # a filter must never break the client
            pass
        return stanza

    def close(self) -> None:
        self.client.del_filter("in", self._in)

    def drain(self) -> list:
        """Whatever arrived and was not read yet."""
        out = []
        while not self._queue.empty():
            out.append(self._queue.get_nowait())
        return out

    async def next(self, timeout: float = IQ_TIMEOUT):
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.client.boundjid}: nothing from {self.room} within {timeout}s") from None

    async def until(self, pred, timeout: float = IQ_TIMEOUT, what: str = "") -> list:
        """Stanzas up to and including the first one PRED accepts."""
        got = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            try:
                stanza = await asyncio.wait_for(self._queue.get(), max(left, 0.01))
            except asyncio.TimeoutError:
                raise AssertionError(
                    f"{self.client.boundjid}: no {what or 'expected stanza'} from {self.room} within "
                    f"{timeout}s; got:\n{describe(got)}") from None
            got.append(stanza)
            if pred(stanza):
                return got

    async def settle(self, quiet: float = QUIET, timeout: float = IQ_TIMEOUT) -> list:
        """Everything until the room has been quiet for QUIET seconds."""
        got = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            try:
                got.append(await asyncio.wait_for(self._queue.get(), quiet))
            except asyncio.TimeoutError:
                return got
        return got


@dataclass
class Entry:
    """What a session got from the room on entering it (XEP-0045 §7.2)."""

    stanzas: list
    error: object = None  # the presence error, if the room refused
    others: list = field(default_factory=list)  # occupant presences before the self-presence
    self_presence: object = None
    history: list = field(default_factory=list)  # messages between self-presence and subject
    subject: object = None

    @property
    def codes(self) -> set[int]:
        return codes(self.self_presence) if self.self_presence is not None else set()

    @property
    def occupant_id(self) -> str | None:
        return occupant_id(self.self_presence) if self.self_presence is not None else None


def join_presence(client, room: str, nick: str, *, maxstanzas=None, maxchars=None, seconds=None,
                  pshow=None, pstatus=None, presence_id=None):
    presence_options = {}
    if pshow:
        presence_options["pshow"] = pshow
    if pstatus:
        presence_options["pstatus"] = pstatus
    stanza = client.plugin["xep_0045"].make_join_stanza(
        JID(room), nick, maxstanzas=maxstanzas, maxchars=maxchars, seconds=seconds,
        presence_options=presence_options)
    if presence_id:
        stanza["id"] = presence_id
    return stanza


async def enter(client, room: str, nick: str, *, log: RoomLog | None = None, timeout: float = IQ_TIMEOUT,
                seen_by=(), **history) -> Entry:
    """Send an entering presence to ROOM/NICK and read the room's answer up to
    the subject (or the error). HISTORY: maxstanzas, maxchars, seconds, pshow, pstatus,
    presence_id (see join_presence). SEEN_BY: occupants (clients) that must have
    received the newcomer's presence before this returns, so that a RoomLog
    opened on them afterwards does not catch it."""
    watchers = [RoomLog(w, room) for w in seen_by]
    try:
        entry = await _enter(client, room, nick, log=log, timeout=timeout, **history)
        if entry.error is None:
            for w in watchers:
                await w.until(lambda s: kind(s) == "presence" and nick_of(s) == nick, timeout,
                              f"{nick}'s arrival")
        return entry
    finally:
        for w in watchers:
            w.close()


async def _enter(client, room: str, nick: str, *, log: RoomLog | None, timeout: float, **history) -> Entry:
    own = log is None
    log = log or RoomLog(client, room)
    # What join_muc_wait does, so slixmpp's room bookkeeping (set_self_nick,
    # leave_muc, get_roster) knows the room.
    muc = client.plugin["xep_0045"]
    muc.rooms[None][JID(room)] = muc.rooms[None].get(JID(room), {})
    muc.our_nicks[None][JID(room)] = nick
    try:
        join_presence(client, room, nick, **history).send()
        got = await log.until(lambda s: kind(s) == "presence" and (is_self_presence(s) or is_error(s)),
                              timeout, "self-presence or error")
        last = got[-1]
        if is_error(last):
            return Entry(stanzas=got, error=last)
        entry = Entry(stanzas=list(got), others=got[:-1], self_presence=last)
        rest = await log.until(is_subject, timeout, "subject")
        entry.stanzas.extend(rest)
        entry.history = rest[:-1]
        entry.subject = rest[-1]
        return entry
    finally:
        if own:
            log.close()


async def new_room(bed, client, nick: str, prefix: str = "room") -> tuple[str, Entry]:
    """A room created on mixmuc's MUC domain by CLIENT's entering presence, then
    unlocked as an instant room (XEP-0045 §10.1.2) so that others may enter."""
    room = f"{unique_name(prefix)}@{bed.main.muc}"
    entry = await enter(client, room, nick)
    assert entry.error is None, f"could not create {room}:\n{describe(entry.stanzas)}"
    await accept_instant_room(client, room)
    return room, entry


async def accept_instant_room(client, room: str) -> None:
    """The owner of a new (locked) room accepts the default configuration."""
    iq = client.make_iq_set(ito=room)
    query = ET.Element(f"{{{NS_MUC_OWNER}}}query")
    ET.SubElement(query, "{jabber:x:data}x", {"type": "submit"})
    iq.append(query)
    await iq.send(timeout=IQ_TIMEOUT)


async def say(client, room: str, text: str, msg_id: str | None = None, log: RoomLog | None = None):
    """Send a groupchat message; with LOG, wait for and return its reflection."""
    msg = client.make_message(mto=room, mbody=text, mtype="groupchat")
    if msg_id:
        msg["id"] = msg_id
    sent_id = msg["id"]
    msg.send()
    if log is None:
        return None
    return (await log.until(lambda s: kind(s) == "message" and body(s) == text, what=f"echo of {text!r}"))[-1], sent_id


async def mix_join_direct(client, channel: str, nick: str):
    """A MIX join sent by the client itself to the channel (mixmuc takes its bare
    JID). Built by hand: slixmpp 1.17's xep_0369 join_channel nests the
    <subscribe/> elements in an empty one, which a MIX service must refuse."""
    subscribe = "".join(f"<subscribe node='urn:xmpp:mix:nodes:{n}'/>" for n in ("messages", "participants", "info"))
    iq = client.make_iq_set(ito=channel)
    iq.append(ET.fromstring(f"<join xmlns='{NS_MIX_CORE}'>{subscribe}<nick>{nick}</nick></join>"))
    return await iq.send(timeout=IQ_TIMEOUT)


async def iq_result_or_error(iq, timeout: float = IQ_TIMEOUT):
    """('result', iq) or ('error', (type, condition))."""
    try:
        return "result", await iq.send(timeout=timeout)
    except IqError as err:
        return "error", (err.iq["error"]["type"], err.iq["error"]["condition"])


async def self_ping(client, occupant_jid: str):
    """XEP-0410: ping one's own occupant JID."""
    iq = client.make_iq_get(ito=occupant_jid)
    iq.append(ET.Element(f"{{{NS_PING}}}ping"))
    return await iq_result_or_error(iq)


async def mam_page(client, room: str, **rsm):
    """One page of MAM on ROOM: (list of (archive id, forwarded message), fin)."""
    result = await client.plugin["xep_0313"].retrieve(jid=JID(room), rsm=rsm or None, timeout=IQ_TIMEOUT)
    rows = []
    for msg in result["mam"]["results"]:
        forwarded = msg["mam_result"]["forwarded"]["stanza"]
        rows.append((msg["mam_result"]["id"], forwarded))
    return rows, result["mam_fin"]


def complete(fin) -> bool:
    return fin.xml.get("complete") in ("true", "1")


async def mam_all(client, room: str, page: int = 50):
    """Every archived message of ROOM, paging forward: [(id, forwarded message)]."""
    rows, after = [], None
    for _ in range(100):
        rsm = {"max": page}
        if after:
            rsm["after"] = after
        got, fin = await mam_page(client, room, **rsm)
        rows.extend(got)
        if complete(fin) or not got:
            return rows
        after = fin["rsm"]["last"]
    raise AssertionError("MAM paging did not end")


async def room_info(client, room: str):
    iq = await client.plugin["xep_0030"].get_info(jid=room, timeout=IQ_TIMEOUT, cached=False)
    return iq


def roominfo_form(info_iq) -> dict:
    for form in info_iq["disco_info"].iterables:
        if form.name == "x":
            values = form.get_values()
            form_type = values.get("FORM_TYPE")
            if isinstance(form_type, list):
                form_type = form_type[0] if form_type else None
            if form_type == FORM_ROOMINFO:
                return values
    return {}


# ---------------------------------------------------------------------------
# Entering

async def test_enter_existing_channel(bed, xmpp):
    """A channel created on the MIX domain is a room on the MUC domain: entering it
    gives 110 and 100 (non-anonymous), not 201, and occupant-id (XEP-0421)."""
    alice = await xmpp.connect("alice")
    carol = await xmpp.connect("carol")
    name = await alice.create_channel(bed.main.mix, unique_name("existing"))
    room = f"{name}@{bed.main.muc}"

    pres, subj, occupants, history = await carol.plugin["xep_0045"].join_muc_wait(
        JID(room), "Carol", maxstanzas=10, timeout=IQ_TIMEOUT)
    assert pres["from"] == JID(f"{room}/Carol")
    assert set(pres["muc"]["status_codes"]) == {110, 100}, str(pres)
    assert pres["muc"]["affiliation"] in ("member", "none") and pres["muc"]["role"] == "participant", str(pres)
    assert JID(pres["muc"]["jid"]) == carol.boundjid, "non-anonymous room: own full JID in the item"
    assert pres["occupant-id"]["id"], f"no occupant-id on the self-presence: {pres}"
    assert subject(subj) == "" and body(subj) is None, str(subj)
    # slixmpp lists every occupant that came online during the join, itself included.
    assert [p["from"].resource for p in occupants] == ["Carol"] and history == []
    assert carol.plugin["xep_0045"].get_roster(JID(room)) == ["Carol"]


async def test_occupants_first_then_self_presence_then_subject(bed, xmpp):
    """XEP-0045 §7.2.2: the complete list of occupants, then the self-presence
    (110, 100), then history, then the subject; the others see the newcomer."""
    alice = await xmpp.connect("alice")
    bob = await xmpp.connect("bob")
    carol = await xmpp.connect("carol")
    room, first = await new_room(bed, alice, "Alice", "order")
    second = await enter(bob, room, "Bob", seen_by=[alice])
    alice_log = RoomLog(alice, room)
    bob_log = RoomLog(bob, room)

    entry = await enter(carol, room, "Carol")
    assert entry.error is None, describe(entry.stanzas)
    assert sorted(nick_of(p) for p in entry.others) == ["Alice", "Bob"], describe(entry.stanzas)
    assert all(kind(p) == "presence" and p["type"] != "unavailable" and 110 not in codes(p) for p in entry.others)
    assert nick_of(entry.self_presence) == "Carol" and entry.codes == {110, 100}, describe(entry.stanzas)
    assert entry.history == [] and subject(entry.subject) == "", describe(entry.stanzas)
    assert entry.stanzas[-1] is entry.subject

    # Occupant ids: on every presence, one per user, the same one everywhere.
    ids = {nick_of(p): occupant_id(p) for p in entry.others}
    assert ids["Alice"] == first.occupant_id and ids["Bob"] == second.occupant_id, describe(entry.stanzas)
    assert len({first.occupant_id, second.occupant_id, entry.occupant_id}) == 3
    assert all(ids.values()) and entry.occupant_id

    # Items: real JIDs (non-anonymous), affiliation and role.
    items = {nick_of(p): muc_item(p) for p in entry.others}
    assert JID(items["Alice"]["jid"]) == alice.boundjid and items["Alice"]["affiliation"] == "owner"
    assert items["Alice"]["role"] == "moderator"
    assert JID(items["Bob"]["jid"]) == bob.boundjid and items["Bob"]["role"] == "participant"

    for log in (alice_log, bob_log):
        newcomer = await log.until(lambda s: kind(s) == "presence", what="Carol's presence")
        assert [nick_of(s) for s in newcomer] == ["Carol"], describe(newcomer)
        assert codes(newcomer[-1]) == set() and occupant_id(newcomer[-1]) == entry.occupant_id
        assert JID(muc_item(newcomer[-1])["jid"]) == carol.boundjid


async def test_create_room_by_presence(bed, xmpp):
    """A presence to a room that does not exist creates it (201), locked until the
    owner accepts the instant room; the channel exists on both domains."""
    dave = await xmpp.connect("dave")
    name = unique_name("bypresence")
    room = f"{name}@{bed.main.muc}"
    pres, subj, occupants, history = await dave.plugin["xep_0045"].join_muc_wait(
        JID(room), "Dave", maxchars=0, timeout=IQ_TIMEOUT)
    assert {110, 201} <= set(pres["muc"]["status_codes"]), str(pres)
    assert 100 in pres["muc"]["status_codes"], "the room is non-anonymous (docs/muc.md)"
    assert (pres["muc"]["affiliation"], pres["muc"]["role"]) == ("owner", "moderator"), str(pres)
    assert pres["occupant-id"]["id"]
    assert subject(subj) == "" and history == []
    assert [p["from"].resource for p in occupants] == ["Dave"]

    await dave.plugin["xep_0030"].get_info(jid=f"{name}@{bed.main.mix}", node="mix", timeout=IQ_TIMEOUT)
    info = await room_info(dave, room)
    assert NS_MUC in info["disco_info"]["features"]
    # Locked until its owner accepts the instant room (test_muc_owner.py has the rest).
    await accept_instant_room(dave, room)

    # Entering it again later does not say 201 again.
    dave.plugin["xep_0045"].leave_muc(JID(room), "Dave")
    await asyncio.sleep(0.3)
    again = await enter(dave, room, "Dave")
    assert 201 not in again.codes and 110 in again.codes, describe(again.stanzas)


async def test_history_on_entering(bed, xmpp):
    """History (XEP-0045 §7.2.13, §7.2.14): after the self-presence, before the subject, oldest
    first, with a delay from the room, the room's stanza-id and occupant-id;
    maxstanzas and maxchars=0 honoured."""
    alice = await xmpp.connect("alice")
    bob = await xmpp.connect("bob")
    carol = await xmpp.connect("carol")
    room, mine = await new_room(bed, alice, "Alice", "history")
    log = RoomLog(alice, room)
    live = []
    for n in range(5):
        echo, _ = await say(alice, room, f"line {n}", log=log)
        live.append((body(echo), room_stanza_id(echo, room)))

    entry = await enter(bob, room, "Bob", maxstanzas=3)
    assert [body(m) for m in entry.history] == ["line 2", "line 3", "line 4"], describe(entry.stanzas)
    for msg, (text, sid) in zip(entry.history, live[2:]):
        assert msg["type"] == "groupchat" and nick_of(msg) == "Alice"
        stamp = delay(msg)
        assert stamp and JID(stamp["from"]) == JID(room) and stamp.get("stamp"), str(msg)
        assert room_stanza_id(msg, room) == sid, "history carries the live stanza-id"
        assert occupant_id(msg) == mine.occupant_id
    # The self-presence comes before any history, the subject after it.
    order = [kind(s) for s in entry.stanzas]
    assert order.index("message") > order.index("presence")

    # slixmpp's own view of the same (history with the room's delay).
    _, subj, occupants, history = await carol.plugin["xep_0045"].join_muc_wait(
        JID(room), "Carol", maxstanzas=2, timeout=IQ_TIMEOUT)
    assert [m["body"] for m in history] == ["line 3", "line 4"]
    assert sorted(p["from"].resource for p in occupants) == ["Alice", "Bob", "Carol"]

    nothing = await enter(await xmpp.connect("dave"), room, "Dave", maxchars=0)
    assert nothing.history == [], describe(nothing.stanzas)
    default = await enter(await xmpp.connect("eve"), room, "Eve")
    assert [body(m) for m in default.history] == [f"line {n}" for n in range(5)], describe(default.stanzas)


async def test_subject(bed, xmpp):
    """A subject change is reflected (slixmpp's groupchat_subject fires), sent as the
    last stanza to later entrants, and shown in muc#roominfo."""
    alice = await xmpp.connect("alice")
    bob = await xmpp.connect("bob")
    carol = await xmpp.connect("carol")
    room, _ = await new_room(bed, alice, "Alice", "subject")
    await enter(bob, room, "Bob")
    bob.queue("groupchat_subject")
    alice.plugin["xep_0045"].set_subject(JID(room), "Midnight hags")
    changed = await bob.next("groupchat_subject")
    assert changed["subject"] == "Midnight hags" and changed["from"].bare == JID(room).bare

    entry = await enter(carol, room, "Carol")
    assert subject(entry.subject) == "Midnight hags", describe(entry.stanzas)
    assert entry.subject is entry.stanzas[-1]
    form = roominfo_form(await room_info(carol, room))
    assert form.get("muc#roominfo_subject") == "Midnight hags", form


async def test_subject_change_is_not_history(bed, xmpp):
    """XEP-0045 §7.2.13: 'the room subject (and changes to the room subject prior to
    the current subject) are not part of the discussion history'. A subject-only
    message inside the history looks like the end of the join to clients (slixmpp's
    join_muc_wait returns on the first one)."""
    alice = await xmpp.connect("alice")
    carol = await xmpp.connect("carol")
    room, _ = await new_room(bed, alice, "Alice", "subjhist")
    log = RoomLog(alice, room)
    await say(alice, room, "before", log=log)
    alice.plugin["xep_0045"].set_subject(JID(room), "First subject")
    await log.until(is_subject, what="subject echo")
    await say(alice, room, "after", log=log)

    carol_log = RoomLog(carol, room)
    join_presence(carol, room, "Carol", maxstanzas=20).send()
    got = await carol_log.settle()
    subjects = [s for s in got if is_subject(s)]
    assert [body(s) for s in got if kind(s) == "message" and body(s) is not None] == ["before", "after"], describe(got)
    assert len(subjects) == 1 and got[-1] is subjects[0], (
        "exactly one subject message, after the whole history; got:\n" + describe(got))
    assert subject(subjects[0]) == "First subject"


async def test_nick_conflict(bed, xmpp):
    """A nick in use gives a presence error <conflict/> (409), case-insensitively
    (docs/muc.md), and the refused user is not in the room."""
    alice = await xmpp.connect("alice")
    bob = await xmpp.connect("bob")
    room, _ = await new_room(bed, alice, "Alice", "conflict")
    alice_log = RoomLog(alice, room)
    for taken in ("Alice", "alice", "ALICE"):
        entry = await enter(bob, room, taken)
        assert entry.error is not None, f"{taken}: {describe(entry.stanzas)}"
        assert error(entry.error) == ("cancel", "conflict"), str(entry.error)
        assert entry.error["from"] == JID(f"{room}/{taken}")
    # Alice saw nothing of it, and Bob is not in: his self-ping is refused.
    assert await alice_log.settle() == []
    assert (await self_ping(bob, f"{room}/Bob"))[0] == "error"


async def test_nick_held_by_mix_participant_is_conflict(bed, xmpp):
    """One nick namespace for both views: the nick of a MIX participant is taken
    in the MUC view (the MIX join here goes straight from the client)."""
    alice = await xmpp.connect("alice")
    bob = await xmpp.connect("bob")
    name = await alice.create_channel(bed.main.mix, unique_name("mixnick"))
    await mix_join_direct(alice, f"{name}@{bed.main.mix}", "Witch")
    room = f"{name}@{bed.main.muc}"
    for taken in ("Witch", "witch"):
        entry = await enter(bob, room, taken)
        assert entry.error is not None and error(entry.error)[1] == "conflict", describe(entry.stanzas)
    entry = await enter(bob, room, "Bob")
    assert entry.error is None and 110 in entry.codes
    # The MIX participant with a nick is shown as an occupant.
    assert [nick_of(p) for p in entry.others] == ["Witch"], describe(entry.stanzas)


# ---------------------------------------------------------------------------
# Messages

async def test_groupchat_both_ways(bed, xmpp):
    """Groupchat from room/nick to every occupant, the id kept (the sender's echo
    keeps its id), one stanza-id by the room shared by all copies, occupant-id."""
    alice = await xmpp.connect("alice")
    bob = await xmpp.connect("bob")
    room, a_entry = await new_room(bed, alice, "Alice", "talk")
    b_entry = await enter(bob, room, "Bob")
    for client in (alice, bob):
        client.queue("groupchat_message")

    for sender, nick, oid, text in ((alice, "Alice", a_entry.occupant_id, "hail"),
                                    (bob, "Bob", b_entry.occupant_id, "well met")):
        msg = sender.make_message(mto=room, mbody=text, mtype="groupchat")
        msg["id"] = f"{nick}-{unique_name('m')}"
        msg["origin_id"]["id"] = msg["id"]
        msg.send()
        copies = [await c.next("groupchat_message") for c in (alice, bob)]
        sids = set()
        for copy in copies:
            assert copy["body"] == text and copy["from"] == JID(f"{room}/{nick}"), str(copy)
            assert copy["id"] == msg["id"], f"the reflection keeps the sender's id: {copy}"
            assert copy["origin_id"]["id"] == msg["id"], str(copy)
            assert copy["occupant-id"]["id"] == oid, str(copy)
            sid = room_stanza_id(copy, room)
            assert sid, f"no stanza-id by the room: {copy}"
            sids.add(sid)
        assert len(sids) == 1, "every copy carries the same archive id"


async def test_unknown_payload_passes_and_forged_ids_are_replaced(bed, xmpp):
    """Payloads the room does not know pass through; an occupant-id or a stanza-id
    by the room put there by the sender is replaced (XEP-0421 and XEP-0359 "Business Rules")."""
    alice = await xmpp.connect("alice")
    bob = await xmpp.connect("bob")
    room, a_entry = await new_room(bed, alice, "Alice", "forge")
    await enter(bob, room, "Bob")
    log = RoomLog(bob, room)
    msg = alice.make_message(mto=room, mbody="with extras", mtype="groupchat")
    msg.append(ET.fromstring("<reply xmlns='urn:xmpp:reply:0' to='x@y/z' id='orig-1'/>"))
    msg.append(ET.fromstring(f"<occupant-id xmlns='{NS_OCCUPANT_ID}' id='forged-oid'/>"))
    msg.append(ET.fromstring(f"<stanza-id xmlns='{NS_SID}' by='{room}' id='forged-sid'/>"))
    msg.send()
    copy = (await log.until(lambda s: body(s) == "with extras"))[-1]
    reply = copy.xml.find("{urn:xmpp:reply:0}reply")
    assert reply is not None and reply.get("id") == "orig-1", str(copy)
    assert occupant_ids(copy) == [a_entry.occupant_id], str(copy)
    assert room_stanza_id(copy, room) not in (None, "forged-sid"), str(copy)
    assert len([by for by in stanza_ids(copy) if JID(by).bare == JID(room).bare]) == 1, str(copy)


async def test_message_from_non_occupant_is_not_acceptable(bed, xmpp):
    """XEP-0045 §7.4: a groupchat from someone not in the room gets <not-acceptable/>
    and reaches nobody."""
    alice = await xmpp.connect("alice")
    carol = await xmpp.connect("carol")
    room, _ = await new_room(bed, alice, "Alice", "outsider")
    alice_log = RoomLog(alice, room)
    carol_log = RoomLog(carol, room)
    msg = carol.make_message(mto=room, mbody="let me in", mtype="groupchat")
    msg["id"] = "outsider-1"
    msg.send()
    answer = (await carol_log.until(lambda s: kind(s) == "message", what="error"))[-1]
    assert answer["type"] == "error" and answer["id"] == "outsider-1", str(answer)
    assert error(answer)[1] == "not-acceptable", str(answer)
    assert [s for s in await alice_log.settle() if body(s) == "let me in"] == []
    # Nothing was archived either.
    rows = await mam_all(alice, room)
    assert all(body(m) != "let me in" for _, m in rows)


# ---------------------------------------------------------------------------
# Nicks, leaving, sessions

async def test_nick_change(bed, xmpp):
    """XEP-0045 §7.6: 303 unavailable from the old nick naming the new one, then the
    new presence; 110 only to the user; occupant-id unchanged; the old nick is free."""
    alice = await xmpp.connect("alice")
    bob = await xmpp.connect("bob")
    carol = await xmpp.connect("carol")
    room, _ = await new_room(bed, alice, "Alice", "renick")
    b_entry = await enter(bob, room, "Bob", seen_by=[alice])
    alice_log, bob_log = RoomLog(alice, room), RoomLog(bob, room)

    new = await bob.plugin["xep_0045"].set_self_nick(JID(room), "Robert", timeout=IQ_TIMEOUT)
    assert new == "Robert"
    for log, own in ((bob_log, True), (alice_log, False)):
        got = await log.until(lambda s: kind(s) == "presence" and s["type"] != "unavailable", what="new presence")
        assert [(s["type"], nick_of(s)) for s in got] == [("unavailable", "Bob"), ("available", "Robert")], \
            describe(got)
        gone, back = got
        want = {303, 110} if own else {303}
        assert codes(gone) == want and muc_item(gone).get("nick") == "Robert", str(gone)
        assert codes(back) == ({110} if own else set()), str(back)
        assert occupant_id(gone) == occupant_id(back) == b_entry.occupant_id

    echo, _ = await say(bob, room, "new name", log=bob_log)
    assert echo["from"] == JID(f"{room}/Robert")
    # The old nick is free, the new one taken.
    assert (await enter(carol, room, "robert")).error is not None
    assert (await enter(carol, room, "Bob")).error is None


async def test_leaving(bed, xmpp):
    """XEP-0045 §7.14: unavailable with 110 to the leaver, role none to everyone; the
    nick is free again, and the leaver can no longer talk."""
    alice = await xmpp.connect("alice")
    bob = await xmpp.connect("bob")
    carol = await xmpp.connect("carol")
    room, _ = await new_room(bed, alice, "Alice", "leave")
    await enter(bob, room, "Bob", seen_by=[alice])
    alice_log, bob_log = RoomLog(alice, room), RoomLog(bob, room)
    bob.plugin["xep_0045"].leave_muc(JID(room), "Bob")

    own = (await bob_log.until(lambda s: kind(s) == "presence"))[-1]
    assert own["type"] == "unavailable" and own["from"] == JID(f"{room}/Bob"), str(own)
    assert 110 in codes(own) and muc_item(own)["role"] == "none", str(own)
    seen = (await alice_log.until(lambda s: kind(s) == "presence"))[-1]
    assert seen["type"] == "unavailable" and nick_of(seen) == "Bob", str(seen)
    assert 110 not in codes(seen) and muc_item(seen)["role"] == "none", str(seen)

    msg = bob.make_message(mto=room, mbody="still here?", mtype="groupchat")
    msg.send()
    answer = (await bob_log.until(lambda s: kind(s) == "message"))[-1]
    assert answer["type"] == "error" and error(answer)[1] == "not-acceptable", str(answer)
    entry = await enter(carol, room, "Bob")
    assert entry.error is None, describe(entry.stanzas)
    assert [nick_of(p) for p in entry.others] == ["Alice"], describe(entry.stanzas)


async def test_occupant_id_is_stable_across_visits(bed, xmpp):
    """XEP-0421 "Occupant ID generation": 'if a user joins the same room a second time, the occupant
    identifier MUST be the same as was assigned the first time' (per real bare JID),
    so that history from an earlier visit is attributed to the same occupant."""
    alice = await xmpp.connect("alice")
    bob = await xmpp.connect("bob")
    room, _ = await new_room(bed, alice, "Alice", "stable")
    first = await enter(bob, room, "Bob")
    log = RoomLog(bob, room)
    echo, _ = await say(bob, room, "first visit", log=log)
    bob.plugin["xep_0045"].leave_muc(JID(room), "Bob")
    await log.until(lambda s: kind(s) == "presence" and s["type"] == "unavailable")
    log.close()

    second = await enter(bob, room, "Bob", maxstanzas=5)
    old = [m for m in second.history if body(m) == "first visit"]
    assert old and occupant_id(old[0]) == occupant_id(echo) == first.occupant_id
    assert second.occupant_id == first.occupant_id, (
        f"occupant-id changed between visits: {first.occupant_id!r} then {second.occupant_id!r}")


async def test_two_sessions_share_one_nick(bed, xmpp):
    """Several sessions of one user are one occupant (docs/muc.md): the others see
    it once; both sessions get the room's traffic; another nick is a conflict; the
    others see it go with its last session."""
    alice = await xmpp.connect("alice")
    bob1 = await xmpp.connect("bob")
    bob2 = await xmpp.connect("bob")
    room, _ = await new_room(bed, alice, "Alice", "sessions")
    first = await enter(bob1, room, "Bob", seen_by=[alice])
    alice_log, bob1_log, bob2_log = RoomLog(alice, room), RoomLog(bob1, room), RoomLog(bob2, room)

    other = await enter(bob2, room, "Bobby", log=bob2_log)
    assert other.error is not None and error(other.error)[1] == "conflict", describe(other.stanzas)
    second = await enter(bob2, room, "Bob", log=bob2_log)
    assert second.error is None and 110 in second.codes, describe(second.stanzas)
    assert [nick_of(p) for p in second.others] == ["Alice"], describe(second.stanzas)
    assert second.occupant_id == first.occupant_id
    seen = await alice_log.settle()
    assert [s for s in seen if kind(s) == "presence"] == [], "the others see Bob once:\n" + describe(seen)

    # Both sessions get messages, from either side.
    await say(alice, room, "to both", log=alice_log)
    for log in (bob1_log, bob2_log):
        await log.until(lambda s: body(s) == "to both")
    await say(bob2, room, "from the second", msg_id="second-1", log=bob2_log)
    for log in (bob1_log, alice_log):
        copy = (await log.until(lambda s: body(s) == "from the second"))[-1]
        assert copy["from"] == JID(f"{room}/Bob") and copy["id"] == "second-1"

    # One session leaves: it gets its 110, nobody else hears of it.
    bob2.send_presence(pto=f"{room}/Bob", ptype="unavailable")
    own = (await bob2_log.until(lambda s: kind(s) == "presence"))[-1]
    assert own["type"] == "unavailable" and 110 in codes(own), str(own)
    quiet = await alice_log.settle()
    assert [s for s in quiet if kind(s) == "presence"] == [], describe(quiet)
    assert (await self_ping(bob1, f"{room}/Bob"))[0] == "result"
    # The last one leaves: now the others see Bob go.
    bob1.send_presence(pto=f"{room}/Bob", ptype="unavailable")
    gone = (await alice_log.until(lambda s: kind(s) == "presence"))[-1]
    assert gone["type"] == "unavailable" and nick_of(gone) == "Bob", str(gone)


async def test_self_ping(bed, xmpp):
    """XEP-0410: a ping to one's own occupant JID is answered by the room while in
    it, and refused with <not-acceptable/> otherwise."""
    alice = await xmpp.connect("alice")
    carol = await xmpp.connect("carol")
    room, _ = await new_room(bed, alice, "Alice", "selfping")
    status, answer = await self_ping(alice, f"{room}/Alice")
    assert status == "result" and answer["from"] == JID(f"{room}/Alice"), answer

    status, answer = await self_ping(carol, f"{room}/Carol")
    assert (status, answer[1]) == ("error", "not-acceptable"), answer
    # Pinging someone else's occupant JID while not in the room: refused too.
    status, answer = await self_ping(carol, f"{room}/Alice")
    assert (status, answer[1]) == ("error", "not-acceptable"), answer

    alice.plugin["xep_0045"].leave_muc(JID(room), "Alice")
    await asyncio.sleep(0.5)
    status, answer = await self_ping(alice, f"{room}/Alice")
    assert (status, answer[1]) == ("error", "not-acceptable"), answer


# ---------------------------------------------------------------------------
# Archive and discovery

async def test_mam_on_room(bed, xmpp):
    """XEP-0313 on the room JID: the same ids as the live stanza-ids, forwarded from
    room/nick, paged with RSM; with=room/nick filters by nick."""
    alice = await xmpp.connect("alice")
    bob = await xmpp.connect("bob")
    room, a_entry = await new_room(bed, alice, "Alice", "mam")
    await enter(bob, room, "Bob")
    log = RoomLog(alice, room)
    live = []
    for n in range(5):
        sender = bob if n == 2 else alice
        echo, _ = await say(sender, room, f"mam {n}", log=log)
        live.append(room_stanza_id(echo, room))
    assert all(live) and len(set(live)) == 5

    pages, after = [], None
    for _ in range(5):
        rsm = {"max": 2}
        if after:
            rsm["after"] = after
        rows, fin = await mam_page(alice, room, **rsm)
        pages.append([archive_id for archive_id, _ in rows])
        if complete(fin):
            break
        after = fin["rsm"]["last"]
    assert pages == [live[0:2], live[2:4], live[4:5]], pages
    assert int(fin["rsm"]["count"]) == 5

    rows = await mam_all(bob, room)
    assert [archive_id for archive_id, _ in rows] == live
    for (archive_id, fwd), n in zip(rows, range(5)):
        assert body(fwd) == f"mam {n}"
        assert fwd["from"] == JID(f"{room}/{'Bob' if n == 2 else 'Alice'}"), str(fwd)
        assert fwd["type"] == "groupchat"
        assert room_stanza_id(fwd, room) == archive_id, str(fwd)
    assert occupant_id(rows[0][1]) == a_entry.occupant_id

    result = await bob.plugin["xep_0313"].retrieve(jid=JID(room), with_jid=JID(f"{room}/Bob"), timeout=IQ_TIMEOUT)
    assert [m["mam_result"]["id"] for m in result["mam"]["results"]] == [live[2]]


async def test_room_disco_info(bed, xmpp):
    """Room disco#info: conference/text, the documented features, the muc#roominfo
    form; disco#items on the room is empty."""
    alice = await xmpp.connect("alice")
    bob = await xmpp.connect("bob")
    name = unique_name("disco")
    room = f"{name}@{bed.main.muc}"
    await enter(alice, room, "Alice")
    await accept_instant_room(alice, room)
    await enter(bob, room, "Bob")
    info = await room_info(alice, room)
    identities = {(i[0], i[1]) for i in info["disco_info"]["identities"]}
    assert ("conference", "text") in identities, str(info)
    features = set(info["disco_info"]["features"])
    for feature in (NS_MUC, "muc_persistent", "muc_open", "muc_unmoderated", "muc_public", "muc_nonanonymous",
                    "muc_unsecured", NS_MAM, NS_SID, NS_OCCUPANT_ID, SELF_PING_OPTIMIZATION):
        assert feature in features, f"{feature} missing: {sorted(features)}"
    assert NS_MIX_CORE not in features
    form = roominfo_form(info)
    assert form, f"no muc#roominfo form: {info}"
    assert form.get("muc#roominfo_occupants") in ("2", 2), form
    assert form.get("muc#roomconfig_roomname") == name, form
    assert "muc#roominfo_description" in form and "muc#roominfo_subject" in form, form

    items = await bob.plugin["xep_0030"].get_items(jid=room, timeout=IQ_TIMEOUT)
    assert list(items["disco_items"]["items"]) == []
