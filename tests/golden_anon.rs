//! MIX-ANON (XEP-0404) and the MUC view's anonymity as one setting: the
//! three JID visibility modes, user preferences (join form and
//! `<user-preference/>`), the JID map node, the info node's JID
//! Visibility, and what a mode change does. Seed examples where the seed
//! has them; each test checks what a participant who must not see a JID
//! receives.

mod common;

use common::*;
use xmpp_parsers::minidom::Element;

const MIX_NS: &str = "urn:xmpp:mix:core:1";
const ANON: &str = "urn:xmpp:mix:anon:0";
const COVEN: &str = "coven@mix.shakespeare.example";
const COVEN_MUC: &str = "coven@chat.shakespeare.example";
const MESSAGES: &str = "urn:xmpp:mix:nodes:messages";
const PARTICIPANTS: &str = "urn:xmpp:mix:nodes:participants";
const PRESENCE: &str = "urn:xmpp:mix:nodes:presence";
const INFO: &str = "urn:xmpp:mix:nodes:info";
const JIDMAP: &str = "urn:xmpp:mix:nodes:jidmap";
const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
const MUC_USER: &str = "http://jabber.org/protocol/muc#user";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const HECATE: &str = "hecate@shakespeare.example/UUID-e3r/9264";
const HECATE_BARE: &str = "hecate@shakespeare.example";
const WICCA: &str = "wiccarocks@shakespeare.example/laptop";

/// A harness whose new channels have this mode, with coven created by hag66 (owner).
async fn coven(mode: &str) -> Harness {
    let h = Harness::with_toml(&format!("[service]\njid_visibility = \"{mode}\"\n")).await;
    let out = h.send(&format!("<iq type='set' id='c' from='{HAG66}' to='{MIX}'><create xmlns='{MIX_NS}' channel='coven'/></iq>")).await;
    assert_eq!(out[0].attr("type"), Some("result"), "{}", canonical(&out[0]));
    h
}

fn pref_form(fields: &[(&str, &str)]) -> String {
    let f: String = fields.iter().map(|(var, v)| format!("<field var='{var}'><value>{v}</value></field>")).collect();
    format!("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>{ANON}</value></field>{f}</x>")
}

/// A join from a participant's server with nick and (optional) preference form; the answers.
async fn join_with(h: &Harness, bare: &str, nick: &str, prefs: &[(&str, &str)]) -> Vec<Element> {
    let form = if prefs.is_empty() { String::new() } else { pref_form(prefs) };
    h.send(&format!(
        "<iq type='set' id='j-{nick}' from='{bare}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='{MESSAGES}'/><subscribe node='{PARTICIPANTS}'/><subscribe node='{PRESENCE}'/><nick>{nick}</nick>{form}</join></iq>"
    ))
    .await
}

/// Joins and returns the participant id.
async fn join(h: &Harness, bare: &str, nick: &str, prefs: &[(&str, &str)]) -> String {
    let out = join_with(h, bare, nick, prefs).await;
    let iq = out.iter().find(|e| e.name() == "iq").expect("join answer");
    assert_eq!(iq.attr("type"), Some("result"), "{}", canonical(iq));
    iq.get_child("join", MIX_NS).unwrap().attr("id").unwrap().to_string()
}

fn error_condition(e: &Element) -> Option<String> {
    e.get_child("error", COMPONENT_NS).and_then(|err| err.children().find(|c| c.ns() == STANZAS && c.name() != "text").map(|c| c.name().to_string()))
}

/// Everything `to` (a bare JID prefix) receives among `out`, as text.
fn received_by(out: &[Element], to: &str) -> String {
    out.iter().filter(|e| e.attr("to").is_some_and(|t| t.starts_with(to))).map(canonical).collect()
}

async fn publish_mode(h: &Harness, from: &str, mode: &str) -> Vec<Element> {
    h.send(&format!(
        "<iq type='set' id='m' from='{from}' to='{COVEN}'><pubsub xmlns='{PUBSUB}'><publish node='{INFO}'><item>\
         <x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>{MIX_NS}</value></field>\
         <field var='JID Visibility'><value>{mode}</value></field></x></item></publish></pubsub></iq>"
    ))
    .await
}

