//! Taking a message back, one archive for both views: its sender retracts
//! it (XEP-0424 in the MUC view, the MIX retraction), or one with the
//! right removes anyone's (XEP-0425 moderation, the MIX administrator
//! retraction).
//!
//! The message keeps its row and id as a tombstone (its content gone,
//! when and by whom kept), and the retraction is archived as a message of
//! its own, so that a client that was away learns of it from MAM and from
//! the room's history. Both views are told, each in its own dialect
//! (`Event::Retracted`).
//!
//! Rights: a sender may retract its own messages when the channel allows
//! it (`user_retraction`, MIX 'User Message Retraction') and, if
//! `[limits] user_retraction_secs` is set, only that long after sending.
//! Anyone's message may be removed by those `retraction_rights` names
//! (MIX 'Administrator Message Retraction Rights'): `moderators` (the MUC
//! moderator role), `admins` (admins and owners), `owners`, or `nobody`;
//! service administrators always may.

use std::sync::Arc;

use xmpp_parsers::jid::BareJid;

use super::event::{Event, Retracted};
use super::roles::{moderates, Affiliation};
use super::{ids, Channels};
use crate::error::{Error, Result};
use crate::store::{now_ms, ArchiveRow, ChannelRow, NewMessage, NewRetraction, ParticipantRow, EMPTY_PAYLOAD};

/// Who may retract anyone's message (`ChannelRow::retraction_rights`).
pub const RETRACTION_RIGHTS: &[&str] = &["nobody", "owners", "admins", "moderators"];

/// Longest reason kept (characters); a longer one is cut.
pub const MAX_REASON: usize = 1024;

/// In what capacity the actor retracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetractAs {
    /// Its own message (XEP-0424).
    Sender,
    /// Anyone's, as a moderator (XEP-0425).
    Moderator,
    /// Its own message as its sender, anyone else's as a moderator (the
    /// MIX retraction: one request for both).
    Either,
}

/// A request to take a message back.
#[derive(Debug, Clone)]
pub struct RetractRequest {
    /// The archive id of the message (its stanza-id, MIX message id).
    pub target: String,
    pub capacity: RetractAs,
    pub reason: Option<String>,
    /// The id the actor gave its retraction message (echoed back to it).
    pub submission_id: Option<String>,
}

impl Channels {
    /// Takes a message back: checks the right, makes the message a
    /// tombstone and archives the retraction, in one transaction; returns
    /// the event to render. Unknown (or already retracted) ids are
    /// `item-not-found`, a refusal `forbidden` (`not-allowed` for one past
    /// the retraction window).
    #[tracing::instrument(skip(self, req), fields(channel = %name, target = %crate::error::quote(&req.target)), level = "info")]
    pub async fn retract(&self, name: &str, actor: &BareJid, req: RetractRequest) -> Result<Event> {
        let channel = self.require(name).await?;
        let participants = self.participants(name).await?;
        let me = participants.iter().find(|p| p.jid == actor.as_str()).cloned();
        let service_admin = self.rights.is_admin(actor);
        if me.is_none() && !service_admin {
            return Err(Error::forbidden("you are not a participant of this channel"));
        }
        let acting = self.acting_affiliation(&self.affiliations(name).await?, actor.as_str());
        let may_moderate = service_admin || me.as_ref().is_some_and(|p| holds_right(&channel, p, acting));
        if req.capacity != RetractAs::Moderator {
            self.check_rate(name, actor, super::limits::Kind::Message).await?;
        }
        let reason = req.reason.filter(|r| !r.trim().is_empty()).map(|r| r.chars().take(MAX_REASON).collect::<String>());
        let now = now_ms();
        let row = NewMessage {
            channel: name.to_string(),
            id: ids::time_sorted_id(),
            ts: now,
            sender_jid: actor.to_string(),
            participant_id: me.as_ref().map(|p| p.participant_id.clone()).unwrap_or_default(),
            nick: me.as_ref().and_then(|p| p.nick.clone()).unwrap_or_default(),
            submission_id: req.submission_id,
            payload: EMPTY_PAYLOAD.to_string(),
            jid_visible: me.as_ref().is_some_and(|p| super::visibility::shows_jid(&channel, p)),
        };
        let window = self.retraction_window_ms;
        let capacity = req.capacity;
        let check = |target: &ArchiveRow| -> Result<bool> {
            let own = target.sender_jid == actor.as_str();
            let as_sender = || -> Result<bool> {
                if !own {
                    return Err(Error::forbidden("you may retract only your own messages"));
                }
                if !channel.user_retraction {
                    return Err(Error::forbidden("senders may not retract their messages in this channel"));
                }
                if window > 0 && now.saturating_sub(target.ts) > window {
                    return Err(Error::not_allowed("this message is too old to be retracted"));
                }
                Ok(false)
            };
            let as_moderator = || -> Result<bool> {
                match may_moderate {
                    true => Ok(true),
                    false => Err(Error::forbidden(refusal(&channel))),
                }
            };
            match capacity {
                RetractAs::Sender => as_sender(),
                RetractAs::Moderator => as_moderator(),
                RetractAs::Either if own => as_sender().or_else(|e| if may_moderate { Ok(true) } else { Err(e) }),
                RetractAs::Either => as_moderator(),
            }
        };
        let retraction = NewRetraction { row, target: req.target.clone(), reason };
        let Some(row) = self.store.retract_message(retraction, check).await? else {
            return Err(Error::item_not_found().with_text(format!("no message with id {} to retract in this channel", crate::error::quote(&req.target))));
        };
        tracing::info!(id = %row.id, moderated = row.moderated, "message retracted");
        let occupants = self.occupants(name).await?;
        Ok(Event::Retracted(Arc::new(Retracted { channel, row, participants, occupants })))
    }
}

/// Whether a participant holds the channel's right to remove anyone's
/// message. `acting`: the affiliation it acts with.
fn holds_right(channel: &ChannelRow, p: &ParticipantRow, acting: Affiliation) -> bool {
    match channel.retraction_rights.as_str() {
        "moderators" => moderates(channel, p, acting),
        "admins" => acting >= Affiliation::Admin,
        "owners" => acting >= Affiliation::Owner,
        _ => false,
    }
}

/// Why one without the right is refused.
fn refusal(channel: &ChannelRow) -> &'static str {
    match channel.retraction_rights.as_str() {
        "moderators" => "only moderators may remove others' messages",
        "admins" => "only admins and owners may remove others' messages",
        "owners" => "only owners may remove others' messages",
        _ => "nobody may remove others' messages in this channel",
    }
}
