//! The host's commands on the store: `mixmuc admin channels | show |
//! destroy` (`admin.rs`) and `mixmuc backup` (`backup.rs`). The queries are
//! the store's (`store/admin.rs`, `store/backup.rs`); here they are opened,
//! refused and printed.
//!
//! Who may run what while `mixmuc serve` runs (`store::ServingLock`):
//! reading (`admin channels`, `admin show`) and `backup` always; a command
//! that changes the store (`admin destroy`, `migrate`: `migrate.rs`) only
//! while no service uses it,
//! since the service keeps the channels it serves in its cache and would
//! not learn of the change. It holds the lock while it works, so a service
//! cannot start under it.

pub mod admin;
pub mod backup;
pub mod migrate;

use std::path::Path;

use crate::config::{redact_url, StoreConfig};
use crate::store::{known_version, location, Location, Store, StoreError};

/// Exit status of a command refused because a service is running.
pub const EXIT_RUNNING: u8 = 3;

/// Why a command failed, and the exit status that says it.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    fn new(message: impl Into<String>) -> Self {
        CliError { code: 1, message: message.into() }
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        CliError::new(e.to_string())
    }
}

impl From<crate::error::Error> for CliError {
    fn from(e: crate::error::Error) -> Self {
        CliError::new(format!("store: {e}"))
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A command that changes the store, refused because a service holds the
/// serving lock (`why`): what to do instead (`instead`), and that the
/// reading commands work meanwhile.
fn refused_while_running(why: &str, instead: &str) -> CliError {
    CliError {
        code: EXIT_RUNNING,
        message: format!("refused: the service is running ({why}). {instead}. `admin channels`, `admin show` and `backup` work while it runs."),
    }
}

/// A path as an operator should read it: absolute.
fn absolute(p: &Path) -> String {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string()
}

/// The store of an installation that exists: a SQLite file that is not
/// there is an error (a wrong working directory or `--config`), not an
/// empty database created on the spot; and the schema must be this
/// mixmuc's (`mixmuc migrate` otherwise).
async fn open_existing(cfg: &StoreConfig) -> Result<Store, CliError> {
    require_file(cfg)?;
    let store = Store::connect(cfg).await?;
    let known = known_version();
    let found = store.schema_version().await;
    let refused = match found {
        Some(v) if v == known => None,
        Some(v) if v > known => Some(StoreError::TooNew { found: v, known }.to_string()),
        Some(v) => Some(format!("the store has schema version {v}, this mixmuc {known}: run `mixmuc migrate` (with the service stopped) first")),
        None => Some("the store has no schema yet: run `mixmuc migrate` (or start the service once) first".to_string()),
    };
    if let Some(why) = refused {
        store.close().await;
        return Err(CliError::new(why));
    }
    Ok(store)
}

/// A SQLite store's file must be there (checked before its lock is looked
/// at, which would create the lock file).
fn require_file(cfg: &StoreConfig) -> Result<(), CliError> {
    if let Location::File(p) = location(&cfg.url)? {
        if !Path::new(&p).is_file() {
            return Err(CliError::new(format!(
                "no store at {} ([store] url = \"{}\"; a relative path is taken from the working directory): check --config and the directory you run this in",
                absolute(Path::new(&p)),
                redact_url(&cfg.url)
            )));
        }
    }
    Ok(())
}

/// Milliseconds since the epoch as a UTC time; `-` for 0.
fn time(ms: i64) -> String {
    if ms <= 0 {
        return "-".to_string();
    }
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => ms.to_string(),
    }
}
