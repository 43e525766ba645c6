//! Golden transcripts for administration (XEP-0045 §8-9 muc#admin, and
//! MIX-ADMIN's banned and allowed nodes, XEP-0369): the same affiliations
//! seen and changed from both views, XEP-0045's privilege rules, and the
//! effects in both views (re-announced presence, 301 / 307 / 321, MIX
//! participants node retractions, refused joins).
//!
//! coven is created by hag66 (owner). In the MUC view hag66 is `thirdwitch`,
//! hag01 `secondwitch`, romeo `romeo`. Fan-out order is not part of the
//! protocol, so the stanzas an event produces are matched in any order.

mod common;

use common::*;
use xmpp_parsers::minidom::Element;

const MIX_NS: &str = "urn:xmpp:mix:core:1";
const ADMIN: &str = "http://jabber.org/protocol/muc#admin";
const USER: &str = "http://jabber.org/protocol/muc#user";
const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
const PUBSUB_EVENT: &str = "http://jabber.org/protocol/pubsub#event";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const PARTICIPANTS: &str = "urn:xmpp:mix:nodes:participants";
const MESSAGES: &str = "urn:xmpp:mix:nodes:messages";
const BANNED: &str = "urn:xmpp:mix:nodes:banned";
const ALLOWED: &str = "urn:xmpp:mix:nodes:allowed";

fn room() -> String {
    format!("coven@{MUC}")
}
fn mix_coven() -> String {
    format!("coven@{MIX}")
}

// ================================================================ helpers

fn iq_error(from: &str, to: &str, id: &str, type_: &str, condition: &str) -> String {
    format!("<iq type='error' id='{id}' from='{from}' to='{to}'><error type='{type_}' by='{from}'><{condition} xmlns='{STANZAS}'/><text xmlns='{STANZAS}' xml:lang='en'>{{*}}</text></error></iq>")
}

fn iq_result(from: &str, to: &str, id: &str, payload: &str) -> String {
    format!("<iq type='result' id='{id}' from='{from}' to='{to}'>{payload}</iq>")
}

/// A muc#admin set to coven.
fn admin_set(from: &str, id: &str, items: &str) -> String {
    format!("<iq type='set' id='{id}' from='{from}' to='{}'><query xmlns='{ADMIN}'>{items}</query></iq>", room())
}

fn admin_get(from: &str, id: &str, item: &str) -> String {
    format!("<iq type='get' id='{id}' from='{from}' to='{}'><query xmlns='{ADMIN}'>{item}</query></iq>", room())
}

fn enter_presence(from: &str, nick: &str) -> String {
    format!("<presence from='{from}' to='{}/{nick}'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>", room())
}

/// Enters the room (setup step); asserts that the entrant got its own presence.
async fn enter(h: &Harness, from: &str, nick: &str) {
    let out = h.send(&enter_presence(from, nick)).await;
    assert!(
        out.iter().any(|e| e.name() == "presence" && e.attr("to") == Some(from) && e.attr("type").is_none() && e.attr("from") == Some(&format!("{}/{nick}", room()))),
        "{from} did not enter as {nick}: {}",
        out.iter().map(canonical).collect::<String>()
    );
}

/// A presence from `room/nick` to `to` with one muc#user item (xmpp-parsers
/// always writes the priority).
fn occupant_presence(to: &str, nick: &str, unavailable: bool, item: &str, codes: &[u16]) -> String {
    let type_ = if unavailable { " type='unavailable'" } else { "" };
    let codes: String = codes.iter().map(|c| format!("<status code='{c}'/>")).collect();
    format!(
        "<presence{type_} from='{}/{nick}' to='{to}'><priority>0</priority><x xmlns='{USER}'>{item}{codes}</x><occupant-id xmlns='urn:xmpp:occupant-id:0' id='{{*}}'/></presence>",
        room()
    )
}

async fn create(h: &Harness) -> Vec<Element> {
    h.send(&format!("<iq type='set' id='c0' from='{HAG66}' to='{MIX}'><create xmlns='{MIX_NS}' channel='coven'/></iq>")).await
}

