//! Affiliations and roles (XEP-0045 §5; MIX: Owner / Administrator, the
//! allowed and banned nodes), and the questions both views ask of them,
//! each answered once: what role a participant has and whether it
//! moderates (who sees real JIDs: `visibility`).

use std::collections::HashMap;

use super::Channels;
use crate::store::{ChannelRow, ParticipantRow};

/// An affiliation, in rank order (XEP-0045 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Affiliation {
    Outcast,
    None,
    Member,
    Admin,
    Owner,
}

impl Affiliation {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "owner" => Self::Owner,
            "admin" => Self::Admin,
            "member" => Self::Member,
            "none" => Self::None,
            "outcast" => Self::Outcast,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
            Self::None => "none",
            Self::Outcast => "outcast",
        }
    }

    /// The affiliation a stored value (a row of the affiliations table, or
    /// none) stands for.
    pub fn from_stored(s: Option<&str>) -> Self {
        s.and_then(Self::parse).unwrap_or(Self::None)
    }

    /// What the affiliations table holds for it (no row for `none`).
    pub(super) fn stored(self) -> Option<String> {
        (self != Self::None).then(|| self.as_str().to_string())
    }
}

/// A role, in rank order (XEP-0045 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    None,
    Visitor,
    Participant,
    Moderator,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "moderator" => Self::Moderator,
            "participant" => Self::Participant,
            "visitor" => Self::Visitor,
            "none" => Self::None,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Moderator => "moderator",
            Self::Participant => "participant",
            Self::Visitor => "visitor",
            Self::None => "none",
        }
    }
}

/// The role a participant has without a moderator's say: owners and admins
/// moderate, members speak, others speak unless the room is moderated.
pub fn default_role(affiliation: Affiliation, channel: &ChannelRow) -> Role {
    match affiliation {
        Affiliation::Owner | Affiliation::Admin => Role::Moderator,
        Affiliation::Member => Role::Participant,
        Affiliation::None if channel.moderated => Role::Visitor,
        Affiliation::None => Role::Participant,
        Affiliation::Outcast => Role::None,
    }
}

/// A participant's role: the one a moderator set, else its affiliation's
/// default. `affiliation` is the one it acts with
/// (`Channels::acting_affiliation`: service admins act as owners).
pub fn role_of(p: &ParticipantRow, affiliation: Affiliation, channel: &ChannelRow) -> Role {
    p.role.as_deref().and_then(Role::parse).unwrap_or_else(|| default_role(affiliation, channel))
}

/// Whether `p` moderates `channel`: its role (set by a moderator, else its
/// affiliation's default) is moderator. `affiliation`: the one it acts with.
pub fn moderates(channel: &ChannelRow, p: &ParticipantRow, affiliation: Affiliation) -> bool {
    role_of(p, affiliation, channel) == Role::Moderator
}

impl Channels {
    /// The affiliation the actor acts with: service admins act as owners.
    pub fn acting_affiliation(&self, affs: &HashMap<String, Affiliation>, jid: &str) -> Affiliation {
        if self.rights.is_admin_str(jid) {
            Affiliation::Owner
        } else {
            affs.get(jid).copied().unwrap_or(Affiliation::None)
        }
    }
}
