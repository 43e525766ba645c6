//! Golden transcripts for registered nicks, one registry for both views:
//! room registration (XEP-0045 §7.10, §7.12), the MIX seed's
//! `<register/>` to a channel and to the service. A registered nick is
//! reserved for its owner in both views (409 / conflict for others).
//!
//! hag66 creates coven (owner) and is in the room as "thirdwitch"; hag01
//! is in the room as "firstwitch" (no affiliation at first); hecate and
//! romeo are outside.

mod common;

use common::*;
use xmpp_parsers::minidom::Element;

const MIX_NS: &str = "urn:xmpp:mix:core:1";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const REGISTER: &str = "jabber:iq:register";
const MUC_REGISTER: &str = "http://jabber.org/protocol/muc#register";
const MUC_USER: &str = "http://jabber.org/protocol/muc#user";
const MUC_ADMIN: &str = "http://jabber.org/protocol/muc#admin";

async fn room() -> Harness {
    let h = Harness::new().await;
    coven_room(&h).await;
    h
}

fn condition(e: &Element) -> String {
    let err = e.children().find(|c| c.name() == "error").unwrap_or_else(|| panic!("no error in {}", canonical(e)));
    err.children().find(|c| c.ns() == STANZAS && c.name() != "text").map(|c| c.name().to_string()).unwrap_or_default()
}

fn register_get(from: &str, id: &str) -> String {
    format!("<iq type='get' id='{id}' from='{from}' to='{ROOM}'><query xmlns='{REGISTER}'/></iq>")
}

fn register_set(from: &str, id: &str, nick: &str) -> String {
    format!(
        "<iq type='set' id='{id}' from='{from}' to='{ROOM}'><query xmlns='{REGISTER}'><x xmlns='jabber:x:data' type='submit'>
           <field var='FORM_TYPE'><value>{MUC_REGISTER}</value></field>
           <field var='muc#register_roomnick'><value>{nick}</value></field>
         </x></query></iq>"
    )
}

async fn make_member(h: &Harness, jid: &str) {
    let out = h
        .send(&format!("<iq type='set' id='m' from='{HAG66}' to='{ROOM}'><query xmlns='{MUC_ADMIN}'><item affiliation='member' jid='{jid}'/></query></iq>"))
        .await;
    assert_eq!(out[0].attr("type"), Some("result"), "{}", canonical(&out[0]));
}

