//! Whether a `mixmuc serve` is using this store: a lock the serving
//! process holds for its whole life, and that a command of the host
//! (`mixmuc admin …`) tests without a race.
//!
//! - SQLite (a file): an exclusive `flock` on `<database>.lock`, a file
//!   beside the database that is created when missing and never removed
//!   (removing it would let two processes lock two different files). The
//!   kernel drops the lock when its holder exits, however it exits, so a
//!   crashed service leaves nothing to clean up. Two services on one SQLite
//!   file are refused: each would run the archive's appends and checkpoints
//!   as if it were alone.
//! - PostgreSQL: a session-level advisory lock on a key of this store
//!   (`ADVISORY_CLASS`, and a hash of the schema's name), held on a
//!   connection of its own, outside the pool. A service takes it *shared*:
//!   several services on one database (issue 25) do not refuse each other.
//!   A command that writes takes it *exclusive*, which it gets only when no
//!   service holds it. If that connection is lost (a database restart), the
//!   service takes the lock again on a new one (`keep`).
//! - An in-memory SQLite database is private to its process: no lock.
//!
//! A command that writes holds the exclusive lock until it is done, so a
//! service that starts meanwhile waits for it (`SERVE_WAIT`), then refuses
//! to start.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::{AnyConnection, Connection};
use tokio::sync::watch;

use super::{Location, StoreError};
use crate::config::{redact_url, StoreConfig};

/// The first half of the PostgreSQL advisory lock's key: "mxmc".
pub(super) const ADVISORY_CLASS: i32 = 0x6d78_6d63;
/// How long a starting service waits for the lock (held by an admin
/// command, which is short) before it refuses to start.
const SERVE_WAIT: Duration = Duration::from_secs(5);
/// How often a service checks that its PostgreSQL lock's connection is
/// still there (one round trip), and tries again to take the lock when it
/// is not: the longest an admin command may not see a service after a
/// database restart, once the database answers.
const KEEP_INTERVAL: Duration = Duration::from_secs(2);

/// What the lock is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A service: exclusive on SQLite, shared on PostgreSQL.
    Serve,
    /// A command that writes: exclusive.
    Admin,
    /// A look (`is_held`): exclusive, released at once; creates no folder.
    Probe,
}

/// A held lock; dropped (or `release`d), it is released.
pub struct ServingLock {
    held: Held,
    /// The store as the logs may show it (the lock file, or the URL
    /// without password and the key).
    shown: String,
}

enum Held {
    File(std::fs::File),
    Pg { conn: AnyConnection, url: String, key: i32 },
    /// An in-memory database.
    Nothing,
}

/// Where the lock lives for a store URL.
enum Place {
    File { db: PathBuf, lock: PathBuf },
    Pg { url: String, key: i32 },
    Memory,
}

/// The lock file of a SQLite database file: `<database>.lock`.
pub fn lock_file(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

fn place(cfg: &StoreConfig) -> Result<Place, StoreError> {
    Ok(match super::location(&cfg.url)? {
        Location::File(db) => {
            let db = PathBuf::from(db);
            Place::File { lock: lock_file(&db), db }
        }
        Location::Memory => Place::Memory,
        Location::Postgres => Place::Pg { url: cfg.url.clone(), key: schema_key(cfg.schema.as_deref()) },
    })
}

/// The PostgreSQL advisory lock's two keys for a store in `schema` (none:
/// the default schema), as `pg_locks` shows them (`classid`, and `objid`
/// as an unsigned number).
pub fn advisory_key(schema: Option<&str>) -> (i32, i32) {
    (ADVISORY_CLASS, schema_key(schema))
}

/// The second half of the PostgreSQL key: FNV-1a of the schema's name
/// (none: the default schema), so that stores in two schemas of one
/// database do not share a lock.
pub(super) fn schema_key(schema: Option<&str>) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in schema.unwrap_or("").bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h as i32
}