/// coven with hag66 (owner, `thirdwitch`), hag01 (`secondwitch`) and romeo in the MUC view.
async fn room_of_three() -> Harness {
    let h = Harness::new().await;
    create(&h).await;
    enter(&h, HAG66, "thirdwitch").await;
    enter(&h, HAG01, "secondwitch").await;
    enter(&h, ROMEO, "romeo").await;
    h
}

/// A MIX join of `from` subscribed to messages and participants, with a nick.
async fn mix_join(h: &Harness, from: &str, nick: &str) -> (String, Vec<Element>) {
    let out = h
        .send(&format!(
            "<iq type='set' id='j1' from='{from}' to='{}'><join xmlns='{MIX_NS}'><subscribe node='{MESSAGES}'/><subscribe node='{PARTICIPANTS}'/><nick>{nick}</nick></join></iq>",
            mix_coven()
        ))
        .await;
    let result = out.iter().find(|e| e.name() == "iq").expect("join answered");
    let pid = result.get_child("join", MIX_NS).and_then(|j| j.attr("id")).unwrap_or_else(|| panic!("join failed: {}", canonical(result))).to_string();
    (pid, out)
}

/// The PubSub retraction of participant `pid`, sent to `to`.
fn retract_event(to: &str, pid: &str) -> String {
    format!(
        "<message type='headline' id='{{*}}' from='{}' to='{to}'><event xmlns='{PUBSUB_EVENT}'><items node='{PARTICIPANTS}'><retract id='{pid}#{}'/></items></event></message>",
        mix_coven(),
        mix_coven()
    )
}

/// Matches `actual` against `expected` in any order.
fn assert_unordered(actual: &[Element], expected: &[String]) {
    let listing = || actual.iter().map(canonical).collect::<String>();
    assert_eq!(actual.len(), expected.len(), "expected {} stanzas, got:\n{}", expected.len(), listing());
    let mut used = vec![false; actual.len()];
    for e in expected {
        match (0..actual.len()).find(|&i| !used[i] && matches_xml(&actual[i], e)) {
            Some(i) => used[i] = true,
            None => panic!("no stanza matches\n{}\nactual:\n{}", canonical(&element(e)), listing()),
        }
    }
}

// ================================================================ bans

/// XEP-0045 §9.1: an owner bans a user with a reason. The banned session
/// gets 301 with 110, actor and reason; every other occupant gets 301; the
/// user cannot come back in either view, and the ban list shows it.
#[tokio::test]
async fn owner_bans_an_occupant() {
    let h = room_of_three().await;
    let item = |jid: &str| format!("<item affiliation='outcast' role='none' jid='{jid}'><actor nick='thirdwitch'/><reason>Treason</reason></item>");
    let out = h.send(&admin_set(HAG66, "ban1", &format!("<item affiliation='outcast' jid='{HAG01_BARE}'><reason>Treason</reason></item>"))).await;
    assert_xml(&out[0], &iq_result(&room(), HAG66, "ban1", ""));
    assert_unordered(
        &out[1..],
        &[
            occupant_presence(HAG01, "secondwitch", true, &item(HAG01), &[301, 110]),
            occupant_presence(HAG66, "secondwitch", true, &item(HAG01), &[301]),
            occupant_presence(ROMEO, "secondwitch", true, &item(HAG01), &[301]),
        ],
    );
    // Banned: entering is forbidden, and so is a MIX join.
    let out = h.send(&enter_presence(HAG01, "secondwitch")).await;
    assert_eq!(out.len(), 1);
    assert!(out[0].attr("type") == Some("error") && out[0].get_child("error", "jabber:component:accept").and_then(|e| e.get_child("forbidden", STANZAS)).is_some(), "{}", canonical(&out[0]));
    let out = h.send(&format!("<iq type='set' id='j2' from='{HAG01_BARE}' to='{}'><join xmlns='{MIX_NS}'><nick>x</nick></join></iq>", mix_coven())).await;
    assert_xml(&out[0], &iq_error(&mix_coven(), HAG01_BARE, "j2", "auth", "forbidden"));
    // The ban list (muc#admin) and the banned node (MIX) show it.
    h.exchange1(
        &admin_get(HAG66, "l1", "<item affiliation='outcast'/>"),
        &iq_result(&room(), HAG66, "l1", &format!("<query xmlns='{ADMIN}'><item affiliation='outcast' jid='{HAG01_BARE}'/></query>")),
    )
    .await;
    h.exchange1(
        &format!("<iq type='get' id='n1' from='{HAG66}' to='{}'><pubsub xmlns='{PUBSUB}'><items node='{BANNED}'/></pubsub></iq>", mix_coven()),
        &iq_result(&mix_coven(), HAG66, "n1", &format!("<pubsub xmlns='{PUBSUB}'><items node='{BANNED}'><item id='{HAG01_BARE}'/></items></pubsub>")),
    )
    .await;
}

