//! The MUC front end (XEP-0045) over the same channels: one file per
//! operation, and `render.rs` for events → MUC stanzas to occupants' full
//! JIDs.

pub mod admin;
pub mod avatar;
pub mod disco;
pub mod history;
pub mod invite;
pub mod mam;
pub mod message;
pub mod owner;
pub mod owner_form;
pub mod presence;
pub mod presence_update;
pub mod private;
pub mod register;
pub mod render;
pub mod retract;
pub mod voice;

use xmpp_parsers::jid::{FullJid, Jid, ResourcePart};

use crate::service::{Service, View};

/// `room@muc/nick`.
pub fn occupant_jid(svc: &Service, channel: &str, nick: &str) -> Option<Jid> {
    let bare = svc.channel_jid(View::Muc, channel);
    let res = ResourcePart::new(nick).ok()?;
    Some(Jid::from(FullJid::from_parts(bare.node(), bare.domain(), &res)))
}
