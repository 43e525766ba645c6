"""The store is authoritative and the component link comes back by itself.

These tests stop and start processes of the shared bed and leave it running as
they found it (mixmuc "main" linked, Prosody up).
"""

import asyncio
import pytest

from bed import FORM_MUC_MIRROR, IqError, unique_name


async def listed(client, domain):
    return {jid for jid, _ in await client.disco_items(domain)}


@pytest.mark.deadline(120)
async def test_channels_survive_mixmuc_restart(bed, xmpp):
    alice = await xmpp.connect("alice")
    name = unique_name("durable")
    await alice.create_channel(bed.main.mix, name)
    adhoc = await alice.create_channel(bed.main.mix)
    await xmpp.close_all()

    await asyncio.to_thread(bed.mixmuc_restart, "main")

    bob = await xmpp.connect("bob")
    assert f"{name}@{bed.main.mix}" in await listed(bob, bed.main.mix)
    assert f"{name}@{bed.main.muc}" in await listed(bob, bed.main.muc)
    # The ad-hoc channel is not listed, but it is still there on both domains.
    await bob.plugin["xep_0030"].get_info(jid=f"{adhoc}@{bed.main.mix}", node="mix", timeout=10)
    await bob.plugin["xep_0030"].get_info(jid=f"{adhoc}@{bed.main.muc}", timeout=10)
    # The name is still taken after the restart.
    with pytest.raises(IqError) as err:
        await bob.create_channel(bed.main.mix, name)
    assert err.value.iq["error"]["condition"] == "conflict"


@pytest.mark.deadline(150)
async def test_mixmuc_relinks_after_prosody_restart(bed, xmpp):
    alice = await xmpp.connect("alice")
    name = unique_name("relink")
    await alice.create_channel(bed.main.mix, name)
    await xmpp.close_all()

    offset = bed.log_offset("main")
    await asyncio.to_thread(bed.prosody_stop)
    await asyncio.sleep(1)  # mixmuc notices the closed link while Prosody is down
    await asyncio.to_thread(bed.prosody_start)
    # mixmuc reconnects on its own: a new "link up" for both domains.
    await asyncio.to_thread(bed.wait_link, "main", offset, 90)

    carol = await xmpp.connect("carol")
    info = await carol.disco_info(bed.main.mix)
    assert info.forms[FORM_MUC_MIRROR]["muc-mirror"] == bed.main.muc
    assert f"{name}@{bed.main.mix}" in await listed(carol, bed.main.mix)
    assert f"{name}@{bed.main.muc}" in await listed(carol, bed.main.muc)
