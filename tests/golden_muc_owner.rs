//! Golden transcripts for the room owner (XEP-0045 §10) in both views:
//! locked rooms and the instant room, the muc#roomconfig form (get, submit,
//! refusals), cancelling the initial configuration, owner destroy, and the
//! configuration enforced on entering and joining (members-only, maximum
//! users, subject changes, semi-anonymous rooms), in disco and in the MIX
//! info and config nodes.
//!
//! JIDs of the XEP-0045 examples, on the harness domains: crone1 (the
//! owner), hag66 (a participant), wiccarocks (an outsider).

mod common;

use common::*;
use xmpp_parsers::minidom::Element;

const OWNER_NS: &str = "http://jabber.org/protocol/muc#owner";
const MUC_NS: &str = "http://jabber.org/protocol/muc";
const MUC_USER: &str = "http://jabber.org/protocol/muc#user";
const MIX_NS: &str = "urn:xmpp:mix:core:1";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const ROOMCONFIG: &str = "http://jabber.org/protocol/muc#roomconfig";
const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
const PUBSUB: &str = "http://jabber.org/protocol/pubsub";

const CRONE: &str = "crone1@shakespeare.example/desktop";
const CRONE_BARE: &str = "crone1@shakespeare.example";
const WICCA: &str = "wiccarocks@shakespeare.example/laptop";
const WICCA_BARE: &str = "wiccarocks@shakespeare.example";

fn room() -> String {
    format!("coven@{MUC}")
}

fn enter(from: &str, nick: &str) -> String {
    format!("<presence from='{from}' to='coven@{MUC}/{nick}'><x xmlns='{MUC_NS}'/></presence>")
}

fn owner_get(from: &str, id: &str) -> String {
    format!("<iq type='get' id='{id}' from='{from}' to='coven@{MUC}'><query xmlns='{OWNER_NS}'/></iq>")
}

fn owner_set(from: &str, id: &str, inner: &str) -> String {
    format!("<iq type='set' id='{id}' from='{from}' to='coven@{MUC}'><query xmlns='{OWNER_NS}'>{inner}</query></iq>")
}

/// A submitted configuration form with these (var suffix, values).
fn form(fields: &[(&str, &[&str])]) -> String {
    let mut x = format!("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>{ROOMCONFIG}</value></field>");
    for (var, values) in fields {
        x.push_str(&format!("<field var='muc#roomconfig_{var}'>"));
        for v in *values {
            x.push_str(&format!("<value>{v}</value>"));
        }
        x.push_str("</field>");
    }
    x.push_str("</x>");
    x
}

/// An owner submits a form; asserts the IQ result (the status messages and
/// presences that follow are returned).
async fn configure(h: &Harness, id: &str, fields: &[(&str, &[&str])]) -> Vec<Element> {
    let out = h.send(&owner_set(CRONE, id, &form(fields))).await;
    assert_xml(&out[0], &result(CRONE, id));
    out
}

fn result(to: &str, id: &str) -> String {
    format!("<iq type='result' id='{id}' from='coven@{MUC}' to='{to}'/>")
}

fn iq_error(from: &str, to: &str, id: &str, type_: &str, condition: &str) -> String {
    format!(
        "<iq type='error' id='{id}' from='{from}' to='{to}'><error type='{type_}' by='{from}'><{condition} xmlns='{STANZAS}'/>\
         <text xmlns='{STANZAS}' xml:lang='en'>{{*}}</text></error></iq>"
    )
}

fn presence_error(to: &str, nick: &str, type_: &str, condition: &str) -> String {
    let from = format!("coven@{MUC}/{nick}");
    format!(
        "<presence type='error' from='{from}' to='{to}'><priority>0</priority><x xmlns='http://jabber.org/protocol/muc'/><error type='{type_}' by='coven@{MUC}'><{condition} xmlns='{STANZAS}'/>\
         <text xmlns='{STANZAS}' xml:lang='en'>{{*}}</text></error></presence>"
    )
}

/// The status codes of a muc#user element in a stanza.
fn codes(e: &Element) -> Vec<String> {
    e.get_child("x", MUC_USER).map(|x| x.children().filter_map(|c| c.attr("code").map(str::to_string)).collect()).unwrap_or_default()
}

/// The `jid` of the muc#user item of a presence.
fn item_jid(e: &Element) -> Option<String> {
    e.get_child("x", MUC_USER)?.get_child("item", MUC_USER)?.attr("jid").map(str::to_string)
}

/// crone1 creates coven by entering it: the room is locked.
async fn created() -> Harness {
    let h = Harness::new().await;
    let out = h.send(&enter(CRONE, "firstwitch")).await;
    let own = out.iter().find(|e| e.name() == "presence").expect("self-presence");
    assert_eq!(codes(own), ["110", "100", "201"], "{}", canonical(own));
    h
}

/// crone1 creates coven and accepts the instant room.
async fn instant() -> Harness {
    let h = created().await;
    h.exchange1(&owner_set(CRONE, "i1", "<x xmlns='jabber:x:data' type='submit'/>"), &result(CRONE, "i1")).await;
    h
}

/// Enters and expects success (whatever the room sends).
async fn enters(h: &Harness, from: &str, nick: &str) -> Vec<Element> {
    let out = h.send(&enter(from, nick)).await;
    assert!(out.iter().any(|e| e.name() == "presence" && codes(e).contains(&"110".to_string())), "{from} did not enter:\n{}", out.iter().map(canonical).collect::<String>());
    out
}

// ================================================================ locked rooms

