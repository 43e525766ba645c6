//! Golden transcripts for the ad-hoc commands (XEP-0050, in the style of
//! XEP-0133): the service admins' commands on both service domains (list
//! channels, statistics, destroy, ban and unban service-wide, kick from
//! every channel, announce), the owners' command on the room / channel JID
//! (clear the history), what everyone else gets (`forbidden`, an empty
//! list), the forms' errors, and a service-wide ban seen in both views.
//!
//! coven is created by hag66 (its owner), who is in the room as
//! "thirdwitch"; hag01 is in the room as "firstwitch"; hecate is a MIX
//! participant ("hecate", messages and participants nodes). The service
//! admin is admin@shakespeare.example.

mod common;

use common::*;
use xmpp_parsers::minidom::Element;

const CMD: &str = "http://jabber.org/protocol/commands";
const XDATA: &str = "jabber:x:data";
const ADMIN_FORM: &str = "http://jabber.org/protocol/admin";
const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const MIX_NS: &str = "urn:xmpp:mix:core:1";
const USER: &str = "http://jabber.org/protocol/muc#user";
const PUBSUB_EVENT: &str = "http://jabber.org/protocol/pubsub#event";
const MAM: &str = "urn:xmpp:mam:2";

const ADMIN: &str = "admin@shakespeare.example/desk";
const ADMIN_BARE: &str = "admin@shakespeare.example";

const LIST: &str = "urn:mixmuc:admin:0#list-channels";
const STATS: &str = "urn:mixmuc:admin:0#statistics";
const DESTROY: &str = "urn:mixmuc:admin:0#destroy-channel";
const BAN: &str = "urn:mixmuc:admin:0#ban";
const UNBAN: &str = "urn:mixmuc:admin:0#unban";
const KICK: &str = "urn:mixmuc:admin:0#kick";
const ANNOUNCE: &str = "http://jabber.org/protocol/admin#announce";
const CLEAR: &str = "urn:mixmuc:room:0#clear-history";

/// The room of the module documentation, with a service admin.
async fn room() -> Harness {
    let h = Harness::with_toml(&format!("[service]\nadmins = [\"{ADMIN_BARE}\"]\n")).await;
    coven_room(&h).await;
    let join = format!(
        "<iq type='set' id='j-hecate' from='{HECATE_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'>\
           <subscribe node='urn:xmpp:mix:nodes:messages'/><subscribe node='urn:xmpp:mix:nodes:participants'/><nick>hecate</nick></join></iq>"
    );
    assert!(h.send(&join).await.iter().any(|e| e.attr("type") == Some("result")), "hecate's join failed");
    h
}

/// `<iq type='set'><command node action sessionid>form</command></iq>`.
fn command(from: &str, to: &str, id: &str, node: &str, action: Option<&str>, sessionid: Option<&str>, fields: Option<&[(&str, &str)]>) -> String {
    let action = action.map(|a| format!(" action='{a}'")).unwrap_or_default();
    let sid = sessionid.map(|s| format!(" sessionid='{s}'")).unwrap_or_default();
    let form = fields
        .map(|fs| {
            let fs: String = fs.iter().map(|(var, value)| format!("<field var='{var}'><value>{value}</value></field>")).collect();
            format!("<x xmlns='{XDATA}' type='submit'><field var='FORM_TYPE' type='hidden'><value>{ADMIN_FORM}</value></field>{fs}</x>")
        })
        .unwrap_or_default();
    format!("<iq type='set' id='{id}' from='{from}' to='{to}'><command xmlns='{CMD}' node='{node}'{action}{sid}>{form}</command></iq>")
}

/// Executes `node` at `to` and returns the session id of the form it answers.
async fn start(h: &Harness, from: &str, to: &str, node: &str) -> String {
    let out = h.send(&command(from, to, "x0", node, None, None, None)).await;
    let c = out[0].get_child("command", CMD).unwrap_or_else(|| panic!("no command in {}", canonical(&out[0])));
    assert_eq!(c.attr("status"), Some("executing"), "{}", canonical(&out[0]));
    c.attr("sessionid").expect("a sessionid").to_string()
}

/// A completed command's IQ result with an info note (and a result form).
fn completed(from: &str, to: &str, id: &str, node: &str, note: &str, result: &str) -> String {
    format!("<iq type='result' id='{id}' from='{from}' to='{to}'><command xmlns='{CMD}' node='{node}' sessionid='{{*}}' status='completed'>{result}<note type='info'>{note}</note></command></iq>")
}

/// (condition, text) of an error stanza.
fn error_of(e: &Element) -> (String, String) {
    let err = e.get_child("error", COMPONENT_NS).unwrap_or_else(|| panic!("no error in {}", canonical(e)));
    let cond = err.children().find(|c| c.ns() == STANZAS && c.name() != "text").map(|c| c.name().to_string()).unwrap_or_default();
    let text = err.children().find(|c| c.name() == "text").map(|t| t.text()).unwrap_or_default();
    (cond, text)
}

/// Every expected stanza matches one actual stanza, and nothing is left.
fn assert_unordered(actual: &[Element], expected: &[String]) {
    let mut left: Vec<&Element> = actual.iter().collect();
    for want in expected {
        let Some(i) = left.iter().position(|a| matches_xml(a, want)) else {
            // The differences from the stanza to the same address, if any.
            let to = element(want).attr("to").map(str::to_string);
            if let Some(a) = left.iter().find(|a| a.attr("to").map(str::to_string) == to) {
                assert_xml(a, want);
            }
            panic!("no stanza matches\n{want}\namong\n{}", left.iter().map(|a| canonical(a)).collect::<Vec<_>>().join("\n"))
        };
        left.remove(i);
    }
    assert!(left.is_empty(), "unexpected stanzas:\n{}", left.iter().map(|a| canonical(a)).collect::<Vec<_>>().join("\n"));
}

