//! Golden transcripts for the MIX use cases of a channel (XEP-0369, wire
//! namespace `urn:xmpp:mix:core:1`): joining, nicks, messages, subscription
//! updates, leaving, the channel archive (XEP-0313 with XEP-0059 paging),
//! channel discovery and PubSub reads, and destruction. Each use case is
//! shown with its malformed and its unauthorised request.
//!
//! The JIDs are those of the XEP examples: hag66@shakespeare.example and
//! hecate@shakespeare.example in the channel coven@mix.shakespeare.example.
//! Stanzas are compared exactly (see tests/common); only generated values
//! (participant ids, archive ids, event ids, time stamps) are wildcards, and
//! those are captured and checked where they must agree with each other.

mod common;

use common::*;
use xmpp_parsers::minidom::Element;

const MIX_NS: &str = "urn:xmpp:mix:core:1";
const COVEN: &str = "coven@mix.shakespeare.example";
const HECATE: &str = "hecate@shakespeare.example/UUID-e3r/9264";
const HECATE_BARE: &str = "hecate@shakespeare.example";

const MESSAGES: &str = "urn:xmpp:mix:nodes:messages";
const PARTICIPANTS: &str = "urn:xmpp:mix:nodes:participants";
const INFO: &str = "urn:xmpp:mix:nodes:info";
/// A node this service does not have (MIX-PRESENCE's node exists now: see
/// golden_presence.rs).
const PRESENCE: &str = "urn:example:mix:nodes:unknown";

const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
const PUBSUB_EVENT: &str = "http://jabber.org/protocol/pubsub#event";
const MAM: &str = "urn:xmpp:mam:2";
const RSM: &str = "http://jabber.org/protocol/rsm";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

// ================================================================ helpers

/// `<error/>` payload: the condition and, when `text` is given, a text
/// (`{*}` for any).
fn error_el(by: &str, type_: &str, condition: &str, text: Option<&str>) -> String {
    let text = text.map(|t| format!("<text xmlns='{STANZAS}' xml:lang='en'>{t}</text>")).unwrap_or_default();
    format!("<error type='{type_}' by='{by}'><{condition} xmlns='{STANZAS}'/>{text}</error>")
}

/// An IQ error answering `id`; `from` is the addressed entity.
fn iq_error(from: &str, to: &str, id: &str, type_: &str, condition: &str, text: Option<&str>) -> String {
    format!("<iq type='error' id='{id}' from='{from}' to='{to}'>{}</iq>", error_el(from, type_, condition, text))
}

/// A message error answering message `id`; `from` is the addressed entity.
fn message_error(from: &str, to: &str, id: &str, type_: &str, condition: &str, text: Option<&str>) -> String {
    format!("<message type='error' id='{id}' from='{from}' to='{to}'>{}</message>", error_el(from, type_, condition, text))
}

fn iq_result(from: &str, to: &str, id: &str, payload: &str) -> String {
    format!("<iq type='result' id='{id}' from='{from}' to='{to}'>{payload}</iq>")
}

fn create_iq(from: &str, id: &str, channel: &str) -> String {
    format!("<iq type='set' id='{id}' from='{from}' to='{MIX}'><create xmlns='{MIX_NS}' channel='{channel}'/></iq>")
}

fn destroy_iq(from: &str, id: &str, channel: &str) -> String {
    format!("<iq type='set' id='{id}' from='{from}' to='{MIX}'><destroy xmlns='{MIX_NS}' channel='{channel}'/></iq>")
}

fn subscribes(nodes: &[&str]) -> String {
    nodes.iter().map(|n| format!("<subscribe node='{n}'/>")).collect()
}

fn nick_el(nick: Option<&str>) -> String {
    nick.map(|n| format!("<nick>{n}</nick>")).unwrap_or_default()
}

/// `<join/>` to coven, from `from` (a bare JID as the participant's server
/// sends it, or a full JID).
fn join_iq(from: &str, id: &str, nodes: &[&str], nick: Option<&str>) -> String {
    format!("<iq type='set' id='{id}' from='{from}' to='{COVEN}'><join xmlns='{MIX_NS}'>{}{}</join></iq>", subscribes(nodes), nick_el(nick))
}

/// The join result; `pid` may be a capture (`{*pid}`), `proxy` likewise.
fn join_result(to: &str, id: &str, pid: &str, proxy: &str, nodes: &[&str], nick: Option<&str>) -> String {
    iq_result(COVEN, to, id, &format!("<join xmlns='{MIX_NS}' id='{pid}' jid='{proxy}'>{}{}</join>", subscribes(nodes), nick_el(nick)))
}

fn setnick_iq(from: &str, id: &str, nick: &str) -> String {
    format!("<iq type='set' id='{id}' from='{from}' to='{COVEN}'><setnick xmlns='{MIX_NS}'><nick>{nick}</nick></setnick></iq>")
}

fn leave_iq(from: &str, id: &str) -> String {
    format!("<iq type='set' id='{id}' from='{from}' to='{COVEN}'><leave xmlns='{MIX_NS}'/></iq>")
}

fn update_iq(from: &str, id: &str, sub: &[&str], unsub: &[&str]) -> String {
    let unsub: String = unsub.iter().map(|n| format!("<unsubscribe node='{n}'/>")).collect();
    format!(
        "<iq type='set' id='{id}' from='{from}' to='{COVEN}'><update-subscription xmlns='{MIX_NS}'>{}{unsub}</update-subscription></iq>",
        subscribes(sub)
    )
}

fn update_result(to: &str, id: &str, jid: &str, sub: &[&str], unsub: &[&str]) -> String {
    let unsub: String = unsub.iter().map(|n| format!("<unsubscribe node='{n}'/>")).collect();
    iq_result(COVEN, to, id, &format!("<update-subscription xmlns='{MIX_NS}' jid='{jid}'>{}{unsub}</update-subscription>", subscribes(sub)))
}

fn proxy(pid: &str) -> String {
    format!("{pid}#{COVEN}")
}

/// A `<participant/>` payload: JID (visible channels) and nick when set.
fn participant_payload(jid: &str, nick: Option<&str>) -> String {
    format!("<participant xmlns='{MIX_NS}'><jid>{jid}</jid>{}</participant>", nick_el(nick))
}

/// The PubSub event telling `to` that participant `pid` (real JID `jid`)
/// is in the channel with `nick` (XEP-0369 "Channel Distributes New
/// Participant Information"; the item is named by the proxy JID, as in the
/// seed text).
fn participant_event(to: &str, pid: &str, jid: &str, nick: Option<&str>) -> String {
    format!(
        "<message type='headline' id='{{*}}' from='{COVEN}' to='{to}'>
           <event xmlns='{PUBSUB_EVENT}'>
             <items node='{PARTICIPANTS}'>
               <item id='{}'>{}</item>
             </items>
           </event>
         </message>",
        proxy(pid),
        participant_payload(jid, nick)
    )
}

/// The PubSub retraction of participant `pid`'s item, sent to `to`
/// (XEP-0369 "Participant Node Subscriber is Notified of Participant Removal").
fn retract_event(to: &str, pid: &str) -> String {
    format!(
        "<message type='headline' id='{{*}}' from='{COVEN}' to='{to}'>
           <event xmlns='{PUBSUB_EVENT}'>
             <items node='{PARTICIPANTS}'><retract id='{}'/></items>
           </event>
         </message>",
        proxy(pid)
    )
}

/// A groupchat message to coven from `from`.
fn groupchat(from: &str, id: &str, inner: &str) -> String {
    format!("<message type='groupchat' id='{id}' from='{from}' to='{COVEN}'>{inner}</message>")
}

/// A message as the channel reflects it to `to` (XEP-0369 "Channel Reflects
/// Message to Participants"): from `coven@mix/<pid>`, id = archive id,
/// `<mix/>` after the sender's payloads, then the stanza-id by the channel.
/// `submission` only in the sender's own copy.
fn reflected(to: &str, pid: &str, aid: &str, inner: &str, nick: &str, jid: &str, submission: Option<&str>) -> String {
    let sub = submission.map(|s| format!("<submission-id>{s}</submission-id>")).unwrap_or_default();
    format!(
        "<message type='groupchat' id='{aid}' from='{COVEN}/{pid}' to='{to}'>
           {inner}
           <mix xmlns='{MIX_NS}'><nick>{nick}</nick><jid>{jid}</jid>{sub}</mix>
           <stanza-id xmlns='urn:xmpp:sid:0' by='{COVEN}' id='{aid}'/>
         </message>"
    )
}

/// Matches `actual` against `expected` in any order (fan-out order is not
/// part of the protocol): each expected stanza is paired with the first
/// unused actual stanza it matches. Returns the captures in expected order.
fn assert_unordered(actual: &[Element], expected: &[String]) -> Vec<Captures> {
    let exp: Vec<&str> = expected.iter().map(String::as_str).collect();
    if actual.len() != expected.len() {
        assert_stanzas(actual, &exp); // panics with both lists
    }
    let mut used = vec![false; actual.len()];
    let mut caps = Vec::new();
    for e in &exp {
        match (0..actual.len()).find(|&i| !used[i] && matches_xml(&actual[i], e)) {
            Some(i) => {
                used[i] = true;
                caps.push(assert_xml(&actual[i], e));
            }
            None => {
                // Show the diff against the unused stanza to the same address.
                let to = element(e).attr("to").map(str::to_string);
                let i = (0..actual.len())
                    .find(|&i| !used[i] && actual[i].attr("to").map(str::to_string) == to)
                    .or_else(|| (0..actual.len()).find(|&i| !used[i]))
                    .expect("an unused stanza");
                let mut msg = String::from("no stanza matches; all actual stanzas:\n");
                for a in actual {
                    msg.push_str(&canonical(a));
                }
                eprintln!("{msg}");
                assert_xml(&actual[i], e);
                unreachable!("assert_xml must have failed");
            }
        }
    }
    caps
}

async fn exchange_seq(h: &Harness, input: &str, expected: &[String]) -> Vec<Captures> {
    let exp: Vec<&str> = expected.iter().map(String::as_str).collect();
    h.exchange(input, &exp).await
}

async fn exchange_unordered(h: &Harness, input: &str, expected: &[String]) -> Vec<Captures> {
    let out = h.send(input).await;
    assert_unordered(&out, expected)
}

/// A harness with coven created by hag66 (its owner).
async fn coven() -> Harness {
    coven_with("").await
}

async fn coven_with(toml: &str) -> Harness {
    let h = Harness::with_toml(toml).await;
    h.exchange1(&create_iq(HAG66, "c0", "coven"), &iq_result(MIX, HAG66, "c0", &format!("<create xmlns='{MIX_NS}' channel='coven'/>")))
        .await;
    h
}

