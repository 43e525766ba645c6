//! `mixmuc backup PATH`: a consistent copy of a SQLite store, also while
//! the service runs.
//!
//! SQLite's `VACUUM INTO` reads the database inside one read transaction
//! (a snapshot: in WAL mode writers go on meanwhile, and nothing they
//! commit after the snapshot is in the copy) and writes a compacted
//! database file. It is written under a temporary name beside `PATH`,
//! checked (`PRAGMA integrity_check`), synced, and only then given its
//! name: an interrupted backup never leaves a half-written file at `PATH`.
//! An existing `PATH` is kept unless `force`.
//!
//! A PostgreSQL store is copied with its own tools (pg_dump; see
//! docs/deploy/operate.md): refused here.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sqlx::{AnyConnection, Connection, Executor};

use super::{location, Location, StoreError};
use crate::config::StoreConfig;

/// What was copied, read back from the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub path: PathBuf,
    /// The copy's size in bytes.
    pub bytes: u64,
    /// The newest migration applied in the copy.
    pub schema_version: i64,
    pub channels: i64,
    /// Rows of the archive in the copy.
    pub archive_rows: i64,
    /// How long the copy took (ms).
    pub elapsed_ms: u64,
}

fn fail(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backup(what.to_string())
}

/// Copies the SQLite store of `cfg` to `dest` (see the module's text).
pub async fn backup_sqlite(cfg: &StoreConfig, dest: &Path, force: bool) -> Result<BackupReport, StoreError> {
    let started = Instant::now();
    let source = match location(&cfg.url)? {
        Location::File(p) => PathBuf::from(p),
        Location::Memory => return Err(fail("the store is an in-memory SQLite database: there is nothing on disk to copy")),
        Location::Postgres => {
            return Err(fail(
                "the store is PostgreSQL: copy it with PostgreSQL's own tools, e.g. `pg_dump --format=custom --file=mixmuc.dump DBNAME` (docs/deploy/operate.md)",
            ))
        }
    };
    if !source.is_file() {
        return Err(fail(format!("no SQLite database at {} (a relative path in the store URL is taken from the working directory)", shown_path(&source))));
    }
    if dest.is_dir() {
        return Err(fail(format!("{} is a folder; name the file to write", dest.display())));
    }
    if dest.exists() {
        if !force {
            return Err(fail(format!("{} exists; pass --force to replace it", dest.display())));
        }
        if same_file(&source, dest) {
            return Err(fail(format!("{} is the database itself", dest.display())));
        }
    }
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(fail(format!("folder {} does not exist", dir.display())));
    }
    let name = dest.file_name().ok_or_else(|| fail(format!("{} names no file", dest.display())))?.to_string_lossy().into_owned();
    let partial = dir.join(format!(".{name}.partial-{}", std::process::id()));
    remove_copy(&partial);

    let outcome = async {
        copy(&source, &partial).await?;
        let report = check(&partial, dest).await?;
        std::fs::File::open(&partial).and_then(|f| f.sync_all()).map_err(|e| fail(format!("syncing {}: {e}", partial.display())))?;
        place(&partial, dest, force)?;
        // The new name is durable once the folder is.
        let _ = std::fs::File::open(&dir).and_then(|d| d.sync_all());
        Ok(report)
    }
    .await;
    remove_copy(&partial);
    let mut report = outcome?;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The path, absolute when it can be made so (an operator's first question
/// is "which file?").
fn shown_path(p: &Path) -> String {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string()
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Removes a copy and the files SQLite may have left beside it.
fn remove_copy(p: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = p.as_os_str().to_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// `VACUUM INTO` on a connection of its own (read and write, never
/// creating the database: a missing file is an error, not an empty copy).
async fn copy(source: &Path, to: &Path) -> Result<(), StoreError> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rw", source.display());
    let mut c = AnyConnection::connect(&url).await.map_err(|e| fail(format!("opening {}: {e}", shown_path(source))))?;
    c.execute("PRAGMA busy_timeout = 5000").await.map_err(fail)?;
    let to_text = to.to_str().ok_or_else(|| fail(format!("{} is not UTF-8", to.display())))?;
    let done = sqlx::query("VACUUM INTO $1").bind(to_text).execute(&mut c).await;
    let _ = c.close().await;
    done.map_err(|e| fail(format!("copying {} to {}: {e}", shown_path(source), to.display())))?;
    Ok(())
}

/// Reads the copy back: its integrity, schema version and counts.
async fn check(copy: &Path, dest: &Path) -> Result<BackupReport, StoreError> {
    let url = format!("sqlite://{}?mode=rw", copy.display());
    let mut c = AnyConnection::connect(&url).await.map_err(|e| fail(format!("opening the copy: {e}")))?;
    let read = async {
        let integrity: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut c).await?;
        let schema_version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE").fetch_one(&mut c).await?;
        let channels: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM channels").fetch_one(&mut c).await?;
        let archive_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM archive").fetch_one(&mut c).await?;
        Ok::<_, sqlx::Error>((integrity, schema_version, channels, archive_rows))
    }
    .await;
    let _ = c.close().await;
    let (integrity, schema_version, channels, archive_rows) = read.map_err(|e| fail(format!("reading the copy back: {e} (is the store migrated? `mixmuc migrate`)")))?;
    if integrity != "ok" {
        return Err(fail(format!("the copy failed its integrity check: {integrity}")));
    }
    let bytes = std::fs::metadata(copy).map_err(|e| fail(format!("{}: {e}", copy.display())))?.len();
    Ok(BackupReport { path: dest.to_path_buf(), bytes, schema_version: schema_version.unwrap_or(0), channels, archive_rows, elapsed_ms: 0 })
}

/// Gives the checked copy its name: replacing what is there only when
/// `force` (a hard link fails on an existing name: no race with a file
/// that appeared meanwhile).
fn place(partial: &Path, dest: &Path, force: bool) -> Result<(), StoreError> {
    if force {
        return std::fs::rename(partial, dest).map_err(|e| fail(format!("renaming the copy to {}: {e}", dest.display())));
    }
    match std::fs::hard_link(partial, dest) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(fail(format!("{} exists; pass --force to replace it", dest.display()))),
        // A file system without hard links.
        Err(_) if !dest.exists() => std::fs::rename(partial, dest).map_err(|e| fail(format!("renaming the copy to {}: {e}", dest.display()))),
        Err(e) => Err(fail(format!("naming the copy {}: {e}", dest.display()))),
    }
}
