//! A link's outgoing queue, bounded in bytes (`[server] send_queue_bytes`).
//!
//! The dispatcher's end (`Outbox`) serialises each item as it is handed
//! over (a fan-out's shared bytes once, then its copies one by one, or one
//! multicast stanza per 1,000 recipients) and passes the bytes to the link
//! in chunks of at most a quarter of the bound (256 KiB at most) plus one
//! stanza. A chunk enters the queue only when the bytes already queued
//! leave room for it: while the server does not read, the dispatcher waits
//! here, the links' inbound queue fills, the links stop reading, and the
//! server's own buffers and limits take over. Nothing is dropped for want
//! of room. The link's end (`Inbox`) writes each chunk to the socket; its
//! bytes leave the queue when they have been written.
//!
//! What the queue counts is what is really held: the serialised bytes,
//! each copy of a fan-out counted (a message to 1,000 occupants is 1,000
//! copies, or with multicast one stanza with 1,000 addresses). Besides the
//! queue, the dispatcher holds at most one chunk being filled.
//!
//! A chunk larger than the bound (only a single stanza larger than the
//! bound can make one) counts as the whole bound: it waits until the queue
//! is empty and then goes alone.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use super::writer::{MulticastSwitch, Writer};
use crate::outgoing::Out;

/// Largest chunk the dispatcher fills before handing it over.
const MAX_CHUNK: usize = 256 * 1024;

/// The link is gone (it ended for good); nothing more can be queued.
#[derive(Debug, thiserror::Error)]
#[error("the link's queue is closed")]
pub struct Closed;

/// A link's outgoing queue bounded at `bound` bytes: the dispatcher's end
/// and the link's end (`link::run`). `domain` names the link in logs.
pub fn queue(domain: &str, bound: usize) -> (Outbox, Inbox) {
    let bound = bound.clamp(1, u32::MAX as usize);
    let (tx, rx) = mpsc::unbounded_channel();
    let gauge = QueueGauge(Arc::new(Counters { room: Arc::new(Semaphore::new(bound)), bound, queued: AtomicUsize::new(0), peak: AtomicUsize::new(0), waiting: AtomicBool::new(false) }));
    let multicast = MulticastSwitch::default();
    let outbox = Outbox { domain: domain.to_string(), writer: Writer::new(), tx, chunk: (bound / 4).clamp(1, MAX_CHUNK), gauge: gauge.clone(), multicast: multicast.clone() };
    (outbox, Inbox { rx, multicast, gauge })
}

struct Counters {
    /// Bytes the queue still has room for.
    room: Arc<Semaphore>,
    bound: usize,
    /// Bytes queued and not yet written to the socket.
    queued: AtomicUsize,
    /// The most `queued` has been.
    peak: AtomicUsize,
    /// The dispatcher is waiting for room.
    waiting: AtomicBool,
}

/// What a link's queue holds, for tests and logs.
#[derive(Clone)]
pub struct QueueGauge(Arc<Counters>);

impl QueueGauge {
    /// Bytes queued and not yet written to the socket.
    pub fn queued(&self) -> usize {
        self.0.queued.load(Ordering::Relaxed)
    }

    /// The most bytes ever queued at once.
    pub fn peak(&self) -> usize {
        self.0.peak.load(Ordering::Relaxed)
    }

    /// The bound (`[server] send_queue_bytes`).
    pub fn bound(&self) -> usize {
        self.0.bound
    }

    /// Whether the dispatcher is waiting for room in the queue.
    pub fn waiting(&self) -> bool {
        self.0.waiting.load(Ordering::Relaxed)
    }
}

/// Serialised stanzas on their way to the socket; their room in the queue
/// is given back when the chunk is dropped (written, or lost with its
/// connection).
pub struct Chunk {
    pub bytes: Vec<u8>,
    _room: OwnedSemaphorePermit,
    gauge: QueueGauge,
}

impl Drop for Chunk {
    fn drop(&mut self) {
        self.gauge.0.queued.fetch_sub(self.bytes.len(), Ordering::Relaxed);
    }
}

/// The dispatcher's end of a link's queue.
pub struct Outbox {
    domain: String,
    /// Serialises items; its buffer is the chunk being filled.
    writer: Writer,
    tx: mpsc::UnboundedSender<Chunk>,
    /// Bytes after which a chunk is handed over.
    chunk: usize,
    gauge: QueueGauge,
    multicast: MulticastSwitch,
}

