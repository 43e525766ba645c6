//! A groupchat message to a channel: archived, then reflected to every
//! participant subscribed to the messages node. One with a subject and no
//! body changes the channel's subject, as in the MUC view.

use std::sync::Arc;

use xmpp_parsers::message::{Message, MessageType};

use crate::channel::post::PendingPost;
use crate::error::{Error, Result};
use crate::service::Reply;
use crate::service::Service;
use crate::store::ChannelRow;
use crate::xmpp::{content, retract};

pub async fn handle(svc: &Service, channel: Arc<ChannelRow>, m: &Message) -> Result<Reply> {
    let from = m.from.as_ref().ok_or_else(|| Error::bad_request("message without a sender"))?;
    match m.type_ {
        MessageType::Groupchat => {}
        MessageType::Error => return Ok(Reply::none()),
        _ => return Err(Error::bad_request("messages to a channel must be of type groupchat")),
    }
    if let Some(target) = retract::target(m) {
        return super::retract::handle(svc, &channel.name, m, target).await;
    }
    if content::is_subject_change(m) {
        // The one subject of the channel, shared with the MUC view: the same
        // right (`changesubject`) and the same stored subject.
        let subject = m.subjects.values().next().cloned().unwrap_or_default();
        let event = svc.channels.change_subject(&channel.name, &from.to_bare(), &subject, svc.new_post(&channel.name, m)).await?;
        return Ok(Reply::events(None, vec![event]));
    }
    let event = svc.channels.commit_post(prepare(svc, channel, m).await?).await?;
    Ok(Reply::events(None, vec![event]))
}

/// A groupchat to the channel: checked and ready to archive. `handle`
/// commits it at once; the dispatcher's batch path commits several together.
pub async fn prepare(svc: &Service, channel: Arc<ChannelRow>, m: &Message) -> Result<PendingPost> {
    let from = m.from.as_ref().ok_or_else(|| Error::bad_request("message without a sender"))?;
    if m.bodies.is_empty() && m.subjects.is_empty() && m.payloads.is_empty() {
        return Err(Error::bad_request("empty message"));
    }
    // Voice is checked there.
    let post = svc.new_post(&channel.name, m);
    svc.channels.prepare_post(channel, None, &from.to_bare(), post).await
}
