//! Private messages to `room@muc/nick` (XEP-0045 §7.5): from a session in
//! the room to the participant shown under that nick, relayed by the
//! channel (`channel::private`, which checks the room's `allow_pm` policy);
//! an occupant gets it in each of its sessions from `room@muc/<sender's
//! nick>` with an empty `<x xmlns='…muc#user'/>` and the sender's
//! occupant-id (`render::private_message`), a MIX participant the MIX way.
//! IQs to `room/nick` (vCard and the like, XEP-0045 §7.8.1 style) are not
//! relayed: they are answered with an error.

use std::sync::Arc;

use xmpp_parsers::message::{Message, MessageType};

use crate::channel::nick;
use crate::channel::payload::Payload;
use crate::error::{Error, Result};
use crate::service::{Reply, Service};
use crate::store::ChannelRow;
use crate::xmpp::content::relay_content;

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

/// An IQ get/set to `room@muc/nick` other than a self-ping: refused, with
/// the error that says why.
pub async fn iq(svc: &Service, room: &str, to_nick: &str, from: &xmpp_parsers::jid::Jid) -> Result<Reply> {
    svc.channels.occupant(room, from.as_str()).await?.ok_or_else(Error::not_in_room)?;
    let participants = svc.channels.participants(room).await?;
    nick::find(&participants, to_nick).ok_or_else(recipient_not_in_room)?;
    Err(Error::service_unavailable().with_text("requests are not relayed to occupants"))
}

fn recipient_not_in_room() -> Error {
    Error::item_not_found().with_text("Recipient not in room")
}
