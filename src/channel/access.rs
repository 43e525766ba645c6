//! Who may enter a room (MUC) or join a channel (MIX), and who may change
//! the subject: the room configuration enforced in one place for both
//! views (docs/muc.md "Room configuration"). Bans are not checked here: a
//! banned user is refused where it joins or enters (`join`, `enter`).

use xmpp_parsers::jid::BareJid;

use super::roles::{moderates, Affiliation};
use super::Channels;
use crate::error::{Error, Result};

/// Why the room's rules keep a user out. Each view says it in its own
/// dialect (MUC: `item-not-found`, `registration-required`,
/// `service-unavailable`; MIX: the same but `forbidden` for members-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryRefusal {
    /// A new room not configured yet: only its owners may enter.
    Locked,
    /// Members-only: owners, admins and members only.
    MembersOnly,
    /// The room holds its maximum of users.
    Full,
}

impl Channels {
    /// What the room's lock and configuration say of a user arriving (not
    /// its bans): a locked room lets only its owners in; a members-only
    /// room only owners, admins and members; a full room only users
    /// already in it, owners and admins. Service admins count as owners.
    /// `None`: the user may come in.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn entry_refusal(&self, name: &str, jid: &BareJid) -> Result<Option<EntryRefusal>> {
        let Some(channel) = self.get(name).await? else { return Ok(None) };
        let stored = Affiliation::from_stored(self.store.get_affiliation(name, jid.as_str()).await?.as_deref());
        let affiliation = if self.rights.is_admin(jid) { Affiliation::Owner } else { stored };
        if channel.locked && affiliation != Affiliation::Owner {
            tracing::debug!(channel = %name, "refused: the room is locked");
            return Ok(Some(EntryRefusal::Locked));
        }
        if channel.members_only && affiliation < Affiliation::Member {
            tracing::debug!(channel = %name, "refused: members only");
            return Ok(Some(EntryRefusal::MembersOnly));
        }
        if channel.max_users > 0 && affiliation < Affiliation::Admin {
            // Every participant counts, with a nick or not (a MIX join
            // without a nick, then a nick, must not pass a full room).
            let participants = self.participants(name).await?;
            let already = participants.iter().any(|p| p.jid == jid.as_str());
            let count = participants.len() as i64;
            if !already && count >= channel.max_users {
                tracing::debug!(channel = %name, count, max = channel.max_users, "refused: the room is full");
                return Ok(Some(EntryRefusal::Full));
            }
        }
        Ok(None)
    }

    /// `forbidden` when the room lets only moderators change the subject
    /// and `jid` is not one.
    pub async fn check_subject_change(&self, name: &str, jid: &BareJid) -> Result<()> {
        let channel = self.require(name).await?;
        if channel.change_subject || self.rights.is_admin(jid) {
            return Ok(());
        }
        let affs = self.affiliations(name).await?;
        let participants = self.participants(name).await?;
        let me = participants.iter().find(|p| p.jid == jid.as_str());
        if me.is_some_and(|p| moderates(&channel, p, self.acting_affiliation(&affs, jid.as_str()))) {
            return Ok(());
        }
        Err(Error::forbidden("only moderators may change the subject of this room"))
    }
}
