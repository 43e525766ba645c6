//! Joining, leaving, nicks and subscriptions: the participant side of a
//! channel, shared by both views.

use std::sync::Arc;

use xmpp_parsers::jid::BareJid;

use super::event::Event;
use super::visibility::PreferenceChange;
use super::{nick, Channels};
use crate::error::{Error, Result};
use crate::store::{now_ms, ParticipantRow};

/// XEP-0369 nodes a participant may subscribe to.
pub const NODE_MESSAGES: &str = "urn:xmpp:mix:nodes:messages";
pub const NODE_PARTICIPANTS: &str = "urn:xmpp:mix:nodes:participants";
pub const NODE_INFO: &str = "urn:xmpp:mix:nodes:info";
pub const NODE_PRESENCE: &str = super::presence::NODE_PRESENCE;
/// XEP-0084's metadata node of the channel's avatar: subscribers are told
/// when the avatar changes (in either view).
pub const NODE_AVATAR_METADATA: &str = "urn:xmpp:avatar:metadata";
/// The nodes a participant may subscribe to (at join, with
/// `<update-subscription/>` or PubSub `<subscribe/>`).
pub const NODES: &[&str] = &[NODE_MESSAGES, NODE_PARTICIPANTS, NODE_INFO, NODE_PRESENCE, NODE_AVATAR_METADATA];

/// The result of a join.
#[derive(Debug)]
pub struct Joined {
    pub participant: ParticipantRow,
    /// The requested nodes that were subscribed, in request order.
    pub nodes: Vec<String>,
}

impl Channels {
    /// Makes `jid` a participant subscribed to the requested nodes (those
    /// that exist), with `nick` when given and the preferences `prefs` asks
    /// for (XEP-0404; refused when the channel's mode contradicts them). A
    /// repeated join updates the subscriptions and keeps the participant id.
    #[tracing::instrument(skip(self, requested), level = "info")]
    pub async fn join(&self, name: &str, jid: &BareJid, requested: &[String], nick: Option<&str>, prefs: &PreferenceChange) -> Result<(Joined, Vec<Event>)> {
        let channel = self.require(name).await?;
        self.check_not_banned(name, jid).await?;
        let new_prefs = Self::check_preferences(&channel, prefs)?;
        let granted: Vec<String> = requested.iter().filter(|n| NODES.contains(&n.as_str())).cloned().collect();
        if !requested.is_empty() && granted.is_empty() {
            return Err(Error::item_not_found().with_text(format!("no such node: {}", crate::error::quote(&requested[0]))));
        }
        // Without a nick, a first join takes the one the user registered
        // (here, else with the service), if any.
        let reserved = match nick {
            None if self.store.get_participant(name, jid.as_str()).await?.and_then(|p| p.nick).is_none() => self.reserved_nick(name, jid).await?,
            _ => None,
        };
        let nick = nick.or(reserved.as_deref());
        let normalised = nick.map(nick::normalise).transpose()?;
        if let Some((_, key)) = &normalised {
            self.check_reserved(name, jid.as_str(), key).await?;
        }
        let existing = self.store.get_participant(name, jid.as_str()).await?;
        let mut events = Vec::new();
        let participant = match existing {
            Some(mut p) => {
                // The nick first: a refused nick leaves everything as it was.
                if let Some((nick, key)) = normalised.filter(|(n, _)| p.nick.as_deref() != Some(n.as_str())) {
                    self.store.set_nick(name, jid.as_str(), &nick, &key).await?;
                    let old = p.nick.replace(nick);
                    events.push(Event::NickChanged { channel: channel.clone(), participant: p.clone(), old });
                }
                let mut p2 = self.store.upsert_participant(name, jid.as_str(), &p.participant_id, &granted, now_ms()).await?;
                p2.nick = p.nick;
                if *prefs != PreferenceChange::default() {
                    self.forget_participants(name).await;
                    let (now, changed) = self.set_preferences(name, jid, prefs).await?;
                    p2.prefs = now;
                    events.extend(changed);
                }
                p2
            }
            None => {
                let id = self.participant_id(name, jid.as_str()).await?;
                let mut p = self.store.upsert_participant(name, jid.as_str(), &id, &granted, now_ms()).await?;
                if new_prefs != p.prefs {
                    self.store.set_preferences(name, jid.as_str(), &new_prefs).await?;
                    p.prefs = new_prefs;
                }
                if let Some((nick, key)) = normalised {
                    if let Err(e) = self.store.set_nick(name, jid.as_str(), &nick, &key).await {
                        self.store.remove_participant(name, jid.as_str()).await?;
                        self.forget_participants(name).await;
                        return Err(e);
                    }
                    p.nick = Some(nick);
                }
                events.push(Event::Joined { channel, participant: p.clone() });
                p
            }
        };
        self.forget_participants(name).await;
        Ok((Joined { participant, nodes: granted }, events))
    }

