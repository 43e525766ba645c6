//! Golden transcripts for retraction and moderation, one archive in both
//! views: a sender takes its message back (XEP-0424 in the MUC view, the
//! MIX retraction), a moderator removes anyone's (XEP-0425, current and
//! older form, from either view), each view is told in its own dialect,
//! MAM in both views returns the tombstone in place of the message, and a
//! newcomer's history skips it. Each right allowed and refused.
//!
//! hag66 (owner) and hag01 are in the room coven@chat.shakespeare.example
//! as "thirdwitch" and "firstwitch"; hecate is a MIX participant of
//! coven@mix.shakespeare.example with the nick "hecate".

mod common;

use common::*;
use xmpp_parsers::minidom::Element;

const MIX_NS: &str = "urn:xmpp:mix:core:1";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const RETRACT: &str = "urn:xmpp:message-retract:1";
const RETRACT_0: &str = "urn:xmpp:message-retract:0";
const MODERATE: &str = "urn:xmpp:message-moderate:1";
const MODERATE_0: &str = "urn:xmpp:message-moderate:0";
const FASTEN: &str = "urn:xmpp:fasten:0";
const SID: &str = "urn:xmpp:sid:0";
const OCC: &str = "urn:xmpp:occupant-id:0";
const MAM: &str = "urn:xmpp:mam:2";
const FALLBACK_TEXT: &str = "/me retracted a previous message, but it's unsupported by your client.";
const MODERATED_TEXT: &str = "A message was removed by a moderator.";

/// coven created by hag66, who enters as thirdwitch; hag01 enters as
/// firstwitch; hecate joins through MIX as hecate (messages node).
async fn room(extra: &str) -> Harness {
    let h = Harness::with_toml(extra).await;
    coven_room(&h).await;
    hecate_joins(&h, "urn:xmpp:mix:nodes:messages").await;
    h
}

/// The archive id of a message, from the stanza-id of what was sent out.
fn archive_id(out: &[Element]) -> String {
    out.iter()
        .find_map(|e| e.children().find(|c| c.is("stanza-id", SID)).and_then(|c| c.attr("id")).map(str::to_string))
        .expect("a stanza-id in the output")
}

/// A MUC occupant says something; returns its archive id.
async fn say_muc(h: &Harness, from: &str, id: &str, body: &str) -> String {
    archive_id(&h.send(&format!("<message type='groupchat' id='{id}' from='{from}' to='{ROOM}'><body>{body}</body></message>")).await)
}

/// hecate says something through MIX; returns its archive id.
async fn say_mix(h: &Harness, id: &str, body: &str) -> String {
    archive_id(&h.send(&format!("<message type='groupchat' id='{id}' from='{HECATE}' to='{COVEN}'><body>{body}</body></message>")).await)
}

fn muc_retract(from: &str, id: &str, target: &str) -> String {
    format!(
        "<message type='groupchat' id='{id}' from='{from}' to='{ROOM}'>
           <retract xmlns='{RETRACT}' id='{target}'/>
           <fallback xmlns='urn:xmpp:fallback:0' for='{RETRACT}'/>
           <body>{FALLBACK_TEXT}</body>
         </message>"
    )
}

fn moderate_iq(from: &str, to: &str, id: &str, target: &str, reason: &str) -> String {
    format!(
        "<iq type='set' id='{id}' from='{from}' to='{to}'>
           <moderate xmlns='{MODERATE}' id='{target}'><retract xmlns='{RETRACT}'/><reason>{reason}</reason></moderate>
         </iq>"
    )
}

fn error_text(e: &Element) -> (String, String) {
    let err = e.children().find(|c| c.name() == "error").unwrap_or_else(|| panic!("no error in {}", canonical(e)));
    let cond = err.children().find(|c| c.ns() == STANZAS && c.name() != "text").map(|c| c.name().to_string()).unwrap_or_default();
    let text = err.children().find(|c| c.name() == "text").map(|t| t.text()).unwrap_or_default();
    (cond, text)
}

fn mam_iq(from: &str, to: &str, id: &str) -> String {
    format!("<iq type='set' id='{id}' from='{from}' to='{to}'><query xmlns='{MAM}' queryid='q'/></iq>")
}

