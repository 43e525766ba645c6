//! SQLite's WAL checkpoints for the direct appender, on a thread of their
//! own.
//!
//! SQLite's automatic checkpoint runs in the committing connection, after
//! the commit, every 1,000 pages of log: for the direct appender
//! (`direct.rs`) that was the runtime's thread, blocked 15–20 ms each time
//! while the pages were copied into the database file and synced. A larger
//! interval copies a page written several times in between only once (a
//! room's index page, the count table's pages), which saves CPU, but each
//! blocking checkpoint grew longer. With this thread the p99 latency at
//! half load in rooms of 5 went from ~15 ms to ~2 ms and nothing was lost
//! at saturation (docs/benchmarks.md, "What the hand-written parts buy").
//!
//! So the appender's connection does not checkpoint by itself (its WAL
//! hook replaces the automatic one) and tells this thread when the log has
//! grown past [`START_FRAMES`]. The thread runs passive checkpoints on a
//! connection of its own (they never block the writer), each copying what
//! was committed during the one before, until one finds nothing left to
//! copy, or for at most [`MAX_PASSES`]. Once the log is wholly in the
//! database file when a transaction of the appender begins, that
//! transaction writes it again from its beginning. Under writes without a
//! pause no transaction begins at such a moment (the next one had already
//! begun during the last pass), so the thread then asks the appender to
//! finish: after its next commit, if the log did not start again, the
//! appender runs one more passive checkpoint itself, between two of its
//! transactions, where no commit can come in between; it copies only what
//! was committed since the thread's last pass.
//!
//! Should none of this happen (a reader keeping an old snapshot, a stalled
//! thread), the appender checkpoints after each commit once the log
//! reaches [`HARD_FRAMES`], as SQLite would: the log stays bounded.

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::sqlite_conn::Conn;

/// Log size (pages) at which the appender asks for a checkpoint.
pub const START_FRAMES: i32 = 4_000;
/// Log size (pages) at which the appender checkpoints itself.
pub const HARD_FRAMES: i32 = 4 * START_FRAMES;
/// Passive checkpoints in one round, at most: each copies what was
/// committed during the one before, so they grow short quickly.
const MAX_PASSES: usize = 32;
/// Pause after a round that could not go on.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_millis(10);

/// The handle the appender keeps: asks for rounds, and stops the thread
/// when dropped.
pub struct Checkpointer {
    tx: Mutex<Option<SyncSender<()>>>,
    flags: Arc<Flags>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Default)]
struct Flags {
    /// A round is asked for or running.
    busy: AtomicBool,
    /// A round ended: the appender finishes it if the log did not start again.
    ended: AtomicBool,
}

impl Checkpointer {
    /// Starts the thread; it opens its connection on its first round.
    pub fn start(path: CString) -> std::io::Result<Checkpointer> {
        let (tx, rx) = sync_channel(1);
        let flags = Arc::new(Flags::default());
        let f = flags.clone();
        let thread = std::thread::Builder::new().name("mixmuc-checkpoint".into()).spawn(move || run(&path, &rx, &f))?;
        Ok(Checkpointer { tx: Mutex::new(Some(tx)), flags, thread: Mutex::new(Some(thread)) })
    }

    /// Asks for a round unless one is asked for or running.
    pub fn request(&self) {
        if self.flags.busy.swap(true, Ordering::AcqRel) {
            return;
        }
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let sent = match tx.as_ref() {
            Some(tx) => tx.try_send(()),
            None => Err(TrySendError::Disconnected(())),
        };
        if sent.is_err() {
            self.flags.busy.store(false, Ordering::Release);
        }
    }

    /// Whether a round ended since the appender last looked.
    pub fn round_ended(&self) -> bool {
        self.flags.ended.swap(false, Ordering::AcqRel)
    }

    /// Stops the thread after its current round.
    pub fn stop(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(path: &CString, rx: &Receiver<()>, flags: &Flags) {
    let mut conn: Option<Conn> = None;
    while rx.recv().is_ok() {
        if conn.is_none() {
            match Conn::open_for_checkpoints(path) {
                Ok(c) => conn = Some(c),
                Err(e) => tracing::warn!(error = %e, "archive checkpoints: cannot open a connection; the appender checkpoints by itself"),
            }
        }
        let ended = conn.as_ref().is_some_and(round);
        if ended {
            flags.ended.store(true, Ordering::Release);
        }
        flags.busy.store(false, Ordering::Release);
        if !ended {
            // Not at every commit.
            std::thread::sleep(RETRY_AFTER);
        }
    }
}

/// Passive checkpoints, each copying what was committed during the one
/// before. True when the round ended (the whole log copied at its last
/// pass, or commits came between every two passes: the appender finishes
/// it); false when a reader or another checkpoint was in the way (later).
fn round(c: &Conn) -> bool {
    let started = std::time::Instant::now();
    let mut copied_to = None;
    for _ in 0..MAX_PASSES {
        match c.checkpoint_passive() {
            Ok((log, _)) if log < 0 => {
                tracing::warn!("archive checkpoint: the database is not in WAL mode");
                return false;
            }
            Ok((log, done)) if log == done && Some(log) == copied_to => {
                tracing::debug!(pages = log, ms = started.elapsed().as_millis() as u64, "archive checkpoint: log copied into the database");
                return true;
            }
            Ok((log, done)) if log > done && Some(done) == copied_to => {
                tracing::debug!(pages = log, copied = done, "archive checkpoint: a reader keeps the rest of the log; later");
                return false;
            }
            Ok((_, done)) => copied_to = Some(done),
            // Another connection is checkpointing (the pool's, or the appender's own).
            Err(e) => {
                tracing::debug!(error = %e, "archive checkpoint: not now");
                return false;
            }
        }
    }
    tracing::debug!(passes = MAX_PASSES, ms = started.elapsed().as_millis() as u64, "archive checkpoint: writes kept ahead; the appender copies the rest");
    true
}