    /// Removes `jid` from the channel. Leaving a channel one is not in succeeds
    /// and changes nothing.
    #[tracing::instrument(skip(self), level = "info")]
    pub async fn leave(&self, name: &str, jid: &BareJid) -> Result<Vec<Event>> {
        let channel = self.require(name).await?;
        let Some(participant) = self.store.get_participant(name, jid.as_str()).await? else {
            return Ok(vec![]);
        };
        // XEP-0403 4.4: its clients go offline first.
        let mut events = self.clients_gone(&channel, &participant).await?;
        self.store.remove_participant(name, jid.as_str()).await?;
        self.forget_participants(name).await;
        events.push(Event::Left { channel, participant });
        Ok(events)
    }

    /// Sets the nick of a participant; returns the nick in use.
    #[tracing::instrument(skip(self), level = "info")]
    pub async fn set_nick(&self, name: &str, jid: &BareJid, raw: &str) -> Result<(String, Vec<Event>)> {
        let channel = self.require(name).await?;
        let mut participant = self.require_participant(name, jid).await?;
        let (nick, key) = nick::normalise(raw)?;
        if participant.nick.as_deref() == Some(nick.as_str()) {
            return Ok((nick, vec![]));
        }
        self.check_reserved(name, jid.as_str(), &key).await?;
        self.store.set_nick(name, jid.as_str(), &nick, &key).await?;
        self.forget_participants(name).await;
        let old = participant.nick.replace(nick.clone());
        Ok((nick, vec![Event::NickChanged { channel, participant, old }]))
    }

    /// Adds and removes node subscriptions; returns the nodes now subscribed
    /// among those asked for, and those unsubscribed.
    pub async fn update_subscription(&self, name: &str, jid: &BareJid, subscribe: &[String], unsubscribe: &[String]) -> Result<(Vec<String>, Vec<String>)> {
        let participant = self.require_participant(name, jid).await?;
        let added: Vec<String> = subscribe.iter().filter(|n| NODES.contains(&n.as_str())).cloned().collect();
        if !subscribe.is_empty() && added.is_empty() {
            return Err(Error::item_not_found().with_text(format!("no such node: {}", crate::error::quote(&subscribe[0]))));
        }
        let mut nodes: Vec<String> = participant.nodes.into_iter().filter(|n| !unsubscribe.contains(n)).collect();
        for n in &added {
            if !nodes.contains(n) {
                nodes.push(n.clone());
            }
        }
        self.store.set_nodes(name, jid.as_str(), &nodes).await?;
        self.forget_participants(name).await;
        let removed = unsubscribe.iter().filter(|n| NODES.contains(&n.as_str())).cloned().collect();
        Ok((added, removed))
    }

    /// The participant, or `forbidden` for a user who is not one.
    pub async fn require_participant(&self, name: &str, jid: &BareJid) -> Result<ParticipantRow> {
        find_participant(&self.participants(name).await?, jid)
    }

    /// Every participant of a channel (cached; invalidated on every change).
    pub async fn participants(&self, name: &str) -> Result<Arc<Vec<ParticipantRow>>> {
        super::cache::cached_list(&self.cache.entry(name).await.participants, self.store.list_participants(name)).await
    }

    pub(crate) async fn forget_participants(&self, name: &str) {
        self.cache.clear(name, |e| e.participants.clear()).await;
    }

    pub(crate) async fn check_not_banned(&self, name: &str, jid: &BareJid) -> Result<()> {
        // A service-wide ban holds in every channel (`service_admin`).
        if self.service_banned(jid).await? {
            return Err(Error::forbidden("you are banned from this service"));
        }
        // A ban names a bare JID or a whole domain (XEP-0045 §9.1, MIX banned node).
        for banned in [jid.as_str(), jid.domain().as_str()] {
            if self.store.get_affiliation(name, banned).await?.as_deref() == Some("outcast") {
                return Err(Error::forbidden("you are banned from this channel"));
            }
        }
        Ok(())
    }
}

/// The participant `jid` among a channel's participants.
pub(crate) fn find_participant(participants: &[ParticipantRow], jid: &BareJid) -> Result<ParticipantRow> {
    participants
        .iter()
        .find(|p| p.jid == jid.as_str())
        .cloned()
        .ok_or_else(|| Error::forbidden("you are not a participant of this channel"))
}