/// XEP-0045 §10.1.1 / §7.2.9: a new room is locked; others get
/// item-not-found, through MUC and MIX; the instant room unlocks it.
#[tokio::test]
async fn new_room_is_locked_until_the_instant_room_is_accepted() {
    let h = created().await;
    h.exchange1(&enter(HAG66, "secondwitch"), &presence_error(HAG66, "secondwitch", "cancel", "item-not-found")).await;
    h.exchange1(
        &format!("<iq type='set' id='j1' from='{HAG66_BARE}' to='coven@{MIX}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/></join></iq>"),
        &iq_error(&format!("coven@{MIX}"), HAG66_BARE, "j1", "cancel", "item-not-found"),
    )
    .await;
    // Not listed while locked.
    h.exchange1(
        &format!("<iq type='get' id='d1' from='{HAG66}' to='{MUC}'><query xmlns='{DISCO_ITEMS}'/></iq>"),
        &format!("<iq type='result' id='d1' from='{MUC}' to='{HAG66}'><query xmlns='{DISCO_ITEMS}'/></iq>"),
    )
    .await;
    // Only an owner may unlock it.
    h.exchange1(&owner_set(HAG66, "i0", "<x xmlns='jabber:x:data' type='submit'/>"), &iq_error(&room(), HAG66, "i0", "auth", "forbidden")).await;
    // The instant room: a result, no configuration message (nothing changed).
    h.exchange1(&owner_set(CRONE, "i1", "<x xmlns='jabber:x:data' type='submit'/>"), &result(CRONE, "i1")).await;
    enters(&h, HAG66, "secondwitch").await;
}

/// The lock is in the store: a restarted service keeps the room locked.
#[tokio::test]
async fn the_lock_survives_a_restart() {
    let h = created().await;
    let restarted = mixmuc::service::Service::new(&h.config, h.store.clone());
    let out: Vec<Element> = restarted.handle(stanza(&enter(HAG66, "secondwitch"))).await.iter().map(to_element).collect();
    assert_stanzas(&out, &[&presence_error(HAG66, "secondwitch", "cancel", "item-not-found")]);
}

/// A room created through MIX is not locked.
#[tokio::test]
async fn mix_created_channel_is_not_locked() {
    let h = Harness::new().await;
    h.send(&format!("<iq type='set' id='c' from='{CRONE}' to='{MIX}'><create xmlns='{MIX_NS}' channel='coven'/></iq>")).await;
    enters(&h, HAG66, "secondwitch").await;
}

/// XEP-0045 §10.1.3: cancelling the initial configuration destroys the
/// room; the owner gets unavailable presence with <destroy/>.
#[tokio::test]
async fn cancelling_the_initial_configuration_destroys_the_room() {
    let h = created().await;
    h.exchange(
        &owner_set(CRONE, "x1", "<x xmlns='jabber:x:data' type='cancel'/>"),
        &[
            &result(CRONE, "x1"),
            &format!(
                "<presence type='unavailable' from='coven@{MUC}/firstwitch' to='{CRONE}'>
                   <priority>0</priority><x xmlns='{MUC_USER}'><item affiliation='none' role='none' jid='{CRONE}'/><status code='110'/>
                     <destroy><reason>{{*}}</reason></destroy></x>
                   <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{{*}}'/>
                 </presence>"
            ),
        ],
    )
    .await;
    h.exchange1(&owner_get(CRONE, "g"), &format!("<iq type='error' id='g' from='coven@{MUC}' to='{CRONE}'><error type='cancel' by='coven@{MUC}'><item-not-found xmlns='{STANZAS}'/></error></iq>")).await;
}

/// Cancelling a later configuration changes nothing.
#[tokio::test]
async fn cancelling_a_later_configuration_keeps_the_room() {
    let h = instant().await;
    h.exchange1(&owner_set(CRONE, "x1", "<x xmlns='jabber:x:data' type='cancel'/>"), &result(CRONE, "x1")).await;
    enters(&h, HAG66, "secondwitch").await;
}

/// XEP-0045 §10.1.3: an owner who leaves before configuring the room
/// destroys it; entering again creates it anew (201).
#[tokio::test]
async fn leaving_a_locked_room_destroys_it() {
    let h = created().await;
    h.send(&format!("<presence type='unavailable' from='{CRONE}' to='coven@{MUC}/firstwitch'/>")).await;
    let out = h.send(&enter(CRONE, "firstwitch")).await;
    let own = out.iter().find(|e| e.name() == "presence").unwrap();
    assert!(codes(own).contains(&"201".to_string()), "{}", canonical(own));
}

// ================================================================ the form

