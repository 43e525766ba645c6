//! Golden transcripts for talking to one person in a room and bringing
//! others in: private messages (XEP-0045 §7.5; XEP-0369 seed / XEP-0404
//! proxy JIDs) between MUC occupants, from MUC occupants to MIX
//! participants and back; the room's `allow_pm` policy;
//! mediated invitations and declines (XEP-0045 §7.8.2) with the MIX
//! invitation beside them (XEP-0408 §2.1), MIX invitation requests and
//! joins with an invitation; voice requests (XEP-0045 §7.13, §8.6).
//!
//! hag66 (owner) and hag01 are in the room coven@chat.shakespeare.example
//! as "thirdwitch" and "firstwitch"; hecate is a MIX participant of
//! coven@mix.shakespeare.example with the nick "hecate"; romeo is outside.

mod common;

use common::*;
use mixmuc::service::Service;
use xmpp_parsers::minidom::Element;

const MIX_NS: &str = "urn:xmpp:mix:core:1";
const MUC_USER: &str = "http://jabber.org/protocol/muc#user";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

// ================================================================ helpers

fn message_error(from: &str, to: &str, id: &str, type_: &str, condition: &str, text: Option<&str>) -> String {
    let text = text.map(|t| format!("<text xmlns='{STANZAS}' xml:lang='en'>{t}</text>")).unwrap_or_default();
    let by = from.split('/').next().unwrap_or(from);
    format!("<message type='error' id='{id}' from='{from}' to='{to}'><error type='{type_}' by='{by}'><{condition} xmlns='{STANZAS}'/>{text}</error></message>")
}

fn iq_error(from: &str, to: &str, id: &str, type_: &str, condition: &str, text: Option<&str>) -> String {
    let text = text.map(|t| format!("<text xmlns='{STANZAS}' xml:lang='en'>{t}</text>")).unwrap_or_default();
    let by = from.split('/').next().unwrap_or(from);
    format!("<iq type='error' id='{id}' from='{from}' to='{to}'><error type='{type_}' by='{by}'><{condition} xmlns='{STANZAS}'/>{text}</error></iq>")
}

/// coven created by hag66, who enters as thirdwitch; hag01 enters as
/// firstwitch; hecate joins through MIX as hecate.
async fn room() -> Harness {
    let h = Harness::new().await;
    let out = h.send(&format!("<iq type='set' id='c0' from='{HAG66}' to='{MIX}'><create xmlns='{MIX_NS}' channel='coven'/></iq>")).await;
    assert_eq!(out[0].attr("type"), Some("result"));
    enter_room(&h, HAG66, "thirdwitch").await;
    enter_room(&h, HAG01, "firstwitch").await;
    let out = h
        .send(&format!(
            "<iq type='set' id='j1' from='{HECATE_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>hecate</nick></join></iq>"
        ))
        .await;
    assert!(out.iter().any(|e| e.name() == "iq" && e.attr("type") == Some("result")), "hecate's join failed");
    h
}


/// Changes coven's settings in the store.
async fn configure(h: &Harness, f: impl FnOnce(&mut mixmuc::store::ChannelRow)) {
    let mut row = (*h.service.channels.require("coven").await.unwrap()).clone();
    f(&mut row);
    h.store.update_config(&row).await.unwrap();
    h.service.channels.invalidate("coven").await;
}

/// Sets a participant's role straight in the store (muc#admin role changes
/// are another feature) and returns a service over the same store with
/// fresh caches.
async fn with_role(h: &Harness, jid: &str, role: &str) -> std::sync::Arc<Service> {
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(&h.db_path).connect().await.expect("store file");
    sqlx::query("UPDATE participants SET role = ? WHERE channel = 'coven' AND jid = ?").bind(role).bind(jid).execute(&mut conn).await.expect("role");
    Service::new(&h.config, h.store.clone())
}

async fn send_to(svc: &Service, xml: &str) -> Vec<Element> {
    svc.handle(stanza(xml)).await.iter().map(to_element).collect()
}

fn pm_to_occupant(to: &str, from_nick: &str, id: &str, sender_id: &str, body: &str) -> String {
    format!(
        "<message type='chat' id='{id}' from='{ROOM}/{from_nick}' to='{to}'>
           <body>{body}</body>
           <origin-id xmlns='urn:xmpp:sid:0' id='{id}-o'/>
           <x xmlns='{MUC_USER}'/>
           <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{sender_id}'/>
         </message>"
    )
}