fn field(var: &str, label: &str, value: &str) -> String {
    format!("<field var='{var}' label='{label}'><value>{value}</value></field>")
}

fn stats_form(channels: u32, participants: u32, occupants: u32, clients: u32, messages: u32, bans: u32) -> String {
    format!(
        "<x xmlns='{XDATA}' type='result'><title>Service statistics</title>\
           <field var='FORM_TYPE' type='hidden'><value>{ADMIN_FORM}</value></field>{}{}{}{}{}{}</x>",
        field("channels", "Channels", &channels.to_string()),
        field("participants", "Participants", &participants.to_string()),
        field("occupants", "MUC sessions in rooms", &occupants.to_string()),
        field("mix-clients", "Online MIX clients", &clients.to_string()),
        field("messages", "Archived messages", &messages.to_string()),
        field("bans", "Service-wide bans", &bans.to_string()),
    )
}

async fn stats(h: &Harness, id: &str) -> Element {
    let out = h.send(&command(ADMIN, MUC, id, STATS, None, None, None)).await;
    assert_eq!(out.len(), 1);
    out[0].clone()
}

/// A groupchat into coven from a MUC session.
async fn say(h: &Harness, from: &str, body: &str) {
    let out = h.send(&format!("<message type='groupchat' id='m-{body}' from='{from}' to='{ROOM}'><body>{body}</body></message>")).await;
    assert!(out.iter().all(|e| e.attr("type") != Some("error")), "{}", canonical(&out[0]));
}

// ================================================================ discovery

/// disco#info on both service domains and on the room and the channel
/// names the commands feature.
#[tokio::test]
async fn disco_info_advertises_commands() {
    let h = room().await;
    for to in [MIX, MUC, ROOM, COVEN] {
        let out = h.send(&format!("<iq type='get' id='i' from='{HAG01}' to='{to}'><query xmlns='{DISCO_INFO}'/></iq>")).await;
        let q = out[0].get_child("query", DISCO_INFO).unwrap_or_else(|| panic!("{}", canonical(&out[0])));
        assert!(q.children().any(|f| f.name() == "feature" && f.attr("var") == Some(CMD)), "{to}: {}", canonical(&out[0]));
    }
}

/// The admin's command list on each service domain; others see none.
#[tokio::test]
async fn service_command_list_for_admins_only() {
    let h = room().await;
    for domain in [MUC, MIX] {
        let items: String = [
            (LIST, "List channels"),
            (STATS, "Service statistics"),
            (DESTROY, "Destroy a channel"),
            (BAN, "Ban a user or a domain from the whole service"),
            (UNBAN, "Lift a service-wide ban"),
            (KICK, "Kick a user from every channel"),
            (ANNOUNCE, "Send an announcement to every channel"),
        ]
        .iter()
        .map(|(node, name)| format!("<item jid='{domain}' node='{node}' name='{name}'/>"))
        .collect();
        h.exchange1(
            &format!("<iq type='get' id='d1' from='{ADMIN}' to='{domain}'><query xmlns='{DISCO_ITEMS}' node='{CMD}'/></iq>"),
            &format!("<iq type='result' id='d1' from='{domain}' to='{ADMIN}'><query xmlns='{DISCO_ITEMS}' node='{CMD}'>{items}</query></iq>"),
        )
        .await;
        // The owner of a room is no service admin.
        h.exchange1(
            &format!("<iq type='get' id='d2' from='{HAG66}' to='{domain}'><query xmlns='{DISCO_ITEMS}' node='{CMD}'/></iq>"),
            &format!("<iq type='result' id='d2' from='{domain}' to='{HAG66}'><query xmlns='{DISCO_ITEMS}' node='{CMD}'/></iq>"),
        )
        .await;
    }
}

/// The room's commands are listed on the room and the channel JID to its
/// owner (and a service admin), to nobody else.
#[tokio::test]
async fn room_command_list_for_owners_only() {
    let h = room().await;
    for (to, who) in [(ROOM, HAG66), (COVEN, HAG66), (ROOM, ADMIN)] {
        h.exchange1(
            &format!("<iq type='get' id='r1' from='{who}' to='{to}'><query xmlns='{DISCO_ITEMS}' node='{CMD}'/></iq>"),
            &format!("<iq type='result' id='r1' from='{to}' to='{who}'><query xmlns='{DISCO_ITEMS}' node='{CMD}'><item jid='{to}' node='{CLEAR}' name='Clear the history'/></query></iq>"),
        )
        .await;
    }
    h.exchange1(
        &format!("<iq type='get' id='r2' from='{HAG01}' to='{ROOM}'><query xmlns='{DISCO_ITEMS}' node='{CMD}'/></iq>"),
        &format!("<iq type='result' id='r2' from='{ROOM}' to='{HAG01}'><query xmlns='{DISCO_ITEMS}' node='{CMD}'/></iq>"),
    )
    .await;
}