/// XEP-0045 §10.2: the form with the current values, to owners only.
#[tokio::test]
async fn owner_gets_the_configuration_form() {
    let h = created().await;
    h.exchange1(
        &owner_get(CRONE, "config1"),
        &format!(
            "<iq type='result' id='config1' from='coven@{MUC}' to='{CRONE}'>
               <query xmlns='{OWNER_NS}'>
                 <x xmlns='jabber:x:data' type='form'>
                   <title>Configuration for coven@{MUC}</title>
                   <instructions>Complete and submit this form to configure the room.</instructions>
                   <field var='FORM_TYPE' type='hidden'><value>{ROOMCONFIG}</value></field>
                   <field var='muc#roomconfig_roomname' label='Title'><value></value></field>
                   <field var='muc#roomconfig_roomdesc' label='Description'><value></value></field>
                   <field var='muc#roomconfig_lang' label='{{*}}'><value></value></field>
                   <field var='muc#roomconfig_persistentroom' type='boolean' label='{{*}}'><value>1</value></field>
                   <field var='muc#roomconfig_publicroom' type='boolean' label='{{*}}'><value>1</value></field>
                   <field var='muc#roomconfig_membersonly' type='boolean' label='{{*}}'><value>0</value></field>
                   <field var='muc#roomconfig_allowinvites' type='boolean' label='{{*}}'><value>1</value></field>
                   <field var='muc#roomconfig_passwordprotectedroom' type='boolean' label='{{*}}'><value>0</value></field>
                   <field var='muc#roomconfig_maxusers' type='list-single' label='{{*}}'>
                     <option label='10'><value>10</value></option><option label='20'><value>20</value></option>
                     <option label='30'><value>30</value></option><option label='50'><value>50</value></option>
                     <option label='100'><value>100</value></option><option label='None'><value>none</value></option>
                     <value>none</value>
                   </field>
                   <field var='muc#roomconfig_whois' type='list-single' label='{{*}}'>
                     <option label='Moderators only'><value>moderators</value></option>
                     <option label='{{*}}'><value>preference</value></option>
                     <option label='Anyone'><value>anyone</value></option>
                     <value>anyone</value>
                   </field>
                   <field var='muc#roomconfig_moderatedroom' type='boolean' label='{{*}}'><value>0</value></field>
                   <field var='muc#roomconfig_changesubject' type='boolean' label='{{*}}'><value>1</value></field>
                   <field var='muc#roomconfig_allowpm' type='list-single' label='{{*}}'>
                     <option label='Anyone'><value>anyone</value></option>
                     <option label='Participants'><value>participants</value></option>
                     <option label='Moderators'><value>moderators</value></option>
                     <option label='Nobody'><value>none</value></option>
                     <value>anyone</value>
                   </field>
                   <field var='muc#roomconfig_roomadmins' type='jid-multi' label='Room admins'/>
                   <field var='muc#roomconfig_roomowners' type='jid-multi' label='Room owners'><value>{CRONE_BARE}</value></field>
                   <field var='mixmuc#roomconfig_userretraction' type='boolean' label='Allow senders to retract their own messages'><value>1</value></field>
                   <field var='mixmuc#roomconfig_retractionrights' type='list-single' label='Who may remove anyone&apos;s message'>
                     <option label='Moderators'><value>moderators</value></option>
                     <option label='Admins and owners'><value>admins</value></option>
                     <option label='Owners'><value>owners</value></option>
                     <option label='Nobody'><value>nobody</value></option>
                     <value>moderators</value>
                   </field>
                 </x>
               </query>
             </iq>"
        ),
    )
    .await;
    h.exchange1(&owner_get(WICCA, "config2"), &iq_error(&room(), WICCA, "config2", "auth", "forbidden")).await;
}

/// Submitting: the values are stored, occupants get status 104 (and 173
/// when the room becomes semi-anonymous); the form shows the new values;
/// disco and the MIX info node show them too.
#[tokio::test]
async fn submitting_the_form_configures_both_views() {
    let h = instant().await;
    enters(&h, HAG66, "secondwitch").await;
    let out = h
        .send(&owner_set(
            CRONE,
            "create2",
            &form(&[
                ("roomname", &["A Dark Cave"]),
                ("roomdesc", &["The place for all good witches!"]),
                ("lang", &["en"]),
                ("whois", &["moderators"]),
                ("maxusers", &["20"]),
                ("changesubject", &["0"]),
                ("allowpm", &["moderators"]),
                ("roomadmins", &[HAG66_BARE]),
            ]),
        ))
        .await;
    // result, the status message to both sessions, hag66's new presence (admin) to both.
    assert_xml(&out[0], &result(CRONE, "create2"));
    for (e, to) in out[1..3].iter().zip([CRONE, HAG66]) {
        assert_xml(
            e,
            &format!("<message type='groupchat' id='{{*}}' from='coven@{MUC}' to='{to}'><x xmlns='{MUC_USER}'><status code='104'/><status code='173'/></x></message>"),
        );
    }
    assert_eq!(out.len(), 5, "{}", out.iter().map(canonical).collect::<String>());
    for e in &out[3..] {
        let item = e.get_child("x", MUC_USER).unwrap().get_child("item", MUC_USER).unwrap();
        assert_eq!((item.attr("affiliation"), item.attr("role")), (Some("admin"), Some("moderator")), "{}", canonical(e));
    }
    // The form shows the new values.
    let got = h.send(&owner_get(CRONE, "g")).await;
    let x = got[0].get_child("query", OWNER_NS).unwrap().get_child("x", "jabber:x:data").unwrap();
    let value = |var: &str| {
        x.children().find(|f| f.attr("var") == Some(var)).map(|f| f.children().filter(|c| c.name() == "value").map(|v| v.text()).collect::<Vec<_>>()).unwrap()
    };
    assert_eq!(value("muc#roomconfig_roomname"), ["A Dark Cave"]);
    assert_eq!(value("muc#roomconfig_whois"), ["moderators"]);
    assert_eq!(value("muc#roomconfig_maxusers"), ["20"]);
    assert_eq!(value("muc#roomconfig_allowpm"), ["moderators"]);
    assert_eq!(value("muc#roomconfig_roomadmins"), [HAG66_BARE]);
    // Room disco#info.
    let info = h.send(&format!("<iq type='get' id='i' from='{WICCA}' to='coven@{MUC}'><query xmlns='{DISCO_INFO}'/></iq>")).await;
    let q = info[0].get_child("query", DISCO_INFO).unwrap();
    let features: Vec<&str> = q.children().filter(|c| c.name() == "feature").filter_map(|f| f.attr("var")).collect();
    for f in ["muc_semianonymous", "muc_public", "muc_open", "muc_unmoderated", "muc_unsecured", "muc_persistent"] {
        assert!(features.contains(&f), "{f} missing: {features:?}");
    }
    assert!(!features.contains(&"muc_nonanonymous"));
    assert_eq!(q.get_child("identity", DISCO_INFO).unwrap().attr("name"), Some("A Dark Cave"));
    let roominfo = q.get_child("x", "jabber:x:data").unwrap();
    let field = |var: &str| roominfo.children().find(|f| f.attr("var") == Some(var)).map(|f| f.children().next().map(|v| v.text()).unwrap_or_default());
    assert_eq!(field("muc#roominfo_description").as_deref(), Some("The place for all good witches!"));
    assert_eq!(field("muc#roominfo_lang").as_deref(), Some("en"));
    assert_eq!(field("muc#roominfo_subjectmod").as_deref(), Some("0"));
    // MIX disco and info node: the same title and description.
    let mix_info = h.send(&format!("<iq type='get' id='m' from='{CRONE}' to='coven@{MIX}'><query xmlns='{DISCO_INFO}' node='mix'/></iq>")).await;
    assert_eq!(mix_info[0].get_child("query", DISCO_INFO).unwrap().get_child("identity", DISCO_INFO).unwrap().attr("name"), Some("A Dark Cave"));
    let node = h.send(&format!("<iq type='get' id='n' from='{HAG66}' to='coven@{MIX}'><pubsub xmlns='{PUBSUB}'><items node='urn:xmpp:mix:nodes:info'/></pubsub></iq>")).await;
    let text = String::from(&node[0]);
    assert!(text.contains("A Dark Cave") && text.contains("The place for all good witches!"), "{text}");
}

