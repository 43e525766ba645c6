//! Who may enter a room (MUC) or join a channel (MIX), and who may change
//! the subject: the room configuration enforced in one place for both
//! views (docs/muc.md "Room configuration").

use xmpp_parsers::jid::BareJid;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use super::Channels;
use crate::error::{Error, Result};

/// The protocol a user arrives by; the refusals differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// MUC presence to `room/nick`.
    Enter,
    /// MIX `<join/>`.
    Join,
}

/// Moderators: owners and admins, and anyone given the moderator role.
pub fn is_moderator(affiliation: Option<&str>, role: Option<&str>) -> bool {
    matches!(affiliation, Some("owner" | "admin")) || role == Some("moderator")
}

impl Channels {
    /// Checks a user's arrival against the room's lock and configuration:
    /// a locked room lets only its owners in (`item-not-found` for the
    /// others, as if it did not exist yet); a members-only room only owners,
    /// admins and members (`registration-required` in MUC, `forbidden` in
    /// MIX); a full room only users already in it, owners and admins
    /// (`service-unavailable`). Service admins count as owners.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn check_access(&self, name: &str, jid: &BareJid, arrival: Arrival) -> Result<()> {
        let Some(channel) = self.get(name).await? else { return Ok(()) };
        let affiliation = if self.rights.is_admin(jid) { Some("owner".to_string()) } else { self.store.get_affiliation(name, jid.as_str()).await? };
        let privileged = matches!(affiliation.as_deref(), Some("owner" | "admin"));
        if channel.locked && affiliation.as_deref() != Some("owner") {
            tracing::debug!(channel = %name, "refused: the room is locked");
            return Err(Error::item_not_found().with_text("this room is locked until its owner configures it"));
        }
        if channel.members_only && !matches!(affiliation.as_deref(), Some("owner" | "admin" | "member")) {
            tracing::debug!(channel = %name, "refused: members only");
            return Err(match arrival {
                Arrival::Enter => Error::new(ErrorType::Auth, DefinedCondition::RegistrationRequired, Some("this room is members-only".to_string())),
                Arrival::Join => Error::forbidden("this channel is members-only"),
            });
        }
        if channel.max_users > 0 && !privileged {
            let participants = self.participants(name).await?;
            let present = |p: &&crate::store::ParticipantRow| p.nick.is_some();
            let already = participants.iter().filter(present).any(|p| p.jid == jid.as_str());
            let count = participants.iter().filter(present).count() as i64;
            if !already && count >= channel.max_users {
                tracing::debug!(channel = %name, count, max = channel.max_users, "refused: the room is full");
                return Err(Error::new(ErrorType::Wait, DefinedCondition::ServiceUnavailable, Some("this room is full".to_string())));
            }
        }
        Ok(())
    }

    /// `forbidden` when the room lets only moderators change the subject
    /// and `jid` is not one.
    pub async fn check_subject_change(&self, name: &str, jid: &BareJid) -> Result<()> {
        let channel = self.require(name).await?;
        if channel.change_subject || self.rights.is_admin(jid) {
            return Ok(());
        }
        let affiliation = self.store.get_affiliation(name, jid.as_str()).await?;
        let role = self.participants(name).await?.iter().find(|p| p.jid == jid.as_str()).and_then(|p| p.role.clone());
        if is_moderator(affiliation.as_deref(), role.as_deref()) {
            return Ok(());
        }
        Err(Error::forbidden("only moderators may change the subject of this room"))
    }
}
