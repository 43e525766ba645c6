//! The MUC front end (XEP-0045) over the same channels: one file per
//! operation, and `render.rs` for events → MUC stanzas to occupants' full
//! JIDs.

pub mod admin;
pub mod disco;
pub mod history;
pub mod invite;
pub mod mam;
pub mod message;
pub mod owner;
pub mod presence;
pub mod presence_update;
pub mod private;
pub mod render;
pub mod voice;

use crate::store::{ChannelRow, ParticipantRow};

/// The JID shown in an occupant's item: real JIDs only in non-anonymous
/// (JID-visible) rooms.
pub fn shown_jid<'a>(channel: &ChannelRow, p: &'a ParticipantRow, session: Option<&'a str>) -> Option<&'a str> {
    channel.jid_visible.then(|| session.unwrap_or(p.jid.as_str()))
}
