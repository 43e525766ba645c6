"""Service discovery on both domains (XEP-0030, XEP-0128, XEP-0408 mirror forms)."""

from bed import (FORM_MIX_MIRROR, FORM_MUC_MIRROR, FORM_SERVICEINFO, NS_MIX_CORE, NS_MUC)


async def test_mix_domain_info(bed, xmpp):
    alice = await xmpp.connect("alice")
    info = await alice.disco_info(bed.main.mix)

    assert any(cat == "conference" and typ == "mix" for cat, typ, _ in info.identities), info.xml
    assert NS_MIX_CORE in info.features, info.xml
    # XEP-0408: the MIX domain does not offer MUC.
    assert NS_MUC not in info.features, info.xml

    assert FORM_MUC_MIRROR in info.forms, info.xml
    assert info.forms[FORM_MUC_MIRROR].get("muc-mirror") == bed.main.muc, info.xml
    assert FORM_SERVICEINFO in info.forms, info.xml
    assert info.forms[FORM_SERVICEINFO].get("muc-mirror") == bed.main.muc, info.xml


async def test_muc_domain_info(bed, xmpp):
    alice = await xmpp.connect("alice")
    info = await alice.disco_info(bed.main.muc)

    assert any(cat == "conference" and typ == "text" for cat, typ, _ in info.identities), info.xml
    assert NS_MUC in info.features, info.xml
    # XEP-0408: the MUC domain does not offer MIX.
    assert NS_MIX_CORE not in info.features, info.xml

    assert FORM_MIX_MIRROR in info.forms, info.xml
    assert info.forms[FORM_MIX_MIRROR].get("mix-mirror") == bed.main.mix, info.xml
    assert FORM_SERVICEINFO in info.forms, info.xml
    assert info.forms[FORM_SERVICEINFO].get("mix-mirror") == bed.main.mix, info.xml


async def test_each_domain_names_the_other(bed, xmpp):
    """A client that finds either domain can find its mirror, and back again."""
    bob = await xmpp.connect("bob")
    mix_info = await bob.disco_info(bed.main.mix)
    muc = mix_info.forms[FORM_MUC_MIRROR]["muc-mirror"]
    muc_info = await bob.disco_info(muc)
    assert muc_info.forms[FORM_MIX_MIRROR]["mix-mirror"] == bed.main.mix


async def test_items_answer_on_both_domains(bed, xmpp):
    carol = await xmpp.connect("carol")
    for domain in (bed.main.mix, bed.main.muc):
        items = await carol.disco_items(domain)
        assert all(jid.endswith("@" + domain) for jid, _ in items), (domain, items)


async def test_native_muc_reference_is_there(bed, xmpp):
    """Prosody's own MUC, the reference for later differential tests, answers disco."""
    dave = await xmpp.connect("dave")
    info = await dave.disco_info(bed.conference)
    assert NS_MUC in info.features
    assert "urn:xmpp:mam:2" in info.features
