//! Golden transcripts for what the service domains themselves answer:
//! service discovery on both domains (XEP-0030, XEP-0369, XEP-0408), channel
//! creation (XEP-0369 "Creating a Channel" and "for Ad Hoc Use"), ping
//! (XEP-0199) and the error stanzas of the router (RFC 6120 8.3).
//!
//! The JIDs are those of the XEP examples: hag66@shakespeare.example on the
//! MIX service mix.shakespeare.example, mirrored by chat.shakespeare.example.

mod common;

use common::*;

const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";

fn disco_info_get(from: &str, to: &str, id: &str) -> String {
    format!("<iq type='get' id='{id}' from='{from}' to='{to}'><query xmlns='{DISCO_INFO}'/></iq>")
}

fn disco_items_get(from: &str, to: &str, id: &str) -> String {
    format!("<iq type='get' id='{id}' from='{from}' to='{to}'><query xmlns='{DISCO_ITEMS}'/></iq>")
}

fn create(from: &str, id: &str, channel: Option<&str>) -> String {
    match channel {
        Some(c) => format!("<iq type='set' id='{id}' from='{from}' to='{MIX}'><create xmlns='urn:xmpp:mix:core:1' channel='{c}'/></iq>"),
        None => format!("<iq type='set' id='{id}' from='{from}' to='{MIX}'><create xmlns='urn:xmpp:mix:core:1'/></iq>"),
    }
}

/// The disco#info result of the MIX domain; `create` says whether the
/// create-channel feature is expected.
fn mix_info_result(to: &str, id: &str, create: bool) -> String {
    let create_feature = if create { "<feature var='urn:xmpp:mix:core:1#create-channel'/>" } else { "" };
    format!(
        "<iq type='result' id='{id}' from='{MIX}' to='{to}'>
           <query xmlns='{DISCO_INFO}'>
             <identity category='conference' type='mix' name='mixmuc MIX service' xml:lang='en'/>
             <feature var='http://jabber.org/protocol/commands'/>
             <feature var='{DISCO_INFO}'/>
             <feature var='{DISCO_ITEMS}'/>
             <feature var='urn:ietf:params:xml:ns:vcard-4.0'/>
             <feature var='urn:xmpp:mix:core:1'/>
             {create_feature}
             <feature var='urn:xmpp:mix:core:1#nick-register'/>
             <feature var='urn:xmpp:mix:core:1#searchable'/>
             <feature var='urn:xmpp:ping'/>
             <feature var='vcard-temp'/>
             <x xmlns='jabber:x:data' type='result'>
               <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:muc:0#muc-mirror</value></field>
               <field var='muc-mirror' type='jid-single' label='Location of MUC mirror service'><value>{MUC}</value></field>
             </x>
             <x xmlns='jabber:x:data' type='result'>
               <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:1#serviceinfo</value></field>
               <field var='muc-mirror' type='jid-single' label='Location of MUC mirror service'><value>{MUC}</value></field>
             </x>
           </query>
         </iq>"
    )
}

/// An IQ error answering `id` from `from`; `by` is the addressed entity
/// (the channel or room, not a member JID it answers for).
fn iq_error(from: &str, to: &str, id: &str, type_: &str, condition: &str, text: Option<&str>) -> String {
    let by = from.split('/').next().unwrap_or(from);
    let text = text
        .map(|t| format!("<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>{t}</text>"))
        .unwrap_or_default();
    format!(
        "<iq type='error' id='{id}' from='{from}' to='{to}'>
           <error type='{type_}' by='{by}'>
             <{condition} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
             {text}
           </error>
         </iq>"
    )
}

// ---------------------------------------------------------------- disco

/// XEP-0408 §3 Listing 2 and XEP-0369 "Checking For Permission To Create a
/// Channel": the MIX domain names its MUC mirror in both forms, and does not
/// advertise MUC.
#[tokio::test]
async fn disco_info_on_the_mix_domain() {
    let h = Harness::new().await;
    let out = h.send(&disco_info_get(HAG66, MIX, "lx09df27")).await;
    assert_stanzas(&out, &[&mix_info_result(HAG66, "lx09df27", true)]);
    let features: Vec<&str> = out[0].children().next().unwrap().children().filter_map(|f| f.attr("var")).collect();
    assert!(!features.contains(&"http://jabber.org/protocol/muc"), "MIX domain advertises MUC: {features:?}");
}

