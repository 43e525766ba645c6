//! Invitations, shared by both views (XEP-0369 seed "Inviting another User
//! to join a Channel"; XEP-0045 §7.8.2 mediated invitations): who may
//! invite, and the invitation's token. The token is a salted hash over
//! channel, inviter, invitee and expiry time, so the channel keeps no state
//! for invitations. In a members-only channel an invitation makes the
//! invitee a member when it has no affiliation yet (MIX: when it joins with
//! a valid invitation; MUC: when the room sends it, as Prosody does).

use std::sync::Arc;
use std::time::Duration;

use xmpp_parsers::jid::BareJid;

use super::roles::{role_of, Affiliation, Role};
use super::Channels;
use crate::error::{Error, Result};
use crate::store::now_ms;

/// How long an invitation may be used (7 days).
pub const VALIDITY_MS: i64 = 7 * 24 * 3600 * 1000;
/// Most invitations in one stanza.
pub const MAX_PER_STANZA: usize = 10;
/// How long a mediated invitation may be declined, and how many are kept
/// at most (the oldest go first).
const PENDING_TTL: Duration = Duration::from_secs(24 * 3600);
const PENDING_MAX: u64 = 100_000;

/// Mediated invitations (XEP-0045 §7.8.2) the room sent: (room, invitee's
/// bare JID) → the inviters' JIDs. A decline is relayed only to one of
/// them; the room relays nothing to anyone else. Kept in memory for a day
/// (a restart forgets them: a decline then gets `item-not-found`).
#[derive(Clone)]
pub struct Pending(moka::sync::Cache<(String, String), Arc<Vec<String>>>);

impl Pending {
    pub fn new() -> Self {
        Pending(moka::sync::Cache::builder().max_capacity(PENDING_MAX).time_to_live(PENDING_TTL).build())
    }
}

/// An invitation into a channel: who invites whom, and the token that
/// proves the channel issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub inviter: String,
    pub invitee: String,
    pub token: String,
}

impl Channels {
    /// May `inviter` invite others into the channel? Participants may when
    /// the channel allows invitations (`allow_invites`), owners and admins
    /// always; visitors never. `forbidden` otherwise.
    pub async fn check_may_invite(&self, name: &str, inviter: &BareJid) -> Result<()> {
        let channel = self.require(name).await?;
        let participant = self.require_participant(name, inviter).await?;
        let affiliation = self.acting_affiliation(&self.affiliations(name).await?, inviter.as_str());
        if role_of(&participant, affiliation, &channel) == Role::Visitor {
            return Err(Error::forbidden("visitors may not invite"));
        }
        if !channel.allow_invites && affiliation < Affiliation::Admin {
            return Err(Error::forbidden("only owners and admins may invite to this room"));
        }
        Ok(())
    }

    /// An invitation from `inviter` for `invitee`, valid for `VALIDITY_MS`.
    pub async fn invitation(&self, name: &str, inviter: &BareJid, invitee: &BareJid) -> Result<Invitation> {
        let expires = now_ms() + VALIDITY_MS;
        Ok(Invitation { inviter: inviter.to_string(), invitee: invitee.to_string(), token: self.invitation_token(name, inviter.as_str(), invitee.as_str(), expires).await? })
    }

    async fn invitation_token(&self, name: &str, inviter: &str, invitee: &str, expires: i64) -> Result<String> {
        let hash = self.salted_hash(name, &format!("invitation\n{inviter}\n{invitee}\n{expires}")).await?;
        Ok(format!("{expires}-{hash}"))
    }

    /// Checks the token of an invitation from `inviter` that `joiner`
    /// presents (`forbidden` when it is not valid or has expired); in a
    /// members-only channel a valid one makes the joiner a member when it
    /// has no affiliation.
    ///
    /// An invitation also stops working when its inviter may no longer
    /// invite (left, became a visitor, lost the admin affiliation in a room
    /// where only admins invite, or invitations were switched off) and when
    /// the invitee is banned. The token is compared in constant time.
    pub async fn accept_invitation(&self, name: &str, joiner: &BareJid, inviter: &str, token: &str) -> Result<()> {
        use subtle::ConstantTimeEq;
        let invalid = || Error::forbidden("the invitation is not valid");
        let expires: i64 = token.split_once('-').and_then(|(e, _)| e.parse().ok()).ok_or_else(invalid)?;
        let expected = self.invitation_token(name, inviter, joiner.as_str(), expires).await?;
        if expires < now_ms() || !bool::from(expected.as_bytes().ct_eq(token.as_bytes())) {
            return Err(invalid());
        }
        self.check_not_banned(name, joiner).await?;
        let inviter = BareJid::new(inviter).map_err(|_| invalid())?;
        self.check_may_invite(name, &inviter).await.map_err(|_| Error::forbidden("the inviter may no longer invite to this channel"))?;
        self.admit_invitee(name, joiner).await
    }

    /// Remembers that `inviter` (a JID as the invitation names it) invited
    /// `invitee` into the room.
    pub fn invited(&self, name: &str, inviter: &str, invitee: &BareJid) {
        let key = (name.to_string(), invitee.to_string());
        let mut inviters: Vec<String> = self.invites.0.get(&key).map(|v| (*v).clone()).unwrap_or_default();
        if !inviters.iter().any(|i| i == inviter) {
            inviters.push(inviter.to_string());
            // A handful is plenty; an inviter flood keeps the latest.
            if inviters.len() > 8 {
                inviters.remove(0);
            }
        }
        self.invites.0.insert(key, Arc::new(inviters));
    }

    /// The inviter `to` of `decliner` (a JID, or the bare JID of an
    /// occupant `to` names), if `to` did invite it: `item-not-found` when
    /// there is no such invitation to decline.
    pub fn check_decline(&self, name: &str, decliner: &BareJid, to: &str) -> Result<()> {
        let inviters = self.invites.0.get(&(name.to_string(), decliner.to_string())).unwrap_or_default();
        let to_bare = to.split('/').next().unwrap_or(to);
        if inviters.iter().any(|i| i == to || i.split('/').next() == Some(to_bare)) {
            Ok(())
        } else {
            Err(Error::item_not_found().with_text("there is no invitation from that user to decline"))
        }
    }

    /// In a members-only channel, makes an invited user a member when it
    /// has no affiliation yet; elsewhere nothing.
    pub async fn admit_invitee(&self, name: &str, invitee: &BareJid) -> Result<()> {
        if self.require(name).await?.members_only && self.store.add_member_if_unaffiliated(name, invitee.as_str()).await? {
            tracing::info!(channel = %name, invitee = %invitee, "invitee made a member of the members-only channel");
        }
        Ok(())
    }
}
