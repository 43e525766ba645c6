//! Golden transcripts for presence in both views: MUC occupants' show,
//! status and payloads (XEP-0045 7.2, 7.7, 7.14) and MIX-PRESENCE
//! (XEP-0403), and how each view shows the other's (docs/muc.md, docs/mix.md).

mod common;

use common::*;
use mixmuc::service::Service;
use xmpp_parsers::minidom::Element;

const MIX_NS: &str = "urn:xmpp:mix:core:1";
const PRESENCE_NS: &str = "urn:xmpp:mix:presence:0";
const NODE_PRESENCE: &str = "urn:xmpp:mix:nodes:presence";
const NODE_MESSAGES: &str = "urn:xmpp:mix:nodes:messages";
const NODE_PARTICIPANTS: &str = "urn:xmpp:mix:nodes:participants";
const MUC_USER: &str = "http://jabber.org/protocol/muc#user";
const CAPS: &str = "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://example/client' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>";
const AVATAR: &str = "<x xmlns='vcard-temp:x:update'><photo>01b87fcd030b72895ff8e88db57ec525450f000d</photo></x>";
const UNKNOWN: &str = "<mood xmlns='urn:example:mood'>witchy</mood>";
const COVEN_MIX: &str = "coven@mix.shakespeare.example";

fn room(nick: &str) -> String {
    format!("coven@{MUC}/{nick}")
}

/// A presence to `coven@muc/nick` with `children`.
fn to_room(from: &str, nick: &str, children: &str) -> String {
    format!("<presence from='{from}' to='{}'>{children}</presence>", room(nick))
}

/// What a room's presence carries after what the occupant said: the
/// library's <priority>0</priority> (never the sender's), then payloads.
fn occupant_presence(nick: &str, to: &str, said: &str, affiliation: &str, role: &str, jid: &str, codes: &[u16], oid: &str) -> String {
    let codes: String = codes.iter().map(|c| format!("<status code='{c}'/>")).collect();
    format!(
        "<presence from='{}' to='{to}'>{said}
           <x xmlns='{MUC_USER}'><item affiliation='{affiliation}' role='{role}' jid='{jid}'/>{codes}</x>
           <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{oid}'/>
         </presence>",
        room(nick)
    )
}

fn presences_to<'a>(out: &'a [Element], to: &str) -> Vec<&'a Element> {
    out.iter().filter(|e| e.name() == "presence" && e.attr("to") == Some(to)).collect()
}

fn show_of(e: &Element) -> Option<String> {
    e.children().find(|c| c.name() == "show").map(|c| c.text())
}

fn status_of(e: &Element) -> Option<String> {
    e.children().find(|c| c.name() == "status").map(|c| c.text())
}

fn oid_of(e: &Element) -> String {
    e.get_child("occupant-id", "urn:xmpp:occupant-id:0").and_then(|o| o.attr("id")).expect("occupant-id").to_string()
}

/// hag66 enters as thirdwitch saying `said`; returns its occupant id.
async fn enter(h: &Harness, from: &str, nick: &str, said: &str) -> Vec<Element> {
    let out = h.send(&to_room(from, nick, &format!("<x xmlns='http://jabber.org/protocol/muc'/>{said}"))).await;
    assert!(out.iter().any(|e| e.name() == "presence" && e.attr("to") == Some(from) && e.attr("type").is_none()), "{from} did not enter: {out:?}");
    // The creator of a new (locked) room accepts the instant room.
    let created = presences_to(&out, from).iter().any(|p| p.get_child("x", MUC_USER).is_some_and(|x| x.children().any(|c| c.name() == "status" && c.attr("code") == Some("201"))));
    if created {
        let bare_room = room("x").split('/').next().unwrap().to_string();
        let answer = h
            .send(&format!("<iq type='set' id='instant' from='{from}' to='{bare_room}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>"))
            .await;
        assert_eq!(answer.first().and_then(|a| a.attr("type")), Some("result"), "instant room refused: {answer:?}");
    }
    out
}