impl ServingLock {
    /// The lock of a starting service. Waits up to `SERVE_WAIT` while an
    /// admin command (or, on SQLite, another service) holds it, then
    /// refuses with `StoreError::Running`. Creates the SQLite file's folder
    /// when missing, as the store does (so does `admin`).
    pub async fn serve(cfg: &StoreConfig) -> Result<ServingLock, StoreError> {
        let deadline = tokio::time::Instant::now() + SERVE_WAIT;
        loop {
            match Self::try_take(cfg, Mode::Serve).await? {
                Ok(lock) => return Ok(lock),
                Err(why) if tokio::time::Instant::now() >= deadline => return Err(StoreError::Running(why)),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// The lock of a command that changes the store: `StoreError::Running`
    /// at once when a service holds it.
    pub async fn admin(cfg: &StoreConfig) -> Result<ServingLock, StoreError> {
        Self::try_take(cfg, Mode::Admin).await?.map_err(StoreError::Running)
    }

    /// Whether a service (or a writing admin command) holds the lock now.
    /// For a look that changes nothing: the answer may be stale the moment
    /// it is given.
    pub async fn is_held(cfg: &StoreConfig) -> Result<bool, StoreError> {
        match Self::try_take(cfg, Mode::Probe).await? {
            Ok(lock) => {
                lock.release().await;
                Ok(false)
            }
            Err(_) => Ok(true),
        }
    }

    /// The lock, or (as `Err` inside) who holds it, said for a person.
    async fn try_take(cfg: &StoreConfig, mode: Mode) -> Result<Result<ServingLock, String>, StoreError> {
        match place(cfg)? {
            Place::Memory => Ok(Ok(ServingLock { held: Held::Nothing, shown: "in-memory database".into() })),
            Place::File { db, lock } => {
                if let Some(dir) = lock.parent().filter(|d| !d.as_os_str().is_empty()) {
                    if mode == Mode::Probe && !dir.is_dir() {
                        // No folder, no lock file: nobody holds it.
                        return Ok(Ok(ServingLock { held: Held::Nothing, shown: lock.display().to_string() }));
                    }
                    std::fs::create_dir_all(dir).map_err(|e| StoreError::Connect(cfg.url.clone(), format!("creating {}: {e}", dir.display())))?;
                }
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&lock)
                    .map_err(|e| StoreError::Connect(cfg.url.clone(), format!("opening the lock file {}: {e}", lock.display())))?;
                match file.try_lock() {
                    Ok(()) => Ok(Ok(ServingLock { held: Held::File(file), shown: lock.display().to_string() })),
                    Err(std::fs::TryLockError::WouldBlock) => Ok(Err(format!(
                        "another process is using the SQLite store {} (it holds the lock file {}): a running `mixmuc serve`, or an admin command",
                        db.display(),
                        lock.display()
                    ))),
                    Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Connect(cfg.url.clone(), format!("locking {}: {e}", lock.display()))),
                }
            }
            Place::Pg { url, key } => {
                let shown = format!("{} (advisory lock {ADVISORY_CLASS}, {key})", redact_url(&url));
                let mut conn = pg_connect(&url).await?;
                if pg_try_lock(&mut conn, mode, key).await.map_err(|e| StoreError::Connect(redact_url(&url), e.to_string()))? {
                    Ok(Ok(ServingLock { held: Held::Pg { conn, url, key }, shown }))
                } else {
                    let _ = conn.close().await;
                    Ok(Err(match mode {
                        Mode::Admin | Mode::Probe => format!("a `mixmuc serve` is using the PostgreSQL store {shown}"),
                        Mode::Serve => format!("an admin command holds the PostgreSQL store {shown}"),
                    }))
                }
            }
        }
    }

    /// The store as logs may show it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Releases the lock.
    pub async fn release(self) {
        match self.held {
            Held::Pg { conn, .. } => {
                // Ending the session releases its advisory locks.
                let _ = conn.close().await;
            }
            Held::File(f) => drop(f),
            Held::Nothing => {}
        }
    }

    /// A service's lock for its life, until `stop` says true or its sender
    /// goes: every `KEEP_INTERVAL` the PostgreSQL lock's connection is
    /// tried, and when it is gone (a database restart ended the session and
    /// the lock with it), the lock is taken again on a new connection, or
    /// tried again at the next round.
    pub async fn keep(mut self, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break;
                    }
                }
                () = tokio::time::sleep(KEEP_INTERVAL) => self.check().await,
            }
        }
        self.release().await;
    }

    async fn check(&mut self) {
        let Held::Pg { conn, url, key } = &mut self.held else { return };
        if conn.ping().await.is_ok() {
            return;
        }
        match pg_connect(url).await {
            Ok(mut fresh) => match pg_try_lock(&mut fresh, Mode::Serve, *key).await {
                Ok(true) => {
                    tracing::info!(store = %self.shown, "serving lock taken again on a new connection");
                    *conn = fresh;
                }
                Ok(false) => tracing::warn!(store = %self.shown, "serving lock held exclusively by an admin command; trying again"),
                Err(e) => tracing::warn!(store = %self.shown, error = %e, "serving lock lost; trying again"),
            },
            Err(e) => tracing::debug!(store = %self.shown, error = %e, "serving lock's connection still down"),
        }
    }
}

pub(super) async fn pg_connect(url: &str) -> Result<AnyConnection, StoreError> {
    sqlx::any::install_default_drivers();
    AnyConnection::connect(url).await.map_err(|e| StoreError::Connect(redact_url(url), e.to_string()))
}

async fn pg_try_lock(conn: &mut AnyConnection, mode: Mode, key: i32) -> sqlx::Result<bool> {
    let sql = match mode {
        Mode::Serve => "SELECT pg_try_advisory_lock_shared($1, $2)",
        Mode::Admin | Mode::Probe => "SELECT pg_try_advisory_lock($1, $2)",
    };
    sqlx::query_scalar::<_, bool>(sql).bind(ADVISORY_CLASS).bind(key).fetch_one(conn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_file_is_beside_the_database() {
        assert_eq!(lock_file(Path::new("data/mixmuc.db")), PathBuf::from("data/mixmuc.db.lock"));
        assert_eq!(lock_file(Path::new("/var/lib/mixmuc/m.db")), PathBuf::from("/var/lib/mixmuc/m.db.lock"));
    }

    #[test]
    fn schemas_have_keys_of_their_own() {
        assert_ne!(schema_key(None), schema_key(Some("mixmuc")));
        assert_ne!(schema_key(Some("a")), schema_key(Some("b")));
        assert_eq!(schema_key(Some("mixmuc")), schema_key(Some("mixmuc")));
    }

    #[tokio::test]
    async fn a_service_keeps_an_admin_command_out_until_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = StoreConfig { url: format!("sqlite://{}", dir.path().join("s.db").display()), ..StoreConfig::default() };
        let serving = ServingLock::serve(&cfg).await.expect("first service");
        assert!(ServingLock::is_held(&cfg).await.unwrap());
        assert!(matches!(ServingLock::admin(&cfg).await, Err(StoreError::Running(_))));
        serving.release().await;
        assert!(!ServingLock::is_held(&cfg).await.unwrap());
        let admin = ServingLock::admin(&cfg).await.expect("admin lock once the service is gone");
        drop(admin);
    }
}
