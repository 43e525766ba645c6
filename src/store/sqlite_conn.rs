//! One SQLite connection opened with SQLite's own C interface
//! (libsqlite3-sys, the library sqlx links, bundled): the direct appender's
//! (`direct.rs`) and the checkpoint thread's (`checkpoint.rs`). Its
//! prepared statements, its WAL hook, and its checkpoints.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;

use libsqlite3_sys as ffi;

use super::NewMessage;

/// Page cache of the checkpoint thread's connection, in KiB.
const CHECKPOINT_CACHE_KIB: u32 = 256;

/// Why a transaction did not commit.
#[derive(Debug)]
pub(super) enum Fail {
    /// Another connection holds the write lock; nothing was written.
    Busy,
    /// Anything else; nothing was written. The message is SQLite's.
    Other(String),
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
    ["BEGIN IMMEDIATE".into(), format!("INSERT INTO archive ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", super::archive::INSERT_COLUMNS), "COMMIT".into(), "ROLLBACK".into()]
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

    pub(super) fn open(path: &CStr, cache_kib: u32) -> std::result::Result<Conn, String> {
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
        // SAFETY: as above.
        rc |= unsafe { ffi::sqlite3_bind_int64(s, 9, m.jid_visible as i64) };
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(Fail::Other(self.message(rc)))
        }
    }

    /// One transaction: all of `rows` or none.
    pub(super) fn append(&self, rows: &[NewMessage]) -> std::result::Result<(), Fail> {
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

    /// Pages in the log after this connection's last commit.
    pub(super) fn wal_frames(&self) -> c_int {
        self.wal_frames.get()
    }

    /// Whether no transaction is open.
    pub(super) fn idle(&self) -> bool {
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
