//! Golden transcripts for the idle-session check (docs/muc.md
//! "Housekeeping"): a session silent for longer than
//! `idle_session_check_secs` is pinged from the room's (channel's) JID; an
//! answer keeps it, an error that says it is gone or no answer by the next
//! round removes it as a bounce does (status 333 in the MUC view, offline
//! in the MIX presence node).
//!
//! As in golden_vanished.rs (`coven_with_sessions`): hag66 and hag01 are in the room
//! coven@chat.shakespeare.example as "thirdwitch" and "firstwitch"; hecate
//! and romeo are MIX participants subscribed to the presence node;
//! hecate's client is online. The check time is 60 s, so a round runs
//! every 15 s; the rounds are run by hand at chosen times.

mod common;

use std::collections::BTreeMap;

use common::*;
use mixmuc::store::now_ms;
use xmpp_parsers::minidom::Element;

const MIX_NS: &str = "urn:xmpp:mix:core:1";
const MUC_USER: &str = "http://jabber.org/protocol/muc#user";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const CHECK_MS: i64 = 60_000;
const ROUND_MS: i64 = CHECK_MS / 4;

async fn room_with(service: &str) -> Harness {
    let service = if service.contains("idle_session_check_secs") { service.to_string() } else { format!("idle_session_check_secs = 60\n{service}") };
    let h = Harness::with_toml(&format!("[service]\n{service}")).await;
    coven_with_sessions(&h).await;
    h
}

async fn room() -> Harness {
    room_with("").await
}

/// A time at which every session of `room()` has been silent too long.
fn later() -> i64 {
    now_ms() + CHECK_MS + 1
}

/// The pings of a round, as recipient → (from, id); asserts that the
/// round sent only pings, each from the room's or channel's bare JID.
fn pings(out: &[Element]) -> BTreeMap<String, (String, String)> {
    let mut pings = BTreeMap::new();
    for e in out {
        assert!(e.name() == "iq" && e.attr("type") == Some("get"), "not a ping: {}", canonical(e));
        let ping = e.children().next().expect("a payload");
        assert!(ping.is("ping", "urn:xmpp:ping") && e.children().count() == 1, "not a ping: {}", canonical(e));
        let (from, to, id) = (e.attr("from").unwrap(), e.attr("to").unwrap(), e.attr("id").unwrap());
        assert!(from == ROOM || from == COVEN, "a ping from {from}");
        assert!(pings.insert(to.to_string(), (from.to_string(), id.to_string())).is_none(), "pinged twice: {to}");
    }
    pings
}

fn result(from: &str, to: &str, id: &str) -> String {
    format!("<iq type='result' id='{id}' from='{from}' to='{to}'/>")
}

fn error(from: &str, to: &str, id: &str, type_: &str, condition: &str) -> String {
    format!("<iq type='error' id='{id}' from='{from}' to='{to}'><error type='{type_}'><{condition} xmlns='{STANZAS}'/></error></iq>")
}

