//! The channel service: domain operations on channels, independent of the
//! protocol that asked for them. Knows the store and the rights model; knows
//! nothing of MIX or MUC wire formats.

pub mod access;
pub mod admin;
pub mod avatar;
mod cache;
pub mod config;
pub mod event;
pub mod history;
pub mod ids;
pub mod invite;
pub mod limits;
pub mod membership;
pub mod names;
pub mod nick;
pub mod occupancy;
pub mod payload;
pub mod post;
pub mod presence;
pub mod private;
pub mod registration;
pub mod relay;
pub mod retract;
pub mod rights;
pub mod roles;
pub mod service_admin;
pub mod vanished;
pub mod visibility;

use std::sync::Arc;
use std::time::Duration;

use xmpp_parsers::jid::BareJid;

use crate::error::{Error, Result};
use crate::store::{now_ms, ChannelRow, JidVisibility, Store};
use event::Event;
use rights::Rights;

/// Channel operations with a read cache in front of the store.
#[derive(Clone)]
pub struct Channels {
    store: Store,
    rights: Arc<Rights>,
    cache: Arc<cache::ChannelCache>,
    salt: Arc<tokio::sync::OnceCell<String>>,
    mix_domain: BareJid,
    muc_domain: BareJid,
    /// New channels show real JIDs (`[service] jid_visibility`).
    new_jid_visibility: JidVisibility,
    /// Mediated invitations sent, so that only a real inviter is sent a
    /// decline (`invite::Pending`).
    invites: invite::Pending,
    /// Per-sender rate limits (`[limits]`).
    limits: Arc<limits::Limits>,
    /// How long a sender may retract its own message (ms; 0: no limit).
    retraction_window_ms: i64,
}

impl Channels {
    pub fn new(store: Store, rights: Arc<Rights>, mix_domain: BareJid, muc_domain: BareJid, new_jid_visibility: JidVisibility, limits: &crate::config::LimitsConfig) -> Self {
        Channels {
            cache: Arc::new(cache::ChannelCache::watching(100_000, Duration::from_secs(600), store.health())),
            store,
            rights,
            salt: Arc::new(tokio::sync::OnceCell::new()),
            mix_domain,
            muc_domain,
            new_jid_visibility,
            invites: invite::Pending::new(),
            limits: Arc::new(limits::Limits::new(limits)),
            retraction_window_ms: limits.user_retraction_secs.max(0).saturating_mul(1000),
        }
    }

    /// The participant id `jid` has (or will have) in channel `name`.
    pub async fn participant_id(&self, name: &str, jid: &str) -> Result<String> {
        self.salted_hash(name, jid).await
    }

    /// A keyed hash of `input` within channel `name` (the installation's
    /// salt is the key): participant ids, and the MACs of session tokens
    /// and invitations. Not guessable without the salt.
    pub async fn salted_hash(&self, name: &str, input: &str) -> Result<String> {
        let salt = self
            .salt
            .get_or_try_init(|| async { self.store.setting("participant_id_salt").await?.ok_or_else(|| Error::internal("participant id salt missing from the store")) })
            .await?;
        Ok(ids::salted_hash(salt, name, input))
    }

    /// `name@mix-domain`.
    pub fn mix_jid(&self, name: &str) -> BareJid {
        BareJid::new(&format!("{name}@{}", self.mix_domain)).expect("channel names are valid localparts")
    }

    /// `name@muc-domain`.
    pub fn muc_jid(&self, name: &str) -> BareJid {
        BareJid::new(&format!("{name}@{}", self.muc_domain)).expect("channel names are valid localparts")
    }

    pub fn rights(&self) -> &Rights {
        &self.rights
    }

