//! Voice requests (XEP-0045 §7.13, the `muc#request` form sent to the room)
//! and the role they are about. In an unmoderated room everyone already
//! has voice: a request changes nothing and is not answered (as Prosody's
//! MUC does). In a moderated room a visitor's request is forwarded to the
//! sessions of every moderator as the approval form of §8.6; a request from
//! someone who already has voice changes nothing.

use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType};
use xmpp_parsers::message::{Message, MessageType};
use xmpp_parsers::stanza::Stanza;

use crate::error::{Error, Result};
use crate::service::Reply;
use crate::service::{Service, View};
use crate::channel::admin::Change;
use crate::channel::roles::{role_of, Role};
use crate::xmpp::ns;

/// The form type of voice requests and approvals.
pub const MUC_REQUEST: &str = "http://jabber.org/protocol/muc#request";

/// Is this message a `muc#request` form?
pub fn is_request(m: &Message) -> bool {
    request_form(m).is_some()
}

fn request_form(m: &Message) -> Option<DataForm> {
    m.payloads
        .iter()
        .filter(|p| p.is("x", ns::DATA_FORMS))
        .filter_map(|p| DataForm::try_from(p.clone()).ok())
        .find(|f| f.form_type() == Some(MUC_REQUEST))
}

/// A `muc#request` form sent to the room.
pub async fn handle(svc: &Service, room: &str, m: &Message) -> Result<Reply> {
    let from = m.from.as_ref().ok_or_else(|| Error::bad_request("message without a sender"))?;
    let form = request_form(m).ok_or_else(|| Error::bad_request("malformed muc#request form"))?;
    let me = svc.channels.occupant(room, from.as_str()).await?.ok_or_else(Error::not_in_room)?;
    let ch = svc.channels.require(room).await?;
    let participants = svc.channels.participants(room).await?;
    let requester = participants.iter().find(|p| p.jid == me.jid).ok_or_else(Error::not_in_room)?;
    let affiliations = svc.channels.affiliations(room).await?;
    let role_of = |p| role_of(p, svc.channels.acting_affiliation(&affiliations, &p.jid), &ch);
    let role = role_of(requester);
    if role == Role::Moderator {
        // An approval (§8.6) changes a role: that is a muc#admin role change.
        if form.type_ == DataFormType::Submit && field(&form, "muc#request_allow").is_some() {
            return approve(svc, room, &from.to_bare(), &form).await;
        }
        tracing::debug!(room, "voice request from a moderator ignored: moderators have voice");
        return Ok(Reply::none());
    }
    if !ch.moderated || role != Role::Visitor {
        tracing::debug!(room, role = role.as_str(), moderated = ch.moderated, "voice request ignored: the requester has voice already");
        return Ok(Reply::none());
    }
    let nick = requester.nick.clone().unwrap_or_default();
    let room_jid = svc.channel_jid(View::Muc, room);
    let approval = approval_form(&from.to_string(), &nick);
    let occupants = svc.channels.occupants(room).await?;
    let mut out = Vec::new();
    for o in occupants.iter() {
        let Some(p) = participants.iter().find(|p| p.jid == o.jid) else { continue };
        if role_of(p) != Role::Moderator {
            continue;
        }
        let mut msg = Message::new_with_type(MessageType::Normal, Some(o.full_jid.clone()));
        msg.from = Some(room_jid.clone().into());
        msg.id = m.id.clone();
        msg.payloads.push(approval.clone().into());
        out.push(Stanza::Message(msg));
    }
    tracing::info!(room, nick, moderators = out.len(), "voice request forwarded to moderators");
    Ok(Reply { after: out, ..Default::default() })
}

/// A moderator's submitted approval form (§8.6): with `muc#request_allow`
/// true, the nick gets voice (a muc#admin role change, same rules and
/// announcement); false changes nothing.
async fn approve(svc: &Service, room: &str, moderator: &xmpp_parsers::jid::BareJid, form: &DataForm) -> Result<Reply> {
    let allow = field(form, "muc#request_allow").and_then(|f| f.values.first()).map(|v| v == "true" || v == "1").unwrap_or(false);
    if !allow {
        return Ok(Reply::none());
    }
    let nick = field(form, "muc#roomnick").and_then(|f| f.values.first()).cloned().ok_or_else(|| Error::bad_request("the approval names no muc#roomnick"))?;
    let events = svc.channels.administer(room, moderator, &[Change::Role { nick, role: Role::Participant, reason: None }]).await?;
    Ok(Reply::events(None, events))
}

fn field<'a>(form: &'a DataForm, var: &str) -> Option<&'a Field> {
    form.fields.iter().find(|f| f.var.as_deref() == Some(var))
}

/// The approval form of XEP-0045 §8.6.
fn approval_form(jid: &str, nick: &str) -> DataForm {
    let labelled = |var: &str, t: FieldType, label: &str, value: &str| {
        let mut f = Field::new(var, t).with_value(value);
        f.label = Some(label.to_string());
        f
    };
    let mut form = DataForm::new(
        DataFormType::Form,
        MUC_REQUEST,
        vec![
            labelled("muc#role", FieldType::ListSingle, "Requested role", "participant"),
            labelled("muc#jid", FieldType::JidSingle, "User ID", jid),
            labelled("muc#roomnick", FieldType::TextSingle, "Room Nickname", nick),
            labelled("muc#request_allow", FieldType::Boolean, "Grant voice to this person?", "false"),
        ],
    );
    form.title = Some("Voice request".to_string());
    form.instructions = Some("To approve this request for voice, select the \"Grant voice to this person?\" checkbox and click OK.".to_string());
    form
}
