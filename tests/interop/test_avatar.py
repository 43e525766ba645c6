"""The room / channel avatar with real clients (issue 21; docs/muc.md "Room
avatar", docs/mix.md "Channel avatar"): one image for both views.

Bob creates a room on mixmuc's MUC domain (owner) and sets its avatar with
slixmpp's xep_0054 (a vCard on the room JID, XEP-0486); Carol, in the room,
is told with status 104 and finds the hash in the room's disco; Alice, a
MIX client in the same channel through her server's mod_mix_pam, reads the
same image from the channel's XEP-0084 nodes with plain xep_0060, and,
subscribed to the metadata node, is told of the change.
Prosody 0.12 has no room avatars (13 does), so no differential run.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from slixmpp import JID

from bed import IQ_TIMEOUT
from test_muc import RoomLog, codes, enter, kind, new_room, room_info, roominfo_form

pytestmark = pytest.mark.usefixtures("mix_pam")

#: A 1x1 PNG.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
NS_AVATAR_META = "urn:xmpp:avatar:metadata"
NS_AVATAR_DATA = "urn:xmpp:avatar:data"
NS_EVENT = "http://jabber.org/protocol/pubsub#event"


async def test_room_avatar_in_both_views(bed, xmpp):
    bob, carol, alice = await xmpp.connect("bob"), await xmpp.connect("carol"), await xmpp.connect("alice")
    for c in (bob, carol):
        c.register_plugin("xep_0054")
    room, _ = await new_room(bed, bob, "Bob", "avatar")
    channel = f"{JID(room).user}@{bed.main.mix}"
    await enter(carol, room, "Carol")
    await alice.mix_join(channel, "Alice")
    carol_log = RoomLog(carol, room)
    # Alice hears of avatar changes: a subscription to the metadata node.
    await alice.plugin["xep_0060"].subscribe(JID(channel), NS_AVATAR_META, timeout=IQ_TIMEOUT)
    alice_log = RoomLog(alice, channel)

    vcard = bob.plugin["xep_0054"].make_vcard()
    vcard["PHOTO"]["TYPE"] = "image/png"
    vcard["PHOTO"]["BINVAL"] = PNG
    await bob.plugin["xep_0054"].publish_vcard(vcard=vcard, jid=JID(room), timeout=IQ_TIMEOUT)
    told = (await carol_log.until(lambda s: kind(s) == "message" and 104 in codes(s), what="status 104"))[-1]
    assert told["from"] == JID(room)
    expected = hashlib.sha1(PNG).hexdigest()
    form = roominfo_form(await room_info(carol, room))
    assert form.get("muc#roominfo_avatarhash") in (expected, [expected]), form

    got = await carol.plugin["xep_0054"].get_vcard(JID(room), local=False, timeout=IQ_TIMEOUT)
    assert got["vcard_temp"]["PHOTO"]["BINVAL"] == PNG and got["vcard_temp"]["PHOTO"]["TYPE"] == "image/png"

    told = (await alice_log.until(lambda s: s.xml.find(f"{{{NS_EVENT}}}event/{{{NS_EVENT}}}items[@node='{NS_AVATAR_META}']") is not None,
                                  what="the metadata notification"))[-1]
    info = told.xml.find(f"{{{NS_EVENT}}}event/{{{NS_EVENT}}}items/{{{NS_EVENT}}}item/{{{NS_AVATAR_META}}}metadata/{{{NS_AVATAR_META}}}info")
    assert info is not None and info.get("id") == expected, str(told)

    meta = await alice.plugin["xep_0060"].get_items(JID(channel), NS_AVATAR_META, timeout=IQ_TIMEOUT)
    items = list(meta["pubsub"]["items"])
    assert [i["id"] for i in items] == [expected]
    info = items[0].xml.find(f"{{{NS_AVATAR_META}}}metadata/{{{NS_AVATAR_META}}}info")
    assert (info.get("type"), int(info.get("bytes"))) == ("image/png", len(PNG))
    data = await alice.plugin["xep_0060"].get_items(JID(channel), NS_AVATAR_DATA, timeout=IQ_TIMEOUT)
    blob = list(data["pubsub"]["items"])[0].xml.findtext(f"{{{NS_AVATAR_DATA}}}data")
    assert base64.b64decode(blob) == PNG

    # Carol is no owner.
    with pytest.raises(Exception) as err:
        await carol.plugin["xep_0054"].publish_vcard(vcard=vcard, jid=JID(room), timeout=IQ_TIMEOUT)
    assert "forbidden" in str(err.value.iq["error"]["condition"])