/// Every value is checked: malformed values bad-request, values not
/// offered not-acceptable, a room never left without an owner; nothing is
/// changed by a refused form.
#[tokio::test]
async fn refused_forms() {
    let h = instant().await;
    let cases: &[(&str, &[(&str, &[&str])], &str, &str)] = &[
        ("r1", &[("publicroom", &["maybe"])], "modify", "bad-request"),
        ("r2", &[("whois", &["none"])], "modify", "not-acceptable"),
        ("r3", &[("allowpm", &["everybody"])], "modify", "not-acceptable"),
        ("r4", &[("maxusers", &["lots"])], "modify", "bad-request"),
        ("r5", &[("persistentroom", &["0"])], "modify", "not-acceptable"),
        ("r6", &[("passwordprotectedroom", &["1"])], "modify", "not-acceptable"),
        ("r7", &[("roomsecret", &["cauldronburn"])], "modify", "not-acceptable"),
        ("r8", &[("roomowners", &[])], "modify", "not-acceptable"),
        ("r9", &[("roomowners", &["crone1@shakespeare.example/desktop"])], "modify", "not-acceptable"),
        ("r10", &[("roomowners", &[CRONE_BARE]), ("roomadmins", &[CRONE_BARE])], "modify", "not-acceptable"),
        ("r11", &[("lang", &["en_GB"])], "modify", "not-acceptable"),
        ("r12", &[("roomname", &["Renamed"]), ("roomowners", &["@@"])], "modify", "bad-request"),
    ];
    for (id, fields, type_, cond) in cases {
        h.exchange1(&owner_set(CRONE, id, &form(fields)), &iq_error(&room(), CRONE, id, type_, cond)).await;
    }
    // Not of the room configuration type, not a submission, nothing in it.
    let wrong_type = "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:example</value></field><field var='a'><value>1</value></field></x>";
    h.exchange1(&owner_set(CRONE, "w1", wrong_type), &iq_error(&room(), CRONE, "w1", "modify", "bad-request")).await;
    h.exchange1(&owner_set(CRONE, "w2", "<x xmlns='jabber:x:data' type='form'/>"), &iq_error(&room(), CRONE, "w2", "modify", "bad-request")).await;
    h.exchange1(&owner_set(CRONE, "w3", ""), &iq_error(&room(), CRONE, "w3", "modify", "bad-request")).await;
    // Non-owners: forbidden, even with a good form.
    h.exchange1(&owner_set(WICCA, "w4", &form(&[("roomname", &["Mine"])])), &iq_error(&room(), WICCA, "w4", "auth", "forbidden")).await;
    let got = String::from(&h.send(&owner_get(CRONE, "g")).await[0]);
    assert!(!got.contains("Renamed") && !got.contains("Mine"), "{got}");
    // Unknown fields (other servers' forms) are ignored; owners may be replaced.
    h.exchange(
        &owner_set(CRONE, "ok", &form(&[("historylength", &["5"]), ("roomowners", &[HAG66_BARE])])),
        &[
            &result(CRONE, "ok"),
            // The former owner, a member now (so a members-only room still lets it in).
            &format!(
                "<presence from='coven@{MUC}/firstwitch' to='{CRONE}'><priority>0</priority>
                   <x xmlns='{MUC_USER}'><item affiliation='member' jid='{CRONE}' role='participant'/><status code='110'/></x>
                   <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{{*}}'/></presence>"
            ),
        ],
    )
    .await;
    h.exchange1(&owner_get(CRONE, "g2"), &iq_error(&room(), CRONE, "g2", "auth", "forbidden")).await;
    let got = String::from(&h.send(&owner_get(HAG66, "g3")).await[0]);
    assert!(got.contains(&format!("<value>{HAG66_BARE}</value>")) && !got.contains(CRONE_BARE), "{got}");
}