/// A ban by an owner who is not in the room (no nick to name it by), in a
/// semi-anonymous room: the actor's JID would tell every occupant who
/// banned; only those who may see real JIDs (moderators) get it.
#[tokio::test]
async fn ban_by_an_actor_outside_a_semi_anonymous_room() {
    let h = Harness::new().await;
    create(&h).await;
    enter(&h, HAG01, "secondwitch").await;
    enter(&h, ROMEO, "romeo").await;
    let mut row = h.store.get_channel("coven").await.unwrap().unwrap();
    row.jid_visibility = mixmuc::store::JidVisibility::Hidden;
    h.store.update_config(&row).await.unwrap();
    h.service.channels.invalidate("coven").await;
    h.send(&admin_set(HAG66, "a1", &format!("<item affiliation='admin' jid='{HAG01_BARE}'/>"))).await;
    let out = h.send(&admin_set(HAG66, "b1", &format!("<item affiliation='outcast' jid='{ROMEO_BARE}'/>"))).await;
    assert_xml(&out[0], &iq_result(&room(), HAG66, "b1", ""));
    assert_unordered(
        &out[1..],
        &[
            occupant_presence(ROMEO, "romeo", true, &format!("<item affiliation='outcast' role='none' jid='{ROMEO}'/>"), &[301, 110]),
            occupant_presence(HAG01, "romeo", true, &format!("<item affiliation='outcast' role='none' jid='{ROMEO}'><actor jid='{HAG66_BARE}'/></item>"), &[301]),
        ],
    );
}

/// A ban of a whole domain removes that server's users and refuses them.
#[tokio::test]
async fn domain_ban_removes_that_servers_users() {
    let h = room_of_three().await;
    let out = h.send(&admin_set(HAG66, "ban2", "<item affiliation='outcast' jid='montague.example'/>")).await;
    assert_xml(&out[0], &iq_result(&room(), HAG66, "ban2", ""));
    assert_eq!(out.len(), 4, "301 to romeo and to the two others: {}", out.iter().map(canonical).collect::<String>());
    assert!(out[1..].iter().all(|p| p.attr("from") == Some(&format!("{}/romeo", room())) && p.attr("type") == Some("unavailable")));
    let out = h.send(&enter_presence("juliet@montague.example/balcony", "juliet")).await;
    assert_eq!(out[0].attr("type"), Some("error"));
}

/// XEP-0045 §9.1: an admin may not ban an owner (not-allowed); a member may
/// not ban anyone (forbidden); nobody may ban themself (conflict).
#[tokio::test]
async fn ban_privileges() {
    let h = room_of_three().await;
    let out = h.send(&admin_set(HAG66, "a1", &format!("<item affiliation='admin' jid='{HAG01_BARE}'/>"))).await;
    assert_xml(&out[0], &iq_result(&room(), HAG66, "a1", ""));
    // hag01 is now an admin: may not ban the owner.
    let out = h.send(&admin_set(HAG01, "b1", &format!("<item affiliation='outcast' jid='{HAG66_BARE}'/>"))).await;
    assert_xml(&out[0], &iq_error(&room(), HAG01, "b1", "cancel", "not-allowed"));
    // romeo has no affiliation: forbidden.
    let out = h.send(&admin_set(ROMEO, "b2", &format!("<item affiliation='outcast' jid='{HAG01_BARE}'/>"))).await;
    assert_xml(&out[0], &iq_error(&room(), ROMEO, "b2", "auth", "forbidden"));
    // Banning oneself: conflict.
    let out = h.send(&admin_set(HAG01, "b3", &format!("<item affiliation='outcast' jid='{HAG01_BARE}'/>"))).await;
    assert_xml(&out[0], &iq_error(&room(), HAG01, "b3", "cancel", "conflict"));
    // An admin may not make admins or owners.
    let out = h.send(&admin_set(HAG01, "b4", &format!("<item affiliation='admin' jid='{ROMEO_BARE}'/>"))).await;
    assert_xml(&out[0], &iq_error(&room(), HAG01, "b4", "cancel", "not-allowed"));
    // ... but may ban romeo.
    let out = h.send(&admin_set(HAG01, "b5", &format!("<item affiliation='outcast' jid='{ROMEO_BARE}'/>"))).await;
    assert_xml(&out[0], &iq_result(&room(), HAG01, "b5", ""));
}