/// Joins (setup step): returns the participant id from the join result,
/// whatever else the join sends.
async fn join(h: &Harness, from: &str, nodes: &[&str], nick: Option<&str>) -> String {
    let out = h.send(&join_iq(from, "setup-join", nodes, nick)).await;
    let result = out.iter().find(|e| e.name() == "iq").unwrap_or_else(|| panic!("no IQ answers the join of {from}"));
    assert_eq!(result.attr("type"), Some("result"), "join of {from} failed:\n{}", canonical(result));
    let j = result.get_child("join", MIX_NS).expect("<join/> in the result");
    j.attr("id").expect("participant id").to_string()
}

/// Posts a message (setup step); returns the archive id from the first copy
/// reflected (the sender must be subscribed to messages, or someone must).
async fn post(h: &Harness, from: &str, body: &str) -> String {
    let out = h.send(&groupchat(from, "setup-post", &format!("<body>{body}</body>"))).await;
    let first = out.first().unwrap_or_else(|| panic!("nothing reflected for {body:?}"));
    assert_eq!(first.attr("type"), Some("groupchat"), "post failed:\n{}", canonical(first));
    first.attr("id").expect("archive id").to_string()
}

/// Marks `jid` as banned (affiliation outcast) in coven, straight in the
/// store: MIX-ADMIN banning is not served yet.
async fn ban(h: &Harness, jid: &str) {
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(&h.db_path).connect().await.expect("store file");
    sqlx::query("INSERT INTO affiliations (channel, jid, affiliation) VALUES ('coven', ?, 'outcast')")
        .bind(jid)
        .execute(&mut conn)
        .await
        .expect("ban");
}

/// PubSub items request on a node of coven.
fn items_iq(from: &str, id: &str, node: &str) -> String {
    format!("<iq type='get' id='{id}' from='{from}' to='{COVEN}'><pubsub xmlns='{PUBSUB}'><items node='{node}'/></pubsub></iq>")
}

/// The participants node as `to` reads it: (pid, jid, nick) in join order.
fn participants_result(to: &str, id: &str, items: &[(&str, &str, Option<&str>)]) -> String {
    let items: String =
        items.iter().map(|(pid, jid, nick)| format!("<item id='{}'>{}</item>", proxy(pid), participant_payload(jid, *nick))).collect();
    iq_result(COVEN, to, id, &format!("<pubsub xmlns='{PUBSUB}'><items node='{PARTICIPANTS}'>{items}</items></pubsub>"))
}

// ================================================================ join

/// XEP-0369 "User's Server sends Join request to MIX Channel" and "Channel
/// Processes Join With Some Nodes Not Subscribed To": the join comes from
/// the bare JID; presence (not served) is left out, the other nodes are
/// listed in request order with the nick. The participant id is in `id`, the
/// proxy JID `id#coven@mix…` in `jid`. The new participant, now subscribed
/// to the participants node, is notified of its item, with JID and nick.
#[tokio::test]
async fn join_from_the_participants_server() {
    let h = coven().await;
    let nodes = [MESSAGES, PRESENCE, PARTICIPANTS, INFO];
    let out = h.send(&join_iq(HAG66_BARE, "E6E10350-76CF-40C6-B91B-1EA08C332FC7", &nodes, Some("third witch"))).await;
    let caps = assert_xml(
        &out[0],
        &join_result(
            HAG66_BARE,
            "E6E10350-76CF-40C6-B91B-1EA08C332FC7",
            "{*pid}",
            "{*proxy}",
            &[MESSAGES, PARTICIPANTS, INFO],
            Some("third witch"),
        ),
    );
    let pid = caps.named("pid").to_string();
    assert_eq!(caps.named("proxy"), proxy(&pid));
    assert!(pid.len() >= 6 && !pid.contains(['#', '/', '@']), "participant id {pid:?}");
    h.exchange1(&items_iq(HAG66, "p1", PARTICIPANTS), &participants_result(HAG66, "p1", &[(&pid, HAG66_BARE, Some("third witch"))])).await;
    // One notification of the new item, with the nick the join set.
    assert_stanzas(&out[1..], &[&participant_event(HAG66_BARE, &pid, HAG66_BARE, Some("third witch"))]);
}

/// The subscribed nodes come back in the order they were requested.
#[tokio::test]
async fn join_result_lists_nodes_in_request_order() {
    let h = coven().await;
    let caps = h
        .exchange1(
            &join_iq(HAG66_BARE, "j1", &[INFO, MESSAGES], None),
            &join_result(HAG66_BARE, "j1", "{*pid}", "{*proxy}", &[INFO, MESSAGES], None),
        )
        .await;
    assert_eq!(caps.named("proxy"), proxy(caps.named("pid")));
}

/// A join straight from a client (full JID): the participant is the bare
/// JID, the result goes back to the full JID, no nick is reported when none
/// was given. Subscribers of the participants node (hag66) get the new
/// item with the JID and no nick; hecate, not subscribed, gets nothing.
#[tokio::test]
async fn join_from_a_full_jid_uses_the_bare_jid() {
    let h = coven().await;
    let hag = join(&h, HAG66_BARE, &[MESSAGES, PARTICIPANTS], Some("third witch")).await;
    let out = h.send(&join_iq(HECATE, "j2", &[MESSAGES], None)).await;
    let caps = assert_xml(&out[0], &join_result(HECATE, "j2", "{*pid}", "{*proxy}", &[MESSAGES], None));
    let pid = caps.named("pid").to_string();
    assert_eq!(caps.named("proxy"), proxy(&pid));
    assert_stanzas(&out[1..], &[&participant_event(HAG66_BARE, &pid, HECATE_BARE, None)]);
    h.exchange1(
        &items_iq(HECATE, "p1", PARTICIPANTS),
        &participants_result(HECATE, "p1", &[(&hag, HAG66_BARE, Some("third witch")), (&pid, HECATE_BARE, None)]),
    )
    .await;
    // Another client of hecate's: the same participant.
    h.exchange1(
        &join_iq("hecate@shakespeare.example/other", "j3", &[MESSAGES], None),
        &join_result("hecate@shakespeare.example/other", "j3", &pid, &proxy(&pid), &[MESSAGES], None),
    )
    .await;
}

/// The participants node event reaches every participant subscribed to
/// that node (hag66, hag01), not the one who is not (hecate); it carries
/// the JID and the nick given in the join.
#[tokio::test]
async fn join_is_announced_to_participants_node_subscribers() {
    let h = coven().await;
    join(&h, HAG66_BARE, &[PARTICIPANTS], Some("third witch")).await;
    join(&h, HECATE_BARE, &[MESSAGES], Some("top witch")).await;
    join(&h, HAG01_BARE, &[PARTICIPANTS, MESSAGES], Some("first witch")).await;
    let out = h.send(&join_iq(ROMEO_BARE, "j4", &[PARTICIPANTS], Some("romeo"))).await;
    let pid = assert_xml(&out[0], &join_result(ROMEO_BARE, "j4", "{*pid}", "{*}", &[PARTICIPANTS], Some("romeo"))).named("pid").to_string();
    assert_unordered(
        &out[1..],
        &[
            participant_event(HAG66_BARE, &pid, ROMEO_BARE, Some("romeo")),
            participant_event(HAG01_BARE, &pid, ROMEO_BARE, Some("romeo")),
            participant_event(ROMEO_BARE, &pid, ROMEO_BARE, Some("romeo")),
        ],
    );
}

/// A repeated join keeps the participant id and replaces the
/// subscriptions; it is no new participant, so nobody is notified.
#[tokio::test]
async fn repeated_join_keeps_the_id() {
    let h = coven().await;
    let hag = join(&h, HAG66_BARE, &[MESSAGES, PARTICIPANTS], Some("third witch")).await;
    let hec = join(&h, HECATE_BARE, &[PARTICIPANTS], None).await;
    h.exchange1(
        &join_iq(HECATE, "again", &[INFO, MESSAGES], None),
        &join_result(HECATE, "again", &hec, &proxy(&hec), &[INFO, MESSAGES], None),
    )
    .await;
    // hecate now gets messages and no more participants events.
    exchange_seq(
        &h,
        &setnick_iq(HECATE, "n1", "top witch"),
        &[
            iq_result(COVEN, HECATE, "n1", &format!("<setnick xmlns='{MIX_NS}'><nick>top witch</nick></setnick>")),
            participant_event(HAG66_BARE, &hec, HECATE_BARE, Some("top witch")),
        ],
    )
    .await;
    let caps = exchange_unordered(
        &h,
        &groupchat(HAG66, "m1", "<body>Harpier cries</body>"),
        &[
            reflected(HAG66_BARE, &hag, "{*aid}", "<body>Harpier cries</body>", "third witch", HAG66_BARE, Some("m1")),
            reflected(HECATE_BARE, &hag, "{*aid}", "<body>Harpier cries</body>", "third witch", HAG66_BARE, None),
        ],
    )
    .await;
    assert_eq!(caps[0].named("aid"), caps[1].named("aid"));
    // A repeated join with the same nick changes nothing but the nodes.
    h.exchange1(
        &join_iq(HAG66_BARE, "again2", &[MESSAGES, PARTICIPANTS], Some("third witch")),
        &join_result(HAG66_BARE, "again2", &hag, &proxy(&hag), &[MESSAGES, PARTICIPANTS], Some("third witch")),
    )
    .await;
    // Without a nick: the nick in use is reported (XEP-0369: "The nick used
    // MUST be reported back in the join result").
    h.exchange1(
        &join_iq(HAG66_BARE, "again3", &[MESSAGES, PARTICIPANTS], None),
        &join_result(HAG66_BARE, "again3", &hag, &proxy(&hag), &[MESSAGES, PARTICIPANTS], Some("third witch")),
    )
    .await;
}

/// A repeated join whose nick is refused is refused as a whole (XEP-0369:
/// "Where a nick is specified, the join will only complete if the nick is
/// accepted"): the participant keeps its subscriptions and its nick.
#[tokio::test]
async fn repeated_join_with_conflicting_nick_changes_nothing() {
    let h = coven().await;
    join(&h, HAG66_BARE, &[PARTICIPANTS], Some("third witch")).await;
    let hec = join(&h, HECATE_BARE, &[PARTICIPANTS], Some("top witch")).await;
    h.exchange1(
        &join_iq(HECATE_BARE, "j", &[MESSAGES], Some("Third Witch")),
        &iq_error(COVEN, HECATE_BARE, "j", "cancel", "conflict", Some("{*}")),
    )
    .await;
    let row = h.store.get_participant("coven", HECATE_BARE).await.unwrap().expect("still a participant");
    assert_eq!(row.participant_id, hec);
    assert_eq!(row.nick.as_deref(), Some("top witch"));
    assert_eq!(row.nodes, vec![PARTICIPANTS.to_string()], "a refused join changed the subscriptions");
}