// ================================================================ private messages, MUC view

/// XEP-0045 §7.5 Example 48-49: a private message reaches every session of
/// the occupant, from the sender's occupant JID, with `<x muc#user/>` and
/// the sender's occupant-id; the sender's occupant-id claim is dropped.
#[tokio::test]
async fn private_message_between_occupants() {
    let h = room().await;
    enter_room(&h, HAG66_2, "thirdwitch").await;
    let hag01 = coven_pid(&h, HAG01_BARE).await;
    let out = h
        .send(&format!(
            "<message type='chat' id='pm1' from='{HAG01}' to='{ROOM}/thirdwitch'>
               <body>I'll give thee a wind.</body>
               <origin-id xmlns='urn:xmpp:sid:0' id='pm1-o'/>
               <occupant-id xmlns='urn:xmpp:occupant-id:0' id='forged'/>
             </message>"
        ))
        .await;
    assert_stanzas(
        &out,
        &[&pm_to_occupant(HAG66, "firstwitch", "pm1", &hag01, "I'll give thee a wind."), &pm_to_occupant(HAG66_2, "firstwitch", "pm1", &hag01, "I'll give thee a wind.")],
    );
}

/// The nick compares like every nick (case-insensitively); a message to
/// oneself is delivered too.
#[tokio::test]
async fn private_message_nick_is_case_insensitive() {
    let h = room().await;
    let hag66 = coven_pid(&h, HAG66_BARE).await;
    h.exchange1(
        &format!("<message type='chat' id='pm2' from='{HAG66}' to='{ROOM}/FirstWitch'><body>hi</body><origin-id xmlns='urn:xmpp:sid:0' id='pm2-o'/></message>"),
        &pm_to_occupant(HAG01, "thirdwitch", "pm2", &hag66, "hi"),
    )
    .await;
}

/// Errors as Prosody's MUC gives them: an unknown nick `item-not-found`, a
/// sender outside the room `not-acceptable`, a groupchat to a nick
/// `bad-request`.
#[tokio::test]
async fn private_message_errors() {
    let h = room().await;
    h.exchange1(
        &format!("<message type='chat' id='e1' from='{HAG01}' to='{ROOM}/nobody'><body>hi</body></message>"),
        &message_error(&format!("{ROOM}/nobody"), HAG01, "e1", "cancel", "item-not-found", Some("Recipient not in room")),
    )
    .await;
    h.exchange1(
        &format!("<message type='chat' id='e2' from='{ROMEO}' to='{ROOM}/thirdwitch'><body>hi</body></message>"),
        &message_error(&format!("{ROOM}/thirdwitch"), ROMEO, "e2", "cancel", "not-acceptable", Some("You are not currently connected to this chat")),
    )
    .await;
    h.exchange1(
        &format!("<message type='groupchat' id='e3' from='{HAG01}' to='{ROOM}/thirdwitch'><body>hi</body></message>"),
        &message_error(&format!("{ROOM}/thirdwitch"), HAG01, "e3", "modify", "bad-request", Some("{*}")),
    )
    .await;
}

