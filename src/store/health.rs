//! Store outages: whether the database is reachable, and what a request
//! that needs it does when it is not.
//!
//! Requests are handled one after the other (the dispatcher), so a request
//! waiting for a connection holds up every stanza behind it. sqlx's pool
//! retries a refused connection until `[store] acquire_timeout_ms`; the
//! first request that fails to get one in that time (or whose connection
//! is ended by the server, e.g. a PostgreSQL shutdown) takes the store for
//! down. From then on every request that needs the store gets
//! `Error::Unavailable` at once (`internal-server-error`, type `wait`)
//! instead of each waiting out the timeout in turn, which would leave
//! whoever is queued behind unanswered for minutes. A task of its own tries
//! to connect (at once, then every `PROBE_INTERVAL`); the first success
//! takes the store for up again. No restart is needed.
//!
//! The outage is logged twice: a warning when it starts (with the error)
//! and an info line when it ends (how long, how many requests were
//! refused meanwhile). Each start and end moves the `epoch`, which the
//! channel service's cache watches (`channel/cache.rs`): a write sequence
//! cut off by the outage may have left rows the cache does not know of, so
//! everything cached is read again afterwards.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};

use crate::error::{Error, Result};

/// How often the store is tried while it is down (after each try, which
/// itself may wait up to the acquire timeout).
pub const PROBE_INTERVAL: Duration = Duration::from_millis(500);

/// The pool and what is known of the database's reachability.
#[derive(Clone)]
pub(super) struct Gate {
    pool: AnyPool,
    health: Arc<Health>,
}

/// Shared by every clone of a `Store`.
#[derive(Default)]
pub struct Health {
    down: AtomicBool,
    since: Mutex<Option<Instant>>,
    /// Moves at every start and end of an outage.
    epoch: AtomicU64,
    /// Requests answered `Unavailable` at once during the current outage.
    refused: AtomicU64,
}

impl Health {
    /// A number that changes when an outage starts or ends.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Whether the store is taken for down.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    fn since(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.since.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Gate {
    pub fn new(pool: AnyPool) -> Self {
        Gate { pool, health: Arc::new(Health::default()) }
    }

    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// A pooled connection; `Unavailable` at once while the store is down,
    /// or when none could be had within the acquire timeout (the store is
    /// then taken for down).
    pub async fn acquire(&self) -> Result<PoolConnection<Any>> {
        if self.health.is_down() {
            self.health.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Error::Unavailable);
        }
        self.pool.acquire().await.map_err(|e| self.failed(e))
    }

    /// The error a failed statement or acquire is answered with: when it
    /// says the database is out of reach, the store is taken for down and
    /// the request gets `Unavailable`; otherwise the error as it is.
    pub fn failed(&self, e: sqlx::Error) -> Error {
        if !is_outage(&e) {
            return e.into();
        }
        crate::error::STORE_ERRORS.fetch_add(1, Ordering::Relaxed);
        if self.health.down.swap(true, Ordering::AcqRel) {
            return Error::Unavailable;
        }
        *self.health.since() = Some(Instant::now());
        self.health.refused.store(0, Ordering::Relaxed);
        self.health.epoch.fetch_add(1, Ordering::AcqRel);
        tracing::warn!(error = %e, "store unavailable: requests that need it are answered internal-server-error (wait) until it is back; reconnecting");
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(probe(self.pool.clone(), self.health.clone()));
            }
            // No runtime (cannot happen inside a request): nothing would
            // ever take the store for up again, so do not take it for down.
            Err(_) => self.up(),
        }
        Error::Unavailable
    }

    fn up(&self) {
        up(&self.health)
    }
}

/// Takes the store for up again, and says so.
fn up(health: &Health) {
    if !health.down.load(Ordering::Acquire) {
        return;
    }
    let since = health.since().take();
    health.epoch.fetch_add(1, Ordering::AcqRel);
    health.down.store(false, Ordering::Release);
    let down_ms = since.map(|s| s.elapsed().as_millis() as u64).unwrap_or(0);
    tracing::info!(down_ms, refused = health.refused.load(Ordering::Relaxed), "store available again");
}

/// Tries to connect until it succeeds (or the pool is closed).
async fn probe(pool: AnyPool, health: Arc<Health>) {
    loop {
        if pool.is_closed() {
            return;
        }
        match pool.acquire().await {
            Ok(conn) => {
                drop(conn);
                up(&health);
                return;
            }
            Err(e) => tracing::debug!(error = %e, "store still unavailable"),
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
}

/// Whether an error says the database is out of reach (rather than that a
/// statement was refused): no connection within the acquire timeout, a
/// broken socket, or the server ending or refusing sessions (PostgreSQL
/// SQLSTATE class 08, connection exception; 57P01–57P03, shutdown and
/// start-up; 53300, too many connections).
pub(super) fn is_outage(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300"),
            None => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_errors_are_outages() {
        assert!(is_outage(&sqlx::Error::PoolTimedOut));
        assert!(is_outage(&sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))));
        assert!(!is_outage(&sqlx::Error::RowNotFound));
        assert!(!is_outage(&sqlx::Error::PoolClosed));
    }
}