/// The forwarded messages of a MAM answer, in order.
fn forwarded(out: &[Element]) -> Vec<Element> {
    out.iter()
        .filter_map(|m| m.get_child("result", MAM))
        .map(|r| r.get_child("forwarded", "urn:xmpp:forward:0").and_then(|f| f.children().find(|c| c.name() == "message")).expect("forwarded message").clone())
        .collect()
}

/// hag01 takes back her own message through the MUC view: the room's
/// occupants get the XEP-0424 retraction from her occupant JID (current
/// and older form, fallback body, a stanza-id of its own and her occupant
/// id), hecate gets the MIX retraction; MAM in both views returns the
/// tombstone where the message was and the retraction after it; a
/// newcomer's history has the retraction but not the message.
#[tokio::test]
async fn sender_retracts_through_muc() {
    let h = room("").await;
    let pid01 = coven_pid(&h, HAG01_BARE).await;
    let a = say_muc(&h, HAG01, "m1", "Buy cheap newts").await;
    let out = h.send(&muc_retract(HAG01, "r1", &a)).await;
    // What each room occupant gets: the same, but for the address.
    let muc_copy = |to: &str, rid: &str| {
        format!(
            "<message type='groupchat' id='r1' from='{ROOM}/firstwitch' to='{to}'>
               <body>{FALLBACK_TEXT}</body>
               <retract xmlns='{RETRACT}' id='{a}'/>
               <apply-to xmlns='{FASTEN}' id='{a}'><retract xmlns='{RETRACT_0}'/></apply-to>
               <fallback xmlns='urn:xmpp:fallback:0' for='{RETRACT}'/>
               <stanza-id xmlns='{SID}' id='{{*{rid}}}' by='{ROOM}'/>
               <occupant-id xmlns='{OCC}' id='{pid01}'/>
             </message>"
        )
    };
    let caps = assert_stanzas(
        &out,
        &[
            &format!(
                "<message type='groupchat' id='{{*rid}}' from='{COVEN}/{pid01}' to='{HECATE_BARE}'>
                   <retract xmlns='{MIX_NS}' id='{a}'/>
                   <retract xmlns='{RETRACT}' id='{a}'/>
                   <apply-to xmlns='{FASTEN}' id='{a}'><retract xmlns='{RETRACT_0}'/></apply-to>
                   <mix xmlns='{MIX_NS}'><nick>firstwitch</nick><jid>{HAG01_BARE}</jid></mix>
                   <stanza-id xmlns='{SID}' id='{{*rid2}}' by='{COVEN}'/>
                 </message>"
            ),
            &muc_copy(HAG66, "rid3"),
            &muc_copy(HAG01, "rid4"),
        ],
    );
    let rid = caps[0].named("rid").to_string();
    for (i, name) in [(0, "rid2"), (1, "rid3"), (2, "rid4")] {
        assert_eq!(caps[i].named(name), rid, "one archive id for the retraction in every copy");
    }

    // MAM through the room: the tombstone in the message's place, then the retraction.
    let out = h.send(&mam_iq(HAG66, ROOM, "q1")).await;
    let msgs = forwarded(&out);
    assert_eq!(msgs.len(), 2, "{}", out.iter().map(canonical).collect::<String>());
    assert_xml(
        &msgs[0],
        &format!(
            "<message xmlns='jabber:client' from='{ROOM}/firstwitch' id='m1' type='groupchat'>
               <stanza-id xmlns='{SID}' id='{a}' by='{ROOM}'/>
               <occupant-id xmlns='{OCC}' id='{pid01}'/>
               <retracted xmlns='{RETRACT}' stamp='{{*}}' id='{rid}'/>
             </message>"
        ),
    );
    assert_eq!(msgs[1].get_child("retract", RETRACT).and_then(|r| r.attr("id")), Some(a.as_str()));
    assert_eq!(msgs[1].attr("from"), Some(&*format!("{ROOM}/firstwitch")));

    // MAM through the channel: the seed's tombstone beside XEP-0424's.
    let out = h.send(&mam_iq(HECATE, COVEN, "q2")).await;
    let msgs = forwarded(&out);
    assert_eq!(msgs.len(), 2);
    assert_xml(
        &msgs[0],
        &format!(
            "<message xmlns='jabber:client' from='{COVEN}/{pid01}' id='{a}' type='groupchat'>
               <mix xmlns='{MIX_NS}'><nick>firstwitch</nick><jid>{HAG01_BARE}</jid></mix>
               <stanza-id xmlns='{SID}' id='{a}' by='{COVEN}'/>
               <retracted xmlns='{MIX_NS}' by='{COVEN}/{pid01}' time='{{*}}'/>
               <retracted xmlns='{RETRACT}' stamp='{{*}}' id='{rid}'/>
             </message>"
        ),
    );
    assert_eq!(msgs[1].get_child("retract", MIX_NS).and_then(|r| r.attr("id")), Some(a.as_str()));
    assert!(msgs.iter().all(|m| !String::from(m).contains("newts")), "the retracted text is gone from the archive");

    // A newcomer's history: the retraction, never the message.
    let out = h.send(&format!("<presence from='{ROMEO}' to='{ROOM}/romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).await;
    let history: Vec<&Element> = out.iter().filter(|e| e.name() == "message" && e.attr("to") == Some(ROMEO) && e.get_child("subject", COMPONENT_NS).is_none()).collect();
    assert_eq!(history.len(), 1, "{}", out.iter().map(canonical).collect::<String>());
    assert!(history[0].get_child("retract", RETRACT).is_some());
    assert!(!out.iter().any(|e| String::from(e).contains("newts")));
}

/// hecate takes back her own message with the MIX retraction: the same
/// outcome, the MUC view told with XEP-0424 from her occupant JID.
#[tokio::test]
async fn sender_retracts_through_mix() {
    let h = room("").await;
    let pid = coven_pid(&h, HECATE_BARE).await;
    let a = say_mix(&h, "x1", "Double, double").await;
    let out = h.send(&format!("<message type='groupchat' id='xr' from='{HECATE}' to='{COVEN}'><retract xmlns='{MIX_NS}' id='{a}'/></message>")).await;
    assert_eq!(out.len(), 3, "{}", out.iter().map(canonical).collect::<String>());
    // Her own copy carries her submission id.
    assert_xml(
        &out[0],
        &format!(
            "<message type='groupchat' id='{{*}}' from='{COVEN}/{pid}' to='{HECATE_BARE}'>
               <retract xmlns='{MIX_NS}' id='{a}'/>
               <retract xmlns='{RETRACT}' id='{a}'/>
               <apply-to xmlns='{FASTEN}' id='{a}'><retract xmlns='{RETRACT_0}'/></apply-to>
               <mix xmlns='{MIX_NS}'><nick>hecate</nick><jid>{HECATE_BARE}</jid><submission-id>xr</submission-id></mix>
               <stanza-id xmlns='{SID}' id='{{*}}' by='{COVEN}'/>
             </message>"
        ),
    );
    for (e, to) in out[1..].iter().zip([HAG66, HAG01]) {
        assert_eq!(e.attr("to"), Some(to));
        assert_eq!(e.attr("from"), Some(&*format!("{ROOM}/hecate")));
        assert_eq!(e.get_child("retract", RETRACT).and_then(|r| r.attr("id")), Some(a.as_str()));
        assert_eq!(e.get_child("occupant-id", OCC).and_then(|r| r.attr("id")), Some(pid.as_str()));
    }
    // XEP-0424 sent to the MIX channel is the same request.
    let b = say_mix(&h, "x2", "Toil and trouble").await;
    let out = h.send(&format!("<message type='groupchat' id='xr2' from='{HECATE}' to='{COVEN}'><retract xmlns='{RETRACT}' id='{b}'/></message>")).await;
    assert_eq!(out.len(), 3);
    assert!(out.iter().all(|e| e.attr("type") == Some("groupchat")));
}

/// A moderator (hag66, owner) removes hecate's message through the MUC
/// view with XEP-0425: an empty result, the announcement from the room
/// with the moderator's occupant JID and id and the reason (current and
/// older form), hecate told through MIX; MAM shows the tombstone with
/// the moderator and reason.
#[tokio::test]
async fn moderator_removes_a_message() {
    let h = room("").await;
    let pid66 = coven_pid(&h, HAG66_BARE).await;
    let a = say_mix(&h, "x1", "Buy cheap newts").await;
    let out = h.send(&moderate_iq(HAG66, ROOM, "mod1", &a, "Spam")).await;
    assert_eq!(out.len(), 4, "{}", out.iter().map(canonical).collect::<String>());
    // hag01's copy is hag66's, to her.
    assert_eq!(out[3].attr("to"), Some(HAG01));
    assert_eq!(canonical(&out[3]).replace(HAG01, HAG66), canonical(&out[2]));
    assert_stanzas(
        &out[..3],
        &[
            &format!("<iq type='result' id='mod1' from='{ROOM}' to='{HAG66}'/>"),
            &format!(
                "<message type='groupchat' id='{{*}}' from='{COVEN}/{pid66}' to='{HECATE_BARE}'>
                   <retract xmlns='{MIX_NS}' id='{a}'/>
                   <retract xmlns='{RETRACT}' id='{a}'>
                     <moderated xmlns='{MODERATE}' by='{COVEN}/{pid66}'><occupant-id xmlns='{OCC}' id='{pid66}'/></moderated>
                     <reason>Spam</reason>
                   </retract>
                   <apply-to xmlns='{FASTEN}' id='{a}'>
                     <moderated xmlns='{MODERATE_0}' by='{COVEN}/{pid66}'><retract xmlns='{RETRACT_0}'/><reason>Spam</reason></moderated>
                   </apply-to>
                   <mix xmlns='{MIX_NS}'><nick>thirdwitch</nick><jid>{HAG66_BARE}</jid></mix>
                   <stanza-id xmlns='{SID}' id='{{*}}' by='{COVEN}'/>
                 </message>"
            ),
            &format!(
                "<message type='groupchat' id='{{*rid}}' from='{ROOM}' to='{HAG66}'>
                   <body>{MODERATED_TEXT}</body>
                   <retract xmlns='{RETRACT}' id='{a}'>
                     <moderated xmlns='{MODERATE}' by='{ROOM}/thirdwitch'><occupant-id xmlns='{OCC}' id='{pid66}'/></moderated>
                     <reason>Spam</reason>
                   </retract>
                   <apply-to xmlns='{FASTEN}' id='{a}'>
                     <moderated xmlns='{MODERATE_0}' by='{ROOM}/thirdwitch'><retract xmlns='{RETRACT_0}'/><reason>Spam</reason></moderated>
                   </apply-to>
                   <fallback xmlns='urn:xmpp:fallback:0' for='{RETRACT}'/>
                   <stanza-id xmlns='{SID}' id='{{*}}' by='{ROOM}'/>
                 </message>"
            ),
        ],
    );
    let out = h.send(&mam_iq(HAG01, ROOM, "q1")).await;
    let msgs = forwarded(&out);
    assert_eq!(msgs.len(), 2);
    assert_xml(
        &msgs[0],
        &format!(
            "<message xmlns='jabber:client' from='{ROOM}/hecate' id='x1' type='groupchat'>
               <stanza-id xmlns='{SID}' id='{a}' by='{ROOM}'/>
               <occupant-id xmlns='{OCC}' id='{{*}}'/>
               <retracted xmlns='{RETRACT}' stamp='{{*}}' id='{{*}}'>
                 <moderated xmlns='{MODERATE}' by='{ROOM}/thirdwitch'><occupant-id xmlns='{OCC}' id='{pid66}'/></moderated>
                 <reason>Spam</reason>
               </retracted>
               <moderated xmlns='{MODERATE_0}' by='{ROOM}/thirdwitch'><retracted xmlns='{RETRACT_0}' stamp='{{*}}'/><reason>Spam</reason></moderated>
             </message>"
        ),
    );
    assert_eq!(msgs[1].attr("from"), Some(ROOM), "a moderator's retraction is from the room");
}

/// The older XEP-0425 form (`<apply-to><moderate/></apply-to>`, which
/// clients still send) works the same; so does the request sent to the
/// MIX channel.
#[tokio::test]
async fn older_form_and_mix_channel() {
    let h = room("").await;
    let a = say_muc(&h, HAG01, "m1", "one").await;
    let out = h
        .send(&format!(
            "<iq type='set' id='mod0' from='{HAG66}' to='{ROOM}'>
               <apply-to xmlns='{FASTEN}' id='{a}'><moderate xmlns='{MODERATE_0}'><retract xmlns='{RETRACT_0}'/><reason>off topic</reason></moderate></apply-to>
             </iq>"
        ))
        .await;
    assert_eq!(out[0].attr("type"), Some("result"), "{}", canonical(&out[0]));
    assert_eq!(out.len(), 4);
    let b = say_muc(&h, HAG01, "m2", "two").await;
    let out = h.send(&moderate_iq(HAG66_BARE, COVEN, "mod2", &b, "")).await;
    assert_eq!(out[0].attr("type"), Some("result"), "{}", canonical(&out[0]));
    assert_eq!(out.len(), 4);
    // Without a reason, no <reason/>.
    assert!(out[1].get_child("retract", RETRACT).and_then(|r| r.get_child("reason", RETRACT)).is_none());
}

/// Refusals: only one's own messages as a sender (`forbidden`), only
/// moderators remove others' (`forbidden`), unknown and already
/// retracted ids (`item-not-found`), a retraction cannot be retracted,
/// one not in the room (`not-acceptable`), the channel's settings.
#[tokio::test]
async fn refusals() {
    let h = room("").await;
    let mine = say_muc(&h, HAG66, "m1", "mine").await;
    // hag01 retracting hag66's message as a sender.
    let out = h.send(&muc_retract(HAG01, "r1", &mine)).await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].attr("type"), Some("error"));
    assert_eq!(error_text(&out[0]), ("forbidden".into(), "you may retract only your own messages".into()));
    // hag01 (a participant, not a moderator) moderating.
    let out = h.send(&moderate_iq(HAG01, ROOM, "mod1", &mine, "no")).await;
    assert_eq!(error_text(&out[0]), ("forbidden".into(), "only moderators may remove others' messages".into()));
    // hecate (MIX, not an admin) retracting another's.
    let out = h.send(&format!("<message type='groupchat' id='xr' from='{HECATE}' to='{COVEN}'><retract xmlns='{MIX_NS}' id='{mine}'/></message>")).await;
    assert_eq!(error_text(&out[0]).0, "forbidden");
    // Unknown ids.
    let out = h.send(&moderate_iq(HAG66, ROOM, "mod2", "no-such-id", "x")).await;
    assert_eq!(error_text(&out[0]).0, "item-not-found");
    let out = h.send(&muc_retract(HAG66, "r2", "no-such-id")).await;
    assert_eq!(error_text(&out[0]).0, "item-not-found");
    // Retracted once; not twice, and a retraction is not retractable.
    let out = h.send(&muc_retract(HAG66, "r3", &mine)).await;
    let rid = archive_id(&out);
    let out = h.send(&moderate_iq(HAG66, ROOM, "mod3", &mine, "again")).await;
    assert_eq!(error_text(&out[0]).0, "item-not-found");
    let out = h.send(&moderate_iq(HAG66, ROOM, "mod4", &rid, "again")).await;
    assert_eq!(error_text(&out[0]).0, "item-not-found");
    // romeo is not in the room.
    let out = h.send(&muc_retract(ROMEO, "r4", &rid)).await;
    assert_eq!(error_text(&out[0]).0, "not-acceptable");
    // A moderation request without an id, and one asking for another action.
    let out = h.send(&format!("<iq type='set' id='mod5' from='{HAG66}' to='{ROOM}'><moderate xmlns='{MODERATE}'><retract xmlns='{RETRACT}'/></moderate></iq>")).await;
    assert_eq!(error_text(&out[0]).0, "bad-request");
    let out = h.send(&format!("<iq type='set' id='mod6' from='{HAG66}' to='{ROOM}'><moderate xmlns='{MODERATE}' id='{rid}'/></iq>")).await;
    assert_eq!(error_text(&out[0]).0, "feature-not-implemented");

    // The owner turns senders' retraction off, and moderation to owners only.
    let out = h
        .send(&format!(
            "<iq type='set' id='cfg' from='{HAG66}' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#owner'>
               <x xmlns='jabber:x:data' type='submit'>
                 <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>
                 <field var='mixmuc#roomconfig_userretraction'><value>0</value></field>
                 <field var='mixmuc#roomconfig_retractionrights'><value>owners</value></field>
               </x></query></iq>"
        ))
        .await;
    assert_eq!(out[0].attr("type"), Some("result"), "{}", canonical(&out[0]));
    let theirs = say_muc(&h, HAG01, "m2", "theirs").await;
    let out = h.send(&muc_retract(HAG01, "r5", &theirs)).await;
    assert_eq!(error_text(&out[0]), ("forbidden".into(), "senders may not retract their messages in this channel".into()));
    // A value not offered names the field.
    let out = h
        .send(&format!(
            "<iq type='set' id='cfg2' from='{HAG66}' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#owner'>
               <x xmlns='jabber:x:data' type='submit'>
                 <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>
                 <field var='mixmuc#roomconfig_retractionrights'><value>everyone</value></field>
               </x></query></iq>"
        ))
        .await;
    let (cond, text) = error_text(&out[0]);
    assert_eq!(cond, "not-acceptable");
    assert!(text.contains("mixmuc#roomconfig_retractionrights"), "{text}");
    // The MIX configuration node shows both.
    let out = h
        .send(&format!(
            "<iq type='get' id='n1' from='{HAG66}' to='{COVEN}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:mix:nodes:config'/></pubsub></iq>"
        ))
        .await;
    let xml = String::from(&out[0]);
    assert!(xml.contains("<field type='boolean' var='User Message Retraction'><value>false</value></field>"), "{xml}");
    assert!(xml.contains("<field type='list-single' var='Administrator Message Retraction Rights'><value>owners</value></field>"), "{xml}");
}

