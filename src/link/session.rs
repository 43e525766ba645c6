//! One authenticated connection: read, write, keep alive, until it ends.
//!
//! Reads go through tokio-xmpp's stream (parsing, malformed-stanza
//! recovery, read timeouts); writes go through `writer::Writer` straight
//! to the socket's write half, batched: everything queued is serialised
//! into one buffer and written with one system call where it fits.

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, watch};
use tokio_xmpp::xmlstream::{FallibleStreamElement, ReadError, StreamElementError, XmppStreamElement};
use xmpp_parsers::disco::{DiscoInfoQuery, DiscoInfoResult};
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::ping::Ping;
use xmpp_parsers::stanza::Stanza;

use super::framer::Dropped;
use super::io::WriteSlot;
use super::writer::Writer;
use super::{LinkConfig, Stream};
use crate::error::Error;
use crate::outgoing::Out;
use crate::xmpp::reply;

pub enum End {
    Shutdown,
    Lost(String),
}

/// Most queued items serialised before one write.
const BATCH: usize = 256;
/// Bytes after which a batch is written even if more is queued.
const BATCH_BYTES: usize = 256 * 1024;
/// The id prefix of the multicast service probe (disco#info); a random
/// part is added at each link-up, and only the service asked may answer.
const PROBE_ID: &str = "mixmuc-multicast-probe-";

/// The socket's write half and what is serialised for it.
struct Wire {
    w: OwnedWriteHalf,
    writer: Writer,
}

impl Wire {
    async fn stanza(&mut self, s: &Stanza) -> std::io::Result<()> {
        self.writer.stanza(s)?;
        self.flush().await
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if !self.writer.buf.is_empty() {
            self.w.write_all(&self.writer.buf).await?;
            self.writer.buf.clear();
        }
        Ok(())
    }
}

pub async fn run(
    cfg: &LinkConfig,
    mut stream: Stream,
    slot: WriteSlot,
    mut dropped: mpsc::Receiver<Dropped>,
    inbound: &mpsc::Sender<Stanza>,
    outbound: &mut mpsc::Receiver<Out>,
    shutdown: &mut watch::Receiver<bool>,
) -> End {
    let Some(w) = slot.take() else { return End::Lost("no write half".into()) };
    let mut out = Wire { w, writer: Writer::new() };
    let me: Jid = match cfg.domain.parse() {
        Ok(j) => j,
        Err(_) => return End::Lost("invalid domain".into()),
    };
    let probe_id = format!("{PROBE_ID}{:016x}", rand::random::<u64>());
    if let Some(service) = &cfg.multicast {
        // Asked at every link-up: the server may have been reconfigured.
        let probe = Iq::Get { from: Some(me.clone()), to: Some(service.clone()), id: probe_id.clone(), payload: DiscoInfoQuery { node: None }.into() };
        if let Err(e) = out.stanza(&Stanza::Iq(probe)).await {
            return End::Lost(e.to_string());
        }
    }
    let mut pings: u64 = 0;
    loop {
        tokio::select! {
            item = stream.next() => match item {
                None => return End::Lost("connection closed".into()),
                Some(Ok(FallibleStreamElement::Ok(XmppStreamElement::Stanza(Stanza::Iq(iq))))) if is_probe_answer(cfg, &probe_id, &iq) => {
                    multicast_answer(cfg, &mut out.writer, iq);
                }
                Some(Ok(FallibleStreamElement::Ok(XmppStreamElement::Stanza(s)))) => {
                    tracing::trace!(domain = %cfg.domain, stanza = ?s, "in");
                    if inbound.send(s).await.is_err() {
                        return End::Shutdown;
                    }
                }
                Some(Ok(FallibleStreamElement::Ok(XmppStreamElement::StreamError(e)))) => {
                    return End::Lost(format!("stream error from the server: {}", e.0));
                }
                Some(Ok(FallibleStreamElement::Ok(other))) => {
                    tracing::warn!(domain = %cfg.domain, element = ?other, "ignoring unexpected stream element");
                }
                Some(Ok(FallibleStreamElement::Err(StreamElementError::InvalidStanza { name, header, error, .. }))) => {
                    tracing::warn!(domain = %cfg.domain, kind = %name, id = ?header.id, from = ?header.from, %error, "malformed stanza");
                    let err = Error::bad_request("malformed stanza");
                    let kind = name.to_string();
                    if let Some(r) = reply::raw_error_reply(&kind, header.from.as_deref(), header.to.as_deref(), header.id.as_deref(), header.type_.as_deref(), &err) {
                        if let Err(e) = out.stanza(&r).await {
                            return End::Lost(e.to_string());
                        }
                    }
                }
                Some(Ok(FallibleStreamElement::Err(e))) => {
                    tracing::warn!(domain = %cfg.domain, error = %e, "ignoring malformed stream element");
                }
                Some(Err(ReadError::SoftTimeout)) => {
                    pings += 1;
                    let ping = Iq::Get { from: Some(me.clone()), to: Some(me.clone()), id: format!("keepalive-{pings}"), payload: Ping.into() };
                    tracing::debug!(domain = %cfg.domain, "idle link: pinging");
                    if let Err(e) = out.stanza(&Stanza::Iq(ping)).await {
                        return End::Lost(e.to_string());
                    }
                }
                Some(Err(ReadError::ParseError(e))) => {
                    tracing::warn!(domain = %cfg.domain, error = %e, "unparsable element skipped");
                }
                Some(Err(ReadError::HardError(e))) => return End::Lost(e.to_string()),
                Some(Err(ReadError::StreamFooterReceived)) => return End::Lost("the server closed the stream".into()),
            },
            // A stanza the framer dropped (too large, or a name or value
            // the parser would refuse): its sender is told.
            Some(d) = dropped.recv() => {
                let err = Error::policy_violation(if d.why == "too large" { "stanza too large" } else { "a name or value in this stanza is too long" });
                let to = d.to.clone().or_else(|| Some(cfg.domain.clone()));
                if let Some(r) = reply::raw_error_reply(&d.kind, d.from.as_deref(), to.as_deref(), d.id.as_deref(), d.type_.as_deref(), &err) {
                    if let Err(e) = out.stanza(&r).await {
                        return End::Lost(e.to_string());
                    }
                }
            }
            item = outbound.recv() => {
                let Some(first) = item else { return End::Shutdown };
                if let Err(e) = write_batch(cfg, &mut out, first, outbound).await {
                    return End::Lost(e.to_string());
                }
            }
            _ = shutdown.changed() => {
                // Send what is queued, then close the stream politely.
                while let Ok(item) = outbound.try_recv() {
                    if serialise(cfg, &mut out.writer, &item).is_err() || (out.writer.buf.len() >= BATCH_BYTES && out.flush().await.is_err()) {
                        break;
                    }
                }
                out.writer.buf.extend_from_slice(b"</stream:stream>");
                let _flushed = out.flush().await;
                let _closed = tokio::time::timeout(std::time::Duration::from_secs(2), out.w.shutdown()).await;
                return End::Shutdown;
            }
        }
    }
}

