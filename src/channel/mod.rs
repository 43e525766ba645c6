//! The channel service: domain operations on channels, independent of the
//! protocol that asked for them. Knows the store and the rights model; knows
//! nothing of MIX or MUC wire formats.

pub mod names;
pub mod rights;

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use xmpp_parsers::jid::BareJid;

use crate::error::{Error, Result};
use crate::store::{now_ms, ChannelRow, Store};
use rights::Rights;

/// Channel operations with a read cache in front of the store.
#[derive(Clone)]
pub struct Channels {
    store: Store,
    rights: Arc<Rights>,
    cache: Cache<String, Option<Arc<ChannelRow>>>,
}

impl Channels {
    pub fn new(store: Store, rights: Arc<Rights>) -> Self {
        Channels {
            store,
            rights,
            cache: Cache::builder().max_capacity(100_000).time_to_live(Duration::from_secs(600)).build(),
        }
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
        let (name, adhoc) = match name {
            Some(n) => (names::normalise(n)?, false),
            None => (names::adhoc(), true),
        };
        if !self.store.create_channel(&name, creator.as_str(), adhoc, now_ms()).await? {
            return Err(Error::conflict("a channel of that name exists"));
        }
        self.cache.invalidate(&name).await;
        tracing::info!(channel = %name, adhoc, "channel created");
        Ok(name)
    }

    /// The channel, if it exists.
    pub async fn get(&self, name: &str) -> Result<Option<Arc<ChannelRow>>> {
        if let Some(hit) = self.cache.get(name).await {
            return Ok(hit);
        }
        let row = self.store.get_channel(name).await?.map(Arc::new);
        self.cache.insert(name.to_string(), row.clone()).await;
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

    /// Forgets what the cache holds for a channel after a write elsewhere.
    pub async fn invalidate(&self, name: &str) {
        self.cache.invalidate(name).await;
    }
}
