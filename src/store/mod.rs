//! The store: all SQL lives here, grouped by aggregate (channels,
//! participants, archive). SQLite by default, PostgreSQL when the URL says
//! `postgres://`; one code path through sqlx's `Any` driver, runtime queries
//! only, and versioned migrations per backend applied at start.

mod affiliations;
mod archive;
mod channels;
mod occupants;
mod participants;
mod presence;
mod registered_nicks;
mod service_admin;
mod preferences;
mod migrate;
mod appender;
mod direct;
mod sqlite_conn;
mod checkpoint;
mod health;
mod stats;
mod serving;
mod active;
mod admin;
mod backup;
mod import;

pub use affiliations::AdminChanges;
pub use archive::{ArchiveQuery, ArchiveRow, NewMessage, NewRetraction, Tombstone, EMPTY_PAYLOAD};
pub use channels::ChannelRow;
pub use occupants::OccupantRow;
pub use participants::ParticipantRow;
pub use presence::{IdleSessionRow, MixClientRow};
pub use preferences::{JidPreference, JidVisibility, Preferences};
pub use migrate::{known_version, MigrateReport, StoreError};
pub use registered_nicks::SERVICE as SERVICE_SCOPE;
pub use service_admin::{ChannelFigures, ServiceBan, ServiceFigures};
pub use health::{Health, PROBE_INTERVAL};
pub use stats::Totals;
pub use serving::{advisory_key, lock_file, ServingLock};
pub use active::{ActiveLock, Superseded, POLL as ACTIVE_POLL};
pub use admin::{ChannelDetail, ChannelSummary};
pub use backup::{backup_sqlite, BackupReport};
pub use import::{RoomImport, IMPORT_BATCH};

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyConnection;
use sqlx::{AnyPool, Executor};

use crate::config::{redact_url, StoreConfig};

/// How long a SQLite write waits for another connection's write lock: the
/// pool's `busy_timeout`, and the direct appender's waits on the runtime.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A runtime query on sqlx's `Any` driver.
type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// The pool as requests use it: `Unavailable` at once during an outage
    /// (`health.rs`).
    gate: health::Gate,
    backend: Backend,
    /// The archive's appends.
    appends: Appends,
}

/// Where the archive's appends go: SQLite's own interface on the awaiting
/// thread for a database file (`direct.rs`), else a connection of sqlx's
/// kept out of the pool (`appender.rs`).
#[derive(Clone)]
enum Appends {
    Direct(std::sync::Arc<direct::Direct>),
    Sqlx(appender::Appender),
}

