"""Every request gets an answer: unknown IQs and unknown channels."""

import pytest

from bed import NS_MIX_CORE, unique_name


@pytest.mark.parametrize("which", ["mix", "muc"])
@pytest.mark.parametrize("itype", ["get", "set"])
async def test_unknown_iq_to_domain_is_service_unavailable(bed, xmpp, which, itype):
    alice = await xmpp.connect("alice")
    domain = getattr(bed.main, which)
    iq = alice.raw_iq(domain, itype, "<query xmlns='urn:example:mixmuc:unknown'/>")
    assert await alice.iq_error(iq) == ("cancel", "service-unavailable")


@pytest.mark.parametrize("which", ["mix", "muc"])
async def test_disco_of_missing_channel_is_item_not_found(bed, xmpp, which):
    alice = await xmpp.connect("alice")
    missing = f"{unique_name('nosuch')}@{getattr(bed.main, which)}"
    iq = alice.raw_iq(missing, "get", "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    assert await alice.iq_error(iq) == ("cancel", "item-not-found")


async def test_mix_iq_to_missing_channel_is_item_not_found(bed, xmpp):
    alice = await xmpp.connect("alice")
    missing = f"{unique_name('nosuch')}@{bed.main.mix}"
    iq = alice.raw_iq(missing, "set",
                      f"<join xmlns='{NS_MIX_CORE}'><nick>alice</nick></join>")
    assert await alice.iq_error(iq) == ("cancel", "item-not-found")
