"""Differential MUC tests: the same slixmpp scenarios against Prosody's own MUC
(``conference.localhost``, the reference) and against mixmuc's MUC domain.

Each test runs one scenario on both services, reduces what the clients saw to a
dict of observations, and compares the two dicts key by key:

* a key listed in ``documented`` is a difference docs/muc.md states (one nick
  per user, case-insensitive nicks, ...): both sides must show exactly the
  documented values;
* a key listed in ``variations`` is a difference both sides of which the
  specifications allow (a MAY, an error type, where the subject comes from): it
  is reported as a ``Difference`` warning in pytest's summary, never silently;
* every other key must be equal, so any undocumented difference fails the test.

Rooms are created locked on both services; the first occupant submits the same
configuration form to both, set up like a mixmuc room (non-anonymous,
persistent, public; only moderators change the subject, the XEP-0045 default). Ids, timestamps and
occupant-id values are never compared, only their presence and consistency.
"""

from __future__ import annotations

import asyncio
import warnings
from dataclasses import dataclass

from slixmpp import JID
from slixmpp.xmlstream import ET

from bed import NS_MUC, unique_name
from test_muc import (NS_MUC_OWNER, NS_OCCUPANT_ID, NS_SID, NS_MAM, SELF_PING_OPTIMIZATION, RoomLog, body,
                      codes, delay, describe, enter, error, is_error, is_subject, iq_result_or_error, kind,
                      mam_all, muc_item, muc_items, nick_of, occupant_id, room_info, room_stanza_id,
                      roominfo_form, say, self_ping, subject)

PROSODY, MIXMUC = "prosody", "mixmuc"
NS_DATA = "jabber:x:data"
STABLE_ID = "http://jabber.org/protocol/muc#stable_id"
NS_CAPS = "http://jabber.org/protocol/caps"
NS_VCARD_UPDATE = "vcard-temp:x:update"
#: How long to wait for something that should not come.
SILENCE = 1.5


class Difference(UserWarning):
    """A difference from Prosody's MUC that the specifications allow."""


@dataclass(frozen=True)
class Target:
    name: str
    domain: str

    def new_room(self) -> str:
        return f"{unique_name('diff')}@{self.domain}"


def targets(bed) -> list[Target]:
    return [Target(PROSODY, bed.conference), Target(MIXMUC, bed.main.muc)]


#: The configuration a Prosody room gets, to match what mixmuc rooms are.
PROSODY_CONFIG = {
    "muc#roomconfig_whois": "anyone",
    "muc#roomconfig_persistentroom": "1",
    "muc#roomconfig_publicroom": "1",
    "muc#roomconfig_membersonly": "0",
    "muc#roomconfig_moderatedroom": "0",
    "muc#roomconfig_changesubject": "0",
}


def config_form(values: dict[str, str] | None) -> ET.Element:
    query = ET.Element(f"{{{NS_MUC_OWNER}}}query")
    x = ET.SubElement(query, f"{{{NS_DATA}}}x", {"type": "submit"})
    if values:
        fields = {"FORM_TYPE": "http://jabber.org/protocol/muc#roomconfig", **values}
        for var, value in fields.items():
            f = ET.SubElement(x, f"{{{NS_DATA}}}field", {"var": var})
            ET.SubElement(f, f"{{{NS_DATA}}}value").text = value
    return query


async def submit_config(client, room: str, values: dict[str, str] | None):
    """Submit the room configuration form (an empty one: the instant room)."""
    iq = client.make_iq_set(ito=room)
    iq.append(config_form(values))
    return await iq_result_or_error(iq)


async def open_room(target: Target, owner, nick: str = "Alice"):
    """A new room with OWNER in it as NICK, usable by others: (room, entry)."""
    room = target.new_room()
    log = RoomLog(owner, room)
    entry = await enter(owner, room, nick, log=log)
    assert entry.error is None and 201 in entry.codes, f"{target.name}: {describe(entry.stanzas)}"
    status, answer = await submit_config(owner, room, PROSODY_CONFIG)
    assert status == "result", f"{target.name}: {answer}"
    await log.settle(0.3)  # the configuration-change message (status 104, 172)
    log.close()
    return room, entry


