//! Room registration (XEP-0045 §7.10, `jabber:iq:register` on the room
//! JID): a member reserves a nick in the room, the one registry both views
//! share (`channel::registration`). get: the `muc#register` form, or the
//! nick registered; set: the submitted form registers, `<remove/>` drops
//! the registration. The reserved nick is discovered with the
//! `x-roomuser-item` disco node (§7.12).

use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType};
use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::channel::registration::Scope;
use crate::error::{Error, Result};
use crate::service::{Reply, Service};
use crate::xmpp::form::single;
use crate::xmpp::ns;

/// The form's one field.
const ROOMNICK: &str = "muc#register_roomnick";

fn query() -> Element {
    Element::bare("query", ns::REGISTER)
}

/// get: `<registered/><username>nick</username>` when the user has a nick
/// registered here, else the form (members only: others
/// `registration-required`, outcasts `forbidden`).
pub async fn get(svc: &Service, room: &str, from: &Jid) -> Result<Reply> {
    let bare = from.to_bare();
    svc.channels.check_may_register(room, &bare).await?;
    let mut q = query();
    match svc.channels.registered_nick(Scope::Channel(room), &bare).await? {
        Some(nick) => {
            q.append_child(Element::bare("registered", ns::REGISTER));
            let mut username = Element::bare("username", ns::REGISTER);
            username.append_text_node(nick);
            q.append_child(username);
        }
        None => {
            let mut field = Field::new(ROOMNICK, FieldType::TextSingle);
            field.label = Some("Nickname".to_string());
            field.required = true;
            let mut form = DataForm::new(DataFormType::Form, ns::MUC_REGISTER, vec![field]);
            form.title = Some(format!("Register a nickname in {}", svc.channel_jid(crate::service::View::Muc, room)));
            q.append_child(form.into());
        }
    }
    Ok(Reply::payload(q))
}

/// set: a submitted `muc#register` form, or `<remove/>`.
pub async fn set(svc: &Service, room: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let bare = from.to_bare();
    if payload.get_child("remove", ns::REGISTER).is_some() {
        svc.channels.unregister_nick(Scope::Channel(room), &bare).await?;
        return Ok(Reply::none());
    }
    let x = payload.get_child("x", ns::DATA_FORMS).ok_or_else(|| Error::bad_request("the registration is a muc#register form"))?;
    let form = DataForm::try_from(x.clone()).map_err(|_| Error::bad_request("malformed form"))?;
    match form.type_ {
        DataFormType::Cancel => return Ok(Reply::none()),
        DataFormType::Submit => {}
        _ => return Err(Error::bad_request("not a submitted form")),
    }
    if form.form_type() != Some(ns::MUC_REGISTER) {
        return Err(Error::bad_request(format!("the form is not of type {}", ns::MUC_REGISTER)));
    }
    let nick = form.fields.iter().find(|f| f.var.as_deref() == Some(ROOMNICK)).map(single).transpose()?.flatten();
    let nick = nick.filter(|n| !n.is_empty()).ok_or_else(|| Error::not_acceptable(format!("{ROOMNICK} is required")))?;
    svc.channels.register_nick(Scope::Channel(room), &bare, Some(&nick)).await?;
    Ok(Reply::none())
}

/// The `x-roomuser-item` disco node: the nick the user registered (here,
/// else with the service), as an identity; none when it has none.
pub async fn reserved_nick_info(svc: &Service, room: &str, from: &Jid) -> Result<Reply> {
    use xmpp_parsers::disco::{DiscoInfoResult, Identity};
    svc.channels.require(room).await?;
    let identities = match svc.channels.reserved_nick(room, &from.to_bare()).await? {
        Some(nick) => vec![Identity::new("conference", "text", "en", nick)],
        None => vec![],
    };
    let info = DiscoInfoResult { node: Some(RESERVED_NODE.to_string()), identities, features: Default::default(), extensions: vec![] };
    Ok(Reply::payload(info.into()))
}

/// XEP-0045 §7.12.
pub const RESERVED_NODE: &str = "x-roomuser-item";
