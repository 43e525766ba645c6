//! The archive's appends on SQLite, through SQLite's own C interface, on
//! the thread that awaits them.
//!
//! sqlx runs each SQLite connection on a thread of its own: every statement
//! is handed to that thread and its results handed back (a channel each
//! way, a futex wake-up of the connection's thread and an eventfd wake-up
//! of the runtime, two context switches). Appends are the one statement of
//! every batch of room messages; in small rooms those hand-overs and
//! switches were the largest cost left outside SQLite itself
//! (docs/benchmarks.md, "What the hand-written parts buy": against sqlx's
//! appender, +10 % stanzas out per CPU-second at half load in rooms of 5,
//! +19 % at saturation; that is why it is kept). This connection is opened with the
//! SQLite library sqlx links (libsqlite3-sys, bundled) on the same file and
//! writes each batch as one transaction where the append is awaited:
//! `BEGIN IMMEDIATE`, one prepared INSERT per row, `COMMIT`.
//!
//! It never sleeps on SQLite's locks: its busy timeout is 0. When another
//! connection (the pool's, or another process such as `mixmuc` run from
//! the command line) holds the write lock, `BEGIN IMMEDIATE` fails at once
//! with `SQLITE_BUSY` and the append waits on the runtime (1 ms, doubling to
//! 50 ms) and tries again, for as long as the pool's `busy_timeout` (5 s).
//!
//! Its commits do not run SQLite's automatic checkpoint: a thread of its
//! own does (`checkpoint.rs`), and this connection only when that thread
//! cannot keep the log short.
//!
//! Used for file databases only (`Store::connect`): an in-memory database
//! is private to its connection, so `:memory:` keeps sqlx's appender.

use std::ffi::CString;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::checkpoint::{Checkpointer, HARD_FRAMES, START_FRAMES};
use super::sqlite_conn::{Conn, Fail};
use super::NewMessage;
use crate::error::{Error, Result};

/// As long as the pool's `PRAGMA busy_timeout`.
const BUSY_WAIT: Duration = super::SQLITE_BUSY_TIMEOUT;

/// The appender: a path and, once the first append has opened it, the
/// connection.
pub struct Direct {
    path: CString,
    cache_kib: u32,
    conn: Mutex<Option<Conn>>,
    checkpoints: Checkpointer,
}

impl Direct {
    /// Opens nothing yet: the file may still be migrated.
    pub fn new(path: &str, cache_kib: u32) -> std::result::Result<Direct, String> {
        let path = CString::new(path).map_err(|_| format!("database path {path:?} contains a NUL byte"))?;
        let checkpoints = Checkpointer::start(path.clone()).map_err(|e| format!("starting the archive's checkpoint thread: {e}"))?;
        Ok(Direct { path, cache_kib, conn: Mutex::new(None), checkpoints })
    }

    /// Archives `rows` in one transaction, in order; committed when this
    /// returns.
    pub async fn append(&self, rows: &[NewMessage]) -> Result<()> {
        let started = Instant::now();
        let mut wait = Duration::from_millis(1);
        loop {
            match self.try_append(rows) {
                Ok(()) => return Ok(()),
                Err(Fail::Busy) if started.elapsed() < BUSY_WAIT => {
                    tracing::debug!(wait_ms = wait.as_millis() as u64, "archive: database locked by another connection; waiting");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_millis(50));
                }
                Err(Fail::Busy) => return Err(Error::internal(format!("store: database is locked (archive append waited {} s)", BUSY_WAIT.as_secs()))),
                Err(Fail::Other(m)) => return Err(Error::internal(format!("store: {m}"))),
            }
        }
    }

    fn try_append(&self, rows: &[NewMessage]) -> std::result::Result<(), Fail> {
        let mut slot = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let conn = match slot.as_mut() {
            Some(c) => c,
            None => slot.insert(Conn::open(&self.path, self.cache_kib).map_err(Fail::Other)?),
        };
        let outcome = conn.append(rows);
        if outcome.is_ok() {
            self.after_commit(conn);
        }
        if !conn.idle() {
            // A transaction the rollback could not end: start afresh.
            tracing::warn!("archive connection left inside a transaction; the next append opens another");
            *slot = None;
        }
        outcome
    }

    /// Asks the checkpoint thread for a round once the log is long; runs a
    /// checkpoint here to finish a round after which the log did not start
    /// again, or when the log reached `HARD_FRAMES` (`checkpoint.rs`).
    fn after_commit(&self, conn: &Conn) {
        let frames = conn.wal_frames();
        let finish = self.checkpoints.round_ended() && frames >= START_FRAMES;
        if finish || frames >= HARD_FRAMES {
            match conn.checkpoint_passive() {
                Ok((log, done)) if finish => tracing::debug!(log, done, "archive checkpoint on the appender's connection: the round's last"),
                Ok((log, done)) => tracing::info!(log, done, "archive log past {HARD_FRAMES} pages (the checkpoint thread has not kept it short): checkpointed on the appender's connection"),
                // The thread's (or the pool's) checkpoint runs: the next round ends with this again.
                Err(e) => tracing::debug!(error = %e, "archive checkpoint on the appender's connection: not now"),
            }
        } else if frames >= START_FRAMES {
            self.checkpoints.request();
        }
    }

    /// Closes the connection, if one is open, and stops the checkpoint thread.
    pub fn close(&self) {
        self.conn.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.checkpoints.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Appends, NewMessage, Store};
    use crate::config::StoreConfig;

    /// Without its checkpoint thread, the appender checkpoints by itself
    /// once the log reaches `HARD_FRAMES`: the log stays bounded.
    #[tokio::test]
    async fn the_appender_checkpoints_when_the_thread_does_not() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let cfg = StoreConfig { url: format!("sqlite://{}", dir.path().join("mixmuc.db").display()), ..StoreConfig::default() };
        let store = Store::open(&cfg).await.expect("store");
        let Appends::Direct(direct) = &store.appends else { panic!("a database file appends directly") };
        direct.checkpoints.stop();
        let payload = format!("<message xmlns='jabber:client'><body>{}</body></message>", "x".repeat(3_000));
        // A page per row at least: more than 1.5 × HARD_FRAMES pages.
        for b in 0..3_200 {
            let rows: Vec<NewMessage> = (0..8)
                .map(|i| NewMessage {
                    channel: "coven".into(),
                    id: format!("m-{b}-{i}"),
                    ts: b * 8 + i,
                    sender_jid: "hag66@shakespeare.example".into(),
                    participant_id: "p1".into(),
                    nick: "hag66".into(),
                    submission_id: None,
                    payload: payload.clone(),
                    jid_visible: true,
                })
                .collect();
            store.append_messages(rows).await.expect("append");
        }
        let len = std::fs::metadata(dir.path().join("mixmuc.db-wal")).expect("the log").len();
        let pages = (len - 32) / (4096 + 24);
        assert!(pages >= super::HARD_FRAMES as u64, "the log reached {pages} pages only: something else checkpointed");
        assert!(pages < super::HARD_FRAMES as u64 + 100, "the log grew to {pages} pages");
        store.close().await;
    }
}