def label(stanza) -> tuple:
    """What kind of stanza, from which nick, in a comparable form."""
    if kind(stanza) == "presence":
        state = "error" if is_error(stanza) else stanza["type"]
        return ("presence", nick_of(stanza), state, tuple(sorted(codes(stanza))))
    if is_subject(stanza):
        return ("subject", subject(stanza))
    if kind(stanza) == "message":
        return ("history" if delay(stanza) else "message", body(stanza))
    return (kind(stanza),)


async def quiet_presences(log: RoomLog, seconds: float = SILENCE) -> list:
    return [s for s in await log.settle(seconds) if kind(s) == "presence"]


def compare(scenario: str, obs: dict[str, dict], *, documented: dict | None = None,
            variations: dict | None = None) -> None:
    """Compare the observations of both services (see the module docstring)."""
    documented, variations = documented or {}, variations or {}
    p, m = obs[PROSODY], obs[MIXMUC]
    assert p.keys() == m.keys()
    wrong = []
    for key, (want_p, want_m, why) in documented.items():
        if (p[key], m[key]) != (want_p, want_m):
            wrong.append(f"  {key}: documented difference ({why}): expected Prosody {want_p!r} / mixmuc "
                         f"{want_m!r}, got {p[key]!r} / {m[key]!r}")
    for key, why in variations.items():
        if p[key] != m[key]:
            warnings.warn(Difference(f"{scenario}: {key}: Prosody {p[key]!r}, mixmuc {m[key]!r} ({why})"))
    for key in p:
        if key not in documented and key not in variations and p[key] != m[key]:
            wrong.append(f"  {key}: Prosody {p[key]!r}, mixmuc {m[key]!r}")
    assert not wrong, f"{scenario}: differences from Prosody's MUC not in docs/muc.md:\n" + "\n".join(wrong)


async def run(bed, scenario, *clients) -> dict[str, dict]:
    return {t.name: await scenario(t, *clients) for t in targets(bed)}


# ---------------------------------------------------------------------------
# Scenarios

async def creation(t: Target, alice, bob) -> dict:
    room = t.new_room()
    log = RoomLog(alice, room)
    entry = await enter(alice, room, "Alice", log=log)
    item = muc_item(entry.self_presence)
    obs = {
        "sequence": [label(s)[:3] for s in entry.stanzas],
        "self_codes": sorted(entry.codes),
        "affiliation_role": (item["affiliation"], item["role"]),
        "own_jid_in_item": JID(item.get("jid", "")) == alice.boundjid,
        "occupant_id": bool(entry.occupant_id),
    }
    second = await enter(bob, room, "Bob")
    obs["others_before_configuration"] = error(second.error)[1] if second.error is not None else "entered"
    status, answer = await iq_result_or_error(alice.make_iq_get(queryxmlns=NS_MUC_OWNER, ito=room))
    has_form = status == "result" and answer.xml.find(f"{{{NS_MUC_OWNER}}}query/{{{NS_DATA}}}x") is not None
    obs["owner_form"] = "form" if has_form else (answer[1] if status == "error" else status)
    status, answer = await submit_config(alice, room, None)
    obs["instant_room_submit"] = status if status == "result" else answer[1]
    log.close()
    return obs


