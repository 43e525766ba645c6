"""Creating channels on the MIX domain (XEP-0369 create) and listing them on both domains."""

import pytest
from slixmpp import JID

from bed import IqError, NS_MIX_CORE, unique_name as unique


async def listed(client, domain: str) -> set[str]:
    return {jid for jid, _ in await client.disco_items(domain)}


async def test_create_named_channel(bed, xmpp):
    alice = await xmpp.connect("alice")
    name = unique("coven")
    assert await alice.create_channel(bed.main.mix, name) == name
    assert f"{name}@{bed.main.mix}" in await listed(alice, bed.main.mix)
    assert f"{name}@{bed.main.muc}" in await listed(alice, bed.main.muc)


async def test_created_channel_is_seen_by_others(bed, xmpp):
    alice = await xmpp.connect("alice")
    bob = await xmpp.connect("bob")
    name = unique("shared")
    await alice.create_channel(bed.main.mix, name)
    assert f"{name}@{bed.main.mix}" in await listed(bob, bed.main.mix)
    assert f"{name}@{bed.main.muc}" in await listed(bob, bed.main.muc)


async def test_create_with_slixmpp_helper(bed, xmpp):
    """slixmpp's own xep_0369 create_channel works against mixmuc."""
    alice = await xmpp.connect("alice")
    name = unique("helper")
    created = await alice.plugin["xep_0369"].create_channel(JID(bed.main.mix), name, timeout=10)
    assert created == name


async def test_create_ad_hoc_channel(bed, xmpp):
    """Ad-hoc channels get a generated name, exist on both domains, and are
    not discoverable (XEP-0369)."""
    alice = await xmpp.connect("alice")
    first = await alice.create_channel(bed.main.mix)
    second = await alice.create_channel(bed.main.mix)
    assert first and second and first != second
    mix_items = await listed(alice, bed.main.mix)
    muc_items = await listed(alice, bed.main.muc)
    for name in (first, second):
        assert "#" not in name and "@" not in name and "/" not in name, name
        assert f"{name}@{bed.main.mix}" not in mix_items
        assert f"{name}@{bed.main.muc}" not in muc_items
        await alice.plugin["xep_0030"].get_info(jid=f"{name}@{bed.main.mix}", node="mix", timeout=10)
        await alice.plugin["xep_0030"].get_info(jid=f"{name}@{bed.main.muc}", timeout=10)


async def test_create_existing_is_conflict(bed, xmpp):
    alice = await xmpp.connect("alice")
    bob = await xmpp.connect("bob")
    name = unique("taken")
    await alice.create_channel(bed.main.mix, name)
    for client in (alice, bob):
        with pytest.raises(IqError) as err:
            await client.create_channel(bed.main.mix, name)
        assert err.value.iq["error"]["condition"] == "conflict", str(err.value.iq)
        assert err.value.iq["error"]["type"] == "cancel", str(err.value.iq)


async def test_names_are_compared_as_jids(bed, xmpp):
    """Channel names are JID localparts: equal after case folding means the same channel."""
    alice = await xmpp.connect("alice")
    name = unique("CamelCase")
    created = await alice.create_channel(bed.main.mix, name)
    assert created.lower() == name.lower()
    assert f"{created}@{bed.main.mix}" in await listed(alice, bed.main.mix)
    with pytest.raises(IqError) as err:
        await alice.create_channel(bed.main.mix, name.lower())
    assert err.value.iq["error"]["condition"] == "conflict", str(err.value.iq)


async def test_non_ascii_name(bed, xmpp):
    alice = await xmpp.connect("alice")
    name = unique("čaj-ünïcode")
    assert await alice.create_channel(bed.main.mix, name) == name
    assert f"{name}@{bed.main.muc}" in await listed(alice, bed.main.muc)


@pytest.mark.parametrize("bad", ["has#hash", "has space", "has@at", "has/slash", "x" * 1024])
async def test_create_invalid_name_is_bad_request(bed, xmpp, bad):
    alice = await xmpp.connect("alice")
    iq = alice.raw_iq(bed.main.mix, "set", f"<create xmlns='{NS_MIX_CORE}' channel='{bad}'/>")
    etype, condition = await alice.iq_error(iq)
    assert (etype, condition) == ("modify", "bad-request")
    assert not any(jid.startswith(bad) for jid in await listed(alice, bed.main.mix))


async def test_create_sent_to_muc_domain_is_not_served(bed, xmpp):
    """MIX create is a MIX-domain operation; the MUC domain does not speak MIX."""
    alice = await xmpp.connect("alice")
    name = unique("wrongdomain")
    iq = alice.raw_iq(bed.main.muc, "set", f"<create xmlns='{NS_MIX_CORE}' channel='{name}'/>")
    _, condition = await alice.iq_error(iq)
    assert condition in ("service-unavailable", "feature-not-implemented")


@pytest.mark.deadline(90)
async def test_create_forbidden_when_not_allowed(bed, xmpp, alt_instance):
    with alt_instance(create_channels=[bed.jid("alice")]) as inst:
        alice = await xmpp.connect("alice")
        bob = await xmpp.connect("bob")
        with pytest.raises(IqError) as err:
            await bob.create_channel(inst.mix, unique("bobs"))
        assert err.value.iq["error"]["condition"] == "forbidden", str(err.value.iq)
        assert err.value.iq["error"]["type"] == "auth", str(err.value.iq)
        with pytest.raises(IqError) as err:
            await bob.create_channel(inst.mix)
        assert err.value.iq["error"]["condition"] == "forbidden", str(err.value.iq)
        name = unique("alices")
        assert await alice.create_channel(inst.mix, name) == name
        assert f"{name}@{inst.muc}" in await listed(bob, inst.muc)


@pytest.mark.deadline(90)
async def test_create_local_only(bed, xmpp, alt_instance):
    """create_channels = "local": users of local_domains may create, others may not."""
    with alt_instance(create_channels="local", local_domains=["example.org"]) as inst:
        alice = await xmpp.connect("alice")
        with pytest.raises(IqError) as err:
            await alice.create_channel(inst.mix, unique("notlocal"))
        assert err.value.iq["error"]["condition"] == "forbidden", str(err.value.iq)
    with alt_instance(create_channels="local", local_domains=[bed.user_domain]) as inst:
        alice = await xmpp.connect("alice")
        name = unique("local")
        assert await alice.create_channel(inst.mix, name) == name
