//! Private messages through proxy JIDs (XEP-0369 seed "Sending Private
//! Messages", XEP-0404): a participant writes to
//! `<participant-id>#<channel>@mix-domain[/<session>]`; the channel relays
//! the message to the addressed participant without showing either real
//! JID (`channel::private`). A MIX recipient gets it at its real bare JID
//! from the sender's proxy full JID (`render::private_message`); a MUC
//! occupant from `room@muc/<nick>` (docs/mix.md, docs/muc.md).

use std::sync::Arc;

use xmpp_parsers::message::{Message, MessageType};

use crate::channel::payload::Payload;
use crate::error::{Error, Result};
use crate::service::{Reply, Service};
use crate::store::ChannelRow;
use crate::xmpp::content::relay_content;

/// A message to `<participant-id>#<channel>@mix[/<session>]`.
pub async fn handle(svc: &Service, channel: Arc<ChannelRow>, to_id: &str, to_session: Option<&str>, m: &Message) -> Result<Reply> {
    let from = m.from.as_ref().ok_or_else(|| Error::bad_request("message without a sender"))?;
    match m.type_ {
        MessageType::Error => return Ok(Reply::none()),
        MessageType::Groupchat => return Err(Error::bad_request("private messages must not be of type groupchat")),
        _ => {}
    }
    let sender = svc.channels.require_participant(&channel.name, &from.to_bare()).await?;
    let participants = svc.channels.participants(&channel.name).await?;
    let recipient = participants
        .iter()
        .find(|p| p.participant_id == to_id)
        .cloned()
        .ok_or_else(|| Error::item_not_found().with_text("no such participant in this channel"))?;
    let event = svc.channels.private_message(channel, sender, from.as_str(), recipient, to_session, Payload::new(relay_content(m))).await?;
    Ok(Reply::events(None, vec![event]))
}

/// IQs to proxy JIDs (vCard requests and the like) are not relayed.
pub fn iq() -> Result<Reply> {
    Err(Error::service_unavailable().with_text("requests are not relayed to participants"))
}
