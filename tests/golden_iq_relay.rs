//! Golden transcripts for IQs relayed between participants: to
//! `room@muc/nick` (XEP-0045; vCard to the occupant's real bare JID,
//! anything else to one of its sessions) and to proxy JIDs (XEP-0403 §4.5,
//! XEP-0404 "Requesting vCard"); the answers coming back (results and
//! errors, payloads intact, the requester's id); answers that match nothing
//! or come from elsewhere (dropped); and the refusals.
//!
//! hag66 (owner) and hag01 are in the room coven@chat.shakespeare.example
//! as "thirdwitch" and "firstwitch"; hecate is a MIX participant of
//! coven@mix.shakespeare.example with the nick "hecate"; romeo is outside.

mod common;

use common::*;

const MIX_NS: &str = "urn:xmpp:mix:core:1";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const VCARD: &str = "<vCard xmlns='vcard-temp'><FN>Hag Sixty-Six</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0=</BINVAL></PHOTO></vCard>";
const VERSION: &str = "<query xmlns='jabber:iq:version'/>";

/// An error as the service refuses a request itself (`by` the room or channel).
fn refused(from: &str, to: &str, id: &str, type_: &str, condition: &str, text: &str) -> String {
    let by = from.split('/').next().unwrap_or(from);
    format!("<iq type='error' id='{id}' from='{from}' to='{to}'><error type='{type_}' by='{by}'><{condition} xmlns='{STANZAS}'/><text xmlns='{STANZAS}' xml:lang='en'>{text}</text></error></iq>")
}

fn get(id: &str, from: &str, to: &str, payload: &str) -> String {
    format!("<iq type='get' id='{id}' from='{from}' to='{to}'>{payload}</iq>")
}

fn result(id: &str, from: &str, to: &str, payload: &str) -> String {
    format!("<iq type='result' id='{id}' from='{from}' to='{to}'>{payload}</iq>")
}

/// coven (JID visibility as `toml` says) created by hag66, who enters as
/// thirdwitch; hag01 enters as firstwitch; hecate joins through MIX.
async fn room_with(toml: &str) -> Harness {
    let h = Harness::with_toml(toml).await;
    let out = h.send(&format!("<iq type='set' id='c0' from='{HAG66}' to='{MIX}'><create xmlns='{MIX_NS}' channel='coven'/></iq>")).await;
    assert_eq!(out[0].attr("type"), Some("result"));
    enter_room(&h, HAG66, "thirdwitch").await;
    enter_room(&h, HAG01, "firstwitch").await;
    let join = format!("<iq type='set' id='j1' from='{HECATE_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>hecate</nick></join></iq>");
    assert!(h.send(&join).await.iter().any(|e| e.attr("type") == Some("result")), "hecate's join failed");
    h
}

async fn room() -> Harness {
    room_with("").await
}


// ================================================================ MUC view

/// XEP-0045: a vCard request to `room/nick` goes to the occupant's real
/// bare JID (its server answers) from the requester's occupant JID, with an
/// id of the service's; the answer reaches the requester from `room/nick`
/// with its own id and the vCard as it came. The same answer again matches
/// nothing.
#[tokio::test]
async fn muc_vcard_goes_to_the_bare_jid_and_back() {
    let h = room().await;
    let sent = h.exchange1(&get("v1", HAG01, &format!("{ROOM}/thirdwitch"), "<vCard xmlns='vcard-temp'/>"), &get("{*rid}", &format!("{ROOM}/firstwitch"), HAG66_BARE, "<vCard xmlns='vcard-temp'/>")).await;
    let rid = sent.named("rid");
    assert_ne!(rid, "v1", "the requester's id is not reused");
    let answer = result(rid, HAG66_BARE, &format!("{ROOM}/firstwitch"), VCARD);
    h.exchange1(&answer, &result("v1", &format!("{ROOM}/thirdwitch"), HAG01, VCARD)).await;
    h.exchange(&answer, &[]).await;
}

/// vCard4 (XEP-0292) is a profile request too: to the bare JID.
#[tokio::test]
async fn muc_vcard4_goes_to_the_bare_jid() {
    let h = room().await;
    let v4 = "<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'/>";
    h.exchange1(&get("v4", HAG01, &format!("{ROOM}/thirdwitch"), v4), &get("{*}", &format!("{ROOM}/firstwitch"), HAG66_BARE, v4)).await;
}

