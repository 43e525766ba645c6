//! The configuration node (XEP-0369 seed, "Configuration Node"): the
//! channel's settings as one form, read by owners ('Configuration Node
//! Access': owners) and changed by owners with a PubSub publish of the
//! form. It is the configuration the MUC view's muc#owner form shows: a
//! publish is a `Channels::configure`, rendered in both views (MUC status
//! 104 and the new presence of those whose affiliation changed; the info
//! node's new item to its subscribers when the name changed).
//!
//! What the form offers (docs/mix.md): the seed's options that are room
//! settings here, and options whose one value mixmuc serves, which a
//! publish may repeat but not change. Every other field, and every value
//! not offered, is refused with the field named.

use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType};
use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::channel::config::ConfigPatch;
use crate::channel::retract::RETRACTION_RIGHTS;
use crate::error::{Error, Result};
use crate::service::{Reply, Service};
use crate::store::ChannelRow;
use crate::xmpp::form::{boolean, jids, single, var};
use crate::xmpp::{el, mam, ns};

/// The node's name.
pub const NODE_CONFIG: &str = "urn:xmpp:mix:nodes:config";

/// The optional nodes a channel has ('Nodes Present'; the messages node
/// always exists): participants, presence, information, allowed and
/// banned, and avatar when it has an avatar (`mix/avatar.rs`).
fn nodes_present(ch: &ChannelRow) -> Vec<String> {
    let mut nodes: Vec<String> = ["participants", "presence", "information", "allowed", "banned"].iter().map(|s| s.to_string()).collect();
    if !ch.avatar_hash.is_empty() {
        nodes.push("avatar".to_string());
    }
    nodes
}

/// Options with the one value served here.
const FIXED: &[(&str, &str)] = &[
    ("Presence Node Subscription", "participants"),
    ("Participants Node Subscription", "participants"),
    ("Information Node Subscription", "participants"),
    ("Allowed Node Subscription", "admins"),
    ("Banned Node Subscription", "admins"),
    ("Configuration Node Access", "owners"),
    ("Information Node Update Rights", "owners"),
    ("Avatar Nodes Update Rights", "owners"),
];

/// Boolean options with the one value served here: any client of a
/// participant may share presence, and none must.
const FIXED_BOOLEANS: &[(&str, bool)] = &[("Open Presence", false), ("Participants Must Provide Presence", false)];

/// The node's one item: id the time of the last change (or of creation).
pub async fn item(svc: &Service, ch: &ChannelRow) -> Result<Element> {
    let owners = svc.channels.affiliated(&ch.name, "owner").await?;
    let admins = svc.channels.affiliated(&ch.name, "admin").await?;
    let mut item = el("item", ns::PUBSUB, &[("id", &item_id(ch))]);
    item.append_child(form(ch, &owners, &admins));
    Ok(item)
}

fn item_id(ch: &ChannelRow) -> String {
    mam::stamp(if ch.config_at > 0 { ch.config_at } else { ch.created_at })
}

/// The form (a result; FORM_TYPE `urn:xmpp:mix:core:1`).
fn form(ch: &ChannelRow, owners: &[String], admins: &[String]) -> Element {
    let multi = |var: &str, t: FieldType, values: &[String]| {
        let mut f = Field::new(var, t);
        f.values = values.to_vec();
        f
    };
    let boolean = |var: &str, v: bool| Field::new(var, FieldType::Boolean).with_value(if v { "true" } else { "false" });
    let single = |var: &str, v: &str| Field::new(var, FieldType::ListSingle).with_value(v);
    let last = if ch.config_by.is_empty() { &ch.creator } else { &ch.config_by };
    let mut fields = vec![
        Field::new("Last Change Made By", FieldType::JidSingle).with_value(last),
        multi("Owner", FieldType::JidMulti, owners),
        multi("Administrator", FieldType::JidMulti, admins),
        multi("Nodes Present", FieldType::ListMulti, &nodes_present(ch)),
        single("Messages Node Subscription", if ch.members_only { "allowed" } else { "anyone" }),
    ];
    fields.extend(FIXED.iter().map(|(var, v)| single(var, v)));
    fields.extend(FIXED_BOOLEANS.iter().map(|(var, v)| boolean(var, *v)));
    fields.extend([
        boolean("Participation Addition by Invitation from Participant", ch.allow_invites),
        boolean("Private Messages", ch.allow_pm != "none"),
        boolean("User Message Retraction", ch.user_retraction),
        single("Administrator Message Retraction Rights", &ch.retraction_rights),
        Field::text_single("End of Life", &if ch.end_of_life > 0 { mam::stamp(ch.end_of_life) } else { String::new() }),
    ]);
    DataForm::new(DataFormType::Result_, ns::MIX_CORE, fields).into()
}

