//! The archive's appends on SQLite, through SQLite's own C interface, on
//! the thread that awaits them.
//!
//! sqlx runs each SQLite connection on a thread of its own: every statement
//! is handed to that thread and its results handed back (a channel each
//! way, a futex wake-up of the connection's thread and an eventfd wake-up
//! of the runtime, two context switches). Appends are the one statement of
//! every batch of room messages; in small rooms those hand-overs and
//! switches were the largest cost left outside SQLite itself
//! (docs/benchmarks.md, "Session 10"). This connection is opened with the
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

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use libsqlite3_sys as ffi;

use super::checkpoint::{Checkpointer, HARD_FRAMES, START_FRAMES};
use super::NewMessage;
use crate::error::{Error, Result};

/// Page cache of the checkpoint thread's connection, in KiB.
const CHECKPOINT_CACHE_KIB: u32 = 256;

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

/// Why a transaction did not commit.
#[derive(Debug)]
enum Fail {
    /// Another connection holds the write lock; nothing was written.
    Busy,
    /// Anything else; nothing was written. The message is SQLite's.
    Other(String),
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
        let frames = conn.wal_frames.get();
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

/// A prepared statement, finalised with its connection.
struct Stmt(*mut ffi::sqlite3_stmt);

/// One SQLite connection and its statements (the appender's four, or none).
pub(super) struct Conn {
    db: *mut ffi::sqlite3,
    stmts: Vec<Stmt>,
    /// Pages in the log after this connection's last commit (its WAL hook
    /// writes it; boxed so that its address stays put).
    wal_frames: Box<Cell<c_int>>,
}

// The connection is used by one thread at a time (behind `Direct`'s mutex);
// SQLite's bundled build is thread-safe, and a connection opened without
// SQLITE_OPEN_FULLMUTEX may move between threads.
unsafe impl Send for Conn {}

const BEGIN: usize = 0;
const INSERT: usize = 1;
const COMMIT: usize = 2;
const ROLLBACK: usize = 3;
/// The statements, in the order of the indexes above.
fn statements() -> [String; 4] {
    ["BEGIN IMMEDIATE".into(), format!("INSERT INTO archive ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", super::archive::INSERT_COLUMNS), "COMMIT".into(), "ROLLBACK".into()]
}

impl Conn {
    /// A connection with busy timeout 0 and no statements.
    fn open_plain(path: &CStr) -> std::result::Result<Conn, String> {
        let mut db = ptr::null_mut();
        // SAFETY: `path` is NUL-terminated; `db` receives the handle, which
        // `Conn`'s drop closes (SQLite returns one even on failure).
        let rc = unsafe { ffi::sqlite3_open_v2(path.as_ptr(), &mut db, ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_NOMUTEX, ptr::null()) };
        let conn = Conn { db, stmts: Vec::new(), wal_frames: Box::new(Cell::new(0)) };
        if rc != ffi::SQLITE_OK {
            return Err(format!("opening the archive connection: {}", conn.message(rc)));
        }
        // SAFETY: `db` is open.
        unsafe { ffi::sqlite3_busy_timeout(db, 0) };
        Ok(conn)
    }

    fn open(path: &CStr, cache_kib: u32) -> std::result::Result<Conn, String> {
        let mut conn = Conn::open_plain(path)?;
        // The pool's settings (journal_mode = WAL is the file's own).
        conn.exec(&format!("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -{cache_kib};"))?;
        // The hook replaces SQLite's automatic checkpoint on this connection.
        // SAFETY: `db` is open; the cell outlives the handle (dropped after
        // it is closed, see `Drop`), and only this connection's thread of
        // the moment calls the hook, inside `sqlite3_step`.
        unsafe { ffi::sqlite3_wal_hook(conn.db, Some(wal_hook), &*conn.wal_frames as *const Cell<c_int> as *mut c_void) };
        for sql in statements() {
            let stmt = conn.prepare(&sql)?;
            conn.stmts.push(stmt);
        }
        Ok(conn)
    }

