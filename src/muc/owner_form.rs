//! XEP-0045 `muc#owner` payloads for the MUC view: the `muc#roomconfig` form built from a
//! room's settings, a submitted form read into a `ConfigPatch` (every value
//! checked), and `<destroy/>`. No I/O here.

use crate::xmpp::form::{boolean, jids, single, text};
use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType, Option_};
use xmpp_parsers::minidom::Element;

use crate::xmpp::ns;
use crate::channel::config::{ConfigPatch, ALLOW_PM};
use crate::error::{Error, Result};
use crate::store::{ChannelRow, JidVisibility};

/// XEP-0045 room configuration form type.
pub const ROOMCONFIG: &str = "http://jabber.org/protocol/muc#roomconfig";
const P: &str = "muc#roomconfig_";

/// Fields of other servers' forms a client may send back; ignored (docs/muc.md).
const NOT_OFFERED: &[&str] = &[
    "muc#roomconfig_historylength",
    "muc#roomconfig_defaulthistorymessages",
    "muc#maxhistoryfetch",
    "muc#roomconfig_presencebroadcast",
    "muc#roomconfig_getmemberlist",
    "muc#roomconfig_enablelogging",
    "muc#roomconfig_pubsub",
    "{http://prosody.im/protocol/muc}roomconfig_allowmemberinvites",
];

/// A parsed `<query xmlns='…muc#owner'/>` set.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnerSet {
    /// A submitted form; `instant` when it had no fields (XEP-0045 10.1.2).
    Submit { patch: ConfigPatch, instant: bool },
    /// `<x type='cancel'/>`.
    Cancel,
    /// `<destroy jid=…><reason/></destroy>`.
    Destroy { alternate: Option<String>, reason: Option<String> },
}

/// Our fields (the MIX configuration's 'User Message Retraction' and
/// 'Administrator Message Retraction Rights'; muc#roomconfig has none).
pub const USER_RETRACTION: &str = "mixmuc#roomconfig_userretraction";
pub const RETRACTION_RIGHTS: &str = "mixmuc#roomconfig_retractionrights";