/// XEP-0045 §7.10: members register; the form, then `<registered/>` with
/// the nick; the nick is reserved in both views; the member list shows
/// it; §7.12 tells the user its reserved nick; `<remove/>` frees it.
#[tokio::test]
async fn room_registration() {
    let h = room().await;
    // Not a member: registration-required (as Prosody).
    let out = h.send(&register_get(HAG01, "g0")).await;
    assert_eq!(condition(&out[0]), "registration-required");
    make_member(&h, HAG01_BARE).await;
    h.exchange1(
        &register_get(HAG01, "g1"),
        &format!(
            "<iq type='result' id='g1' from='{ROOM}' to='{HAG01}'><query xmlns='{REGISTER}'>
               <x xmlns='jabber:x:data' type='form'>
                 <title>Register a nickname in {ROOM}</title>
                 <field var='FORM_TYPE' type='hidden'><value>{MUC_REGISTER}</value></field>
                 <field var='muc#register_roomnick' label='Nickname'><required/></field>
               </x>
             </query></iq>"
        ),
    )
    .await;
    h.exchange1(&register_set(HAG01, "s1", "Crone"), &format!("<iq type='result' id='s1' from='{ROOM}' to='{HAG01}'/>")).await;
    h.exchange1(
        &register_get(HAG01, "g2"),
        &format!("<iq type='result' id='g2' from='{ROOM}' to='{HAG01}'><query xmlns='{REGISTER}'><registered/><username>Crone</username></query></iq>"),
    )
    .await;
    // §7.12: the reserved nick.
    h.exchange1(
        &format!("<iq type='get' id='d1' from='{HAG01}' to='{ROOM}'><query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item'/></iq>"),
        &format!(
            "<iq type='result' id='d1' from='{ROOM}' to='{HAG01}'><query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item'>
               <identity category='conference' type='text' name='Crone' xml:lang='en'/>
             </query></iq>"
        ),
    )
    .await;
    // Reserved: romeo may not enter as it (any case), hecate may not join with it.
    let out = h.send(&format!("<presence from='{ROMEO}' to='{ROOM}/crone'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).await;
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].attr("type"), condition(&out[0]).as_str()), (Some("error"), "conflict"));
    let out = h
        .send(&format!("<iq type='set' id='j' from='{HECATE_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>CRONE</nick></join></iq>"))
        .await;
    assert_eq!(condition(&out[0]), "conflict");
    // hag01 herself may take it.
    let out = h.send(&format!("<presence from='{HAG01}' to='{ROOM}/Crone'/>")).await;
    assert!(out.iter().any(|e| e.name() == "presence" && e.attr("type") == Some("unavailable")), "nick change: {}", out.iter().map(canonical).collect::<String>());
    // The member list names the registered nick.
    let out = h.send(&format!("<iq type='get' id='l' from='{HAG66}' to='{ROOM}'><query xmlns='{MUC_ADMIN}'><item affiliation='member'/></query></iq>")).await;
    let item = out[0].get_child("query", MUC_ADMIN).and_then(|q| q.get_child("item", MUC_ADMIN)).expect("a member");
    assert_eq!((item.attr("jid"), item.attr("nick")), (Some(HAG01_BARE), Some("Crone")));
    // Another member may not register it.
    make_member(&h, ROMEO_BARE).await;
    let out = h.send(&register_set(ROMEO, "s2", "crone")).await;
    assert_eq!(condition(&out[0]), "conflict");
    // Nor a nick another occupant is using.
    let out = h.send(&register_set(ROMEO, "s3", "thirdwitch")).await;
    assert_eq!(condition(&out[0]), "conflict");
    // <remove/> frees it.
    let out = h.send(&format!("<iq type='set' id='r' from='{HAG01}' to='{ROOM}'><query xmlns='{REGISTER}'><remove/></query></iq>")).await;
    assert_eq!(out[0].attr("type"), Some("result"));
    let out = h.send(&format!("<iq type='set' id='r2' from='{HAG01}' to='{ROOM}'><query xmlns='{REGISTER}'><remove/></query></iq>")).await;
    assert_eq!(condition(&out[0]), "item-not-found");
    h.exchange1(&register_set(ROMEO, "s4", "romeo"), &format!("<iq type='result' id='s4' from='{ROOM}' to='{ROMEO}'/>")).await;
}

/// Bad registrations: an outcast (`forbidden`), a form of another type
/// (`bad-request`), no nick (`not-acceptable`), a nick with an invisible
/// character (`bad-request`).
#[tokio::test]
async fn room_registration_refusals() {
    let h = room().await;
    make_member(&h, HAG01_BARE).await;
    let out = h
        .send(&format!("<iq type='set' id='b' from='{HAG66}' to='{ROOM}'><query xmlns='{MUC_ADMIN}'><item affiliation='outcast' jid='{ROMEO_BARE}'/></query></iq>"))
        .await;
    assert_eq!(out[0].attr("type"), Some("result"));
    assert_eq!(condition(&h.send(&register_get(ROMEO, "o")).await[0]), "forbidden");
    let wrong = format!(
        "<iq type='set' id='w' from='{HAG01}' to='{ROOM}'><query xmlns='{REGISTER}'><x xmlns='jabber:x:data' type='submit'>
           <field var='FORM_TYPE'><value>urn:other</value></field></x></query></iq>"
    );
    assert_eq!(condition(&h.send(&wrong).await[0]), "bad-request");
    assert_eq!(condition(&h.send(&register_set(HAG01, "e", "")).await[0]), "not-acceptable");
    assert_eq!(condition(&h.send(&register_set(HAG01, "z", "bo\u{200B}b")).await[0]), "bad-request");
    let none = format!("<iq type='set' id='n' from='{HAG01}' to='{ROOM}'><query xmlns='{REGISTER}'/></iq>");
    assert_eq!(condition(&h.send(&none).await[0]), "bad-request");
}