#[tokio::test]
async fn entering_presence_carries_show_status_and_payloads_but_not_muc_elements_or_priority() {
    let h = Harness::new().await;
    let said = format!("<show>dnd</show><status>Making a Brew</status><priority>5</priority>{CAPS}{AVATAR}{UNKNOWN}");
    let out = enter(&h, HAG66, "thirdwitch", &said).await;
    let kept = format!("<show>dnd</show><status>Making a Brew</status><priority>0</priority>{CAPS}{AVATAR}{UNKNOWN}");
    let oid = oid_of(presences_to(&out, HAG66)[0]);
    assert_xml(presences_to(&out, HAG66)[0], &occupant_presence("thirdwitch", HAG66, &kept, "owner", "moderator", HAG66, &[110, 100, 201], &oid));

    // A newcomer sees it, and the others see the newcomer's.
    let out = enter(&h, HAG01, "secondwitch", "<show>chat</show>").await;
    let to_hag01 = presences_to(&out, HAG01);
    assert_xml(to_hag01[0], &occupant_presence("thirdwitch", HAG01, &kept, "owner", "moderator", HAG66, &[], &oid));
    let to_hag66 = presences_to(&out, HAG66);
    assert_eq!(to_hag66.len(), 1);
    assert_eq!(show_of(to_hag66[0]).as_deref(), Some("chat"));
    assert_eq!(to_hag66[0].get_child("x", "http://jabber.org/protocol/muc").map(|_| ()), None);
}

#[tokio::test]
async fn same_nick_presence_update_goes_to_every_occupant() {
    let h = Harness::new().await;
    let out = enter(&h, HAG66, "thirdwitch", "").await;
    let oid = oid_of(presences_to(&out, HAG66)[0]);
    enter(&h, HAG01, "secondwitch", "").await;
    let said = format!("<show>away</show><status>Gathering herbs</status>{CAPS}");
    let kept = format!("<show>away</show><status>Gathering herbs</status><priority>0</priority>{CAPS}");
    h.exchange(
        &to_room(HAG66, "thirdwitch", &said),
        &[
            &occupant_presence("thirdwitch", HAG66, &kept, "owner", "moderator", HAG66, &[110], &oid),
            &occupant_presence("thirdwitch", HAG01, &kept, "owner", "moderator", HAG66, &[], &oid),
        ],
    )
    .await;
    // Back to plain available: the show and status go.
    h.exchange(
        &to_room(HAG66, "thirdwitch", ""),
        &[
            &occupant_presence("thirdwitch", HAG66, "<priority>0</priority>", "owner", "moderator", HAG66, &[110], &oid),
            &occupant_presence("thirdwitch", HAG01, "<priority>0</priority>", "owner", "moderator", HAG66, &[], &oid),
        ],
    )
    .await;
}