/// The configuration form with the room's current values.
pub fn config_form(room_jid: &str, ch: &ChannelRow, owners: &[String], admins: &[String]) -> DataForm {
    let boolean = |var: &str, label: &str, v: bool| labelled(Field::new(&format!("{P}{var}"), FieldType::Boolean).with_value(if v { "1" } else { "0" }), label);
    let text = |var: &str, label: &str, v: &str| labelled(Field::new(&format!("{P}{var}"), FieldType::TextSingle).with_value(v), label);
    let jids = |var: &str, label: &str, v: &[String]| {
        let mut f = labelled(Field::new(&format!("{P}{var}"), FieldType::JidMulti), label);
        f.values = v.to_vec();
        f
    };
    let max = if ch.max_users == 0 { "none".to_string() } else { ch.max_users.to_string() };
    let mut max_options: Vec<String> = ["10", "20", "30", "50", "100"].iter().map(|s| s.to_string()).collect();
    if ch.max_users > 0 && !max_options.contains(&max) {
        max_options.push(max.clone());
        max_options.sort_by_key(|v| v.parse::<i64>().unwrap_or(0));
    }
    max_options.push("none".to_string());
    let fields = vec![
        text("roomname", "Title", &ch.title),
        text("roomdesc", "Description", &ch.description),
        text("lang", "Language tag for room (e.g. 'en', 'de', 'fr')", &ch.lang),
        boolean("persistentroom", "Persistent (always: a room is a MIX channel, kept until destroyed)", true),
        boolean("publicroom", "Include room information in public lists", ch.public),
        boolean("membersonly", "Only allow members to join", ch.members_only),
        boolean("allowinvites", "Allow occupants to invite others", ch.allow_invites),
        boolean("passwordprotectedroom", "Password required to enter (not offered: access is by member lists)", false),
        list("maxusers", "Maximum number of occupants", &max, &max_options.iter().map(|v| (v.as_str(), if v == "none" { "None" } else { v.as_str() })).collect::<Vec<_>>()),
        list(
            "whois",
            "Addresses (JIDs) of room occupants may be viewed by:",
            whois(ch.jid_visibility),
            &[("moderators", "Moderators only"), ("preference", "Moderators, and anyone for occupants who allow it (MIX jid-maybe-visible)"), ("anyone", "Anyone")],
        ),
        boolean("moderatedroom", "Moderated (require permission to speak)", ch.moderated),
        boolean("changesubject", "Allow anyone to set the room's subject", ch.change_subject),
        list(
            "allowpm",
            "Who may send private messages",
            &ch.allow_pm,
            &[("anyone", "Anyone"), ("participants", "Participants"), ("moderators", "Moderators"), ("none", "Nobody")],
        ),
        jids("roomadmins", "Room admins", admins),
        jids("roomowners", "Room owners", owners),
        // Ours (the MIX configuration's): no muc#roomconfig field says these.
        labelled(Field::new(USER_RETRACTION, FieldType::Boolean).with_value(if ch.user_retraction { "1" } else { "0" }), "Allow senders to retract their own messages"),
        {
            let mut f = labelled(Field::new(RETRACTION_RIGHTS, FieldType::ListSingle).with_value(&ch.retraction_rights), "Who may remove anyone's message");
            f.options = [("moderators", "Moderators"), ("admins", "Admins and owners"), ("owners", "Owners"), ("nobody", "Nobody")]
                .iter()
                .map(|(v, l)| Option_ { label: Some(l.to_string()), value: v.to_string() })
                .collect();
            f
        },
    ];
    let mut form = DataForm::new(DataFormType::Form, ROOMCONFIG, fields);
    form.title = Some(format!("Configuration for {room_jid}"));
    form.instructions = Some("Complete and submit this form to configure the room.".to_string());
    form
}

/// muc#roomconfig_whois for a JID visibility mode: `moderators`,
/// `preference` (jid-maybe-visible; docs/muc.md) or `anyone`.
pub fn whois(v: JidVisibility) -> &'static str {
    match v {
        JidVisibility::Hidden => "moderators",
        JidVisibility::MaybeVisible => "preference",
        JidVisibility::Visible => "anyone",
    }
}

fn labelled(mut f: Field, label: &str) -> Field {
    f.label = Some(label.to_string());
    f
}

fn list(var: &str, label: &str, value: &str, options: &[(&str, &str)]) -> Field {
    let mut f = labelled(Field::new(&format!("{P}{var}"), FieldType::ListSingle).with_value(value), label);
    f.options = options.iter().map(|(v, l)| Option_ { label: Some(l.to_string()), value: v.to_string() }).collect();
    f
}

/// `<query xmlns='…muc#owner'><x xmlns='jabber:x:data'/></query>` for a get.
pub fn query(form: Option<DataForm>) -> Element {
    let mut q = Element::bare("query", ns::MUC_OWNER);
    if let Some(f) = form {
        q.append_child(f.into());
    }
    q
}