/// disco#info on a command's node (XEP-0050 §2.3): its identity and
/// features to those who may run it, `forbidden` to others,
/// `item-not-found` for a node that is no command there.
#[tokio::test]
async fn command_node_info() {
    let h = room().await;
    h.exchange1(
        &format!("<iq type='get' id='n1' from='{ADMIN}' to='{MIX}'><query xmlns='{DISCO_INFO}' node='{KICK}'/></iq>"),
        &format!(
            "<iq type='result' id='n1' from='{MIX}' to='{ADMIN}'><query xmlns='{DISCO_INFO}' node='{KICK}'>\
               <identity category='automation' type='command-node' name='Kick a user from every channel' xml:lang='en'/>\
               <feature var='{CMD}'/><feature var='{XDATA}'/></query></iq>"
        ),
    )
    .await;
    h.exchange1(
        &format!("<iq type='get' id='n2' from='{HAG66}' to='{ROOM}'><query xmlns='{DISCO_INFO}' node='{CLEAR}'/></iq>"),
        &format!(
            "<iq type='result' id='n2' from='{ROOM}' to='{HAG66}'><query xmlns='{DISCO_INFO}' node='{CLEAR}'>\
               <identity category='automation' type='command-node' name='Clear the history' xml:lang='en'/>\
               <feature var='{CMD}'/><feature var='{XDATA}'/></query></iq>"
        ),
    )
    .await;
    let out = h.send(&format!("<iq type='get' id='n3' from='{HAG66}' to='{MUC}'><query xmlns='{DISCO_INFO}' node='{KICK}'/></iq>")).await;
    assert_eq!(error_of(&out[0]).0, "forbidden");
    let out = h.send(&format!("<iq type='get' id='n4' from='{HAG01}' to='{COVEN}'><query xmlns='{DISCO_INFO}' node='{CLEAR}'/></iq>")).await;
    assert_eq!(error_of(&out[0]).0, "forbidden");
    let out = h.send(&format!("<iq type='get' id='n5' from='{ADMIN}' to='{MUC}'><query xmlns='{DISCO_INFO}' node='{CLEAR}'/></iq>")).await;
    assert_eq!(error_of(&out[0]).0, "item-not-found", "a room command is no node of the service");
}

/// XEP-0050 §4.6's application conditions beside `bad-request`.
#[tokio::test]
async fn application_conditions() {
    let h = room().await;
    let app = |e: &Element| {
        let err = e.get_child("error", COMPONENT_NS).unwrap_or_else(|| panic!("no error in {}", canonical(e)));
        err.children().find(|c| c.ns() == CMD).map(|c| c.name().to_string()).unwrap_or_default()
    };
    let out = h.send(&command(ADMIN, MUC, "e1", LIST, Some("complete"), Some("nonesuch"), None)).await;
    assert_eq!((error_of(&out[0]).0.as_str(), app(&out[0]).as_str()), ("bad-request", "bad-sessionid"));
    let out = h.send(&command(ADMIN, MUC, "e2", LIST, Some("jump"), None, None)).await;
    assert_eq!((error_of(&out[0]).0.as_str(), app(&out[0]).as_str()), ("bad-request", "malformed-action"));
    let out = h.send(&command(ADMIN, MUC, "e3", LIST, Some("prev"), None, None)).await;
    assert_eq!((error_of(&out[0]).0.as_str(), app(&out[0]).as_str()), ("bad-request", "bad-action"));
    // A bad form value has none.
    let out = h.send(&command(ADMIN, MUC, "e4", LIST, None, None, Some(&[("max", "0")]))).await;
    assert_eq!((error_of(&out[0]).0.as_str(), app(&out[0]).as_str()), ("bad-request", ""));
}

// ================================================================ who may

/// Every service command is `forbidden` to a user who is no service
/// admin (a room owner included), on both domains; an unknown node is
/// `item-not-found`; a room command on the service domain does not exist.
#[tokio::test]
async fn non_admins_are_forbidden() {
    let h = room().await;
    for domain in [MUC, MIX] {
        for node in [LIST, STATS, DESTROY, BAN, UNBAN, KICK, ANNOUNCE] {
            let out = h.send(&command(HAG66, domain, "f1", node, None, None, None)).await;
            assert_eq!(error_of(&out[0]).0, "forbidden", "{node} on {domain}");
            // A submitted form does not get around it.
            let out = h.send(&command(HAG01, domain, "f2", node, Some("complete"), None, Some(&[("jid", HAG66_BARE), ("channel", "coven"), ("announcement", "hi")]))).await;
            assert_eq!(error_of(&out[0]).0, "forbidden", "{node} on {domain}");
        }
    }
    let out = h.send(&command(ADMIN, MUC, "u1", "urn:mixmuc:admin:0#nothing", None, None, None)).await;
    assert_eq!(error_of(&out[0]).0, "item-not-found");
    let out = h.send(&command(ADMIN, MUC, "u2", CLEAR, None, None, None)).await;
    assert_eq!(error_of(&out[0]).0, "item-not-found", "clear-history runs at a room");
    // The room's command: forbidden to a participant who is no owner.
    let out = h.send(&command(HAG01, ROOM, "u3", CLEAR, None, None, None)).await;
    assert_eq!(error_of(&out[0]), ("forbidden".to_string(), "only the room's owners may run its commands".to_string()));
    let out = h.send(&command(HECATE, COVEN, "u4", CLEAR, Some("complete"), None, Some(&[("confirm", "1")]))).await;
    assert_eq!(error_of(&out[0]).0, "forbidden");
}

// ================================================================ statistics