#[tokio::test]
async fn leaving_status_is_reflected() {
    let h = Harness::new().await;
    enter(&h, HAG66, "thirdwitch", "").await;
    let out = enter(&h, HAG01, "secondwitch", "<show>xa</show>").await;
    let oid = oid_of(presences_to(&out, HAG01).last().unwrap());
    let gone = "<status>gone where the goblins go</status><priority>0</priority>";
    h.exchange(
        &format!("<presence type='unavailable' from='{HAG01}' to='{}'><status>gone where the goblins go</status></presence>", room("secondwitch")),
        &[
            &format!(
                "<presence type='unavailable' from='{}' to='{HAG01}'>{gone}<x xmlns='{MUC_USER}'><item affiliation='none' role='none' jid='{HAG01}'/><status code='110'/></x><occupant-id xmlns='urn:xmpp:occupant-id:0' id='{oid}'/></presence>",
                room("secondwitch")
            ),
            &format!(
                "<presence type='unavailable' from='{}' to='{HAG66}'>{gone}<x xmlns='{MUC_USER}'><item affiliation='none' role='none' jid='{HAG01}'/></x><occupant-id xmlns='urn:xmpp:occupant-id:0' id='{oid}'/></presence>",
                room("secondwitch")
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn presence_survives_a_restart() {
    let h = Harness::new().await;
    enter(&h, HAG66, "thirdwitch", &format!("<show>dnd</show><status>Making a Brew</status>{AVATAR}")).await;
    h.send(&to_room(HAG66, "thirdwitch", "<show>away</show><status>Back soon</status>")).await;
    // A new service over the same store (empty caches), as after a restart.
    let restarted = Service::new(&h.config, h.store.clone());
    let out: Vec<Element> = restarted.handle(stanza(&to_room(HAG01, "secondwitch", ""))).await.iter().map(to_element).collect();
    let seen = presences_to(&out, HAG01);
    assert_eq!(seen[0].attr("from"), Some(room("thirdwitch").as_str()));
    assert_eq!(show_of(seen[0]).as_deref(), Some("away"));
    assert_eq!(status_of(seen[0]).as_deref(), Some("Back soon"));
    assert!(seen[0].get_child("x", "vcard-temp:x:update").is_none(), "the update replaced the whole presence");
}

/// Several sessions of one user share one nick: the room shows the
/// presence of the most recently updated session (entering counts).
#[tokio::test]
async fn several_sessions_show_the_most_recently_updated_one() {
    let h = Harness::new().await;
    let other_session = "hag66@shakespeare.example/broom";
    enter(&h, HAG01, "secondwitch", "").await;
    enter(&h, HAG66, "thirdwitch", "<show>dnd</show>").await;

    // A second session with the same presence: the others are not told.
    let out = enter(&h, other_session, "thirdwitch", "<show>dnd</show>").await;
    assert!(presences_to(&out, HAG01).is_empty(), "{out:?}");
    // The second session changes: everyone sees the change,
    // the user's own sessions with 110.
    let out = h.send(&to_room(other_session, "thirdwitch", "<show>chat</show>")).await;
    for to in [HAG01, HAG66, other_session] {
        let got = presences_to(&out, to);
        assert_eq!(got.len(), 1, "to {to}: {out:?}");
        assert_eq!(show_of(got[0]).as_deref(), Some("chat"));
    }
    // Now the first session updates: it is the newest, so it is shown.
    let out = h.send(&to_room(HAG66, "thirdwitch", "<show>xa</show>")).await;
    assert_eq!(show_of(presences_to(&out, HAG01)[0]).as_deref(), Some("xa"));
    // A newcomer sees the newest.
    let out = enter(&h, ROMEO, "romeo", "").await;
    let thirdwitch = presences_to(&out, ROMEO).into_iter().find(|e| e.attr("from") == Some(room("thirdwitch").as_str())).expect("thirdwitch");
    assert_eq!(show_of(thirdwitch).as_deref(), Some("xa"));
    // A further session entering with another presence is a change the others see.
    let out = enter(&h, "hag66@shakespeare.example/cauldron", "thirdwitch", "<show>away</show>").await;
    assert_eq!(show_of(presences_to(&out, ROMEO)[0]).as_deref(), Some("away"));
}

#[tokio::test]
async fn presence_update_from_a_non_occupant_enters() {
    // Nothing special: a presence to room/nick from a session not in the
    // room enters it, with what it says; but it does not create a missing
    // room (only a MUC client's entry, with <x/>, does).
    let h = Harness::new().await;
    let out = h.send(&to_room(HAG66, "thirdwitch", "<show>away</show>")).await;
    assert_eq!(out[0].attr("type"), Some("error"));
    assert!(out[0].get_child("error", COMPONENT_NS).unwrap().has_child("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas"));
    assert!(h.store.get_channel("coven").await.unwrap().is_none());
    create(&h).await;
    let out = h.send(&to_room(HAG66, "thirdwitch", "<show>away</show>")).await;
    assert_eq!(show_of(presences_to(&out, HAG66)[0]).as_deref(), Some("away"));
}

// ---------------------------------------------------------------------------
// MIX-PRESENCE

fn subscribes(nodes: &[&str]) -> String {
    nodes.iter().map(|n| format!("<subscribe node='{n}'/>")).collect()
}

async fn create(h: &Harness) {
    let out = h.send(&format!("<iq type='set' id='c0' from='{HAG66}' to='{MIX}'><create xmlns='{MIX_NS}' channel='coven'/></iq>")).await;
    assert_eq!(out[0].attr("type"), Some("result"));
}

/// A join from the participant's server; returns the participant id.
async fn join(h: &Harness, bare: &str, nick: &str, nodes: &[&str]) -> String {
    let out = h.send(&format!("<iq type='set' id='j' from='{bare}' to='{COVEN_MIX}'><join xmlns='{MIX_NS}'>{}<nick>{nick}</nick></join></iq>", subscribes(nodes))).await;
    let iq = out.iter().find(|e| e.name() == "iq").expect("join answer");
    assert_eq!(iq.attr("type"), Some("result"), "{}", canonical(iq));
    let j = iq.get_child("join", MIX_NS).expect("join");
    assert!(j.children().any(|s| s.attr("node") == Some(NODE_PRESENCE)) == nodes.contains(&NODE_PRESENCE), "presence node subscription: {}", canonical(iq));
    j.attr("id").unwrap().to_string()
}

fn mix_presence(pid: &str, resource: &str, to: &str, type_: Option<&str>, full: &str, nick: &str, said: &str) -> String {
    let t = type_.map(|t| format!(" type='{t}'")).unwrap_or_default();
    format!(
        "<presence from='{pid}#{COVEN_MIX}/{resource}' to='{to}'{t}>{said}<mix xmlns='{PRESENCE_NS}'><jid>{full}</jid><nick>{nick}</nick></mix></presence>"
    )
}

#[tokio::test]
async fn mix_client_presence_goes_to_presence_subscribers_from_the_proxy_jid() {
    let h = Harness::new().await;
    create(&h).await;
    let t66 = h.service.channels.session_token("coven", HAG66).await.unwrap();
    let hag66 = join(&h, HAG66_BARE, "thirdwitch", &[NODE_MESSAGES, NODE_PRESENCE]).await;
    join(&h, HAG01_BARE, "secondwitch", &[NODE_MESSAGES, NODE_PRESENCE]).await;
    join(&h, ROMEO_BARE, "romeo", &[NODE_MESSAGES]).await; // no presence node: nothing for him
    // XEP-0403 listing 3 and 4.
    h.exchange(
        &format!("<presence from='{HAG66}' to='{COVEN_MIX}'><show>dnd</show><status>Making a Brew</status><priority>1</priority></presence>"),
        &[
            &mix_presence(&hag66, &t66, HAG66_BARE, None, HAG66, "thirdwitch", "<show>dnd</show><status>Making a Brew</status><priority>0</priority>"),
            &mix_presence(&hag66, &t66, HAG01_BARE, None, HAG66, "thirdwitch", "<show>dnd</show><status>Making a Brew</status><priority>0</priority>"),
        ],
    )
    .await;
    // The presence node holds the item (listing 1).
    h.exchange1(
        &format!("<iq type='get' id='p1' from='{HAG01}' to='{COVEN_MIX}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='{NODE_PRESENCE}'/></pubsub></iq>"),
        &format!(
            "<iq type='result' id='p1' from='{COVEN_MIX}' to='{HAG01}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='{NODE_PRESENCE}'>
               <item id='{hag66}#{COVEN_MIX}/{t66}'><presence xmlns='jabber:client'><show>dnd</show><status>Making a Brew</status>
                 <mix xmlns='{PRESENCE_NS}'><jid>{HAG66}</jid><nick>thirdwitch</nick></mix></presence></item>
             </items></pubsub></iq>"
        ),
    )
    .await;
    // Going offline (listings 5 and 6): unavailable to subscribers, item gone.
    h.exchange(
        &format!("<presence type='unavailable' from='{HAG66}' to='{COVEN_MIX}'/>"),
        &[
            &mix_presence(&hag66, &t66, HAG66_BARE, Some("unavailable"), HAG66, "thirdwitch", "<priority>0</priority>"),
            &mix_presence(&hag66, &t66, HAG01_BARE, Some("unavailable"), HAG66, "thirdwitch", "<priority>0</priority>"),
        ],
    )
    .await;
    h.exchange1(
        &format!("<iq type='get' id='p2' from='{HAG01}' to='{COVEN_MIX}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='{NODE_PRESENCE}'/></pubsub></iq>"),
        &format!("<iq type='result' id='p2' from='{COVEN_MIX}' to='{HAG01}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='{NODE_PRESENCE}'/></pubsub></iq>"),
    )
    .await;
    // A second unavailable changes nothing.
    h.exchange(&format!("<presence type='unavailable' from='{HAG66}' to='{COVEN_MIX}'/>"), &[]).await;
}

/// In a JID-hidden channel (XEP-0404) the presence node's proxy JIDs do
/// not carry the client's real resource: an opaque token of the session
/// (the one private messages use), and no `<jid/>`.
#[tokio::test]
async fn proxy_jids_in_a_jid_hidden_channel_hide_the_resource() {
    let h = Harness::new().await;
    create(&h).await;
    let mut row = h.store.get_channel("coven").await.unwrap().unwrap();
    row.jid_visibility = mixmuc::store::JidVisibility::Hidden;
    h.store.update_config(&row).await.unwrap();
    h.service.channels.invalidate("coven").await;
    let hag66 = join(&h, HAG66_BARE, "thirdwitch", &[NODE_MESSAGES, NODE_PRESENCE]).await;
    join(&h, HAG01_BARE, "secondwitch", &[NODE_MESSAGES, NODE_PRESENCE]).await;
    let token = h.service.channels.session_token("coven", HAG66).await.unwrap();
    assert!(!token.contains("UUID"), "{token}");
    let hidden = |to: &str| format!("<presence from='{hag66}#{COVEN_MIX}/{token}' to='{to}'><show>dnd</show><priority>0</priority><mix xmlns='{PRESENCE_NS}'><nick>thirdwitch</nick></mix></presence>");
    h.exchange(&format!("<presence from='{HAG66}' to='{COVEN_MIX}'><show>dnd</show></presence>"), &[&hidden(HAG66_BARE), &hidden(HAG01_BARE)]).await;
    h.exchange1(
        &format!("<iq type='get' id='p1' from='{HAG01}' to='{COVEN_MIX}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='{NODE_PRESENCE}'/></pubsub></iq>"),
        &format!(
            "<iq type='result' id='p1' from='{COVEN_MIX}' to='{HAG01}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='{NODE_PRESENCE}'>
               <item id='{hag66}#{COVEN_MIX}/{token}'><presence xmlns='jabber:client'><show>dnd</show>
                 <mix xmlns='{PRESENCE_NS}'><nick>thirdwitch</nick></mix></presence></item>
             </items></pubsub></iq>"
        ),
    )
    .await;
}

#[tokio::test]
async fn presence_to_a_channel_errors() {
    let h = Harness::new().await;
    create(&h).await;
    // Not a participant.
    h.exchange1(
        &format!("<presence id='x1' from='{ROMEO}' to='{COVEN_MIX}'><show>away</show></presence>"),
        &format!(
            "<presence type='error' id='x1' from='{COVEN_MIX}' to='{ROMEO}'><priority>0</priority><error type='auth' by='{COVEN_MIX}'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>{{*}}</text></error></presence>"
        ),
    )
    .await;
    // Unavailable from a non-participant: nothing to do, no answer.
    h.exchange(&format!("<presence type='unavailable' from='{ROMEO}' to='{COVEN_MIX}'/>"), &[]).await;
    // A refresh (bare JID) from a non-participant.
    let out = h.send(&format!("<presence id='x2' from='{ROMEO_BARE}' to='{COVEN_MIX}'/>")).await;
    assert!(out[0].get_child("error", COMPONENT_NS).unwrap().has_child("forbidden", "urn:ietf:params:xml:ns:xmpp-stanzas"));
    // A channel that does not exist.
    let out = h.send(&format!("<presence id='x3' from='{HAG01}' to='nowhere@{MIX}'/>")).await;
    assert!(out[0].get_child("error", COMPONENT_NS).unwrap().has_child("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas"));
}

#[tokio::test]
async fn muc_occupants_are_in_the_presence_node_and_mix_clients_are_occupants() {
    let h = Harness::new().await;
    create(&h).await;
    let (t66, t01) = (h.service.channels.session_token("coven", HAG66).await.unwrap(), h.service.channels.session_token("coven", HAG01).await.unwrap());
    let hag66 = join(&h, HAG66_BARE, "thirdwitch", &[NODE_MESSAGES, NODE_PRESENCE, NODE_PARTICIPANTS]).await;

    // A MUC occupant enters: MIX presence subscribers get its presence from its proxy JID.
    let out = h.send(&to_room(HAG01, "secondwitch", &format!("<x xmlns='http://jabber.org/protocol/muc'/><show>chat</show>{CAPS}"))).await;
    let to_mix: Vec<&Element> = out.iter().filter(|e| e.name() == "presence" && e.attr("to") == Some(HAG66_BARE)).collect();
    assert_eq!(to_mix.len(), 1, "{out:?}");
    let from = to_mix[0].attr("from").unwrap();
    let hag01 = from.split_once('#').unwrap().0.to_string();
    assert_xml(
        to_mix[0],
        &format!(
            "<presence from='{hag01}#{COVEN_MIX}/{t01}' to='{HAG66_BARE}'><show>chat</show><priority>0</priority>
               <mix xmlns='{PRESENCE_NS}'><jid>{HAG01}</jid><nick>secondwitch</nick></mix>{CAPS}</presence>"
        ),
    );
    // hag66 shares presence (subscribed to the presence node) and has no
    // client online: the room does not show her.
    let to_room_hag01 = presences_to(&out, HAG01);
    assert!(to_room_hag01.iter().all(|e| e.attr("from") != Some(room("thirdwitch").as_str())), "{out:?}");

    // Her MIX client comes online: the room shows her with its show/status.
    let out = h.send(&format!("<presence from='{HAG66}' to='{COVEN_MIX}'><show>dnd</show><status>Making a Brew</status></presence>")).await;
    let seen = presences_to(&out, HAG01);
    assert_eq!(seen.len(), 1, "{out:?}");
    assert_eq!(seen[0].attr("from"), Some(room("thirdwitch").as_str()));
    assert_eq!((show_of(seen[0]).as_deref(), status_of(seen[0]).as_deref()), (Some("dnd"), Some("Making a Brew")));
    assert_eq!(oid_of(seen[0]), hag66);

    // The presence node: the MUC session and the MIX client.
    let out = h.send(&format!("<iq type='get' id='p1' from='{HAG66}' to='{COVEN_MIX}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='{NODE_PRESENCE}'/></pubsub></iq>")).await;
    let items: Vec<String> = out[0].get_child("pubsub", "http://jabber.org/protocol/pubsub").unwrap().get_child("items", "http://jabber.org/protocol/pubsub").unwrap().children().map(|i| i.attr("id").unwrap().to_string()).collect();
    assert_eq!(items, vec![format!("{hag01}#{COVEN_MIX}/{t01}"), format!("{hag66}#{COVEN_MIX}/{t66}")]);

    // The MUC occupant changes its presence: the MIX subscribers see it.
    let out = h.send(&to_room(HAG01, "secondwitch", "<show>away</show>")).await;
    let to_mix: Vec<&Element> = out.iter().filter(|e| e.attr("to") == Some(HAG66_BARE)).collect();
    assert_xml(to_mix[0], &mix_presence(&hag01, &t01, HAG66_BARE, None, HAG01, "secondwitch", "<show>away</show><priority>0</priority>"));

    // Her MIX client goes offline: she leaves the room's view.
    let out = h.send(&format!("<presence type='unavailable' from='{HAG66}' to='{COVEN_MIX}'/>")).await;
    let seen = presences_to(&out, HAG01);
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].attr("from"), seen[0].attr("type")), (Some(room("thirdwitch").as_str()), Some("unavailable")));

    // The MUC occupant leaves: unavailable from its proxy JID.
    let out = h.send(&format!("<presence type='unavailable' from='{HAG01}' to='{}'/>", room("secondwitch"))).await;
    let to_mix: Vec<&Element> = out.iter().filter(|e| e.name() == "presence" && e.attr("to") == Some(HAG66_BARE)).collect();
    assert_xml(to_mix[0], &mix_presence(&hag01, &t01, HAG66_BARE, Some("unavailable"), HAG01, "secondwitch", "<priority>0</priority>"));
}

#[tokio::test]
async fn mix_participant_without_presence_sharing_stays_plainly_available() {
    let h = Harness::new().await;
    create(&h).await;
    join(&h, HAG66_BARE, "thirdwitch", &[NODE_MESSAGES]).await;
    let out = enter(&h, HAG01, "secondwitch", "").await;
    let her = presences_to(&out, HAG01).into_iter().find(|e| e.attr("from") == Some(room("thirdwitch").as_str())).expect("thirdwitch is shown");
    assert_eq!(show_of(her), None);
}

#[tokio::test]
async fn leaving_the_channel_takes_the_clients_offline() {
    let h = Harness::new().await;
    create(&h).await;
    let t66 = h.service.channels.session_token("coven", HAG66).await.unwrap();
    let hag66 = join(&h, HAG66_BARE, "thirdwitch", &[NODE_PRESENCE]).await;
    join(&h, HAG01_BARE, "secondwitch", &[NODE_PRESENCE]).await;
    h.send(&format!("<presence from='{HAG66}' to='{COVEN_MIX}'/>")).await;
    let out = h.send(&format!("<iq type='set' id='l1' from='{HAG66_BARE}' to='{COVEN_MIX}'><leave xmlns='{MIX_NS}'/></iq>")).await;
    let to_hag01: Vec<&Element> = out.iter().filter(|e| e.name() == "presence" && e.attr("to") == Some(HAG01_BARE)).collect();
    assert_eq!(to_hag01.len(), 1, "{out:?}");
    assert_xml(to_hag01[0], &mix_presence(&hag66, &t66, HAG01_BARE, Some("unavailable"), HAG66, "thirdwitch", "<priority>0</priority>"));
    // And a new subscriber learns who is online when joining: nobody now.
    let out = h.send(&format!("<iq type='set' id='j' from='{ROMEO_BARE}' to='{COVEN_MIX}'><join xmlns='{MIX_NS}'>{}</join></iq>", subscribes(&[NODE_PRESENCE]))).await;
    assert!(out.iter().all(|e| e.name() != "presence" || e.attr("to") != Some(ROMEO_BARE)), "{out:?}");
}

#[tokio::test]
async fn a_new_presence_subscriber_gets_the_online_clients() {
    let h = Harness::new().await;
    create(&h).await;
    let t66 = h.service.channels.session_token("coven", HAG66).await.unwrap();
    let hag66 = join(&h, HAG66_BARE, "thirdwitch", &[NODE_PRESENCE]).await;
    h.send(&format!("<presence from='{HAG66}' to='{COVEN_MIX}'><show>chat</show></presence>")).await;
    let out = h.send(&format!("<iq type='set' id='j' from='{HAG01_BARE}' to='{COVEN_MIX}'><join xmlns='{MIX_NS}'>{}</join></iq>", subscribes(&[NODE_PRESENCE]))).await;
    let to_hag01: Vec<&Element> = out.iter().filter(|e| e.name() == "presence" && e.attr("to") == Some(HAG01_BARE)).collect();
    assert_eq!(to_hag01.len(), 1, "{out:?}");
    assert_xml(to_hag01[0], &mix_presence(&hag66, &t66, HAG01_BARE, None, HAG66, "thirdwitch", "<show>chat</show><priority>0</priority>"));
}

/// XEP-0405 2.9.3: the participant's server asks for the whole node again
/// with an available presence from the user's bare JID (or a probe).
#[tokio::test]
async fn a_presence_from_the_bare_jid_refreshes_the_whole_node() {
    let h = Harness::new().await;
    create(&h).await;
    let t66 = h.service.channels.session_token("coven", HAG66).await.unwrap();
    let hag66 = join(&h, HAG66_BARE, "thirdwitch", &[NODE_PRESENCE]).await;
    join(&h, HAG01_BARE, "secondwitch", &[NODE_PRESENCE]).await;
    h.send(&format!("<presence from='{HAG66}' to='{COVEN_MIX}'><show>chat</show></presence>")).await;
    let expected = mix_presence(&hag66, &t66, HAG01_BARE, None, HAG66, "thirdwitch", "<show>chat</show><priority>0</priority>");
    h.exchange(&format!("<presence from='{HAG01_BARE}' to='{COVEN_MIX}'/>"), &[&expected]).await;
    h.exchange(&format!("<presence type='probe' from='{HAG01_BARE}' to='{COVEN_MIX}'/>"), &[&expected]).await;
    // An unavailable from a bare JID means nothing to a channel.
    h.exchange(&format!("<presence type='unavailable' from='{HAG01_BARE}' to='{COVEN_MIX}'/>"), &[]).await;
}

#[tokio::test]
async fn a_mix_nick_change_is_sent_again_as_presence() {
    let h = Harness::new().await;
    create(&h).await;
    let t66 = h.service.channels.session_token("coven", HAG66).await.unwrap();
    let hag66 = join(&h, HAG66_BARE, "thirdwitch", &[NODE_PRESENCE]).await;
    h.send(&format!("<presence from='{HAG66}' to='{COVEN_MIX}'><show>chat</show></presence>")).await;
    let out = h.send(&format!("<iq type='set' id='n' from='{HAG66_BARE}' to='{COVEN_MIX}'><setnick xmlns='{MIX_NS}'><nick>hecate</nick></setnick></iq>")).await;
    let pres: Vec<&Element> = out.iter().filter(|e| e.name() == "presence").collect();
    assert_eq!(pres.len(), 1, "{out:?}");
    assert_xml(pres[0], &mix_presence(&hag66, &t66, HAG66_BARE, None, HAG66, "hecate", "<show>chat</show><priority>0</priority>"));
}

/// The owner's form (muc#owner, `whois`) switching the JID visibility;
/// what the service sends.
async fn set_whois(h: &Harness, whois: &str) -> Vec<Element> {
    let out = h
        .send(&format!(
            "<iq type='set' id='w' from='{HAG66}' to='coven@{MUC}'><query xmlns='http://jabber.org/protocol/muc#owner'>\
             <x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
             <field var='muc#roomconfig_whois'><value>{whois}</value></field></x></query></iq>"
        ))
        .await;
    assert!(out.iter().any(|e| e.name() == "iq" && e.attr("type") == Some("result")), "{:?}", out.iter().map(canonical).collect::<Vec<_>>());
    out
}

/// A switch of the channel's JID visibility sends each online client's
/// presence again from its unchanged proxy JID (the session token),
/// rendered in the new mode: without it, subscribers (and the
/// participant's server, which replays the presence it holds to each new
/// session of the user) would keep the `<jid/>` of the visible days in a
/// channel made JID-hidden (found by the leak suite).
#[tokio::test]
async fn a_visibility_switch_sends_presence_again_in_the_new_mode() {
    let h = Harness::new().await;
    create(&h).await;
    let hag66 = join(&h, HAG66_BARE, "thirdwitch", &[NODE_MESSAGES, NODE_PRESENCE]).await;
    join(&h, HAG01_BARE, "secondwitch", &[NODE_MESSAGES, NODE_PRESENCE]).await;
    h.send(&format!("<presence from='{HAG66}' to='{COVEN_MIX}'><show>dnd</show></presence>")).await;
    let token = h.service.channels.session_token("coven", HAG66).await.unwrap();
    let to_hag01 = |out: &[Element]| presences_to(out, HAG01_BARE).into_iter().cloned().collect::<Vec<Element>>();

    let hidden_mix = "<mix xmlns='urn:xmpp:mix:presence:0'><nick>thirdwitch</nick></mix>";
    assert_stanzas(
        &to_hag01(&set_whois(&h, "moderators").await),
        &[&format!("<presence from='{hag66}#{COVEN_MIX}/{token}' to='{HAG01_BARE}'><show>dnd</show><priority>0</priority>{hidden_mix}</presence>")],
    );
    assert_stanzas(
        &to_hag01(&set_whois(&h, "anyone").await),
        &[&mix_presence(&hag66, &token, HAG01_BARE, None, HAG66, "thirdwitch", "<show>dnd</show><priority>0</priority>")],
    );
    // Nothing is sent again when the visibility stays.
    assert!(to_hag01(&set_whois(&h, "anyone").await).is_empty());
}