/// XEP-0369: when nodes are requested and none can be subscribed, the join
/// fails with the reason for the first one; the user is no participant.
#[tokio::test]
async fn join_with_only_unknown_nodes_is_item_not_found() {
    let h = coven().await;
    h.exchange1(
        &join_iq(HAG66_BARE, "j1", &[PRESENCE, "urn:example:nothing"], Some("third witch")),
        &iq_error(COVEN, HAG66_BARE, "j1", "cancel", "item-not-found", Some(&format!("no such node: '{PRESENCE}'"))),
    )
    .await;
    h.exchange1(&items_iq(HAG66, "p", PARTICIPANTS), &iq_error(COVEN, HAG66, "p", "auth", "forbidden", Some("{*}"))).await;
    // Joining with no node at all is allowed (XEP-0369: "MAY join and not
    // subscribe to any nodes").
    h.exchange1(&join_iq(HAG66_BARE, "j2", &[], None), &join_result(HAG66_BARE, "j2", "{*}", "{*}", &[], None)).await;
}

/// A join to a channel that does not exist: item-not-found, by that JID.
#[tokio::test]
async fn join_of_a_missing_channel_is_item_not_found() {
    let h = coven().await;
    let nosuch = format!("nosuch@{MIX}");
    h.exchange1(
        &format!("<iq type='set' id='j1' from='{HAG66_BARE}' to='{nosuch}'><join xmlns='{MIX_NS}'>{}</join></iq>", subscribes(&[MESSAGES])),
        &iq_error(&nosuch, HAG66_BARE, "j1", "cancel", "item-not-found", None),
    )
    .await;
}

/// A malformed join (a `<subscribe/>` without node, a child MIX does not
/// define) is bad-request, and makes nobody a participant.
#[tokio::test]
async fn malformed_join_is_bad_request() {
    let h = coven().await;
    join(&h, HECATE_BARE, &[PARTICIPANTS], None).await;
    for (id, inner) in [
        ("b1", format!("<subscribe/><subscribe node='{MESSAGES}'/>")),
        ("b2", format!("<subscribe node='{MESSAGES}'/><foo xmlns='urn:example'/>")),
        ("b3", format!("<subscribe node='{MESSAGES}'/><nick>a</nick><nick>b</nick>")),
    ] {
        h.exchange1(
            &format!("<iq type='set' id='{id}' from='{HAG66_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'>{inner}</join></iq>"),
            &iq_error(COVEN, HAG66_BARE, id, "modify", "bad-request", Some("{*}")),
        )
        .await;
    }
    assert!(h.store.get_participant("coven", HAG66_BARE).await.unwrap().is_none(), "a malformed join made a participant");
}

/// A join with a nick that cannot be used is refused as a whole: an empty
/// nick is bad-request, a nick held by another participant is a conflict.
/// Nobody is notified and the user is no participant.
#[tokio::test]
async fn join_with_unusable_nick_is_refused() {
    let h = coven().await;
    join(&h, HECATE_BARE, &[PARTICIPANTS], Some("third witch")).await;
    h.exchange1(
        &join_iq(HAG66_BARE, "n1", &[MESSAGES], Some("   ")),
        &iq_error(COVEN, HAG66_BARE, "n1", "modify", "bad-request", Some("{*}")),
    )
    .await;
    h.exchange1(
        &join_iq(HAG66_BARE, "n2", &[MESSAGES, PARTICIPANTS], Some("Third Witch")),
        &iq_error(COVEN, HAG66_BARE, "n2", "cancel", "conflict", Some("{*}")),
    )
    .await;
    assert!(h.store.get_participant("coven", HAG66_BARE).await.unwrap().is_none(), "a refused join made a participant");
}

/// A banned user (affiliation outcast) may not join: forbidden.
#[tokio::test]
async fn join_by_a_banned_user_is_forbidden() {
    let h = coven().await;
    ban(&h, ROMEO_BARE).await;
    h.exchange1(
        &join_iq(ROMEO_BARE, "j1", &[MESSAGES], Some("romeo")),
        &iq_error(COVEN, ROMEO_BARE, "j1", "auth", "forbidden", Some("{*}")),
    )
    .await;
    assert!(h.store.get_participant("coven", ROMEO_BARE).await.unwrap().is_none());
}

// ================================================================ setnick

fn setnick_result(to: &str, id: &str, nick: &str) -> String {
    iq_result(COVEN, to, id, &format!("<setnick xmlns='{MIX_NS}'><nick>{nick}</nick></setnick>"))
}

/// XEP-0369 "User sets Nick on Channel": the PRECIS nickname profile maps
/// non-ASCII spaces, trims, collapses runs and applies NFKC (fullwidth
/// letters become ASCII); the result carries the nick in use, and every
/// participants node subscriber (the user included) gets the updated item.
#[tokio::test]
async fn setnick_normalises_and_notifies() {
    let h = coven().await;
    let hag = join(&h, HAG66_BARE, &[MESSAGES, PARTICIPANTS], None).await;
    join(&h, HECATE_BARE, &[PARTICIPANTS], Some("top witch")).await;
    join(&h, HAG01_BARE, &[MESSAGES], Some("first witch")).await;
    exchange_unordered(
        &h,
        &setnick_iq(HAG66, "7nve413p", "  \u{FF34}hird\u{3000}\u{00A0} Witch "),
        &[
            setnick_result(HAG66, "7nve413p", "Third Witch"),
            participant_event(HAG66_BARE, &hag, HAG66_BARE, Some("Third Witch")),
            participant_event(HECATE_BARE, &hag, HAG66_BARE, Some("Third Witch")),
        ],
    )
    .await;
    // The same nick again: the result, nothing to announce.
    h.exchange1(&setnick_iq(HAG66, "again", "Third Witch"), &setnick_result(HAG66, "again", "Third Witch")).await;
    // A change of case of one's own nick is no conflict.
    exchange_unordered(
        &h,
        &setnick_iq(HAG66_BARE, "case", "third witch"),
        &[
            setnick_result(HAG66_BARE, "case", "third witch"),
            participant_event(HAG66_BARE, &hag, HAG66_BARE, Some("third witch")),
            participant_event(HECATE_BARE, &hag, HAG66_BARE, Some("third witch")),
        ],
    )
    .await;
    // Messages carry the new nick.
    exchange_unordered(
        &h,
        &groupchat(HAG66, "m", "<body>hi</body>"),
        &[
            reflected(HAG66_BARE, &hag, "{*}", "<body>hi</body>", "third witch", HAG66_BARE, Some("m")),
            reflected(HAG01_BARE, &hag, "{*}", "<body>hi</body>", "third witch", HAG66_BARE, None),
        ],
    )
    .await;
}

/// Nicks compare case-insensitively (after normalisation): a nick held by
/// another participant is a conflict, and nothing changes.
#[tokio::test]
async fn setnick_conflict_is_case_insensitive() {
    let h = coven().await;
    let hag = join(&h, HAG66_BARE, &[PARTICIPANTS], Some("third witch")).await;
    let hec = join(&h, HECATE_BARE, &[PARTICIPANTS], Some("top witch")).await;
    for (id, nick) in [("c1", "third witch"), ("c2", "THIRD WITCH"), ("c3", "\u{FF54}hird  witch")] {
        h.exchange1(&setnick_iq(HECATE, id, nick), &iq_error(COVEN, HECATE, id, "cancel", "conflict", Some("{*}"))).await;
    }
    h.exchange1(
        &items_iq(HAG66, "p", PARTICIPANTS),
        &participants_result(HAG66, "p", &[(&hag, HAG66_BARE, Some("third witch")), (&hec, HECATE_BARE, Some("top witch"))]),
    )
    .await;
}

/// An empty nick (no `<nick/>`, empty, only spaces), a nick with a control
/// character or a private-use character (disallowed by PRECIS, unusable as
/// a MUC resource), an over-long nick, or an unknown child: bad-request.
#[tokio::test]
async fn setnick_empty_or_invalid_is_bad_request() {
    let h = coven().await;
    join(&h, HAG66_BARE, &[PARTICIPANTS], Some("third witch")).await;
    let long = "w".repeat(1100);
    let cases = [
        ("e1", format!("<setnick xmlns='{MIX_NS}'/>")),
        ("e2", format!("<setnick xmlns='{MIX_NS}'><nick/></setnick>")),
        ("e3", format!("<setnick xmlns='{MIX_NS}'><nick>   </nick></setnick>")),
        ("e4", format!("<setnick xmlns='{MIX_NS}'><nick>third&#9;witch</nick></setnick>")),
        ("e5", format!("<setnick xmlns='{MIX_NS}'><nick>third\u{E000}witch</nick></setnick>")),
        ("e6", format!("<setnick xmlns='{MIX_NS}'><nick>{long}</nick></setnick>")),
        ("e7", format!("<setnick xmlns='{MIX_NS}'><nick>ok</nick><foo xmlns='urn:example'/></setnick>")),
    ];
    for (id, payload) in cases {
        h.exchange1(
            &format!("<iq type='set' id='{id}' from='{HAG66}' to='{COVEN}'>{payload}</iq>"),
            &iq_error(COVEN, HAG66, id, "modify", "bad-request", Some("{*}")),
        )
        .await;
    }
    assert_eq!(h.store.get_participant("coven", HAG66_BARE).await.unwrap().unwrap().nick.as_deref(), Some("third witch"));
}

/// A user who is not a participant may not set a nick: forbidden. On a
/// channel that does not exist: item-not-found.
#[tokio::test]
async fn setnick_by_non_participant_is_forbidden() {
    let h = coven().await;
    join(&h, HAG66_BARE, &[PARTICIPANTS], Some("third witch")).await;
    h.exchange1(&setnick_iq(HECATE, "f1", "top witch"), &iq_error(COVEN, HECATE, "f1", "auth", "forbidden", Some("{*}"))).await;
    let nosuch = format!("nosuch@{MIX}");
    h.exchange1(
        &format!("<iq type='set' id='f2' from='{HAG66}' to='{nosuch}'><setnick xmlns='{MIX_NS}'><nick>x</nick></setnick></iq>"),
        &iq_error(&nosuch, HAG66, "f2", "cancel", "item-not-found", None),
    )
    .await;
}

// ================================================================ messages