/// XEP-0408 §3 Listing 3: the MUC domain names its MIX mirror in both forms,
/// and does not advertise MIX.
#[tokio::test]
async fn disco_info_on_the_muc_domain() {
    let h = Harness::new().await;
    h.exchange1(
        &disco_info_get("hag66@shakespeare.example/UUID-c8y/1573", MUC, "lx09df27"),
        &format!(
            "<iq type='result' id='lx09df27' from='{MUC}' to='hag66@shakespeare.example/UUID-c8y/1573'>
               <query xmlns='{DISCO_INFO}'>
                 <identity category='conference' type='text' name='mixmuc MUC service' xml:lang='en'/>
                 <feature var='http://jabber.org/protocol/commands'/>
                 <feature var='{DISCO_INFO}'/>
                 <feature var='{DISCO_ITEMS}'/>
                 <feature var='http://jabber.org/protocol/muc'/>
                 <feature var='http://jabber.org/protocol/muc#stable_id'/>
                 <feature var='urn:xmpp:ping'/>
                 <x xmlns='jabber:x:data' type='result'>
                   <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:muc:0#mix-mirror</value></field>
                   <field var='mix-mirror' type='jid-single' label='Location of MIX mirror service'><value>{MIX}</value></field>
                 </x>
                 <x xmlns='jabber:x:data' type='result'>
                   <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:1#serviceinfo</value></field>
                   <field var='mix-mirror' type='jid-single' label='Location of MIX mirror service'><value>{MIX}</value></field>
                 </x>
               </query>
             </iq>"
        ),
    )
    .await;
    // Whoever asks: no MIX feature on the MUC domain, ever.
    let out = h.send(&disco_info_get(ROMEO, MUC, "q2")).await;
    let text = canonical(&out[0]);
    assert!(!text.contains("urn:xmpp:mix:core:1"), "MUC domain advertises MIX:\n{text}");
}

/// The create-channel feature is shown only to whoever may create: a listed
/// JID, a service admin, and not anyone else.
#[tokio::test]
async fn create_feature_only_for_listed_creators() {
    let h = Harness::with_toml(
        "[service]\ncreate_channels = [\"boss@shakespeare.example\"]\nadmins = [\"admin@shakespeare.example\"]\n",
    )
    .await;
    h.exchange1(&disco_info_get(HAG66, MIX, "d1"), &mix_info_result(HAG66, "d1", false)).await;
    h.exchange1(&disco_info_get("boss@shakespeare.example/desk", MIX, "d2"), &mix_info_result("boss@shakespeare.example/desk", "d2", true))
        .await;
    h.exchange1(&disco_info_get("admin@shakespeare.example/x", MIX, "d3"), &mix_info_result("admin@shakespeare.example/x", "d3", true))
        .await;
}

/// `create_channels = "local"`: users of the local domains see the feature,
/// others do not; the bare server domain is no user.
#[tokio::test]
async fn create_feature_for_local_users() {
    let h = Harness::with_toml("[service]\ncreate_channels = \"local\"\nlocal_domains = [\"shakespeare.example\"]\n").await;
    h.exchange1(&disco_info_get(HAG66, MIX, "d1"), &mix_info_result(HAG66, "d1", true)).await;
    h.exchange1(&disco_info_get(ROMEO, MIX, "d2"), &mix_info_result(ROMEO, "d2", false)).await;
    h.exchange1(&disco_info_get("shakespeare.example", MIX, "d3"), &mix_info_result("shakespeare.example", "d3", false)).await;
}

/// disco#info on a node the service does not have: item-not-found (XEP-0030 §3.1).
#[tokio::test]
async fn disco_info_with_unknown_node_is_item_not_found() {
    let h = Harness::new().await;
    for domain in [MIX, MUC] {
        h.exchange1(
            &format!("<iq type='get' id='n1' from='{HAG66}' to='{domain}'><query xmlns='{DISCO_INFO}' node='urn:example:nothing'/></iq>"),
            &iq_error(domain, HAG66, "n1", "cancel", "item-not-found", None),
        )
        .await;
        h.exchange1(
            &format!("<iq type='get' id='n2' from='{HAG66}' to='{domain}'><query xmlns='{DISCO_ITEMS}' node='urn:example:nothing'/></iq>"),
            &iq_error(domain, HAG66, "n2", "cancel", "item-not-found", None),
        )
        .await;
    }
}