// ================================================================ enforcement

/// Members-only: outsiders get registration-required (MUC) and forbidden
/// (MIX); members, admins and owners pass.
#[tokio::test]
async fn members_only_room() {
    let h = instant().await;
    configure(&h, "m1", &[("membersonly", &["1"]), ("roomadmins", &[HAG66_BARE])]).await;
    h.exchange1(&enter(WICCA, "fourthwitch"), &presence_error(WICCA, "fourthwitch", "auth", "registration-required")).await;
    h.exchange1(
        &format!("<iq type='set' id='j1' from='{WICCA_BARE}' to='coven@{MIX}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/></join></iq>"),
        &iq_error(&format!("coven@{MIX}"), WICCA_BARE, "j1", "auth", "forbidden"),
    )
    .await;
    enters(&h, HAG66, "secondwitch").await;
    let disco = String::from(&h.send(&format!("<iq type='get' id='i' from='{WICCA}' to='coven@{MUC}'><query xmlns='{DISCO_INFO}'/></iq>")).await[0]);
    assert!(disco.contains("muc_membersonly") && !disco.contains("muc_open"), "{disco}");
}

/// Maximum users: a full room refuses newcomers with service-unavailable
/// (wait); admins and owners still enter; users already in stay in.
#[tokio::test]
async fn full_room() {
    let h = instant().await;
    configure(&h, "m1", &[("maxusers", &["2"])]).await;
    enters(&h, HAG66, "secondwitch").await;
    h.exchange1(&enter(WICCA, "fourthwitch"), &presence_error(WICCA, "fourthwitch", "wait", "service-unavailable")).await;
    // A second session of a user already in does not count.
    enters(&h, &format!("{HAG66_BARE}/other"), "secondwitch").await;
    // An admin enters a full room.
    configure(&h, "m2", &[("roomadmins", &[WICCA_BARE])]).await;
    enters(&h, WICCA, "fourthwitch").await;
}

/// changesubject = 0: only moderators change the subject.
#[tokio::test]
async fn subject_changes_by_moderators_only() {
    let h = instant().await;
    configure(&h, "s0", &[("changesubject", &["0"])]).await;
    enters(&h, HAG66, "secondwitch").await;
    let subject = |from: &str, id: &str| format!("<message type='groupchat' id='{id}' from='{from}' to='coven@{MUC}'><subject>Fire Burn and Cauldron Bubble!</subject></message>");
    h.exchange1(
        &subject(HAG66, "s1"),
        &format!(
            "<message type='error' id='s1' from='coven@{MUC}' to='{HAG66}'><error type='auth' by='coven@{MUC}'><forbidden xmlns='{STANZAS}'/>\
             <text xmlns='{STANZAS}' xml:lang='en'>{{*}}</text></error></message>"
        ),
    )
    .await;
    let out = h.send(&subject(CRONE, "s2")).await;
    assert!(out.iter().all(|e| e.attr("type") == Some("groupchat")) && out.len() == 2, "{}", out.iter().map(canonical).collect::<String>());
}

/// whois = moderators: participants see no real JIDs (and no status 100),
/// moderators see every JID; MIX renders the channel JID-hidden.
#[tokio::test]
async fn semi_anonymous_room() {
    let h = instant().await;
    configure(&h, "a1", &[("whois", &["moderators"])]).await;
    let out = enters(&h, HAG66, "secondwitch").await;
    // hag66 sees crone1 without a JID, its own presence with its JID and without 100.
    let of = |to: &str, from_nick: &str| out.iter().find(|e| e.name() == "presence" && e.attr("to") == Some(to) && e.attr("from") == Some(&*format!("coven@{MUC}/{from_nick}"))).cloned();
    assert_eq!(item_jid(&of(HAG66, "firstwitch").unwrap()), None);
    let own = of(HAG66, "secondwitch").unwrap();
    assert_eq!(item_jid(&own).as_deref(), Some(HAG66));
    assert_eq!(codes(&own), ["110"]);
    // crone1, a moderator, sees hag66's JID.
    assert_eq!(item_jid(&of(CRONE, "secondwitch").unwrap()).as_deref(), Some(HAG66));
    // A MIX participant's view: no JIDs in the participants node.
    h.send(&format!(
        "<iq type='set' id='j' from='{ROMEO_BARE}' to='coven@{MIX}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:participants'/><nick>romeo</nick></join></iq>"
    ))
    .await;
    let items = String::from(&h.send(&format!("<iq type='get' id='p' from='{ROMEO}' to='coven@{MIX}'><pubsub xmlns='{PUBSUB}'><items node='urn:xmpp:mix:nodes:participants'/></pubsub></iq>")).await[0]);
    assert!(!items.contains(HAG66_BARE) && !items.contains(CRONE_BARE) && items.contains("secondwitch"), "{items}");
}

// ================================================================ destroy