/// XEP-0369 "Sending a Message": one copy per participant subscribed to
/// messages (not hag01, who is not), at the bare JID, from
/// `coven@mix/<pid>`, id = archive id, `<mix>` with nick and JID,
/// `<stanza-id>` by the channel with the same id; `<submission-id>` only in
/// the sender's copy. Payloads the channel does not know pass through.
#[tokio::test]
async fn message_is_reflected_to_messages_subscribers() {
    let h = coven().await;
    let hag = join(&h, HAG66_BARE, &[MESSAGES, PARTICIPANTS], Some("third witch")).await;
    join(&h, HECATE_BARE, &[MESSAGES], Some("top witch")).await;
    join(&h, HAG01_BARE, &[PARTICIPANTS, INFO], Some("first witch")).await;
    let inner = "<body>Harpier cries: 'tis time, 'tis time.</body>
                 <reply xmlns='urn:xmpp:reply:0' to='coven@mix.shakespeare.example/x' id='earlier'/>
                 <foo xmlns='urn:example'><bar>baz</bar></foo>
                 <origin-id xmlns='urn:xmpp:sid:0' id='de305d54'/>";
    let caps = exchange_unordered(
        &h,
        &groupchat(HAG66, "92vax143g", inner),
        &[
            reflected(HAG66_BARE, &hag, "{*aid}", inner, "third witch", HAG66_BARE, Some("92vax143g")),
            reflected(HECATE_BARE, &hag, "{*aid}", inner, "third witch", HAG66_BARE, None),
        ],
    )
    .await;
    let aid = caps[0].named("aid");
    assert_eq!(caps[1].named("aid"), aid, "one archive id for every copy");
    assert_ne!(aid, "92vax143g", "the id is the archive's, not the sender's");
    // And that id names the message in the archive.
    let out = h.send(&mam_iq(HAG66, "q", Some("f1"), &[], "")).await;
    assert_eq!(out.len(), 2);
    assert_xml(&out[0], &mam_result(HAG66, Some("f1"), aid, &hag, inner, "third witch", HAG66_BARE));
}

/// A message sent from the participant's bare JID (as a server relaying it
/// would) is reflected the same way.
#[tokio::test]
async fn message_from_the_bare_jid() {
    let h = coven().await;
    let hag = join(&h, HAG66_BARE, &[MESSAGES], Some("third witch")).await;
    h.exchange1(
        &groupchat(HAG66_BARE, "b1", "<body>hi</body>"),
        &reflected(HAG66_BARE, &hag, "{*}", "<body>hi</body>", "third witch", HAG66_BARE, Some("b1")),
    )
    .await;
}

/// What a sender must not be trusted with is removed: a `<stanza-id>`
/// claiming to be by this channel (MIX or MUC JID), a `<mix/>` of its own,
/// an occupant-id, MUC user data. A stanza-id by another entity passes.
#[tokio::test]
async fn spoofed_stanza_id_is_removed() {
    let h = coven().await;
    join(&h, HAG66_BARE, &[MESSAGES], Some("third witch")).await;
    let hec = join(&h, HECATE_BARE, &[MESSAGES], Some("top witch")).await;
    let sent = format!(
        "<body>trust me</body>
         <stanza-id xmlns='urn:xmpp:sid:0' by='{COVEN}' id='fake-1'/>
         <stanza-id xmlns='urn:xmpp:sid:0' by='coven@{MUC}' id='fake-2'/>
         <stanza-id xmlns='urn:xmpp:sid:0' by='hecate@shakespeare.example' id='kept'/>
         <mix xmlns='{MIX_NS}'><nick>first witch</nick><jid>hag01@shakespeare.example</jid></mix>
         <occupant-id xmlns='urn:xmpp:occupant-id:0' id='forged'/>
         <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner'/></x>"
    );
    let kept = "<body>trust me</body><stanza-id xmlns='urn:xmpp:sid:0' by='hecate@shakespeare.example' id='kept'/>";
    let caps = exchange_unordered(
        &h,
        &groupchat(HECATE, "s1", &sent),
        &[
            reflected(HAG66_BARE, &hec, "{*aid}", kept, "top witch", HECATE_BARE, None),
            reflected(HECATE_BARE, &hec, "{*aid}", kept, "top witch", HECATE_BARE, Some("s1")),
        ],
    )
    .await;
    // The archive has the cleaned message too.
    let aid = caps[0].named("aid").to_string();
    let out = h.send(&mam_iq(HAG66, "q", None, &[], "")).await;
    assert_xml(&out[0], &mam_result(HAG66, None, &aid, &hec, kept, "top witch", HECATE_BARE));
}

/// The sender not subscribed to messages gets no copy of its own message.
#[tokio::test]
async fn sender_not_subscribed_to_messages_gets_no_copy() {
    let h = coven().await;
    let hag = join(&h, HAG66_BARE, &[PARTICIPANTS], Some("third witch")).await;
    join(&h, HECATE_BARE, &[MESSAGES], Some("top witch")).await;
    h.exchange1(
        &groupchat(HAG66, "s1", "<body>unseen by me</body>"),
        &reflected(HECATE_BARE, &hag, "{*}", "<body>unseen by me</body>", "third witch", HAG66_BARE, None),
    )
    .await;
}

/// Errors, each a message of type error from the channel back to the
/// sender, with the sender's id, and nothing archived or reflected:
/// not a participant: forbidden; no nick: not-acceptable; type chat or
/// normal: bad-request; nothing in it: bad-request; a channel that does not
/// exist: item-not-found.
#[tokio::test]
async fn message_errors() {
    let h = coven().await;
    join(&h, HAG66_BARE, &[MESSAGES], None).await;
    join(&h, HECATE_BARE, &[MESSAGES], Some("top witch")).await;
    h.exchange1(&groupchat(ROMEO, "r1", "<body>hi</body>"), &message_error(COVEN, ROMEO, "r1", "auth", "forbidden", Some("{*}"))).await;
    h.exchange1(&groupchat(HAG66, "n1", "<body>hi</body>"), &message_error(COVEN, HAG66, "n1", "modify", "not-acceptable", Some("{*}")))
        .await;
    h.exchange1(
        &format!("<message type='chat' id='t1' from='{HECATE}' to='{COVEN}'><body>hi</body></message>"),
        &message_error(COVEN, HECATE, "t1", "modify", "bad-request", Some("{*}")),
    )
    .await;
    h.exchange1(
        &format!("<message id='t2' from='{HECATE}' to='{COVEN}'><body>hi</body></message>"),
        &message_error(COVEN, HECATE, "t2", "modify", "bad-request", Some("{*}")),
    )
    .await;
    h.exchange1(
        &format!("<message type='headline' id='t3' from='{HECATE}' to='{COVEN}'><body>hi</body></message>"),
        &message_error(COVEN, HECATE, "t3", "modify", "bad-request", Some("{*}")),
    )
    .await;
    h.exchange1(&groupchat(HECATE, "e1", ""), &message_error(COVEN, HECATE, "e1", "modify", "bad-request", Some("{*}"))).await;
    let nosuch = format!("nosuch@{MIX}");
    h.exchange1(
        &format!("<message type='groupchat' id='x1' from='{HECATE}' to='{nosuch}'><body>hi</body></message>"),
        &message_error(&nosuch, HECATE, "x1", "cancel", "item-not-found", None),
    )
    .await;
    // Nothing was archived.
    h.exchange1(&mam_iq(HECATE, "q", None, &[], ""), &iq_result(COVEN, HECATE, "q", &fin(true, None, None, 0))).await;
    // An error message to the channel is never answered.
    h.exchange(
        &format!("<message type='error' id='z' from='{HECATE}' to='{COVEN}'><error type='cancel'><item-not-found xmlns='{STANZAS}'/></error></message>"),
        &[],
    )
    .await;
}

/// A message to a participant's JID in the channel (`coven@mix/<pid>`):
/// private messages are not served; the sender is told so
/// (service-unavailable, `by` the channel that refused it), never left
/// without an answer.
#[tokio::test]
async fn message_to_a_participant_jid_is_refused() {
    let h = coven().await;
    let hag = join(&h, HAG66_BARE, &[MESSAGES], Some("third witch")).await;
    join(&h, HECATE_BARE, &[MESSAGES], Some("top witch")).await;
    let to = format!("{COVEN}/{hag}");
    h.exchange1(
        &format!("<message type='chat' id='pm1' from='{HECATE}' to='{to}'><body>psst</body></message>"),
        &format!("<message type='error' id='pm1' from='{to}' to='{HECATE}'>{}</message>", error_el(COVEN, "cancel", "service-unavailable", None)),
    )
    .await;
}

// ================================================================ update-subscription

/// XEP-0369 "User Modifies Subscription Request": the result names the
/// user's bare JID and the nodes subscribed and unsubscribed; the change
/// takes effect (no more messages, participants events from now on).
#[tokio::test]
async fn update_subscription() {
    let h = coven().await;
    let hag = join(&h, HAG66_BARE, &[MESSAGES], Some("third witch")).await;
    let hec = join(&h, HECATE_BARE, &[MESSAGES], Some("top witch")).await;
    h.exchange1(
        &update_iq(HAG66, "E6E10350", &[PARTICIPANTS], &[MESSAGES]),
        &update_result(HAG66, "E6E10350", HAG66_BARE, &[PARTICIPANTS], &[MESSAGES]),
    )
    .await;
    // hag66 no longer gets messages...
    h.exchange1(
        &groupchat(HECATE, "m1", "<body>hi</body>"),
        &reflected(HECATE_BARE, &hec, "{*}", "<body>hi</body>", "top witch", HECATE_BARE, Some("m1")),
    )
    .await;
    // ... and now gets participants events.
    exchange_seq(
        &h,
        &setnick_iq(HECATE, "n", "hecate"),
        &[setnick_result(HECATE, "n", "hecate"), participant_event(HAG66_BARE, &hec, HECATE_BARE, Some("hecate"))],
    )
    .await;
    // Subscribe back: the unknown node is left out, unsubscribing from a node
    // one is not subscribed to is harmless.
    h.exchange1(&update_iq(HAG66, "u2", &[MESSAGES, PRESENCE], &[INFO]), &update_result(HAG66, "u2", HAG66_BARE, &[MESSAGES], &[INFO]))
        .await;
    exchange_unordered(
        &h,
        &groupchat(HAG66, "m2", "<body>back</body>"),
        &[
            reflected(HAG66_BARE, &hag, "{*}", "<body>back</body>", "third witch", HAG66_BARE, Some("m2")),
            reflected(HECATE_BARE, &hag, "{*}", "<body>back</body>", "third witch", HAG66_BARE, None),
        ],
    )
    .await;
}

/// Only unknown nodes to subscribe: item-not-found naming the first;
/// nothing changes.
#[tokio::test]
async fn update_subscription_to_unknown_node_is_item_not_found() {
    let h = coven().await;
    let hag = join(&h, HAG66_BARE, &[MESSAGES], Some("third witch")).await;
    h.exchange1(
        &update_iq(HAG66, "u1", &[PRESENCE], &[MESSAGES]),
        &iq_error(COVEN, HAG66, "u1", "cancel", "item-not-found", Some(&format!("no such node: '{PRESENCE}'"))),
    )
    .await;
    h.exchange1(
        &groupchat(HAG66, "m", "<body>still here</body>"),
        &reflected(HAG66_BARE, &hag, "{*}", "<body>still here</body>", "third witch", HAG66_BARE, Some("m")),
    )
    .await;
}