/// Single stage: `execute` answers the figures. Two messages archived,
/// three participants, two MUC sessions, no MIX client online.
#[tokio::test]
async fn statistics() {
    let h = room().await;
    say(&h, HAG66, "one").await;
    say(&h, HAG01, "two").await;
    let out = stats(&h, "s1").await;
    assert_xml(&out, &completed(MUC, ADMIN, "s1", STATS, "Service statistics.", &stats_form(1, 3, 2, 0, 2, 0)));
    // hecate's client comes online (XEP-0403).
    h.send(&format!("<presence from='{HECATE}' to='{COVEN}'/>")).await;
    let out = h.send(&command(ADMIN, MIX, "s2", STATS, Some("execute"), None, None)).await;
    assert_xml(&out[0], &completed(MIX, ADMIN, "s2", STATS, "Service statistics.", &stats_form(1, 3, 2, 1, 2, 0)));
    // One stage: a session id is refused.
    let out = h.send(&command(ADMIN, MUC, "s3", STATS, Some("complete"), Some("abc"), None)).await;
    assert_eq!(error_of(&out[0]), ("bad-request".to_string(), "sessionid: this command has one stage".to_string()));
}

// ================================================================ list channels

/// Two stages: the form (page, max), then a page of the list as a table.
/// Bad values are refused naming the field, and the session stays open for
/// a corrected form; a cancel ends it; an unknown session is refused.
#[tokio::test]
async fn list_channels_in_pages() {
    let h = room().await;
    say(&h, HAG66, "one").await;
    h.send(&format!("<iq type='set' id='c2' from='{HAG01}' to='{MIX}'><create xmlns='{MIX_NS}' channel='alpha'/></iq>")).await;
    let caps = h
        .exchange1(
            &command(ADMIN, MUC, "l1", LIST, None, None, None),
            &format!(
                "<iq type='result' id='l1' from='{MUC}' to='{ADMIN}'><command xmlns='{CMD}' node='{LIST}' sessionid='{{*sid}}' status='executing'>\
                   <actions execute='complete'><complete/></actions>\
                   <x xmlns='{XDATA}' type='form'><title>List channels</title><instructions>Channels by name, a page at a time (at most 500 a page).</instructions>\
                     <field var='FORM_TYPE' type='hidden'><value>{ADMIN_FORM}</value></field>\
                     <field var='page' label='Page (from 1)'><value>1</value></field>\
                     <field var='max' label='Channels per page'><value>50</value></field>\
                   </x></command></iq>"
            ),
        )
        .await;
    let sid = caps.named("sid").to_string();
    // A bad value: bad-request naming the field.
    let out = h.send(&command(ADMIN, MUC, "l2", LIST, Some("complete"), Some(&sid), Some(&[("page", "1"), ("max", "lots")]))).await;
    assert_eq!(error_of(&out[0]), ("bad-request".to_string(), "max: 'lots' is not a number from 1 to 500".to_string()));
    let out = h.send(&command(ADMIN, MUC, "l2", LIST, Some("complete"), Some(&sid), Some(&[("page", "0")]))).await;
    assert_eq!(error_of(&out[0]), ("bad-request".to_string(), "page: '0' is not a number from 1 to 1000000".to_string()));
    // Corrected: page 2 of one channel a page is coven (alpha is first).
    let table = |page: u32, rows: &str| {
        format!(
            "<x xmlns='{XDATA}' type='result'><title>Channels</title>\
               <field var='FORM_TYPE' type='hidden'><value>{ADMIN_FORM}</value></field>\
               <field var='page' label='Page'><value>{page}</value></field>\
               <field var='pages' label='Pages'><value>2</value></field>\
               <field var='total' label='Channels'><value>2</value></field>\
               <reported><field var='channel' label='Channel'/><field var='name' label='Name'/><field var='participants' label='Participants'/>\
                 <field var='online' label='Online (MUC sessions and MIX clients)'/><field var='messages' label='Archived messages'/><field var='last-activity' label='Last message'/></reported>\
               {rows}</x>"
        )
    };
    let caps = h
        .exchange1(
            &command(ADMIN, MUC, "l3", LIST, Some("complete"), Some(&sid), Some(&[("page", "2"), ("max", "1")])),
            &completed(
                MUC,
                ADMIN,
                "l3",
                LIST,
                "Page 2 of 2: 1 of 2 channel(s).",
                &table(
                    2,
                    &format!(
                        "<item><field var='channel'><value>{ROOM}</value></field><field var='name'/><field var='participants'><value>3</value></field>\
                           <field var='online'><value>2</value></field><field var='messages'><value>1</value></field><field var='last-activity'><value>{{*last}}</value></field></item>"
                    ),
                ),
            ),
        )
        .await;
    assert!(caps.named("last").ends_with('Z') && caps.named("last").contains('T'), "an XEP-0082 time: {}", caps.named("last"));
    // The session is over.
    let out = h.send(&command(ADMIN, MUC, "l4", LIST, Some("complete"), Some(&sid), None)).await;
    assert_eq!(error_of(&out[0]), ("bad-request".to_string(), "sessionid: no such session (unknown, expired or not yours)".to_string()));
    // Single stage on the MIX domain: the form with the first request; the
    // channels are named by their MIX JIDs there; alpha has no message.
    h.exchange1(
        &command(ADMIN, MIX, "l5", LIST, None, None, Some(&[("max", "1")])),
        &completed(
            MIX,
            ADMIN,
            "l5",
            LIST,
            "Page 1 of 2: 1 of 2 channel(s).",
            &table(
                1,
                "<item><field var='channel'><value>alpha@mix.shakespeare.example</value></field><field var='name'/><field var='participants'><value>0</value></field>\
                   <field var='online'><value>0</value></field><field var='messages'><value>0</value></field><field var='last-activity'/></item>",
            ),
        ),
    )
    .await;
    // Cancel: the session ends; another's session is not yours.
    let sid = start(&h, ADMIN, MUC, LIST).await;
    let out = h.send(&command("admin@shakespeare.example/other", MUC, "l6", LIST, Some("cancel"), Some(&sid), None)).await;
    assert_eq!(error_of(&out[0]).0, "bad-request", "another session of the admin does not own it");
    h.exchange1(
        &command(ADMIN, MUC, "l7", LIST, Some("cancel"), Some(&sid), None),
        &format!("<iq type='result' id='l7' from='{MUC}' to='{ADMIN}'><command xmlns='{CMD}' node='{LIST}' sessionid='{sid}' status='canceled'/></iq>"),
    )
    .await;
    let out = h.send(&command(ADMIN, MUC, "l8", LIST, Some("complete"), Some(&sid), None)).await;
    assert_eq!(error_of(&out[0]).0, "bad-request", "canceled");
    let out = h.send(&command(ADMIN, MUC, "l9", LIST, Some("jump"), None, None)).await;
    assert_eq!(error_of(&out[0]), ("bad-request".to_string(), "action: 'jump' is not an action of XEP-0050".to_string()));
}