/// XEP-0045 §10.9: owner destroy from the MUC view is the channel's
/// destroy: occupants get <destroy jid=…><reason/></destroy>, MIX
/// participants the MIX notice; non-owners forbidden.
#[tokio::test]
async fn owner_destroys_the_room() {
    let h = instant().await;
    enters(&h, HAG66, "secondwitch").await;
    let pid = {
        let out = h
            .send(&format!("<iq type='set' id='j' from='{ROMEO_BARE}' to='coven@{MIX}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/></join></iq>"))
            .await;
        out[0].get_child("join", MIX_NS).unwrap().attr("id").unwrap().to_string()
    };
    let destroy = format!("<destroy jid='heath@{MUC}'><reason>Macbeth doth come.</reason></destroy>");
    h.exchange1(&owner_set(HAG66, "d0", &destroy), &iq_error(&room(), HAG66, "d0", "auth", "forbidden")).await;
    let gone = |to: &str, nick: &str, jid: &str| {
        format!(
            "<presence type='unavailable' from='coven@{MUC}/{nick}' to='{to}'>
               <priority>0</priority><x xmlns='{MUC_USER}'><item affiliation='none' role='none' jid='{jid}'/><status code='110'/>
                 <destroy jid='heath@{MUC}'><reason>Macbeth doth come.</reason></destroy></x>
               <occupant-id xmlns='urn:xmpp:occupant-id:0' id='{{*}}'/>
             </presence>"
        )
    };
    h.exchange(
        &owner_set(CRONE, "begone", &destroy),
        &[
            &result(CRONE, "begone"),
            &format!(
                "<message type='headline' id='{{*}}' from='coven@{MIX}' to='{ROMEO_BARE}'>
                   <event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:mix:nodes:participants'>
                     <retract id='{pid}#coven@{MIX}'/></items></event></message>"
            ),
            &gone(CRONE, "firstwitch", CRONE),
            &gone(HAG66, "secondwitch", HAG66),
        ],
    )
    .await;
    h.exchange1(&owner_get(CRONE, "g"), &format!("<iq type='error' id='g' from='coven@{MUC}' to='{CRONE}'><error type='cancel' by='coven@{MUC}'><item-not-found xmlns='{STANZAS}'/></error></iq>")).await;
}

// ================================================================ discovery

/// A hidden room is listed on neither domain; its disco#info says muc_hidden.
#[tokio::test]
async fn hidden_room_is_not_listed() {
    let h = instant().await;
    configure(&h, "h1", &[("publicroom", &["0"])]).await;
    for domain in [MUC, MIX] {
        h.exchange1(
            &format!("<iq type='get' id='d' from='{WICCA}' to='{domain}'><query xmlns='{DISCO_ITEMS}'/></iq>"),
            &format!("<iq type='result' id='d' from='{domain}' to='{WICCA}'><query xmlns='{DISCO_ITEMS}'/></iq>"),
        )
        .await;
    }
    let disco = String::from(&h.send(&format!("<iq type='get' id='i' from='{WICCA}' to='coven@{MUC}'><query xmlns='{DISCO_INFO}'/></iq>")).await[0]);
    assert!(disco.contains("muc_hidden") && !disco.contains("muc_public"), "{disco}");
}

/// The MIX config node: the same owners, admins and settings, for owners.
#[tokio::test]
async fn mix_config_node() {
    let h = instant().await;
    configure(&h, "c1", &[("roomadmins", &[HAG66_BARE]), ("allowpm", &["none"]), ("membersonly", &["1"])]).await;
    let read = |from: &str| format!("<iq type='get' id='n' from='{from}' to='coven@{MIX}'><pubsub xmlns='{PUBSUB}'><items node='urn:xmpp:mix:nodes:config'/></pubsub></iq>");
    h.exchange1(
        &read(CRONE),
        &format!(
            "<iq type='result' id='n' from='coven@{MIX}' to='{CRONE}'><pubsub xmlns='{PUBSUB}'><items node='urn:xmpp:mix:nodes:config'>
               <item id='{{*}}'><x xmlns='jabber:x:data' type='result'>
                 <field var='FORM_TYPE' type='hidden'><value>{MIX_NS}</value></field>
                 <field var='Last Change Made By' type='jid-single'><value>{CRONE_BARE}</value></field>
                 <field var='Owner' type='jid-multi'><value>{CRONE_BARE}</value></field>
                 <field var='Administrator' type='jid-multi'><value>{HAG66_BARE}</value></field>
                 <field var='Nodes Present' type='list-multi'><value>participants</value><value>presence</value><value>information</value><value>allowed</value><value>banned</value></field>
                 <field var='Messages Node Subscription' type='list-single'><value>allowed</value></field>
                 <field var='Presence Node Subscription' type='list-single'><value>participants</value></field>
                 <field var='Participants Node Subscription' type='list-single'><value>participants</value></field>
                 <field var='Information Node Subscription' type='list-single'><value>participants</value></field>
                 <field var='Allowed Node Subscription' type='list-single'><value>admins</value></field>
                 <field var='Banned Node Subscription' type='list-single'><value>admins</value></field>
                 <field var='Configuration Node Access' type='list-single'><value>owners</value></field>
                 <field var='Information Node Update Rights' type='list-single'><value>owners</value></field>
                 <field var='Avatar Nodes Update Rights' type='list-single'><value>owners</value></field>
                 <field var='Open Presence' type='boolean'><value>false</value></field>
                 <field var='Participants Must Provide Presence' type='boolean'><value>false</value></field>
                 <field var='Participation Addition by Invitation from Participant' type='boolean'><value>true</value></field>
                 <field var='Private Messages' type='boolean'><value>false</value></field>
                 <field var='User Message Retraction' type='boolean'><value>true</value></field>
                 <field var='Administrator Message Retraction Rights' type='list-single'><value>moderators</value></field>
                 <field var='End of Life'><value/></field>
               </x></item>
             </items></pubsub></iq>"
        ),
    )
    .await;
    h.exchange1(&read(HAG66), &iq_error(&format!("coven@{MIX}"), HAG66, "n", "auth", "forbidden")).await;
}