    /// Creates a channel (`name` None: ad-hoc, with a generated name) owned by
    /// `creator`. Returns the channel's name.
    #[tracing::instrument(skip(self), fields(creator = %creator), level = "info")]
    pub async fn create(&self, name: Option<&str>, creator: &BareJid) -> Result<String> {
        if !self.rights.may_create(creator) {
            return Err(Error::forbidden("you may not create channels on this service"));
        }
        if self.service_banned(creator).await? {
            return Err(Error::forbidden("you are banned from this service"));
        }
        self.check_creation_quota(creator).await?;
        let (name, adhoc) = match name {
            Some(n) => (names::normalise(n)?, false),
            None => (names::adhoc(), true),
        };
        if !self.store.create_channel(&name, creator.as_str(), adhoc, self.new_jid_visibility, now_ms()).await? {
            return Err(Error::conflict("a channel of that name exists"));
        }
        self.invalidate(&name).await;
        tracing::info!(channel = %name, adhoc, jid_visibility = self.new_jid_visibility.as_str(), "channel created");
        Ok(name)
    }

    /// The channel, if it exists.
    pub async fn get(&self, name: &str) -> Result<Option<Arc<ChannelRow>>> {
        let entry = self.cache.entry(name).await;
        if let Some(hit) = entry.row.get() {
            return Ok(hit);
        }
        let row = self.store.get_channel(name).await?.map(Arc::new);
        entry.row.set(row.clone());
        Ok(row)
    }

    /// The channel, or `item-not-found`.
    pub async fn require(&self, name: &str) -> Result<Arc<ChannelRow>> {
        self.get(name).await?.ok_or_else(Error::item_not_found)
    }

    /// Every channel.
    pub async fn list(&self) -> Result<Vec<ChannelRow>> {
        self.store.list_channels().await
    }

    /// Destroys a channel: owners and service admins only. The archive goes
    /// with it unless `keep_archive`.
    pub async fn destroy(&self, name: &str, by: &BareJid, keep_archive: bool) -> Result<Event> {
        self.destroy_with(name, by, keep_archive, None, None).await
    }

    /// Destroys a channel naming an alternate venue and a reason (MUC owner
    /// destroy, XEP-0045 §10.9); otherwise as `destroy`.
    #[tracing::instrument(skip(self), fields(by = %by), level = "info")]
    pub async fn destroy_with(&self, name: &str, by: &BareJid, keep_archive: bool, alternate: Option<String>, reason: Option<String>) -> Result<Event> {
        let channel = self.require(name).await?;
        let owner = self.store.get_affiliation(name, by.as_str()).await?.as_deref() == Some("owner");
        if !owner && !self.rights.is_admin(by) {
            return Err(Error::forbidden("only an owner may destroy this channel"));
        }
        let participants = self.participants(name).await?;
        let occupants = self.occupants(name).await?;
        self.store.delete_channel(name, !keep_archive).await?;
        self.invalidate(name).await;
        self.forget_participants(name).await;
        self.forget_occupants(name).await;
        self.forget_mix_clients(name).await;
        tracing::info!(channel = %name, "channel destroyed");
        Ok(Event::Destroyed { channel, participants, occupants, alternate, reason })
    }

    /// Removes the channels whose end of life (MIX 'End of Life') has come,
    /// with their archives; returns the events to render.
    pub async fn expire(&self, now: i64) -> Result<Vec<Event>> {
        let mut events = Vec::new();
        for name in self.store.expired_channels(now).await? {
            let Some(channel) = self.get(&name).await? else { continue };
            let participants = self.participants(&name).await?;
            let occupants = self.occupants(&name).await?;
            self.store.delete_channel(&name, true).await?;
            self.invalidate(&name).await;
            self.forget_participants(&name).await;
            self.forget_occupants(&name).await;
            self.forget_mix_clients(&name).await;
            tracing::info!(channel = %name, "channel removed: its end of life came");
            events.push(Event::Destroyed { channel, participants, occupants, alternate: None, reason: Some("The channel reached its end of life".to_string()) });
        }
        Ok(events)
    }

    /// Sets the subject of a channel.
    pub async fn set_subject(&self, name: &str, by: &BareJid, subject: &str) -> Result<()> {
        self.store.set_subject(name, subject, by.as_str()).await?;
        self.invalidate(name).await;
        Ok(())
    }

    /// Forgets the cached row of a channel after a write elsewhere.
    pub async fn invalidate(&self, name: &str) {
        self.cache.clear(name, |e| e.row.clear()).await;
    }
}