// ================================================================ destroy

/// The admin destroys coven with a reason: MUC occupants get the XEP-0045
/// destroy with it, the MIX participant its participants item retracted.
#[tokio::test]
async fn destroy_a_channel() {
    let h = room().await;
    let sid = start(&h, ADMIN, MIX, DESTROY).await;
    let out = h.send(&command(ADMIN, MIX, "x1", DESTROY, Some("complete"), Some(&sid), Some(&[("channel", "nowhere")]))).await;
    assert_eq!(error_of(&out[0]), ("item-not-found".to_string(), "channel: there is no channel 'nowhere'".to_string()));
    let out = h.send(&command(ADMIN, MIX, "x1", DESTROY, Some("complete"), Some(&sid), Some(&[("channel", "coven@elsewhere.example")]))).await;
    assert_eq!(error_of(&out[0]), ("bad-request".to_string(), "channel: 'coven@elsewhere.example' is not a channel of this service".to_string()));
    let out = h.send(&command(ADMIN, MIX, "x1", DESTROY, Some("complete"), Some(&sid), Some(&[("reason", "no channel")]))).await;
    assert_eq!(error_of(&out[0]), ("bad-request".to_string(), "channel: a value is required".to_string()));
    let hecate_pid = coven_pid(&h, HECATE_BARE).await;
    let out = h.send(&command(ADMIN, MIX, "x2", DESTROY, Some("complete"), Some(&sid), Some(&[("channel", ROOM), ("reason", "Closing time")]))).await;
    assert_xml(&out[0], &completed(MIX, ADMIN, "x2", DESTROY, "The channel coven was destroyed.", ""));
    let destroyed = |to: &str, nick: &str, jid: &str| {
        format!(
            "<presence type='unavailable' from='{ROOM}/{nick}' to='{to}'><priority>0</priority><x xmlns='{USER}'><item affiliation='none' role='none' jid='{jid}'/>\
               <status code='110'/><destroy><reason>Closing time</reason></destroy></x><occupant-id xmlns='urn:xmpp:occupant-id:0' id='{{*}}'/></presence>"
        )
    };
    assert_unordered(
        &out[1..],
        &[
            destroyed(HAG66, "thirdwitch", HAG66),
            destroyed(HAG01, "firstwitch", HAG01),
            format!(
                "<message type='headline' from='{COVEN}' to='{HECATE_BARE}' id='{{*}}'><event xmlns='{PUBSUB_EVENT}'><items node='urn:xmpp:mix:nodes:participants'>\
                   <retract id='{hecate_pid}#coven@{MIX}'/></items></event></message>"
            ),
        ],
    );
    assert!(h.service.channels.get("coven").await.unwrap().is_none());
}

// ================================================================ service-wide ban