/// `[limits] user_retraction_secs`: a sender may not take back an older
/// message (`not-allowed`); a moderator still may.
#[tokio::test]
async fn retraction_window() {
    let h = room("[limits]\nmessage_rate = 0\npresence_rate = 0\nuser_retraction_secs = 60\n").await;
    let a = say_muc(&h, HAG01, "m1", "old").await;
    // Two minutes ago.
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(&h.db_path).connect().await.expect("store file");
    sqlx::query("UPDATE archive SET ts = ts - 120000 WHERE id = ?").bind(&a).execute(&mut conn).await.expect("ts");
    let out = h.send(&muc_retract(HAG01, "r1", &a)).await;
    assert_eq!(error_text(&out[0]), ("not-allowed".into(), "this message is too old to be retracted".into()));
    let b = say_muc(&h, HAG01, "m2", "new").await;
    let out = h.send(&muc_retract(HAG01, "r2", &b)).await;
    assert_eq!(out.len(), 3, "{}", out.iter().map(canonical).collect::<String>());
    let out = h.send(&moderate_iq(HAG66, ROOM, "mod", &a, "old spam")).await;
    assert_eq!(out[0].attr("type"), Some("result"));
}

/// Both views advertise what they do.
#[tokio::test]
async fn disco_features() {
    let h = room("").await;
    for (to, wanted) in [(ROOM, &[RETRACT, "urn:xmpp:message-retract:1#tombstone", MODERATE, MODERATE_0][..]), (COVEN, &[RETRACT, "urn:xmpp:message-retract:1#tombstone", MODERATE][..])] {
        let out = h.send(&format!("<iq type='get' id='d' from='{HAG66}' to='{to}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")).await;
        let query = out[0].get_child("query", "http://jabber.org/protocol/disco#info").expect("disco answer");
        let features: Vec<&str> = query.children().filter(|c| c.name() == "feature").filter_map(|c| c.attr("var")).collect();
        for w in wanted {
            assert!(features.contains(w), "{to} lacks {w}: {features:?}");
        }
    }
}