impl Store {
    /// Connects and applies pending migrations.
    pub async fn open(cfg: &StoreConfig) -> Result<Store, StoreError> {
        let store = Self::connect(cfg).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect(cfg: &StoreConfig) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url, file) = prepare_url(&cfg.url)?;
        let shown = redact_url(&cfg.url);
        if let (Backend::Postgres, Some(schema)) = (backend, &cfg.schema) {
            // The schema must exist before connections put it on their search path.
            let mut c = <AnyConnection as sqlx::Connection>::connect(&url)
                .await
                .map_err(|e| StoreError::Connect(shown.clone(), e.to_string()))?;
            c.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}")))
                .await
                .map_err(|e| StoreError::Connect(shown.clone(), e.to_string()))?;
        }
        let schema = cfg.schema.clone();
        let mut sqlite_pragmas = format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {}; PRAGMA cache_size = -{};",
            SQLITE_BUSY_TIMEOUT.as_millis(),
            cfg.sqlite_cache_kib
        );
        if file.is_some() {
            // The direct appender's checkpoints start at this size
            // (checkpoint.rs); the pool's commits checkpoint from the same.
            sqlite_pragmas.push_str(&format!(" PRAGMA wal_autocheckpoint = {};", checkpoint::START_FRAMES));
        }
        // One of the connections is the appender's (taken from the pool
        // and kept); the pool opens at most the others.
        let pooled = cfg.pool_size().saturating_sub(1).max(1);
        let pool = AnyPoolOptions::new()
            .max_connections(pooled)
            // Also how long the service stalls when the store goes away
            // (requests are handled in order), until it is taken for down
            // (`health.rs`).
            .acquire_timeout(Duration::from_millis(cfg.acquire_timeout_ms))
            // A SQLite connection is a file, not a socket: it cannot hang
            // up, and the test is a round trip to its thread on every
            // acquire. A PostgreSQL connection is tested (server restarts).
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _meta| {
                let schema = schema.clone();
                let pragmas = sqlite_pragmas.clone();
                Box::pin(async move {
                    match backend {
                        Backend::Sqlite => {
                            conn.execute(sqlx::AssertSqlSafe(pragmas)).await?;
                        }
                        Backend::Postgres => {
                            if let Some(s) = schema {
                                conn.execute(sqlx::AssertSqlSafe(format!("SET search_path TO {s}"))).await?;
                            }
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| StoreError::Connect(shown, e.to_string()))?;
        let gate = health::Gate::new(pool.clone());
        let appends = match file {
            Some(path) => Appends::Direct(std::sync::Arc::new(direct::Direct::new(&path, cfg.sqlite_cache_kib).map_err(|e| StoreError::Connect(redact_url(&cfg.url), e))?)),
            None => Appends::Sqlx(appender::Appender::new(gate.clone())),
        };
        Ok(Store { appends, pool, gate, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database is reachable; its `epoch` moves when an outage
    /// starts or ends (the channel service's cache starts afresh then).
    pub fn health(&self) -> std::sync::Arc<Health> {
        self.gate.health().clone()
    }

    /// A pooled connection for one request's statements; during an outage
    /// `Unavailable` at once (`health.rs`).
    async fn conn(&self) -> crate::error::Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        self.gate.acquire().await
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match &self.appends {
            Appends::Direct(d) => d.close(),
            Appends::Sqlx(a) => a.close().await,
        }
        self.pool.close().await;
    }
}

/// Picks the backend and, for SQLite, creates the file's folder and asks for
/// the file to be created when missing; with the file the direct appender
/// opens (`direct_file`).
fn prepare_url(url: &str) -> Result<(Backend, String, Option<String>), StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string(), None));
    }
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::Url(redact_url(url)))?;
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path != ":memory:" && !path.is_empty() {
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Connect(url.to_string(), format!("creating {}: {e}", dir.display())))?;
            }
        }
    }
    let query = match query {
        Some(q) if q.contains("mode=") => q.to_string(),
        Some(q) => format!("{q}&mode=rwc"),
        None => "mode=rwc".to_string(),
    };
    Ok((Backend::Sqlite, format!("sqlite://{path}?{query}"), direct_file(path, &query)))
}

/// Where a store URL's database is, decided from the URL alone (nothing
/// is created or opened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite database file (the path as the URL names it: relative to
    /// the working directory unless it starts with `/`).
    File(String),
    /// An in-memory SQLite database.
    Memory,
    Postgres,
}

/// Where `url`'s database is.
pub fn location(url: &str) -> Result<Location, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Location::Postgres);
    }
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::Url(redact_url(url)))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let memory = path.is_empty() || path == ":memory:" || query.split('&').any(|kv| kv == "mode=memory");
    Ok(if memory { Location::Memory } else { Location::File(path.to_string()) })
}

/// The file the direct appender opens for a SQLite URL's path and query;
/// `None` for in-memory databases (private to each connection) and for a
/// path with percent-escapes (sqlx decodes them; those keep sqlx's
/// appender rather than open another file).
fn direct_file(path: &str, query: &str) -> Option<String> {
    let memory = path.is_empty() || path == ":memory:" || query.split('&').any(|kv| kv == "mode=memory");
    (!memory && !path.contains('%')).then(|| path.to_string())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn direct_appends_only_for_plain_sqlite_files() {
        // Paths and queries as `prepare_url` splits them (it also creates folders).
        let file = super::direct_file;
        assert_eq!(file("data/mixmuc.db", "mode=rwc").as_deref(), Some("data/mixmuc.db"));
        assert_eq!(file("/var/lib/mixmuc/mixmuc.db", "cache=private&mode=rwc").as_deref(), Some("/var/lib/mixmuc/mixmuc.db"));
        assert_eq!(file(":memory:", "mode=rwc"), None);
        assert_eq!(file("x.db", "mode=memory&cache=shared"), None);
        assert_eq!(file("with%20space.db", "mode=rwc"), None);
    }

    #[test]
    fn locations_from_urls() {
        use super::{location, Location};
        assert_eq!(location("sqlite://data/mixmuc.db").unwrap(), Location::File("data/mixmuc.db".into()));
        assert_eq!(location("sqlite:///var/lib/m.db?cache=private").unwrap(), Location::File("/var/lib/m.db".into()));
        assert_eq!(location("sqlite::memory:").unwrap(), Location::Memory);
        assert_eq!(location("sqlite://x.db?mode=memory").unwrap(), Location::Memory);
        assert_eq!(location("postgres://u:p@h/db").unwrap(), Location::Postgres);
        assert!(location("mysql://h/db").is_err());
    }
}
