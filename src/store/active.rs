//! Which process serves the domains when several run on one PostgreSQL
//! store (a standby behind Prosody, docs/deploy/scale-out.md): the one
//! holding this exclusive advisory lock (the serving lock's class + 1, the
//! schema's key), on a connection of its own. The others wait for it
//! before they connect their links, so the two domains always go to one
//! process together; when the active process dies, its session ends, the
//! lock is free, and a waiting process takes it within `POLL`.
//!
//! SQLite needs none of this: a second service on one file is refused by
//! the serving lock (`serving.rs`).

use std::time::Duration;

use sqlx::{AnyConnection, Connection};

use super::serving::{pg_connect, schema_key, ADVISORY_CLASS};
use super::{Location, StoreError};
use crate::config::{redact_url, StoreConfig};

/// How often a waiting process tries the lock, and the active one checks
/// that its lock's session is still there.
pub const POLL: Duration = Duration::from_millis(500);

/// The lock's first key: the serving lock's class, plus one.
const ACTIVE_CLASS: i32 = ADVISORY_CLASS + 1;

/// The active process's lock (PostgreSQL).
pub struct ActiveLock {
    conn: AnyConnection,
    url: String,
    key: i32,
}

/// Why the active process must stop serving.
#[derive(Debug, thiserror::Error)]
#[error("another process became the active one for this store (its session took the lock while ours was gone)")]
pub struct Superseded;

impl ActiveLock {
    /// Tries once: `Ok(None)` on SQLite (no lock needed) is `Ok(Some)`'s
    /// equal for the caller; `Err(false)`: another process holds it.
    async fn try_take(url: &str, key: i32) -> Result<Option<ActiveLock>, StoreError> {
        let mut conn = pg_connect(url).await?;
        let got = sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1, $2)")
            .bind(ACTIVE_CLASS)
            .bind(key)
            .fetch_one(&mut conn)
            .await
            .map_err(|e| StoreError::Connect(redact_url(url), e.to_string()))?;
        if got {
            Ok(Some(ActiveLock { conn, url: url.to_string(), key }))
        } else {
            let _ = conn.close().await;
            Ok(None)
        }
    }

    /// Waits until this process is the active one. `None`: not a
    /// PostgreSQL store (nothing to wait for). `on_wait` is called once,
    /// when the lock is found held by another process.
    pub async fn wait(cfg: &StoreConfig, on_wait: impl FnOnce()) -> Result<Option<ActiveLock>, StoreError> {
        if !matches!(super::location(&cfg.url)?, Location::Postgres) {
            return Ok(None);
        }
        let key = schema_key(cfg.schema.as_deref());
        let mut on_wait = Some(on_wait);
        loop {
            match Self::try_take(&cfg.url, key).await {
                Ok(Some(lock)) => return Ok(Some(lock)),
                Ok(None) => {
                    if let Some(f) = on_wait.take() {
                        f();
                    }
                }
                // The database away: the store's own outage handling says
                // so; wait here as for a held lock.
                Err(e) => tracing::debug!(error = %e, "active lock: store unreachable; trying again"),
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Keeps the lock for the service's life: every `POLL` its session is
    /// tried; when it is gone (a database restart), the lock is taken again
    /// on a new session as soon as the database answers. Returns only when
    /// another process took it meanwhile: this one must stop serving.
    pub async fn keep(mut self) -> Superseded {
        loop {
            tokio::time::sleep(POLL).await;
            if self.conn.ping().await.is_ok() {
                continue;
            }
            match Self::try_take(&self.url, self.key).await {
                Ok(Some(fresh)) => {
                    tracing::info!("active lock taken again on a new session");
                    self = fresh;
                }
                Ok(None) => return Superseded,
                Err(e) => tracing::debug!(error = %e, "active lock's session still down"),
            }
        }
    }
}