/// In a jid-hidden channel, neither a retraction nor a moderation nor a
/// tombstone shows anyone's real JID to a participant who is no moderator,
/// in either view (the leak suite's rule, for what this file adds).
#[tokio::test]
async fn no_real_jid_in_hidden_channels() {
    let h = room("[service]\njid_visibility = \"hidden\"\n").await;
    let row = h.service.channels.require("coven").await.unwrap();
    assert!(!row.jid_visible(), "the channel hides JIDs");
    let a = say_muc(&h, HAG01, "m1", "one").await;
    let b = say_mix(&h, "x1", "two").await;
    let mut seen = Vec::new();
    seen.extend(h.send(&muc_retract(HAG01, "r1", &a)).await);
    seen.extend(h.send(&moderate_iq(HAG66, ROOM, "mod", &b, "spam")).await);
    seen.extend(h.send(&mam_iq(HAG01, ROOM, "q1")).await);
    seen.extend(h.send(&mam_iq(HECATE, COVEN, "q2")).await);
    // hag01 (firstwitch) and hecate are no moderators: what they get names
    // nobody's real JID (their own address in `to` aside).
    for e in seen.iter().filter(|e| matches!(e.attr("to"), Some(t) if t == HAG01 || t.starts_with(HECATE_BARE))) {
        let mut xml = String::from(e);
        for own in [HAG01, HECATE, HECATE_BARE] {
            xml = xml.replace(&format!("to='{own}'"), "");
        }
        for jid in [HAG01_BARE, HAG66_BARE, HECATE_BARE] {
            assert!(!xml.contains(jid), "{jid} shown in {xml}");
        }
    }
}