/// The answer to this link-up's probe, from the service asked (anyone else
/// could otherwise switch multicast on or off).
fn is_probe_answer(cfg: &LinkConfig, probe_id: &str, iq: &Iq) -> bool {
    match iq {
        Iq::Result { id, from, .. } | Iq::Error { id, from, .. } => id == probe_id && cfg.multicast.is_some() && from.as_ref() == cfg.multicast.as_ref(),
        _ => false,
    }
}

/// The multicast service's disco#info answer: multicast on if it has the feature.
fn multicast_answer(cfg: &LinkConfig, writer: &mut Writer, iq: Iq) {
    let Some(service) = &cfg.multicast else { return };
    let features = match iq {
        Iq::Result { payload: Some(p), .. } => DiscoInfoResult::try_from(p).ok().map(|r| r.features),
        _ => None,
    };
    use super::writer::{ADDRESS_NS, RECIPIENTS_NS};
    let has = |ns: &str| features.as_ref().is_some_and(|f| f.iter().any(|f| f == ns));
    if has(ADDRESS_NS) {
        let compact = has(RECIPIENTS_NS);
        let form = if compact { "compact recipient lists" } else { "bcc addresses" };
        tracing::info!(domain = %cfg.domain, service = %service, form, "room messages go through the server's multicast service (XEP-0033)");
        writer.set_multicast(Some(service), compact);
    } else {
        tracing::warn!(domain = %cfg.domain, service = %service, "[server] multicast: the service does not announce XEP-0033 multicast; sending one stanza per recipient");
        writer.set_multicast(None, false);
    }
}

/// Serialises one item into the writer's buffer. An item that cannot be
/// serialised is logged and dropped (the link stays up).
fn serialise(cfg: &LinkConfig, writer: &mut Writer, item: &Out) -> std::io::Result<()> {
    tracing::trace!(domain = %cfg.domain, item = ?item, "out");
    let mark = writer.buf.len();
    if let Err(e) = writer.push(item) {
        writer.buf.truncate(mark);
        writer.reset_encoder();
        tracing::error!(domain = %cfg.domain, error = %e, item = ?item, "outgoing stanza cannot be serialised; dropped");
    }
    Ok(())
}

async fn write_batch(cfg: &LinkConfig, out: &mut Wire, first: Out, outbound: &mut mpsc::Receiver<Out>) -> std::io::Result<()> {
    serialise(cfg, &mut out.writer, &first)?;
    for _ in 1..BATCH {
        if out.writer.buf.len() >= BATCH_BYTES {
            break;
        }
        match outbound.try_recv() {
            Ok(item) => serialise(cfg, &mut out.writer, &item)?,
            Err(_) => break,
        }
    }
    out.flush().await
}