/// Both domains list the same channels, each as a JID of its own domain.
#[tokio::test]
async fn disco_items_list_the_same_channels_on_both_domains() {
    let h = Harness::new().await;
    for domain in [MIX, MUC] {
        h.exchange1(
            &disco_items_get(HAG66, domain, "i0"),
            &format!("<iq type='result' id='i0' from='{domain}' to='{HAG66}'><query xmlns='{DISCO_ITEMS}'/></iq>"),
        )
        .await;
    }
    for (id, name) in [("c1", "coven"), ("c2", "witches"), ("c3", "banquet")] {
        h.send(&create(HAG66, id, Some(name))).await;
    }
    for domain in [MIX, MUC] {
        h.exchange1(
            &disco_items_get(HAG66, domain, "i1"),
            &format!(
                "<iq type='result' id='i1' from='{domain}' to='{HAG66}'>
                   <query xmlns='{DISCO_ITEMS}'>
                     <item jid='banquet@{domain}'/>
                     <item jid='coven@{domain}'/>
                     <item jid='witches@{domain}'/>
                   </query>
                 </iq>"
            ),
        )
        .await;
    }
}

// ---------------------------------------------------------------- create

/// XEP-0369 "Creating a Channel": the result echoes the (normalised) name.
#[tokio::test]
async fn create_named_channel() {
    let h = Harness::new().await;
    h.exchange1(
        &create(HAG66, "lx09df27", Some("coven")),
        &format!("<iq type='result' id='lx09df27' from='{MIX}' to='{HAG66}'><create xmlns='urn:xmpp:mix:core:1' channel='coven'/></iq>"),
    )
    .await;
    h.exchange1(
        &create(HAG66, "lx09df28", Some("Witches")),
        &format!("<iq type='result' id='lx09df28' from='{MIX}' to='{HAG66}'><create xmlns='urn:xmpp:mix:core:1' channel='witches'/></iq>"),
    )
    .await;
    // Both exist and are addressable in both views.
    for (domain, name) in [(MIX, "coven"), (MUC, "coven"), (MIX, "witches"), (MUC, "witches")] {
        h.exchange1(
            &format!("<iq type='get' id='p' from='{HAG66}' to='{name}@{domain}'><ping xmlns='urn:xmpp:ping'/></iq>"),
            &format!("<iq type='result' id='p' from='{name}@{domain}' to='{HAG66}'/>"),
        )
        .await;
    }
}

/// XEP-0369 "Creating a Channel for Ad Hoc Use": the service picks the name
/// and returns it; the channel then exists (addressable, name taken).
#[tokio::test]
async fn create_adhoc_channel() {
    let h = Harness::new().await;
    let caps = h
        .exchange1(
            &create(HAG66, "lx09df27", None),
            &format!("<iq type='result' id='lx09df27' from='{MIX}' to='{HAG66}'><create xmlns='urn:xmpp:mix:core:1' channel='{{*name}}'/></iq>"),
        )
        .await;
    let name = caps.named("name").to_string();
    assert!(!name.is_empty() && !name.contains(['#', '@', '/', ' ']), "generated name {name:?}");
    for domain in [MIX, MUC] {
        h.exchange1(
            &format!("<iq type='get' id='p' from='{HAG66}' to='{name}@{domain}'><ping xmlns='urn:xmpp:ping'/></iq>"),
            &format!("<iq type='result' id='p' from='{name}@{domain}' to='{HAG66}'/>"),
        )
        .await;
    }
    h.exchange1(
        &create(HAG66, "again", Some(&name)),
        &iq_error(MIX, HAG66, "again", "cancel", "conflict", Some("a channel of that name exists")),
    )
    .await;
    // A second ad-hoc channel gets another name.
    let other = h
        .exchange1(
            &create(HAG01, "x2", None),
            &format!("<iq type='result' id='x2' from='{MIX}' to='{HAG01}'><create xmlns='urn:xmpp:mix:core:1' channel='{{*}}'/></iq>"),
        )
        .await;
    assert_ne!(other.get(0), name);
}

