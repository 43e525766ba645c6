//! `post(channel, sender, payload)`: archive once, then hand the event to
//! the renderers. Nothing is reflected before the archive write returns.
//!
//! Two steps, so that the dispatcher can archive the room messages it finds
//! queued together with one statement (`Service::handle_batch`):
//! `prepare_post` (checks, archive payload, id, timestamp; no write) and
//! `commit_posts` (the archive write, then the events, in the order given).
//! `post` is both for one message.

use std::sync::Arc;

use xmpp_parsers::jid::BareJid;

use super::event::{Event, Posted};
use super::payload::Payload;
use super::{ids, Channels};
use crate::error::{Error, Result};
use crate::store::{now_ms, ChannelRow, NewMessage, OccupantRow};

/// A message as a front end hands it to `post`: what to archive and what
/// to render, made from the wire message by the front end.
#[derive(Debug)]
pub struct NewPost {
    /// The id the sender gave its message.
    pub submission_id: Option<String>,
    /// The archived form of the content (`<message xmlns='jabber:client'>`).
    pub archived: String,
    /// The content the renderers read (`Posted::content`).
    pub content: Payload,
}

/// A checked message, not yet archived: its archive row and its event.
#[derive(Debug)]
pub struct PendingPost {
    row: NewMessage,
    posted: Posted,
}

impl Channels {
    /// Archives a participant's message and returns the event to render.
    pub async fn post(&self, name: &str, sender: &BareJid, message: NewPost) -> Result<Event> {
        let pending = self.prepare_post(self.require(name).await?, None, sender, message).await?;
        self.commit_post(pending).await
    }

    /// Checks a participant's message to an existing channel (participant
    /// with voice, nick) and makes its archive row; writes nothing.
    /// `occupants`: the room's occupants when the caller has already read
    /// them.
    #[tracing::instrument(skip_all, fields(channel = %channel.name, submission_id = ?message.submission_id), level = "debug")]
    pub async fn prepare_post(&self, channel: Arc<ChannelRow>, occupants: Option<Arc<Vec<OccupantRow>>>, sender: &BareJid, message: NewPost) -> Result<PendingPost> {
        let name = channel.name.as_str();
        let participants = self.participants(name).await?;
        let participant = super::membership::find_participant(&participants, sender)?;
        self.check_voice_of(&channel, &participant).await?;
        self.check_rate(name, sender, super::limits::Kind::Message).await?;
        let occupants = match occupants {
            Some(o) => o,
            None => self.occupants(name).await?,
        };
        let nick = participant
            .nick
            .clone()
            .ok_or_else(|| Error::not_acceptable("set a nick in this channel before sending messages"))?;
        let row = NewMessage {
            channel: name.to_string(),
            id: ids::time_sorted_id(),
            ts: now_ms(),
            sender_jid: sender.as_str().to_string(),
            participant_id: participant.participant_id.clone(),
            nick: nick.clone(),
            submission_id: message.submission_id,
            payload: message.archived,
            jid_visible: super::visibility::shows_jid(&channel, &participant),
        };
        let posted = Posted {
            id: row.id.clone(),
            ts: row.ts,
            sender: participant,
            nick,
            submission_id: row.submission_id.clone(),
            content: message.content,
            participants,
            occupants,
            channel,
        };
        Ok(PendingPost { row, posted })
    }

    /// A subject change (a message with a subject and no body, from either
    /// view): the sender must be a participant with voice and a nick, and
    /// may change the subject (`check_subject_change`); then the subject is
    /// stored and the message archived and reflected like any other.
    pub async fn change_subject(&self, name: &str, sender: &BareJid, subject: &str, message: NewPost) -> Result<Event> {
        self.check_subject_change(name, sender).await?;
        let pending = self.prepare_post(self.require(name).await?, None, sender, message).await?;
        self.set_subject(name, sender, subject).await?;
        tracing::info!(channel = %name, "subject changed");
        self.commit_post(pending).await
    }

    /// Archives one prepared message (one INSERT); returns its event.
    /// Archives room messages (one transaction), timed for the
    /// `mixmuc_archive_append_seconds` metric.
    async fn append(&self, rows: Vec<NewMessage>) -> Result<()> {
        let started = std::time::Instant::now();
        self.store.append_messages(rows).await?;
        crate::metrics::get().archived(started.elapsed());
        Ok(())
    }

    pub async fn commit_post(&self, p: PendingPost) -> Result<Event> {
        self.append(vec![p.row]).await?;
        Ok(Event::Posted(Arc::new(p.posted)))
    }

    /// Archives prepared messages, archive order as given, with one
    /// INSERT (all or none). Returns their events in the same order.
    pub async fn commit_posts(&self, ps: Vec<PendingPost>) -> Result<Vec<Event>> {
        let (rows, posted): (Vec<NewMessage>, Vec<Posted>) = ps.into_iter().map(|p| (p.row, p.posted)).unzip();
        self.append(rows).await?;
        Ok(posted.into_iter().map(|p| Event::Posted(Arc::new(p))).collect())
    }
}
