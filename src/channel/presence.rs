//! Presence in a channel, shared by both views: what each MUC session (in
//! `occupants`) and each MIX client (the XEP-0403 presence node,
//! `mix_presence`) last said about its availability, and which of them the
//! MUC view shows for a user.
//!
//! A presence is kept as an opaque serialised `<presence/>` (show, status and
//! the payloads passed on); the front ends write and read it
//! (`muc::presence_update`, `mix::presence`).
//!
//! What the MUC view shows for a participant (docs/muc.md, "Presence"):
//! - a user with MUC sessions: the presence of its most recently updated
//!   session (entering counts as an update);
//! - otherwise, a MIX participant with an online client: the presence of its
//!   most recently updated client;
//! - otherwise, a MIX participant subscribed to the presence node (it shares
//!   presence, so we know it is offline): nothing, it is not in the room;
//! - otherwise (a MIX participant that shares no presence): plain available.

use std::sync::Arc;

use xmpp_parsers::jid::{BareJid, FullJid};

use super::event::{Event, PresenceChange, Via};
use super::Channels;
use crate::error::{Error, Result};
use crate::store::{now_ms, ChannelRow, MixClientRow, OccupantRow, ParticipantRow};

/// Most online MIX clients of one participant in the presence node.
pub const MAX_CLIENTS: usize = 20;

/// XEP-0403 presence node.
pub const NODE_PRESENCE: &str = "urn:xmpp:mix:nodes:presence";

/// What the MUC view shows for a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown<'a> {
    /// Available, with this serialised presence (None: plain available).
    Available(Option<&'a str>),
    /// Not in the room (a MIX participant sharing presence, with no client online).
    Offline,
}

/// What the MUC view shows for `p`, given the room's MUC sessions and the
/// channel's online MIX clients (see the module comment).
pub fn shown<'a>(p: &ParticipantRow, occupants: &'a [OccupantRow], clients: &'a [MixClientRow]) -> Shown<'a> {
    if let Some(o) = occupants.iter().filter(|o| o.jid == p.jid).max_by_key(|o| o.updated_at) {
        return Shown::Available(o.presence.as_deref());
    }
    if let Some(c) = clients.iter().filter(|c| c.jid == p.jid).max_by_key(|c| c.updated_at) {
        return Shown::Available(Some(c.presence.as_str()));
    }
    if p.via_mix && p.subscribed(NODE_PRESENCE) {
        Shown::Offline
    } else {
        Shown::Available(None)
    }
}

impl Channels {
    /// Is `raw` (once normalised) the nick `jid` already has?
    pub async fn is_current_nick(&self, name: &str, jid: &BareJid, raw: &str) -> Result<bool> {
        let Ok((nick, _)) = super::nick::normalise(raw) else { return Ok(false) };
        Ok(self.participants(name).await?.iter().any(|p| p.jid == jid.as_str() && p.nick.as_deref() == Some(nick.as_str())))
    }

    /// Records what a MUC session in the room says about its availability,
    /// without telling anyone (entering, a nick change).
    pub async fn set_session_presence(&self, name: &str, full: &FullJid, presence: Option<&str>) -> Result<bool> {
        let done = self.store.set_occupant_presence(name, &full.to_string(), presence, now_ms()).await?;
        self.forget_occupants(name).await;
        Ok(done)
    }

    /// What the MUC view shows for `jid` now: None when it is not shown (no
    /// nick, not a participant, or offline), else its kept presence.
    pub async fn shown_presence(&self, name: &str, jid: &BareJid) -> Result<Option<Option<String>>> {
        let Some(p) = self.participants(name).await?.iter().find(|p| p.jid == jid.as_str() && p.nick.is_some()).cloned() else { return Ok(None) };
        let (occupants, clients) = (self.occupants(name).await?, self.mix_clients(name).await?);
        Ok(match shown(&p, &occupants, &clients) {
            Shown::Available(kept) => Some(kept.map(str::to_string)),
            Shown::Offline => None,
        })
    }