async def entering(t: Target, alice, bob) -> dict:
    room, first = await open_room(t, alice)
    alice_log = RoomLog(alice, room)
    live = []
    for n in range(3):
        echo, _ = await say(alice, room, f"line {n}", log=alice_log)
        live.append(room_stanza_id(echo, room))
    entry = await enter(bob, room, "Bob", maxstanzas=2, presence_id="join-1")
    seen = (await alice_log.until(lambda s: kind(s) == "presence", what="Bob's presence"))[-1]
    presences = [s for s in entry.stanzas if kind(s) == "presence"]
    alice_item = muc_item(entry.others[0]) if entry.others else {}
    seen_item = muc_item(seen)
    return {
        "sequence": [label(s) for s in entry.stanzas],
        "occupant_id_on_every_presence": all(occupant_id(p) for p in presences),
        "existing_occupant_item": (alice_item.get("affiliation"), alice_item.get("role"),
                                   JID(alice_item.get("jid", "")) == alice.boundjid),
        "history_delay_from_room": all(delay(h) and JID(delay(h)["from"]) == JID(room) for h in entry.history),
        "history_stanza_ids_are_the_live_ones": [room_stanza_id(h, room) for h in entry.history] == live[1:],
        "history_occupant_id_is_the_senders": all(occupant_id(h) == first.occupant_id for h in entry.history),
        "others_see_newcomer": (seen["type"], tuple(sorted(codes(seen))), seen_item.get("role"),
                                JID(seen_item.get("jid", "")) == bob.boundjid),
        "self_presence_keeps_join_id": entry.self_presence["id"] == "join-1",
        "presence_extensions_reflected": sorted(
            ns for ns in (NS_CAPS, NS_VCARD_UPDATE) if any(c.tag.startswith(f"{{{ns}}}") for c in seen.xml)),
    }


async def groupchat(t: Target, alice, bob) -> dict:
    room, first = await open_room(t, alice)
    await enter(bob, room, "Bob")
    alice_log, bob_log = RoomLog(alice, room), RoomLog(bob, room)
    echo, _ = await say(alice, room, "with id", msg_id="diff-1", log=alice_log)
    copy = (await bob_log.until(lambda s: body(s) == "with id"))[-1]
    msg = alice.make_message(mto=room, mbody="without id", mtype="groupchat")
    del msg["id"]
    msg.send()
    echo2 = (await alice_log.until(lambda s: body(s) == "without id"))[-1]
    copy2 = (await bob_log.until(lambda s: body(s) == "without id"))[-1]
    return {
        "from": (str(echo["from"]) == f"{room}/Alice", str(copy["from"]) == f"{room}/Alice"),
        "echo_keeps_id": echo["id"] == "diff-1",
        "others_get_the_same_id": copy["id"] == "diff-1",
        "stanza_id_by_room": bool(room_stanza_id(echo, room)) and bool(room_stanza_id(copy, room)),
        "one_stanza_id_for_all_copies": room_stanza_id(echo, room) == room_stanza_id(copy, room),
        "occupant_id_is_the_senders": occupant_id(echo) == occupant_id(copy) == first.occupant_id,
        "no_delay_on_live_messages": delay(echo) is None and delay(copy) is None,
        "id_given_when_sender_gave_none": bool(echo2["id"]) and echo2["id"] == copy2["id"],
    }


async def subject_on_entering(t: Target, alice, bob, carol) -> dict:
    room, _ = await open_room(t, alice)
    await enter(bob, room, "Bob")
    bob_log = RoomLog(bob, room)
    alice.plugin["xep_0045"].set_subject(JID(room), "Diff subject")
    reflected = (await bob_log.until(is_subject, what="subject change"))[-1]
    entry = await enter(carol, room, "Carol", maxstanzas=0)
    d = delay(entry.subject)
    return {
        "reflection": subject(reflected),
        "reflection_from_setter": nick_of(reflected) == "Alice",
        "subject_is_last": entry.subject is entry.stanzas[-1],
        "subject_text": subject(entry.subject),
        "subject_from": nick_of(entry.subject) or "(room)",
        "subject_delay_from_room": bool(d) and JID(d.get("from", "")) == JID(room),
    }


async def subject_in_history(t: Target, alice, carol) -> dict:
    room, _ = await open_room(t, alice)
    log = RoomLog(alice, room)
    await say(alice, room, "before", log=log)
    alice.plugin["xep_0045"].set_subject(JID(room), "Mid-history subject")
    await log.until(is_subject, what="subject change")
    await say(alice, room, "after", log=log)
    carol_log = RoomLog(carol, room)
    await enter(carol, room, "Carol", maxstanzas=20, log=carol_log)
    await carol_log.settle()
    got = carol_log.seen
    return {
        "stanzas_after_self_presence": [label(s) for s in got if kind(s) == "message"],
    }