/// Reads an owner set: a form (submit or cancel) or a destroy request.
pub fn parse_set(query: &Element) -> Result<OwnerSet> {
    let child = query.children().next().ok_or_else(|| Error::bad_request("the owner query is empty"))?;
    if child.is("destroy", ns::MUC_OWNER) {
        let alternate = child.attr("jid").map(str::to_string);
        if let Some(a) = &alternate {
            a.parse::<xmpp_parsers::jid::Jid>().map_err(|_| Error::jid_malformed("the alternate venue is not a JID"))?;
        }
        let reason = child.get_child("reason", ns::MUC_OWNER).map(|r| r.text());
        return Ok(OwnerSet::Destroy { alternate, reason });
    }
    if !child.is("x", ns::DATA_FORMS) {
        return Err(Error::bad_request(format!("<{}/> is not an owner request", child.name())));
    }
    let form = DataForm::try_from(child.clone()).map_err(|_| Error::bad_request("malformed form"))?;
    match form.type_ {
        DataFormType::Cancel => return Ok(OwnerSet::Cancel),
        DataFormType::Submit => {}
        _ => return Err(Error::bad_request("not a submitted form")),
    }
    if form.fields.is_empty() {
        return Ok(OwnerSet::Submit { patch: ConfigPatch::default(), instant: true });
    }
    if form.form_type() != Some(ROOMCONFIG) {
        return Err(Error::bad_request(format!("the form is not of type {ROOMCONFIG}")));
    }
    let mut patch = ConfigPatch::default();
    for f in &form.fields {
        let Some(var) = f.var.as_deref() else { continue };
        if var == USER_RETRACTION {
            patch.user_retraction = boolean(f)?;
            continue;
        }
        if var == RETRACTION_RIGHTS {
            if let Some(v) = single(f)? {
                if !crate::channel::retract::RETRACTION_RIGHTS.contains(&v.as_str()) {
                    return Err(Error::not_acceptable(format!("{RETRACTION_RIGHTS} {} is not one of {}", crate::error::quote(&v), crate::channel::retract::RETRACTION_RIGHTS.join(", "))));
                }
                patch.retraction_rights = Some(v);
            }
            continue;
        }
        let Some(name) = var.strip_prefix(P) else {
            if var != "FORM_TYPE" {
                tracing::debug!(field = var, "unknown configuration field ignored");
            }
            continue;
        };
        match name {
            "roomname" => patch.title = Some(text(f)?),
            "roomdesc" => patch.description = Some(text(f)?),
            "lang" => patch.lang = Some(text(f)?),
            "publicroom" => patch.public = boolean(f)?,
            "membersonly" => patch.members_only = boolean(f)?,
            "allowinvites" => patch.allow_invites = boolean(f)?,
            "moderatedroom" => patch.moderated = boolean(f)?,
            "changesubject" => patch.change_subject = boolean(f)?,
            "persistentroom" => {
                if boolean(f)? == Some(false) {
                    return Err(Error::not_acceptable("rooms are always persistent (they are MIX channels)"));
                }
            }
            "passwordprotectedroom" => {
                if boolean(f)? == Some(true) {
                    return Err(Error::not_acceptable("password-protected rooms are not offered; use a members-only room"));
                }
            }
            "roomsecret" => {
                if !text(f)?.is_empty() {
                    return Err(Error::not_acceptable("passwords are not offered; use a members-only room"));
                }
            }
            "whois" => {
                patch.jid_visibility = match single(f)?.as_deref() {
                    None => None,
                    Some("anyone") => Some(JidVisibility::Visible),
                    Some("preference") => Some(JidVisibility::MaybeVisible),
                    Some("moderators") => Some(JidVisibility::Hidden),
                    Some(other) => return Err(Error::not_acceptable(format!("whois {} is not offered (moderators, preference or anyone)", crate::error::quote(other)))),
                }
            }
            "allowpm" => {
                if let Some(v) = single(f)? {
                    if !ALLOW_PM.contains(&v.as_str()) {
                        return Err(Error::not_acceptable(format!("allowpm {} is not one of {}", crate::error::quote(&v), ALLOW_PM.join(", "))));
                    }
                    patch.allow_pm = Some(v);
                }
            }
            "maxusers" => {
                patch.max_users = match single(f)?.as_deref() {
                    None => None,
                    Some("none" | "") => Some(0),
                    // 0 would lock everyone out (and is not "no limit").
                    Some("0") => return Err(Error::not_acceptable("maxusers must be a positive number or 'none'; 0 would let nobody in")),
                    Some(n) => match n.parse::<i64>() {
                        Ok(n) if n > 0 => Some(n),
                        _ => return Err(Error::bad_request(format!("maxusers {} is not a positive number or 'none'", crate::error::quote(n)))),
                    },
                }
            }
            "roomowners" => patch.owners = Some(jids(f)?),
            "roomadmins" => patch.admins = Some(jids(f)?),
            _ if NOT_OFFERED.contains(&var) => tracing::debug!(field = var, "configuration field not offered; ignored"),
            _ => tracing::debug!(field = var, "unknown configuration field ignored"),
        }
    }
    Ok(OwnerSet::Submit { patch, instant: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(inner: &str) -> Result<OwnerSet> {
        let q: Element = format!("<query xmlns='{}'>{inner}</query>", ns::MUC_OWNER).parse().unwrap();
        parse_set(&q)
    }

    fn submit(fields: &str) -> Result<OwnerSet> {
        set(&format!(
            "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>{ROOMCONFIG}</value></field>{fields}</x>"
        ))
    }

    #[test]
    fn instant_room_and_cancel() {
        assert_eq!(set("<x xmlns='jabber:x:data' type='submit'/>").unwrap(), OwnerSet::Submit { patch: ConfigPatch::default(), instant: true });
        assert_eq!(set("<x xmlns='jabber:x:data' type='cancel'/>").unwrap(), OwnerSet::Cancel);
    }

    #[test]
    fn reads_values() {
        let OwnerSet::Submit { patch, instant: false } = submit(
            "<field var='muc#roomconfig_roomname'><value>A Dark Cave</value></field>\
             <field var='muc#roomconfig_whois'><value>moderators</value></field>\
             <field var='muc#roomconfig_maxusers'><value>none</value></field>\
             <field var='muc#roomconfig_membersonly'><value>true</value></field>\
             <field var='muc#roomconfig_roomowners'><value>crone1@shakespeare.lit</value><value>crone1@shakespeare.lit</value></field>\
             <field var='muc#roomconfig_historylength'><value>5</value></field>",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(patch.title.as_deref(), Some("A Dark Cave"));
        assert_eq!(patch.jid_visibility, Some(JidVisibility::Hidden));
        assert_eq!(patch.max_users, Some(0));
        assert_eq!(patch.members_only, Some(true));
        assert_eq!(patch.owners.unwrap().len(), 1);
    }

    #[test]
    fn refuses_bad_values() {
        let cond = |r: Result<OwnerSet>| format!("{:?}", r.unwrap_err().to_stanza_error().defined_condition);
        assert_eq!(cond(submit("<field var='muc#roomconfig_publicroom'><value>yes</value></field>")), "BadRequest");
        assert_eq!(cond(submit("<field var='muc#roomconfig_whois'><value>none</value></field>")), "NotAcceptable");
        assert_eq!(cond(submit("<field var='muc#roomconfig_allowpm'><value>everybody</value></field>")), "NotAcceptable");
        assert_eq!(cond(submit("<field var='muc#roomconfig_maxusers'><value>-3</value></field>")), "BadRequest");
        assert_eq!(cond(submit("<field var='muc#roomconfig_persistentroom'><value>0</value></field>")), "NotAcceptable");
        assert_eq!(cond(submit("<field var='muc#roomconfig_roomowners'><value>a@b/c</value></field>")), "NotAcceptable");
        assert_eq!(cond(set("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:other</value></field><field var='x'/></x>")), "BadRequest");
        assert_eq!(cond(set("<x xmlns='jabber:x:data' type='form'/>")), "BadRequest");
        assert_eq!(cond(set("")), "BadRequest");
    }

    #[test]
    fn reads_destroy() {
        assert_eq!(
            set("<destroy jid='coven@chat.shakespeare.lit'><reason>Macbeth doth come.</reason></destroy>").unwrap(),
            OwnerSet::Destroy { alternate: Some("coven@chat.shakespeare.lit".into()), reason: Some("Macbeth doth come.".into()) }
        );
    }
}