async fn items(h: &Harness, from: &str, node: &str) -> Element {
    h.send(&format!("<iq type='get' id='i' from='{from}' to='{COVEN}'><pubsub xmlns='{PUBSUB}'><items node='{node}'/></pubsub></iq>")).await.remove(0)
}

async fn enter_muc(h: &Harness, from: &str, nick: &str) -> Vec<Element> {
    h.send(&format!("<presence from='{from}' to='{COVEN_MUC}/{nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).await
}

/// The seed's join with a preference, and its result listing every preference.
#[tokio::test]
async fn join_with_preferences_answers_all_of_them() {
    let h = coven("hidden").await;
    let out = join_with(&h, HAG01_BARE, "hag01", &[("JID Visibility", "never")]).await;
    assert_xml(
        &out[0],
        &format!(
            "<iq type='result' id='j-hag01' from='{COVEN}' to='{HAG01_BARE}'><join xmlns='{MIX_NS}' id='{{*}}' jid='{{*}}'>
               <subscribe node='{MESSAGES}'/><subscribe node='{PARTICIPANTS}'/><subscribe node='{PRESENCE}'/><nick>hag01</nick>
               <x xmlns='jabber:x:data' type='result'>
                 <field var='FORM_TYPE' type='hidden'><value>{ANON}</value></field>
                 <field var='JID Visibility' type='list-single'><value>never</value></field>
                 <field var='Private Messages' type='list-single'><value>allow</value></field>
                 <field var='vCard' type='list-single'><value>allow</value></field>
                 <field var='Presence' type='list-single'><value>share</value></field>
               </x></join></iq>"
        ),
    );
}

/// A preference the mode contradicts is refused, in the join and later;
/// a value not offered is bad-request.
#[tokio::test]
async fn contradicting_preferences_are_refused() {
    let h = coven("visible").await;
    let out = join_with(&h, HAG01_BARE, "hag01", &[("JID Visibility", "never")]).await;
    assert_eq!(error_condition(&out[0]).as_deref(), Some("not-acceptable"), "{}", canonical(&out[0]));
    assert!(h.store.get_participant("coven", HAG01_BARE).await.unwrap().is_none(), "a refused join stores nothing");
    join(&h, HAG01_BARE, "hag01", &[]).await;
    let set = |v: &str| format!("<iq type='set' id='p' from='{HAG01}' to='{COVEN}'><user-preference xmlns='{ANON}'>{}</user-preference></iq>", pref_form(&[("JID Visibility", v)]));
    let out = h.send(&set("never")).await;
    assert_eq!(error_condition(&out[0]).as_deref(), Some("not-acceptable"));
    let out = h.send(&set("sometimes")).await;
    assert_eq!(error_condition(&out[0]).as_deref(), Some("bad-request"));
    // Not a participant.
    let out = h.send(&format!("<iq type='get' id='p' from='{ROMEO}' to='{COVEN}'><user-preference xmlns='{ANON}'/></iq>")).await;
    assert_eq!(error_condition(&out[0]).as_deref(), Some("forbidden"));
}

/// `<user-preference/>` get: the template (options and current values);
/// set: all values back.
#[tokio::test]
async fn user_preference_get_and_set() {
    let h = coven("maybe-visible").await;
    join(&h, HAG01_BARE, "hag01", &[]).await;
    let out = h.send(&format!("<iq type='get' id='g' from='{HAG01}' to='{COVEN}'><user-preference xmlns='{ANON}'/></iq>")).await;
    let form = out[0].get_child("user-preference", ANON).and_then(|u| u.get_child("x", "jabber:x:data")).unwrap_or_else(|| panic!("{}", canonical(&out[0])));
    assert_eq!(form.attr("type"), Some("form"));
    let field = form.children().find(|f| f.attr("var") == Some("JID Visibility")).unwrap();
    let options: Vec<String> = field.children().filter(|c| c.name() == "option").map(|o| o.children().next().unwrap().text()).collect();
    assert_eq!(options, ["default", "never", "always", "prefer not"]);
    assert_eq!(field.children().find(|c| c.name() == "value").unwrap().text(), "default");
    let out = h
        .send(&format!(
            "<iq type='set' id='s' from='{HAG01}' to='{COVEN}'><user-preference xmlns='{ANON}'>{}</user-preference></iq>",
            pref_form(&[("JID Visibility", "always"), ("Private Messages", "block")])
        ))
        .await;
    assert_xml(
        &out[0],
        &format!(
            "<iq type='result' id='s' from='{COVEN}' to='{HAG01}'><user-preference xmlns='{ANON}'><x xmlns='jabber:x:data' type='result'>
               <field var='FORM_TYPE' type='hidden'><value>{ANON}</value></field>
               <field var='JID Visibility' type='list-single'><value>always</value></field>
               <field var='Private Messages' type='list-single'><value>block</value></field>
               <field var='vCard' type='list-single'><value>allow</value></field>
               <field var='Presence' type='list-single'><value>share</value></field>
             </x></user-preference></iq>"
        ),
    );
    // Kept: a later get shows it.
    let out = h.send(&format!("<iq type='get' id='g2' from='{HAG01}' to='{COVEN}'><user-preference xmlns='{ANON}'/></iq>")).await;
    assert!(canonical(&out[0]).contains("<value>always</value>"));
}

/// jid-maybe-visible: a participant whose preference is `always` is shown
/// (participants node, messages, presence, MUC presence); the others are
/// not, to anyone but moderators.
#[tokio::test]
async fn maybe_visible_shows_only_who_allows_it() {
    let h = coven("maybe-visible").await;
    let shown = join(&h, HAG01_BARE, "hag01", &[("JID Visibility", "always")]).await;
    let hidden = join(&h, HECATE_BARE, "hecate", &[]).await;
    let node = canonical(&items(&h, HAG01, PARTICIPANTS).await);
    assert!(node.contains(&format!("<jid>{HAG01_BARE}</jid>")), "{node}");
    assert!(!node.contains(HECATE_BARE), "{node}");
    let _ = (shown, hidden);
    // Messages: hag01's carry its JID; hecate's do not.
    let out = h.send(&format!("<message type='groupchat' id='m1' from='{HAG01}' to='{COVEN}'><body>seen</body></message>")).await;
    assert!(received_by(&out, HECATE_BARE).contains(&format!("<jid>{HAG01_BARE}</jid>")), "{}", received_by(&out, HECATE_BARE));
    let out = h.send(&format!("<message type='groupchat' id='m2' from='{HECATE}' to='{COVEN}'><body>unseen</body></message>")).await;
    assert!(!received_by(&out, HAG01_BARE).contains(HECATE_BARE), "{}", received_by(&out, HAG01_BARE));
    // A MUC occupant (not a moderator) sees hag01's JID, not hecate's
    // (both online through their MIX clients).
    h.send(&format!("<presence from='{HAG01}' to='{COVEN}'/>")).await;
    h.send(&format!("<presence from='{HECATE}' to='{COVEN}'/>")).await;
    let out = enter_muc(&h, ROMEO, "romeo").await;
    let to_romeo = received_by(&out, ROMEO);
    assert!(to_romeo.contains(&format!("jid='{HAG01_BARE}'")), "{to_romeo}");
    assert!(!to_romeo.contains(HECATE_BARE), "{to_romeo}");
    // Presence from hecate's client: no <jid/> to hag01.
    let out = h.send(&format!("<presence from='{HECATE}' to='{COVEN}'><show>away</show></presence>")).await;
    assert!(!received_by(&out, HAG01_BARE).contains(HECATE_BARE) && !received_by(&out, ROMEO).contains(HECATE_BARE), "{}", out.iter().map(canonical).collect::<String>());
    // MAM: a participant filtering by hecate's real JID learns nothing.
    let out = h.send(&format!("<iq type='set' id='q' from='{HAG01}' to='{COVEN}'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='with'><value>{HECATE_BARE}</value></field></x></query></iq>")).await;
    assert_eq!(out.len(), 1, "no message of a hidden sender: {}", out.iter().map(canonical).collect::<String>());
    assert_eq!(out[0].attr("type"), Some("result"));
}

/// The JID map node: administrators only where JIDs are hidden; every
/// participant in a jid-visible channel; never written through PubSub.
#[tokio::test]
async fn jid_map_node() {
    let h = coven("hidden").await;
    let pid = join(&h, HAG01_BARE, "hag01", &[]).await;
    let out = items(&h, HAG01, JIDMAP).await;
    assert_eq!(error_condition(&out).as_deref(), Some("forbidden"), "{}", canonical(&out));
    let out = items(&h, HAG66, JIDMAP).await;
    assert_xml(
        &out,
        &format!(
            "<iq type='result' id='i' from='{COVEN}' to='{HAG66}'><pubsub xmlns='{PUBSUB}'><items node='{JIDMAP}'>
               <item id='{pid}#{COVEN}'><participant xmlns='{ANON}'><jid>{HAG01_BARE}</jid></participant></item>
             </items></pubsub></iq>"
        ),
    );
    let out = h.send(&format!("<iq type='set' id='w' from='{HAG66}' to='{COVEN}'><pubsub xmlns='{PUBSUB}'><publish node='{JIDMAP}'><item id='x'/></publish></pubsub></iq>")).await;
    assert_eq!(error_condition(&out[0]).as_deref(), Some("feature-not-implemented"));
    publish_mode(&h, HAG66, "jid-visible").await;
    let out = items(&h, HAG01, JIDMAP).await;
    assert_eq!(out.attr("type"), Some("result"), "{}", canonical(&out));
}

/// The info node carries the mode; an owner's publish changes it in both
/// views (muc#owner whois, disco); others are refused; a bad value is
/// bad-request naming the field.
#[tokio::test]
async fn info_node_sets_the_mode_for_both_views() {
    let h = coven("hidden").await;
    join(&h, HAG01_BARE, "hag01", &[]).await;
    assert!(canonical(&items(&h, HAG01, INFO).await).contains("<value>jid-hidden</value>"));
    let out = publish_mode(&h, HAG01, "jid-visible").await;
    assert_eq!(error_condition(&out[0]).as_deref(), Some("forbidden"));
    let out = publish_mode(&h, HAG66, "visible").await;
    assert_eq!(error_condition(&out[0]).as_deref(), Some("bad-request"));
    assert!(canonical(&out[0]).contains("JID Visibility"));
    let out = publish_mode(&h, HAG66, "jid-maybe-visible").await;
    assert_eq!(out[0].attr("type"), Some("result"), "{}", canonical(&out[0]));
    assert!(canonical(&items(&h, HAG01, INFO).await).contains("<value>jid-maybe-visible</value>"));
    let form = h.send(&format!("<iq type='get' id='o' from='{HAG66}' to='{COVEN_MUC}'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")).await;
    let whois = form[0].get_child("query", "http://jabber.org/protocol/muc#owner").unwrap().get_child("x", "jabber:x:data").unwrap().children().find(|f| f.attr("var") == Some("muc#roomconfig_whois")).unwrap().clone();
    assert_eq!(whois.children().filter(|c| c.name() == "value").map(|v| v.text()).collect::<Vec<_>>(), ["preference"]);
    let disco = h.send(&format!("<iq type='get' id='d' from='{HAG01}' to='{COVEN_MUC}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")).await;
    assert!(canonical(&disco[0]).contains("muc_semianonymous"));
}

/// A switch to jid-visible removes the participant whose preference is
/// `never` before anyone is shown its JID: nobody else ever receives it,
/// and its MUC session is told why (307 with the reason); the one whose
/// preference is `always` is removed by a switch to jid-hidden.
#[tokio::test]
async fn a_mode_change_removes_who_it_contradicts_without_showing_them() {
    let h = coven("maybe-visible").await;
    join(&h, HAG01_BARE, "hag01", &[("JID Visibility", "never")]).await;
    join(&h, HECATE_BARE, "hecate", &[("JID Visibility", "always")]).await;
    enter_muc(&h, HAG01, "hag01").await;
    enter_muc(&h, WICCA, "wicca").await;
    let out = publish_mode(&h, HAG66, "jid-visible").await;
    let all: String = out.iter().map(canonical).collect();
    assert_eq!(out[0].attr("type"), Some("result"), "{all}");
    for e in out.iter().filter(|e| !e.attr("to").unwrap_or("").starts_with(HAG01_BARE)) {
        assert!(!canonical(e).contains(HAG01_BARE), "hag01's JID shown: {}", canonical(e));
    }
    let to_hag01 = received_by(&out, HAG01);
    assert!(to_hag01.contains("type='unavailable'") && to_hag01.contains("code='307'") && to_hag01.contains("code='110'"), "{to_hag01}");
    assert!(h.store.get_participant("coven", HAG01_BARE).await.unwrap().is_none());
    // Wicca (MUC, not a moderator) now sees everyone: 172, and hecate's presence with its JID.
    let to_wicca = received_by(&out, WICCA);
    assert!(to_wicca.contains("code='172'"), "{to_wicca}");
    assert!(h.store.get_participant("coven", HECATE_BARE).await.unwrap().is_some());
    // Back to hidden: hecate (always) goes, with the JID it allowed.
    let out = publish_mode(&h, HAG66, "jid-hidden").await;
    assert!(h.store.get_participant("coven", HECATE_BARE).await.unwrap().is_none(), "{}", out.iter().map(canonical).collect::<String>());
    assert!(received_by(&out, WICCA).contains("code='173'"));
}

/// A participant whose preference blocks private messages gets none:
/// policy-violation to the sender, in either view.
#[tokio::test]
async fn private_messages_follow_the_preference() {
    let h = coven("hidden").await;
    let pid = join(&h, HAG01_BARE, "hag01", &[("Private Messages", "block")]).await;
    join(&h, HECATE_BARE, "hecate", &[]).await;
    let out = h.send(&format!("<message type='chat' id='pm' from='{HECATE}' to='{pid}#{COVEN}'><body>psst</body></message>")).await;
    assert_eq!(error_condition(&out[0]).as_deref(), Some("policy-violation"), "{}", canonical(&out[0]));
    enter_muc(&h, WICCA, "wicca").await;
    let out = h.send(&format!("<message type='chat' id='pm2' from='{WICCA}' to='{COVEN_MUC}/hag01'><body>psst</body><x xmlns='{MUC_USER}'/></message>")).await;
    assert_eq!(error_condition(&out[0]).as_deref(), Some("policy-violation"), "{}", canonical(&out[0]));
}

/// Presence 'not share': the participant's clients are not in the
/// presence node, and setting it takes them out.
#[tokio::test]
async fn presence_not_shared() {
    let h = coven("hidden").await;
    join(&h, HAG01_BARE, "hag01", &[]).await;
    join(&h, HECATE_BARE, "hecate", &[]).await;
    h.send(&format!("<presence from='{HAG01}' to='{COVEN}'><show>dnd</show></presence>")).await;
    assert!(canonical(&items(&h, HECATE, PRESENCE).await).contains("dnd"));
    let out = h
        .send(&format!("<iq type='set' id='s' from='{HAG01}' to='{COVEN}'><user-preference xmlns='{ANON}'>{}</user-preference></iq>", pref_form(&[("Presence", "not share")])))
        .await;
    assert!(received_by(&out, HECATE_BARE).contains("type='unavailable'"), "{}", out.iter().map(canonical).collect::<String>());
    assert!(!canonical(&items(&h, HECATE, PRESENCE).await).contains("dnd"));
    let out = h.send(&format!("<presence from='{HAG01}' to='{COVEN}'><show>chat</show></presence>")).await;
    assert!(received_by(&out, HECATE_BARE).is_empty(), "{}", out.iter().map(canonical).collect::<String>());
}

/// jid-maybe-visible: a participant who changes its preference to `always`
/// is shown from then on: its participants item again with its JID to the
/// node's subscribers, and its presence with the JID to MUC occupants.
#[tokio::test]
async fn a_preference_change_shows_the_jid_in_both_views() {
    let h = coven("maybe-visible").await;
    join(&h, HAG01_BARE, "hag01", &[]).await;
    h.send(&format!("<presence from='{HAG01}' to='{COVEN}'/>")).await;
    join(&h, HECATE_BARE, "hecate", &[]).await;
    enter_muc(&h, ROMEO, "romeo").await;
    let out = h
        .send(&format!("<iq type='set' id='s' from='{HAG01}' to='{COVEN}'><user-preference xmlns='{ANON}'>{}</user-preference></iq>", pref_form(&[("JID Visibility", "always")])))
        .await;
    let to_hecate = received_by(&out, HECATE_BARE);
    assert!(to_hecate.contains(&format!("<jid>{HAG01_BARE}</jid>")) && to_hecate.contains(PARTICIPANTS), "{to_hecate}");
    let to_romeo = received_by(&out, ROMEO);
    assert!(to_romeo.contains(&format!("jid='{HAG01_BARE}'")), "{to_romeo}");
}