async def subject_permission(t: Target, alice, bob) -> dict:
    room, _ = await open_room(t, alice)
    await enter(bob, room, "Bob")
    log = RoomLog(bob, room)
    bob.plugin["xep_0045"].set_subject(JID(room), "Bob's subject")
    answer = (await log.until(lambda s: kind(s) == "message", what="subject answer"))[-1]
    return {"participant_sets_subject": error(answer)[1] if is_error(answer) else "changed"}


async def nick_conflict(t: Target, alice, bob) -> dict:
    room, _ = await open_room(t, alice)
    same = await enter(bob, room, "Alice")
    folded = await enter(bob, room, "alice")
    by = same.error.xml.find("{jabber:client}error").get("by") if same.error is not None else None
    return {
        "same_nick": error(same.error) if same.error is not None else "entered",
        "error_by": "room" if by and JID(by) == JID(room) else ("occupant" if by else None),
        "nick_differing_in_case": error(folded.error)[1] if folded.error is not None else "entered",
    }


async def non_occupant(t: Target, alice, carol) -> dict:
    room, _ = await open_room(t, alice)
    alice_log, carol_log = RoomLog(alice, room), RoomLog(carol, room)
    msg = carol.make_message(mto=room, mbody="outsider", mtype="groupchat")
    msg.send()
    answer = (await carol_log.until(lambda s: kind(s) == "message", what="error"))[-1]
    etype, condition = error(answer) if is_error(answer) else (None, "delivered")
    msg = carol.make_message(mto=room, mbody="normal one", mtype="normal")
    msg.send()
    normal = (await carol_log.until(lambda s: kind(s) == "message", what="error"))[-1]
    reached = [s for s in await alice_log.settle() if body(s) in ("outsider", "normal one")]
    return {
        "groupchat_condition": condition,
        "groupchat_error_type": etype,
        "reached_occupants": bool(reached),
        "normal_message": error(normal)[1] if is_error(normal) else "delivered",
    }


async def private_message(t: Target, alice, bob) -> dict:
    room, _ = await open_room(t, alice)
    await enter(bob, room, "Bob")
    alice_log, bob_log = RoomLog(alice, room), RoomLog(bob, room)
    alice.send_message(mto=f"{room}/Bob", mbody="psst", mtype="chat")
    got = [s for s in await bob_log.settle() if body(s) == "psst"]
    errors = [s for s in await alice_log.settle(0.3) if is_error(s)]
    return {
        "pm_delivered": bool(got),
        "pm_error": error(errors[0])[1] if errors else None,
    }


async def pinging(t: Target, alice, carol) -> dict:
    room, _ = await open_room(t, alice)
    inside, _ = await self_ping(alice, f"{room}/Alice")
    status, outside = await self_ping(carol, f"{room}/Carol")
    return {
        "in_room": inside,
        "not_in_room": outside[1] if status == "error" else status,
        "not_in_room_error_type": outside[0] if status == "error" else None,
    }


async def nick_change(t: Target, alice, bob) -> dict:
    room, _ = await open_room(t, alice)
    entry = await enter(bob, room, "Bob", seen_by=[alice])
    alice_log, bob_log = RoomLog(alice, room), RoomLog(bob, room)
    bob.send_presence(pto=f"{room}/Robert")
    obs = {}
    for who, log in (("self", bob_log), ("others", alice_log)):
        got = await log.until(lambda s: kind(s) == "presence" and s["type"] != "unavailable", what="new nick")
        obs[who] = [label(s) + (muc_item(s).get("nick"),) for s in got]
        obs[f"{who}_occupant_id_kept"] = all(occupant_id(s) in (None, entry.occupant_id) for s in got)
    return obs


