//! MUC sessions in a room: entering (which makes the user a participant
//! when needed, in the one nick namespace), leaving, and the occupant list.

use std::sync::Arc;

use xmpp_parsers::jid::FullJid;

use super::event::Event;
use super::{nick, Channels};
use crate::error::{Error, Result};
use crate::store::{now_ms, OccupantRow};

/// Most MUC sessions of one user in one room.
pub const MAX_SESSIONS: usize = 10;

impl Channels {
    /// A MUC session enters room `name` as `raw_nick`.
    #[tracing::instrument(skip(self), fields(session = %full), level = "info")]
    pub async fn enter(&self, name: &str, full: &FullJid, raw_nick: &str, created: bool) -> Result<Vec<Event>> {
        let channel = self.require(name).await?;
        let bare = full.to_bare();
        self.check_not_banned(name, &bare).await?;
        self.check_rate(name, &bare, super::limits::Kind::Presence).await?;
        let (nick, key) = nick::normalise(raw_nick).map_err(|_| Error::jid_malformed("that nick is not allowed"))?;
        self.check_reserved(name, bare.as_str(), &key).await?;
        let renamed = nick != raw_nick;
        let sessions = self.occupants(name).await?.iter().filter(|o| o.jid == bare.as_str() && o.full_jid.as_str() != full.as_str()).count();
        if sessions >= MAX_SESSIONS {
            return Err(Error::resource_constraint(format!("at most {MAX_SESSIONS} sessions of one user in a room")));
        }
        let (mut participant, created_participant) = self.store.ensure_occupant_participant(name, bare.as_str(), &self.participant_id(name, bare.as_str()).await?, now_ms()).await?;
        let mut events = Vec::new();
        if participant.nick.as_deref() != Some(nick.as_str()) {
            if sessions > 0 {
                return Err(Error::conflict("your other sessions in this room use another nick"));
            }
            if let Err(e) = self.store.set_nick(name, bare.as_str(), &nick, &key).await {
                if created_participant {
                    self.store.remove_participant(name, bare.as_str()).await?;
                }
                self.forget_participants(name).await;
                return Err(e);
            }
            let old = participant.nick.replace(nick);
            if !created_participant {
                events.push(Event::NickChanged { channel: channel.clone(), participant: participant.clone(), old });
            }
        }
        if created_participant {
            events.push(Event::Joined { channel: channel.clone(), participant: participant.clone() });
        }
        self.store.add_occupant(name, &full.to_string(), bare.as_str(), now_ms()).await?;
        self.forget_participants(name).await;
        self.forget_occupants(name).await;
        events.push(Event::Entered { channel, participant, full_jid: full.to_string(), first_session: sessions == 0, created, renamed });
        Ok(events)
    }

    /// A MUC session leaves room `name`. Its user stops being a participant
    /// with its last session, unless it joined through MIX.
    pub async fn exit(&self, name: &str, full: &FullJid) -> Result<Vec<Event>> {
        self.exit_with(name, full, None).await
    }

    /// `exit`, with the serialised unavailable presence the session sent.
    pub async fn exit_with(&self, name: &str, full: &FullJid, leaving: Option<String>) -> Result<Vec<Event>> {
        self.exit_as(name, full, leaving, false).await
    }

    /// `exit_with`; `failed` when the service removes the session after a
    /// delivery error (`channel::vanished`).
    #[tracing::instrument(skip(self, leaving), fields(session = %full), level = "info")]
    pub(crate) async fn exit_as(&self, name: &str, full: &FullJid, leaving: Option<String>, failed: bool) -> Result<Vec<Event>> {
        let channel = self.require(name).await?;
        if !self.store.remove_occupant(name, &full.to_string()).await? {
            return Ok(vec![]);
        }
        self.forget_occupants(name).await;
        let bare = full.to_bare();
        let Some(participant) = self.store.get_participant(name, bare.as_str()).await? else {
            return Ok(vec![]);
        };
        let last_session = !self.occupants(name).await?.iter().any(|o| o.jid == bare.as_str());
        let mut events = vec![Event::Exited { channel: channel.clone(), participant: participant.clone(), full_jid: full.to_string(), last_session, leaving, failed }];
        if last_session && !participant.via_mix {
            self.store.remove_participant(name, bare.as_str()).await?;
            self.forget_participants(name).await;
            events.push(Event::Left { channel, participant });
        }
        Ok(events)
    }

    /// Is this session in the room?
    pub async fn occupant(&self, name: &str, full: &str) -> Result<Option<OccupantRow>> {
        Ok(self.occupants(name).await?.iter().find(|o| o.full_jid.as_str() == full).cloned())
    }

    /// Every MUC session present in a room (cached).
    pub async fn occupants(&self, name: &str) -> Result<Arc<Vec<OccupantRow>>> {
        super::cache::cached_list(&self.cache.entry(name).await.occupants, self.store.list_occupants(name)).await
    }

    pub(crate) async fn forget_occupants(&self, name: &str) {
        self.cache.clear(name, |e| e.occupants.clear()).await;
    }
}