/// The MIX seed's `<register/>` with the service: the nick is reserved in
/// every channel and becomes the user's nick in the channels it is in
/// (the room sees a nick change); another user may not register it; a
/// later join without a nick takes it.
#[tokio::test]
async fn mix_service_registration() {
    let h = room().await;
    let join = |nick: &str| {
        let nick = if nick.is_empty() { String::new() } else { format!("<nick>{nick}</nick>") };
        format!("<iq type='set' id='j' from='{HECATE_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:participants'/>{nick}</join></iq>")
    };
    let out = h.send(&join("hex")).await;
    assert!(out.iter().any(|e| e.attr("type") == Some("result")));
    let out = h.send(&format!("<iq type='set' id='r1' from='{HECATE}' to='{MIX}'><register xmlns='{MIX_NS}'><nick>Hecate</nick></register></iq>")).await;
    assert_xml(&out[0], &format!("<iq type='result' id='r1' from='{MIX}' to='{HECATE}'><register xmlns='{MIX_NS}'><nick>Hecate</nick></register></iq>"));
    // The room sees hex become Hecate (303), the participants node the new nick.
    let codes: Vec<String> = out
        .iter()
        .filter(|e| e.name() == "presence" && e.attr("to") == Some(HAG66))
        .flat_map(|e| e.get_child("x", MUC_USER).into_iter().flat_map(|x| x.children().filter_map(|c| c.attr("code").map(str::to_string))).collect::<Vec<_>>())
        .collect();
    assert!(codes.contains(&"303".to_string()), "{}", out.iter().map(canonical).collect::<String>());
    assert_eq!(h.service.channels.participants("coven").await.unwrap().iter().find(|p| p.jid == HECATE_BARE).and_then(|p| p.nick.clone()).as_deref(), Some("Hecate"));
    // Reserved in every channel: romeo may not enter as it, nor register it.
    let out = h.send(&format!("<presence from='{ROMEO}' to='{ROOM}/hecate'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).await;
    assert_eq!(condition(&out[0]), "conflict");
    let out = h.send(&format!("<iq type='set' id='r2' from='{ROMEO}' to='{MIX}'><register xmlns='{MIX_NS}'><nick>HECATE</nick></register></iq>")).await;
    assert_eq!(condition(&out[0]), "conflict");
    // Nor a nick someone uses in a channel.
    let out = h.send(&format!("<iq type='set' id='r3' from='{ROMEO}' to='{MIX}'><register xmlns='{MIX_NS}'><nick>thirdwitch</nick></register></iq>")).await;
    assert_eq!(condition(&out[0]), "conflict");
    // Without a nick: one is assigned.
    let out = h.send(&format!("<iq type='set' id='r4' from='{ROMEO}' to='{MIX}'><register xmlns='{MIX_NS}'/></iq>")).await;
    let assigned = out[0].get_child("register", MIX_NS).and_then(|r| r.get_child("nick", MIX_NS)).map(|n| n.text()).expect("an assigned nick");
    assert!(!assigned.is_empty());
    // A join without a nick takes the registered one.
    let out = h
        .send(&format!("<iq type='set' id='j2' from='{ROMEO_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/></join></iq>"))
        .await;
    let nick = out[0].get_child("join", MIX_NS).and_then(|j| j.get_child("nick", MIX_NS)).map(|n| n.text());
    assert_eq!(nick.as_deref(), Some(assigned.as_str()), "{}", canonical(&out[0]));
    // Disco says the service and channels offer it.
    let out = h.send(&format!("<iq type='get' id='d' from='{HECATE}' to='{MIX}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")).await;
    assert!(String::from(&out[0]).contains("urn:xmpp:mix:core:1#nick-register"));
}

/// The MIX seed's `<register/>` to a channel: members only (the room
/// registration's rule); without a nick the participant's own is
/// registered; the room registration then shows it.
#[tokio::test]
async fn mix_channel_registration() {
    let h = room().await;
    let out = h
        .send(&format!("<iq type='set' id='j' from='{HECATE_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>hecate</nick></join></iq>"))
        .await;
    assert!(out.iter().any(|e| e.attr("type") == Some("result")));
    let register = format!("<iq type='set' id='r1' from='{HECATE}' to='{COVEN}'><register xmlns='{MIX_NS}'/></iq>");
    assert_eq!(condition(&h.send(&register).await[0]), "registration-required");
    make_member(&h, HECATE_BARE).await;
    let out = h.send(&register).await;
    assert_xml(&out[0], &format!("<iq type='result' id='r1' from='{COVEN}' to='{HECATE}'><register xmlns='{MIX_NS}'><nick>hecate</nick></register></iq>"));
    h.exchange1(
        &register_get(HECATE, "g"),
        &format!("<iq type='result' id='g' from='{ROOM}' to='{HECATE}'><query xmlns='{REGISTER}'><registered/><username>hecate</username></query></iq>"),
    )
    .await;
}