// ================================================================ affiliations

/// Granting membership re-announces the occupant with its new affiliation
/// to everyone (110 to itself); the member list shows it with its nick.
#[tokio::test]
async fn grant_membership_is_announced() {
    let h = room_of_three().await;
    let item = format!("<item affiliation='member' role='participant' jid='{ROMEO}'><actor nick='thirdwitch'/></item>");
    let out = h.send(&admin_set(HAG66, "m1", &format!("<item affiliation='member' jid='{ROMEO_BARE}'/>"))).await;
    assert_xml(&out[0], &iq_result(&room(), HAG66, "m1", ""));
    assert_unordered(
        &out[1..],
        &[occupant_presence(ROMEO, "romeo", false, &item, &[110]), occupant_presence(HAG66, "romeo", false, &item, &[]), occupant_presence(HAG01, "romeo", false, &item, &[])],
    );
    h.exchange1(
        &admin_get(HAG66, "l2", "<item affiliation='member'/>"),
        &iq_result(&room(), HAG66, "l2", &format!("<query xmlns='{ADMIN}'><item affiliation='member' jid='{ROMEO_BARE}' nick='romeo'/></query>")),
    )
    .await;
    // MIX view: the allowed node lists members.
    h.exchange1(
        &format!("<iq type='get' id='n2' from='{HAG66}' to='{}'><pubsub xmlns='{PUBSUB}'><items node='{ALLOWED}'/></pubsub></iq>", mix_coven()),
        &iq_result(&mix_coven(), HAG66, "n2", &format!("<pubsub xmlns='{PUBSUB}'><items node='{ALLOWED}'><item id='{ROMEO_BARE}'/></items></pubsub>")),
    )
    .await;
    // Lists: admins and owners only; nobody sees a list above their own affiliation.
    let out = h.send(&admin_get(ROMEO, "l3", "<item affiliation='member'/>")).await;
    assert_xml(&out[0], &iq_error(&room(), ROMEO, "l3", "auth", "forbidden"));
}

/// XEP-0045 §10.6: the last owner may not give up ownership (conflict).
/// A request with several items is applied entirely or not at all.
#[tokio::test]
async fn last_owner_and_atomic_requests() {
    let h = room_of_three().await;
    let items = format!("<item affiliation='member' jid='{ROMEO_BARE}'/><item affiliation='none' jid='{HAG66_BARE}'/>");
    let out = h.send(&admin_set(HAG66, "o1", &items)).await;
    assert_xml(&out[0], &iq_error(&room(), HAG66, "o1", "cancel", "conflict"));
    assert_eq!(out.len(), 1);
    // Nothing was applied: romeo is no member.
    h.exchange1(&admin_get(HAG66, "l4", "<item affiliation='member'/>"), &iq_result(&room(), HAG66, "l4", &format!("<query xmlns='{ADMIN}'/>"))).await;
    // With a second owner, the first may step down.
    let items = format!("<item affiliation='owner' jid='{HAG01_BARE}'/><item affiliation='admin' jid='{HAG66_BARE}'/>");
    let out = h.send(&admin_set(HAG66, "o2", &items)).await;
    assert_xml(&out[0], &iq_result(&room(), HAG66, "o2", ""));
    h.exchange1(
        &admin_get(HAG01, "l5", "<item affiliation='owner'/>"),
        &iq_result(&room(), HAG01, "l5", &format!("<query xmlns='{ADMIN}'><item affiliation='owner' jid='{HAG01_BARE}' nick='secondwitch'/></query>")),
    )
    .await;
    // hag66 is an admin now: may not list owners.
    let out = h.send(&admin_get(HAG66, "l6", "<item affiliation='owner'/>")).await;
    assert_xml(&out[0], &iq_error(&room(), HAG66, "l6", "auth", "forbidden"));
}