/// `allow_pm`: `none` refuses every private message, `moderators` allows
/// them from owners and admins only, `participants` refuses visitors;
/// refusals are `policy-violation` (Prosody's restrict_pm). To oneself is
/// always allowed.
#[tokio::test]
async fn private_message_policy() {
    let h = room().await;
    let hag66 = coven_pid(&h, HAG66_BARE).await;
    let pm = |id: &str, from: &str, nick: &str| format!("<message type='chat' id='{id}' from='{from}' to='{ROOM}/{nick}'><body>x</body><origin-id xmlns='urn:xmpp:sid:0' id='{id}-o'/></message>");
    configure(&h, |c| c.allow_pm = "none".into()).await;
    h.exchange1(&pm("n1", HAG01, "thirdwitch"), &message_error(&format!("{ROOM}/thirdwitch"), HAG01, "n1", "cancel", "policy-violation", Some("Private messages are restricted in this room")))
        .await;
    let hag01 = coven_pid(&h, HAG01_BARE).await;
    h.exchange1(&pm("n2", HAG01, "firstwitch"), &pm_to_occupant(HAG01, "firstwitch", "n2", &hag01, "x")).await;

    configure(&h, |c| c.allow_pm = "moderators".into()).await;
    h.exchange1(
        &pm("m1", HAG01, "thirdwitch"),
        &message_error(&format!("{ROOM}/thirdwitch"), HAG01, "m1", "cancel", "policy-violation", Some("Private messages are restricted from non-moderators")),
    )
    .await;
    h.exchange1(&pm("m2", HAG66, "firstwitch"), &pm_to_occupant(HAG01, "thirdwitch", "m2", &hag66, "x")).await;

    configure(&h, |c| c.allow_pm = "participants".into()).await;
    h.exchange1(&pm("p1", HAG01, "thirdwitch"), &pm_to_occupant(HAG66, "firstwitch", "p1", &hag01, "x")).await;
    let svc = with_role(&h, HAG01_BARE, "visitor").await;
    let out = send_to(&svc, &pm("p2", HAG01, "thirdwitch")).await;
    assert_stanzas(&out, &[&message_error(&format!("{ROOM}/thirdwitch"), HAG01, "p2", "cancel", "policy-violation", Some("Private messages are restricted from visitors"))]);
}

// ================================================================ private messages across views

/// A MUC occupant writes to the nick of a MIX participant: the participant
/// gets it at its bare JID from the sender's proxy full JID (XEP-0369 seed,
/// "Sending Private Messages"), with the sender's nick in `<mix/>`; its
/// answer to that proxy JID reaches the occupant's session from
/// `room/<its nick>`.
#[tokio::test]
async fn private_message_from_muc_to_mix_and_back() {
    let h = room().await;
    let hag01 = coven_pid(&h, HAG01_BARE).await;
    let hecate = coven_pid(&h, HECATE_BARE).await;
    let proxy = format!("{hag01}#coven@{MIX}/{}", coven_token(&h, HAG01).await);
    h.exchange1(
        &format!("<message type='chat' id='x1' from='{HAG01}' to='{ROOM}/hecate'><body>Hail</body></message>"),
        &format!("<message type='chat' id='x1' from='{proxy}' to='{HECATE_BARE}'><body>Hail</body><mix xmlns='{MIX_NS}'><nick>firstwitch</nick></mix></message>"),
    )
    .await;
    h.exchange1(
        &format!("<message type='chat' id='x2' from='{HECATE}' to='{proxy}'><body>Hail to thee</body></message>"),
        &format!(
            "<message type='chat' id='x2' from='{ROOM}/hecate' to='{HAG01}'><body>Hail to thee</body><x xmlns='{MUC_USER}'/><occupant-id xmlns='urn:xmpp:occupant-id:0' id='{hecate}'/></message>"
        ),
    )
    .await;
}

/// A MIX participant writes to the bare proxy JID of a MUC occupant: every
/// session gets it; a proxy full JID naming one session reaches that one.
#[tokio::test]
async fn private_message_from_mix_to_muc_sessions() {
    let h = room().await;
    enter_room(&h, HAG66_2, "thirdwitch").await;
    let hag66 = coven_pid(&h, HAG66_BARE).await;
    let hecate = coven_pid(&h, HECATE_BARE).await;
    let to_occ = |to: &str, id: &str| {
        format!("<message type='chat' id='{id}' from='{ROOM}/hecate' to='{to}'><body>b</body><x xmlns='{MUC_USER}'/><occupant-id xmlns='urn:xmpp:occupant-id:0' id='{hecate}'/></message>")
    };
    let out = h.send(&format!("<message type='chat' id='y1' from='{HECATE}' to='{hag66}#coven@{MIX}'><body>b</body></message>")).await;
    assert_stanzas(&out, &[&to_occ(HAG66, "y1"), &to_occ(HAG66_2, "y1")]);
    let session = coven_token(&h, HAG66_2).await;
    h.exchange1(&format!("<message type='chat' id='y2' from='{HECATE}' to='{hag66}#coven@{MIX}/{session}'><body>b</body></message>"), &to_occ(HAG66_2, "y2")).await;
}

