//! The information node (XEP-0369 seed, "Information Node"): Name,
//! Description and JID Visibility, read by participants and published by
//! owners ('Information Node Update Rights': owners). It is the same
//! setting as the MUC view's title, description and `whois`: a publish is
//! a configuration change (`Channels::configure`), rendered in both views.

use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType};
use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use super::anon::{mode_name, parse_mode};
use crate::channel::config::ConfigPatch;
use crate::channel::membership::NODE_INFO;
use crate::error::{Error, Result};
use crate::service::{Reply, Service};
use crate::store::ChannelRow;
use crate::xmpp::{el, mam, ns};

/// The info node's item (in `item_ns`: PubSub, or PubSub event).
pub fn item(ch: &ChannelRow, item_ns: &str) -> Element {
    let mut item = el("item", item_ns, &[("id", &mam::stamp(ch.created_at))]);
    let mode = Field::new("JID Visibility", FieldType::ListSingle).with_value(mode_name(ch.jid_visibility));
    let mut contact = Field::new("Contact", FieldType::JidMulti);
    contact.values = ch.contacts();
    let fields = vec![Field::text_single("Name", &ch.title), Field::text_single("Description", &ch.description), contact, mode];
    item.append_child(DataForm::new(DataFormType::Result_, ns::MIX_CORE, fields).into());
    item
}

/// A publish to the info node by an owner: the fields it names change,
/// the others stay. Answered with the new item's id.
pub async fn publish(svc: &Service, channel: &str, from: &Jid, op: &Element) -> Result<Reply> {
    let item = op.get_child("item", ns::PUBSUB).ok_or_else(|| Error::bad_request("<publish/> needs an <item/>"))?;
    let form = item.get_child("x", "jabber:x:data").ok_or_else(|| Error::bad_request("the info item is a form"))?;
    let form = DataForm::try_from(form.clone()).map_err(|_| Error::bad_request("malformed form"))?;
    let patch = parse(&form)?;
    let events = svc.channels.configure(channel, &from.to_bare(), &patch).await?;
    let ch = svc.channels.require(channel).await?;
    let mut published = el("publish", ns::PUBSUB, &[("node", NODE_INFO)]);
    published.append_child(el("item", ns::PUBSUB, &[("id", &mam::stamp(ch.created_at))]));
    let mut pubsub = Element::bare("pubsub", ns::PUBSUB);
    pubsub.append_child(published);
    Ok(Reply::events(Some(pubsub), events))
}

/// The change an info form asks for. `bad-request` naming a field not
/// offered or a value not allowed.
pub(crate) fn parse(form: &DataForm) -> Result<ConfigPatch> {
    if form.form_type().is_some_and(|t| t != ns::MIX_CORE) {
        return Err(Error::bad_request(format!("the info node's form is a {} form", ns::MIX_CORE)));
    }
    let mut patch = ConfigPatch::default();
    for f in &form.fields {
        let var = f.var.as_deref().unwrap_or("");
        let one = || match f.values.as_slice() {
            [] => Ok(String::new()),
            [v] => Ok(v.clone()),
            _ => Err(Error::bad_request(format!("field {} takes one value", crate::error::quote(var)))),
        };
        match var {
            "FORM_TYPE" => {}
            "Name" => patch.title = Some(one()?),
            "Description" => patch.description = Some(one()?),
            "Contact" => patch.contact = Some(crate::xmpp::form::jids(f)?),
            "JID Visibility" => {
                let v = one()?;
                patch.jid_visibility = Some(parse_mode(&v).ok_or_else(|| Error::bad_request(format!("{} is not a value of field 'JID Visibility' (jid-hidden, jid-maybe-visible, jid-visible)", crate::error::quote(&v))))?);
            }
            other => return Err(Error::bad_request(format!("field {} of the info node is not offered (Name, Description, Contact, JID Visibility)", crate::error::quote(other)))),
        }
    }
    Ok(patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &str) -> DataForm {
        let e: Element = format!("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:core:1</value></field>{fields}</x>").parse().unwrap();
        DataForm::try_from(e).unwrap()
    }

    #[test]
    fn reads_an_info_form() {
        let p = parse(&form("<field var='Name'><value>Witches Coven</value></field><field var='JID Visibility'><value>jid-maybe-visible</value></field>")).unwrap();
        assert_eq!(p.title.as_deref(), Some("Witches Coven"));
        assert_eq!(p.description, None);
        assert_eq!(p.jid_visibility, Some(crate::store::JidVisibility::MaybeVisible));
        assert!(parse(&form("<field var='JID Visibility'><value>visible</value></field>")).is_err());
        let p = parse(&form("<field var='Contact'><value>a@b</value><value>c@d</value></field>")).unwrap();
        assert_eq!(p.contact.map(|c| c.len()), Some(2));
        assert!(parse(&form("<field var='Contact'><value>a@b/r</value></field>")).is_err());
        assert!(parse(&form("<field var='Owner'><value>a@b</value></field>")).is_err());
    }
}
