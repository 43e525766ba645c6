"""The room owner (XEP-0045 §10) with real slixmpp clients: locked rooms, the
muc#roomconfig form, configuration enforced in both views, owner destroy.

The scenarios that Prosody's own MUC (``conference.localhost``) also serves
run differentially, as in test_muc_differential.py: every observation must be
equal unless docs/muc.md documents the difference (``documented``) or the
specifications allow both (``variations``). The rest (maximum users, the MIX
view) runs on mixmuc alone, since Prosody 0.12 has no maxusers and no MIX.
"""

from __future__ import annotations

from slixmpp import JID
from slixmpp.xmlstream import ET

from bed import IQ_TIMEOUT, NS_MIX_CORE, unique_name
from test_muc import (NS_MUC_OWNER, RoomLog, accept_instant_room, codes, describe, enter, error, has_destroy,
                      iq_result_or_error, kind, mix_join_direct, muc_item, nick_of, room_info, new_room)
from test_muc_differential import NS_DATA, Target, compare, open_room, run, submit_config

ROOMCONFIG = "http://jabber.org/protocol/muc#roomconfig"

#: Form fields both services offer, and those only one does (docs/muc.md lists them).
ONLY_PROSODY = ["muc#roomconfig_defaulthistorymessages", "muc#roomconfig_historylength",
                "muc#roomconfig_presencebroadcast", "muc#roomconfig_roomsecret",
                "{http://prosody.im/protocol/muc}roomconfig_allowmemberinvites"]
ONLY_MIXMUC = ["muc#roomconfig_allowinvites", "muc#roomconfig_allowpm", "muc#roomconfig_maxusers", "muc#roomconfig_passwordprotectedroom",
               "muc#roomconfig_roomadmins", "muc#roomconfig_roomowners",
               "mixmuc#roomconfig_userretraction", "mixmuc#roomconfig_retractionrights"]


async def get_form(client, room: str):
    """('form', {var: [values]}) or ('error', condition)."""
    status, answer = await iq_result_or_error(client.make_iq_get(queryxmlns=NS_MUC_OWNER, ito=room))
    if status == "error":
        return "error", answer[1]
    x = answer.xml.find(f"{{{NS_MUC_OWNER}}}query/{{{NS_DATA}}}x")
    assert x is not None, str(answer)
    return "form", {f.get("var"): [v.text or "" for v in f.findall(f"{{{NS_DATA}}}value")]
                    for f in x.findall(f"{{{NS_DATA}}}field") if f.get("var")}


async def owner_set(client, room: str, child: ET.Element):
    iq = client.make_iq_set(ito=room)
    query = ET.Element(f"{{{NS_MUC_OWNER}}}query")
    query.append(child)
    iq.append(query)
    status, answer = await iq_result_or_error(iq)
    return status if status == "result" else answer[1]


def data_form(type_: str, fields: dict[str, str] | None = None, form_type: str = ROOMCONFIG) -> ET.Element:
    x = ET.Element(f"{{{NS_DATA}}}x", {"type": type_})
    if fields:
        for var, value in {"FORM_TYPE": form_type, **fields}.items():
            f = ET.SubElement(x, f"{{{NS_DATA}}}field", {"var": var})
            ET.SubElement(f, f"{{{NS_DATA}}}value").text = value
    return x


async def configure(client, room: str, fields: dict[str, str]) -> str:
    status, answer = await submit_config(client, room, fields)
    return status if status == "result" else answer[1]


def entered(entry) -> str:
    return error(entry.error)[1] if entry.error is not None else "entered"


def status_messages(stanzas) -> list[list[int]]:
    return [sorted(codes(s)) for s in stanzas if kind(s) == "message" and codes(s)]


# ---------------------------------------------------------------------------
# Differential scenarios

async def lock_and_form(t: Target, alice, bob) -> dict:
    room = t.new_room()
    entry = await enter(alice, room, "Alice")
    assert 201 in entry.codes, describe(entry.stanzas)
    obs = {"others_before_configuration": entered(await enter(bob, room, "Bob"))}
    obs["non_owner_form"] = (await get_form(bob, room))[1]
    status, fields = await get_form(alice, room)
    obs["owner_form"] = status
    obs["common_fields"] = sorted(set(fields) - set(ONLY_PROSODY) - set(ONLY_MIXMUC))
    obs["only_prosody_fields"] = sorted(set(fields) & set(ONLY_PROSODY))
    obs["only_mixmuc_fields"] = sorted(set(fields) & set(ONLY_MIXMUC))
    obs["form_type"] = fields.get("FORM_TYPE")
    obs["non_owner_submit"] = await owner_set(bob, room, data_form("submit"))
    obs["wrong_form_type"] = await owner_set(alice, room, data_form("submit", {"muc#roomconfig_roomname": "x"},
                                                                    form_type="urn:example:other"))
    obs["not_a_submission"] = await owner_set(alice, room, data_form("result"))
    obs["still_locked"] = entered(await enter(bob, room, "Bob"))
    obs["instant_room_submit"] = await owner_set(alice, room, data_form("submit"))
    obs["others_after_configuration"] = entered(await enter(bob, room, "Bob"))
    return obs