/// Between two MIX participants the message goes to the bare JID, from the
/// sender's proxy full JID.
#[tokio::test]
async fn private_message_between_mix_participants() {
    let h = room().await;
    h.send(&format!("<iq type='set' id='j2' from='{ROMEO_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/></join></iq>")).await;
    let romeo = coven_pid(&h, ROMEO_BARE).await;
    let hecate = coven_pid(&h, HECATE_BARE).await;
    let from = format!("{hecate}#coven@{MIX}/{}", coven_token(&h, HECATE).await);
    h.exchange1(
        &format!("<message type='chat' id='z1' from='{HECATE}' to='{romeo}#coven@{MIX}'><body>b</body></message>"),
        &format!("<message type='chat' id='z1' from='{from}' to='{ROMEO_BARE}'><body>b</body><mix xmlns='{MIX_NS}'><nick>hecate</nick></mix></message>"),
    )
    .await;
}

/// Proxy JID errors: not a participant `forbidden`, unknown participant
/// `item-not-found`, groupchat `bad-request`, unknown channel
/// `item-not-found` (IQs to proxy JIDs: tests/golden_iq_relay.rs).
#[tokio::test]
async fn proxy_jid_errors() {
    let h = room().await;
    let hag66 = coven_pid(&h, HAG66_BARE).await;
    let to = format!("{hag66}#coven@{MIX}");
    h.exchange1(
        &format!("<message type='chat' id='f1' from='{ROMEO}' to='{to}'><body>b</body></message>"),
        &message_error(&to, ROMEO, "f1", "auth", "forbidden", Some("you are not a participant of this channel")),
    )
    .await;
    let nobody = format!("aaaaaaaaaa#coven@{MIX}");
    h.exchange1(
        &format!("<message type='chat' id='f2' from='{HECATE}' to='{nobody}'><body>b</body></message>"),
        &message_error(&nobody, HECATE, "f2", "cancel", "item-not-found", Some("no such participant in this channel")),
    )
    .await;
    h.exchange1(
        &format!("<message type='groupchat' id='f3' from='{HECATE}' to='{to}'><body>b</body></message>"),
        &message_error(&to, HECATE, "f3", "modify", "bad-request", Some("private messages must not be of type groupchat")),
    )
    .await;
    let gone = format!("{hag66}#nosuch@{MIX}");
    h.exchange1(&format!("<message type='chat' id='f4' from='{HECATE}' to='{gone}'><body>b</body></message>"), &message_error(&gone, HECATE, "f4", "cancel", "item-not-found", None)).await;
}

// ================================================================ invitations

fn invite_msg(from: &str, id: &str, to: &str, reason: &str) -> String {
    format!("<message id='{id}' from='{from}' to='{ROOM}'><x xmlns='{MUC_USER}'><invite to='{to}'><reason>{reason}</reason></invite></x></message>")
}

/// The invitation as the invitee gets it from the room.
fn invitation(to: &str, id: &str, inviter: &str, reason: &str) -> String {
    let inviter_bare = inviter.split('/').next().unwrap();
    let to_bare = to.split('/').next().unwrap();
    format!(
        "<message id='{id}' from='{ROOM}' to='{to}'>
           <body>{inviter} invited you to the room {ROOM} ({reason})</body>
           <x xmlns='{MUC_USER}'><invite from='{inviter}'><reason>{reason}</reason></invite></x>
           <x xmlns='jabber:x:conference' jid='{ROOM}'>{reason}</x>
           <invitation xmlns='{MIX_NS}'><inviter>{inviter_bare}</inviter><invitee>{to_bare}</invitee><channel>{COVEN}</channel><token>{{*token}}</token></invitation>
         </message>"
    )
}

/// XEP-0045 §7.8.2 Examples 56-57, plus the XEP-0249 element and body text
/// Prosody adds, and the MIX invitation for the same channel.
#[tokio::test]
async fn mediated_invitation() {
    let h = room().await;
    h.exchange1(&invite_msg(HAG01, "i1", ROMEO_BARE, "Hey Hecate, this is the place for all good witches!"), &invitation(ROMEO_BARE, "i1", HAG01, "Hey Hecate, this is the place for all good witches!"))
        .await;
    // A MIX participant may invite through the MUC view too.
    h.exchange1(&invite_msg(HECATE, "i2", ROMEO, "come"), &invitation(ROMEO, "i2", HECATE, "come")).await;
}

