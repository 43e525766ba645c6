//! The socket under tokio-xmpp's stream: reads go through the framer
//! (`framer`: a stanza the parser would choke on is dropped there and
//! reported, so it costs its sender an error, not everyone the link) and
//! then the stream's parser; writes go through it only until the handshake
//! is done. Then the session takes the write half (`WriteSlot::take`) and
//! writes bytes of its own (`writer::Writer`), a fan-out serialised once.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::framer::{Dropped, Framer};

/// Bytes read from the socket at once.
const READ_CHUNK: usize = 64 * 1024;
/// Dropped stanzas waiting for their error reply; more are only logged.
const DROPPED_QUEUE: usize = 64;

/// The write half, shared between the stream (handshake) and the session.
#[derive(Clone)]
pub struct WriteSlot(Arc<Mutex<Option<OwnedWriteHalf>>>);

impl WriteSlot {
    /// Takes the write half; the stream cannot write any more.
    pub fn take(&self) -> Option<OwnedWriteHalf> {
        self.0.lock().expect("write slot").take()
    }
}

pub struct LinkIo {
    read: OwnedReadHalf,
    /// What the socket gave, before framing.
    scratch: Box<[u8]>,
    framer: Framer,
    /// Framed bytes for the parser, from `pos` on.
    ready: Vec<u8>,
    pos: usize,
    dropped: Vec<Dropped>,
    report: mpsc::Sender<Dropped>,
    write: WriteSlot,
}

impl LinkIo {
    /// The link's IO, its write half, and the heads of the stanzas the
    /// framer drops (at most `max_stanza` bytes are accepted in one stanza).
    pub fn new(tcp: TcpStream, max_stanza: usize) -> (LinkIo, WriteSlot, mpsc::Receiver<Dropped>) {
        let (r, w) = tcp.into_split();
        let slot = WriteSlot(Arc::new(Mutex::new(Some(w))));
        let (report, reports) = mpsc::channel(DROPPED_QUEUE);
        let io = LinkIo {
            read: r,
            scratch: vec![0; READ_CHUNK].into_boxed_slice(),
            framer: Framer::new(max_stanza),
            ready: Vec::with_capacity(READ_CHUNK),
            pos: 0,
            dropped: Vec::new(),
            report,
            write: slot.clone(),
        };
        (io, slot, reports)
    }

    fn with_writer<T>(&self, f: impl FnOnce(Pin<&mut OwnedWriteHalf>) -> Poll<std::io::Result<T>>) -> Poll<std::io::Result<T>> {
        let mut guard = self.write.0.lock().expect("write slot");
        match guard.as_mut() {
            Some(w) => f(Pin::new(w)),
            None => Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the session writes this link now"))),
        }
    }
}

impl AsyncRead for LinkIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let n = match self.as_mut().poll_fill_buf(cx) {
            Poll::Ready(Ok(data)) => {
                let n = data.len().min(buf.remaining());
                buf.put_slice(&data[..n]);
                n
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        self.consume(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for LinkIo {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<&[u8]>> {
        let this = self.get_mut();
        // Read until the framer lets something through (a stanza is held
        // back until it is whole) or the socket ends.
        while this.pos >= this.ready.len() {
            this.ready.clear();
            this.pos = 0;
            let mut buf = ReadBuf::new(&mut this.scratch);
            match Pin::new(&mut this.read).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
            let n = buf.filled().len();
            if n == 0 {
                return Poll::Ready(Ok(&[]));
            }
            this.framer.feed(&this.scratch[..n], &mut this.ready, &mut this.dropped);
            for d in this.dropped.drain(..) {
                tracing::warn!(kind = %d.kind, id = ?d.id, from = ?d.from, to = ?d.to, why = d.why, "stanza dropped before parsing");
                if this.report.try_send(d).is_err() {
                    tracing::warn!("too many dropped stanzas waiting for their error reply; this one gets none");
                }
            }
        }
        Poll::Ready(Ok(&this.ready[this.pos..]))
    }
    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        self.pos = (self.pos + amt).min(self.ready.len());
    }
}

impl AsyncWrite for LinkIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.with_writer(|w| w.poll_write(cx, buf))
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.with_writer(|w| w.poll_flush(cx))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.with_writer(|w| w.poll_shutdown(cx))
    }
}
