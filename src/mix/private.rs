//! Private messages through proxy JIDs (XEP-0369 seed "Sending Private
//! Messages", XEP-0404): a participant writes to
//! `<participant-id>#<channel>@mix-domain[/<session>]`; the channel relays
//! the message to the addressed participant without showing either real
//! JID (`channel::private`). A MIX recipient gets it at its real bare JID
//! from the sender's proxy full JID (`render::private_message`); a MUC
//! occupant from `room@muc/<nick>` (docs/mix.md, docs/muc.md). IQs to
//! proxy JIDs are relayed the same way (`iq`).

use std::sync::Arc;

use xmpp_parsers::message::{Message, MessageType};

use super::jids::{proxy_full_jid, proxy_jid};
use crate::channel::payload::Payload;
use crate::channel::relay::RequestKind;
use crate::error::{Error, Result};
use crate::relay::Request;
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

/// An IQ get/set to `<participant-id>#<channel>@mix[/<session>]` (XEP-0403
/// §4.5, XEP-0404 "Requesting vCard"): sent on to that participant, from
/// the requester's proxy full JID (`<its participant-id>#<channel>@mix/<the
/// token of its session>`, as its private messages come). The channel says
/// where (`channel::relay`): a vCard to the real bare JID, anything else to
/// the session named, or the participant's most recent one;
/// `crate::relay` carries the answer back from the proxy JID asked. A
/// requester that is not a participant: `forbidden` (as its private
/// messages); an unknown participant: `item-not-found`.
pub async fn iq(svc: &Service, channel: &str, to_id: &str, to_session: Option<&str>, req: &Request<'_>) -> Result<Reply> {
    let ch = svc.channels.require(channel).await?;
    let sender = svc.channels.require_participant(channel, &req.from.to_bare()).await?;
    let participants = svc.channels.participants(channel).await?;
    let recipient = participants.iter().find(|p| p.participant_id == to_id).ok_or_else(|| Error::item_not_found().with_text("no such participant in this channel"))?;
    let kind = if req.is_vcard() { RequestKind::Profile } else { RequestKind::Session };
    let target = svc.channels.relay_target(&ch, &sender, recipient, to_session, kind).await?;
    let target = target.parse().map_err(|e| Error::internal(format!("relay target {target}: {e}")))?;
    let relayed_from = match req.from.resource() {
        Some(_) => proxy_full_jid(svc, channel, &sender.participant_id, req.from.as_str()).await?,
        None => proxy_jid(svc, channel, &sender.participant_id).parse().map_err(|e| Error::internal(format!("proxy JID: {e}")))?,
    };
    Ok(Reply::relayed(svc.relay.forward(req, relayed_from, target).await?))
}