/// Other requests go to one session: with two, the one that entered last
/// (ties: the greater full JID). An error answer keeps its type and
/// condition, loses its `by` (the real JID), and comes from `room/nick`.
#[tokio::test]
async fn muc_request_goes_to_the_latest_session_and_errors_come_back() {
    let h = room().await;
    enter_room(&h, HAG66_2, "thirdwitch").await;
    let sent = h.exchange1(&get("q1", HAG01, &format!("{ROOM}/thirdwitch"), VERSION), &get("{*rid}", &format!("{ROOM}/firstwitch"), HAG66_2, VERSION)).await;
    let error = |by: &str| format!("<error type='cancel'{by}><feature-not-implemented xmlns='{STANZAS}'/></error>");
    h.exchange1(
        &format!("<iq type='error' id='{}' from='{HAG66_2}' to='{ROOM}/firstwitch'>{VERSION}{}</iq>", sent.named("rid"), error(&format!(" by='{HAG66_2}'"))),
        // (xmpp-parsers writes the error before the payload.)
        &format!("<iq type='error' id='q1' from='{ROOM}/thirdwitch' to='{HAG01}'>{}{VERSION}</iq>", error("")),
    )
    .await;
}

/// A ping to another occupant is relayed (a ping to one's own nick stays
/// XEP-0410's self-ping, answered by the room).
#[tokio::test]
async fn muc_ping_to_another_occupant_is_relayed() {
    let h = room().await;
    let ping = "<ping xmlns='urn:xmpp:ping'/>";
    let sent = h.exchange1(&get("p1", HAG01, &format!("{ROOM}/thirdwitch"), ping), &get("{*rid}", &format!("{ROOM}/firstwitch"), HAG66, ping)).await;
    h.exchange1(&result(sent.named("rid"), HAG66, &format!("{ROOM}/firstwitch"), ""), &result("p1", &format!("{ROOM}/thirdwitch"), HAG01, "")).await;
    h.exchange1(&get("p2", HAG01, &format!("{ROOM}/firstwitch"), ping), &result("p2", &format!("{ROOM}/firstwitch"), HAG01, "")).await;
}

/// Answers that do not come from the JID the request went to, or not to
/// the JID it came from, or with an id we did not give, are dropped; the
/// real answer still goes through.
#[tokio::test]
async fn forged_answers_are_dropped() {
    let h = room().await;
    let me = format!("{ROOM}/firstwitch");
    let sent = h.exchange1(&get("q2", HAG01, &format!("{ROOM}/thirdwitch"), VERSION), &get("{*rid}", &me, HAG66, VERSION)).await;
    let rid = sent.named("rid");
    let forged = "<query xmlns='jabber:iq:version'><name>forged</name></query>";
    h.exchange(&result(rid, ROMEO, &me, forged), &[]).await;
    h.exchange(&result(rid, HAG66_BARE, &me, forged), &[]).await;
    h.exchange(&result(rid, HAG66, &format!("{ROOM}/hecate"), forged), &[]).await;
    h.exchange(&result("q2", HAG66, &me, forged), &[]).await;
    let real = "<query xmlns='jabber:iq:version'><name>broomstick</name></query>";
    h.exchange1(&result(rid, HAG66, &me, real), &result("q2", &format!("{ROOM}/thirdwitch"), HAG01, real)).await;
}