/// Not a participant: forbidden. Malformed (no node, unknown child):
/// bad-request.
#[tokio::test]
async fn update_subscription_errors() {
    let h = coven().await;
    join(&h, HAG66_BARE, &[MESSAGES], Some("third witch")).await;
    h.exchange1(&update_iq(HECATE, "f1", &[MESSAGES], &[]), &iq_error(COVEN, HECATE, "f1", "auth", "forbidden", Some("{*}"))).await;
    for (id, inner) in [
        ("b1", "<subscribe/>".to_string()),
        ("b2", "<unsubscribe/>".to_string()),
        ("b3", format!("<subscribe node='{INFO}'/><foo xmlns='urn:example'/>")),
    ] {
        h.exchange1(
            &format!("<iq type='set' id='{id}' from='{HAG66}' to='{COVEN}'><update-subscription xmlns='{MIX_NS}'>{inner}</update-subscription></iq>"),
            &iq_error(COVEN, HAG66, id, "modify", "bad-request", Some("{*}")),
        )
        .await;
    }
    assert_eq!(h.store.get_participant("coven", HAG66_BARE).await.unwrap().unwrap().nodes, vec![MESSAGES.to_string()]);
}

// ================================================================ leave

/// XEP-0369 "Leaving a Channel": the result is `<leave/>`; subscribers of
/// the participants node (not the leaver) get a retraction of the item.
/// The former participant can no longer post, read the archive or the
/// participants. Leaving again succeeds and tells nobody.
#[tokio::test]
async fn leave() {
    let h = coven().await;
    let hag = join(&h, HAG66_BARE, &[MESSAGES, PARTICIPANTS], Some("third witch")).await;
    let hec = join(&h, HECATE_BARE, &[MESSAGES, PARTICIPANTS], Some("top witch")).await;
    exchange_seq(
        &h,
        &leave_iq(HECATE_BARE, "E6E10350-76CF-40C6-B91B-1EA08C332FC7"),
        &[
            iq_result(COVEN, HECATE_BARE, "E6E10350-76CF-40C6-B91B-1EA08C332FC7", &format!("<leave xmlns='{MIX_NS}'/>")),
            retract_event(HAG66_BARE, &hec),
        ],
    )
    .await;
    h.exchange1(&items_iq(HAG66, "p", PARTICIPANTS), &participants_result(HAG66, "p", &[(&hag, HAG66_BARE, Some("third witch"))])).await;
    h.exchange1(&groupchat(HECATE, "m", "<body>hi</body>"), &message_error(COVEN, HECATE, "m", "auth", "forbidden", Some("{*}"))).await;
    h.exchange1(&items_iq(HECATE, "p", PARTICIPANTS), &iq_error(COVEN, HECATE, "p", "auth", "forbidden", Some("{*}"))).await;
    h.exchange1(&mam_iq(HECATE, "q", None, &[], ""), &iq_error(COVEN, HECATE, "q", "auth", "forbidden", Some("{*}"))).await;
    // hecate's nick is free again.
    exchange_seq(
        &h,
        &setnick_iq(HAG66, "n", "Top Witch"),
        &[setnick_result(HAG66, "n", "Top Witch"), participant_event(HAG66_BARE, &hag, HAG66_BARE, Some("Top Witch"))],
    )
    .await;
    // Leaving again (or never having joined), from a full or bare JID.
    for (from, id) in [(HECATE_BARE, "again"), (HECATE, "again2"), (ROMEO, "never")] {
        h.exchange1(&leave_iq(from, id), &iq_result(COVEN, from, id, &format!("<leave xmlns='{MIX_NS}'/>"))).await;
    }
}

/// A malformed leave is bad-request and leaves the participant in place; a
/// leave to a channel that does not exist is item-not-found.
#[tokio::test]
async fn leave_errors() {
    let h = coven().await;
    join(&h, HAG66_BARE, &[MESSAGES], Some("third witch")).await;
    h.exchange1(
        &format!("<iq type='set' id='b1' from='{HAG66_BARE}' to='{COVEN}'><leave xmlns='{MIX_NS}'><foo xmlns='urn:example'/></leave></iq>"),
        &iq_error(COVEN, HAG66_BARE, "b1", "modify", "bad-request", Some("{*}")),
    )
    .await;
    assert!(h.store.get_participant("coven", HAG66_BARE).await.unwrap().is_some());
    let nosuch = format!("nosuch@{MIX}");
    h.exchange1(
        &format!("<iq type='set' id='x1' from='{HAG66_BARE}' to='{nosuch}'><leave xmlns='{MIX_NS}'/></iq>"),
        &iq_error(&nosuch, HAG66_BARE, "x1", "cancel", "item-not-found", None),
    )
    .await;
}

// ================================================================ MAM

/// A MAM query to coven: form fields (`(var, values)`), raw RSM children.
fn mam_iq(from: &str, id: &str, queryid: Option<&str>, fields: &[(&str, &[&str])], rsm: &str) -> String {
    let qid = queryid.map(|q| format!(" queryid='{q}'")).unwrap_or_default();
    let form = if fields.is_empty() {
        String::new()
    } else {
        let fields: String = fields
            .iter()
            .map(|(var, values)| {
                let values: String = values.iter().map(|v| format!("<value>{v}</value>")).collect();
                format!("<field var='{var}'>{values}</field>")
            })
            .collect();
        format!("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>{MAM}</value></field>{fields}</x>")
    };
    let set = if rsm.is_empty() { String::new() } else { format!("<set xmlns='{RSM}'>{rsm}</set>") };
    format!("<iq type='set' id='{id}' from='{from}' to='{COVEN}'><query xmlns='{MAM}'{qid}>{form}{set}</query></iq>")
}

/// One MAM result message (XEP-0313 §4.2; XEP-0369: the archived message as
/// it was reflected, without `to` and without the submission id).
fn mam_result(to: &str, queryid: Option<&str>, aid: &str, pid: &str, inner: &str, nick: &str, jid: &str) -> String {
    let qid = queryid.map(|q| format!(" queryid='{q}'")).unwrap_or_default();
    format!(
        "<message id='{{*}}' from='{COVEN}' to='{to}'>
           <result xmlns='{MAM}' id='{aid}'{qid}>
             <forwarded xmlns='urn:xmpp:forward:0'>
               <delay xmlns='urn:xmpp:delay' stamp='{{*stamp}}'/>
               <message xmlns='jabber:client' from='{COVEN}/{pid}' id='{aid}' type='groupchat'>
                 {inner}
                 <mix xmlns='{MIX_NS}'><nick>{nick}</nick><jid>{jid}</jid></mix>
                 <stanza-id xmlns='urn:xmpp:sid:0' by='{COVEN}' id='{aid}'/>
               </message>
             </forwarded>
           </result>
         </message>"
    )
}

fn fin(complete: bool, first: Option<&str>, last: Option<&str>, count: usize) -> String {
    fin_count(complete, first, last, &count.to_string())
}

fn fin_count(complete: bool, first: Option<&str>, last: Option<&str>, count: &str) -> String {
    let complete = if complete { " complete='true'" } else { "" };
    let first = first.map(|f| format!("<first>{f}</first>")).unwrap_or_default();
    let last = last.map(|l| format!("<last>{l}</last>")).unwrap_or_default();
    format!("<fin xmlns='{MAM}'{complete}><set xmlns='{RSM}'>{first}{last}<count>{count}</count></set></fin>")
}

/// One archived message of the MAM fixture.
#[derive(Clone, Debug)]
struct Posted {
    aid: String,
    pid: String,
    nick: &'static str,
    jid: &'static str,
    body: String,
}

/// coven with hag66 ("third witch") and hecate ("top witch") who post 30
/// messages in turn (hag66 the even ones), and romeo who is no participant.
async fn archive_fixture() -> (Harness, Vec<Posted>) {
    let h = coven().await;
    let hag = join(&h, HAG66_BARE, &[MESSAGES], Some("third witch")).await;
    let hec = join(&h, HECATE_BARE, &[MESSAGES], Some("top witch")).await;
    let mut posted = Vec::new();
    for i in 0..30 {
        let (from, pid, nick, jid) =
            if i % 2 == 0 { (HAG66, &hag, "third witch", HAG66_BARE) } else { (HECATE, &hec, "top witch", HECATE_BARE) };
        let body = format!("message {i}");
        let aid = post(&h, from, &body).await;
        posted.push(Posted { aid, pid: pid.clone(), nick, jid, body });
    }
    (h, posted)
}

/// Asserts a MAM answer: the results for `want` (in that order), then the
/// fin with `complete` and `count`. Returns the delay stamps.
fn assert_page(out: &[Element], to: &str, id: &str, queryid: Option<&str>, want: &[&Posted], complete: bool, count: usize) -> Vec<String> {
    assert_page_count(out, to, id, queryid, want, complete, &count.to_string())
}

/// [`assert_page`] with the count as expected text (`{*}`: any).
fn assert_page_count(
    out: &[Element],
    to: &str,
    id: &str,
    queryid: Option<&str>,
    want: &[&Posted],
    complete: bool,
    count: &str,
) -> Vec<String> {
    let mut expected: Vec<String> =
        want.iter().map(|p| mam_result(to, queryid, &p.aid, &p.pid, &format!("<body>{}</body>", p.body), p.nick, p.jid)).collect();
    let (first, last) = (want.first().map(|p| p.aid.as_str()), want.last().map(|p| p.aid.as_str()));
    expected.push(iq_result(COVEN, to, id, &fin_count(complete, first, last, count)));
    let exp: Vec<&str> = expected.iter().map(String::as_str).collect();
    let caps = assert_stanzas(out, &exp);
    caps[..want.len()].iter().map(|c| c.named("stamp").to_string()).collect()
}

fn ids(posted: &[Posted], range: impl IntoIterator<Item = usize>) -> Vec<&Posted> {
    range.into_iter().map(|i| &posted[i]).collect()
}