/// With `allow_invites` off only owners and admins invite (`forbidden`); in
/// a members-only room an invitation makes the invitee a member; someone
/// outside the room may not invite; a malformed invitee is `jid-malformed`.
#[tokio::test]
async fn invitation_rights() {
    let h = room().await;
    configure(&h, |c| {
        c.allow_invites = false;
        c.members_only = true;
    })
    .await;
    h.exchange1(&invite_msg(HAG01, "r1", ROMEO_BARE, "x"), &message_error(ROOM, HAG01, "r1", "auth", "forbidden", Some("only owners and admins may invite to this room"))).await;
    assert_eq!(h.store.get_affiliation("coven", ROMEO_BARE).await.unwrap(), None);
    h.exchange1(&invite_msg(HAG66, "r2", ROMEO_BARE, "x"), &invitation(ROMEO_BARE, "r2", HAG66, "x")).await;
    assert_eq!(h.store.get_affiliation("coven", ROMEO_BARE).await.unwrap().as_deref(), Some("member"));
    h.exchange1(
        &invite_msg("crone1@shakespeare.example/desktop", "r3", ROMEO_BARE, "x"),
        &message_error(ROOM, "crone1@shakespeare.example/desktop", "r3", "cancel", "not-acceptable", Some("You are not currently connected to this chat")),
    )
    .await;
    h.exchange1(
        &format!("<message id='r4' from='{HAG66}' to='{ROOM}'><x xmlns='{MUC_USER}'><invite to='@@'/></x></message>"),
        &message_error(ROOM, HAG66, "r4", "modify", "jid-malformed", Some("'@@' is not a JID")),
    )
    .await;
    h.exchange1(
        &format!("<message id='r5' from='{HAG66}' to='{ROOM}'><x xmlns='{MUC_USER}'><item/></x></message>"),
        &message_error(ROOM, HAG66, "r5", "modify", "bad-request", Some("expected &lt;invite/&gt; or &lt;decline/&gt;")),
    )
    .await;
}