/// Refusals: a requester not in the room `not-acceptable` (disco:
/// `bad-request`, XEP-0045 §6.7); an unknown nick `item-not-found`; a room
/// without private messages refuses requests to sessions
/// (`policy-violation`) but relays vCards; a MIX participant with no
/// online client `service-unavailable`.
#[tokio::test]
async fn muc_refusals() {
    let h = room().await;
    let them = format!("{ROOM}/thirdwitch");
    h.exchange1(&get("r1", ROMEO, &them, VERSION), &refused(&them, ROMEO, "r1", "cancel", "not-acceptable", "You are not currently connected to this chat")).await;
    let disco = "<query xmlns='http://jabber.org/protocol/disco#info'/>";
    h.exchange1(&get("r2", ROMEO, &them, disco), &refused(&them, ROMEO, "r2", "modify", "bad-request", "only occupants may query an occupant")).await;
    let nobody = format!("{ROOM}/nobody");
    h.exchange1(&get("r3", HAG01, &nobody, VERSION), &refused(&nobody, HAG01, "r3", "cancel", "item-not-found", "Recipient not in room")).await;
    let hecate = format!("{ROOM}/hecate");
    h.exchange1(&get("r4", HAG01, &hecate, VERSION), &refused(&hecate, HAG01, "r4", "cancel", "service-unavailable", "the participant has no online session")).await;

    let mut row = (*h.service.channels.require("coven").await.unwrap()).clone();
    row.allow_pm = "none".into();
    h.store.update_config(&row).await.unwrap();
    h.service.channels.invalidate("coven").await;
    h.exchange1(&get("r5", HAG01, &them, VERSION), &refused(&them, HAG01, "r5", "cancel", "policy-violation", "Private messages are restricted in this room")).await;
    h.exchange1(&get("r6", HAG01, &them, "<vCard xmlns='vcard-temp'/>"), &get("{*}", &format!("{ROOM}/firstwitch"), HAG66_BARE, "<vCard xmlns='vcard-temp'/>")).await;
}

/// A requester may wait for at most 16 answers; the 17th request is
/// refused with `resource-constraint` (wait) and nothing is sent on.
#[tokio::test]
async fn requests_waiting_per_requester_are_bounded() {
    let h = room().await;
    let them = format!("{ROOM}/thirdwitch");
    for i in 0..16 {
        let out = h.send(&get(&format!("b{i}"), HAG01, &them, VERSION)).await;
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].attr("to"), Some(HAG66), "request {i} relayed");
    }
    h.exchange1(&get("b16", HAG01, &them, VERSION), &refused(&them, HAG01, "b16", "wait", "resource-constraint", "too many requests waiting for an answer")).await;
    // Another requester is not affected.
    let out = h.send(&get("c1", HAG66, &format!("{ROOM}/firstwitch"), VERSION)).await;
    assert_eq!(out[0].attr("to"), Some(HAG01));
}

// ================================================================ MIX view

/// XEP-0404 "Requesting vCard": a vCard request to a bare proxy JID goes
/// to the participant's real bare JID from the requester's proxy full JID
/// (the token of its session, as its private messages come); the answer
/// reaches the requester from the proxy JID it asked.
#[tokio::test]
async fn mix_vcard_through_the_bare_proxy_jid() {
    let h = room().await;
    let asked = format!("{}#coven@{MIX}", coven_pid(&h, HAG66_BARE).await);
    let from = format!("{}#coven@{MIX}/{}", coven_pid(&h, HECATE_BARE).await, coven_token(&h, HECATE).await);
    let sent = h.exchange1(&get("m1", HECATE, &asked, "<vCard xmlns='vcard-temp'/>"), &get("{*rid}", &from, HAG66_BARE, "<vCard xmlns='vcard-temp'/>")).await;
    h.exchange1(&result(sent.named("rid"), HAG66_BARE, &from, VCARD), &result("m1", &asked, HECATE, VCARD)).await;
}

/// XEP-0403 §4.5: a request to a proxy full JID goes to the session it
/// names (by its token); to a bare proxy JID, to the latest session; in a
/// JID-visible channel the presence node's resource names a session too.
#[tokio::test]
async fn mix_request_to_a_session() {
    let h = room().await;
    enter_room(&h, HAG66_2, "thirdwitch").await;
    let hag66 = format!("{}#coven@{MIX}", coven_pid(&h, HAG66_BARE).await);
    let from = format!("{}#coven@{MIX}/{}", coven_pid(&h, HECATE_BARE).await, coven_token(&h, HECATE).await);
    let first = format!("{hag66}/{}", coven_token(&h, HAG66).await);
    let sent = h.exchange1(&get("s1", HECATE, &first, VERSION), &get("{*rid}", &from, HAG66, VERSION)).await;
    h.exchange1(&result(sent.named("rid"), HAG66, &from, VERSION), &result("s1", &first, HECATE, VERSION)).await;
    h.exchange1(&get("s2", HECATE, &hag66, VERSION), &get("{*}", &from, HAG66_2, VERSION)).await;
    h.exchange1(&get("s3", HECATE, &format!("{hag66}/UUID-a1j/7533"), VERSION), &get("{*}", &from, HAG66, VERSION)).await;
}

