//! Issue "Safe to expose": inputs a hostile or careless user sends that
//! must be refused with the right error and change nothing. (Oversized
//! stanzas on the link: tests/link_robustness.rs.)

mod common;

use common::*;
use xmpp_parsers::minidom::Element;

const MIX_NS: &str = "urn:xmpp:mix:core:1";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const MUC_ADMIN: &str = "http://jabber.org/protocol/muc#admin";
const PUBSUB: &str = "http://jabber.org/protocol/pubsub";

/// coven created by hag66 (owner, in the room as thirdwitch).
async fn coven() -> Harness {
    let h = Harness::new().await;
    let out = h.send(&format!("<iq type='set' id='c' from='{HAG66}' to='{MIX}'><create xmlns='{MIX_NS}' channel='coven'/></iq>")).await;
    assert_eq!(out[0].attr("type"), Some("result"));
    enter_room(&h, HAG66, "thirdwitch").await;
    h
}

fn condition(e: &Element) -> Option<String> {
    e.get_child("error", COMPONENT_NS).and_then(|err| err.children().find(|c| c.ns() == STANZAS && c.name() != "text").map(|c| c.name().to_string()))
}

/// Invisible characters (RFC 8266 refuses them) cannot make a nick that
/// looks like another: refused on entering (MUC: jid-malformed, as
/// Prosody, or conflict where the JID's own preparation already made it
/// "bob"), in a MIX join and setnick (bad-request); the look-alike never
/// becomes an occupant.
#[tokio::test]
async fn invisible_characters_in_nicks_are_refused() {
    let h = coven().await;
    enter_room(&h, HAG01, "bob").await;
    for bad in ["bo\u{200B}b", "bo\u{200D}b", "\u{FEFF}bob", "bob\u{2060}"] {
        let out = h.send(&format!("<presence from='{ROMEO}' to='{ROOM}/{bad}'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).await;
        // The JID's resourceprep (RFC 6122, as the server applies it too)
        // deletes some of these: the nick is then "bob" itself, taken.
        assert!(out[0].attr("type") == Some("error") && matches!(condition(&out[0]).as_deref(), Some("jid-malformed" | "conflict")), "{bad:?}: {}", canonical(&out[0]));
    }
    // A MIX nick is no JID part: what stringprep would delete or refuse
    // reaches the channel and is refused by the nickname profile.
    for bad in ["bo\u{200B}b", "bo\u{200D}b", "\u{FEFF}bob", "bob\u{2060}", "bo\u{202E}b", "b\u{034F}ob"] {
        let out = h.send(&format!("<iq type='set' id='j' from='{HECATE_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><nick>{bad}</nick></join></iq>")).await;
        assert_eq!(condition(&out[0]).as_deref(), Some("bad-request"), "{bad:?}");
    }
    assert!(h.store.get_participant("coven", ROMEO_BARE).await.unwrap().is_none());
    assert!(h.store.get_participant("coven", HECATE_BARE).await.unwrap().is_none());
    let out = h.send(&format!("<iq type='set' id='j' from='{HECATE_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><nick>hecate</nick></join></iq>")).await;
    assert_eq!(out[0].attr("type"), Some("result"));
    let out = h.send(&format!("<iq type='set' id='n' from='{HECATE_BARE}' to='{COVEN}'><setnick xmlns='{MIX_NS}'><nick>b\u{200B}ob</nick></setnick></iq>")).await;
    assert_eq!(condition(&out[0]).as_deref(), Some("bad-request"));
}

/// An owner cannot lock herself out: banning her own server's domain, or
/// the domain of an owner, is refused (conflict) in both views, and
/// nothing is stored.
#[tokio::test]
async fn banning_ones_own_domain_is_refused() {
    let h = coven().await;
    let out = h
        .send(&format!("<iq type='set' id='b1' from='{HAG66}' to='{ROOM}'><query xmlns='{MUC_ADMIN}'><item affiliation='outcast' jid='shakespeare.example'/></query></iq>"))
        .await;
    assert_eq!(condition(&out[0]).as_deref(), Some("conflict"), "{}", canonical(&out[0]));
    let out = h
        .send(&format!("<iq type='set' id='b2' from='{HAG66}' to='{COVEN}'><pubsub xmlns='{PUBSUB}'><publish node='urn:xmpp:mix:nodes:banned'><item id='shakespeare.example'/></publish></pubsub></iq>"))
        .await;
    assert_eq!(condition(&out[0]).as_deref(), Some("conflict"), "{}", canonical(&out[0]));
    assert_eq!(h.store.get_affiliation("coven", "shakespeare.example").await.unwrap(), None);
    // Another server's domain may be banned.
    let out = h
        .send(&format!("<iq type='set' id='b3' from='{HAG66}' to='{ROOM}'><query xmlns='{MUC_ADMIN}'><item affiliation='outcast' jid='montague.example'/></query></iq>"))
        .await;
    assert_eq!(out[0].attr("type"), Some("result"), "{}", canonical(&out[0]));
}

/// `maxusers = 0` would let nobody in: refused with the field named.
#[tokio::test]
async fn maxusers_zero_is_refused() {
    let h = coven().await;
    let out = h
        .send(&format!(
            "<iq type='set' id='o' from='{HAG66}' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>\
             <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
             <field var='muc#roomconfig_maxusers'><value>0</value></field></x></query></iq>"
        ))
        .await;
    assert_eq!(condition(&out[0]).as_deref(), Some("not-acceptable"));
    assert!(canonical(&out[0]).contains("maxusers"));
    assert_eq!(h.store.get_channel("coven").await.unwrap().unwrap().max_users, 0, "unchanged: no limit");
}

/// The room is no relay: a mediated invitation carries only what the room
/// writes (the reason, the addresses, the room's own body), never the
/// sender's bodies or payloads; at most 10 invitations a stanza; a
/// decline reaches only someone who invited the decliner.
#[tokio::test]
async fn invitations_relay_nothing_of_the_sender() {
    let h = coven().await;
    let out = h
        .send(&format!(
            "<message id='spam' from='{HAG66}' to='{ROOM}'><body>BUY CHEAP PILLS</body><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'>pills</body></html>\
             <x xmlns='http://jabber.org/protocol/muc#user'><invite to='{ROMEO_BARE}'><reason>hi</reason></invite></x></message>"
        ))
        .await;
    assert_eq!(out.len(), 1);
    let text = canonical(&out[0]);
    assert!(!text.contains("PILLS") && !text.contains("pills") && !text.contains("xhtml"), "{text}");
    let many: String = (0..11).map(|i| format!("<invite to='user{i}@montague.example'/>")).collect();
    let out = h.send(&format!("<message id='m' from='{HAG66}' to='{ROOM}'><x xmlns='http://jabber.org/protocol/muc#user'>{many}</x></message>")).await;
    assert_eq!((out.len(), condition(&out[0]).as_deref()), (1, Some("policy-violation")));
    // A decline to someone who never invited the decliner is not relayed.
    let out = h.send(&format!("<message id='d' from='{HAG01}' to='{ROOM}'><x xmlns='http://jabber.org/protocol/muc#user'><decline to='victim@montague.example'><reason>BUY</reason></decline></x></message>")).await;
    assert_eq!((out.len(), condition(&out[0]).as_deref()), (1, Some("item-not-found")));
}

/// MAM `with` that is no JID (64 KB, `a@b@c`) is `jid-malformed`, in both
/// views, and the error text does not repeat it.
#[tokio::test]
async fn mam_with_that_is_no_jid_is_jid_malformed() {
    let h = coven().await;
    let huge = "x".repeat(64 * 1024);
    for bad in ["a@b@c", huge.as_str()] {
        for archive in [ROOM, COVEN] {
            let from = if archive == ROOM { HAG66 } else { HAG66_BARE };
            let out = h
                .send(&format!(
                    "<iq type='set' id='q' from='{from}' to='{archive}'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'>\
                     <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='with'><value>{bad}</value></field></x></query></iq>"
                ))
                .await;
            assert_eq!(condition(&out[0]).as_deref(), Some("jid-malformed"), "{archive}");
            assert!(canonical(&out[0]).len() < 1024, "the input is not echoed");
        }
    }
}

/// `<history seconds='…'/>` with the largest number a client can write
/// enters normally (it overflowed, a panic in a debug build), and the
/// service goes on.
#[tokio::test]
async fn history_seconds_of_any_size_enter_normally() {
    let h = coven().await;
    for s in ["9223372036854775807", "-9223372036854775808"] {
        let out = h.send(&format!("<presence from='{HAG01}' to='{ROOM}/hag01'><x xmlns='http://jabber.org/protocol/muc'><history seconds='{s}'/></x></presence>")).await;
        assert!(out.iter().all(|e| e.attr("type") != Some("error")), "{s}: {}", out.iter().map(canonical).collect::<String>());
        h.send(&format!("<presence type='unavailable' from='{HAG01}' to='{ROOM}/hag01'/>")).await;
    }
}

/// `maxusers`: a MIX participant without a nick counts, so joining without
/// one and taking a nick later cannot pass a full room.
#[tokio::test]
async fn participants_without_a_nick_count_against_maxusers() {
    let h = coven().await;
    h.send(&format!(
        "<iq type='set' id='o' from='{HAG66}' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>\
         <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
         <field var='muc#roomconfig_maxusers'><value>2</value></field></x></query></iq>"
    ))
    .await;
    let out = h.send(&format!("<iq type='set' id='j' from='{HECATE_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/></join></iq>")).await;
    assert_eq!(out[0].attr("type"), Some("result"), "the second user, without a nick");
    let out = h.send(&format!("<iq type='set' id='j2' from='{HAG01_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/></join></iq>")).await;
    assert_eq!(condition(&out[0]).as_deref(), Some("service-unavailable"), "a third: the room is full");
    let out = h.send(&format!("<presence from='{HAG01}' to='{ROOM}/hag01'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).await;
    assert_eq!(condition(&out[0]).as_deref(), Some("service-unavailable"));
}

/// Error texts are ours: no parser or standard-library wording, and no
/// more than a short piece of the input (a 64 KB RSM id).
#[tokio::test]
async fn error_texts_are_short_and_plain() {
    let h = coven().await;
    let mam = |rsm: &str| format!("<iq type='set' id='q' from='{HAG66}' to='{ROOM}'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'>{rsm}</set></query></iq>");
    let huge = "i".repeat(64 * 1024);
    for (rsm, condition_wanted) in [
        ("<max>abc</max>".to_string(), "bad-request"),
        ("<max>99999999999999999999999</max>".to_string(), "bad-request"),
        ("<max>1</max><max>2</max>".to_string(), "bad-request"),
        (format!("<after>{huge}</after>"), "item-not-found"),
    ] {
        let out = h.send(&mam(&rsm)).await;
        assert_eq!(condition(&out[0]).as_deref(), Some(condition_wanted), "{}", canonical(&out[0]));
        let text = out[0].get_child("error", COMPONENT_NS).and_then(|e| e.get_child("text", STANZAS)).map(|t| t.text()).unwrap_or_default();
        assert!(text.len() < 200, "{text}");
        for library in ["invalid digit", "too large to fit", "must not have more than", "parse error"] {
            assert!(!text.contains(library), "{text}");
        }
    }
}

/// `[limits]`: a sender over its message burst is refused with
/// resource-constraint (wait) and nothing is archived; others and members
/// are not limited; presence updates have their own bucket; leaving always
/// works.
#[tokio::test]
async fn rate_limits_refuse_floods_and_archive_nothing() {
    let h = Harness::with_toml("[limits]\nmessage_rate = 0.001\nmessage_burst = 3\npresence_rate = 0.001\npresence_burst = 2\n").await;
    let out = h.send(&format!("<iq type='set' id='c' from='{HAG66}' to='{MIX}'><create xmlns='{MIX_NS}' channel='coven'/></iq>")).await;
    assert_eq!(out[0].attr("type"), Some("result"));
    enter_room(&h, HAG66, "thirdwitch").await; // owner: exempt
    enter_room(&h, ROMEO, "romeo").await; // presence 1 of 2
    let say = |from: &str, i: usize| format!("<message type='groupchat' id='m{i}' from='{from}' to='{ROOM}'><body>{i}</body></message>");
    for i in 0..3 {
        let out = h.send(&say(ROMEO, i)).await;
        assert!(out.iter().all(|e| e.attr("type") != Some("error")), "message {i}");
    }
    let out = h.send(&say(ROMEO, 3)).await;
    assert_eq!(out.len(), 1);
    assert_eq!(condition(&out[0]).as_deref(), Some("resource-constraint"));
    assert_eq!(out[0].get_child("error", COMPONENT_NS).unwrap().attr("type"), Some("wait"));
    for i in 10..20 {
        let out = h.send(&say(HAG66, i)).await;
        assert!(out.iter().all(|e| e.attr("type") != Some("error")), "the owner is exempt");
    }
    let archived = h.store.query_archive(&mixmuc::store::ArchiveQuery { channel: "coven".into(), ..Default::default() }, 100, false).await.unwrap();
    assert_eq!(archived.iter().filter(|r| r.sender_jid == ROMEO_BARE).count(), 3, "the refused message is not archived");
    // Presence: one update left, then refused; leaving always works.
    let update = |show: &str| format!("<presence from='{ROMEO}' to='{ROOM}/romeo'><show>{show}</show></presence>");
    assert!(h.send(&update("away")).await.iter().all(|e| e.attr("type") != Some("error")));
    let out = h.send(&update("dnd")).await;
    assert_eq!(condition(&out[0]).as_deref(), Some("resource-constraint"));
    let out = h.send(&format!("<presence type='unavailable' from='{ROMEO}' to='{ROOM}/romeo'/>")).await;
    assert!(out.iter().all(|e| e.attr("type") != Some("error")) && !out.is_empty());
}

/// Room-creation quotas: one user may have created at most
/// `channels_per_user` channels (policy-violation after that, in both
/// views), a server's users `channels_per_domain`; destroying one frees a
/// place; service admins are not limited.
#[tokio::test]
async fn channel_creation_quotas() {
    let h = Harness::with_toml("[service]\nadmins = [\"boss@admin.example\"]\n[limits]\nchannels_per_user = 2\nchannels_per_domain = 3\n").await;
    let create = |from: &str, name: &str| format!("<iq type='set' id='c-{name}' from='{from}' to='{MIX}'><create xmlns='{MIX_NS}' channel='{name}'/></iq>");
    for name in ["a1", "a2"] {
        assert_eq!(h.send(&create(HAG66, name)).await[0].attr("type"), Some("result"), "{name}");
    }
    let out = h.send(&create(HAG66, "a3")).await;
    assert_eq!(condition(&out[0]).as_deref(), Some("policy-violation"));
    let out = h.send(&format!("<presence from='{HAG66}' to='a3@{MUC}/hag'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).await;
    assert_eq!(out[0].attr("type"), Some("error"), "the MUC view too: {}", canonical(&out[0]));
    assert_eq!(h.send(&create(HAG01, "b1")).await[0].attr("type"), Some("result"));
    let out = h.send(&create(HAG01, "b2")).await;
    assert_eq!(condition(&out[0]).as_deref(), Some("policy-violation"), "shakespeare.example has 3");
    assert_eq!(h.send(&create(ROMEO, "r1")).await[0].attr("type"), Some("result"), "another server");
    assert_eq!(h.send(&create("boss@admin.example/x", "adm")).await[0].attr("type"), Some("result"), "service admins are not limited");
    let out = h.send(&format!("<iq type='set' id='d' from='{HAG66}' to='{MIX}'><destroy xmlns='{MIX_NS}' channel='a1'/></iq>")).await;
    assert_eq!(out[0].attr("type"), Some("result"));
    assert_eq!(h.send(&create(HAG66, "a3")).await[0].attr("type"), Some("result"), "a place freed");
}

/// disco#items on the service comes a page at a time (XEP-0059): 100
/// without `<set/>` (with the count and where the page ends), `max` up to
/// 500, `after` and `before` by channel name.
#[tokio::test]
async fn service_items_are_paged() {
    let h = Harness::with_toml("[limits]\nchannels_per_user = 0\nchannels_per_domain = 0\n").await;
    for i in 0..120 {
        let out = h.send(&format!("<iq type='set' id='c{i}' from='{HAG66}' to='{MIX}'><create xmlns='{MIX_NS}' channel='ch{i:03}'/></iq>")).await;
        assert_eq!(out[0].attr("type"), Some("result"));
    }
    let items = |rsm: &str| format!("<iq type='get' id='d' from='{HAG66}' to='{MIX}'><query xmlns='http://jabber.org/protocol/disco#items'>{rsm}</query></iq>");
    let names = |e: &Element| -> Vec<String> {
        e.get_child("query", "http://jabber.org/protocol/disco#items").unwrap().children().filter(|c| c.name() == "item").map(|c| c.attr("jid").unwrap().split('@').next().unwrap().to_string()).collect()
    };
    let set_of = |e: &Element| canonical(e.get_child("query", "http://jabber.org/protocol/disco#items").unwrap().get_child("set", "http://jabber.org/protocol/rsm").expect("a <set/>"));
    let first = h.send(&items("")).await.remove(0);
    assert_eq!(names(&first).len(), 100);
    assert_eq!((names(&first)[0].as_str(), names(&first)[99].as_str()), ("ch000", "ch099"));
    assert!(set_of(&first).contains("<count>120</count>") && set_of(&first).contains("<last>ch099</last>"), "{}", set_of(&first));
    let next = h.send(&items("<set xmlns='http://jabber.org/protocol/rsm'><max>50</max><after>ch099</after></set>")).await.remove(0);
    assert_eq!(names(&next), (100..120).map(|i| format!("ch{i:03}")).collect::<Vec<_>>());
    let last = h.send(&items("<set xmlns='http://jabber.org/protocol/rsm'><max>10</max><before/></set>")).await.remove(0);
    assert_eq!(names(&last).first().map(String::as_str), Some("ch110"));
    let huge = h.send(&items("<set xmlns='http://jabber.org/protocol/rsm'><max>100000</max></set>")).await.remove(0);
    assert_eq!(names(&huge).len(), 120, "all 120 fit under the cap of 500");
}

/// Bounded per user: at most 10 MUC sessions of one user in a room, 20
/// online MIX clients of one participant, 250 ids in one MAM `ids` query.
#[tokio::test]
async fn sessions_clients_and_ids_are_bounded() {
    let h = coven().await;
    for i in 0..10 {
        enter_room(&h, &format!("{ROMEO_BARE}/s{i}"), "romeo").await;
    }
    let out = h.send(&format!("<presence from='{ROMEO_BARE}/s10' to='{ROOM}/romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).await;
    assert_eq!(condition(&out[0]).as_deref(), Some("resource-constraint"));
    let out = h.send(&format!("<iq type='set' id='j' from='{HECATE_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:presence'/><nick>hecate</nick></join></iq>")).await;
    assert_eq!(out[0].attr("type"), Some("result"));
    for i in 0..20 {
        let out = h.send(&format!("<presence from='{HECATE_BARE}/c{i}' to='{COVEN}'/>")).await;
        assert!(out.iter().all(|e| e.attr("type") != Some("error")), "client {i}");
    }
    let out = h.send(&format!("<presence id='p' from='{HECATE_BARE}/c20' to='{COVEN}'/>")).await;
    assert_eq!(condition(&out[0]).as_deref(), Some("resource-constraint"));
    let out = h.send(&format!("<presence from='{HECATE_BARE}/c3' to='{COVEN}'><show>away</show></presence>")).await;
    assert!(out.iter().all(|e| e.attr("type") != Some("error")), "a known client still updates");
    let ids: String = (0..251).map(|i| format!("<value>id{i}</value>")).collect();
    let out = h
        .send(&format!(
            "<iq type='set' id='q' from='{HAG66}' to='{ROOM}'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'>\
             <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='ids'>{ids}</field></x></query></iq>"
        ))
        .await;
    assert_eq!(condition(&out[0]).as_deref(), Some("policy-violation"));
}