/// Malformed items: both an affiliation and a role, a full JID, an unknown
/// affiliation: refused, nothing applied.
#[tokio::test]
async fn malformed_items() {
    let h = room_of_three().await;
    let out = h.send(&admin_set(HAG66, "x1", &format!("<item affiliation='member' role='visitor' jid='{ROMEO_BARE}'/>"))).await;
    assert_xml(&out[0], &iq_error(&room(), HAG66, "x1", "modify", "bad-request"));
    let out = h.send(&admin_set(HAG66, "x2", &format!("<item affiliation='member' jid='{ROMEO}'/>"))).await;
    assert_xml(&out[0], &iq_error(&room(), HAG66, "x2", "modify", "jid-malformed"));
    let out = h.send(&admin_set(HAG66, "x3", &format!("<item affiliation='king' jid='{ROMEO_BARE}'/>"))).await;
    assert_xml(&out[0], &iq_error(&room(), HAG66, "x3", "modify", "bad-request"));
    let out = h.send(&admin_set(HAG66, "x4", "")).await;
    assert_xml(&out[0], &iq_error(&room(), HAG66, "x4", "modify", "bad-request"));
}

/// Revoking membership in a members-only room removes the user with 321.
#[tokio::test]
async fn membership_revoked_in_members_only_room() {
    let h = room_of_three().await;
    h.send(&admin_set(HAG66, "m2", &format!("<item affiliation='member' jid='{ROMEO_BARE}'/>"))).await;
    let mut row = h.store.get_channel("coven").await.unwrap().unwrap();
    row.members_only = true;
    h.store.update_config(&row).await.unwrap();
    h.service.channels.invalidate("coven").await;
    let item = format!("<item affiliation='none' role='none' jid='{ROMEO}'><actor nick='thirdwitch'/></item>");
    let out = h.send(&admin_set(HAG66, "m3", &format!("<item affiliation='none' jid='{ROMEO_BARE}'/>"))).await;
    assert_xml(&out[0], &iq_result(&room(), HAG66, "m3", ""));
    assert_unordered(
        &out[1..],
        &[occupant_presence(ROMEO, "romeo", true, &item, &[321, 110]), occupant_presence(HAG66, "romeo", true, &item, &[321]), occupant_presence(HAG01, "romeo", true, &item, &[321])],
    );
}

// ================================================================ roles

/// XEP-0045 §8.2: a moderator kicks an occupant: 307 to everyone; the user
/// may come back. Kicking oneself: conflict; a non-moderator: forbidden.
#[tokio::test]
async fn kick() {
    let h = room_of_three().await;
    let out = h.send(&admin_set(ROMEO, "k0", "<item nick='secondwitch' role='none'/>")).await;
    assert_xml(&out[0], &iq_error(&room(), ROMEO, "k0", "auth", "forbidden"));
    let out = h.send(&admin_set(HAG66, "k1", "<item nick='thirdwitch' role='none'/>")).await;
    assert_xml(&out[0], &iq_error(&room(), HAG66, "k1", "cancel", "conflict"));
    let out = h.send(&admin_set(HAG66, "k2", "<item nick='nobody' role='none'/>")).await;
    assert_xml(&out[0], &iq_error(&room(), HAG66, "k2", "cancel", "item-not-found"));
    let item = format!("<item affiliation='none' role='none' jid='{ROMEO}'><actor nick='thirdwitch'/><reason>Avaunt, you cullion!</reason></item>");
    let out = h.send(&admin_set(HAG66, "k3", "<item nick='romeo' role='none'><reason>Avaunt, you cullion!</reason></item>")).await;
    assert_xml(&out[0], &iq_result(&room(), HAG66, "k3", ""));
    assert_unordered(
        &out[1..],
        &[occupant_presence(ROMEO, "romeo", true, &item, &[307, 110]), occupant_presence(HAG66, "romeo", true, &item, &[307]), occupant_presence(HAG01, "romeo", true, &item, &[307])],
    );
    // Not in the room any more (groupchat refused), but may enter again.
    let out = h.send(&format!("<message type='groupchat' id='g1' from='{ROMEO}' to='{}'><body>hi</body></message>", room())).await;
    assert_eq!(out[0].attr("type"), Some("error"));
    enter(&h, ROMEO, "romeo").await;
}