/// A MUC occupant asks a MIX participant whose client is online: the
/// request goes to that client from `room/nick`.
#[tokio::test]
async fn muc_request_to_an_online_mix_client() {
    let h = room().await;
    h.send(&format!("<presence from='{HECATE}' to='{COVEN}'/>")).await;
    h.exchange1(&get("o1", HAG01, &format!("{ROOM}/hecate"), VERSION), &get("{*}", &format!("{ROOM}/firstwitch"), HECATE, VERSION)).await;
}

/// Proxy JID refusals: not a participant `forbidden`, an unknown
/// participant or session `item-not-found`.
#[tokio::test]
async fn mix_refusals() {
    let h = room().await;
    let hag66 = format!("{}#coven@{MIX}", coven_pid(&h, HAG66_BARE).await);
    h.exchange1(&get("f1", ROMEO, &hag66, "<vCard xmlns='vcard-temp'/>"), &refused(&hag66, ROMEO, "f1", "auth", "forbidden", "you are not a participant of this channel")).await;
    let nobody = format!("aaaaaaaaaa#coven@{MIX}");
    h.exchange1(&get("f2", HECATE, &nobody, "<vCard xmlns='vcard-temp'/>"), &refused(&nobody, HECATE, "f2", "cancel", "item-not-found", "no such participant in this channel")).await;
    let gone = format!("{hag66}/nosuchsession");
    h.exchange1(&get("f3", HECATE, &gone, VERSION), &refused(&gone, HECATE, "f3", "cancel", "item-not-found", "no such session of this participant")).await;
}

/// In a JID-hidden channel (the service's default) neither side sees the
/// other's real JID: the target gets the request from the requester's
/// occupant or proxy JID; the requester gets the answer from the JID it
/// asked; a real resource does not name a session (only tokens do).
#[tokio::test]
async fn jid_hidden_channel_shows_no_real_jid() {
    let h = room_with("[service]\njid_visibility = \"hidden\"").await;
    let me = format!("{ROOM}/firstwitch");
    let sent = h.exchange1(&get("h1", HAG01, &format!("{ROOM}/thirdwitch"), VERSION), &get("{*rid}", &me, HAG66, VERSION)).await;
    h.exchange1(&result(sent.named("rid"), HAG66, &me, VERSION), &result("h1", &format!("{ROOM}/thirdwitch"), HAG01, VERSION)).await;
    let hag66 = format!("{}#coven@{MIX}/UUID-a1j/7533", coven_pid(&h, HAG66_BARE).await);
    h.exchange1(&get("h2", HECATE, &hag66, VERSION), &refused(&hag66, HECATE, "h2", "cancel", "item-not-found", "no such session of this participant")).await;
}

/// XEP-0404 'vCard' preference `block`: vCard requests through the channel
/// are refused in both views (`service-unavailable`); other requests are
/// not affected.
#[tokio::test]
async fn the_vcard_preference_blocks_vcard_requests_in_both_views() {
    let h = room().await;
    let set = format!(
        "<iq type='set' id='p' from='{HAG66}' to='{COVEN}'><user-preference xmlns='urn:xmpp:mix:anon:0'><x xmlns='jabber:x:data' type='submit'>\
         <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:anon:0</value></field><field var='vCard'><value>block</value></field></x></user-preference></iq>"
    );
    assert_eq!(h.send(&set).await[0].attr("type"), Some("result"));
    let room_jid = format!("{ROOM}/thirdwitch");
    h.exchange1(&get("v1", HAG01, &room_jid, "<vCard xmlns='vcard-temp'/>"), &refused(&room_jid, HAG01, "v1", "cancel", "service-unavailable", "{*}")).await;
    let asked = format!("{}#coven@{MIX}", coven_pid(&h, HAG66_BARE).await);
    h.exchange1(&get("m1", HECATE, &asked, "<vCard xmlns='vcard-temp'/>"), &refused(&asked, HECATE, "m1", "cancel", "service-unavailable", "{*}")).await;
    // A version request still reaches the session.
    let out = h.send(&get("v2", HAG01, &room_jid, VERSION)).await;
    assert_eq!((out[0].attr("type"), out[0].attr("to")), (Some("get"), Some(HAG66)));
}
