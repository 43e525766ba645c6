//! Private messages to `room@muc/nick` (XEP-0045 §7.5): from a session in
//! the room to every session of the occupant holding that nick, from
//! `room@muc/<sender's nick>` with an empty `<x xmlns='…muc#user'/>` and the
//! sender's occupant-id; to a MIX participant shown under that nick, the MIX
//! way (`mix::private`). Who may send them is the room's `allow_pm` policy.
//! IQs to `room/nick` (vCard and the like, XEP-0045 §7.8.1 style) are not
//! relayed: they are answered with an error.

use xmpp_parsers::message::{Message, MessageType};
use xmpp_parsers::stanza::Stanza;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use super::render::occupant_jid;
use crate::channel::nick;
use crate::error::{Error, Result};
use crate::service::Reply;
use crate::service::Service;
use crate::store::{ChannelRow, ParticipantRow};
use crate::xmpp::muc::occupant_id;
use crate::xmpp::ns;

/// A message to `room@muc/nick` (type chat, normal or headline).
pub async fn handle(svc: &Service, room: &str, to_nick: &str, m: &Message) -> Result<Reply> {
    let from = m.from.as_ref().ok_or_else(|| Error::bad_request("message without a sender"))?;
    let me = svc.channels.occupant(room, &from.to_string()).await?.ok_or_else(not_in_room)?;
    if m.type_ == MessageType::Groupchat {
        return Err(Error::bad_request("groupchat messages go to the room, not to an occupant"));
    }
    let ch = svc.channels.require(room).await?;
    let participants = svc.channels.participants(room).await?;
    let sender = participants.iter().find(|p| p.jid == me.jid).cloned().ok_or_else(not_in_room)?;
    let recipient = by_nick(&participants, to_nick).cloned().ok_or_else(recipient_not_in_room)?;
    check_policy(svc, &ch, &sender, &recipient).await?;
    let out = crate::mix::private::deliver(svc, room, &sender, &from.to_string(), &recipient, None, m).await?;
    tracing::debug!(room, to_nick, copies = out.len(), "private message relayed");
    Ok(Reply { after: out, ..Default::default() })
}

/// An IQ get/set to `room@muc/nick` other than a self-ping: refused, with
/// the error that says why.
pub async fn iq(svc: &Service, room: &str, to_nick: &str, from: &xmpp_parsers::jid::Jid) -> Result<Reply> {
    svc.channels.occupant(room, &from.to_string()).await?.ok_or_else(not_in_room)?;
    let participants = svc.channels.participants(room).await?;
    by_nick(&participants, to_nick).ok_or_else(recipient_not_in_room)?;
    Err(Error::service_unavailable().with_text("requests are not relayed to occupants"))
}

fn not_in_room() -> Error {
    Error::not_acceptable("You are not currently connected to this chat")
}

fn recipient_not_in_room() -> Error {
    Error::item_not_found().with_text("Recipient not in room")
}

/// The participant shown under `raw` (nicks compare case-insensitively).
pub fn by_nick<'a>(participants: &'a [ParticipantRow], raw: &str) -> Option<&'a ParticipantRow> {
    let (_, key) = nick::normalise(raw).ok()?;
    participants.iter().find(|p| p.nick.as_deref().and_then(|n| nick::normalise(n).ok()).is_some_and(|(_, k)| k == key))
}

/// The room's private-message policy (`allow_pm`): `anyone`, `participants`
/// (not visitors), `moderators` (owners and admins), `none`. A message to
/// oneself is always allowed. Refused with `policy-violation`, as Prosody's
/// restrict_pm does.
pub async fn check_policy(svc: &Service, ch: &ChannelRow, sender: &ParticipantRow, recipient: &ParticipantRow) -> Result<()> {
    if sender.jid == recipient.jid {
        return Ok(());
    }
    let affiliation = svc.store.get_affiliation(&ch.name, &sender.jid).await?;
    let role = super::voice::effective_role(ch, affiliation.as_deref(), sender);
    let (allowed, who) = match ch.allow_pm.as_str() {
        "anyone" => (true, ""),
        "participants" => (role != "visitor", "from visitors"),
        "moderators" => (role == "moderator", "from non-moderators"),
        _ => (false, "in this room"),
    };
    if allowed {
        return Ok(());
    }
    tracing::debug!(room = %ch.name, policy = %ch.allow_pm, role, "private message refused by the room's policy");
    Err(Error::new(ErrorType::Cancel, DefinedCondition::PolicyViolation, Some(format!("Private messages are restricted {who}"))))
}

/// What of a private message is relayed: everything but the addresses and
/// what the service adds itself or must not trust from a sender (MUC user
/// data, occupant ids, `<mix/>`). Keeps the id and the type.
pub fn relay_content(m: &Message) -> Message {
    let mut out = m.clone();
    out.from = None;
    out.to = None;
    out.payloads.retain(|p| !(p.is("x", ns::MUC_USER) || p.is("occupant-id", ns::OCCUPANT_ID) || p.is("mix", ns::MIX_CORE)));
    out
}

/// The message as each of `sessions` receives it: from
/// `room@muc/<sender_nick>`, with `<x xmlns='…muc#user'/>` and the sender's
/// occupant-id.
pub fn to_sessions(svc: &Service, room: &str, sender_nick: &str, sender_id: &str, sessions: &[&str], m: &Message) -> Vec<Stanza> {
    let Some(from) = occupant_jid(svc, room, sender_nick) else { return vec![] };
    let mut base = relay_content(m);
    base.from = Some(from);
    base.payloads.push(xmpp_parsers::minidom::Element::bare("x", ns::MUC_USER));
    base.payloads.push(occupant_id(sender_id));
    sessions
        .iter()
        .filter_map(|s| {
            let mut copy = base.clone();
            copy.to = Some(s.parse().ok()?);
            Some(Stanza::Message(copy))
        })
        .collect()
}
