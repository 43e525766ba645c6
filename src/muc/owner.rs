//! `muc#owner` on a room (XEP-0045 §10): the configuration form (get),
//! submitting it or accepting the instant room (set, which unlocks a new
//! room), cancelling the initial configuration (destroys a locked room),
//! and owner destroy, which is the MIX destroy of the same channel.

use xmpp_parsers::jid::{FullJid, Jid};
use xmpp_parsers::minidom::Element;

use crate::channel::event::Event;
use crate::error::Result;
use crate::service::Reply;
use crate::service::{Service, View};
use super::owner_form::{self, OwnerSet};

/// The reason given to occupants when a new room's owner cancels its configuration.
const CANCELLED: &str = "The owner cancelled the room's initial configuration";
/// The reason given when a new room's owner leaves before configuring it.
const ABANDONED: &str = "The owner left before configuring the room";

/// IQ get: the configuration form with the current values, for owners.
pub async fn get(svc: &Service, room: &str, from: &Jid) -> Result<Reply> {
    let ch = svc.channels.require_owner(room, &from.to_bare()).await?;
    let owners = svc.channels.affiliated(room, "owner").await?;
    let admins = svc.channels.affiliated(room, "admin").await?;
    let form = owner_form::config_form(svc.channel_jid(View::Muc, room).as_str(), &ch, &owners, &admins);
    Ok(Reply::payload(owner_form::query(Some(form))))
}

/// IQ set: a submitted or cancelled form, or a destroy request; owners only.
pub async fn set(svc: &Service, room: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let by = from.to_bare();
    let channel = svc.channels.require_owner(room, &by).await?;
    match owner_form::parse_set(payload)? {
        OwnerSet::Submit { patch, instant } => {
            if instant {
                tracing::info!(channel = %room, "instant room accepted");
            }
            let events: Vec<Event> = svc.channels.configure(room, &by, &patch).await?;
            Ok(Reply::events(None, events))
        }
        OwnerSet::Cancel if channel.locked => {
            tracing::info!(channel = %room, "initial configuration cancelled; destroying the room");
            let ev = svc.channels.destroy_with(room, &by, svc.keep_archive, None, Some(CANCELLED.to_string())).await?;
            Ok(Reply::events(None, vec![ev]))
        }
        OwnerSet::Cancel => Ok(Reply::none()),
        OwnerSet::Destroy { alternate, reason } => {
            let ev = svc.channels.destroy_with(room, &by, svc.keep_archive, alternate, reason).await?;
            Ok(Reply::events(None, vec![ev]))
        }
    }
}

/// After a session left: a room still locked that nobody is in any more
/// is destroyed (XEP-0045 §10.1.3: the owner left before configuring it).
pub async fn after_exit(svc: &Service, room: &str, full: &FullJid) -> Result<Vec<Event>> {
    let Some(ch) = svc.channels.get(room).await? else { return Ok(vec![]) };
    if !ch.locked || !svc.channels.occupants(room).await?.is_empty() {
        return Ok(vec![]);
    }
    let by = full.to_bare();
    if !svc.channels.is_owner(room, &by).await? {
        return Ok(vec![]);
    }
    tracing::info!(channel = %room, "locked room left by its owner; destroying it");
    Ok(vec![svc.channels.destroy_with(room, &by, svc.keep_archive, None, Some(ABANDONED.to_string())).await?])
}