/// XEP-0045 §8.4-8.5: revoking voice makes a visitor (re-announced); a
/// visitor's groupchat is forbidden; voice given back lets it speak. Admins
/// and owners keep their voice (not-allowed).
#[tokio::test]
async fn voice() {
    let h = room_of_three().await;
    let item = format!("<item affiliation='none' role='visitor' jid='{ROMEO}'><actor nick='thirdwitch'/></item>");
    let out = h.send(&admin_set(HAG66, "v1", "<item nick='romeo' role='visitor'/>")).await;
    assert_xml(&out[0], &iq_result(&room(), HAG66, "v1", ""));
    assert_unordered(
        &out[1..],
        &[occupant_presence(ROMEO, "romeo", false, &item, &[110]), occupant_presence(HAG66, "romeo", false, &item, &[]), occupant_presence(HAG01, "romeo", false, &item, &[])],
    );
    let say = format!("<message type='groupchat' id='g2' from='{ROMEO}' to='{}'><body>hi</body></message>", room());
    h.exchange1(
        &say,
        &format!("<message type='error' id='g2' from='{}' to='{ROMEO}'><error type='auth' by='{}'><forbidden xmlns='{STANZAS}'/><text xmlns='{STANZAS}' xml:lang='en'>{{*}}</text></error></message>", room(), room()),
    )
    .await;
    // The role list shows the visitor.
    h.exchange1(
        &admin_get(HAG66, "r1", "<item role='visitor'/>"),
        &iq_result(&room(), HAG66, "r1", &format!("<query xmlns='{ADMIN}'><item affiliation='none' jid='{ROMEO_BARE}' nick='romeo' role='visitor'/></query>")),
    )
    .await;
    h.send(&admin_set(HAG66, "v2", "<item nick='romeo' role='participant'/>")).await;
    assert_eq!(h.send(&say).await.len(), 3, "the message reaches the three occupants");
    // The owner's voice cannot be revoked.
    h.send(&admin_set(HAG66, "a2", &format!("<item affiliation='admin' jid='{HAG01_BARE}'/>"))).await;
    let out = h.send(&admin_set(HAG01, "v3", "<item nick='thirdwitch' role='visitor'/>")).await;
    assert_xml(&out[0], &iq_error(&room(), HAG01, "v3", "cancel", "not-allowed"));
}

/// Granting moderator status needs an admin or owner; the moderator list
/// shows the owner and the new moderator.
#[tokio::test]
async fn moderator_list() {
    let h = room_of_three().await;
    h.send(&admin_set(HAG66, "v4", "<item nick='secondwitch' role='moderator'/>")).await;
    let out = h.send(&admin_set(HAG01, "v5", "<item nick='romeo' role='moderator'/>")).await;
    assert_xml(&out[0], &iq_error(&room(), HAG01, "v5", "cancel", "not-allowed"));
    h.exchange1(
        &admin_get(HAG01, "r2", "<item role='moderator'/>"),
        &iq_result(
            &room(),
            HAG01,
            "r2",
            &format!(
                "<query xmlns='{ADMIN}'><item affiliation='owner' jid='{HAG66_BARE}' nick='thirdwitch' role='moderator'/><item affiliation='none' jid='{HAG01_BARE}' nick='secondwitch' role='moderator'/></query>"
            ),
        ),
    )
    .await;
    let out = h.send(&admin_get(ROMEO, "r3", "<item role='moderator'/>")).await;
    assert_xml(&out[0], &iq_error(&room(), ROMEO, "r3", "auth", "forbidden"));
}

// ================================================================ MIX view