/// A MIX config form published to the config node (seed "Configuration
/// Node"): one or more options.
fn config_publish(from: &str, id: &str, fields: &[(&str, &[&str])]) -> String {
    let mut x = format!("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>{MIX_NS}</value></field>");
    for (var, values) in fields {
        x.push_str(&format!("<field var='{var}'>"));
        for v in *values {
            x.push_str(&format!("<value>{v}</value>"));
        }
        x.push_str("</field>");
    }
    x.push_str("</x>");
    format!(
        "<iq type='set' id='{id}' from='{from}' to='coven@{MIX}'><pubsub xmlns='{PUBSUB}'><publish node='urn:xmpp:mix:nodes:config'><item>{x}</item></publish></pubsub></iq>"
    )
}

/// An owner changes the configuration through MIX: the same settings the
/// muc#owner form shows change (members-only, private messages, the
/// retraction options, the admin list), the room's occupants get status
/// 104 and the admin removed her new presence, and 'Last Change Made By'
/// names the owner. Refusals name the field: options not offered, values
/// not offered, a non-owner (`forbidden`).
#[tokio::test]
async fn mix_config_node_publish() {
    let h = instant().await;
    configure(&h, "c1", &[("roomadmins", &[HAG66_BARE]), ("allowpm", &["none"]), ("membersonly", &["1"])]).await;
    enters(&h, HAG66, "thirdwitch").await;
    let out = h
        .send(&config_publish(
            CRONE_BARE,
            "p1",
            &[
                ("Messages Node Subscription", &["anyone"]),
                ("Private Messages", &["true"]),
                ("User Message Retraction", &["false"]),
                ("Administrator Message Retraction Rights", &["owners"]),
                ("Administrator", &[]),
                ("Configuration Node Access", &["owners"]),
                ("Open Presence", &["false"]),
                ("Nodes Present", &["information", "participants", "presence", "banned", "allowed"]),
            ],
        ))
        .await;
    assert_xml(
        &out[0],
        &format!(
            "<iq type='result' id='p1' from='coven@{MIX}' to='{CRONE_BARE}'><pubsub xmlns='{PUBSUB}'><publish node='urn:xmpp:mix:nodes:config'><item id='{{*}}'/></publish></pubsub></iq>"
        ),
    );
    // Both occupants are told of the change (104); hag66 is no longer an admin.
    let to_hag: Vec<&Element> = out.iter().filter(|e| e.attr("to") == Some(HAG66)).collect();
    assert!(to_hag.iter().any(|e| e.name() == "message" && codes(e) == ["104"]), "{}", out.iter().map(canonical).collect::<String>());
    assert!(to_hag.iter().any(|e| e.name() == "presence" && e.get_child("x", MUC_USER).and_then(|x| x.get_child("item", MUC_USER)).and_then(|i| i.attr("affiliation")) == Some("member")));
    let row = h.service.channels.require("coven").await.unwrap();
    assert!(!row.members_only && row.allow_pm == "anyone" && !row.user_retraction && row.retraction_rights == "owners", "{row:?}");
    assert_eq!(row.config_by, CRONE_BARE);
    let owner_form = String::from(&h.send(&owner_get(CRONE, "g")).await[0]);
    assert!(owner_form.contains("var='muc#roomconfig_membersonly'><value>0</value></field>"), "{owner_form}");

    let refused = |fields: &'static [(&'static str, &'static [&'static str])], condition: &'static str, named: &'static str| {
        let h = &h;
        async move {
            let out = h.send(&config_publish(CRONE_BARE, "p2", fields)).await;
            assert_eq!(out.len(), 1);
            assert_xml(&out[0], &iq_error(&format!("coven@{MIX}"), CRONE_BARE, "p2", "modify", condition));
            let text = out[0].get_child("error", COMPONENT_NS).and_then(|e| e.get_child("text", STANZAS)).map(|t| t.text()).unwrap_or_default();
            assert!(text.contains(named), "{text:?} does not name {named:?}");
        }
    };
    refused(&[("Messages Node Subscription", &["nobody"])], "not-acceptable", "Messages Node Subscription").await;
    refused(&[("Configuration Node Access", &["participants"])], "not-acceptable", "Configuration Node Access").await;
    refused(&[("Nodes Present", &["participants", "information", "avatar"])], "not-acceptable", "Nodes Present").await;
    refused(&[("Open Presence", &["true"])], "not-acceptable", "Open Presence").await;
    refused(&[("Mandatory Nicks", &["true"])], "not-acceptable", "Mandatory Nicks").await;
    refused(&[("Administrator Message Retraction Rights", &["everyone"])], "not-acceptable", "Administrator Message Retraction Rights").await;
    refused(&[("User Message Retraction", &["maybe"])], "bad-request", "User Message Retraction").await;
    refused(&[("Owner", &["not a jid@@"])], "bad-request", "Owner").await;
    // hag66 is not an owner.
    let out = h.send(&config_publish(HAG66, "p3", &[("Private Messages", &["false"])])).await;
    assert_xml(&out[0], &iq_error(&format!("coven@{MIX}"), HAG66, "p3", "auth", "forbidden"));
    assert_eq!(h.service.channels.require("coven").await.unwrap().allow_pm, "anyone", "a refused publish changes nothing");
}

