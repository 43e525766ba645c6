//! A groupchat message to a channel: archived, then reflected to every
//! participant subscribed to the messages node.

use xmpp_parsers::message::{Message, MessageType};

use crate::error::{Error, Result};
use crate::router::Reply;
use crate::service::Service;

pub async fn handle(svc: &Service, channel: &str, m: &Message) -> Result<Reply> {
    let from = m.from.as_ref().ok_or_else(|| Error::bad_request("message without a sender"))?;
    match m.type_ {
        MessageType::Groupchat => {}
        MessageType::Error => return Ok(Reply::none()),
        _ => return Err(Error::bad_request("messages to a channel must be of type groupchat")),
    }
    if m.bodies.is_empty() && m.subjects.is_empty() && m.payloads.is_empty() {
        return Err(Error::bad_request("empty message"));
    }
    svc.channels.check_voice(channel, &from.to_bare()).await?;
    let event = svc.channels.post(channel, &from.to_bare(), m).await?;
    Ok(Reply::events(None, vec![event]))
}