/// MIX-ADMIN: the owner publishes a JID to the banned node. The MIX
/// participant is removed (retraction to subscribers and to itself), MUC
/// occupants see it leave with 301; retracting the item lifts the ban.
#[tokio::test]
async fn mix_ban_through_the_banned_node() {
    let h = Harness::new().await;
    create(&h).await;
    let (_, _) = mix_join(&h, HAG66_BARE, "thirdwitch").await;
    let (pid01, _) = mix_join(&h, HAG01_BARE, "secondwitch").await;
    enter(&h, ROMEO, "romeo").await;
    // Not an admin: forbidden, for reading and for writing.
    let publish = |from: &str, id: &str, jid: &str| format!("<iq type='set' id='{id}' from='{from}' to='{}'><pubsub xmlns='{PUBSUB}'><publish node='{BANNED}'><item id='{jid}'/></publish></pubsub></iq>", mix_coven());
    let out = h.send(&publish(ROMEO, "p0", HAG01_BARE)).await;
    assert_xml(&out[0], &iq_error(&mix_coven(), ROMEO, "p0", "auth", "forbidden"));
    let out = h.send(&format!("<iq type='get' id='p1' from='{HAG01}' to='{}'><pubsub xmlns='{PUBSUB}'><items node='{BANNED}'/></pubsub></iq>", mix_coven())).await;
    assert_xml(&out[0], &iq_error(&mix_coven(), HAG01, "p1", "auth", "forbidden"));
    let item = format!("<item affiliation='outcast' role='none' jid='{HAG01_BARE}'><actor nick='thirdwitch'/></item>");
    let out = h.send(&publish(HAG66, "p2", HAG01_BARE)).await;
    assert_xml(&out[0], &iq_result(&mix_coven(), HAG66, "p2", &format!("<pubsub xmlns='{PUBSUB}'><publish node='{BANNED}'><item id='{HAG01_BARE}'/></publish></pubsub>")));
    assert_unordered(&out[1..], &[retract_event(HAG66_BARE, &pid01), retract_event(HAG01_BARE, &pid01), occupant_presence(ROMEO, "secondwitch", true, &item, &[301])]);
    // The MUC outcast list shows the MIX ban; the banned user may not join.
    h.exchange1(
        &admin_get(HAG66, "l7", "<item affiliation='outcast'/>"),
        &iq_result(&room(), HAG66, "l7", &format!("<query xmlns='{ADMIN}'><item affiliation='outcast' jid='{HAG01_BARE}'/></query>")),
    )
    .await;
    let out = h.send(&format!("<iq type='set' id='j3' from='{HAG01_BARE}' to='{}'><join xmlns='{MIX_NS}'/></iq>", mix_coven())).await;
    assert_xml(&out[0], &iq_error(&mix_coven(), HAG01_BARE, "j3", "auth", "forbidden"));
    // Retract: the ban is lifted; retracting it again: item-not-found.
    let retract = |id: &str| format!("<iq type='set' id='{id}' from='{HAG66}' to='{}'><pubsub xmlns='{PUBSUB}'><retract node='{BANNED}'><item id='{HAG01_BARE}'/></retract></pubsub></iq>", mix_coven());
    h.exchange1(&retract("p3"), &iq_result(&mix_coven(), HAG66, "p3", "")).await;
    let out = h.send(&retract("p4")).await;
    assert_xml(&out[0], &iq_error(&mix_coven(), HAG66, "p4", "cancel", "item-not-found"));
    mix_join(&h, HAG01_BARE, "secondwitch").await;
}