async def config_changes(t: Target, alice, bob, carol) -> dict:
    room, _ = await open_room(t, alice)
    await enter(bob, room, "Bob")
    log = RoomLog(bob, room)
    obs = {}
    for key, fields in (("rename", {"muc#roomconfig_roomname": "A Dark Cave"}),
                        ("semi_anonymous", {"muc#roomconfig_whois": "moderators"}),
                        ("no_change", {"muc#roomconfig_roomname": "A Dark Cave"})):
        obs[f"{key}_result"] = await configure(alice, room, fields)
        obs[f"{key}_codes"] = status_messages(await log.settle(0.7))
    log.close()
    # In the semi-anonymous room: Carol sees no real JIDs but her own; Alice (a moderator) sees Carol's.
    alice_log = RoomLog(alice, room)
    entry = await enter(carol, room, "Carol")
    seen = [s for s in await alice_log.settle(0.7) if kind(s) == "presence" and nick_of(s) == "Carol"]
    alice_log.close()
    others = {nick_of(p): muc_item(p).get("jid") for p in entry.others}
    obs["participant_sees_jids"] = sorted(n for n, j in others.items() if j)
    obs["own_jid_shown"] = JID(muc_item(entry.self_presence).get("jid", "")) == carol.boundjid
    obs["self_codes"] = sorted(entry.codes)
    obs["moderator_sees_jid"] = bool(seen) and JID(muc_item(seen[-1]).get("jid", "")) == carol.boundjid
    info = await room_info(bob, room)
    features = set(info["disco_info"]["features"])
    obs["anonymity_feature"] = sorted(features & {"muc_semianonymous", "muc_nonanonymous"})
    obs["room_name"] = [i[3] for i in info["disco_info"]["identities"]]
    return obs


async def cancel_initial(t: Target, alice, bob) -> dict:
    room = t.new_room()
    log = RoomLog(alice, room)
    await enter(alice, room, "Alice", log=log)
    obs = {"cancel": await owner_set(alice, room, data_form("cancel"))}
    told = [s for s in await log.settle(0.7) if kind(s) == "presence"]
    log.close()
    obs["owner_told_destroyed"] = any(s["type"] == "unavailable" and has_destroy(s) for s in told)
    later = await enter(bob, room, "Bob")
    obs["later_entry"] = "created" if 201 in later.codes else entered(later)
    return obs


async def members_only(t: Target, alice, carol) -> dict:
    room, _ = await open_room(t, alice)
    obs = {"set": await configure(alice, room, {"muc#roomconfig_membersonly": "1"})}
    obs["outsider_enters"] = entered(await enter(carol, room, "Carol"))
    info = await room_info(alice, room)
    obs["feature"] = sorted(set(info["disco_info"]["features"]) & {"muc_membersonly", "muc_open"})
    return obs


async def destroying(t: Target, alice, bob) -> dict:
    room, _ = await open_room(t, alice)
    await enter(bob, room, "Bob")
    log = RoomLog(bob, room)
    destroy = ET.Element(f"{{{NS_MUC_OWNER}}}destroy", {"jid": f"heath@{t.domain}"})
    ET.SubElement(destroy, f"{{{NS_MUC_OWNER}}}reason").text = "Macbeth doth come."
    obs = {"non_owner": await owner_set(bob, room, destroy)}
    obs["owner"] = await owner_set(alice, room, destroy)
    gone = (await log.until(lambda s: kind(s) == "presence" and s["type"] == "unavailable", what="destroy"))[-1]
    log.close()
    x = gone.xml.find("{http://jabber.org/protocol/muc#user}x/{http://jabber.org/protocol/muc#user}destroy")
    obs["occupant_told"] = (nick_of(gone), x is not None and x.get("jid", "").replace(t.domain, "(domain)"),
                            x is not None and x.findtext("{http://jabber.org/protocol/muc#user}reason"))
    obs["room_after"] = (await get_form(alice, room))[1]
    return obs