async def leaving(t: Target, alice, bob) -> dict:
    room, _ = await open_room(t, alice)
    await enter(bob, room, "Bob", seen_by=[alice])
    alice_log, bob_log = RoomLog(alice, room), RoomLog(bob, room)
    bob.send_presence(pto=f"{room}/Bob", ptype="unavailable")
    own = (await bob_log.until(lambda s: kind(s) == "presence", what="own unavailable"))[-1]
    seen = (await alice_log.until(lambda s: kind(s) == "presence", what="Bob leaving"))[-1]
    return {
        "self": label(own) + (muc_item(own).get("role"),),
        "others": label(seen) + (muc_item(seen).get("role"),),
        "others_item_jid": "full" if JID(muc_item(seen).get("jid", "")) == bob.boundjid else muc_item(seen).get("jid"),
    }


async def two_sessions(t: Target, alice, bob1, bob2) -> dict:
    room, _ = await open_room(t, alice)
    first = await enter(bob1, room, "Bob", seen_by=[alice])
    alice_log = RoomLog(alice, room)
    other_nick = await enter(bob2, room, "Bobby")
    obs = {"second_session_other_nick": error(other_nick.error)[1] if other_nick.error is not None else "entered"}
    if other_nick.error is None:
        bob2.send_presence(pto=f"{room}/Bobby", ptype="unavailable")
        await asyncio.sleep(0.3)
    await alice_log.settle(0.3)
    second = await enter(bob2, room, "Bob")
    obs["second_session_self_codes"] = sorted(second.codes)
    obs["same_occupant_id"] = second.occupant_id == first.occupant_id
    obs["self_presence_items"] = len(muc_items(second.self_presence))
    obs["others_told_of_second_session"] = [label(s) for s in await quiet_presences(alice_log)]
    bob2.send_presence(pto=f"{room}/Bob", ptype="unavailable")
    obs["others_told_of_second_session_leaving"] = [label(s) for s in await quiet_presences(alice_log)]
    return obs


async def occupant_id_stability(t: Target, alice, bob) -> dict:
    room, _ = await open_room(t, alice)
    first = await enter(bob, room, "Bob")
    log = RoomLog(bob, room)
    bob.send_presence(pto=f"{room}/Bob", ptype="unavailable")
    await log.until(lambda s: kind(s) == "presence")
    log.close()
    second = await enter(bob, room, "Bob")
    return {"same_occupant_id_on_return": first.occupant_id == second.occupant_id}


async def archive(t: Target, alice, bob) -> dict:
    room, _ = await open_room(t, alice)
    await enter(bob, room, "Bob")
    log = RoomLog(alice, room)
    live = []
    for n in range(3):
        echo, _ = await say(alice if n != 1 else bob, room, f"mam {n}", log=log)
        live.append(room_stanza_id(echo, room))
    rows = await mam_all(bob, room, page=2)
    return {
        "ids_are_the_live_stanza_ids": [i for i, _ in rows] == live,
        "forwarded_from_nicks": [nick_of(m) for _, m in rows],
        "forwarded_bodies": [body(m) for _, m in rows],
        "forwarded_stanza_id": all(room_stanza_id(m, room) == i for i, m in rows),
        "forwarded_occupant_id": all(occupant_id(m) for _, m in rows),
    }


ROOM_FEATURES = (NS_MUC, STABLE_ID, SELF_PING_OPTIMIZATION, NS_OCCUPANT_ID, NS_MAM, NS_SID, "muc_nonanonymous",
                 "muc_persistent", "muc_open", "muc_unmoderated", "muc_public")
ROOMINFO_FIELDS = ("muc#roominfo_description", "muc#roominfo_occupants", "muc#roominfo_subject")


async def room_disco(t: Target, alice) -> dict:
    room, _ = await open_room(t, alice)
    info = await room_info(alice, room)
    features = set(info["disco_info"]["features"])
    form = roominfo_form(info)
    obs = {f"feature {f}": f in features for f in ROOM_FEATURES}
    obs["identity"] = sorted((i[0], i[1]) for i in info["disco_info"]["identities"])
    obs["roominfo_fields"] = sorted(f for f in ROOMINFO_FIELDS if f in form)
    obs["roominfo_occupants"] = str(form.get("muc#roominfo_occupants"))
    return obs


# ---------------------------------------------------------------------------
# Tests