impl Outbox {
    /// Serialises `item` into the chunk being filled, handing over each
    /// chunk that is full (and waiting for room for it). An item that
    /// cannot be serialised is logged and dropped. Call `flush` when the
    /// turn's items are all pushed. Cancelled while waiting, what is
    /// serialised stays for the next call; the rest of a fan-out is lost.
    pub async fn push(&mut self, item: &Out) -> Result<(), Closed> {
        tracing::trace!(domain = %self.domain, item = ?item, "out");
        match item {
            Out::Stanza(s) => {
                self.serialise(item, |w| w.stanza(s));
                self.hand_over_if_full().await
            }
            Out::FanOut(f) => {
                if f.to.len() > 1 {
                    self.writer.follow(&self.multicast);
                }
                match self.writer.begin_fan_out(f) {
                    Ok(Some(splice)) => {
                        for piece in splice.pieces(f) {
                            self.writer.fan_out_piece(&splice, piece);
                            self.hand_over_if_full().await?;
                        }
                    }
                    Ok(None) => {
                        for s in f.stanzas() {
                            self.serialise(item, |w| w.stanza(&s));
                            self.hand_over_if_full().await?;
                        }
                    }
                    Err(e) => self.unserialisable(e, item),
                }
                Ok(())
            }
        }
    }

    /// Hands over what is serialised (waiting for room for it).
    pub async fn flush(&mut self) -> Result<(), Closed> {
        if self.writer.buf.is_empty() {
            return Ok(());
        }
        let n = self.writer.buf.len();
        let counters = &self.gauge.0;
        // At most the whole bound: a larger chunk waits for an empty queue.
        let want = n.min(counters.bound) as u32;
        let room = match counters.room.clone().try_acquire_many_owned(want) {
            Ok(p) => p,
            Err(_) => {
                counters.waiting.store(true, Ordering::Relaxed);
                tracing::debug!(domain = %self.domain, queued = self.gauge.queued(), chunk = n, "link queue full: waiting for the server to read");
                let p = counters.room.clone().acquire_many_owned(want).await;
                counters.waiting.store(false, Ordering::Relaxed);
                p.expect("the queue's semaphore is never closed")
            }
        };
        let bytes = self.writer.buf.as_slice().to_vec();
        self.writer.buf.clear();
        let now = counters.queued.fetch_add(n, Ordering::Relaxed) + n;
        counters.peak.fetch_max(now, Ordering::Relaxed);
        self.tx.send(Chunk { bytes, _room: room, gauge: self.gauge.clone() }).map_err(|_| Closed)
    }

    /// `push` then `flush`.
    pub async fn send(&mut self, item: Out) -> Result<(), Closed> {
        self.push(&item).await?;
        self.flush().await
    }

    /// How full the queue is.
    pub fn gauge(&self) -> QueueGauge {
        self.gauge.clone()
    }

    async fn hand_over_if_full(&mut self) -> Result<(), Closed> {
        if self.writer.buf.len() >= self.chunk {
            self.flush().await?;
        }
        Ok(())
    }

    /// Serialises one stanza; one that cannot be is logged and dropped.
    fn serialise(&mut self, item: &Out, f: impl FnOnce(&mut Writer) -> std::io::Result<()>) {
        let mark = self.writer.buf.len();
        if let Err(e) = f(&mut self.writer) {
            self.writer.buf.truncate(mark);
            self.unserialisable(e, item);
        }
    }

    fn unserialisable(&mut self, e: std::io::Error, item: &Out) {
        tracing::error!(domain = %self.domain, error = %e, item = ?item, "outgoing stanza cannot be serialised; dropped");
        self.writer.reset_encoder();
    }
}

/// The link's end of its queue.
pub struct Inbox {
    pub(super) rx: mpsc::UnboundedReceiver<Chunk>,
    /// Set by the link from its multicast probe; read by the `Outbox`.
    pub(super) multicast: MulticastSwitch,
    gauge: QueueGauge,
}

impl Inbox {
    /// How full the queue is.
    pub fn gauge(&self) -> QueueGauge {
        self.gauge.clone()
    }
}
