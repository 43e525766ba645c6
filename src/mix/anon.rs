//! XEP-0404 (MIX-ANON) forms and items: the user preference form (join,
//! `<user-preference/>`), the JID map node's items and the names of the
//! JID visibility modes in the info node.

use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType, Option_};
use xmpp_parsers::minidom::Element;

use crate::xmpp::{el, ns, text_el};
use crate::channel::visibility::PreferenceChange;
use crate::error::{Error, Result};
use crate::store::{JidPreference, JidVisibility, Preferences};

/// The preference fields: (var, label, allowed values with labels).
const FIELDS: &[(&str, &str, &[(&str, &str)])] = &[
    (
        "JID Visibility",
        "Preference for JID Visibility",
        &[("default", "Default Behaviour"), ("never", "JID Never Shown"), ("always", "JID Always Shown"), ("prefer not", "Try not to show JID")],
    ),
    ("Private Messages", "Private messages from other participants", &[("allow", "Allow"), ("block", "Block")]),
    ("vCard", "vCard requests through the channel", &[("allow", "Allow"), ("block", "Block")]),
    ("Presence", "Share presence with the channel", &[("share", "Share"), ("not share", "Do not share")]),
];

fn values(p: &Preferences) -> [&'static str; 4] {
    [
        p.jid.as_str(),
        if p.private_messages { "allow" } else { "block" },
        if p.vcard { "allow" } else { "block" },
        if p.presence { "share" } else { "not share" },
    ]
}

/// Every preference with its value (a join result, a `<user-preference/>` result).
pub fn result_form(p: &Preferences) -> DataForm {
    let fields = FIELDS.iter().zip(values(p)).map(|((var, _, _), v)| Field::new(var, FieldType::ListSingle).with_value(v)).collect();
    DataForm::new(DataFormType::Result_, ns::MIX_ANON, fields)
}

/// The template: every preference with its options and current value.
pub fn template_form(p: &Preferences) -> DataForm {
    let fields = FIELDS
        .iter()
        .zip(values(p))
        .map(|((var, label, options), v)| {
            let mut f = Field::new(var, FieldType::ListSingle).with_value(v);
            f.label = Some(label.to_string());
            f.options = options.iter().map(|(value, label)| Option_ { label: Some(label.to_string()), value: value.to_string() }).collect();
            f
        })
        .collect();
    DataForm::new(DataFormType::Form, ns::MIX_ANON, fields)
}

/// Reads a submitted preference form. `bad-request` for another form type,
/// an unknown field or a value not offered, naming it.
pub fn parse_form(form: &DataForm) -> Result<PreferenceChange> {
    if form.form_type().is_some_and(|t| t != ns::MIX_ANON) {
        return Err(Error::bad_request(format!("preferences are a {} form", ns::MIX_ANON)));
    }
    let mut out = PreferenceChange::default();
    for f in &form.fields {
        if f.var.as_deref() == Some("FORM_TYPE") {
            continue;
        }
        let var = f.var.as_deref().unwrap_or("");
        let value = match f.values.as_slice() {
            [] => continue,
            [v] => v.as_str(),
            _ => return Err(Error::bad_request(format!("field {} takes one value", crate::error::quote(var)))),
        };
        let bad = || Error::bad_request(format!("{} is not a value of field {}", crate::error::quote(value), crate::error::quote(var)));
        // Values are compared without case: the seed's own example offers 'Never'.
        let value_lc = value.to_ascii_lowercase();
        match var {
            "JID Visibility" => out.jid = Some(JidPreference::parse(&value_lc).ok_or_else(bad)?),
            "Private Messages" => out.private_messages = Some(yes_no(&value_lc, "allow", "block").ok_or_else(bad)?),
            "vCard" => out.vcard = Some(yes_no(&value_lc, "allow", "block").ok_or_else(bad)?),
            "Presence" => out.presence = Some(yes_no(&value_lc, "share", "not share").ok_or_else(bad)?),
            _ => return Err(Error::bad_request(format!("unknown preference {}", crate::error::quote(var)))),
        }
    }
    Ok(out)
}

fn yes_no(v: &str, yes: &str, no: &str) -> Option<bool> {
    (v == yes).then_some(true).or((v == no).then_some(false))
}

/// `<user-preference xmlns='urn:xmpp:mix:anon:0'>` around a form.
pub fn user_preference(form: DataForm) -> Element {
    let mut e = Element::bare("user-preference", ns::MIX_ANON);
    e.append_child(form.into());
    e
}

/// The form of a `<user-preference/>` set, inside the element. (The
/// seed's example puts it beside the element, which an IQ cannot carry:
/// an IQ has one payload.)
pub fn submitted(payload: &Element) -> Option<DataForm> {
    payload.get_child("x", "jabber:x:data").and_then(|x| DataForm::try_from(x.clone()).ok())
}

/// A JID map item (`item_ns`: PubSub or PubSub event): the proxy JID as its
/// id, the real bare JID in `<participant><jid/></participant>`.
pub fn jidmap_item(item_ns: &str, proxy: &str, real: &str) -> Element {
    let mut item = el("item", item_ns, &[("id", proxy)]);
    let mut participant = Element::bare("participant", ns::MIX_ANON);
    participant.append_child(text_el("jid", ns::MIX_ANON, real));
    item.append_child(participant);
    item
}

/// The info node's 'JID Visibility' values (XEP-0369 seed).
pub fn mode_name(v: JidVisibility) -> &'static str {
    match v {
        JidVisibility::Hidden => "jid-hidden",
        JidVisibility::MaybeVisible => "jid-maybe-visible",
        JidVisibility::Visible => "jid-visible",
    }
}

pub fn parse_mode(s: &str) -> Option<JidVisibility> {
    Some(match s {
        "jid-hidden" => JidVisibility::Hidden,
        "jid-maybe-visible" => JidVisibility::MaybeVisible,
        "jid-visible" => JidVisibility::Visible,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &str) -> DataForm {
        let e: Element = format!("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:anon:0</value></field>{fields}</x>").parse().unwrap();
        DataForm::try_from(e).unwrap()
    }

    #[test]
    fn reads_the_seeds_form() {
        let f = parse_form(&form("<field var='JID Visibility'><value>never</value></field><field var='Private Messages'><value>allow</value></field><field var='vCard'><value>block</value></field>")).unwrap();
        assert_eq!(f, PreferenceChange { jid: Some(JidPreference::Never), private_messages: Some(true), vcard: Some(false), presence: None });
        assert_eq!(parse_form(&form("<field var='JID Visibility'><value>prefer not</value></field>")).unwrap().jid, Some(JidPreference::PreferNot));
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        assert!(parse_form(&form("<field var='JID Visibility'><value>sometimes</value></field>")).is_err());
        assert!(parse_form(&form("<field var='Colour'><value>red</value></field>")).is_err());
        assert!(parse_form(&form("<field var='vCard'><value>allow</value><value>block</value></field>")).is_err());
    }

    #[test]
    fn mode_names_round_trip() {
        for v in [JidVisibility::Hidden, JidVisibility::MaybeVisible, JidVisibility::Visible] {
            assert_eq!(parse_mode(mode_name(v)), Some(v));
        }
    }
}