async def test_room_creation(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    obs = await run(bed, creation, alice, bob)
    compare("creation", obs, documented={
        "self_codes": ([110, 201], [100, 110, 201], "mixmuc rooms are non-anonymous from the start"),
    })


async def test_entering_an_occupied_room(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    obs = await run(bed, entering, alice, bob)
    compare("entering", obs, variations={
        "self_presence_keeps_join_id": "XEP-0045 §7.2.2: the room 'might' reflect the join presence id",
        "presence_extensions_reflected": "XEP-0045 §18.1: a room MAY drop extended presence (caps, "
                                         "XEP-0153 avatar hash) before reflecting it",
    })


async def test_groupchat_reflection(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    compare("groupchat", await run(bed, groupchat, alice, bob))


async def test_subject_on_entering(bed, xmpp):
    alice, bob, carol = await xmpp.connect("alice"), await xmpp.connect("bob"), await xmpp.connect("carol")
    compare("subject on entering", await run(bed, subject_on_entering, alice, bob, carol), variations={
        "subject_from": "XEP-0045 §7.2.15: from the room JID or from the occupant who set it",
    })


async def test_subject_change_is_not_history(bed, xmpp):
    alice, carol = await xmpp.connect("alice"), await xmpp.connect("carol")
    compare("subject in history", await run(bed, subject_in_history, alice, carol))


async def test_subject_change_by_participant(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    compare("subject permission", await run(bed, subject_permission, alice, bob))


async def test_nick_conflict(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    compare("nick conflict", await run(bed, nick_conflict, alice, bob), documented={
        "nick_differing_in_case": ("entered", "conflict", "nicks are compared case-insensitively"),
    })


async def test_message_from_non_occupant(bed, xmpp):
    alice, carol = await xmpp.connect("alice"), await xmpp.connect("carol")
    compare("non-occupant", await run(bed, non_occupant, alice, carol), documented={
        "normal_message": ("service-unavailable", "bad-request", "messages of other types to the room: bad-request"),
    })


async def test_private_messages(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    compare("private message", await run(bed, private_message, alice, bob))


async def test_self_ping(bed, xmpp):
    alice, carol = await xmpp.connect("alice"), await xmpp.connect("carol")
    compare("self-ping", await run(bed, pinging, alice, carol))


async def test_nick_change(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    compare("nick change", await run(bed, nick_change, alice, bob))


async def test_leaving(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    compare("leaving", await run(bed, leaving, alice, bob))


async def test_two_sessions_of_one_user(bed, xmpp):
    alice, bob1, bob2 = await xmpp.connect("alice"), await xmpp.connect("bob"), await xmpp.connect("bob")
    obs = await run(bed, two_sessions, alice, bob1, bob2)
    p = obs[PROSODY]
    compare("two sessions", obs, documented={
        "second_session_other_nick": (p["second_session_other_nick"], "conflict",
                                      "a second session with another nick gets conflict"),
        "others_told_of_second_session": (p["others_told_of_second_session"], [],
                                          "the others see a user once, not once per session"),
        "others_told_of_second_session_leaving": (p["others_told_of_second_session_leaving"], [],
                                                  "the others see a user go with its last session"),
        "self_presence_items": (2, 1, "one occupant per user: one item"),
    })
    assert p["second_session_other_nick"] != "conflict", "then this is no longer a difference"


async def test_occupant_id_stable_across_visits(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    compare("occupant-id stability", await run(bed, occupant_id_stability, alice, bob))


async def test_archive(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    compare("MAM", await run(bed, archive, alice, bob), variations={
        "forwarded_stanza_id": "XEP-0313 gives the archive id in <result id/>; a stanza-id in the forwarded "
                               "message is optional",
    })


async def test_room_disco_info(bed, xmpp):
    alice = await xmpp.connect("alice")
    compare("room disco#info", await run(bed, room_disco, alice), variations={
        "roominfo_fields": "XEP-0045 §6.4: the muc#roominfo fields are optional (Prosody leaves out an "
                           "empty subject)",
    })