async def test_locked_room_and_form(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    obs = await run(bed, lock_and_form, alice, bob)
    compare("lock and form", obs, documented={
        "only_prosody_fields": (sorted(ONLY_PROSODY), [], "passwords, history length, presence broadcast and "
                                "member invites are not offered"),
        "only_mixmuc_fields": ([], sorted(ONLY_MIXMUC), "mixmuc offers allowinvites, maxusers, allowpm, owner and "
                               "admin lists, the retraction rights, and says passwords are off"),
    }, variations={
        "non_owner_form": "XEP-0045 §10.2: forbidden; a non-occupant may also be told the room does not exist",
    })


async def test_configuration_changes(bed, xmpp):
    alice, bob, carol = await xmpp.connect("alice"), await xmpp.connect("bob"), await xmpp.connect("carol")
    compare("configuration changes", await run(bed, config_changes, alice, bob, carol))


async def test_cancelling_the_initial_configuration(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    compare("cancel", await run(bed, cancel_initial, alice, bob), documented={
        "owner_told_destroyed": (False, True, "XEP-0045 §10.1.3: a cancelled initial configuration destroys the room"),
        "later_entry": ("item-not-found", "created", "the cancelled room is gone, so entering creates it anew"),
    })


async def test_members_only(bed, xmpp):
    alice, carol = await xmpp.connect("alice"), await xmpp.connect("carol")
    compare("members-only", await run(bed, members_only, alice, carol))


async def test_owner_destroy(bed, xmpp):
    alice, bob = await xmpp.connect("alice"), await xmpp.connect("bob")
    compare("destroy", await run(bed, destroying, alice, bob), documented={
        "room_after": ("gone", "item-not-found", "a destroyed room leaves no tombstone: the name is free again"),
    })


# ---------------------------------------------------------------------------
# mixmuc alone: maximum users, the MIX view of the same configuration

async def test_full_room_and_admins(bed, xmpp):
    """maxusers: newcomers get service-unavailable; an admin still enters."""
    alice, bob, carol = await xmpp.connect("alice"), await xmpp.connect("bob"), await xmpp.connect("carol")
    room, _ = await new_room(bed, alice, "Alice", "full")
    assert await configure(alice, room, {"muc#roomconfig_maxusers": "2"}) == "result"
    assert entered(await enter(bob, room, "Bob")) == "entered"
    refused = await enter(carol, room, "Carol")
    assert refused.error is not None and error(refused.error) == ("wait", "service-unavailable"), \
        describe(refused.stanzas)
    assert await configure(alice, room, {"muc#roomconfig_roomadmins": bed.jid("carol")}) == "result"
    assert entered(await enter(carol, room, "Carol")) == "entered"


async def test_mix_view_of_the_configuration(bed, xmpp):
    """A locked room refuses MIX joins (item-not-found); the title shows in the MIX
    disco and info node; members-only refuses MIX joins (forbidden); a hidden room is
    listed on neither domain; the owner reads the MIX config node."""
    alice, dave = await xmpp.connect("alice"), await xmpp.connect("dave")
    name = unique_name("mixview")
    room, channel = f"{name}@{bed.main.muc}", f"{name}@{bed.main.mix}"
    await enter(alice, room, "Alice")
    status, answer = await iq_result_or_error(_join_iq(dave, channel))
    assert (status, answer[1] if status == "error" else None) == ("error", "item-not-found"), answer
    await accept_instant_room(alice, room)
    assert await configure(alice, room, {"muc#roomconfig_roomname": "Mirror Cave",
                                         "muc#roomconfig_roomdesc": "Both views"}) == "result"
    info = await dave.plugin["xep_0030"].get_info(jid=channel, node="mix", timeout=IQ_TIMEOUT, cached=False)
    assert [i[3] for i in info["disco_info"]["identities"]] == ["Mirror Cave"], str(info)
    await mix_join_direct(dave, channel, "Dave")
    node = await _items(dave, channel, "urn:xmpp:mix:nodes:info")
    assert "Mirror Cave" in str(node) and "Both views" in str(node), str(node)

    assert await configure(alice, room, {"muc#roomconfig_membersonly": "1",
                                         "muc#roomconfig_publicroom": "0"}) == "result"
    eve = await xmpp.connect("eve")
    status, answer = await iq_result_or_error(_join_iq(eve, channel))
    assert (status, answer[1] if status == "error" else None) == ("error", "forbidden"), answer
    for domain, jid in ((bed.main.muc, room), (bed.main.mix, channel)):
        items = await eve.plugin["xep_0030"].get_items(jid=domain, timeout=IQ_TIMEOUT)
        assert jid not in [str(i[0]) for i in items["disco_items"]["items"]], f"hidden {jid} listed"
    config = await _items(alice, channel, "urn:xmpp:mix:nodes:config")
    assert bed.jid("alice") in str(config) and "allowed" in str(config), str(config)


def _join_iq(client, channel: str):
    iq = client.make_iq_set(ito=channel)
    iq.append(ET.fromstring(f"<join xmlns='{NS_MIX_CORE}'><subscribe node='urn:xmpp:mix:nodes:messages'/></join>"))
    return iq


async def _items(client, channel: str, node: str):
    iq = client.make_iq_get(ito=channel)
    iq.append(ET.fromstring(f"<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='{node}'/></pubsub>"))
    return await iq.send(timeout=IQ_TIMEOUT)