/// Paging forward with `<max>10</max>` and `<after/>`: three pages, only
/// the last one complete; first/last name the page's ends, count the whole
/// result set. Result messages go from the channel's bare JID to the full
/// JID that asked, carry the queryid, a delay stamp (XEP-0082, UTC,
/// non-decreasing) and the message as reflected.
#[tokio::test]
async fn mam_pages_forward() {
    let (h, posted) = archive_fixture().await;
    let out = h.send(&mam_iq(HAG66, "q1", Some("f27"), &[], "<max>10</max>")).await;
    let mut stamps = assert_page(&out, HAG66, "q1", Some("f27"), &ids(&posted, 0..10), false, 30);
    let out = h.send(&mam_iq(HAG66, "q2", Some("f28"), &[], &format!("<max>10</max><after>{}</after>", posted[9].aid))).await;
    stamps.extend(assert_page(&out, HAG66, "q2", Some("f28"), &ids(&posted, 10..20), false, 30));
    let out = h.send(&mam_iq(HAG66, "q3", Some("f29"), &[], &format!("<max>10</max><after>{}</after>", posted[19].aid))).await;
    stamps.extend(assert_page(&out, HAG66, "q3", Some("f29"), &ids(&posted, 20..30), true, 30));
    // <max>0</max>: only the count (XEP-0059 §2.7).
    let out = h.send(&mam_iq(HAG66, "q0", None, &[], "<max>0</max>")).await;
    assert_page(&out, HAG66, "q0", None, &[], false, 30);
    // After the last message: an empty, complete page.
    let out = h.send(&mam_iq(HAG66, "q4", None, &[], &format!("<max>10</max><after>{}</after>", posted[29].aid))).await;
    assert_page(&out, HAG66, "q4", None, &[], true, 30);
    // Without RSM: everything in one complete page (default max 50).
    let out = h.send(&mam_iq(HECATE_BARE, "q5", None, &[], "")).await;
    assert_page(&out, HECATE_BARE, "q5", None, &ids(&posted, 0..30), true, 30);
    for s in &stamps {
        assert!(s.ends_with('Z') && s.parse::<xmpp_parsers::date::DateTime>().is_ok(), "stamp {s:?}");
    }
    let parsed: Vec<_> = stamps.iter().map(|s| s.parse::<xmpp_parsers::date::DateTime>().unwrap().0).collect();
    assert!(parsed.windows(2).all(|w| w[0] <= w[1]), "stamps go back in time: {stamps:?}");
}

/// Each archived message keeps the visibility its channel had when it was
/// written (XEP-0404): a channel made JID-visible later does not reveal in
/// MAM who wrote while it was JID-hidden; messages written after the change
/// carry the `<jid/>`.
#[tokio::test]
async fn mam_shows_each_message_as_the_channel_showed_it() {
    let h = coven().await;
    let hag = join(&h, HAG66_BARE, &[MESSAGES], Some("third witch")).await;
    let set_visible = |visible: bool| {
        let h = &h;
        async move {
            let mut row = h.store.get_channel("coven").await.unwrap().unwrap();
            row.jid_visibility = if visible { mixmuc::store::JidVisibility::Visible } else { mixmuc::store::JidVisibility::Hidden };
            h.store.update_config(&row).await.unwrap();
            h.service.channels.invalidate("coven").await;
        }
    };
    set_visible(false).await;
    let hidden = post(&h, HAG66, "in the dark").await;
    set_visible(true).await;
    let shown = post(&h, HAG66, "in the light").await;
    let without_jid = format!(
        "<message id='{{*}}' from='{COVEN}' to='{HAG66}'>
           <result xmlns='{MAM}' id='{hidden}'>
             <forwarded xmlns='urn:xmpp:forward:0'>
               <delay xmlns='urn:xmpp:delay' stamp='{{*}}'/>
               <message xmlns='jabber:client' from='{COVEN}/{hag}' id='{hidden}' type='groupchat'>
                 <body>in the dark</body>
                 <mix xmlns='{MIX_NS}'><nick>third witch</nick></mix>
                 <stanza-id xmlns='urn:xmpp:sid:0' by='{COVEN}' id='{hidden}'/>
               </message>
             </forwarded>
           </result>
         </message>"
    );
    h.exchange(
        &mam_iq(HAG66, "v1", None, &[], ""),
        &[
            &without_jid,
            &mam_result(HAG66, None, &shown, &hag, "<body>in the light</body>", "third witch", HAG66_BARE),
            &iq_result(COVEN, HAG66, "v1", &fin(true, Some(&hidden), Some(&shown), 2)),
        ],
    )
    .await;
}

/// Paging backward: `<before/>` empty is the last page; then `<before>`
/// the first id of each page; complete only on the page with the oldest
/// message. Results stay in chronological order. `<flip-page/>` reverses
/// the order within a page.
#[tokio::test]
async fn mam_pages_backward() {
    let (h, posted) = archive_fixture().await;
    let out = h.send(&mam_iq(HAG66, "b1", None, &[], "<max>10</max><before/>")).await;
    assert_page(&out, HAG66, "b1", None, &ids(&posted, 20..30), false, 30);
    let out = h.send(&mam_iq(HAG66, "b2", None, &[], &format!("<max>10</max><before>{}</before>", posted[20].aid))).await;
    assert_page(&out, HAG66, "b2", None, &ids(&posted, 10..20), false, 30);
    let out = h.send(&mam_iq(HAG66, "b3", None, &[], &format!("<max>10</max><before>{}</before>", posted[10].aid))).await;
    assert_page(&out, HAG66, "b3", None, &ids(&posted, 0..10), true, 30);
    // Flipped: the last page, newest first.
    let flip = format!(
        "<iq type='set' id='fl' from='{HAG66}' to='{COVEN}'><query xmlns='{MAM}'><set xmlns='{RSM}'><max>5</max><before/></set><flip-page/></query></iq>"
    );
    let out = h.send(&flip).await;
    assert_page(&out, HAG66, "fl", None, &ids(&posted, (25..30).rev()), false, 30);
}

/// XEP-0313 §4.1.4 `after-id`, `before-id`, `ids` (the `#extended`
/// feature): the messages after / before a known one, between two, or
/// named; combined with RSM paging. (The count is checked below.)
#[tokio::test]
async fn mam_id_filters() {
    let (h, posted) = archive_fixture().await;
    let any = "{*}";
    let out = h.send(&mam_iq(HAG66, "a1", None, &[("after-id", &[&posted[24].aid])], "")).await;
    assert_page_count(&out, HAG66, "a1", None, &ids(&posted, 25..30), true, any);
    let out = h.send(&mam_iq(HAG66, "a2", None, &[("before-id", &[&posted[5].aid])], "")).await;
    assert_page_count(&out, HAG66, "a2", None, &ids(&posted, 0..5), true, any);
    let out = h.send(&mam_iq(HAG66, "a3", None, &[("after-id", &[&posted[10].aid]), ("before-id", &[&posted[14].aid])], "")).await;
    assert_page_count(&out, HAG66, "a3", None, &ids(&posted, 11..14), true, any);
    let out = h.send(&mam_iq(HAG66, "a4", None, &[("ids", &[&posted[17].aid, &posted[3].aid])], "")).await;
    assert_page(&out, HAG66, "a4", None, &ids(&posted, [3, 17]), true, 2);
    let out = h.send(&mam_iq(HAG66, "a5", None, &[("after-id", &[&posted[14].aid])], "<max>10</max>")).await;
    assert_page_count(&out, HAG66, "a5", None, &ids(&posted, 15..25), false, any);
    let out = h.send(&mam_iq(HAG66, "a6", None, &[("before-id", &[&posted[20].aid])], "<max>5</max><before/>")).await;
    assert_page_count(&out, HAG66, "a6", None, &ids(&posted, 15..20), false, any);
    let out = h.send(&mam_iq(HAG66, "a7", None, &[("after-id", &[&posted[29].aid])], "")).await;
    assert_page_count(&out, HAG66, "a7", None, &[], true, any);
}

/// `after-id` and `before-id` are query filters, not paging (XEP-0313
/// §4.1.4); RSM `<count/>` is the size of the whole result set the query
/// defines (XEP-0059 §2.6), so they reduce it, as `with` and `ids` do.
#[tokio::test]
async fn mam_count_with_id_filters() {
    let (h, posted) = archive_fixture().await;
    let out = h.send(&mam_iq(HAG66, "a1", None, &[("after-id", &[&posted[24].aid])], "")).await;
    assert_page(&out, HAG66, "a1", None, &ids(&posted, 25..30), true, 5);
    let out = h.send(&mam_iq(HAG66, "a2", None, &[("before-id", &[&posted[5].aid])], "")).await;
    assert_page(&out, HAG66, "a2", None, &ids(&posted, 0..5), true, 5);
    let out = h.send(&mam_iq(HAG66, "a3", None, &[("after-id", &[&posted[10].aid]), ("before-id", &[&posted[14].aid])], "")).await;
    assert_page(&out, HAG66, "a3", None, &ids(&posted, 11..14), true, 3);
    let out = h.send(&mam_iq(HAG66, "a5", None, &[("after-id", &[&posted[14].aid])], "<max>10</max>")).await;
    assert_page(&out, HAG66, "a5", None, &ids(&posted, 15..25), false, 15);
    let out = h.send(&mam_iq(HAG66, "a7", None, &[("after-id", &[&posted[29].aid])], "")).await;
    assert_page(&out, HAG66, "a7", None, &[], true, 0);
}

/// The count of a result set does not depend on the page asked for (RSM
/// `<after/>` / `<before/>` only move the page), even with a filter.
#[tokio::test]
async fn mam_count_is_the_whole_filtered_set() {
    let (h, posted) = archive_fixture().await;
    let hag = &posted[0].pid;
    let with = format!("{COVEN}/{hag}");
    let out = h.send(&mam_iq(HAG66, "w1", None, &[("with", &[&with])], &format!("<max>5</max><after>{}</after>", posted[10].aid))).await;
    assert_page(&out, HAG66, "w1", None, &ids(&posted, [12, 14, 16, 18, 20]), false, 15);
}

/// `with`: `coven@mix/<pid>` names a participant; a real bare JID names the
/// sender's JID.
#[tokio::test]
async fn mam_with_filter() {
    let (h, posted) = archive_fixture().await;
    let hec = &posted[1].pid;
    let out = h.send(&mam_iq(HAG66, "w1", None, &[("with", &[&format!("{COVEN}/{hec}")])], "")).await;
    assert_page(&out, HAG66, "w1", None, &ids(&posted, (1..30).step_by(2)), true, 15);
    let out = h.send(&mam_iq(HAG66, "w2", None, &[("with", &[HAG66_BARE])], "<max>10</max>")).await;
    assert_page(&out, HAG66, "w2", None, &ids(&posted, (0..20).step_by(2)), false, 15);
    let out = h.send(&mam_iq(HAG66, "w3", None, &[("with", &[ROMEO_BARE])], "")).await;
    assert_page(&out, HAG66, "w3", None, &[], true, 0);
    let out = h.send(&mam_iq(HAG66, "w4", None, &[("with", &[&format!("{COVEN}/nobody")])], "")).await;
    assert_page(&out, HAG66, "w4", None, &[], true, 0);
}

