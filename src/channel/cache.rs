//! The channel service's read cache: one moka entry per channel, holding
//! the channel's row and, each loaded from the store when first asked for,
//! its participants, its MUC occupants and its online MIX clients. A write
//! through the service clears the part it changes; the store stays the
//! source of truth.
//!
//! A room message reads the row, the participants and the occupants of one
//! channel, one after the other. The entry looked up last is kept beside
//! the cache, so those three reads cost one moka lookup (a hash, a probe
//! through the table's buckets, a read recorded for its eviction policy)
//! instead of three.
//!
//! When a store outage starts or ends (`store::Health::epoch` moves), every
//! entry is dropped: a sequence of writes cut off by the outage may have
//! left rows the cache does not know of, and nothing else would clear them.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use moka::future::Cache;

use crate::error::Result;
use crate::store::{ChannelRow, Health, MixClientRow, OccupantRow, ParticipantRow};

/// One part of a channel's entry: absent until loaded, cleared by a write.
pub(super) struct Slot<T>(Mutex<Option<T>>);

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot(Mutex::new(None))
    }
}

impl<T: Clone> Slot<T> {
    fn lock(&self) -> MutexGuard<'_, Option<T>> {
        // A panic while the lock is held cannot leave a half-written value.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self) -> Option<T> {
        self.lock().clone()
    }

    pub fn set(&self, value: T) {
        *self.lock() = Some(value);
    }

    pub fn clear(&self) {
        *self.lock() = None;
    }
}

/// What is cached of one channel.
#[derive(Default)]
pub(super) struct Entry {
    /// `Some(None)`: the channel does not exist (asked for and not found).
    pub row: Slot<Option<Arc<ChannelRow>>>,
    pub participants: Slot<Arc<Vec<ParticipantRow>>>,
    pub occupants: Slot<Arc<Vec<OccupantRow>>>,
    pub mix_clients: Slot<Arc<Vec<MixClientRow>>>,
}

/// The entries, at most `capacity`, each kept at most `ttl`.
pub(super) struct ChannelCache {
    entries: Cache<String, Arc<Entry>>,
    /// The entry looked up last, under its channel's name. While it is
    /// here, every lookup and every clearing of that name goes to it (even
    /// if moka has dropped it meanwhile), so no one reads another entry of
    /// that name.
    last: Mutex<Option<(String, Arc<Entry>)>>,
    /// The store's outages, and the epoch the entries were read in.
    health: Option<Arc<Health>>,
    epoch: std::sync::atomic::AtomicU64,
}

impl ChannelCache {
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        ChannelCache { entries: Cache::builder().max_capacity(capacity).time_to_live(ttl).build(), last: Mutex::new(None), health: None, epoch: Default::default() }
    }

    /// The same, dropping every entry when a store outage starts or ends.
    pub fn watching(capacity: u64, ttl: Duration, health: Arc<Health>) -> Self {
        let epoch = health.epoch().into();
        ChannelCache { health: Some(health), epoch, ..Self::new(capacity, ttl) }
    }

    /// Drops every entry if an outage started or ended since the last look.
    fn follow_outages(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let Some(health) = &self.health else { return };
        let now = health.epoch();
        if self.epoch.swap(now, Relaxed) != now {
            *self.last() = None;
            self.entries.invalidate_all();
            tracing::debug!("store outage: the channel cache starts afresh");
        }
    }

    fn last(&self) -> MutexGuard<'_, Option<(String, Arc<Entry>)>> {
        self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The entry of channel `name`, made empty if there is none.
    pub async fn entry(&self, name: &str) -> Arc<Entry> {
        self.follow_outages();
        if let Some(e) = self.last_for(name) {
            return e;
        }
        let e = match self.entries.get(name).await {
            Some(e) => e,
            None => self.entries.get_with_by_ref(name, async { Arc::new(Entry::default()) }).await,
        };
        let mut last = self.last();
        match &mut *last {
            Some((n, held)) => {
                n.clear();
                n.push_str(name);
                *held = e.clone();
            }
            None => *last = Some((name.to_string(), e.clone())),
        }
        e
    }

    /// The entry of channel `name` if there is one (it makes none).
    async fn cached(&self, name: &str) -> Option<Arc<Entry>> {
        self.follow_outages();
        if let Some(e) = self.last_for(name) {
            return Some(e);
        }
        self.entries.get(name).await
    }

    /// Clears a part of channel `name`'s entry, if there is one, after a
    /// write that changed it: `clear(name, |e| e.occupants.clear())`.
    pub async fn clear(&self, name: &str, part: impl FnOnce(&Entry)) {
        if let Some(entry) = self.cached(name).await {
            part(&entry);
        }
    }

    fn last_for(&self, name: &str) -> Option<Arc<Entry>> {
        match &*self.last() {
            Some((n, e)) if n == name => Some(e.clone()),
            _ => None,
        }
    }
}

/// The list in `slot`, loading it from the store if it is not there.
pub(super) async fn cached_list<T>(slot: &Slot<Arc<Vec<T>>>, load: impl std::future::Future<Output = Result<Vec<T>>>) -> Result<Arc<Vec<T>>> {
    if let Some(hit) = slot.get() {
        return Ok(hit);
    }
    // Rows are collected as they stream in, so the Vec may hold up to twice
    // what it needs; the cache keeps it for as long as the channel is busy.
    let mut rows = load.await?;
    rows.shrink_to_fit();
    let list = Arc::new(rows);
    slot.set(list.clone());
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> ChannelCache {
        ChannelCache::new(100, Duration::from_secs(60))
    }

    #[tokio::test]
    async fn one_entry_per_channel_whichever_was_looked_up_last() {
        let c = cache();
        let a = c.entry("a").await;
        let b = c.entry("b").await;
        assert!(Arc::ptr_eq(&a, &c.entry("a").await), "moka's entry, not a new one");
        assert!(Arc::ptr_eq(&b, &c.entry("b").await));
        assert!(Arc::ptr_eq(&a, &c.cached("a").await.expect("cached")));
        assert!(c.cached("nothing").await.is_none());
        assert!(c.cached("nothing").await.is_none(), "asking for one to clear does not make one");
    }

    #[tokio::test]
    async fn a_cleared_part_is_loaded_again_and_others_stay() {
        let c = cache();
        let e = c.entry("a").await;
        let loads = std::sync::atomic::AtomicUsize::new(0);
        let load = || async {
            loads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(vec![1, 2, 3])
        };
        let slot: Slot<Arc<Vec<i32>>> = Slot::default();
        assert_eq!(*cached_list(&slot, load()).await.unwrap(), vec![1, 2, 3]);
        assert_eq!(*cached_list(&slot, load()).await.unwrap(), vec![1, 2, 3]);
        assert_eq!(loads.load(std::sync::atomic::Ordering::Relaxed), 1, "the second read is a hit");
        slot.clear();
        cached_list(&slot, load()).await.unwrap();
        assert_eq!(loads.load(std::sync::atomic::Ordering::Relaxed), 2, "cleared, loaded again");

        e.row.set(None);
        e.participants.set(Arc::new(vec![]));
        c.entry("b").await;
        c.clear("a", |e| e.participants.clear()).await;
        let again = c.cached("a").await.expect("still cached");
        assert!(again.participants.get().is_none(), "cleared through the cache");
        assert_eq!(again.row.get(), Some(None), "clearing one part leaves the others");
    }
}