/// XEP-0045 §9.6/§10.2 status 322: a room made members-only removes those
/// without an affiliation, in both views: the occupant gets its own
/// unavailable presence with 110 and 322 (affiliation none, role none),
/// the others 322; a MIX participant without an affiliation loses its
/// participants item. Members stay.
#[tokio::test]
async fn members_only_removes_non_members() {
    let h = instant().await;
    enters(&h, HAG66, "thirdwitch").await;
    enters(&h, WICCA, "wicca").await;
    configure(&h, "m0", &[("roomadmins", &[]), ("roomowners", &[CRONE_BARE])]).await;
    let out = h
        .send(&format!("<iq type='set' id='m1' from='{CRONE}' to='coven@{MUC}'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member' jid='{WICCA_BARE}'/></query></iq>"))
        .await;
    assert_eq!(out[0].attr("type"), Some("result"));
    let out = h
        .send(&format!(
            "<iq type='set' id='j' from='{HECATE_BARE}' to='coven@{MIX}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:participants'/><nick>hecate</nick></join></iq>"
        ))
        .await;
    assert!(out.iter().any(|e| e.attr("type") == Some("result")));
    let out = configure(&h, "c1", &[("membersonly", &["1"])]).await;
    let to_hag: Vec<&Element> = out.iter().filter(|e| e.attr("to") == Some(HAG66)).collect();
    assert_eq!(to_hag.len(), 1, "hag66 is told only of her removal: {}", out.iter().map(canonical).collect::<String>());
    assert_eq!(to_hag[0].attr("type"), Some("unavailable"));
    assert_eq!(codes(to_hag[0]), ["322", "110"]);
    let to_crone_about_hag = out.iter().find(|e| e.attr("to") == Some(CRONE) && e.attr("from") == Some(&*format!("coven@{MUC}/thirdwitch"))).expect("crone told");
    assert_eq!(codes(to_crone_about_hag), ["322"]);
    let participants = h.service.channels.participants("coven").await.unwrap();
    let left: Vec<&str> = participants.iter().map(|p| p.jid.as_str()).collect();
    assert!(!left.contains(&HAG66_BARE) && !left.contains(&HECATE_BARE), "{left:?}");
    assert!(left.contains(&WICCA_BARE) && left.contains(&CRONE_BARE), "{left:?}");
    // Entering again: registration-required (members only).
    let out = h.send(&enter(HAG66, "thirdwitch")).await;
    assert_eq!(out[0].attr("type"), Some("error"));
}

/// The MIX info node's Contact (seed "Information Node") is the room's
/// muc#roominfo_contactjid: published by an owner through MIX, shown in
/// the room's disco; a full JID is refused.
#[tokio::test]
async fn info_contact_in_both_views() {
    let h = instant().await;
    let publish = |id: &str, values: &str| {
        format!(
            "<iq type='set' id='{id}' from='{CRONE}' to='coven@{MIX}'><pubsub xmlns='{PUBSUB}'><publish node='urn:xmpp:mix:nodes:info'><item>
               <x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>{MIX_NS}</value></field><field var='Contact'>{values}</field></x>
             </item></publish></pubsub></iq>"
        )
    };
    let out = h.send(&publish("p1", &format!("<value>{WICCA_BARE}</value>"))).await;
    assert_eq!(out[0].attr("type"), Some("result"), "{}", canonical(&out[0]));
    let disco = String::from(&h.send(&format!("<iq type='get' id='d' from='{WICCA}' to='coven@{MUC}'><query xmlns='{DISCO_INFO}'/></iq>")).await[0]);
    assert!(disco.contains(&format!("<field type='jid-multi' var='muc#roominfo_contactjid'><value>{WICCA_BARE}</value></field>")), "{disco}");
    let out = h.send(&publish("p2", &format!("<value>{WICCA}</value>"))).await;
    assert_eq!(out[0].attr("type"), Some("error"));
}

/// The MIX config node's 'End of Life': an owner sets a time; when it has
/// come the service removes the channel, in both views (the room's
/// occupants get the destroy presence with the reason); a time in the past
/// is `not-acceptable`, a value that is no time `bad-request`.
#[tokio::test]
async fn end_of_life_removes_the_channel() {
    let h = instant().await;
    enters(&h, HAG66, "thirdwitch").await;
    let soon = mixmuc::store::now_ms() + 3_600_000;
    let stamp = chrono::DateTime::from_timestamp_millis(soon).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let out = h.send(&config_publish(CRONE_BARE, "e1", &[("End of Life", &["2001-01-01T00:00:00Z"])])).await;
    assert_xml(&out[0], &iq_error(&format!("coven@{MIX}"), CRONE_BARE, "e1", "modify", "not-acceptable"));
    let out = h.send(&config_publish(CRONE_BARE, "e2", &[("End of Life", &["tomorrow"])])).await;
    assert_xml(&out[0], &iq_error(&format!("coven@{MIX}"), CRONE_BARE, "e2", "modify", "bad-request"));
    let out = h.send(&config_publish(CRONE_BARE, "e3", &[("End of Life", &[stamp.as_str()])])).await;
    assert_eq!(out[0].attr("type"), Some("result"), "{}", canonical(&out[0]));
    assert!(h.service.expire_channels(soon - 1).await.is_empty(), "not yet");
    let outs = h.service.expire_channels(soon).await;
    let stanzas: Vec<Element> = mixmuc::outgoing::expand(outs).iter().map(to_element).collect();
    let to_hag = stanzas.iter().find(|e| e.attr("to") == Some(HAG66)).expect("hag66 told");
    let destroy = to_hag.get_child("x", MUC_USER).and_then(|x| x.get_child("destroy", MUC_USER)).expect("a destroy");
    assert_eq!(destroy.get_child("reason", MUC_USER).map(|r| r.text()).as_deref(), Some("The channel reached its end of life"));
    assert!(h.service.channels.get("coven").await.unwrap().is_none());
}
