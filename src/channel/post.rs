//! `post(channel, sender, payload)`: archive once, then hand the event to
//! the renderers. Nothing is reflected before the archive write returns.

use std::sync::Arc;

use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::Message;

use super::event::{Event, Posted};
use super::{ids, Channels};
use crate::error::{Error, Result};
use crate::store::now_ms;
use crate::xmpp::content;

impl Channels {
    /// Archives a participant's message and returns the event to render.
    #[tracing::instrument(skip(self, message), fields(submission_id = ?message.id.as_ref().map(|i| i.0.as_str())), level = "debug")]
    pub async fn post(&self, name: &str, sender: &BareJid, message: &Message) -> Result<Event> {
        let channel = self.require(name).await?;
        let participant = self.require_participant(name, sender).await?;
        let nick = participant
            .nick
            .clone()
            .ok_or_else(|| Error::not_acceptable("set a nick in this channel before sending messages"))?;
        let content = content::strip_for_archive(message, &self.mix_jid(name), &self.muc_jid(name));
        let payload = content::to_archive_xml(&content);
        let id = ids::archive_id();
        let ts = now_ms();
        let submission_id = message.id.as_ref().map(|i| i.0.clone());
        self.store
            .append_message(name, &id, ts, sender.as_str(), &participant.participant_id, &nick, submission_id.as_deref(), &payload)
            .await?;
        Ok(Event::Posted(Arc::new(Posted { channel, id, ts, sender: participant, nick, submission_id, content })))
    }
}