/// `start` and `end` (inclusive, XEP-0082): the messages stamped in the
/// range, whatever their number per millisecond.
#[tokio::test]
async fn mam_start_end() {
    let (h, posted) = archive_fixture().await;
    let out = h.send(&mam_iq(HAG66, "all", None, &[], "")).await;
    let stamps = assert_page(&out, HAG66, "all", None, &ids(&posted, 0..30), true, 30);
    let (start, end) = (&stamps[10], &stamps[19]);
    let inside: Vec<usize> = (0..30).filter(|&i| stamps[i] >= *start && stamps[i] <= *end).collect();
    let out = h.send(&mam_iq(HAG66, "se", None, &[("start", &[start]), ("end", &[end])], "")).await;
    assert_page(&out, HAG66, "se", None, &ids(&posted, inside.iter().copied()), true, inside.len());
    let from: Vec<usize> = (0..30).filter(|&i| stamps[i] >= *end).collect();
    let out = h.send(&mam_iq(HAG66, "s", None, &[("start", &[end])], "")).await;
    assert_page(&out, HAG66, "s", None, &ids(&posted, from.iter().copied()), true, from.len());
    let out = h.send(&mam_iq(HAG66, "e", None, &[("end", &["2000-01-01T00:00:00Z"])], "")).await;
    assert_page(&out, HAG66, "e", None, &[], true, 0);
}

/// XEP-0313: an id in `after-id`, `before-id`, RSM `<after/>` or
/// `<before/>` that is not in the archive: item-not-found.
#[tokio::test]
async fn mam_unknown_id_is_item_not_found() {
    let (h, _) = archive_fixture().await;
    let cases: Vec<(&str, Vec<(&str, &[&str])>, &str)> = vec![
        ("u1", vec![("after-id", &["nosuchid"][..])], ""),
        ("u2", vec![("before-id", &["nosuchid"][..])], ""),
        ("u5", vec![], "<max>10</max><after>nosuchid</after>"),
        ("u6", vec![], "<max>10</max><before>nosuchid</before>"),
    ];
    for (id, fields, rsm) in cases {
        h.exchange1(&mam_iq(HAG66, id, None, &fields, rsm), &iq_error(COVEN, HAG66, id, "cancel", "item-not-found", Some("{*}"))).await;
    }
}

/// XEP-0313 §4.1.4: "If any UID requested by the client in any of the
/// 'before-id', 'after-id' or 'ids' form fields is not present in the
/// archive, the server MUST return an item-not-found error": also for
/// `ids`, alone or beside a known id.
#[tokio::test]
async fn mam_unknown_id_in_ids_is_item_not_found() {
    let (h, posted) = archive_fixture().await;
    h.exchange1(
        &mam_iq(HAG66, "u3", None, &[("ids", &["nosuchid"])], ""),
        &iq_error(COVEN, HAG66, "u3", "cancel", "item-not-found", Some("{*}")),
    )
    .await;
    h.exchange1(
        &mam_iq(HAG66, "u4", None, &[("ids", &[posted[0].aid.as_str(), "nosuchid"])], ""),
        &iq_error(COVEN, HAG66, "u4", "cancel", "item-not-found", Some("{*}")),
    )
    .await;
}

/// A user who is no participant may not read the archive: forbidden. On a
/// channel that does not exist: item-not-found.
#[tokio::test]
async fn mam_by_non_participant_is_forbidden() {
    let (h, _) = archive_fixture().await;
    h.exchange1(&mam_iq(ROMEO, "f1", Some("x"), &[], "<max>10</max>"), &iq_error(COVEN, ROMEO, "f1", "auth", "forbidden", Some("{*}")))
        .await;
    let nosuch = format!("nosuch@{MIX}");
    h.exchange1(
        &format!("<iq type='set' id='f2' from='{HAG66}' to='{nosuch}'><query xmlns='{MAM}'/></iq>"),
        &iq_error(&nosuch, HAG66, "f2", "cancel", "item-not-found", None),
    )
    .await;
}

/// Malformed queries: a date that is not XEP-0082, a field the archive does
/// not know, a form of another type: bad-request. RSM `<index/>`:
/// feature-not-implemented.
#[tokio::test]
async fn malformed_mam_query() {
    let (h, _) = archive_fixture().await;
    for (id, fields) in [
        ("b1", vec![("start", &["yesterday"][..])]),
        ("b2", vec![("end", &["2010-13-45T99:00:00Z"][..])]),
        ("b3", vec![("colour", &["red"][..])]),
    ] {
        h.exchange1(&mam_iq(HAG66, id, None, &fields, ""), &iq_error(COVEN, HAG66, id, "modify", "bad-request", Some("{*}"))).await;
    }
    h.exchange1(
        &format!(
            "<iq type='set' id='b4' from='{HAG66}' to='{COVEN}'><query xmlns='{MAM}'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:example:form</value></field></x></query></iq>"
        ),
        &iq_error(COVEN, HAG66, "b4", "modify", "bad-request", Some("{*}")),
    )
    .await;
    h.exchange1(
        &mam_iq(HAG66, "i1", None, &[], "<max>10</max><index>3</index>"),
        &iq_error(COVEN, HAG66, "i1", "cancel", "feature-not-implemented", Some("{*}")),
    )
    .await;
}

/// XEP-0313 §5.1: an IQ get on the archive returns the query form with the
/// fields the archive supports.
#[tokio::test]
async fn mam_form_on_iq_get() {
    let h = coven().await;
    join(&h, HAG66_BARE, &[MESSAGES], Some("third witch")).await;
    h.exchange1(
        &format!("<iq type='get' id='form1' from='{HAG66}' to='{COVEN}'><query xmlns='{MAM}'/></iq>"),
        &iq_result(
            COVEN,
            HAG66,
            "form1",
            &format!(
                "<query xmlns='{MAM}'>
                   <x xmlns='jabber:x:data' type='form'>
                     <field var='FORM_TYPE' type='hidden'><value>{MAM}</value></field>
                     <field var='start'/>
                     <field var='end'/>
                     <field var='with' type='jid-single'/>
                     <field var='before-id'/>
                     <field var='after-id'/>
                     <field var='ids' type='text-multi'/>
                   </x>
                 </query>"
            ),
        ),
    )
    .await;
}

// ================================================================ discovery and PubSub

fn channel_info_result(to: &str, id: &str, node: Option<&str>) -> String {
    let node = node.map(|n| format!(" node='{n}'")).unwrap_or_default();
    iq_result(
        COVEN,
        to,
        id,
        &format!(
            "<query xmlns='{DISCO_INFO}'{node}>
               <identity category='conference' type='mix' name='coven' xml:lang='en'/>
               <feature var='http://jabber.org/protocol/commands'/>
               <feature var='{DISCO_INFO}'/>
               <feature var='{DISCO_ITEMS}'/>
               <feature var='{MAM}'/>
               <feature var='urn:xmpp:mam:2#extended'/>
               <feature var='urn:xmpp:message-moderate:1'/>
               <feature var='urn:xmpp:message-retract:1'/>
               <feature var='urn:xmpp:message-retract:1#tombstone'/>
               <feature var='urn:xmpp:mix:anon:0'/>
               <feature var='{MIX_NS}'/>
               <feature var='urn:xmpp:mix:core:1#nick-register'/>
               <feature var='urn:xmpp:sid:0'/>
             </query>"
        ),
    )
}

/// XEP-0369 "Discovering Channel Information": identity conference/mix
/// (named by the channel's title, or its name), MIX and MAM features. Open
/// to anyone (a user deciding whether to join); the node echoes back.
#[tokio::test]
async fn channel_disco_info() {
    let h = coven().await;
    for (from, id, node) in [(HAG66, "ik3vs715", None), (HAG66, "ik3vs716", Some("mix")), (ROMEO, "r1", Some("mix"))] {
        let node_attr = node.map(|n| format!(" node='{n}'")).unwrap_or_default();
        h.exchange1(
            &format!("<iq type='get' id='{id}' from='{from}' to='{COVEN}'><query xmlns='{DISCO_INFO}'{node_attr}/></iq>"),
            &channel_info_result(from, id, node),
        )
        .await;
    }
}

/// XEP-0369 "Discovering Nodes at a Channel" (node='mix'): the nodes that
/// exist. An unknown node: item-not-found; a channel that does not exist:
/// item-not-found.
#[tokio::test]
async fn channel_disco_items_and_errors() {
    let h = coven().await;
    h.exchange1(
        &format!("<iq type='get' id='kl2fax27' from='{HAG66}' to='{COVEN}'><query xmlns='{DISCO_ITEMS}' node='mix'/></iq>"),
        &iq_result(
            COVEN,
            HAG66,
            "kl2fax27",
            &format!(
                "<query xmlns='{DISCO_ITEMS}' node='mix'>
                   <item jid='{COVEN}' node='{MESSAGES}'/>
                   <item jid='{COVEN}' node='{PARTICIPANTS}'/>
                   <item jid='{COVEN}' node='{INFO}'/>
                   <item jid='{COVEN}' node='urn:xmpp:mix:nodes:presence'/>
                   <item jid='{COVEN}' node='urn:xmpp:mix:nodes:config'/>
                   <item jid='{COVEN}' node='urn:xmpp:mix:nodes:jidmap'/>
                 </query>"
            ),
        ),
    )
    .await;
    for ns in [DISCO_INFO, DISCO_ITEMS] {
        h.exchange1(
            &format!("<iq type='get' id='u' from='{HAG66}' to='{COVEN}'><query xmlns='{ns}' node='urn:example:nothing'/></iq>"),
            &iq_error(COVEN, HAG66, "u", "cancel", "item-not-found", None),
        )
        .await;
        let nosuch = format!("nosuch@{MIX}");
        h.exchange1(
            &format!("<iq type='get' id='x' from='{HAG66}' to='{nosuch}'><query xmlns='{ns}' node='mix'/></iq>"),
            &iq_error(&nosuch, HAG66, "x", "cancel", "item-not-found", None),
        )
        .await;
    }
}

/// XEP-0369 "Determining the Participants in a Channel" and "Determining
/// Information about a Channel": PubSub items of the participants node
/// (proxy JID, real JID, nick when set) and of the info node (one item
/// named by its date, a form of type urn:xmpp:mix:core:1).
#[tokio::test]
async fn pubsub_items_of_participants_and_info() {
    let h = coven().await;
    let hag = join(&h, HAG66_BARE, &[MESSAGES], Some("thirdwitch")).await;
    let hec = join(&h, HECATE, &[], None).await;
    h.exchange1(
        &items_iq(HAG66, "kl2fax27", PARTICIPANTS),
        &participants_result(HAG66, "kl2fax27", &[(&hag, HAG66_BARE, Some("thirdwitch")), (&hec, HECATE_BARE, None)]),
    )
    .await;
    let caps = h
        .exchange1(
            &items_iq(HECATE, "kl2fax28", INFO),
            &iq_result(
                COVEN,
                HECATE,
                "kl2fax28",
                &format!(
                    "<pubsub xmlns='{PUBSUB}'>
                       <items node='{INFO}'>
                         <item id='{{*date}}'>
                           <x xmlns='jabber:x:data' type='result'>
                             <field var='FORM_TYPE' type='hidden'><value>{MIX_NS}</value></field>
                             <field var='Name'><value/></field>
                             <field var='Description'><value/></field>
                             <field var='Contact' type='jid-multi'/>
                             <field var='JID Visibility' type='list-single'><value>jid-visible</value></field>
                           </x>
                         </item>
                       </items>
                     </pubsub>"
                ),
            ),
        )
        .await;
    assert!(caps.named("date").parse::<xmpp_parsers::date::DateTime>().is_ok(), "info item id {:?}", caps.named("date"));
}