/// XEP-0369 "Creating a Channel for Ad Hoc Use": such channels "will not be
/// addressable or discoverable", so disco#items on either domain lists the
/// named channel only.
#[tokio::test]
async fn adhoc_channel_is_not_discoverable() {
    let h = Harness::new().await;
    h.send(&create(HAG66, "c1", Some("coven"))).await;
    let adhoc = h
        .exchange1(
            &create(HAG66, "c2", None),
            &format!("<iq type='result' id='c2' from='{MIX}' to='{HAG66}'><create xmlns='urn:xmpp:mix:core:1' channel='{{*}}'/></iq>"),
        )
        .await;
    assert!(!adhoc.get(0).is_empty());
    for domain in [MIX, MUC] {
        h.exchange1(
            &disco_items_get(HAG66, domain, "i1"),
            &format!("<iq type='result' id='i1' from='{domain}' to='{HAG66}'><query xmlns='{DISCO_ITEMS}'><item jid='coven@{domain}'/></query></iq>"),
        )
        .await;
    }
}

/// Creating a name that exists (in any case) is a conflict; nothing changes.
#[tokio::test]
async fn create_existing_channel_is_a_conflict() {
    let h = Harness::new().await;
    h.send(&create(HAG66, "c1", Some("coven"))).await;
    for (id, name, who) in [("c2", "coven", HAG66), ("c3", "COVEN", HAG01)] {
        h.exchange1(
            &create(who, id, Some(name)),
            &iq_error(MIX, who, id, "cancel", "conflict", Some("a channel of that name exists")),
        )
        .await;
    }
    let owner = h.store.get_channel("coven").await.unwrap().unwrap();
    assert_eq!(owner.creator, HAG66_BARE, "the first creator stays");
}

/// Names that cannot be a JID localpart, and `#` (the proxy-JID separator),
/// are refused with bad-request.
#[tokio::test]
async fn create_with_invalid_name_is_bad_request() {
    let h = Harness::new().await;
    h.exchange1(
        &create(HAG66, "b1", Some("a#b")),
        &iq_error(MIX, HAG66, "b1", "modify", "bad-request", Some("channel name must not contain '#'")),
    )
    .await;
    h.exchange1(
        &create(HAG66, "b2", Some("")),
        &iq_error(MIX, HAG66, "b2", "modify", "bad-request", Some("channel name is empty")),
    )
    .await;
    for (id, bad) in [("b3", "a b"), ("b4", "a@b"), ("b5", "a/b"), ("b6", "x&quot;y"), ("b7", "a:b&amp;c")] {
        h.exchange1(&create(HAG66, id, Some(bad)), &iq_error(MIX, HAG66, id, "modify", "bad-request", Some("{*}"))).await;
    }
    h.exchange1(
        &disco_items_get(HAG66, MIX, "i"),
        &format!("<iq type='result' id='i' from='{MIX}' to='{HAG66}'><query xmlns='{DISCO_ITEMS}'/></iq>"),
    )
    .await;
}

/// `create_channels` as a list: others are refused with forbidden.
#[tokio::test]
async fn create_by_unlisted_user_is_forbidden() {
    let h = Harness::with_toml("[service]\ncreate_channels = [\"boss@shakespeare.example\"]\n").await;
    for (id, name) in [("f1", Some("coven")), ("f2", None)] {
        h.exchange1(
            &create(HAG66, id, name),
            &iq_error(MIX, HAG66, id, "auth", "forbidden", Some("you may not create channels on this service")),
        )
        .await;
    }
    h.exchange1(
        &create("boss@shakespeare.example/desk", "ok", Some("coven")),
        &format!("<iq type='result' id='ok' from='{MIX}' to='boss@shakespeare.example/desk'><create xmlns='urn:xmpp:mix:core:1' channel='coven'/></iq>"),
    )
    .await;
}