/// The admin bans hag01 from the whole service: removed from coven in
/// both views (301 to every MUC session, the participants item retracted
/// for MIX), refused on entering any room (403 forbidden, as an outcast)
/// and on joining any channel through MIX, even one created later; lifted,
/// hag01 may come back.
#[tokio::test]
async fn service_wide_ban_in_both_views() {
    let h = room().await;
    let pid = coven_pid(&h, HAG01_BARE).await;
    let sid = start(&h, ADMIN, MUC, BAN).await;
    let out = h.send(&command(ADMIN, MUC, "b1", BAN, Some("complete"), Some(&sid), Some(&[("jid", "hag01@shakespeare.example/broom")]))).await;
    assert_eq!(error_of(&out[0]), ("bad-request".to_string(), "jid: 'hag01@shakespeare.example/broom' is not a bare JID or a domain".to_string()));
    let out = h.send(&command(ADMIN, MUC, "b1", BAN, Some("complete"), Some(&sid), Some(&[("jid", "@@")]))).await;
    assert_eq!(error_of(&out[0]), ("bad-request".to_string(), "jid: '@@' is not a JID".to_string()));
    let out = h.send(&command(ADMIN, MUC, "b1", BAN, Some("complete"), Some(&sid), Some(&[("jid", ADMIN_BARE)]))).await;
    assert_eq!(error_of(&out[0]), ("conflict".to_string(), "you may not ban yourself".to_string()));
    let out = h.send(&command(ADMIN, MUC, "b1", BAN, Some("complete"), Some(&sid), Some(&[("jid", "shakespeare.example")]))).await;
    assert_eq!(error_of(&out[0]), ("conflict".to_string(), "you may not ban your own server".to_string()));

    let out = h.send(&command(ADMIN, MUC, "b2", BAN, Some("complete"), Some(&sid), Some(&[("jid", HAG01_BARE), ("reason", "Spam")]))).await;
    assert_xml(&out[0], &completed(MUC, ADMIN, "b2", BAN, "hag01@shakespeare.example is banned from the service; removed from 1 channel(s).", ""));
    let item = |jid: &str| format!("<item affiliation='none' role='none' jid='{jid}'><actor jid='{ADMIN_BARE}'/><reason>Spam</reason></item>");
    let gone = |to: &str, codes: &str| {
        format!("<presence type='unavailable' from='{ROOM}/firstwitch' to='{to}'><priority>0</priority><x xmlns='{USER}'>{}{codes}</x><occupant-id xmlns='urn:xmpp:occupant-id:0' id='{{*}}'/></presence>", item(HAG01))
    };
    assert_unordered(
        &out[1..],
        &[
            gone(HAG01, "<status code='301'/><status code='110'/>"),
            gone(HAG66, "<status code='301'/>"),
            format!(
                "<message type='headline' from='{COVEN}' to='{HECATE_BARE}' id='{{*}}'><event xmlns='{PUBSUB_EVENT}'><items node='urn:xmpp:mix:nodes:participants'>\
                   <retract id='{pid}#coven@{MIX}'/></items></event></message>"
            ),
        ],
    );
    // MUC: entering any room is refused as an outcast's.
    let out = h.send(&format!("<presence from='{HAG01}' to='{ROOM}/firstwitch'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].attr("type"), Some("error"));
    assert_eq!(error_of(&out[0]), ("forbidden".to_string(), "you are banned from this service".to_string()));
    assert_eq!(out[0].get_child("error", COMPONENT_NS).unwrap().attr("type"), Some("auth"));
    // MIX: joining is refused too; so is a channel created after the ban.
    h.send(&format!("<iq type='set' id='c2' from='{HAG66}' to='{MIX}'><create xmlns='{MIX_NS}' channel='later'/></iq>")).await;
    for channel in ["coven", "later"] {
        let out = h.send(&format!("<iq type='set' id='j2' from='{HAG01_BARE}' to='{channel}@{MIX}'><join xmlns='{MIX_NS}'><nick>x</nick></join></iq>")).await;
        assert_eq!(error_of(&out[0]), ("forbidden".to_string(), "you are banned from this service".to_string()), "{channel}");
    }
    // Nor register a nick in a room (XEP-0045 §7.10).
    let out = h.send(&format!("<iq type='get' id='r1' from='{HAG01}' to='{ROOM}'><query xmlns='jabber:iq:register'/></iq>")).await;
    assert_eq!(error_of(&out[0]), ("forbidden".to_string(), "you are banned from this service".to_string()));
    // Nor may hag01 create a channel.
    let out = h.send(&format!("<iq type='set' id='c3' from='{HAG01}' to='{MIX}'><create xmlns='{MIX_NS}' channel='mine'/></iq>")).await;
    assert_eq!(error_of(&out[0]).0, "forbidden");
    // The statistics count the ban.
    assert_xml(&stats(&h, "s1").await, &completed(MUC, ADMIN, "s1", STATS, "Service statistics.", &stats_form(2, 2, 1, 0, 0, 1)));

    // Unban: the form lists the bans; an unknown one is item-not-found.
    let caps = h.exchange1(
        &command(ADMIN, MIX, "u0", UNBAN, None, None, None),
        &format!(
            "<iq type='result' id='u0' from='{MIX}' to='{ADMIN}'><command xmlns='{CMD}' node='{UNBAN}' sessionid='{{*sid}}' status='executing'>\
               <actions execute='complete'><complete/></actions>\
               <x xmlns='{XDATA}' type='form'><title>Lift a service-wide ban</title><instructions>Banned now: {HAG01_BARE}.</instructions>\
                 <field var='FORM_TYPE' type='hidden'><value>{ADMIN_FORM}</value></field>\
                 <field var='jid' type='jid-single' label='User (bare JID) or domain'><required/></field>\
               </x></command></iq>"
        ),
    )
    .await;
    let sid = caps.named("sid").to_string();
    let out = h.send(&command(ADMIN, MIX, "u1", UNBAN, Some("complete"), Some(&sid), Some(&[("jid", ROMEO_BARE)]))).await;
    assert_eq!(error_of(&out[0]), ("item-not-found".to_string(), "'romeo@montague.example' is not banned from the service".to_string()));
    h.exchange1(
        &command(ADMIN, MIX, "u2", UNBAN, Some("complete"), Some(&sid), Some(&[("jid", HAG01_BARE)])),
        &completed(MIX, ADMIN, "u2", UNBAN, "hag01@shakespeare.example is no longer banned from the service.", ""),
    )
    .await;
    enter_room(&h, HAG01, "firstwitch").await;
}

/// A MIX participant with an online client, banned service-wide: the room
/// shows it leaving once, with 301 (as a ban from inside the room does),
/// and the user is told its participants item is gone.
#[tokio::test]
async fn service_wide_ban_of_an_online_mix_client() {
    let h = room().await;
    h.send(&format!("<presence from='{HECATE}' to='{COVEN}'/>")).await;
    assert_eq!(coven_online_clients(&h).await, vec![HECATE.to_string()]);
    let pid = coven_pid(&h, HECATE_BARE).await;
    let out = h.send(&command(ADMIN, MIX, "b1", BAN, None, None, Some(&[("jid", HECATE_BARE)]))).await;
    assert_xml(&out[0], &completed(MIX, ADMIN, "b1", BAN, "hecate@shakespeare.example is banned from the service; removed from 1 channel(s).", ""));
    let gone = |to: &str| {
        format!(
            "<presence type='unavailable' from='{ROOM}/hecate' to='{to}'><priority>0</priority><x xmlns='{USER}'><item affiliation='none' role='none' jid='{HECATE_BARE}'><actor jid='{ADMIN_BARE}'/></item><status code='301'/></x>\
               <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{pid}'/></presence>"
        )
    };
    assert_unordered(
        &out[1..],
        &[
            gone(HAG66),
            gone(HAG01),
            format!(
                "<message type='headline' from='{COVEN}' to='{HECATE_BARE}' id='{{*}}'><event xmlns='{PUBSUB_EVENT}'><items node='urn:xmpp:mix:nodes:participants'>\
                   <retract id='{pid}#coven@{MIX}'/></items></event></message>"
            ),
        ],
    );
    assert!(coven_online_clients(&h).await.is_empty(), "its client went with it");
}

/// A domain ban covers every JID of that domain: romeo (MIX) and juliet
/// (MUC) of montague.example are removed and refused; other domains are not.
#[tokio::test]
async fn service_wide_domain_ban() {
    let h = room().await;
    let join = format!("<iq type='set' id='j-r' from='{ROMEO_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>romeo</nick></join></iq>");
    assert!(h.send(&join).await.iter().any(|e| e.attr("type") == Some("result")));
    enter_room(&h, "juliet@montague.example/balcony", "juliet").await;
    let out = h.send(&command(ADMIN, MUC, "b1", BAN, None, None, Some(&[("jid", "montague.example")]))).await;
    assert_xml(&out[0], &completed(MUC, ADMIN, "b1", BAN, "montague.example is banned from the service; removed from 2 channel(s).", ""));
    // juliet's session is told 301 with 110; romeo, through MIX, its item retracted.
    assert!(out.iter().any(|e| e.attr("to") == Some("juliet@montague.example/balcony")
        && e.get_child("x", USER).is_some_and(|x| x.children().filter(|c| c.name() == "status").map(|c| c.attr("code").unwrap_or("")).collect::<Vec<_>>() == ["301", "110"])));
    assert!(out.iter().any(|e| e.attr("to") == Some(ROMEO_BARE) && e.get_child("event", PUBSUB_EVENT).is_some()));
    let participants: Vec<String> = h.service.channels.participants("coven").await.unwrap().iter().map(|p| p.jid.clone()).collect();
    assert_eq!(participants.len(), 3, "{participants:?}");
    assert!(participants.iter().all(|p| !p.ends_with("@montague.example")));
    let out = h.send(&format!("<presence from='mercutio@montague.example/x' to='{ROOM}/mercutio'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).await;
    assert_eq!(error_of(&out[0]).0, "forbidden");
    let out = h.send(&format!("<iq type='set' id='j2' from='{ROMEO_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><nick>romeo</nick></join></iq>")).await;
    assert_eq!(error_of(&out[0]).0, "forbidden");
    // Another domain whose name ends the same is not covered.
    enter_room(&h, "tybalt@capulet-montague.example/x", "tybalt").await;
}

// ================================================================ kick

/// The admin kicks hag01 from every channel: MUC 307 to every session,
/// its participant gone from the MIX view; it may come back.
#[tokio::test]
async fn kick_from_every_channel() {
    let h = room().await;
    let pid = coven_pid(&h, HAG01_BARE).await;
    let sid = start(&h, ADMIN, MIX, KICK).await;
    let out = h.send(&command(ADMIN, MIX, "k1", KICK, Some("complete"), Some(&sid), Some(&[("jid", "shakespeare.example")]))).await;
    assert_eq!(error_of(&out[0]), ("bad-request".to_string(), "jid: 'shakespeare.example' is not a user's bare JID".to_string()));
    let out = h.send(&command(ADMIN, MIX, "k1", KICK, Some("complete"), Some(&sid), Some(&[("jid", "nobody@shakespeare.example")]))).await;
    assert_eq!(error_of(&out[0]), ("item-not-found".to_string(), "'nobody@shakespeare.example' is in no channel".to_string()));
    let out = h.send(&command(ADMIN, MIX, "k2", KICK, Some("complete"), Some(&sid), Some(&[("jid", HAG01_BARE), ("reason", "Calm down")]))).await;
    assert_xml(&out[0], &completed(MIX, ADMIN, "k2", KICK, "hag01@shakespeare.example was removed from 1 channel(s).", ""));
    let gone = |to: &str, codes: &str| {
        format!(
            "<presence type='unavailable' from='{ROOM}/firstwitch' to='{to}'><priority>0</priority><x xmlns='{USER}'><item affiliation='none' role='none' jid='{HAG01}'><actor jid='{ADMIN_BARE}'/><reason>Calm down</reason></item>{codes}</x>\
               <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{{*}}'/></presence>"
        )
    };
    assert_unordered(
        &out[1..],
        &[
            gone(HAG01, "<status code='307'/><status code='110'/>"),
            gone(HAG66, "<status code='307'/>"),
            format!(
                "<message type='headline' from='{COVEN}' to='{HECATE_BARE}' id='{{*}}'><event xmlns='{PUBSUB_EVENT}'><items node='urn:xmpp:mix:nodes:participants'>\
                   <retract id='{pid}#coven@{MIX}'/></items></event></message>"
            ),
        ],
    );
    assert!(h.service.channels.participants("coven").await.unwrap().iter().all(|p| p.jid != HAG01_BARE));
    // A kick is no ban.
    enter_room(&h, HAG01, "firstwitch").await;
}

// ================================================================ announce

/// An announcement goes from the room to every MUC session and from the
/// channel to every MIX participant, and is not archived.
#[tokio::test]
async fn announce_to_every_room() {
    let h = room().await;
    let sid = start(&h, ADMIN, MUC, ANNOUNCE).await;
    let out = h.send(&command(ADMIN, MUC, "a1", ANNOUNCE, Some("complete"), Some(&sid), Some(&[("announcement", " ")]))).await;
    assert_eq!(error_of(&out[0]), ("bad-request".to_string(), "announcement: a value is required".to_string()));
    let out = h.send(&command(ADMIN, MUC, "a2", ANNOUNCE, Some("complete"), Some(&sid), Some(&[("announcement", "Maintenance at noon")]))).await;
    assert_xml(&out[0], &completed(MUC, ADMIN, "a2", ANNOUNCE, "Announced in 1 channel(s).", ""));
    assert_unordered(
        &out[1..],
        &[
            format!("<message type='groupchat' from='{COVEN}' to='{HECATE_BARE}' id='{{*}}'><body>Maintenance at noon</body></message>"),
            format!("<message type='groupchat' from='{ROOM}' to='{HAG66}' id='{{*}}'><body>Maintenance at noon</body></message>"),
            format!("<message type='groupchat' from='{ROOM}' to='{HAG01}' id='{{*}}'><body>Maintenance at noon</body></message>"),
        ],
    );
    let out = h.send(&format!("<iq type='set' id='q1' from='{HAG66}' to='{ROOM}'><query xmlns='{MAM}'/></iq>")).await;
    assert_eq!(out.len(), 1, "nothing archived: {}", out.iter().map(canonical).collect::<String>());
}

// ================================================================ clear history

/// The owner clears the history at the room JID (or the channel JID):
/// MAM in both views is empty afterwards; `confirm` must be a boolean.
#[tokio::test]
async fn owner_clears_the_history() {
    let h = room().await;
    say(&h, HAG66, "one").await;
    say(&h, HAG01, "two").await;
    let caps = h
        .exchange1(
            &command(HAG66, ROOM, "h1", CLEAR, None, None, None),
            &format!(
                "<iq type='result' id='h1' from='{ROOM}' to='{HAG66}'><command xmlns='{CMD}' node='{CLEAR}' sessionid='{{*sid}}' status='executing'>\
                   <actions execute='complete'><complete/></actions>\
                   <x xmlns='{XDATA}' type='form'><title>Clear the history</title>\
                     <instructions>Deletes every archived message of this room (MAM in both views, and the history shown on entering).</instructions>\
                     <field var='FORM_TYPE' type='hidden'><value>{ADMIN_FORM}</value></field>\
                     <field var='confirm' type='boolean' label='Delete the whole history'><required/></field>\
                   </x></command></iq>"
            ),
        )
        .await;
    let sid = caps.named("sid").to_string();
    let out = h.send(&command(HAG66, ROOM, "h2", CLEAR, Some("complete"), Some(&sid), Some(&[("confirm", "maybe")]))).await;
    assert_eq!(error_of(&out[0]), ("bad-request".to_string(), "confirm: 'maybe' is not a boolean".to_string()));
    let out = h.send(&command(HAG66, ROOM, "h2", CLEAR, Some("complete"), Some(&sid), None)).await;
    assert_eq!(error_of(&out[0]), ("bad-request".to_string(), "confirm: a value is required".to_string()));
    // The session belongs to the room it was opened at.
    let out = h.send(&command(HAG66, COVEN, "h3", CLEAR, Some("complete"), Some(&sid), Some(&[("confirm", "1")]))).await;
    assert_eq!(error_of(&out[0]).0, "bad-request");
    h.exchange1(&command(HAG66, ROOM, "h4", CLEAR, Some("complete"), Some(&sid), Some(&[("confirm", "false")])), &completed(ROOM, HAG66, "h4", CLEAR, "Nothing was deleted.", "")).await;
    assert_eq!(h.send(&format!("<iq type='set' id='q1' from='{HAG66}' to='{ROOM}'><query xmlns='{MAM}'/></iq>")).await.len(), 3, "two results and the fin");
    // Through the MIX channel JID, one stage.
    h.exchange1(&command(HAG66, COVEN, "h5", CLEAR, None, None, Some(&[("confirm", "true")])), &completed(COVEN, HAG66, "h5", CLEAR, "2 archived message(s) deleted.", "")).await;
    for to in [ROOM, COVEN] {
        let out = h.send(&format!("<iq type='set' id='q2' from='{HAG66}' to='{to}'><query xmlns='{MAM}'/></iq>")).await;
        assert_eq!(out.len(), 1, "only the fin from {to}: {}", out.iter().map(canonical).collect::<String>());
    }
    // A service admin may clear any room's history.
    say(&h, HAG01, "three").await;
    h.exchange1(&command(ADMIN, ROOM, "h6", CLEAR, None, None, Some(&[("confirm", "1")])), &completed(ROOM, ADMIN, "h6", CLEAR, "1 archived message(s) deleted.", "")).await;
}
