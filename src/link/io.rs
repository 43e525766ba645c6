//! The socket under tokio-xmpp's stream: reads go through the stream's
//! parser; writes go through it only until the handshake is done. Then the
//! session takes the write half (`WriteSlot::take`) and writes bytes of its
//! own (`writer::Writer`), a fan-out serialised once.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, BufReader, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

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
    read: BufReader<OwnedReadHalf>,
    write: WriteSlot,
}

impl LinkIo {
    pub fn new(tcp: TcpStream) -> (LinkIo, WriteSlot) {
        let (r, w) = tcp.into_split();
        let slot = WriteSlot(Arc::new(Mutex::new(Some(w))));
        (LinkIo { read: BufReader::with_capacity(64 * 1024, r), write: slot.clone() }, slot)
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
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncBufRead for LinkIo {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().read).poll_fill_buf(cx)
    }
    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.read).consume(amt)
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
