//! Domain events: what happened in a channel, for the front ends to render
//! to their audiences. Neither front end calls the other; both render these.

use std::sync::Arc;

use super::payload::Payload;
use crate::store::{ArchiveRow, ChannelRow, OccupantRow, ParticipantRow};

#[derive(Debug, Clone)]
pub enum Event {
    /// A user became a participant (first join, not a repeated one).
    Joined { channel: Arc<ChannelRow>, participant: ParticipantRow },
    /// A participant's nick was set or changed.
    NickChanged { channel: Arc<ChannelRow>, participant: ParticipantRow, old: Option<String> },
    /// A participant left (or was removed).
    Left { channel: Arc<ChannelRow>, participant: ParticipantRow },
    /// A MUC session entered the room (after its participant, if new, joined);
    /// `renamed` when the service changed the nick asked for (MUC status 210).
    Entered { channel: Arc<ChannelRow>, participant: ParticipantRow, full_jid: String, first_session: bool, created: bool, renamed: bool },
    /// A MUC session left the room; `last_session` when the user has no other.
    /// `leaving`: the serialised unavailable presence it sent (its status).
    /// `failed`: it did not leave, the service removed it after a delivery
    /// error (`channel::vanished`; MUC status 333).
    Exited { channel: Arc<ChannelRow>, participant: ParticipantRow, full_jid: String, last_session: bool, leaving: Option<String>, failed: bool },
    /// A MUC session's presence changed (same nick), or a MIX client's
    /// (XEP-0403).
    Presence(Arc<PresenceChange>),
    /// A message was archived and must be reflected.
    Posted(Arc<Posted>),
    /// A message was taken back (by its sender or a moderator); the
    /// retraction is archived and must be told to both views.
    Retracted(Arc<Retracted>),
    /// A private message to relay to one participant (not archived).
    PrivateMessage(Arc<PrivateMessage>),
    /// The channel was destroyed; these were its participants.
    /// `alternate` and `reason` as the owner gave them (MUC owner destroy).
    Destroyed {
        channel: Arc<ChannelRow>,
        participants: Arc<Vec<ParticipantRow>>,
        occupants: Arc<Vec<OccupantRow>>,
        alternate: Option<String>,
        reason: Option<String>,
    },
    /// An owner changed the configuration (`channel` now, `old` before) or
    /// the owner and admin lists: (bare JID, new affiliation).
    ConfigChanged { channel: Arc<ChannelRow>, old: Arc<ChannelRow>, affiliations: Arc<Vec<(String, String)>> },
    /// A participant's affiliation changed (muc#admin, MIX allowed/banned
    /// nodes) and it stays in the channel; `participant` as it is now.
    AffiliationChanged { channel: Arc<ChannelRow>, participant: ParticipantRow, by: Actor },
    /// A moderator changed a participant's role; `participant` as it is now.
    RoleChanged { channel: Arc<ChannelRow>, participant: ParticipantRow, by: Actor },
    /// A participant was removed by an admin or moderator (ban, kick,
    /// membership revoked): gone from both views with these MUC sessions.
    Removed { channel: Arc<ChannelRow>, participant: ParticipantRow, sessions: Vec<String>, cause: Removal, by: Actor },
    /// These participants' real JIDs are now shown to everyone, or no
    /// longer (a mode or preference change: `visibility`); `participants`
    /// as they are now.
    VisibilityChanged { channel: Arc<ChannelRow>, participants: Arc<Vec<ParticipantRow>> },
    /// A service admin's announcement, from the channel itself to everyone
    /// in it (not archived; `service_admin::announce`).
    Announced(Arc<Announcement>),
}

/// An announcement to one channel, ready for rendering.
#[derive(Debug)]
pub struct Announcement {
    pub channel: Arc<ChannelRow>,
    pub participants: Arc<Vec<ParticipantRow>>,
    pub occupants: Arc<Vec<OccupantRow>>,
    /// The text (a body in both views).
    pub text: String,
}

/// An archived message, ready for rendering.
#[derive(Debug)]
pub struct Posted {
    pub channel: Arc<ChannelRow>,
    /// The archive id: MIX message id and stanza-id in both views.
    pub id: String,
    pub ts: i64,
    pub sender: ParticipantRow,
    pub nick: String,
    /// The id the sender gave its message.
    pub submission_id: Option<String>,
    /// The message's content as the front end that received it made it
    /// (bodies, subjects, thread and every payload the service passes
    /// through; no addresses, no id), for the renderers.
    pub content: Payload,
    /// The channel's participants and the room's occupants as the checks
    /// read them. The renderers use these: nothing changes them between
    /// the checks and the rendering (the dispatcher handles stanzas in
    /// order, and a run of room messages changes no membership), so a
    /// message costs each cache lookup once.
    pub participants: Arc<Vec<ParticipantRow>>,
    pub occupants: Arc<Vec<OccupantRow>>,
}

/// A retraction, archived, to render (`Channels::retract`).
#[derive(Debug)]
pub struct Retracted {
    pub channel: Arc<ChannelRow>,
    /// The retraction's own archive row (`retracts` set).
    pub row: ArchiveRow,
    pub participants: Arc<Vec<ParticipantRow>>,
    pub occupants: Arc<Vec<OccupantRow>>,
}

/// Who made an administrative change, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// The actor's bare JID.
    pub jid: String,
    /// The actor's nick in the channel, if it has one.
    pub nick: Option<String>,
    pub reason: Option<String>,
}

/// Why a participant was removed (MUC status codes 301, 307, 321, 307).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Banned,
    Kicked,
    MembershipRevoked,
    /// The channel's JID visibility changed to one its JID visibility
    /// preference does not allow (XEP-0404).
    Preference,
    /// The channel became members-only and it is no member (MUC 322).
    MembersOnly,
}

/// Where a presence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A MUC session in the room.
    Muc,
    /// A MIX client, through the participant's server (XEP-0403).
    Mix,
}

/// A session's or client's presence changed without entering or leaving
/// the room (MUC), or a MIX client came, changed or went.
#[derive(Debug)]
pub struct PresenceChange {
    pub channel: Arc<ChannelRow>,
    pub participant: ParticipantRow,
    pub full_jid: String,
    pub via: Via,
    /// The serialised presence; None: the client went offline.
    pub presence: Option<String>,
}

/// A private message the channel relays.
#[derive(Debug)]
pub struct PrivateMessage {
    pub channel: Arc<ChannelRow>,
    pub sender: ParticipantRow,
    /// The sender's session (full JID).
    pub from_session: String,
    pub recipient: ParticipantRow,
    /// The recipient's MUC sessions it goes to; empty: to the recipient's
    /// bare JID, the MIX way.
    pub sessions: Vec<String>,
    /// The content (with the sender's id and type), as the front end made it.
    pub content: Payload,
}