/// A MUC ban of a MIX participant removes it from the MIX view too.
#[tokio::test]
async fn muc_ban_of_a_mix_participant() {
    let h = Harness::new().await;
    create(&h).await;
    enter(&h, HAG66, "thirdwitch").await;
    let (pid01, _) = mix_join(&h, HAG01_BARE, "secondwitch").await;
    let (_, _) = mix_join(&h, ROMEO_BARE, "romeo").await;
    let item = format!("<item affiliation='outcast' role='none' jid='{HAG01_BARE}'><actor nick='thirdwitch'/></item>");
    let out = h.send(&admin_set(HAG66, "b6", &format!("<item affiliation='outcast' jid='{HAG01_BARE}'/>"))).await;
    assert_xml(&out[0], &iq_result(&room(), HAG66, "b6", ""));
    assert_unordered(&out[1..], &[retract_event(ROMEO_BARE, &pid01), retract_event(HAG01_BARE, &pid01), occupant_presence(HAG66, "secondwitch", true, &item, &[301])]);
    // Kicking a MIX participant from the MUC view removes it like a leave.
    let out = h.send(&admin_set(HAG66, "k4", "<item nick='romeo' role='none'/>")).await;
    assert_xml(&out[0], &iq_result(&room(), HAG66, "k4", ""));
    assert_eq!(out.iter().filter(|e| e.name() == "message").count(), 1, "the kicked MIX user is told: {}", out.iter().map(canonical).collect::<String>());
    let out = h.send(&format!("<message type='groupchat' id='g3' from='{ROMEO_BARE}' to='{}'><body>hi</body></message>", mix_coven())).await;
    assert_eq!(out[0].attr("type"), Some("error"));
}

/// PubSub writes to other nodes: feature-not-implemented; unknown node: item-not-found.
#[tokio::test]
async fn other_pubsub_writes() {
    let h = Harness::new().await;
    create(&h).await;
    let out = h.send(&format!("<iq type='set' id='p5' from='{HAG66}' to='{}'><pubsub xmlns='{PUBSUB}'><publish node='{PARTICIPANTS}'><item id='x'/></publish></pubsub></iq>", mix_coven())).await;
    assert_xml(&out[0], &iq_error(&mix_coven(), HAG66, "p5", "cancel", "feature-not-implemented"));
    let out = h.send(&format!("<iq type='set' id='p6' from='{HAG66}' to='{}'><pubsub xmlns='{PUBSUB}'><subscribe node='{BANNED}' jid='{HAG66_BARE}'/></pubsub></iq>", mix_coven())).await;
    assert_xml(&out[0], &iq_error(&mix_coven(), HAG66, "p6", "cancel", "feature-not-implemented"));
    let out = h.send(&format!("<iq type='set' id='p7' from='{HAG66}' to='{}'><pubsub xmlns='{PUBSUB}'><publish node='urn:example:none'><item id='x'/></publish></pubsub></iq>", mix_coven())).await;
    assert_xml(&out[0], &iq_error(&mix_coven(), HAG66, "p7", "cancel", "item-not-found"));
}

/// XEP-0045 §8.6 through the admin rules: in a moderated room romeo (no
/// affiliation) is a visitor; the owner's approval form with
/// `muc#request_allow` gives him voice, announced like a muc#admin change.
#[tokio::test]
async fn voice_approval_form_grants_voice() {
    let h = room_of_three().await;
    let mut row = h.store.get_channel("coven").await.unwrap().unwrap();
    row.moderated = true;
    h.store.update_config(&row).await.unwrap();
    h.service.channels.invalidate("coven").await;
    let say = format!("<message type='groupchat' id='g4' from='{ROMEO}' to='{}'><body>hi</body></message>", room());
    assert_eq!(h.send(&say).await[0].attr("type"), Some("error"), "a visitor by default");
    let approve = |allow: &str| {
        format!(
            "<message id='a1' from='{HAG66}' to='{}'><x xmlns='jabber:x:data' type='submit'>
               <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>
               <field var='muc#role'><value>participant</value></field>
               <field var='muc#jid'><value>{ROMEO}</value></field>
               <field var='muc#roomnick'><value>romeo</value></field>
               <field var='muc#request_allow'><value>{allow}</value></field>
             </x></message>",
            room()
        )
    };
    assert_stanzas(&h.send(&approve("false")).await, &[]);
    let item = format!("<item affiliation='none' role='participant' jid='{ROMEO}'><actor nick='thirdwitch'/></item>");
    let out = h.send(&approve("true")).await;
    assert_unordered(
        &out,
        &[occupant_presence(ROMEO, "romeo", false, &item, &[110]), occupant_presence(HAG66, "romeo", false, &item, &[]), occupant_presence(HAG01, "romeo", false, &item, &[])],
    );
    assert_eq!(h.send(&say).await.len(), 3, "romeo speaks");
}