    /// SQLite's message for the last failure on this connection.
    fn message(&self, rc: c_int) -> String {
        // SAFETY: `db` is a handle from sqlite3_open_v2 (errmsg accepts a
        // failed open's handle too); the string is copied before any other call.
        let msg = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(self.db)) }.to_string_lossy().into_owned();
        format!("{msg} (code {rc})")
    }

    fn exec(&self, sql: &str) -> std::result::Result<(), String> {
        let c = CString::new(sql).map_err(|e| e.to_string())?;
        // SAFETY: `db` is open, `c` NUL-terminated; no callback.
        let rc = unsafe { ffi::sqlite3_exec(self.db, c.as_ptr(), None, ptr::null_mut(), ptr::null_mut()) };
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(self.message(rc))
        }
    }

    fn prepare(&self, sql: &str) -> std::result::Result<Stmt, String> {
        let mut stmt = ptr::null_mut();
        // SAFETY: `db` is open; `sql` is `len` bytes (no NUL needed).
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(self.db, sql.as_ptr() as *const c_char, sql.len() as c_int, ffi::SQLITE_PREPARE_PERSISTENT as _, &mut stmt, ptr::null_mut())
        };
        if rc == ffi::SQLITE_OK {
            Ok(Stmt(stmt))
        } else {
            Err(format!("preparing {sql:?}: {}", self.message(rc)))
        }
    }

    /// Runs statement `i` to its end and resets it (its bindings cleared).
    fn run(&self, i: usize) -> std::result::Result<(), Fail> {
        let s = self.stmts[i].0;
        // SAFETY: `s` is a statement of this open connection; the values
        // bound to it (if any) are alive until the reset below.
        let rc = unsafe { ffi::sqlite3_step(s) };
        let outcome = match rc & 0xff {
            ffi::SQLITE_DONE => Ok(()),
            ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED => Err(Fail::Busy),
            _ => Err(Fail::Other(self.message(rc))),
        };
        // SAFETY: as above; after this the statement refers to no bound value.
        unsafe {
            ffi::sqlite3_reset(s);
            ffi::sqlite3_clear_bindings(s);
        }
        outcome
    }

    /// Binds `m` to the INSERT. The strings are not copied
    /// (`SQLITE_STATIC`): `run` resets the statement before `m` can go.
    fn bind(&self, m: &NewMessage) -> std::result::Result<(), Fail> {
        let s = self.stmts[INSERT].0;
        let text = |col: c_int, v: &str| -> std::result::Result<c_int, Fail> {
            let len = c_int::try_from(v.len()).map_err(|_| Fail::Other(format!("archive value of {} bytes", v.len())))?;
            // SAFETY: `s` is the INSERT; `v` outlives the statement's next reset (see above).
            Ok(unsafe { ffi::sqlite3_bind_text(s, col, v.as_ptr() as *const c_char, len, ffi::SQLITE_STATIC()) })
        };
        let mut rc = 0;
        for (col, v) in [(1, &m.channel), (2, &m.id), (4, &m.sender_jid), (5, &m.participant_id), (6, &m.nick), (8, &m.payload)] {
            rc |= text(col, v)?;
        }
        rc |= match &m.submission_id {
            Some(sid) => text(7, sid)?,
            // SAFETY: as above.
            None => unsafe { ffi::sqlite3_bind_null(s, 7) },
        };
        // SAFETY: as above.
        rc |= unsafe { ffi::sqlite3_bind_int64(s, 3, m.ts) };
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(Fail::Other(self.message(rc)))
        }
    }

    /// One transaction: all of `rows` or none.
    fn append(&self, rows: &[NewMessage]) -> std::result::Result<(), Fail> {
        self.run(BEGIN)?;
        let written = rows.iter().try_for_each(|m| {
            self.bind(m)?;
            self.run(INSERT)
        });
        match written.and_then(|()| self.run(COMMIT)) {
            Ok(()) => Ok(()),
            Err(e) => {
                if !self.idle() {
                    let _ = self.run(ROLLBACK);
                }
                Err(e)
            }
        }
    }

    /// The checkpoint thread's connection (`checkpoint.rs`): the pool's
    /// sync setting, a small page cache (a checkpoint reads the log's pages
    /// from the file, not through the cache), and the schema read once (a
    /// new connection learns then that the file is in WAL mode; before, a
    /// checkpoint on it does nothing).
    pub(super) fn open_for_checkpoints(path: &CStr) -> std::result::Result<Conn, String> {
        let conn = Conn::open_plain(path)?;
        conn.exec(&format!("PRAGMA synchronous = NORMAL; PRAGMA cache_size = -{CHECKPOINT_CACHE_KIB}; SELECT 1 FROM sqlite_schema LIMIT 1"))?;
        Ok(conn)
    }

    /// A passive checkpoint: copies what it can without waiting for anyone.
    /// Returns (pages in the log, pages of it now in the database file).
    pub(super) fn checkpoint_passive(&self) -> std::result::Result<(c_int, c_int), String> {
        let (mut log, mut done) = (0, 0);
        // SAFETY: `db` is open; a null schema name means every attached database.
        let rc = unsafe { ffi::sqlite3_wal_checkpoint_v2(self.db, ptr::null(), ffi::SQLITE_CHECKPOINT_PASSIVE, &mut log, &mut done) };
        if rc == ffi::SQLITE_OK {
            Ok((log, done))
        } else {
            Err(self.message(rc))
        }
    }

    /// Whether no transaction is open.
    fn idle(&self) -> bool {
        // SAFETY: `db` is open.
        unsafe { ffi::sqlite3_get_autocommit(self.db) != 0 }
    }
}

/// SQLite's WAL hook: called after each commit with the log's size in pages.
unsafe extern "C" fn wal_hook(cell: *mut c_void, _db: *mut ffi::sqlite3, _name: *const c_char, frames: c_int) -> c_int {
    // SAFETY: `cell` is the connection's `wal_frames` (see `Conn::open`).
    unsafe { (*(cell as *const Cell<c_int>)).set(frames) };
    ffi::SQLITE_OK
}

impl Drop for Conn {
    fn drop(&mut self) {
        // SAFETY: each statement and the handle are finalised and closed
        // once; nothing uses them afterwards.
        unsafe {
            for s in self.stmts.drain(..) {
                ffi::sqlite3_finalize(s.0);
            }
            ffi::sqlite3_close(self.db);
        }
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