/// XEP-0045 §7.8.2 Examples 59-60: a decline goes to the inviter from the
/// room; to an in-room JID it reaches that occupant's sessions.
#[tokio::test]
async fn declining_an_invitation() {
    let h = room().await;
    // Nobody invited romeo yet: nothing to decline, nothing relayed.
    h.exchange1(
        &format!("<message id='d0' from='{ROMEO}' to='{ROOM}'><x xmlns='{MUC_USER}'><decline to='{HAG01}'><reason>spam</reason></decline></x></message>"),
        &format!("<message type='error' id='d0' from='{ROOM}' to='{ROMEO}'><error type='cancel' by='{ROOM}'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>{{*}}</text></error></message>"),
    )
    .await;
    let out = h.send(&format!("<message id='i0' from='{HAG01}' to='{ROOM}'><x xmlns='{MUC_USER}'><invite to='{ROMEO_BARE}'/></x></message>")).await;
    assert_eq!(out.len(), 1);
    h.exchange1(
        &format!("<message id='d1' from='{ROMEO}' to='{ROOM}'><x xmlns='{MUC_USER}'><decline to='{HAG01}'><reason>Sorry, I'm too busy right now.</reason></decline></x></message>"),
        &format!(
            "<message id='d1' from='{ROOM}' to='{HAG01}'>
               <body>{ROMEO} declined your invite to the room {ROOM} (Sorry, I'm too busy right now.)</body>
               <x xmlns='{MUC_USER}'><decline from='{ROMEO}'><reason>Sorry, I'm too busy right now.</reason></decline></x>
             </message>"
        ),
    )
    .await;
    h.exchange1(
        &format!("<message id='d2' from='{ROMEO}' to='{ROOM}'><x xmlns='{MUC_USER}'><decline to='{ROOM}/firstwitch'/></x></message>"),
        &format!("<message id='d2' from='{ROOM}' to='{HAG01}'><body>{ROMEO} declined your invite to the room {ROOM}</body><x xmlns='{MUC_USER}'><decline from='{ROMEO}'><reason/></decline></x></message>"),
    )
    .await;
}

/// XEP-0369 seed "Inviting another User": the invitation request, and a
/// join with the invitation into a members-only channel, which makes the
/// invitee a member; a forged token is refused.
#[tokio::test]
async fn mix_invitation_request_and_join() {
    let h = room().await;
    configure(&h, |c| c.members_only = true).await;
    let caps = h
        .exchange1(
            &format!("<iq type='get' id='iv1' from='{HECATE}' to='{COVEN}'><invite xmlns='{MIX_NS}'><invitee>{ROMEO_BARE}</invitee></invite></iq>"),
            &format!(
                "<iq type='result' id='iv1' from='{COVEN}' to='{HECATE}'><invite xmlns='{MIX_NS}'><invitation><inviter>{HECATE_BARE}</inviter><invitee>{ROMEO_BARE}</invitee><channel>{COVEN}</channel><token>{{*token}}</token></invitation></invite></iq>"
            ),
        )
        .await;
    let token = caps.named("token").to_string();
    let join = |id: &str, token: &str| {
        format!(
            "<iq type='set' id='{id}' from='{ROMEO_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/>
               <invitation><inviter>{HECATE_BARE}</inviter><invitee>{ROMEO_BARE}</invitee><channel>{COVEN}</channel><token>{token}</token></invitation></join></iq>"
        )
    };
    let forged = format!("{}x", token);
    h.exchange1(&join("jv1", &forged), &iq_error(COVEN, ROMEO_BARE, "jv1", "auth", "forbidden", Some("the invitation is not valid"))).await;
    assert_eq!(h.store.get_affiliation("coven", ROMEO_BARE).await.unwrap(), None);
    let out = h.send(&join("jv2", &token)).await;
    assert!(out.iter().any(|e| e.name() == "iq" && e.attr("type") == Some("result")), "join with the invitation failed: {}", canonical(&out[0]));
    assert_eq!(h.store.get_affiliation("coven", ROMEO_BARE).await.unwrap().as_deref(), Some("member"));
    // The invitation is for romeo only.
    h.exchange1(
        &format!(
            "<iq type='set' id='jv3' from='crone1@shakespeare.example' to='{COVEN}'><join xmlns='{MIX_NS}'>
               <invitation><inviter>{HECATE_BARE}</inviter><invitee>{ROMEO_BARE}</invitee><channel>{COVEN}</channel><token>{token}</token></invitation></join></iq>"
        ),
        &iq_error(COVEN, "crone1@shakespeare.example", "jv3", "auth", "forbidden", Some("the invitation is not valid")),
    )
    .await;
    // Without allow_invites, a participant gets no invitation.
    configure(&h, |c| c.allow_invites = false).await;
    h.exchange1(
        &format!("<iq type='get' id='iv2' from='{HECATE}' to='{COVEN}'><invite xmlns='{MIX_NS}'><invitee>{ROMEO_BARE}</invitee></invite></iq>"),
        &iq_error(COVEN, HECATE, "iv2", "auth", "forbidden", Some("only owners and admins may invite to this room")),
    )
    .await;
}

/// An invitation stops working when its inviter may no longer invite
/// (invitations switched off for participants; the inviter gone) and when
/// the invitee is banned.
#[tokio::test]
async fn invitations_stop_working() {
    let h = room().await;
    let ask = |id: &str, invitee: &str| format!("<iq type='get' id='{id}' from='{HECATE}' to='{COVEN}'><invite xmlns='{MIX_NS}'><invitee>{invitee}</invitee></invite></iq>");
    let token_of = |out: &[Element]| {
        out[0].get_child("invite", MIX_NS).and_then(|i| i.get_child("invitation", MIX_NS)).and_then(|i| i.get_child("token", MIX_NS)).map(|t| t.text()).expect("a token")
    };
    let join = |id: &str, joiner: &str, token: &str| {
        format!(
            "<iq type='set' id='{id}' from='{joiner}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/>
               <invitation><inviter>{HECATE_BARE}</inviter><invitee>{joiner}</invitee><channel>{COVEN}</channel><token>{token}</token></invitation></join></iq>"
        )
    };
    let for_romeo = token_of(&h.send(&ask("i1", ROMEO_BARE)).await);
    let for_crone = token_of(&h.send(&ask("i2", "crone1@shakespeare.example")).await);
    let for_witch = token_of(&h.send(&ask("i3", "witch@shakespeare.example")).await);
    configure(&h, |c| c.members_only = true).await;
    // Invitations switched off for participants: hecate's invitations stop working.
    configure(&h, |c| c.allow_invites = false).await;
    h.exchange1(&join("j1", ROMEO_BARE, &for_romeo), &iq_error(COVEN, ROMEO_BARE, "j1", "auth", "forbidden", Some("the inviter may no longer invite to this channel"))).await;
    configure(&h, |c| c.allow_invites = true).await;
    // The invitee banned.
    let out = h
        .send(&format!("<iq type='set' id='b' from='{HAG66}' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast' jid='crone1@shakespeare.example'/></query></iq>"))
        .await;
    assert_eq!(out[0].attr("type"), Some("result"));
    let out = h.send(&join("j2", "crone1@shakespeare.example", &for_crone)).await;
    assert_eq!(out[0].attr("type"), Some("error"));
    assert_eq!(h.store.get_affiliation("coven", "crone1@shakespeare.example").await.unwrap().as_deref(), Some("outcast"));
    // The inviter left.
    let out = h.send(&format!("<iq type='set' id='l' from='{HECATE_BARE}' to='{COVEN}'><leave xmlns='{MIX_NS}'/></iq>")).await;
    assert!(out.iter().any(|e| e.attr("type") == Some("result")));
    h.exchange1(
        &join("j3", "witch@shakespeare.example", &for_witch),
        &iq_error(COVEN, "witch@shakespeare.example", "j3", "auth", "forbidden", Some("the inviter may no longer invite to this channel")),
    )
    .await;
    // Nobody was made a member by a dead invitation.
    assert_eq!(h.store.get_affiliation("coven", "witch@shakespeare.example").await.unwrap(), None);
}

// ================================================================ voice requests

fn voice_request(from: &str, id: &str) -> String {
    format!(
        "<message id='{id}' from='{from}' to='{ROOM}'>
           <x xmlns='jabber:x:data' type='submit'>
             <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>
             <field var='muc#role' type='list-single' label='Requested role'><value>participant</value></field>
           </x>
         </message>"
    )
}

/// In an unmoderated room everyone has voice: a request changes nothing and
/// is not answered (as Prosody). A request from outside the room is
/// `not-acceptable`.
#[tokio::test]
async fn voice_request_in_an_unmoderated_room() {
    let h = room().await;
    h.exchange(&voice_request(HAG01, "vr1"), &[]).await;
    h.exchange1(&voice_request(ROMEO, "vr2"), &message_error(ROOM, ROMEO, "vr2", "cancel", "not-acceptable", Some("You are not currently connected to this chat"))).await;
}

/// XEP-0045 §7.13 / §8.6: in a moderated room a visitor's request goes to
/// every moderator session as the approval form; a participant's (who has
/// voice) changes nothing.
#[tokio::test]
async fn voice_request_in_a_moderated_room() {
    let h = room().await;
    configure(&h, |c| c.moderated = true).await;
    // Someone with voice (given here: users without affiliation are visitors
    // by default in a moderated room): nothing.
    let svc = with_role(&h, HAG01_BARE, "participant").await;
    assert_stanzas(&send_to(&svc, &voice_request(HAG01, "vm1")).await, &[]);
    let svc = with_role(&h, HAG01_BARE, "visitor").await;
    let out = send_to(&svc, &voice_request(HAG01, "vm2")).await;
    assert_stanzas(
        &out,
        &[&format!(
            "<message id='vm2' from='{ROOM}' to='{HAG66}'>
               <x xmlns='jabber:x:data' type='form'>
                 <title>Voice request</title>
                 <instructions>{{*}}</instructions>
                 <field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/muc#request</value></field>
                 <field var='muc#role' type='list-single' label='Requested role'><value>participant</value></field>
                 <field var='muc#jid' type='jid-single' label='User ID'><value>{HAG01}</value></field>
                 <field var='muc#roomnick' label='Room Nickname'><value>firstwitch</value></field>
                 <field var='muc#request_allow' type='boolean' label='Grant voice to this person?'><value>false</value></field>
               </x>
             </message>"
        )],
    );
}