/// A publish to the config node by an owner: the fields it names change,
/// the others stay. Answered with the item's new id.
pub async fn publish(svc: &Service, channel: &str, from: &Jid, op: &Element) -> Result<Reply> {
    let ch = svc.channels.require_owner(channel, &from.to_bare()).await.map_err(|_| Error::forbidden("only owners may change the configuration"))?;
    let item = op.get_child("item", ns::PUBSUB).ok_or_else(|| Error::bad_request("<publish/> needs an <item/>"))?;
    let form = item.get_child("x", ns::DATA_FORMS).ok_or_else(|| Error::bad_request("the config item is a form"))?;
    let form = DataForm::try_from(form.clone()).map_err(|_| Error::bad_request("malformed form"))?;
    let patch = parse(&form, &ch)?;
    let events = svc.channels.configure(channel, &from.to_bare(), &patch).await?;
    let ch = svc.channels.require(channel).await?;
    let mut published = el("publish", ns::PUBSUB, &[("node", NODE_CONFIG)]);
    published.append_child(el("item", ns::PUBSUB, &[("id", &item_id(&ch))]));
    let mut pubsub = Element::bare("pubsub", ns::PUBSUB);
    pubsub.append_child(published);
    Ok(Reply::events(Some(pubsub), events))
}

/// The change a config form asks for (`ch`: the settings now).
fn parse(form: &DataForm, ch: &ChannelRow) -> Result<ConfigPatch> {
    if form.form_type().is_some_and(|t| t != ns::MIX_CORE) {
        return Err(Error::bad_request(format!("the config node's form is a {} form", ns::MIX_CORE)));
    }
    let not_offered = |f: &Field, offered: &str| {
        let v = f.values.join(", ");
        Error::not_acceptable(format!("field {}: {} is not offered ({offered})", crate::error::quote(var(f)), crate::error::quote(&v)))
    };
    let mut patch = ConfigPatch::default();
    for f in &form.fields {
        match var(f) {
            "FORM_TYPE" | "Last Change Made By" => {}
            "Owner" => patch.owners = Some(jids(f)?),
            "Administrator" => patch.admins = Some(jids(f)?),
            "Nodes Present" => {
                let mut asked: Vec<&str> = f.values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()).collect();
                asked.sort_unstable();
                asked.dedup();
                let mut served = nodes_present(ch);
                served.sort_unstable();
                if asked != served {
                    return Err(not_offered(f, &served.join(", ")));
                }
            }
            "Messages Node Subscription" => {
                patch.members_only = match single(f)?.as_deref() {
                    None => None,
                    Some("anyone") => Some(false),
                    Some("allowed") => Some(true),
                    Some(_) => return Err(not_offered(f, "anyone, allowed")),
                }
            }
            "Participation Addition by Invitation from Participant" => patch.allow_invites = boolean(f)?,
            "Private Messages" => {
                patch.allow_pm = match boolean(f)? {
                    Some(false) => Some("none".to_string()),
                    // On: as it was, or anyone if it was off.
                    Some(true) if ch.allow_pm == "none" => Some("anyone".to_string()),
                    _ => None,
                }
            }
            "User Message Retraction" => patch.user_retraction = boolean(f)?,
            "End of Life" => {
                patch.end_of_life = match single(f)?.as_deref() {
                    None | Some("") => Some(0),
                    Some(v) => match v.parse::<xmpp_parsers::date::DateTime>() {
                        Ok(t) => Some(t.0.timestamp_millis()),
                        Err(_) => return Err(Error::bad_request(format!("field 'End of Life': {} is not a date and time (XEP-0082)", crate::error::quote(v)))),
                    },
                }
            }
            "Administrator Message Retraction Rights" => {
                if let Some(v) = single(f)? {
                    if !RETRACTION_RIGHTS.contains(&v.as_str()) {
                        return Err(not_offered(f, &RETRACTION_RIGHTS.join(", ")));
                    }
                    patch.retraction_rights = Some(v);
                }
            }
            name if FIXED_BOOLEANS.iter().any(|(n, _)| *n == name) => {
                let served = FIXED_BOOLEANS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
                if boolean(f)?.is_some_and(|v| Some(v) != served) {
                    return Err(not_offered(f, if served == Some(true) { "true" } else { "false" }));
                }
            }
            name => match FIXED.iter().find(|(n, _)| *n == name) {
                Some((_, value)) => {
                    if single(f)?.is_some_and(|v| v != *value) {
                        return Err(not_offered(f, value));
                    }
                }
                None => return Err(Error::not_acceptable(format!("field {} of the config node is not offered", crate::error::quote(name)))),
            },
        }
    }
    Ok(patch)
}
