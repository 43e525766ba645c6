//! Private messages to `room@muc/nick` (XEP-0045 §7.5): from a session in
//! the room to the participant shown under that nick, relayed by the
//! channel (`channel::private`, which checks the room's `allow_pm` policy);
//! an occupant gets it in each of its sessions from `room@muc/<sender's
//! nick>` with an empty `<x xmlns='…muc#user'/>` and the sender's
//! occupant-id (`render::private_message`), a MIX participant the MIX way.
//!
//! IQs to `room@muc/nick` (XEP-0045: vCard, disco, version, ping to another
//! occupant) are relayed, as Prosody's MUC does: from a session in the room
//! to the participant under that nick, from `room@muc/<requester's nick>`;
//! the channel says where (`channel::relay`: a vCard to the real bare JID,
//! anything else to one session), `crate::relay` carries the answer back
//! from `room@muc/nick`. A ping to one's own nick is XEP-0410's self-ping,
//! answered by the room (`is_own_nick`).

use std::sync::Arc;

use xmpp_parsers::jid::Jid;
use xmpp_parsers::message::{Message, MessageType};

use crate::channel::nick;
use crate::channel::payload::Payload;
use crate::channel::relay::RequestKind;
use crate::error::{Error, Result};
use crate::relay::Request;
use crate::service::{Reply, Service};
use crate::store::ChannelRow;
use crate::xmpp::content::relay_content;
use crate::xmpp::ns;

/// A message to `room@muc/nick` (type chat, normal or headline).
pub async fn handle(svc: &Service, channel: Arc<ChannelRow>, to_nick: &str, m: &Message) -> Result<Reply> {
    let from = m.from.as_ref().ok_or_else(|| Error::bad_request("message without a sender"))?;
    let room = channel.name.as_str();
    let me = svc.channels.occupant(room, from.as_str()).await?.ok_or_else(Error::not_in_room)?;
    if m.type_ == MessageType::Groupchat {
        return Err(Error::bad_request("groupchat messages go to the room, not to an occupant"));
    }
    let participants = svc.channels.participants(room).await?;
    let sender = participants.iter().find(|p| p.jid == me.jid).cloned().ok_or_else(Error::not_in_room)?;
    let recipient = nick::find(&participants, to_nick).cloned().ok_or_else(recipient_not_in_room)?;
    let event = svc.channels.private_message(channel, sender, from.as_str(), recipient, None, Payload::new(relay_content(m))).await?;
    Ok(Reply::events(None, vec![event]))
}

/// Is `nick` the nick of `from`'s session in the room? (A session that
/// is not in the room is told so: `not-acceptable`.)
pub async fn is_own_nick(svc: &Service, room: &str, nick: &str, from: &Jid) -> Result<bool> {
    let me = svc.channels.occupant(room, from.as_str()).await?.ok_or_else(Error::not_in_room)?;
    let participants = svc.channels.participants(room).await?;
    Ok(nick::find(&participants, nick).is_some_and(|p| p.jid == me.jid))
}

/// An IQ get/set to `room@muc/nick` other than a self-ping: sent on to the
/// participant under that nick (see the module comment). A sender not in
/// the room: `not-acceptable`, or for disco `bad-request` (XEP-0045 §6.7:
/// "If a non-occupant attempts to send a disco request to an address of the
/// form <room@service/nick>, a MUC service MUST return a <bad-request/>
/// error"); an unknown nick: `item-not-found`.
pub async fn iq(svc: &Service, room: &str, to_nick: &str, req: &Request<'_>) -> Result<Reply> {
    let channel = svc.channels.require(room).await?;
    let me = match svc.channels.occupant(room, req.from.as_str()).await? {
        Some(me) => me,
        None if req.payload.ns() == ns::DISCO_INFO || req.payload.ns() == ns::DISCO_ITEMS => return Err(Error::bad_request("only occupants may query an occupant")),
        None => return Err(Error::not_in_room()),
    };
    let participants = svc.channels.participants(room).await?;
    let sender = participants.iter().find(|p| p.jid == me.jid).ok_or_else(Error::not_in_room)?;
    let recipient = nick::find(&participants, to_nick).ok_or_else(recipient_not_in_room)?;
    let kind = if req.is_vcard() { RequestKind::Profile } else { RequestKind::Session };
    let target = svc.channels.relay_target(&channel, sender, recipient, None, kind).await?;
    let my_nick = sender.nick.as_deref().ok_or_else(Error::not_in_room)?;
    let relayed_from = super::occupant_jid(svc, room, my_nick).ok_or_else(|| Error::internal(format!("nick {my_nick:?} is no resource")))?;
    let target = target.parse().map_err(|e| Error::internal(format!("relay target {target}: {e}")))?;
    Ok(Reply::relayed(svc.relay.forward(req, relayed_from, target).await?))
}

fn recipient_not_in_room() -> Error {
    Error::item_not_found().with_text("Recipient not in room")
}