/// PubSub errors: an unknown node: item-not-found; `<items/>` without a
/// node: bad-request; a PubSub request other than items:
/// feature-not-implemented; not a participant: forbidden; a channel that
/// does not exist: item-not-found.
#[tokio::test]
async fn pubsub_errors() {
    let h = coven().await;
    join(&h, HAG66_BARE, &[MESSAGES], Some("third witch")).await;
    h.exchange1(
        &items_iq(HAG66, "n1", "urn:xmpp:mix:nodes:nosuch"),
        &iq_error(COVEN, HAG66, "n1", "cancel", "item-not-found", Some("{*}")),
    )
    .await;
    h.exchange1(
        &format!("<iq type='get' id='b1' from='{HAG66}' to='{COVEN}'><pubsub xmlns='{PUBSUB}'><items/></pubsub></iq>"),
        &iq_error(COVEN, HAG66, "b1", "modify", "bad-request", Some("{*}")),
    )
    .await;
    h.exchange1(
        &format!("<iq type='get' id='s1' from='{HAG66}' to='{COVEN}'><pubsub xmlns='{PUBSUB}'><subscriptions/></pubsub></iq>"),
        &iq_error(COVEN, HAG66, "s1", "cancel", "feature-not-implemented", Some("{*}")),
    )
    .await;
    for node in [PARTICIPANTS, INFO] {
        h.exchange1(&items_iq(ROMEO, "f", node), &iq_error(COVEN, ROMEO, "f", "auth", "forbidden", Some("{*}"))).await;
    }
    let nosuch = format!("nosuch@{MIX}");
    h.exchange1(
        &format!(
            "<iq type='get' id='x' from='{HAG66}' to='{nosuch}'><pubsub xmlns='{PUBSUB}'><items node='{PARTICIPANTS}'/></pubsub></iq>"
        ),
        &iq_error(&nosuch, HAG66, "x", "cancel", "item-not-found", None),
    )
    .await;
}

// ================================================================ destroy

fn mix_items(to: &str, id: &str, channels: &[&str]) -> String {
    let items: String = channels.iter().map(|c| format!("<item jid='{c}@{MIX}'/>")).collect();
    iq_result(MIX, to, id, &format!("<query xmlns='{DISCO_ITEMS}'>{items}</query>"))
}

/// XEP-0369 "Destroying a Channel" by its owner: an empty result from the
/// service; every participant (whatever it subscribed to) gets the
/// retraction of its own item; the channel is gone (disco#items, join,
/// message, archive).
#[tokio::test]
async fn destroy_by_the_owner() {
    let h = coven().await;
    h.exchange1(&create_iq(HAG66, "c2", "witches"), &iq_result(MIX, HAG66, "c2", &format!("<create xmlns='{MIX_NS}' channel='witches'/>")))
        .await;
    let hag = join(&h, HAG66_BARE, &[MESSAGES, PARTICIPANTS], Some("third witch")).await;
    let hec = join(&h, HECATE_BARE, &[], Some("top witch")).await;
    post(&h, HAG66, "farewell").await;
    exchange_unordered(
        &h,
        &destroy_iq(HAG66, "lx09df27", "coven"),
        &[iq_result(MIX, HAG66, "lx09df27", ""), retract_event(HAG66_BARE, &hag), retract_event(HECATE_BARE, &hec)],
    )
    .await;
    h.exchange1(
        &format!("<iq type='get' id='i' from='{HAG66}' to='{MIX}'><query xmlns='{DISCO_ITEMS}'/></iq>"),
        &mix_items(HAG66, "i", &["witches"]),
    )
    .await;
    h.exchange1(&join_iq(HECATE_BARE, "j", &[MESSAGES], None), &iq_error(COVEN, HECATE_BARE, "j", "cancel", "item-not-found", None)).await;
    h.exchange1(&groupchat(HAG66, "m", "<body>hello?</body>"), &message_error(COVEN, HAG66, "m", "cancel", "item-not-found", None)).await;
    h.exchange1(&mam_iq(HAG66, "q", None, &[], ""), &iq_error(COVEN, HAG66, "q", "cancel", "item-not-found", None)).await;
    h.exchange1(&destroy_iq(HAG66, "again", "coven"), &iq_error(MIX, HAG66, "again", "cancel", "item-not-found", None)).await;
    // The name is free again, with nobody in it and an empty archive.
    h.exchange1(&create_iq(HECATE, "re", "coven"), &iq_result(MIX, HECATE, "re", &format!("<create xmlns='{MIX_NS}' channel='coven'/>")))
        .await;
    join(&h, HECATE_BARE, &[MESSAGES], None).await;
    h.exchange1(&mam_iq(HECATE, "q2", None, &[], ""), &iq_result(COVEN, HECATE, "q2", &fin(true, None, None, 0))).await;
}

/// Only an owner (or a service admin) may destroy: a participant who is
/// not the owner, and a stranger, get forbidden; the channel stays. A
/// channel that does not exist: item-not-found. A `<destroy/>` without
/// channel, or with an unknown child: bad-request.
#[tokio::test]
async fn destroy_errors() {
    let h = coven().await;
    join(&h, HAG66_BARE, &[PARTICIPANTS], Some("third witch")).await;
    join(&h, HECATE_BARE, &[PARTICIPANTS], Some("top witch")).await;
    for (from, id) in [(HECATE, "f1"), (ROMEO, "f2")] {
        h.exchange1(&destroy_iq(from, id, "coven"), &iq_error(MIX, from, id, "auth", "forbidden", Some("{*}"))).await;
    }
    h.exchange1(&destroy_iq(HAG66, "n1", "nosuch"), &iq_error(MIX, HAG66, "n1", "cancel", "item-not-found", None)).await;
    for (id, payload) in [
        ("b1", format!("<destroy xmlns='{MIX_NS}'/>")),
        ("b2", format!("<destroy xmlns='{MIX_NS}' channel='coven'><foo xmlns='urn:example'/></destroy>")),
        ("b3", format!("<destroy xmlns='{MIX_NS}' channel='a#b'/>")),
    ] {
        h.exchange1(
            &format!("<iq type='set' id='{id}' from='{HAG66}' to='{MIX}'>{payload}</iq>"),
            &iq_error(MIX, HAG66, id, "modify", "bad-request", Some("{*}")),
        )
        .await;
    }
    h.exchange1(
        &format!("<iq type='get' id='i' from='{HAG66}' to='{MIX}'><query xmlns='{DISCO_ITEMS}'/></iq>"),
        &mix_items(HAG66, "i", &["coven"]),
    )
    .await;
    assert_eq!(h.store.list_participants("coven").await.unwrap().len(), 2);
}

/// A service admin (`[service] admins`) may destroy any channel.
#[tokio::test]
async fn service_admin_may_destroy() {
    let h = coven_with("[service]\nadmins = [\"admin@shakespeare.example\"]\n").await;
    let hag = join(&h, HAG66_BARE, &[MESSAGES], Some("third witch")).await;
    exchange_unordered(
        &h,
        &destroy_iq("admin@shakespeare.example/console", "a1", "coven"),
        &[iq_result(MIX, "admin@shakespeare.example/console", "a1", ""), retract_event(HAG66_BARE, &hag)],
    )
    .await;
    h.exchange1(
        &format!("<iq type='get' id='i' from='{HAG66}' to='{MIX}'><query xmlns='{DISCO_ITEMS}'/></iq>"),
        &mix_items(HAG66, "i", &[]),
    )
    .await;
}

/// Plain PubSub subscriptions to a channel's nodes (XEP-0060 §6.1, §6.2):
/// a participant subscribing to the info node after joining gets its next
/// update, and no more after unsubscribing; only for oneself, only
/// participants, only the channel's nodes.
#[tokio::test]
async fn pubsub_subscribe_and_unsubscribe() {
    let h = coven().await;
    let join = format!("<iq type='set' id='j' from='{ROMEO_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='{MESSAGES}'/><nick>romeo</nick></join></iq>");
    assert!(h.send(&join).await.iter().any(|e| e.attr("type") == Some("result")));
    let sub = |id: &str, what: &str, node: &str, jid: &str| format!("<iq type='set' id='{id}' from='{ROMEO}' to='{COVEN}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><{what} node='{node}' jid='{jid}'/></pubsub></iq>");
    h.exchange1(
        &sub("s1", "subscribe", INFO, ROMEO_BARE),
        &format!("<iq type='result' id='s1' from='{COVEN}' to='{ROMEO}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscription node='{INFO}' jid='{ROMEO_BARE}' subscription='subscribed'/></pubsub></iq>"),
    )
    .await;
    let publish = |id: &str, name: &str| {
        format!(
            "<iq type='set' id='{id}' from='{HAG66}' to='{COVEN}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='{INFO}'><item>
               <x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>{MIX_NS}</value></field><field var='Name'><value>{name}</value></field></x>
             </item></publish></pubsub></iq>"
        )
    };
    let out = h.send(&publish("p1", "Witches")).await;
    assert!(out.iter().any(|e| e.name() == "message" && e.attr("to") == Some(ROMEO_BARE)), "romeo gets the info update: {}", out.iter().map(canonical).collect::<String>());
    h.exchange1(
        &sub("u1", "unsubscribe", INFO, ROMEO_BARE),
        &format!("<iq type='result' id='u1' from='{COVEN}' to='{ROMEO}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscription node='{INFO}' jid='{ROMEO_BARE}' subscription='none'/></pubsub></iq>"),
    )
    .await;
    let out = h.send(&publish("p2", "Weird sisters")).await;
    assert!(!out.iter().any(|e| e.attr("to") == Some(ROMEO_BARE)), "no update after unsubscribing");
    let cond = |out: Vec<xmpp_parsers::minidom::Element>| {
        let err = out[0].get_child("error", COMPONENT_NS).expect("an error");
        err.children().find(|c| c.name() != "text").map(|c| c.name().to_string()).unwrap()
    };
    assert_eq!(cond(h.send(&sub("s2", "subscribe", INFO, HECATE_BARE)).await), "forbidden");
    assert_eq!(cond(h.send(&sub("s3", "subscribe", "urn:xmpp:mix:nodes:nothing", ROMEO_BARE)).await), "item-not-found");
    let stranger = format!("<iq type='set' id='s4' from='crone1@shakespeare.example/x' to='{COVEN}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='{INFO}' jid='crone1@shakespeare.example'/></pubsub></iq>");
    assert_eq!(cond(h.send(&stranger).await), "forbidden");
}
