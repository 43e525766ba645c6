//! Golden transcripts for sessions that vanish without an unavailable
//! presence (docs/muc.md "Sessions that vanish"): a delivery error bounced
//! back from a session removes it (MUC: the others see it leave with
//! status 333; MIX: presence subscribers see the client go offline); a
//! server-unreachable error from a bare JID removes every session of the
//! user; other errors change nothing.
//!
//! hag66 and hag01 are in the room coven@chat.shakespeare.example as
//! "thirdwitch" and "firstwitch"; hecate and romeo are MIX participants of
//! coven@mix.shakespeare.example subscribed to the presence node; hecate's
//! client is online.

mod common;

use common::*;

const MUC_USER: &str = "http://jabber.org/protocol/muc#user";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

async fn room() -> Harness {
    let h = Harness::new().await;
    coven_with_sessions(&h).await;
    h
}


fn bounce(kind: &str, from: &str, to: &str, type_: &str, condition: &str) -> String {
    format!("<{kind} type='error' id='b1' from='{from}' to='{to}'><error type='{type_}'><{condition} xmlns='{STANZAS}'/></error></{kind}>")
}

/// A private message to firstwitch bounced (recipient-unavailable): she
/// leaves; the room sees her go with status 333 and "Kicked: recipient
/// unavailable" (as Prosody), MIX presence subscribers see her session go;
/// she is not sent anything (it would bounce again).
#[tokio::test]
async fn a_bounced_message_removes_the_occupant() {
    let h = room().await;
    let hag01 = coven_pid(&h, HAG01_BARE).await;
    let t01 = h.service.channels.session_token("coven", HAG01).await.unwrap();
    let mix_gone = |to: &str| {
        format!(
            "<presence type='unavailable' from='{hag01}#coven@{MIX}/{t01}' to='{to}'><status>Kicked: recipient unavailable</status><priority>0</priority>
               <mix xmlns='urn:xmpp:mix:presence:0'><jid>{HAG01}</jid><nick>firstwitch</nick></mix></presence>"
        )
    };
    h.exchange(
        &bounce("message", HAG01, &format!("{ROOM}/thirdwitch"), "cancel", "recipient-unavailable"),
        &[
            &mix_gone(HECATE_BARE),
            &mix_gone(ROMEO_BARE),
            &format!(
                "<presence type='unavailable' from='{ROOM}/firstwitch' to='{HAG66}'><status>Kicked: recipient unavailable</status><priority>0</priority>
                   <x xmlns='{MUC_USER}'><item affiliation='none' jid='{HAG01}' role='none'/><status code='333'/></x>
                   <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{hag01}'/></presence>"
            ),
        ],
    )
    .await;
    assert_eq!(coven_occupants(&h).await, vec![HAG66.to_string()]);
}

/// A presence error from one of two sessions: that session goes, quietly
/// (the user is still in the room through the other).
#[tokio::test]
async fn a_presence_error_removes_one_session() {
    let h = room().await;
    enter_room(&h, HAG66_2, "thirdwitch").await;
    let hag66 = coven_pid(&h, HAG66_BARE).await;
    let tok = h.service.channels.session_token("coven", HAG66_2).await.unwrap();
    let mix_gone = |to: &str| {
        format!(
            "<presence type='unavailable' from='{hag66}#coven@{MIX}/{tok}' to='{to}'><status>Kicked: remote server timeout</status><priority>0</priority>
               <mix xmlns='urn:xmpp:mix:presence:0'><jid>{HAG66_2}</jid><nick>thirdwitch</nick></mix></presence>"
        )
    };
    h.exchange(&bounce("presence", HAG66_2, &format!("{ROOM}/firstwitch"), "wait", "remote-server-timeout"), &[&mix_gone(HECATE_BARE), &mix_gone(ROMEO_BARE)]).await;
    assert_eq!(coven_occupants(&h).await, vec![HAG66.to_string(), HAG01.to_string()]);
}

/// hecate's server cannot be reached (an error from her bare JID for what
/// went to it): her online client goes offline for the presence node's
/// subscribers and the room; she stays a participant.
#[tokio::test]
async fn an_unreachable_server_takes_its_clients_offline() {
    let h = room().await;
    let hecate = coven_pid(&h, HECATE_BARE).await;
    let tok = h.service.channels.session_token("coven", HECATE).await.unwrap();
    let mix_gone = |to: &str| {
        format!(
            "<presence type='unavailable' from='{hecate}#coven@{MIX}/{tok}' to='{to}'><priority>0</priority>
               <mix xmlns='urn:xmpp:mix:presence:0'><jid>{HECATE}</jid><nick>hecate</nick></mix></presence>"
        )
    };
    let muc_gone = |to: &str| {
        format!(
            "<presence type='unavailable' from='{ROOM}/hecate' to='{to}'><priority>0</priority>
               <x xmlns='{MUC_USER}'><item affiliation='none' jid='{HECATE_BARE}' role='none'/></x>
               <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{hecate}'/></presence>"
        )
    };
    h.exchange(&bounce("message", HECATE_BARE, COVEN, "cancel", "remote-server-not-found"), &[&mix_gone(HECATE_BARE), &mix_gone(ROMEO_BARE), &muc_gone(HAG66), &muc_gone(HAG01)]).await;
    assert!(coven_online_clients(&h).await.is_empty());
    assert!(h.service.channels.participants("coven").await.unwrap().iter().any(|p| p.jid == HECATE_BARE), "still a participant");
}

/// Errors that do not say a session is gone change nothing: a refusal
/// (forbidden) from a session, a service-unavailable from a bare JID (a
/// server refusing one message), an error from someone with no session
/// here, an error to the service domain.
#[tokio::test]
async fn other_errors_change_nothing() {
    let h = room().await;
    h.exchange(&bounce("message", HAG01, &format!("{ROOM}/thirdwitch"), "auth", "forbidden"), &[]).await;
    h.exchange(&bounce("message", HECATE_BARE, COVEN, "cancel", "service-unavailable"), &[]).await;
    h.exchange(&bounce("message", ROMEO, &format!("{ROOM}/thirdwitch"), "cancel", "recipient-unavailable"), &[]).await;
    h.exchange(&bounce("presence", HAG01, MUC, "cancel", "recipient-unavailable"), &[]).await;
    h.exchange(&format!("<message type='error' id='b2' from='{HAG01}' to='{ROOM}/thirdwitch'/>"), &[]).await;
    assert_eq!(coven_occupants(&h).await, vec![HAG66.to_string(), HAG01.to_string()]);
    assert_eq!(coven_online_clients(&h).await, vec![HECATE.to_string()]);
}
