//! Golden transcripts for the room / channel avatar, one image for both
//! views: a vCard on the room JID (XEP-0486) and the channel's XEP-0084
//! nodes. Owners set it from either view; the room's disco carries its
//! hash; occupants are told with status 104; an empty vCard removes it.
//!
//! hag66 creates coven (owner) and is in the room as "thirdwitch"; hag01
//! is in it as "firstwitch"; hecate is a MIX participant.

mod common;

use common::*;
use xmpp_parsers::minidom::Element;

const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
/// A 1x1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

async fn room() -> Harness {
    let h = Harness::new().await;
    coven_room(&h).await;
    hecate_joins(&h, "urn:xmpp:mix:nodes:messages").await;
    h
}

fn condition(e: &Element) -> String {
    let err = e.children().find(|c| c.name() == "error").unwrap_or_else(|| panic!("no error in {}", canonical(e)));
    err.children().find(|c| c.ns() == STANZAS && c.name() != "text").map(|c| c.name().to_string()).unwrap_or_default()
}

fn vcard_set(from: &str, id: &str, photo: &str) -> String {
    format!("<iq type='set' id='{id}' from='{from}' to='{ROOM}'><vCard xmlns='vcard-temp'>{photo}</vCard></iq>")
}

fn sha1_hex(b64: &str) -> String {
    use base64::Engine;
    use sha1::{Digest, Sha1};
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    Sha1::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

async fn disco_hash(h: &Harness) -> Option<String> {
    let out = h.send(&format!("<iq type='get' id='d' from='{ROMEO}' to='{ROOM}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")).await;
    let q = out[0].get_child("query", "http://jabber.org/protocol/disco#info").expect("disco");
    let x = q.get_child("x", "jabber:x:data").expect("roominfo");
    x.children().find(|f| f.attr("var") == Some("muc#roominfo_avatarhash")).and_then(|f| f.children().next()).map(|v| v.text())
}

/// XEP-0486: the owner sets the avatar with a vCard; occupants get 104;
/// the disco form has its hash; anyone reads the vCard; the MIX metadata
/// and data nodes show the same image; an empty vCard removes it.
#[tokio::test]
async fn room_avatar_through_muc() {
    let h = room().await;
    assert_eq!(disco_hash(&h).await, None);
    let out = h.send(&vcard_set(HAG66, "v1", &format!("<PHOTO><TYPE>image/png</TYPE><BINVAL>{PNG}</BINVAL></PHOTO>"))).await;
    assert_xml(&out[0], &format!("<iq type='result' id='v1' from='{ROOM}' to='{HAG66}'/>"));
    let told: Vec<&Element> = out.iter().filter(|e| e.name() == "message").collect();
    assert_eq!(told.len(), 2, "both occupants get 104: {}", out.iter().map(canonical).collect::<String>());
    for m in &told {
        let code = m.get_child("x", "http://jabber.org/protocol/muc#user").and_then(|x| x.get_child("status", "http://jabber.org/protocol/muc#user")).and_then(|s| s.attr("code"));
        assert_eq!(code, Some("104"));
    }
    let hash = sha1_hex(PNG);
    assert_eq!(disco_hash(&h).await.as_deref(), Some(hash.as_str()));
    h.exchange1(
        &format!("<iq type='get' id='g' from='{ROMEO}' to='{ROOM}'><vCard xmlns='vcard-temp'/></iq>"),
        &format!("<iq type='result' id='g' from='{ROOM}' to='{ROMEO}'><vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE><BINVAL>{PNG}</BINVAL></PHOTO></vCard></iq>"),
    )
    .await;
    let items = |node: &str| format!("<iq type='get' id='n' from='{HECATE}' to='{COVEN}'><pubsub xmlns='{PUBSUB}'><items node='{node}'/></pubsub></iq>");
    h.exchange1(
        &items("urn:xmpp:avatar:metadata"),
        &format!(
            "<iq type='result' id='n' from='{COVEN}' to='{HECATE}'><pubsub xmlns='{PUBSUB}'><items node='urn:xmpp:avatar:metadata'>
               <item id='{hash}'><metadata xmlns='urn:xmpp:avatar:metadata'><info bytes='70' id='{hash}' type='image/png'/></metadata></item>
             </items></pubsub></iq>"
        ),
    )
    .await;
    h.exchange1(
        &items("urn:xmpp:avatar:data"),
        &format!(
            "<iq type='result' id='n' from='{COVEN}' to='{HECATE}'><pubsub xmlns='{PUBSUB}'><items node='urn:xmpp:avatar:data'>
               <item id='{hash}'><data xmlns='urn:xmpp:avatar:data'>{PNG}</data></item>
             </items></pubsub></iq>"
        ),
    )
    .await;
    // Removed with an empty vCard.
    let out = h.send(&vcard_set(HAG66, "v2", "")).await;
    assert_eq!(out[0].attr("type"), Some("result"));
    assert_eq!(disco_hash(&h).await, None);
    h.exchange1(
        &format!("<iq type='get' id='g2' from='{ROMEO}' to='{ROOM}'><vCard xmlns='vcard-temp'/></iq>"),
        &format!("<iq type='result' id='g2' from='{ROOM}' to='{ROMEO}'><vCard xmlns='vcard-temp'/></iq>"),
    )
    .await;
}

/// Refusals: a non-owner (`forbidden`), no base64 (`bad-request`), not an
/// image type or too large (`not-acceptable`), a PHOTO with only a URL.
#[tokio::test]
async fn room_avatar_refusals() {
    let h = room().await;
    let photo = format!("<PHOTO><TYPE>image/png</TYPE><BINVAL>{PNG}</BINVAL></PHOTO>");
    assert_eq!(condition(&h.send(&vcard_set(HAG01, "a", &photo)).await[0]), "forbidden");
    assert_eq!(condition(&h.send(&vcard_set(HAG66, "b", "<PHOTO><TYPE>image/png</TYPE><BINVAL>%%%</BINVAL></PHOTO>")).await[0]), "bad-request");
    assert_eq!(condition(&h.send(&vcard_set(HAG66, "c", &format!("<PHOTO><TYPE>text/html</TYPE><BINVAL>{PNG}</BINVAL></PHOTO>"))).await[0]), "not-acceptable");
    use base64::Engine;
    let big = base64::engine::general_purpose::STANDARD.encode(vec![7u8; 70 * 1024]);
    assert_eq!(condition(&h.send(&vcard_set(HAG66, "d", &format!("<PHOTO><TYPE>image/png</TYPE><BINVAL>{big}</BINVAL></PHOTO>"))).await[0]), "not-acceptable");
    assert_eq!(condition(&h.send(&vcard_set(HAG66, "e", "<PHOTO><EXTVAL>https://example.org/a.png</EXTVAL></PHOTO>")).await[0]), "bad-request");
    assert_eq!(disco_hash(&h).await, None, "nothing refused was stored");
}

/// The MIX side: an owner publishes the image to urn:xmpp:avatar:data
/// (its type read from the image) and may name its type in the metadata;
/// the room's vCard is the same image; 'Nodes Present' lists avatar; an
/// empty metadata removes it. A participant may not publish.
#[tokio::test]
async fn channel_avatar_through_mix() {
    let h = room().await;
    let hash = sha1_hex(PNG);
    let publish = |from: &str, id: &str, node: &str, item: &str| {
        format!("<iq type='set' id='{id}' from='{from}' to='{COVEN}'><pubsub xmlns='{PUBSUB}'><publish node='{node}'><item id='{hash}'>{item}</item></publish></pubsub></iq>")
    };
    let data = format!("<data xmlns='urn:xmpp:avatar:data'>{PNG}</data>");
    assert_eq!(condition(&h.send(&publish(HECATE, "p0", "urn:xmpp:avatar:data", &data)).await[0]), "forbidden");
    let out = h.send(&publish(HAG66, "p1", "urn:xmpp:avatar:data", &data)).await;
    assert_xml(&out[0], &format!("<iq type='result' id='p1' from='{COVEN}' to='{HAG66}'><pubsub xmlns='{PUBSUB}'><publish node='urn:xmpp:avatar:data'><item id='{hash}'/></publish></pubsub></iq>"));
    let meta = format!("<metadata xmlns='urn:xmpp:avatar:metadata'><info bytes='70' id='{hash}' type='image/png'/></metadata>");
    let out = h.send(&publish(HAG66, "p2", "urn:xmpp:avatar:metadata", &meta)).await;
    assert_eq!(out[0].attr("type"), Some("result"), "{}", canonical(&out[0]));
    h.exchange1(
        &format!("<iq type='get' id='g' from='{ROMEO}' to='{ROOM}'><vCard xmlns='vcard-temp'/></iq>"),
        &format!("<iq type='result' id='g' from='{ROOM}' to='{ROMEO}'><vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE><BINVAL>{PNG}</BINVAL></PHOTO></vCard></iq>"),
    )
    .await;
    let config = h.send(&format!("<iq type='get' id='c' from='{HAG66}' to='{COVEN}'><pubsub xmlns='{PUBSUB}'><items node='urn:xmpp:mix:nodes:config'/></pubsub></iq>")).await;
    assert!(String::from(&config[0]).contains("<value>avatar</value>"), "{}", canonical(&config[0]));
    let out = h.send(&publish(HAG66, "p3", "urn:xmpp:avatar:metadata", "<metadata xmlns='urn:xmpp:avatar:metadata'/>")).await;
    assert_eq!(out[0].attr("type"), Some("result"));
    assert_eq!(disco_hash(&h).await, None);
}

/// A participant subscribed to the metadata node (XEP-0084 §4.3, here a
/// plain PubSub `<subscribe/>`) hears of each change from either view: the
/// new metadata item, then an empty `<metadata/>` when it is removed; one
/// not subscribed hears nothing.
#[tokio::test]
async fn metadata_subscribers_are_told() {
    let h = room().await;
    let hash = sha1_hex(PNG);
    h.exchange1(
        &format!("<iq type='set' id='s' from='{HECATE}' to='{COVEN}'><pubsub xmlns='{PUBSUB}'><subscribe node='urn:xmpp:avatar:metadata' jid='{HECATE_BARE}'/></pubsub></iq>"),
        &format!("<iq type='result' id='s' from='{COVEN}' to='{HECATE}'><pubsub xmlns='{PUBSUB}'><subscription node='urn:xmpp:avatar:metadata' jid='{HECATE_BARE}' subscription='subscribed'/></pubsub></iq>"),
    )
    .await;
    let out = h.send(&vcard_set(HAG66, "v1", &format!("<PHOTO><TYPE>image/png</TYPE><BINVAL>{PNG}</BINVAL></PHOTO>"))).await;
    let events: Vec<&Element> = out.iter().filter(|e| e.attr("to") == Some(HECATE_BARE)).collect();
    assert_eq!(events.len(), 1, "{}", out.iter().map(canonical).collect::<String>());
    assert_xml(
        events[0],
        &format!(
            "<message type='headline' id='{{*id}}' from='{COVEN}' to='{HECATE_BARE}'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'>
               <item id='{hash}'><metadata xmlns='urn:xmpp:avatar:metadata'><info bytes='70' id='{hash}' type='image/png'/></metadata></item>
             </items></event></message>"
        ),
    );
    // The same image again changes nothing and tells nobody.
    let out = h.send(&vcard_set(HAG66, "v2", &format!("<PHOTO><TYPE>image/png</TYPE><BINVAL>{PNG}</BINVAL></PHOTO>"))).await;
    assert!(out.iter().all(|e| e.attr("to") != Some(HECATE_BARE)), "{}", out.iter().map(canonical).collect::<String>());
    let out = h.send(&vcard_set(HAG66, "v3", "")).await;
    let events: Vec<&Element> = out.iter().filter(|e| e.attr("to") == Some(HECATE_BARE)).collect();
    assert_eq!(events.len(), 1);
    assert_xml(
        events[0],
        &format!(
            "<message type='headline' id='{{*id}}' from='{COVEN}' to='{HECATE_BARE}'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'>
               <item><metadata xmlns='urn:xmpp:avatar:metadata'/></item>
             </items></event></message>"
        ),
    );
    // Unsubscribed: nothing more.
    h.send(&format!("<iq type='set' id='u' from='{HECATE}' to='{COVEN}'><pubsub xmlns='{PUBSUB}'><unsubscribe node='urn:xmpp:avatar:metadata' jid='{HECATE_BARE}'/></pubsub></iq>")).await;
    let out = h.send(&vcard_set(HAG66, "v4", &format!("<PHOTO><TYPE>image/png</TYPE><BINVAL>{PNG}</BINVAL></PHOTO>"))).await;
    assert!(out.iter().all(|e| e.attr("to") != Some(HECATE_BARE)), "{}", out.iter().map(canonical).collect::<String>());
}