/// What hag01's removal sends, "Kicked: `why`": her session goes offline
/// for the MIX presence subscribers, and thirdwitch sees firstwitch leave
/// with status 333.
async fn firstwitch_removed(h: &Harness, why: &str) -> Vec<String> {
    let hag01 = coven_pid(h, HAG01_BARE).await;
    let t01 = h.service.channels.session_token("coven", HAG01).await.unwrap();
    let mix_gone = |to: &str| {
        format!(
            "<presence type='unavailable' from='{hag01}#coven@{MIX}/{t01}' to='{to}'><status>Kicked: {why}</status><priority>0</priority>
               <mix xmlns='urn:xmpp:mix:presence:0'><jid>{HAG01}</jid><nick>firstwitch</nick></mix></presence>"
        )
    };
    vec![
        mix_gone(HECATE_BARE),
        mix_gone(ROMEO_BARE),
        format!(
            "<presence type='unavailable' from='{ROOM}/firstwitch' to='{HAG66}'><status>Kicked: {why}</status><priority>0</priority>
               <x xmlns='{MUC_USER}'><item affiliation='none' jid='{HAG01}' role='none'/><status code='333'/></x>
               <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{hag01}'/></presence>"
        ),
    ]
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Every silent session is pinged, MUC occupants from the room's JID, the
/// MIX client from the channel's; each answers; the next round finds no
/// one silent and sends nothing.
#[tokio::test]
async fn silent_sessions_are_pinged_and_an_answer_keeps_them() {
    let h = room().await;
    let t = later();
    let p = pings(&h.sweep(t).await);
    assert_eq!(p.keys().map(String::as_str).collect::<Vec<_>>(), vec![HAG01, HAG66, HECATE]);
    assert_eq!(p[HAG66].0, ROOM);
    assert_eq!(p[HAG01].0, ROOM);
    assert_eq!(p[HECATE].0, COVEN);
    for (to, (from, id)) in &p {
        h.exchange(&result(to, from, id), &[]).await;
    }
    assert!(h.sweep(t + ROUND_MS).await.is_empty(), "answered sessions are not asked again so soon");
    assert_eq!(coven_occupants(&h).await, vec![HAG66.to_string(), HAG01.to_string()]);
    assert_eq!(coven_online_clients(&h).await, vec![HECATE.to_string()]);
}

/// A session that does not answer by the next round is removed: the
/// others see it leave with 333, "Kicked: no answer to ping". An answer
/// from another JID is no answer; nor is an error with another id.
#[tokio::test]
async fn no_answer_by_the_next_round_removes_the_session() {
    let h = room().await;
    let t = later();
    let p = pings(&h.sweep(t).await);
    h.exchange(&result(HAG66, ROOM, &p[HAG66].1), &[]).await;
    h.exchange(&result(HECATE, COVEN, &p[HECATE].1), &[]).await;
    // Not hag01's answer: from hag66's other resource; an error with another id.
    h.exchange(&result(HAG66_2, ROOM, &p[HAG01].1), &[]).await;
    h.exchange(&error(HAG01, ROOM, "not-the-id", "cancel", "item-not-found"), &[]).await;
    // Half a round later the ping is not overdue yet: nothing.
    assert!(h.sweep(t + ROUND_MS / 4).await.is_empty());
    let gone = firstwitch_removed(&h, "no answer to ping").await;
    assert_stanzas(&h.sweep(t + ROUND_MS).await, &refs(&gone));
    assert_eq!(coven_occupants(&h).await, vec![HAG66.to_string()]);
}

/// An error from the session's server that says it is gone removes it at
/// once, as a bounce would.
#[tokio::test]
async fn an_error_from_its_server_removes_the_session() {
    let h = room().await;
    let p = pings(&h.sweep(later()).await);
    let gone = firstwitch_removed(&h, "remote server not found").await;
    h.exchange(&error(HAG01, ROOM, &p[HAG01].1, "cancel", "remote-server-not-found"), &refs(&gone)).await;
    assert_eq!(coven_occupants(&h).await, vec![HAG66.to_string()]);
    // A MIX client: offline in the presence node (and in the room).
    let out = h.send(&error(HECATE, COVEN, &p[HECATE].1, "cancel", "item-not-found")).await;
    assert!(!out.is_empty() && out.iter().all(|e| e.name() == "presence" && e.attr("type") == Some("unavailable")), "{out:?}");
    assert!(coven_online_clients(&h).await.is_empty());
}

/// `service-unavailable` is what a client without XEP-0199 answers and
/// what a server answers for a session it no longer has: the session is
/// asked its disco#info. A result keeps it; `service-unavailable` again
/// removes it. `feature-not-implemented` (only a client says it) keeps it.
#[tokio::test]
async fn service_unavailable_is_settled_by_disco_info() {
    let h = room().await;
    let t = later();
    let p = pings(&h.sweep(t).await);
    let disco = "<iq type='get' id='{*id}' from='{from}' to='{to}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>";
    let ask = |from: &str, to: &str| disco.replace("{from}", from).replace("{to}", to);
    // hag66's client does not do ping, but answers disco#info.
    let c = h.exchange1(&error(HAG66, ROOM, &p[HAG66].1, "cancel", "service-unavailable"), &ask(ROOM, HAG66)).await;
    h.exchange(&result(HAG66, ROOM, c.named("id")), &[]).await;
    // hag01's server no longer has her session.
    let c = h.exchange1(&error(HAG01, ROOM, &p[HAG01].1, "cancel", "service-unavailable"), &ask(ROOM, HAG01)).await;
    let gone = firstwitch_removed(&h, "service unavailable").await;
    h.exchange(&error(HAG01, ROOM, c.named("id"), "cancel", "service-unavailable"), &refs(&gone)).await;
    // hecate's client says it does not implement ping: it is there.
    h.exchange(&error(HECATE, COVEN, &p[HECATE].1, "cancel", "feature-not-implemented"), &[]).await;
    assert!(h.sweep(t + ROUND_MS).await.is_empty());
    assert_eq!(coven_occupants(&h).await, vec![HAG66.to_string()]);
    assert_eq!(coven_online_clients(&h).await, vec![HECATE.to_string()]);
}

/// A session that spoke since the check time is not pinged: hag66's
/// groupchat (the single-stanza path) and hecate's two MIX messages (the
/// batch path) count as signs of life; only hag01 is asked.
#[tokio::test]
async fn a_session_that_spoke_recently_is_not_pinged() {
    let h = room().await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let spoke = now_ms();
    h.send(&format!("<message type='groupchat' id='m1' from='{HAG66}' to='{ROOM}'><body>Thrice the brinded cat hath mew'd.</body></message>")).await;
    let mix_message = |id: &str| stanza(&format!("<message type='groupchat' id='{id}' from='{HECATE}' to='{COVEN}'><body>Harpier cries.</body></message>"));
    let out = h.service.handle_batch(vec![mix_message("x1"), mix_message("x2")]).await;
    assert!(mixmuc::outgoing::expand(out).iter().all(|s| to_element(s).attr("type") != Some("error")));
    let p = pings(&h.sweep(spoke + CHECK_MS).await);
    assert_eq!(p.keys().map(String::as_str).collect::<Vec<_>>(), vec![HAG01]);
}

/// A round sends at most `idle_session_pings_per_round` pings, the longest
/// silent first; the rest are asked in a later round.
#[tokio::test]
async fn a_round_sends_at_most_its_cap() {
    let h = room_with("idle_session_pings_per_round = 2").await;
    let t = later();
    let first = pings(&h.sweep(t).await);
    assert_eq!(first.len(), 2, "{first:?}");
    for (to, (from, id)) in &first {
        h.exchange(&result(to, from, id), &[]).await;
    }
    let second = pings(&h.sweep(t + ROUND_MS).await);
    assert_eq!(second.len(), 1, "{second:?}");
    let mut all: Vec<&String> = first.keys().chain(second.keys()).collect();
    all.sort();
    assert_eq!(all, vec![HAG01, HAG66, HECATE]);
}

/// `idle_session_check_secs = 0`: no round does anything.
#[tokio::test]
async fn a_zero_check_time_turns_the_check_off() {
    let h = Harness::with_toml("[service]\nidle_session_check_secs = 0").await;
    h.send(&format!("<iq type='set' id='c0' from='{HAG66}' to='{MIX}'><create xmlns='{MIX_NS}' channel='coven'/></iq>")).await;
    enter_room(&h, HAG66, "thirdwitch").await;
    assert!(h.service.idle_sweep_period().is_none());
    assert!(h.sweep(now_ms() + 365 * 86_400_000).await.is_empty());
}

/// Two instances over one store: the answer to one instance's ping may
/// reach the other (a server spreading the domain over several
/// connections). The other does not know the ping's id, but the result is
/// a sign of life it writes to the store, so the instance that pinged does
/// not remove the session. Real time here: a check time of 1 s.
#[tokio::test]
async fn an_answer_reaching_another_instance_keeps_the_session() {
    let h = room_with("idle_session_check_secs = 1").await;
    let other = mixmuc::service::Service::new(&h.config, h.store.clone());
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let p = pings(&h.sweep(now_ms()).await);
    assert_eq!(p.len(), 3, "{p:?}");
    for (to, (from, id)) in &p {
        assert!(other.handle(stanza(&result(to, from, id))).await.is_empty());
    }
    // A round later (a quarter of the check time): everyone was seen since.
    assert!(h.sweep(now_ms() + 250).await.is_empty());
    assert_eq!(coven_occupants(&h).await, vec![HAG66.to_string(), HAG01.to_string()]);
}