    /// A MUC session entered again (a resynchronising join) or as a further
    /// session of a user the room already shows: when what the room shows
    /// changes (`before` → this session's presence), the change as an event.
    pub async fn session_shown_change(&self, name: &str, full: &FullJid, before: Option<Option<String>>) -> Result<Vec<Event>> {
        let Some(before) = before else { return Ok(vec![]) };
        let Some(session) = self.occupant(name, &full.to_string()).await? else { return Ok(vec![]) };
        if session.presence == before {
            return Ok(vec![]);
        }
        let channel = self.require(name).await?;
        let Some(participant) = self.store.get_participant(name, full.to_bare().as_str()).await? else { return Ok(vec![]) };
        Ok(vec![Event::Presence(Arc::new(PresenceChange { channel, participant, full_jid: full.to_string(), via: Via::Muc, presence: session.presence }))])
    }

    /// A MUC session in the room changed its presence (same nick).
    #[tracing::instrument(skip(self, presence), fields(session = %full), level = "info")]
    pub async fn update_session_presence(&self, name: &str, full: &FullJid, presence: Option<String>) -> Result<Vec<Event>> {
        let channel = self.require(name).await?;
        if presence.is_some() {
            self.check_rate(name, &full.to_bare(), super::limits::Kind::Presence).await?;
        }
        let participant = self.store.get_participant(name, full.to_bare().as_str()).await?.ok_or_else(Error::not_in_room)?;
        if !self.set_session_presence(name, full, presence.as_deref()).await? {
            return Err(Error::not_in_room());
        }
        Ok(vec![Event::Presence(Arc::new(PresenceChange { channel, participant, full_jid: full.to_string(), via: Via::Muc, presence }))])
    }

    /// A MIX client's presence, sent to the channel by the participant's
    /// server: Some = available (added to or replaced in the presence node),
    /// None = unavailable (removed). Only participants may publish.
    #[tracing::instrument(skip(self, presence), fields(client = %full), level = "info")]
    pub async fn mix_client_presence(&self, name: &str, full: &FullJid, presence: Option<String>) -> Result<Vec<Event>> {
        let channel = self.require(name).await?;
        let bare = full.to_bare();
        let participant = match (self.require_participant(name, &bare).await, &presence) {
            (Ok(p), _) => p,
            // An unavailable presence from a non-participant changes nothing.
            (Err(_), None) => return Ok(vec![]),
            (Err(e), Some(_)) => return Err(e),
        };
        // A participant whose preference is not to share presence
        // (XEP-0404) is not in the presence node: its clients are not kept.
        let presence = presence.filter(|_| participant.prefs.presence);
        if presence.is_some() {
            self.check_rate(name, &bare, super::limits::Kind::Presence).await?;
        }
        let changed = match &presence {
            Some(_) if self.mix_clients(name).await?.iter().filter(|c| c.jid == bare.as_str()).count() >= MAX_CLIENTS
                && !self.mix_clients(name).await?.iter().any(|c| c.full_jid == full.to_string()) =>
            {
                return Err(Error::resource_constraint(format!("at most {MAX_CLIENTS} online clients of one participant")));
            }
            Some(xml) => {
                self.store.set_mix_presence(name, &full.to_string(), bare.as_str(), xml, now_ms()).await?;
                true
            }
            None => self.store.remove_mix_presence(name, &full.to_string()).await?,
        };
        self.forget_mix_clients(name).await;
        if !changed {
            return Ok(vec![]);
        }
        Ok(vec![Event::Presence(Arc::new(PresenceChange { channel, participant, full_jid: full.to_string(), via: Via::Mix, presence }))])
    }

    /// The online MIX clients of a leaving participant, as "went offline"
    /// events (XEP-0403 4.4); the store drops them with the participant.
    pub(crate) async fn clients_gone(&self, channel: &Arc<ChannelRow>, participant: &ParticipantRow) -> Result<Vec<Event>> {
        let clients = self.mix_clients(&channel.name).await?;
        self.forget_mix_clients(&channel.name).await;
        Ok(clients
            .iter()
            .filter(|c| c.jid == participant.jid)
            .map(|c| {
                Event::Presence(Arc::new(PresenceChange { channel: channel.clone(), participant: participant.clone(), full_jid: c.full_jid.clone(), via: Via::Mix, presence: None }))
            })
            .collect())
    }

    /// Every online MIX client of a channel (cached).
    pub async fn mix_clients(&self, name: &str) -> Result<Arc<Vec<MixClientRow>>> {
        super::cache::cached_list(&self.cache.entry(name).await.mix_clients, self.store.list_mix_presence(name)).await
    }

    pub(crate) async fn forget_mix_clients(&self, name: &str) {
        self.cache.clear(name, |e| e.mix_clients.clear()).await;
    }
}