/// `create_channels = "local"`: users of other servers are refused.
#[tokio::test]
async fn create_by_remote_user_is_forbidden_when_local_only() {
    let h = Harness::with_toml("[service]\ncreate_channels = \"local\"\nlocal_domains = [\"shakespeare.example\"]\n").await;
    h.exchange1(
        &create(ROMEO, "f1", Some("balcony")),
        &iq_error(MIX, ROMEO, "f1", "auth", "forbidden", Some("you may not create channels on this service")),
    )
    .await;
    h.exchange1(
        &create(HAG66, "ok", Some("coven")),
        &format!("<iq type='result' id='ok' from='{MIX}' to='{HAG66}'><create xmlns='urn:xmpp:mix:core:1' channel='coven'/></iq>"),
    )
    .await;
}

/// A `<create/>` with a child it does not define is malformed: bad-request,
/// and no channel is created.
#[tokio::test]
async fn malformed_create_is_bad_request() {
    let h = Harness::new().await;
    h.exchange1(
        &format!(
            "<iq type='set' id='m1' from='{HAG66}' to='{MIX}'><create xmlns='urn:xmpp:mix:core:1' channel='coven'><foo xmlns='urn:example:foo'/></create></iq>"
        ),
        &iq_error(MIX, HAG66, "m1", "modify", "bad-request", Some("{*}")),
    )
    .await;
    assert!(h.store.get_channel("coven").await.unwrap().is_none(), "a malformed <create/> created the channel");
}

/// `<create/>` is MIX: on the MUC domain it is an unknown request.
#[tokio::test]
async fn create_on_the_muc_domain_is_service_unavailable() {
    let h = Harness::new().await;
    h.exchange1(
        &format!("<iq type='set' id='u1' from='{HAG66}' to='{MUC}'><create xmlns='urn:xmpp:mix:core:1' channel='coven'/></iq>"),
        &iq_error(MUC, HAG66, "u1", "cancel", "service-unavailable", None),
    )
    .await;
    assert!(h.store.get_channel("coven").await.unwrap().is_none());
}

// ---------------------------------------------------------------- router errors

/// RFC 6120 8.4: an IQ get or set nobody handles is service-unavailable.
#[tokio::test]
async fn unknown_iq_is_service_unavailable() {
    let h = Harness::new().await;
    for domain in [MIX, MUC] {
        h.exchange1(
            &format!("<iq type='get' id='v1' from='{HAG66}' to='{domain}'><query xmlns='jabber:iq:version'/></iq>"),
            &iq_error(domain, HAG66, "v1", "cancel", "service-unavailable", None),
        )
        .await;
        h.exchange1(
            &format!("<iq type='set' id='v2' from='{HAG66}' to='{domain}'><query xmlns='jabber:iq:register'><username>hag66</username></query></iq>"),
            &iq_error(domain, HAG66, "v2", "cancel", "service-unavailable", None),
        )
        .await;
    }
    // Also on an existing channel.
    h.send(&create(HAG66, "c", Some("coven"))).await;
    h.exchange1(
        &format!("<iq type='get' id='v3' from='{HAG66}' to='coven@{MIX}'><query xmlns='jabber:iq:version'/></iq>"),
        &iq_error(&format!("coven@{MIX}"), HAG66, "v3", "cancel", "service-unavailable", None),
    )
    .await;
}

/// An IQ to a channel that does not exist: item-not-found, by the channel.
#[tokio::test]
async fn iq_to_missing_channel_is_item_not_found() {
    let h = Harness::new().await;
    for domain in [MIX, MUC] {
        let channel = format!("nosuch@{domain}");
        h.exchange1(
            &disco_info_get(HAG66, &channel, "x1"),
            &iq_error(&channel, HAG66, "x1", "cancel", "item-not-found", None),
        )
        .await;
        h.exchange1(
            &format!("<iq type='set' id='x2' from='{HAG66}' to='{channel}'><query xmlns='jabber:iq:register'/></iq>"),
            &iq_error(&channel, HAG66, "x2", "cancel", "item-not-found", None),
        )
        .await;
        let member = format!("{channel}/someone");
        h.exchange1(
            &format!("<iq type='get' id='x3' from='{HAG66}' to='{member}'><ping xmlns='urn:xmpp:ping'/></iq>"),
            &iq_error(&member, HAG66, "x3", "cancel", "item-not-found", None),
        )
        .await;
    }
}

/// Results and errors are never answered (RFC 6120 8.2.3, 8.3.1).
#[tokio::test]
async fn result_and_error_iqs_get_no_answer() {
    let h = Harness::new().await;
    for to in [MIX.to_string(), MUC.to_string(), format!("nosuch@{MIX}")] {
        h.exchange(&format!("<iq type='result' id='r1' from='{HAG66}' to='{to}'/>"), &[]).await;
        h.exchange(
            &format!(
                "<iq type='result' id='r2' from='{HAG66}' to='{to}'><query xmlns='{DISCO_INFO}'><feature var='urn:xmpp:ping'/></query></iq>"
            ),
            &[],
        )
        .await;
        h.exchange(
            &format!(
                "<iq type='error' id='e1' from='{HAG66}' to='{to}'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
            ),
            &[],
        )
        .await;
    }
}

/// XEP-0199: a ping to either domain gets an empty result.
#[tokio::test]
async fn ping_gets_an_empty_result() {
    let h = Harness::new().await;
    for domain in [MIX, MUC] {
        h.exchange1(
            &format!("<iq type='get' id='s2c1' from='{HAG66}' to='{domain}'><ping xmlns='urn:xmpp:ping'/></iq>"),
            &format!("<iq type='result' id='s2c1' from='{domain}' to='{HAG66}'/>"),
        )
        .await;
    }
    // From the server itself (as its own keepalive would).
    h.exchange1(
        &format!("<iq type='get' id='s2c2' from='shakespeare.example' to='{MIX}'><ping xmlns='urn:xmpp:ping'/></iq>"),
        &format!("<iq type='result' id='s2c2' from='{MIX}' to='shakespeare.example'/>"),
    )
    .await;
}

// ---------------------------------------------------------------- the harness itself

#[test]
fn harness_ignores_attribute_order_and_whitespace() {
    let actual = element("<iq type='result' id='a' from='x.example' to='y.example'><query xmlns='urn:q'><item jid='j'/></query></iq>");
    assert_xml(
        &actual,
        "<iq to='y.example' from='x.example' id='a' type='result'>
           <query xmlns='urn:q'>
             <item jid='j'/>
           </query>
         </iq>",
    );
}

#[test]
fn harness_captures_wildcards() {
    let actual = element("<iq type='result' id='gen-42' from='x.example' to='y.example'><c xmlns='urn:q' channel='abc'>t1</c></iq>");
    let caps = assert_xml(&actual, "<iq type='result' id='{*id}' from='x.example' to='y.example'><c xmlns='urn:q' channel='{*}'>{*body}</c></iq>");
    assert_eq!(caps.named("id"), "gen-42");
    assert_eq!(caps.get(1), "abc");
    assert_eq!(caps.named("body"), "t1");
}

#[test]
fn harness_reports_differences() {
    let actual = element("<iq type='result' id='a' from='x.example' to='y.example'><q xmlns='urn:q' extra='1'><i/></q></iq>");
    let r = std::panic::catch_unwind(|| {
        assert_xml(&actual, "<iq type='result' id='b' from='x.example' to='y.example'><q xmlns='urn:q'><i/><j/></q></iq>");
    });
    let msg = *r.expect_err("mismatch must panic").downcast::<String>().unwrap();
    assert!(msg.contains("attribute id: expected 'b', found 'a'"), "{msg}");
    assert!(msg.contains("unexpected attribute extra='1'"), "{msg}");
    assert!(msg.contains("missing child #1 <j"), "{msg}");
    assert!(msg.contains("- <iq") && msg.contains("+ <iq"), "{msg}");
    // Namespaces count: the same name in another namespace is a mismatch.
    assert!(!matches_xml(&element("<iq><q xmlns='urn:a'/></iq>"), "<iq><q xmlns='urn:b'/></iq>"));
    assert!(matches_xml(&element("<iq><q xmlns='urn:a'/></iq>"), "<iq><q xmlns='urn:a'/></iq>"));
}

#[test]
fn harness_adds_the_component_namespace() {
    let e = element("<message to='a@b.example'><body>hi</body></message>");
    assert_eq!(e.ns(), COMPONENT_NS);
    assert_eq!(e.children().next().unwrap().ns(), COMPONENT_NS);
    let s = stanza("<presence from='a@b.example/r' to='c@d.example'/>");
    assert!(matches!(s, xmpp_parsers::stanza::Stanza::Presence(_)));
}
